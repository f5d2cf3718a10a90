"""The cost-model view of a BATCH scenario, and ``prepare(inputs) -> view``.

Per interval (hour) h: the arrival process (a MAP), and for every (M, B, T) of the grid
the percentile latency, the expected cost per request and the mean concurrency
(``cost_models.batch.grid.score``). In a hybrid scenario the grid is scored once per Lambda
share on the split grid, on the thinned MAP (``arrivals.thinned``), and the cheapest VM
mix covering the rest of each hour's load is enumerated (``vm.cheapest_cover``). Then the
candidate set the MILP chooses from (``plan_candidates``, exact: see ``milp.py``).
"""

from __future__ import annotations

import csv
import math
from collections.abc import Iterator
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
from numpy.typing import NDArray

from cost_models.batch.arrivals import MAP, MapFit, fit_map2, h2_balanced, poisson, thinned
from cost_models.batch.aws_lambda import PRICE_USD_PER_GB_S, MeasuredTable, PerformanceModel
from cost_models.batch.grid import Grid, Scores, ServiceModel, latency_percentiles, score
from cost_models.batch.latency import PERCENTILES, ColdStart
from cost_models.batch.vm import (
    VmOffer,
    cheapest_cover,
    modelled_service_ms,
    read_service_table,
    spot_rate_per_h,
)
from cost_models.cloud import INSTANCES
from cost_models.devices import Precision
from cost_models.errors import DataError
from cost_models.units import SECONDS_PER_HOUR
from formulations.batch.inputs import MAX_INTERVALS, ArrivalsSpec, BatchInputs, ServiceSpec

SCV_POISSON_TOL = 1e-9  # an SCV this close to 1 (with no correlation) is Poisson
SLO_SHARE_TOL = 1e-12  # float slack on "share within the SLO >= percentile" (as latency.py)
BUDGET_TOL = 1e-9  # relative float slack on "cost <= budget"


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
class HybridView:
    """The VM side of a hybrid scenario (``cost_models.batch.vm``)."""

    offers: list[VmOffer]
    capacity_qps: NDArray[np.float64]  # (offers,): load one VM may carry
    vm_cost_usd: NDArray[np.float64]  # (offers,): expected bill of one VM per interval
    max_counts: NDArray[np.int64]  # (offers,)

    @property
    def names(self) -> list[str]:
        return [o.name for o in self.offers]


