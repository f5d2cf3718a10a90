"""Requests/s per interval of one class: observed rates, and the rates the plan serves.

Observed rates come from ``qps`` numbers or from a trace (one arrival time in ms per line;
:func:`cost_models.workload.window_rates_qps` over windows of one interval, ``mean`` or
``peak`` of 1-s sub-windows). Observed requests per interval are the trace's arrivals in it
(``qps`` numbers: rate x interval length), whatever the statistic. A trace spanning more than
:data:`formulations.cocktail.inputs.MAX_INTERVALS` intervals is refused before any window is
counted. The plan serves the observed rates (``forecast = "none"``) or
a one-step-ahead forecast of them (:func:`cost_models.workload.moving_average` over
``forecast_window`` intervals, or :func:`cost_models.workload.ewma` with ``forecast_alpha``;
both take the first interval as known).
"""

from __future__ import annotations

import numpy as np

from cost_models.errors import DataError
from cost_models.units import SECONDS_PER_HOUR
from cost_models.workload import (
    ewma,
    moving_average,
    read_arrivals_ms,
    window_count,
    window_rates_qps,
)
from formulations.cocktail.inputs import MAX_INTERVALS, LoadSpec


def observed_load(spec: LoadSpec, interval_h: float) -> tuple[np.ndarray, np.ndarray]:
    """Observed requests/s and requests of every interval: of the numbers given, or of every
    interval of the trace up to its last arrival (the trace is read once)."""
    window_s = interval_h * SECONDS_PER_HOUR
    if spec.qps is not None:
        rates = np.asarray(spec.qps, dtype=float)
        return rates, rates * window_s
    assert spec.trace is not None  # LoadSpec validates: exactly one of qps or trace
    arrivals = read_arrivals_ms(spec.trace)
    if not len(arrivals):
        raise DataError(spec.trace, "(file)", "at least one arrival time (empty or header only)")
    count = window_count(arrivals, window_s)
    if count > MAX_INTERVALS:
        raise DataError(
            spec.trace,
            "arrival times",
            f"a trace spanning at most {MAX_INTERVALS:,} intervals of {interval_h:g} h (its "
            f"last arrival, {arrivals[-1]:g} ms, makes {count:,}; raise interval_h)",
        )
    rates = window_rates_qps(arrivals, window_s, spec.statistic, n_windows=count)
    requests = window_rates_qps(arrivals, window_s, "mean", n_windows=count) * window_s
    return rates, requests


def planned_rates_qps(spec: LoadSpec, observed: np.ndarray) -> np.ndarray:
    """Requests/s the plan serves: the observed rates or their one-step-ahead forecast."""
    if spec.forecast == "moving_average":
        return moving_average(observed, spec.forecast_window)
    if spec.forecast == "ewma":
        return ewma(observed, spec.forecast_alpha)
    return observed
