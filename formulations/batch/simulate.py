"""Seeded replay of a BATCH plan on the shared core (``planner simulate``).

BATCH (SC '20, github.com/rickypinci/BATCH) puts a buffer in front of an AWS Lambda
function: the buffer releases a batch when B requests wait or T seconds after the first one
arrived, and Lambda runs each batch on its own instance. Here every interval (hour) h of the
plan is one :class:`~formulations.replay.core.Station` running
:class:`~formulations.replay.policies.FixedBatch` with the hour's (B, T) (a batch of k runs
``s(k, M)`` of the hour's memory M, the cost model's service time, plus a cold start with
the scenario's probability), with ``max_concurrency`` executors (Lambda's concurrency
quota: beyond it batches wait for a free instance). A request goes to the stations of the
interval it arrives in, so a configuration change at an interval boundary lets the old
buffer's last batch leave under the old configuration. The class of a request is its
interval (``hour h``); its deadline is ``slo_ms``, so the per-class SLO attainment is the
share of the hour's requests within the SLO and the per-class percentiles compare with
the analytic ones (``formulations.batch.verify.hour_figures``) in the last table.

Hybrid plans (MArk-style VMs next to Lambda): each request of hour h goes to Lambda with
probability ``lambda_share`` (an independent coin per request, the random split the MILP
plans with: Lambda sees the thinned MAP, ``cost_models.batch.arrivals.thinned``), else to
one of the hour's VM offers with probability proportional to the peak rate (``max_rps``) of
its VMs running at that instant (a weighted load balancer). An offer's VMs are one station
of ``count x devices`` executors running MArk's batching (``cost_models.batch.vm``): an idle
server takes up to b waiting requests, b the offer's SLO batch size
(``VmOffer.batch_index``), and a batch of k runs ``s_v(b')`` of the smallest listed size b'
>= k (``padded_latency_s``). A spot VM is interrupted after an exponential lifetime of the
offer's rate (``interruption_rate_per_h``) and replaced only at the next interval (its
executors leave the station when idle; requests still queued where every VM was interrupted
are dropped). The VM share of an hour without running VMs is shed (dropped). Pools:
``lambda`` (busy share of ``max_concurrency``) and each VM offer (busy share of its VMs'
running seconds); the last table gives each hour's split (``lambda_requests``,
``vm_requests``), Lambda's analytic percentile on its share against the replayed one of the
requests Lambda served, and the VMs' replayed percentile against their bound ``2 s_v(b)``.

Arrivals are each interval's MAP (``cost_models.batch.arrivals.sample_inter_arrivals``,
stationary, from the interval's start). By default the first :data:`REQUESTS_PER_INTERVAL`
arrivals of every interval are replayed (at most the interval's), so a day replays in
seconds; ``duration_s`` replays every arrival of the plan's first ``duration_s`` seconds
instead; ``rate_scale`` X replays the MAPs time-scaled by X (rates x X, the same SCV and
autocorrelation); a trace file (:mod:`formulations.replay.trace`, without a class column)
replaces the MAPs, each arrival in the interval its time falls in (arrivals past the plan's
last interval are left out). The buffer empties within T, so no warm-up is left out. The
arrivals of a run are drawn once and replayed for the plan and every baseline (each draws
its own split).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, replace

import numpy as np

from cost_models.batch.arrivals import MAP, sample_inter_arrivals
from cost_models.batch.vm import SLO_SERVICE_FACTOR, VmOffer
from cost_models.units import MS_PER_S, PERCENT_PER_FRACTION, SECONDS_PER_HOUR
from formulations.batch import baselines as base
from formulations.batch.deployment import BatchDeployment, HourConfig
from formulations.batch.verify import hour_figures
from formulations.batch.view import BatchView
from formulations.replay.arrivals import Chunk, Mix
from formulations.replay.core import PlanChange, Request, Simulation, Station, seeded
from formulations.replay.policies import FixedBatch, ProfileService, Shed, padded_latency_s
from formulations.replay.schema import PoolResult, ReplayReport
from formulations.replay.stats import ClassCounts, Recorder
from formulations.replay.trace import TraceFile, trace_of
from formulations.types import InputError, SimulateOptions, Table

PLAN = "milp"  # the report's name for the plan
# the baselines replayed next to the plan (formulations/batch/baselines.py); one without a
# plan in the scenario (InfeasibleError) is left out
REPLAYED_BASELINES: dict[str, Callable[[BatchView], BatchDeployment]] = {
    "lambda_no_batching": base.no_batching,
    "batch_released_rule": base.batch_released_rule,
    "per_hour_grid_search": base.per_hour_grid_search,
    "best_fixed_config": base.best_fixed_config,
    # hybrid scenarios only (InfeasibleError without VM offers)
    "mark_like_greedy": base.mark_like_greedy,
    "sagemaker_like_endpoint": base.sagemaker_like_endpoint,
}
REQUESTS_PER_INTERVAL = 2000  # arrivals replayed per interval and run by default
MAX_REQUESTS_PER_RUN = 10_000_000  # a --duration-s replay holds at most this many
DRAW = 4096  # inter-arrival times drawn at a time
CHUNK = 16384  # arrivals routed at a time
QUANTILES = {"p90": 0.90, "p95": 0.95, "p99": 0.99}
HOUR_KEYS = (
    "plan",
    "class",
    "memory_mb",
    "batch_size",
    "timeout_s",
    "rate_qps",
    "lambda_pct",
    "lambda_requests",
    "vm_requests",
    "percentile",
    "analytic_latency_ms",
    "replayed_latency_ms",
    "error_pct",
    "analytic_concurrency",
    "replayed_concurrency",
    "vm_bound_ms",
    "vm_replayed_latency_ms",
)


class LambdaService:
    """``s(k, M)`` of one memory size (ms table, k = 1..B) plus a cold start (``cold_ms``)
    with probability ``cold_prob`` per batch."""

    def __init__(
        self,
        service_ms: Sequence[float],
        cold_prob: float,
        cold_ms: float,
        rng: np.random.Generator,
    ) -> None:
        self.service_s = [float(x) / MS_PER_S for x in service_ms]
        self.cold_prob, self.cold_s = cold_prob, cold_ms / MS_PER_S
        self.rng = rng

    def estimate_s(self, size: int) -> float:
        return self.service_s[size - 1]

    def duration_s(self, batch: Sequence[Request]) -> float:
        base = self.service_s[len(batch) - 1]
        if self.cold_prob > 0 and self.rng.random() < self.cold_prob:
            return base + self.cold_s
        return base


def interval_s(view: BatchView) -> float:
    return view.inputs.arrivals.duration_h * SECONDS_PER_HOUR


def labels(view: BatchView) -> list[str]:
    return [f"hour {h}" for h in range(len(view.hours))]


def _scaled(arrivals: MAP, scale: float) -> MAP:
    return arrivals if scale == 1.0 else MAP(arrivals.d0 * scale, arrivals.d1 * scale)


def _map_times(view: BatchView, options: SimulateOptions, rng: np.random.Generator) -> np.ndarray:
    """Arrival times (s, sorted) of one run: per interval its MAP's, the first
    :data:`REQUESTS_PER_INTERVAL` or all before ``duration_s``."""
    width_s = interval_s(view)
    until_s = math.inf if options.duration_s is None else options.duration_s
    parts = []
    for h, hour in enumerate(view.hours):
        start_s = h * width_s
        if start_s >= until_s:
            break
        arrivals = _scaled(hour.arrivals, options.rate_scale)
        end_s = min(start_s + width_s, until_s)
        budget = REQUESTS_PER_INTERVAL if options.duration_s is None else MAX_REQUESTS_PER_RUN
        times: list[np.ndarray] = []
        t, held = start_s, 0
        while held < budget:
            gaps = sample_inter_arrivals(arrivals, min(DRAW, budget - held), rng)
            block = t + np.cumsum(gaps)
            t = float(block[-1])
            block = block[block < end_s]
            times.append(block)
            held += len(block)
            if t >= end_s:
                break
        parts.append(np.concatenate(times)[:budget])
    return np.concatenate(parts) if parts else np.zeros(0)


@dataclass(frozen=True)
class VmPool:
    """The VMs of one offer in one hour: their station, the peak rate of one VM within the
    SLO (requests/s) and each VM's lifetime (s from ``start_s``, the hour's start)."""

    station: int
    rps_per_vm: float
    start_s: float
    lifetimes_s: list[float]  # sorted

    def live_rps(self, times_s: np.ndarray) -> np.ndarray:
        """The peak rate of the VMs still running at each of ``times_s``."""
        ended = np.searchsorted(self.lifetimes_s, times_s - self.start_s, side="right")
        return (len(self.lifetimes_s) - ended) * self.rps_per_vm


def _chunks(
    times_s: np.ndarray,
    width_s: float,
    hours: int,
    shares: Sequence[float],
    lambda_at: Sequence[int | None],
    vm_at: Sequence[Sequence[VmPool]],
    sink: int,
    rng: np.random.Generator,
) -> Iterator[Chunk]:
    """Arrivals labelled by the interval they fall in and routed by its split: to Lambda
    with probability ``shares[h]`` (class h), else (class ``hours + h``) to a VM station
    drawn in proportion to the peak rate of its VMs running then (a weighted load
    balancer); the sink when none runs."""
    for lo in range(0, len(times_s), CHUNK):
        part = times_s[lo : lo + CHUNK]
        hour = np.minimum((part // width_s).astype(np.int64), hours - 1)
        to_lambda = rng.random(len(part)) < np.asarray(shares)[hour]
        klass = np.where(to_lambda, hour, hours + hour)
        route = np.full(len(part), sink, dtype=np.int64)
        for h in np.unique(hour).tolist():
            here = hour == h
            at = lambda_at[h]
            if at is not None:
                route[here & to_lambda] = at
            away = np.flatnonzero(here & ~to_lambda)
            if not vm_at[h] or not len(away):
                continue
            cumulative = np.cumsum([pool.live_rps(part[away]) for pool in vm_at[h]], axis=0)
            draw = rng.random(len(away)) * cumulative[-1]
            pick = (cumulative <= draw).sum(axis=0)  # first pool whose cumulative rate > draw
            live = cumulative[-1] > 0
            stations = np.array([pool.station for pool in vm_at[h]])
            route[away[live]] = stations[pick[live]]
        yield Chunk(part, klass, np.ones(len(part), dtype=np.int64), route)


def _trace_times(
    trace: TraceFile, options: SimulateOptions, until_s: float, seed: int
) -> np.ndarray:
    parts = [c.time_s for c in trace.chunks(seeded((seed, 1)), Mix(), options.rate_scale, until_s)]
    return np.concatenate(parts) if parts else np.zeros(0)


def spans_s(times_s: np.ndarray, width_s: float, hours: int, until_s: float | None) -> list[float]:
    """Per interval, the simulated seconds replayed: to the interval's end (at most
    ``until_s``) when every arrival is replayed, else (``until_s`` None: the first
    arrivals only) to its last arrival; 0 without arrivals."""
    out = [0.0] * hours
    for h in range(hours):
        mine = times_s[(times_s >= h * width_s) & (times_s < (h + 1) * width_s)]
        if len(mine):
            end_s = float(mine[-1]) if until_s is None else min((h + 1) * width_s, until_s)
            out[h] = max(0.0, end_s - h * width_s)
    return out


@dataclass
class PlanCounts:
    recorder: Recorder  # classes 0 .. H-1: served by Lambda; H .. 2H-1: routed to VMs
    busy_s: list[float]  # per interval, Lambda's
    vm_busy_s: dict[str, float]  # per VM offer, executor-seconds busy
    vm_up_s: dict[str, float]  # per VM offer, executor-seconds running (to its interruption)


def _vm_station(
    view: BatchView, offer: VmOffer, count: int, h: int, rng: np.random.Generator
) -> tuple[Station, list[float]]:
    """The station of ``count`` VMs of ``offer`` in hour ``h`` (MArk's batching: an idle
    server takes up to the offer's SLO batch size) and each VM's lifetime in s from the
    hour's start (inf on demand; a spot VM's is exponential at its interruption rate)."""
    index = offer.batch_index(view.inputs.slo_limit_ms)
    if index is None:  # no listed size within the SLO (the plan's verifier rejects it)
        raise InputError(None, f"hours[{h}].vms.{offer.name}", "an offer serving within the SLO")
    by_batch_ms = {
        int(b): float(t) for b, t in zip(offer.batch_sizes, offer.service_ms, strict=True)
    }
    policy = FixedBatch(
        ProfileService(padded_latency_s(by_batch_ms)), int(offer.batch_sizes[index])
    )
    station = Station(f"hour {h} {offer.name}", policy, count * offer.devices)
    rate_per_s = offer.interruption_rate_per_h / SECONDS_PER_HOUR
    if rate_per_s <= 0:
        return station, [math.inf] * count
    return station, sorted(rng.exponential(1.0 / rate_per_s, count).tolist())


def replay_deployment(
    view: BatchView,
    deployment: BatchDeployment,
    times_s: np.ndarray,
    seed: tuple[int, ...],
    replayed_s: Sequence[float] | None = None,
) -> PlanCounts:
    """One replay of ``deployment`` on the arrivals at ``times_s`` (``replayed_s``: per
    interval, the simulated seconds it replays, for the VMs' running time; default: up to
    its last arrival)."""
    inputs, hours = view.inputs, len(view.hours)
    rng = seeded(seed)
    workers = max(1, int(inputs.max_concurrency))
    width_s = interval_s(view)
    if replayed_s is None:
        replayed_s = spans_s(times_s, width_s, hours, None)
    offers = {o.name: o for o in view.hybrid.offers} if view.hybrid is not None else {}
    stations: list[Station] = []
    lambda_at: list[int | None] = []
    vm_at: list[list[VmPool]] = []  # per hour, its VM stations
    changes: list[PlanChange] = []
    vm_up_s = dict.fromkeys(offers, 0.0)
    # per VM station: its offer, hour and VMs' lifetimes (s from the hour's start)
    vms_at: dict[int, tuple[VmOffer, int, list[float]]] = {}
    for h, config in enumerate(deployment.hours[:hours]):
        if config.lambda_share > 0:
            assert config.memory_mb is not None and config.batch_size is not None
            assert config.timeout_s is not None  # HourConfig: all three when the share > 0
            memory = np.array([float(config.memory_mb)])
            service_ms = view.service.service_ms(memory, config.batch_size)
            service = LambdaService(service_ms[0].tolist(), view.cold.prob, view.cold.ms, rng)
            policy = FixedBatch(service, config.batch_size, config.timeout_s)
            lambda_at.append(len(stations))
            stations.append(Station(f"hour {h}", policy, workers))
        else:
            lambda_at.append(None)
        mine: list[VmPool] = []
        for name, count in sorted(config.vms.items()):
            if count == 0:
                continue
            offer = offers[name]
            station, lifetimes_s = _vm_station(view, offer, count, h, rng)
            at = len(stations)
            stations.append(station)
            start_s = h * width_s
            mine.append(VmPool(at, offer.max_rps(inputs.slo_limit_ms), start_s, lifetimes_s))
            running = station.workers
            for life_s in lifetimes_s:  # an interrupted VM is replaced at the next hour
                if life_s < width_s:
                    running -= offer.devices
                    changes.append(PlanChange(h * width_s + life_s, at, workers=running))
            vms_at[at] = (offer, h, lifetimes_s)
        vm_at.append(mine)
    sink = len(stations)
    stations.append(Station("unserved", Shed()))
    routes = [(i,) for i in range(len(stations))]
    recorder = Recorder(2 * hours)
    slo_s = [inputs.slo_limit_ms / MS_PER_S] * (2 * hours)  # inf: no SLO (latency objective)
    simulation = Simulation(stations, recorder, slo_s, routes)
    shares = [c.lambda_share for c in deployment.hours[:hours]]
    simulation.run(_chunks(times_s, width_s, hours, shares, lambda_at, vm_at, sink, rng), changes)
    for station in stations:  # queued at an offer whose every VM was interrupted: lost
        for request in station.policy.drain():
            recorder.dropped(request)
    lambda_busy = [stations[i].busy_s if i is not None else 0.0 for i in lambda_at]
    vm_busy_s = dict.fromkeys(offers, 0.0)
    for at, (offer, h, lifetimes_s) in vms_at.items():
        station = stations[at]
        vm_busy_s[offer.name] += station.busy_s
        # running: from the hour's start to its replayed end or the last batch's, if later
        until_s = max(replayed_s[h], station.last_end_s - h * width_s)
        vm_up_s[offer.name] += offer.devices * sum(min(life, until_s) for life in lifetimes_s)
    return PlanCounts(recorder, lambda_busy, vm_busy_s, vm_up_s)


def _check(view: BatchView, options: SimulateOptions) -> TraceFile | None:
    trace = trace_of(options, None)
    span_s = interval_s(view) * len(view.hours)
    if options.duration_s is not None:
        if options.duration_s > span_s:
            raise InputError(
                None, "--duration-s", f"at most the plan's span, {span_s:g} s", options.duration_s
            )
        if trace is None:
            expected = (
                sum(
                    h.rate_qps
                    * max(0.0, min(interval_s(view), options.duration_s - i * interval_s(view)))
                    for i, h in enumerate(view.hours)
                )
                * options.rate_scale
            )
            if expected > MAX_REQUESTS_PER_RUN:
                raise InputError(
                    None,
                    "--duration-s",
                    f"a span of at most {MAX_REQUESTS_PER_RUN:,} requests ({expected:,.0f} "
                    "expected)",
                    options.duration_s,
                )
    return trace


def simulate_tables(
    view: BatchView, deployments: dict[str, BatchDeployment], options: SimulateOptions
) -> list[Table]:
    """The common replay tables (docs/replay.md), then per interval and plan the split,
    Lambda's analytic against replayed latency percentile and the VMs' replayed one."""
    trace = _check(view, options)
    runs, seed, hours = options.runs, options.seed, len(view.hours)
    width_s = interval_s(view)
    until_s = min(width_s * hours, math.inf if options.duration_s is None else options.duration_s)
    totals = {name: Recorder(2 * hours) for name in deployments}
    busy = {name: [0.0] * hours for name in deployments}
    offers = view.hybrid.names if view.hybrid is not None else []
    vm_busy = {name: dict.fromkeys(offers, 0.0) for name in deployments}
    vm_up = {name: dict.fromkeys(offers, 0.0) for name in deployments}
    replayed_s = [0.0] * hours  # per interval, the simulated seconds of its arrivals
    for run in range(runs):
        if trace is None:
            times = _map_times(view, options, seeded((seed, run, 0)))
        else:
            times = _trace_times(trace, options, until_s, seed + run)
        full = options.duration_s is not None or trace is not None
        this_run = spans_s(times, width_s, hours, until_s if full else None)
        replayed_s = [a + b for a, b in zip(replayed_s, this_run, strict=True)]
        for p, (name, deployment) in enumerate(deployments.items()):
            counts = replay_deployment(view, deployment, times, (seed, run, 1, p), this_run)
            for total, one in zip(totals[name].classes, counts.recorder.classes, strict=True):
                total.merge(one)
            busy[name] = [a + b for a, b in zip(busy[name], counts.busy_s, strict=True)]
            for offer in offers:
                vm_busy[name][offer] += counts.vm_busy_s[offer]
                vm_up[name][offer] += counts.vm_up_s[offer]
    span_s = sum(replayed_s) / runs
    report = ReplayReport(runs, seed, span_s, None)
    names = labels(view)
    rows = []
    quantile = QUANTILES[view.inputs.percentile]
    workers = max(1, int(view.inputs.max_concurrency))
    for name, deployment in deployments.items():
        classes = totals[name].classes
        per_hour = [ClassCounts() for _ in range(hours)]
        for h, merged in enumerate(per_hour):
            merged.merge(classes[h])
            merged.merge(classes[hours + h])
        report.add_plan(name, names, per_hour, span_s)
        executor_s = workers * span_s * runs
        report.pools.append(
            PoolResult(
                name,
                "lambda",
                workers,
                round(100 * sum(busy[name]) / executor_s, 3) if executor_s else 0.0,
                0.0,
            )
        )
        for offer in offers:
            up_s = vm_up[name][offer]
            if up_s > 0:
                report.pools.append(
                    PoolResult(
                        name,
                        offer,
                        round(up_s / (span_s * runs), 3),
                        round(100 * vm_busy[name][offer] / up_s, 3),
                        0.0,
                    )
                )
        for h, (hour, config) in enumerate(zip(view.hours, deployment.hours, strict=False)):
            hour = replace(
                hour,
                arrivals=_scaled(hour.arrivals, options.rate_scale),
                requests=hour.requests * options.rate_scale,
            )
            figures = hour_figures(view, hour, config)
            analytic_ms = (
                None if math.isnan(figures.lambda_latency_ms) else figures.lambda_latency_ms
            )
            replayed_ms = _quantile_ms(classes[h], quantile)
            error_pct = (
                round(100 * (analytic_ms - replayed_ms) / replayed_ms, 2)
                if replayed_ms and analytic_ms is not None
                else None
            )
            rows.append(
                [
                    name,
                    names[h],
                    config.memory_mb,
                    config.batch_size,
                    config.timeout_s,
                    round(hour.rate_qps, 4),
                    round(PERCENT_PER_FRACTION * config.lambda_share, 2),
                    classes[h].requests,
                    classes[hours + h].requests,
                    view.inputs.percentile,
                    None if analytic_ms is None else round(analytic_ms, 3),
                    replayed_ms,
                    error_pct,
                    round(figures.concurrency, 3),
                    round(busy[name][h] / replayed_s[h], 3) if replayed_s[h] else None,
                    _vm_bound_ms(view, config),
                    _quantile_ms(classes[hours + h], quantile),
                ]
            )
    source = "the trace file" if trace is not None else "each interval's MAP"
    return [
        *report.tables(),
        Table(
            f"BATCH replay per interval: the Lambda/VM split, Lambda's analytic (its share of "
            f"the interval's MAP x the rate scale) vs replayed {view.inputs.percentile} latency, "
            f"the VMs' replayed {view.inputs.percentile} vs their bound 2 s_v(b) (arrivals from "
            f"{source}; {runs} runs from seed {seed}; concurrency = mean concurrent Lambda "
            "executions)",
            list(HOUR_KEYS),
            rows,
        ),
    ]


def _quantile_ms(counts: ClassCounts, quantile: float) -> float | None:
    histogram = counts.histogram
    return round(MS_PER_S * histogram.quantile_s(quantile), 3) if histogram.total else None


def _vm_bound_ms(view: BatchView, config: HourConfig) -> float | None:
    """MArk's bound 2 s_v(b) of the interval's VMs, the largest over its offers in use
    (None: no VMs)."""
    if view.hybrid is None:
        return None
    bounds = []
    for offer in view.hybrid.offers:
        index = offer.batch_index(view.inputs.slo_limit_ms)
        if config.vms.get(offer.name, 0) > 0 and index is not None:
            bounds.append(SLO_SERVICE_FACTOR * float(offer.service_ms[index]))
    return round(max(bounds), 3) if bounds else None