@dataclass(frozen=True)
class BatchView:
    inputs: BatchInputs
    hours: list[Hour]
    grid: Grid
    service: ServiceModel
    quantile: float
    price_usd_per_gb_s: float
    cold: ColdStart
    scores: list[Scores]  # per hour, all requests on Lambda: arrays (memories, B, T)
    hourly_cost_usd: NDArray[np.float64]  # (hours, configs): all requests on Lambda, USD
    feasible: NDArray[np.bool_]  # (hours, configs): SLO and concurrency met, all on Lambda
    shares: NDArray[np.float64]  # Lambda's share of the requests on the split grid
    lambda_cost_usd: NDArray[np.float64]  # (hours, shares, configs); inf for share 0
    lambda_feasible: NDArray[np.bool_]  # (hours, shares, configs); False for share 0
    vm_cover_usd: NDArray[np.float64]  # (hours, shares): cheapest VMs for the rest, USD
    hybrid: HybridView | None
    latency_ms: NDArray[np.float64] | None  # (hours, configs), latency mode only
    candidates: NDArray[np.int64]  # flat grid indices the MILP chooses from (OFF = n)

    @property
    def off(self) -> int:
        """The candidate index standing for "Lambda serves nothing" (share 0)."""
        return int(np.prod(self.grid.shape))

    def config(self, flat: int) -> tuple[int, int, float]:
        """(memory_mb, batch_size, timeout_s) of a flat grid index."""
        m, b, t = np.unravel_index(flat, self.grid.shape)
        return (
            int(self.grid.memory_mb[m]),
            int(self.grid.batch_sizes[b]),
            float(self.grid.timeouts_s[t]),
        )

    def request_weights(self) -> NDArray[np.float64]:
        """Each interval's share of the trace's requests (the latency objective's weights)."""
        requests = np.array([h.requests for h in self.hours])
        return np.asarray(requests / requests.sum(), dtype=np.float64)


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
    shares = np.array(inputs.hybrid.shares() if inputs.hybrid else [1.0])
    n_configs = int(np.prod(grid.shape))
    lambda_cost = np.full((len(hours), len(shares), n_configs), np.inf)
    lambda_feasible = np.zeros((len(hours), len(shares), n_configs), dtype=bool)
    scores: list[Scores] = []
    slo_ms = inputs.slo_limit_ms
    for h, hour in enumerate(hours):
        for k, share in enumerate(shares):
            if share <= 0:
                continue
            arrivals = hour.arrivals if share == 1 else thinned(hour.arrivals, float(share))
            s = score(arrivals, grid, service, slo_ms, price, inputs.time_step_s, cold)
            lambda_cost[h, k] = share * hour.requests * s.cost_per_request_usd.ravel()
            lambda_feasible[h, k] = (s.within_slo.ravel() >= quantile - SLO_SHARE_TOL) & (
                s.concurrency.ravel() <= inputs.max_concurrency
            )
            if share == 1:
                scores.append(s)
    hybrid = _hybrid(inputs, slo_ms) if inputs.hybrid else None
    if hybrid is None:
        vm_cover = np.where(shares[None, :] == 1, 0.0, np.inf) * np.ones((len(hours), 1))
    else:
        loads = np.array([[(1 - share) * h.rate_qps for share in shares] for h in hours])
        vm_cover, _ = cheapest_cover(
            loads, hybrid.capacity_qps, hybrid.vm_cost_usd, hybrid.max_counts
        )
    latency = None
    if inputs.objective == "latency":
        latency = np.stack(
            [
                latency_percentiles(
                    h.arrivals, grid, service, quantile, inputs.time_step_s, cold
                ).ravel()
                for h in hours
            ]
        )
    view = BatchView(
        inputs=inputs,
        hours=hours,
        grid=grid,
        service=service,
        quantile=quantile,
        price_usd_per_gb_s=price,
        cold=cold,
        scores=scores,
        hourly_cost_usd=lambda_cost[:, -1, :],
        feasible=lambda_feasible[:, -1, :],
        shares=shares,
        lambda_cost_usd=lambda_cost,
        lambda_feasible=lambda_feasible,
        vm_cover_usd=vm_cover,
        hybrid=hybrid,
        latency_ms=latency,
        candidates=np.zeros(0, dtype=np.int64),
    )
    return replace(view, candidates=plan_candidates(view))


def plan_cost_usd(view: BatchView) -> NDArray[np.float64]:
    """(hours, configs + 1): the cheapest cost of an interval that runs Lambda configuration
    c (any share on the split grid, VMs covering the rest); the last column is Lambda off
    (share 0, VMs only); inf where nothing is feasible."""
    lam = np.where(view.lambda_feasible, view.lambda_cost_usd, np.inf)
    with_lambda = (lam + view.vm_cover_usd[:, :, None]).min(axis=1)
    off_share = view.shares == 0
    off = view.vm_cover_usd[:, off_share].min(axis=1) if off_share.any() else np.inf
    return np.column_stack([with_lambda, np.broadcast_to(off, (len(view.hours),))])


def interval_budget_usd(inputs: BatchInputs) -> float | None:
    """The budget of one interval: ``budget_usd_per_h`` x its length (None without one)."""
    if inputs.budget_usd_per_h is None:
        return None
    return inputs.budget_usd_per_h * inputs.arrivals.duration_h


def lambda_allowed(view: BatchView) -> NDArray[np.bool_]:
    """(hours, shares, configs): Lambda feasible, and in latency mode with
    ``budget_usd_per_h`` within each interval's budget."""
    budget = interval_budget_usd(view.inputs)
    if view.latency_ms is None or budget is None:
        return view.lambda_feasible
    return view.lambda_feasible & (view.lambda_cost_usd <= budget * (1 + BUDGET_TOL))


