"""Request traces, per-window demand, one-step-ahead forecasts and Zipf popularity.

Traces (Proteus's format): one request per line, ``arrival_ms,...``; only the first
comma-separated field is read; arrival times are milliseconds from the trace start, in
non-decreasing order. An optional header line whose first field is ``arrival_ms`` is skipped.

Windows: window ``k`` covers arrivals in ``[start_ms + k W, start_ms + (k + 1) W)`` with
``W = window_s * 1000`` (half-open, so an arrival on a boundary belongs to the later
window). Arrivals before ``start_ms`` are ignored. Demand of a window:

* ``mean``: requests in the window / ``window_s`` (queries per second);
* ``peak``: the window split into sub-windows of ``peak_sub_window_s`` (which must divide
  ``window_s``), the largest sub-window count / ``peak_sub_window_s``.

Forecasts are one-step-ahead: ``f[t]`` predicts ``rates[t]`` from ``rates[:t]`` only, except
``f[0] = rates[0]`` (no history: the first window is taken as known). See each function.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Literal

import numpy as np

from cost_models.errors import DataError

HEADER_FIELD = "arrival_ms"


def read_arrivals_ms(path: Path | str) -> np.ndarray:
    """Arrival times (ms, float64, non-decreasing) of a trace file; empty file -> empty array."""
    trace = Path(path)
    try:
        lines = trace.read_text().splitlines()
    except (OSError, UnicodeDecodeError) as err:
        raise DataError(
            trace, "file", f"a readable text trace ({err.__class__.__name__})"
        ) from None
    arrivals: list[float] = []
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        first = line.split(",", 1)[0].strip()
        if number == 1 and first == HEADER_FIELD:
            continue
        try:
            value = float(first)
        except ValueError:
            value = math.nan
        if not (math.isfinite(value) and value >= 0):
            raise DataError(
                trace,
                f"line {number}",
                f"an arrival time in ms >= 0 as the first field (got {first!r})",
            )
        if arrivals and value < arrivals[-1]:
            raise DataError(
                trace,
                f"line {number}",
                f"arrival times in non-decreasing order (got {first} after {arrivals[-1]:g})",
            )
        arrivals.append(value)
    return np.asarray(arrivals, dtype=np.float64)


def _positive(name: str, value: float) -> None:
    if not (math.isfinite(value) and value > 0):
        raise DataError(None, name, f"a positive number (got {value})")


def window_count(arrivals_ms: np.ndarray, window_s: float = 10.0, start_ms: float = 0.0) -> int:
    """Number of windows from ``start_ms`` that covers every arrival (0 if none are left)."""
    _positive("window_s", window_s)
    last = float(arrivals_ms[-1]) if len(arrivals_ms) else -math.inf
    if last < start_ms:
        return 0
    return math.floor((last - start_ms) / (window_s * 1000.0)) + 1


def _counts(arrivals_ms: np.ndarray, start_ms: float, width_ms: float, n: int) -> np.ndarray:
    """Requests in each of ``n`` consecutive half-open intervals of ``width_ms``."""
    edges = start_ms + width_ms * np.arange(n + 1)
    return np.diff(np.searchsorted(arrivals_ms, edges, side="left"))


def window_rates_qps(
    arrivals_ms: np.ndarray,
    window_s: float = 10.0,
    statistic: Literal["mean", "peak"] = "mean",
    peak_sub_window_s: float = 1.0,
    start_ms: float = 0.0,
    n_windows: int | None = None,
) -> np.ndarray:
    """Demand (queries/s) of each window; ``n_windows`` defaults to :func:`window_count`.

    Pass the same ``n_windows`` for every family of a workload to align their windows
    (windows past a trace's last arrival have demand 0).
    """
    arrivals = np.asarray(arrivals_ms, dtype=np.float64)
    if np.any(np.diff(arrivals) < 0):
        raise DataError(None, "arrivals_ms", "arrival times in non-decreasing order")
    count = window_count(arrivals, window_s, start_ms) if n_windows is None else n_windows
    if count < 0:
        raise DataError(None, "n_windows", f"a window count >= 0 (got {count})")
    if statistic == "mean":
        return _counts(arrivals, start_ms, window_s * 1000.0, count) / window_s
    if statistic == "peak":
        _positive("peak_sub_window_s", peak_sub_window_s)
        per_window = round(window_s / peak_sub_window_s)
        if per_window < 1 or not math.isclose(
            per_window * peak_sub_window_s, window_s, rel_tol=1e-9
        ):
            raise DataError(
                None,
                "peak_sub_window_s",
                f"a divisor of window_s = {window_s} (got {peak_sub_window_s})",
            )
        sub = _counts(arrivals, start_ms, peak_sub_window_s * 1000.0, count * per_window)
        return sub.reshape(count, per_window).max(axis=1, initial=0) / peak_sub_window_s
    raise DataError(None, "statistic", f"'mean' or 'peak' (got {statistic!r})")


def moving_average(rates: np.ndarray, k: int) -> np.ndarray:
    """One-step-ahead forecast: ``f[t] = mean(rates[max(0, t-k) : t])`` for t >= 1.

    Early windows average the ``t < k`` windows available; ``f[0] = rates[0]``.
    """
    if k < 1:
        raise DataError(None, "k", f"a window of at least 1 (got {k})")
    values = np.asarray(rates, dtype=np.float64)
    forecast = values.copy()
    if len(values) > 1:
        cumulative = np.concatenate(([0.0], np.cumsum(values)))
        t = np.arange(1, len(values))
        low = np.maximum(0, t - k)
        forecast[1:] = (cumulative[t] - cumulative[low]) / (t - low)
    return forecast


def ewma(rates: np.ndarray, alpha: float) -> np.ndarray:
    """One-step-ahead exponentially weighted forecast.

    ``f[0] = rates[0]``; ``f[t] = alpha * rates[t-1] + (1 - alpha) * f[t-1]``, so
    ``alpha = 1`` forecasts the last observed window.
    """
    if not 0 < alpha <= 1:
        raise DataError(None, "alpha", f"a smoothing factor in (0, 1] (got {alpha})")
    values = np.asarray(rates, dtype=np.float64)
    forecast = values.copy()
    for t in range(1, len(values)):
        forecast[t] = alpha * values[t - 1] + (1.0 - alpha) * forecast[t - 1]
    return forecast


def zipf_shares(n: int, exponent: float) -> np.ndarray:
    """Shares of ``n`` items ranked by popularity: ``share[i] ~ (i + 1) ** -exponent``.

    Sums to 1; ``exponent = 0`` is uniform.
    """
    if n < 1:
        raise DataError(None, "n", f"at least 1 item (got {n})")
    if not (math.isfinite(exponent) and exponent >= 0):
        raise DataError(None, "exponent", f"a Zipf exponent >= 0 (got {exponent})")
    weights = np.arange(1, n + 1, dtype=np.float64) ** -exponent
    return weights / weights.sum()
