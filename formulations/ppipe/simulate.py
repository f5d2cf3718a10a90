"""Seeded replay of a ``ppipe`` deployment on the shared core (:mod:`formulations.replay`).

Every model is one :class:`~formulations.replay.core.Station` running PPipe's
reservation-based batching (:class:`~formulations.replay.policies.ReservationBatch`, after
JonnyKong/PPipe ``cluster-sim``'s reservation balancer) over the model's pipelines: one
queue per model; once it holds a pipeline's batch, the batch is reserved stage by stage on
the instance (MPS slice) that finishes it earliest, with the transfer of the cut between
stages (``batch x cut bytes / NIC bandwidth``, the chunk table's ``cut_transfer_us``) on
the sender's and receiver's links. A stage's latency is the chunk table's for its GPU type,
MPS level, chunk range and the pipeline's batch (the first stage's planned batch; a stage
whose table stops below it runs it in sub-batches of its own planned batch).

Arrivals are Poisson, model ``d`` at ``weight_d x rate_qps`` (the plan's objective is the
largest ``rate_qps`` it serves); a request is late past its model's ``slo_us``. The
goodput at 99% SLO attainment is the largest ``rate_qps`` at which every model attains at
least :data:`TARGET_ATTAINMENT`, found by bracketing from the plan's objective and
bisecting (the same seed at every rate, so the arrival streams are time-scaled copies of
one another). ``planner simulate`` options apply to the common report's replays, not to the
goodput search: ``rate_scale`` replays at that multiple of each plan's goodput rate,
``duration_s`` replays every arrival of that span instead of :data:`REQUESTS` requests,
and a trace file (:mod:`formulations.replay.trace`; class = model name, drawn by the
workload weights when absent) replaces the Poisson arrivals for every plan. Low-class
utilisation is the busy GPU-seconds of the low-class GPU types (an
instance's busy time over its MPS level) over their available GPU-seconds, at that rate.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from cost_models.units import US_PER_S
from formulations.ppipe.deployment import PipelinePlan, PPipeDeployment
from formulations.ppipe.view import PPipeView
from formulations.replay.arrivals import Mix, poisson
from formulations.replay.core import UNBOUNDED, Simulation, Station, seeded
from formulations.replay.policies import Pipeline, ReservationBatch, Stage
from formulations.replay.schema import PoolResult, ReplayReport
from formulations.replay.stats import ClassCounts, Recorder
from formulations.replay.trace import TraceFile, trace_of
from formulations.types import InputError, SimulateOptions, Table

REPLAYED_BASELINES = ("np", "dart_r")  # the baselines replayed next to the plan
WARMUP_SHARE = 0.1  # share of the first requests left out of the statistics
REQUESTS = 20_000  # requests per replay (all models together)
TARGET_ATTAINMENT = 0.99  # SLO attainment every model must reach (PPipe: 99%)
BRACKET_STEP = 1.25  # factor by which the bracket around the goodput rate grows
BRACKET_STEPS = 40  # at most this many growth steps (1.25 ** 40 = 7,500x)
# Longest simulated span of one replay, s: the bracket stops lowering the rate there. Beyond
# a few thousand seconds ReservationBatch's absolute 1e-12 s queuing threshold falls below
# the float spacing of the clock and its wake-up repeats at the same instant forever.
MAX_SPAN_S = 1000.0
MAX_REQUESTS_PER_RUN = 10_000_000  # a --duration-s replay holds at most this many
RATE_TOLERANCE = 0.005  # bisection stops when the bracket is this narrow, relative


class _Latency:
    """A stage's latency in s for the pipeline's batch (one value: the plan fixes it)."""

    def __init__(self, latency_s: float) -> None:
        self.latency_s = latency_s

    def __call__(self, batch: int) -> float:
        return self.latency_s


def pool_name(gpu: str, mps_level: int) -> str:
    """The busy-time key of the instances of ``gpu`` at ``mps_level``."""
    return f"{gpu}@mps{mps_level}"


def _pipeline(view: PPipeView, model: int, plan: PipelinePlan) -> Pipeline:
    table = view.tables[model]
    bandwidth = view.inputs.bandwidth_gbit_per_s
    batch = plan.stages[0].batch
    stages = []
    for stage in plan.stages:
        args = (stage.gpu, stage.mps_level)
        if table.has(*args, batch):
            latency_us = table.stage_latency_us(*args, batch, stage.chunk_start, stage.chunk_end)
        else:
            latency_us = math.ceil(batch / stage.batch) * stage.latency_us
        transfer_us = (
            table.cut_transfer_us(stage.chunk_start, bandwidth) if stage.chunk_start else 0.0
        )
        stages.append(
            Stage(
                pool_name(*args),
                stage.instances,
                _Latency(latency_us / US_PER_S),
                transfer_us / US_PER_S,
            )
        )
    return Pipeline(tuple(stages), batch)


@dataclass
class Replay:
    """One replay of a deployment at ``rate_qps``: counts per model, busy GPU-seconds per
    GPU type and the simulated span."""

    rate_qps: float
    counts: list[ClassCounts]
    busy_gpu_s: dict[str, float]
    span_s: float

    def attainment(self, model: int) -> float:
        """On-time share of model ``model``'s requests (1 without requests)."""
        counts = self.counts[model]
        return counts.on_time / counts.requests if counts.requests else 1.0

    @property
    def worst_attainment(self) -> float:
        return min(self.attainment(d) for d in range(len(self.counts)))


