"""The cost-model view of a BATCH scenario, and ``prepare(inputs) -> view``.

Per interval (hour) h: the arrival process (a MAP), and for every (M, B, T) of the grid
the percentile latency, the expected cost per request and the mean concurrency
(``cost_models.batch.grid.score``). Then the candidate set the MILP chooses from
(``segment_candidates``, exact: see ``milp.py``).
"""

from __future__ import annotations

import csv
import math
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from numpy.typing import NDArray

from cost_models.batch.arrivals import MAP, MapFit, fit_map2, h2_balanced, poisson
from cost_models.batch.aws_lambda import PRICE_USD_PER_GB_S, MeasuredTable, PerformanceModel
from cost_models.batch.grid import Grid, Scores, ServiceModel, score
from cost_models.batch.latency import PERCENTILES, ColdStart
from cost_models.errors import DataError
from cost_models.units import SECONDS_PER_HOUR
from formulations.batch.inputs import MAX_INTERVALS, ArrivalsSpec, BatchInputs, ServiceSpec

SCV_POISSON_TOL = 1e-9  # an SCV this close to 1 (with no correlation) is Poisson
SLO_SHARE_TOL = 1e-12  # float slack on "share within the SLO >= percentile" (as latency.py)


@dataclass(frozen=True)
class Hour:
    """One interval: its arrival process and how it was obtained."""

    arrivals: MAP
    source: str  # "poisson", "h2-balanced", "given", or the fit method
    requests: float  # expected requests in the interval

    @property
    def rate_qps(self) -> float:
        return self.arrivals.rate_qps


@dataclass(frozen=True)
class BatchView:
    inputs: BatchInputs
    hours: list[Hour]
    grid: Grid
    service: ServiceModel
    quantile: float
    price_usd_per_gb_s: float
    cold: ColdStart
    scores: list[Scores]  # per hour, arrays (memories, batch sizes, timeouts)
    hourly_cost_usd: NDArray[np.float64]  # (hours, candidates): requests x cost per request
    feasible: NDArray[np.bool_]  # (hours, candidates): SLO and concurrency met
    candidates: NDArray[np.int64]  # flat grid indices the MILP chooses from

    def config(self, flat: int) -> tuple[int, int, float]:
        """(memory_mb, batch_size, timeout_s) of a flat grid index."""
        m, b, t = np.unravel_index(flat, self.grid.shape)
        return (
            int(self.grid.memory_mb[m]),
            int(self.grid.batch_sizes[b]),
            float(self.grid.timeouts_s[t]),
        )


def prepare(inputs: BatchInputs) -> BatchView:
    spec = inputs.grid
    grid = Grid(
        np.array(spec.memory_values(), dtype=float),
        np.array(spec.batch_values(), dtype=np.int64),
        np.array(spec.timeout_values(), dtype=float),
    )
    steps = grid.timeouts_s / inputs.time_step_s
    if np.any(np.abs(steps - np.round(steps)) > 1e-6):
        raise DataError(None, "grid.timeouts_s", f"multiples of time_step_s = {inputs.time_step_s}")
    service = _service_model(inputs.service, grid)
    hours = _hours(inputs.arrivals)
    quantile = PERCENTILES[inputs.percentile]
    price = PRICE_USD_PER_GB_S[inputs.architecture]
    cold = ColdStart(inputs.cold_start_prob, inputs.cold_start_ms)
    scores = [
        score(h.arrivals, grid, service, inputs.slo_ms, price, inputs.time_step_s, cold)
        for h in hours
    ]
    cost = np.stack(
        [h.requests * s.cost_per_request_usd.ravel() for h, s in zip(hours, scores, strict=True)]
    )
    feasible = np.stack(
        [
            (s.within_slo.ravel() >= quantile - SLO_SHARE_TOL)
            & (s.concurrency.ravel() <= inputs.max_concurrency)
            for s in scores
        ]
    )
    return BatchView(
        inputs=inputs,
        hours=hours,
        grid=grid,
        service=service,
        quantile=quantile,
        price_usd_per_gb_s=price,
        cold=cold,
        scores=scores,
        hourly_cost_usd=cost,
        feasible=feasible,
        candidates=segment_candidates(cost, feasible, inputs.max_config_changes),
    )


def segment_candidates(
    cost: NDArray[np.float64], feasible: NDArray[np.bool_], max_changes: int | None
) -> NDArray[np.int64]:
    """Every configuration some optimal plan may need (the reduction proved in ``milp.py``).

    Without a change limit: the cheapest feasible configuration of each hour. With one:
    for every run of consecutive hours a..b, the configuration feasible in all of them with
    the lowest total cost over the run (ties: the lowest grid index).
    """
    masked = np.where(feasible, cost, np.inf)
    chosen: set[int] = set()
    n_hours = cost.shape[0]
    if max_changes is None:
        for h in range(n_hours):
            if np.isfinite(masked[h]).any():
                chosen.add(int(np.argmin(masked[h])))
        return np.array(sorted(chosen), dtype=np.int64)
    for a in range(n_hours):
        total = np.zeros(cost.shape[1])
        for b in range(a, n_hours):
            total = total + masked[b]
            if not np.isfinite(total).any():
                break
            chosen.add(int(np.argmin(total)))
    return np.array(sorted(chosen), dtype=np.int64)


