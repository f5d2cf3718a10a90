r"""What demand each Proteus window is planned on, and which windows are re-planned.

Proteus does not see a window's demand before it happens: it plans on an exponentially
weighted moving average (EWMA) of the demand it has observed, and re-plans on a schedule
(Proteus repository UMass-LIDS/Proteus, commit 6967c93; ``core/simulator.py`` L287-L300
for the EWMA, ``run.py`` L273-L287 for the schedule; facts in
``../shared/reference/proteus/settings.md`` Sec. 2-3). Our windows play the role of its
simulation steps (``--allocation_window``, 1 s by default): with ``trace.window_s = 1`` the
samples, the history and the schedule are Proteus's own.

Forecast (``method = "ewma"``). With x_{w,f} the observed mean demand of family f in
window w (queries/s), H = ``history_windows`` and alpha = 1 / (1 + com), the forecast for
window w > 0 is pandas' ``ewm(com).mean()`` (``adjust=True``) over the last
min(w, H) samples, its last value:

    F_{w,f} = sum_{i=0}^{k-1} (1 - alpha)^i x_{w-1-i,f} / sum_{i=0}^{k-1} (1 - alpha)^i,
    k = min(w, H).

Window 0 has no history; Proteus starts from a starting allocation made offline for the
trace (``algorithms/proteus_starting_solutions/starting_solution.txt``), for which we stand
in its own mean demand (F_0 = x_0: the only window planned with knowledge of its own
demand).

Schedule. Window w is re-planned when w % period == 0, or w is in ``extra_replans``
(Proteus: steps 5 and 20), where period is ``burst_replan_every`` when that is set and any
of the previous ``burst_lookback_windows`` windows had a total demand above
``burst_total_qps`` (Proteus, bursty trace: 2 steps, 10 steps, 200 requests per step), else
half of ``replan_every`` inside ``tighten_windows`` (Proteus: steps 60-100), else
``replan_every``. Window 0 is always planned. A window that is not re-planned keeps the last
plan (placements and routing shares) and its forecast: planned_{w} = F_{r(w)}, r(w) the last
re-planned window <= w.

``method = "oracle"`` plans every window on its own demand (planned = x), which is what
this project did before; it is kept to measure what the forecast costs.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from formulations.proteus.inputs import ForecastSpec


@dataclass(frozen=True)
class PlannedDemand:
    forecast_qps: np.ndarray  # windows x families: the forecast for every window
    planned_qps: np.ndarray  # windows x families: what each window's plan was made for
    replans: list[bool]  # window w is re-planned
    last_replan: list[int]  # r(w): the last re-planned window <= w


def ewma_forecast(samples_qps: np.ndarray, com: float, history: int) -> np.ndarray:
    """F_w of the module docstring for every window (rows) and family (columns)."""
    samples = np.asarray(samples_qps, dtype=np.float64)
    forecast = samples.copy()
    decay = 1.0 - 1.0 / (1.0 + com)
    weights = decay ** np.arange(history, dtype=np.float64)  # newest first
    for w in range(1, len(samples)):
        k = min(w, history)
        past = samples[w - k : w][::-1]  # newest first
        forecast[w] = weights[:k] @ past / weights[:k].sum()
    return forecast


def replan_schedule(spec: ForecastSpec, total_qps: np.ndarray) -> list[bool]:
    """Which windows are re-planned (module docstring); ``total_qps`` per window."""
    out = []
    extra = set(spec.extra_replans)
    for w in range(len(total_qps)):
        period = spec.replan_every
        recent = total_qps[max(0, w - spec.burst_lookback_windows) : w]
        if spec.burst_replan_every is not None and bool(np.any(recent > spec.burst_total_qps)):
            period = spec.burst_replan_every
        elif spec.tighten_windows is not None and (
            spec.tighten_windows[0] <= w <= spec.tighten_windows[1]
        ):
            period = max(1, spec.replan_every // 2)
        out.append(w == 0 or w % period == 0 or w in extra)
    return out


def planned_demand(spec: ForecastSpec, demand_qps: np.ndarray) -> PlannedDemand:
    """The forecast, the schedule and the demand each window's plan is made for."""
    if spec.method == "oracle":
        n = len(demand_qps)
        return PlannedDemand(demand_qps.copy(), demand_qps.copy(), [True] * n, list(range(n)))
    forecast = ewma_forecast(demand_qps, spec.com, spec.history_windows)
    replans = replan_schedule(spec, demand_qps.sum(axis=1))
    last: list[int] = []
    for w, again in enumerate(replans):
        last.append(w if again else last[-1])
    return PlannedDemand(forecast, forecast[last], replans, last)