def replay(
    view: PPipeView,
    deployment: PPipeDeployment,
    rate_qps: float,
    requests: int,
    seed: int,
    until_s: float = math.inf,
    trace: TraceFile | None = None,
) -> Replay:
    """Replay ``requests`` Poisson arrivals, model ``d`` at ``weight_d x rate_qps`` (those
    before ``until_s`` if fewer), or a trace file's (``rate_qps`` then scales it)."""
    inputs = view.inputs
    weights = [m.weight for m in inputs.models]
    if rate_qps <= 0 or not all(m.pipelines for m in deployment.models):
        raise ValueError("a replay needs a rate > 0 and a pipeline for every model")
    stations = [
        Station(
            inputs.models[d].name,
            ReservationBatch([_pipeline(view, d, p) for p in model.pipelines]),
            UNBOUNDED,
        )
        for d, model in enumerate(deployment.models)
    ]
    routes = [(d,) for d in range(len(weights))]
    mix = Mix(
        tuple(weights),
        route_shares=[[float(r == d) for r in range(len(weights))] for d in range(len(weights))],
    )
    total_qps = rate_qps * sum(weights)
    if trace is None:
        expected = min(requests, total_qps * until_s)
        arrivals = poisson(total_qps, requests, seeded(seed), mix, until_s=until_s)
    else:
        expected = trace.expected_requests(rate_qps, until_s)
        arrivals = trace.chunks(seeded(seed), mix, rate_qps, until_s)
    recorder = Recorder(len(weights), int(WARMUP_SHARE * expected))
    slo_s = [m.slo_us / US_PER_S for m in inputs.models]
    simulation = Simulation(stations, recorder, slo_s, routes=routes)
    end_s = simulation.run(arrivals)
    busy_gpu_s = {g.name: 0.0 for g in inputs.gpus}
    for station in stations:
        assert isinstance(station.policy, ReservationBatch)
        for pool, busy_s in station.policy.busy_s_by_pool.items():
            gpu, level = pool.rsplit("@mps", 1)
            busy_gpu_s[gpu] += busy_s / int(level)
    return Replay(rate_qps, recorder.classes, busy_gpu_s, end_s)


def meets_target(result: Replay) -> bool:
    return result.worst_attainment >= TARGET_ATTAINMENT


def goodput_rate(
    view: PPipeView, deployment: PPipeDeployment, requests: int, seed: int
) -> Replay | None:
    """The replay at the largest ``rate_qps`` (within :data:`RATE_TOLERANCE`) at which every
    model attains :data:`TARGET_ATTAINMENT`: bracketed from the plan's objective by factors
    of :data:`BRACKET_STEP`, then bisected. None when no rate in the bracket attains it
    (too little capacity, or batches that cannot fill within the SLO at any low rate)."""
    start = deployment.objective_qps
    if start <= 0:
        return None
    first = replay(view, deployment, start, requests, seed)
    good: Replay | None = first if meets_target(first) else None
    bad_qps: float | None = None if good else start
    rate = start
    for _ in range(BRACKET_STEPS):
        if good is not None and bad_qps is not None:
            break
        rate = rate * BRACKET_STEP if good is not None else rate / BRACKET_STEP
        if requests / (rate * sum(m.weight for m in view.inputs.models)) > MAX_SPAN_S:
            break
        result = replay(view, deployment, rate, requests, seed)
        if meets_target(result):
            good = result
        else:
            bad_qps = rate
    if good is None or bad_qps is None:
        return good
    while bad_qps - good.rate_qps > RATE_TOLERANCE * bad_qps:
        result = replay(view, deployment, (good.rate_qps + bad_qps) / 2, requests, seed)
        if meets_target(result):
            good = result
        else:
            bad_qps = result.rate_qps
    return good


@dataclass(frozen=True)
class Goodput:
    """A deployment's goodput at 99% SLO attainment and its low-class utilisation there."""

    plan: str
    planned_qps: float  # the plan's objective (min over models of throughput / weight)
    rate_qps: float | None  # the largest rate meeting the target (None: none does)
    goodput_qps: float | None  # on-time requests per s at that rate, all models
    low_class_utilisation_pct: float | None  # busy share of the low-class GPU-seconds