def _hours(spec: ArrivalsSpec) -> list[Hour]:
    seconds = spec.duration_h * SECONDS_PER_HOUR
    out: list[Hour] = []
    if spec.rate_qps is not None:
        for h, rate in enumerate(spec.rate_qps):
            scv = spec.scv[h] if spec.scv is not None else 1.0
            lag1 = spec.lag1_autocorrelation[h] if spec.lag1_autocorrelation is not None else 0.0
            if abs(scv - 1.0) <= SCV_POISSON_TOL and lag1 == 0.0:
                out.append(Hour(poisson(rate), "poisson", rate * seconds))
                continue
            try:
                arrivals = h2_balanced(rate, scv, lag1)
            except DataError as exc:
                key = {
                    "scv": "arrivals.scv",
                    "lag1_autocorrelation": "arrivals.lag1_autocorrelation",
                }
                raise DataError(None, f"{key.get(exc.key, exc.key)}[{h}]", exc.expected) from None
            out.append(Hour(arrivals, "h2-balanced", rate * seconds))
    elif spec.maps is not None:
        for h, given in enumerate(spec.maps):
            try:
                arrivals = MAP(np.array(given.d0, dtype=float), np.array(given.d1, dtype=float))
            except (DataError, ValueError) as exc:
                expected = exc.expected if isinstance(exc, DataError) else "numeric matrices"
                raise DataError(None, f"arrivals.maps[{h}]", expected) from None
            out.append(Hour(arrivals, "given", arrivals.rate_qps * seconds))
    else:
        assert spec.inter_arrivals is not None
        for fit in _fit_file(spec.inter_arrivals):
            notes = [
                note
                for note, flag in (
                    ("third moment moved into H2's range", fit.third_moment_adjusted),
                    ("lag-1 autocorrelation clipped", fit.lag1_clipped),
                )
                if flag
            ]
            source = fit.method + (f" ({'; '.join(notes)})" if notes else "")
            out.append(Hour(fit.map, source, fit.map.rate_qps * seconds))
    return out


def _csv_rows(path: Path, columns: list[str]) -> Iterator[tuple[int, dict[str, str]]]:
    """(line number, row) of a UTF-8 CSV file with exactly ``columns`` as its header."""
    try:
        with path.open(newline="", encoding="utf-8") as handle:
            reader = csv.DictReader(handle)
            if reader.fieldnames != columns:
                raise DataError(path, "header", f"columns {','.join(columns)}")
            yield from enumerate(reader, start=2)
    except UnicodeDecodeError as exc:
        raise DataError(path, "(encoding)", f"UTF-8 text (byte {exc.start} is not)") from None
    except csv.Error as exc:
        raise DataError(path, "(syntax)", f"CSV text ({exc})") from None


def _fit_file(path: Path) -> list[MapFit]:
    """One MAP(2) fit per hour of a CSV ``hour,inter_arrival_s`` (hours 0, 1, ... in order)."""
    by_hour: dict[int, list[float]] = {}
    for line, row in _csv_rows(path, ["hour", "inter_arrival_s"]):
        try:
            hour, gap_s = int(row["hour"]), float(row["inter_arrival_s"])
        except (TypeError, ValueError):
            raise DataError(path, f"line {line}", "an integer hour and a time in s") from None
        if not (0 <= hour < MAX_INTERVALS and math.isfinite(gap_s) and gap_s >= 0):
            raise DataError(
                path,
                f"line {line}",
                f"an hour 0..{MAX_INTERVALS - 1} and a finite inter-arrival time >= 0 s",
            )
        by_hour.setdefault(hour, []).append(gap_s)
    if sorted(by_hour) != list(range(len(by_hour))) or not by_hour:
        raise DataError(path, "hour", "hours numbered 0, 1, 2, ... without gaps")
    fits = []
    for hour in range(len(by_hour)):
        try:
            fits.append(fit_map2(np.array(by_hour[hour])))
        except DataError as exc:
            raise DataError(path, f"hour {hour}", exc.expected) from None
    return fits


def _service_model(spec: ServiceSpec, grid: Grid) -> ServiceModel:
    if spec.table is None:
        assert spec.fixed_ms is not None and spec.setup_ms is not None
        assert spec.per_request_ms is not None and spec.parallel_fraction is not None
        return PerformanceModel(
            spec.fixed_ms, spec.setup_ms, spec.per_request_ms, spec.parallel_fraction
        )
    path = spec.table
    rows: dict[tuple[int, int], float] = {}
    for line, row in _csv_rows(path, ["memory_mb", "batch_size", "service_ms"]):
        try:
            key = (int(row["memory_mb"]), int(row["batch_size"]))
            value = float(row["service_ms"])
        except (TypeError, ValueError):
            raise DataError(path, f"line {line}", "integers and a time in ms") from None
        if not (value > 0 and math.isfinite(value)):
            raise DataError(path, f"line {line}", "a positive, finite service_ms")
        rows[key] = value
    memories = sorted({m for m, _ in rows})
    max_batch = int(grid.batch_sizes.max())
    table = np.full((len(memories), max_batch), np.nan)
    for (m, b), value in rows.items():
        if b <= max_batch:
            table[memories.index(m), b - 1] = value
    missing = [int(m) for m in grid.memory_mb if int(m) not in memories]
    if missing:
        raise DataError(path, "memory_mb", f"rows for every grid memory size (missing {missing})")
    if np.isnan(table).any():
        raise DataError(path, "batch_size", f"rows for batch sizes 1..{max_batch} at every size")
    return MeasuredTable(np.array(memories, dtype=float), table)
