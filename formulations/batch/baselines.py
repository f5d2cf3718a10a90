"""Baselines of the BATCH formulation, each a deployment of the same schema.

* ``lambda_no_batching``: every request its own invocation (B = 1), the cheapest grid
  memory meeting the SLO each hour (BATCH's "no batching" comparison, SC '20 Sec. V).
* ``batch_released_rule``: BATCH's optimizer as released (``solver.py:
  solveOptimizationProblem`` and ``minimizeCost``): one batch size, B = 20
  (``batches = range(20, 20+1)``), an exhaustive search each hour over the scenario's
  memory sizes and timeouts, keeping candidates with latency below the SLO and ranking
  them by BATCH's cost rule, the cost of one batch of the percentile batch size
  (``getPercentileBatchSize`` then ``getCostRequest``). Latency comes from our buffer
  model (BATCH's ``latencyCdfDetService`` approximates the wait as uniform).
* ``per_hour_grid_search``: the whole grid (every B) searched each hour for the cheapest
  feasible configuration, ignoring ``max_config_changes`` (what BATCH's search gives when
  run hour by hour on our grid).
* ``best_fixed_config``: the single (M, B, T) with the lowest cost over the whole trace
  among those feasible in every hour (no reconfiguration at all).
"""

from __future__ import annotations

import numpy as np

from cost_models.batch.buffer import BufferModel, buffer_outcome
from cost_models.batch.grid import paper_cost_per_request_usd
from cost_models.batch.latency import cost_per_request_usd, latency_percentile_ms
from cost_models.errors import DataError
from cost_models.units import MS_PER_S
from formulations.batch.deployment import BatchDeployment, HourConfig
from formulations.batch.view import BatchView
from formulations.types import InfeasibleError

BATCH_RELEASED_BATCH_SIZE = 20  # solver.py: solveOptimizationProblem, batches = [20]


def no_batching(view: BatchView) -> BatchDeployment:
    memory = view.grid.memory_mb
    timeout_s = float(view.grid.timeouts_s.min())
    service_ms = view.service.service_ms(memory, 1)
    configs = []
    for h, hour in enumerate(view.hours):
        outcome = buffer_outcome(hour.arrivals, 1, timeout_s)
        latency = latency_percentile_ms(outcome, service_ms, view.quantile, view.cold)
        concurrency = hour.rate_qps * service_ms[:, 0] / MS_PER_S
        ok = (latency <= view.inputs.slo_ms) & (concurrency <= view.inputs.max_concurrency)
        if not ok.any():
            raise InfeasibleError(
                f"hour {h}: no memory size meets {view.inputs.percentile} <= "
                f"{view.inputs.slo_ms:g} ms without batching (best {latency.min():.1f} ms)"
            )
        per_request = cost_per_request_usd(outcome, service_ms, memory, view.price_usd_per_gb_s)
        cost = np.where(ok, per_request, np.inf)
        m = int(np.argmin(cost))
        configs.append(HourConfig(memory_mb=int(memory[m]), batch_size=1, timeout_s=timeout_s))
    return BatchDeployment(hours=configs)


def batch_released_rule(view: BatchView) -> BatchDeployment:
    memory = view.grid.memory_mb
    batch = BATCH_RELEASED_BATCH_SIZE
    try:
        service_ms = view.service.service_ms(memory, batch)
    except DataError as exc:
        raise InfeasibleError(
            f"B = {batch} needs service times up to batch {batch}: {exc}"
        ) from None
    max_steps = round(float(view.grid.timeouts_s.max()) / view.inputs.time_step_s)
    configs = []
    for h, hour in enumerate(view.hours):
        buffers = BufferModel(hour.arrivals, batch, view.inputs.time_step_s, max_steps)
        best: tuple[float, int, float] | None = None
        for timeout_s in view.grid.timeouts_s:
            outcome = buffers.outcome(batch, float(timeout_s))
            latency = latency_percentile_ms(outcome, service_ms, view.quantile, view.cold)
            cost = paper_cost_per_request_usd(
                outcome, service_ms, memory, view.quantile, view.price_usd_per_gb_s
            )
            cost = np.where(latency < view.inputs.slo_ms, cost, np.inf)
            m = int(np.argmin(cost))
            if np.isfinite(cost[m]) and (best is None or cost[m] < best[0]):
                best = (float(cost[m]), m, float(timeout_s))
        if best is None:
            raise InfeasibleError(
                f"hour {h}: no (M, T) with B = {batch} meets {view.inputs.percentile} <= "
                f"{view.inputs.slo_ms:g} ms"
            )
        configs.append(
            HourConfig(memory_mb=int(memory[best[1]]), batch_size=batch, timeout_s=best[2])
        )
    return BatchDeployment(hours=configs)


def per_hour_grid_search(view: BatchView) -> BatchDeployment:
    configs = []
    for h in range(len(view.hours)):
        cost = np.where(view.feasible[h], view.hourly_cost_usd[h], np.inf)
        if not np.isfinite(cost).any():
            raise InfeasibleError(f"hour {h}: no grid configuration meets the SLO")
        configs.append(_config(view, int(np.argmin(cost))))
    return BatchDeployment(hours=configs)


def best_fixed_config(view: BatchView) -> BatchDeployment:
    total = np.where(view.feasible.all(axis=0), view.hourly_cost_usd.sum(axis=0), np.inf)
    if not np.isfinite(total).any():
        raise InfeasibleError("no single grid configuration meets the SLO in every hour")
    return BatchDeployment(hours=[_config(view, int(np.argmin(total)))] * len(view.hours))


def _config(view: BatchView, flat: int) -> HourConfig:
    m, b, t = view.config(flat)
    return HourConfig(memory_mb=m, batch_size=b, timeout_s=t)