def low_class_utilisation(view: PPipeView, result: Replay) -> float | None:
    """Busy GPU-seconds of the low-class GPU types over their available GPU-seconds (None
    without low-class GPUs)."""
    low = [g for g in view.inputs.gpus if g.low_class]
    available_gpu_s = sum(g.count for g in low) * result.span_s
    if available_gpu_s <= 0:
        return None
    return sum(result.busy_gpu_s[g.name] for g in low) / available_gpu_s


def simulate_plans(
    view: PPipeView,
    deployments: dict[str, PPipeDeployment],
    runs: int,
    seed: int,
    requests: int = REQUESTS,
    options: SimulateOptions | None = None,
) -> tuple[ReplayReport, list[Goodput]]:
    """For every named deployment: its goodput rate (bisected on seed ``seed``), then
    ``runs`` replays (seeds ``seed + 1 ..``) for the common report: at that rate x the
    rate scale, or of the trace file (``options``)."""
    options = options or SimulateOptions(runs, seed)
    labels = [m.name for m in view.inputs.models]
    trace = trace_of(options, labels)
    until_s = math.inf if options.duration_s is None else options.duration_s
    report: ReplayReport | None = None
    summary = []
    for name, deployment in deployments.items():
        found = goodput_rate(view, deployment, requests, seed)
        if found is None:
            summary.append(Goodput(name, deployment.objective_qps, None, None, None))
            if trace is None:
                continue
        if trace is not None:
            rate_qps = options.rate_scale  # scales the trace
        else:
            assert found is not None
            rate_qps = options.rate_scale * found.rate_qps
        total_qps = rate_qps * sum(m.weight for m in view.inputs.models)
        if trace is None and options.duration_s and total_qps * until_s > MAX_REQUESTS_PER_RUN:
            raise InputError(
                None,
                "--duration-s",
                f"a span of at most {MAX_REQUESTS_PER_RUN:,} requests ({name} is replayed at "
                f"{total_qps:.4g} requests/s)",
                options.duration_s,
            )
        n = requests if options.duration_s is None else MAX_REQUESTS_PER_RUN
        results = [
            replay(view, deployment, rate_qps, n, seed + 1 + run, until_s, trace)
            for run in range(runs)
        ]
        # the arrivals' span (a --duration-s replay's: that span, not its drain)
        span_s = min(sum(r.span_s for r in results) / runs, until_s)
        if report is None:
            report = ReplayReport(runs, seed, span_s, None)
        totals = [ClassCounts() for _ in labels]
        for result in results:
            for total, counts in zip(totals, result.counts, strict=True):
                total.merge(counts)
        report.add_plan(name, labels, totals, span_s)
        for gpu in view.inputs.gpus:
            busy_gpu_s = sum(r.busy_gpu_s[gpu.name] for r in results)
            available_gpu_s = gpu.count * span_s * runs
            utilisation = busy_gpu_s / available_gpu_s if available_gpu_s > 0 else 0.0
            report.pools.append(
                PoolResult(name, gpu.name, gpu.count, round(100 * utilisation, 2), 0.0)
            )
        if found is None:
            continue
        # at the goodput rate: the runs above, unless the options moved them off it (then
        # the same runs at that rate, so the goodput table does not depend on the options)
        at_rate = results
        if trace is not None or rate_qps != found.rate_qps or n != requests:
            at_rate = [
                replay(view, deployment, found.rate_qps, requests, seed + 1 + run)
                for run in range(runs)
            ]
        at_totals = [ClassCounts() for _ in labels]
        for result in at_rate:
            for total, counts in zip(at_totals, result.counts, strict=True):
                total.merge(counts)
        # offered rate x on-time share (the report's goodput_qps also counts the warm-up's
        # seconds, whose requests it leaves out)
        attained = sum(c.on_time for c in at_totals) / max(1, sum(c.requests for c in at_totals))
        low = [low_class_utilisation(view, r) for r in at_rate]
        summary.append(
            Goodput(
                name,
                deployment.objective_qps,
                found.rate_qps,
                found.rate_qps * sum(m.weight for m in view.inputs.models) * attained,
                None if low[0] is None else 100 * sum(x or 0.0 for x in low) / len(low),
            )
        )
    if report is None:
        report = ReplayReport(runs, seed, 0.0, None)
    return report, summary


def goodput_table(summary: Sequence[Goodput]) -> Table:
    """The goodput at 99% SLO attainment of every replayed deployment."""
    columns = [
        "plan",
        "planned_qps",
        "rate_qps_at_99",
        "goodput_qps_at_99",
        "low_class_utilisation_pct",
    ]

    def rounded(value: float | None) -> float | None:
        return None if value is None else round(value, 3)

    return Table(
        f"Goodput at {100 * TARGET_ATTAINMENT:g}% SLO attainment (every model; rate_qps "
        "scales model d's Poisson rate to weight_d x rate_qps)",
        columns,
        [
            [
                g.plan,
                rounded(g.planned_qps),
                rounded(g.rate_qps),
                rounded(g.goodput_qps),
                rounded(g.low_class_utilisation_pct),
            ]
            for g in summary
        ],
    )