def plan_candidates(view: BatchView) -> NDArray[np.int64]:
    """The configurations (and "off") some optimal plan may need: see ``milp.py``."""
    inputs = view.inputs
    if view.latency_ms is None:
        cost = plan_cost_usd(view)
        return segment_candidates(cost, np.isfinite(cost), inputs.max_config_changes)
    weighted = view.latency_ms * view.request_weights()[:, None]
    if inputs.budget_usd_per_h is not None:
        allowed = lambda_allowed(view)[:, -1, :]
        return segment_candidates(weighted, allowed, inputs.max_config_changes)
    return pareto_candidates(
        view.hourly_cost_usd, weighted, view.feasible, inputs.max_config_changes
    )


def _hybrid(inputs: BatchInputs, slo_ms: float) -> HybridView:
    spec = inputs.hybrid
    assert spec is not None
    sizes = sorted(set(spec.vm_batch_sizes))
    table = read_service_table(spec.service_table) if spec.service_table is not None else None
    offers = []
    for i, offer in enumerate(spec.vms):
        instance = INSTANCES[offer.instance_type]
        if table is None:
            service_ms, devices = modelled_service_ms(
                instance, spec.model, Precision(spec.precision), spec.runtime, sizes
            )
        else:
            missing = [b for b in sizes if (instance.name, b) not in table]
            if missing:
                raise DataError(
                    spec.service_table,
                    "batch_size",
                    f"rows for {instance.name} at vm_batch_sizes (missing {missing})",
                )
            service_ms = np.array([table[(instance.name, b)] for b in sizes])
            devices = max(instance.gpus, 1)
        if offer.market == "spot":
            rate = offer.interruption_rate_per_h
            rate = spot_rate_per_h(instance) if rate is None else rate
            price = instance.spot_usd_per_h
        else:
            rate, price = 0.0, instance.on_demand_usd_per_h
        if offer.price_usd_per_h is not None:
            price = offer.price_usd_per_h
        try:
            offers.append(
                VmOffer(
                    instance,
                    offer.market,
                    offer.max_count,
                    price,
                    rate,
                    np.array(sizes, dtype=np.int64),
                    service_ms,
                    devices,
                )
            )
        except DataError as exc:
            raise DataError(None, f"hybrid.vms[{i}]", exc.expected) from None
    duration_h = inputs.arrivals.duration_h
    capacity = np.array([o.capacity_qps(slo_ms, spec.max_utilization, duration_h) for o in offers])
    return HybridView(
        offers=offers,
        capacity_qps=capacity,
        vm_cost_usd=np.array([o.cost_usd(duration_h) for o in offers]),
        max_counts=np.array([o.max_count for o in offers], dtype=np.int64),
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


def pareto_front(cost: NDArray[np.float64], value: NDArray[np.float64]) -> NDArray[np.int64]:
    """Indices of the finite points no other point beats in both cost and value (of equal
    points, the lowest index)."""
    ok = np.flatnonzero(np.isfinite(cost) & np.isfinite(value))
    order = ok[np.lexsort((ok, value[ok], cost[ok]))]
    best = np.minimum.accumulate(value[order])
    keep = np.ones(len(order), dtype=bool)
    keep[1:] = value[order][1:] < best[:-1]
    return np.asarray(order[keep], dtype=np.int64)


def pareto_candidates(
    cost: NDArray[np.float64],
    value: NDArray[np.float64],
    feasible: NDArray[np.bool_],
    max_changes: int | None,
) -> NDArray[np.int64]:
    """The configurations some optimal plan may need under a budget on the summed cost
    while minimising the summed value (``milp.py``): per hour (no change limit) or per run
    of consecutive hours (with one), the Pareto front of (cost, value) over the run."""
    cost_m = np.where(feasible, cost, np.inf)
    value_m = np.where(feasible, value, np.inf)
    chosen: set[int] = set()
    n_hours = cost.shape[0]
    for a in range(n_hours):
        cost_run = np.zeros(cost.shape[1])
        value_run = np.zeros(cost.shape[1])
        for b in range(a, n_hours if max_changes is not None else a + 1):
            cost_run = cost_run + cost_m[b]
            value_run = value_run + value_m[b]
            front = pareto_front(cost_run, value_run)
            if not front.size:
                break
            chosen.update(int(c) for c in front)
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
