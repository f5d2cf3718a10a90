"""Requests/s per interval of one class: observed rates, and the rates the plan serves.

Observed rates come from ``qps`` numbers or from a trace (one arrival time in ms per line;
:func:`cost_models.workload.window_rates_qps` over windows of one interval, ``mean`` or
``peak`` of 1-s sub-windows). The plan serves the observed rates (``forecast = "none"``) or
a one-step-ahead forecast of them (:func:`cost_models.workload.moving_average` over
``forecast_window`` intervals, or :func:`cost_models.workload.ewma` with ``forecast_alpha``;
both take the first interval as known).
"""

from __future__ import annotations

import numpy as np

from cost_models.units import SECONDS_PER_HOUR
from cost_models.workload import ewma, moving_average, read_arrivals_ms, window_rates_qps
from formulations.cocktail.inputs import LoadSpec


def observed_rates_qps(spec: LoadSpec, interval_h: float) -> np.ndarray:
    """Observed requests/s per interval: the numbers given, or every interval of the trace
    (up to its last arrival; the trace is read once)."""
    if spec.qps is not None:
        return np.asarray(spec.qps, dtype=float)
    assert spec.trace is not None  # LoadSpec validates: exactly one of qps or trace
    return window_rates_qps(
        read_arrivals_ms(spec.trace), interval_h * SECONDS_PER_HOUR, spec.statistic
    )


def planned_rates_qps(spec: LoadSpec, observed: np.ndarray) -> np.ndarray:
    """Requests/s the plan serves: the observed rates or their one-step-ahead forecast."""
    if spec.forecast == "moving_average":
        return moving_average(observed, spec.forecast_window)
    if spec.forecast == "ewma":
        return ewma(observed, spec.forecast_alpha)
    return observed
