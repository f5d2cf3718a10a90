"""Seeded replay of a BATCH plan on the shared core (``planner simulate``).

BATCH (SC '20, github.com/rickypinci/BATCH) puts a buffer in front of an AWS Lambda
function: the buffer releases a batch when B requests wait or T seconds after the first one
arrived, and Lambda runs each batch on its own instance. Here every interval (hour) h of the
plan is one :class:`~formulations.replay.core.Station` running
:class:`~formulations.replay.policies.FixedBatch` with the hour's (B, T) (a batch of k runs
``s(k, M)`` of the hour's memory M, the cost model's service time, plus a cold start with
the scenario's probability), with ``max_concurrency`` executors (Lambda's concurrency
quota: beyond it batches wait for a free instance). A request goes to the station of the
interval it arrives in, so a configuration change at an interval boundary lets the old
buffer's last batch leave under the old configuration. The class of a request is its
interval (``hour h``); its deadline is ``slo_ms``, so the per-class SLO attainment is the
share of the hour's requests within the SLO and the per-class percentiles compare with
the analytic ones (``formulations.batch.verify.hour_figures``) in the last table.

Arrivals are each interval's MAP (``cost_models.batch.arrivals.sample_inter_arrivals``,
stationary, from the interval's start). By default the first :data:`REQUESTS_PER_INTERVAL`
arrivals of every interval are replayed (at most the interval's), so a day replays in
seconds; ``duration_s`` replays every arrival of the plan's first ``duration_s`` seconds
instead; ``rate_scale`` X replays the MAPs time-scaled by X (rates x X, the same SCV and
autocorrelation); a trace file (:mod:`formulations.replay.trace`, without a class column)
replaces the MAPs, each arrival in the interval its time falls in (arrivals past the plan's
last interval are left out). The buffer empties within T, so no warm-up is left out. The
arrivals of a run are drawn once and replayed for the plan and every baseline.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, replace

import numpy as np

from cost_models.batch.arrivals import MAP, sample_inter_arrivals
from cost_models.units import MS_PER_S, SECONDS_PER_HOUR
from formulations.batch import baselines as base
from formulations.batch.deployment import BatchDeployment
from formulations.batch.verify import hour_figures
from formulations.batch.view import BatchView
from formulations.replay.arrivals import Chunk, Mix
from formulations.replay.core import Request, Simulation, Station, seeded
from formulations.replay.policies import FixedBatch
from formulations.replay.schema import PoolResult, ReplayReport
from formulations.replay.stats import Recorder
from formulations.replay.trace import TraceFile, trace_of
from formulations.types import InputError, SimulateOptions, Table

PLAN = "milp"  # the report's name for the plan
# the baselines replayed next to the plan (formulations/batch/baselines.py)
REPLAYED_BASELINES: dict[str, Callable[[BatchView], BatchDeployment]] = {
    "lambda_no_batching": base.no_batching,
    "batch_released_rule": base.batch_released_rule,
    "per_hour_grid_search": base.per_hour_grid_search,
    "best_fixed_config": base.best_fixed_config,
}
REQUESTS_PER_INTERVAL = 2000  # arrivals replayed per interval and run by default
MAX_REQUESTS_PER_RUN = 10_000_000  # a --duration-s replay holds at most this many
DRAW = 4096  # inter-arrival times drawn at a time
QUANTILES = {"p90": 0.90, "p95": 0.95, "p99": 0.99}
HOUR_KEYS = (
    "plan",
    "class",
    "memory_mb",
    "batch_size",
    "timeout_s",
    "rate_qps",
    "percentile",
    "analytic_latency_ms",
    "replayed_latency_ms",
    "error_pct",
    "analytic_concurrency",
    "replayed_concurrency",
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


def _chunks(times_s: np.ndarray, width_s: float, hours: int) -> Iterator[Chunk]:
    """Arrivals labelled by the interval they fall in (class and route)."""
    for lo in range(0, len(times_s), 16384):
        part = times_s[lo : lo + 16384]
        hour = np.minimum((part // width_s).astype(np.int64), hours - 1)
        yield Chunk(part, hour, np.ones(len(part), dtype=np.int64), hour)


def _trace_times(
    trace: TraceFile, options: SimulateOptions, until_s: float, seed: int
) -> np.ndarray:
    parts = [c.time_s for c in trace.chunks(seeded((seed, 1)), Mix(), options.rate_scale, until_s)]
    return np.concatenate(parts) if parts else np.zeros(0)


@dataclass
class PlanCounts:
    recorder: Recorder
    busy_s: list[float]  # per interval


def lambda_only(deployment: BatchDeployment) -> bool:
    """Whether Lambda serves every request of every interval (no provisioned VMs), the
    plans this replay models."""
    return all(h.lambda_share == 1.0 and not any(h.vms.values()) for h in deployment.hours)


def replay_deployment(
    view: BatchView,
    deployment: BatchDeployment,
    times_s: np.ndarray,
    seed: tuple[int, ...],
) -> PlanCounts:
    """One replay of ``deployment`` on the arrivals at ``times_s``."""
    inputs, hours = view.inputs, len(view.hours)
    rng = seeded(seed)
    workers = max(1, int(inputs.max_concurrency))
    stations = []
    for h, config in enumerate(deployment.hours[:hours]):
        assert config.memory_mb is not None and config.batch_size is not None  # lambda_only
        assert config.timeout_s is not None
        service_ms = view.service.service_ms(np.array([float(config.memory_mb)]), config.batch_size)
        service = LambdaService(service_ms[0].tolist(), view.cold.prob, view.cold.ms, rng)
        policy = FixedBatch(service, config.batch_size, config.timeout_s)
        stations.append(Station(f"hour {h}", policy, workers))
    recorder = Recorder(hours)
    slo_s = [inputs.slo_limit_ms / MS_PER_S] * hours  # inf: no SLO (latency objective)
    simulation = Simulation(stations, recorder, slo_s, [(h,) for h in range(hours)])
    simulation.run(_chunks(times_s, interval_s(view), hours))
    return PlanCounts(recorder, [s.busy_s for s in stations])


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
    """The common replay tables (docs/replay.md), then the analytic against the replayed
    latency percentile of every interval and plan."""
    trace = _check(view, options)
    runs, seed, hours = options.runs, options.seed, len(view.hours)
    width_s = interval_s(view)
    until_s = min(width_s * hours, math.inf if options.duration_s is None else options.duration_s)
    totals = {name: Recorder(hours) for name in deployments}
    busy = {name: [0.0] * hours for name in deployments}
    replayed_s = [0.0] * hours  # per interval, the simulated seconds of its arrivals
    for run in range(runs):
        if trace is None:
            times = _map_times(view, options, seeded((seed, run, 0)))
        else:
            times = _trace_times(trace, options, until_s, seed + run)
        for h in range(hours):
            mine = times[(times >= h * width_s) & (times < (h + 1) * width_s)]
            if len(mine):
                full = options.duration_s is not None or trace is not None
                end_s = min((h + 1) * width_s, until_s) if full else float(mine[-1])
                replayed_s[h] += max(0.0, end_s - h * width_s)
        for p, (name, deployment) in enumerate(deployments.items()):
            counts = replay_deployment(view, deployment, times, (seed, run, 1, p))
            for total, one in zip(totals[name].classes, counts.recorder.classes, strict=True):
                total.merge(one)
            busy[name] = [a + b for a, b in zip(busy[name], counts.busy_s, strict=True)]
    span_s = sum(replayed_s) / runs
    report = ReplayReport(runs, seed, span_s, None)
    names = labels(view)
    rows = []
    quantile = QUANTILES[view.inputs.percentile]
    workers = max(1, int(view.inputs.max_concurrency))
    for name, deployment in deployments.items():
        report.add_plan(name, names, totals[name].classes, span_s)
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
        for h, (hour, config) in enumerate(zip(view.hours, deployment.hours, strict=False)):
            hour = replace(
                hour,
                arrivals=_scaled(hour.arrivals, options.rate_scale),
                requests=hour.requests * options.rate_scale,
            )
            figures = hour_figures(view, hour, config)
            histogram = totals[name].classes[h].histogram
            replayed_ms = MS_PER_S * histogram.quantile_s(quantile) if histogram.total else None
            error_pct = (
                round(100 * (figures.latency_ms - replayed_ms) / replayed_ms, 2)
                if replayed_ms
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
                    view.inputs.percentile,
                    round(figures.latency_ms, 3),
                    None if replayed_ms is None else round(replayed_ms, 3),
                    error_pct,
                    round(figures.concurrency, 3),
                    round(busy[name][h] / replayed_s[h], 3) if replayed_s[h] else None,
                ]
            )
    source = "the trace file" if trace is not None else "each interval's MAP"
    return [
        *report.tables(),
        Table(
            f"BATCH replay: analytic (the interval's MAP x the rate scale) vs replayed "
            f"{view.inputs.percentile} latency per interval (arrivals from {source}; {runs} "
            f"runs from seed {seed}; concurrency = mean concurrent executions)",
            list(HOUR_KEYS),
            rows,
        ),
    ]
