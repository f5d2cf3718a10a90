"""Seeded replay of an LLM plan's continuous batching on the shared core (``planner simulate``).

Every colocated replica is a :class:`~formulations.replay.core.Station` with one executor
running :class:`~formulations.replay.policies.ContinuousBatch` (vLLM's scheduler,
simplified: vllm/core/scheduler.py ``Scheduler._schedule_default``): one prompt prefilled
per iteration (``Replica.prompt_s``) when the sequence slots (``max_num_seqs``) and the KV
cache (the request's full length reserved) allow, else one decode iteration of every running
sequence (``Replica.decode_s`` at their mean context). Request lengths are uniform within
their bucket's edges (prompt and output tokens, drawn with the arrivals and carried in the
request's ``size`` as ``prompt x LENGTH_RADIX + output``). TTFT = first token - arrival;
TPOT = (finish - first token) / (output - 1). A request is late when it misses either SLO.

Arrivals. Without a trace file a pool's traffic (its slices' rates) splits evenly over its
replicas (Poisson splitting), so one replica of each pool is replayed with Poisson arrivals at
``rate / replicas x rate_scale`` per bucket, with a number of requests proportional to the
pool's share of the traffic (so the pools' counts add up to traffic-weighted statistics), or
every arrival up to ``duration_s``. With a trace file (:mod:`formulations.replay.trace`;
class = bucket label, drawn by the buckets' rates when absent) the whole fleet is replayed:
one station per colocated replica, each request routed to a replica in proportion to the
plan's per-replica rate of its bucket; requests of a bucket no colocated pool serves
(disaggregated pools, which are not replayed) are dropped. The first ``WARMUP_SHARE`` of
each replay's requests are left out of the statistics.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

import numpy as np
from numpy.typing import NDArray

from cost_models.llm.latency import Replica
from cost_models.units import MS_PER_S, PERCENT_PER_FRACTION
from formulations.llm.deployment import LlmDeployment
from formulations.llm.tables import replay_table
from formulations.llm.view import Batching, LlmView, Pool, Role
from formulations.replay.arrivals import Chunk, Mix, poisson
from formulations.replay.core import BatchPolicy, Simulation, Station, seeded
from formulations.replay.policies import ContinuousBatch, NeverFits, Shed
from formulations.replay.schema import PoolResult, ReplayReport
from formulations.replay.stats import ClassCounts, Recorder, TokenRecorder
from formulations.replay.trace import TraceFile, trace_of
from formulations.types import InputError, SimulateOptions, Table

PLAN = "planner"  # the report's name for the plan
REQUESTS_PER_RUN = 1500  # requests replayed per pool and run, on average over the pools
MIN_POOL_REQUESTS = 300  # requests replayed at least per pool and run
MAX_REQUESTS_PER_RUN = 10_000_000  # a --duration-s replay holds at most this many
WARMUP_SHARE = 0.1  # first requests left out of the statistics (the empty start)
LENGTH_RADIX = 2**32  # size = prompt tokens x LENGTH_RADIX + output tokens
UNREPLAYED = "not replayed"  # the sink of buckets no colocated pool serves


def _lengths_of(size: int) -> tuple[int, int]:
    prompt, output = divmod(size, LENGTH_RADIX)
    return prompt, output


def length_mix(
    view: LlmView, class_shares: NDArray[np.float64], route_shares: list[list[float]] | None
) -> Mix:
    """Bucket shares, routes, and each request's prompt and output lengths (uniform within
    its bucket's edges, at least one output token)."""
    b = view.buckets
    assert b is not None

    def sizes(klass: NDArray[np.int64], rng: np.random.Generator) -> NDArray[np.int64]:
        prompt = rng.integers(b.input_min_tokens[klass], b.input_max_tokens[klass], endpoint=True)
        output = rng.integers(b.output_min_tokens[klass], b.output_max_tokens[klass], endpoint=True)
        return np.asarray(prompt, dtype=np.int64) * LENGTH_RADIX + np.maximum(output, 1)

    return Mix(tuple(class_shares.tolist()), route_shares, sizes)


def replica_policy(replica: Replica, max_num_seqs: int, tokens: TokenRecorder) -> BatchPolicy:
    """Continuous batching on ``replica``."""
    return ContinuousBatch(
        lambda prompt: float(replica.prompt_s(prompt)),
        lambda n, context: float(replica.decode_s(n, context)),
        replica.kv_capacity_tokens,
        max_num_seqs,
        lambda r: _lengths_of(r.size),
        tokens,
    )


@dataclass
class PoolStats:
    """One pool's replayed TTFT/TPOT, busy time and simulated executor-seconds."""

    pool: str
    replicas: int
    rate_qps_per_replica: float
    tokens: TokenRecorder
    busy_s: float = 0.0
    replica_s: float = 0.0  # replayed replica-seconds


@dataclass
class LlmReplay:
    report: ReplayReport
    pools: list[PoolStats] = field(default_factory=list)
    skipped: list[tuple[str, int, float]] = field(default_factory=list)  # not replayed

    def rows(self) -> list[list[object]]:
        """The LLM table: per pool replicas, replayed rate, mean TTFT/TPOT (ms) and the share
        of requests within each SLO, % (disaggregated pools: blank)."""
        out: list[list[object]] = []
        for p in self.pools:
            t = p.tokens
            out.append(
                [
                    p.pool,
                    p.replicas,
                    p.rate_qps_per_replica,
                    MS_PER_S * t.ttft_sum_s / t.requests if t.requests else None,
                    MS_PER_S * t.tpot_sum_s / t.streamed if t.streamed else None,
                    PERCENT_PER_FRACTION * t.ttft_met / t.requests if t.requests else None,
                    PERCENT_PER_FRACTION * t.tpot_met / t.streamed if t.streamed else None,
                ]
            )
        out += [
            [pool, replicas, rate, None, None, None, None] for pool, replicas, rate in self.skipped
        ]
        return out


@dataclass(frozen=True)
class _Served:
    """A colocated pool of the plan with traffic: its per-replica rate per bucket."""

    pool: Pool
    replicas: int
    rate_qps: NDArray[np.float64]  # per bucket, per replica


def _served_pools(view: LlmView, deployment: LlmDeployment) -> tuple[list[_Served], LlmReplay]:
    if view.buckets is None or view.ttft_slo_s is None or view.tpot_slo_s is None:
        raise InputError(
            None, "gpus", "a scenario with the cost model (profiled rates have no latency model)"
        )
    if deployment.batching is not Batching.CONTINUOUS:
        raise InputError(None, "batching", "a continuous-batching deployment to replay")
    index = {label: i for i, label in enumerate(view.bucket_labels)}
    served: list[_Served] = []
    replay = LlmReplay(ReplayReport(0, 0, 0.0, None))
    for plan in deployment.pools:
        pool = view.pool(plan.pool)
        if pool is None or plan.replicas == 0:
            continue
        rate = np.zeros(len(view.bucket_labels))
        for a in deployment.assignments:
            if a.pool == plan.pool:
                rate[index[a.bucket]] += view.slice_rate_qps(index[a.bucket]) * a.slices
        per_replica = rate / plan.replicas
        if pool.role is not Role.BOTH or per_replica.sum() <= 0:
            replay.skipped.append((plan.pool, plan.replicas, float(per_replica.sum())))
            continue
        served.append(_Served(pool, plan.replicas, per_replica))
    return served, replay


def _run(
    view: LlmView,
    stations: list[Station],
    arrivals: Iterable[Chunk],
    expected: float,
) -> tuple[Recorder, float]:
    """One replay; its recorder and simulated end time (exit 2 on a request too long for
    the KV cache)."""
    labels = view.bucket_labels
    assert view.ttft_slo_s is not None and view.tpot_slo_s is not None and view.buckets
    recorder = Recorder(len(labels), int(WARMUP_SHARE * expected))
    # the initial deadline (set again at the first token): both SLOs met at the longest output
    slo_s = [
        view.ttft_slo_s + view.tpot_slo_s * max(0.0, float(o) - 1)
        for o in view.buckets.output_max_tokens
    ]
    routes = [(i,) for i in range(len(stations))]
    try:
        end_s = Simulation(stations, recorder, slo_s, routes).run(arrivals)
    except NeverFits as exc:
        raise InputError(
            None, "gpus", "request lengths fitting every replica's KV cache", exc.tokens
        ) from None
    return recorder, end_s


def _tokens(view: LlmView, expected: float) -> TokenRecorder:
    assert view.ttft_slo_s is not None and view.tpot_slo_s is not None
    return TokenRecorder(view.ttft_slo_s, view.tpot_slo_s, int(WARMUP_SHARE * expected))


def _pool_run(
    view: LlmView, served: _Served, requests: int, options: SimulateOptions, seed: tuple[int, ...]
) -> tuple[Recorder, TokenRecorder, Station, float]:
    """One replica of ``served`` at its per-replica Poisson rates x the rate scale:
    ``requests`` requests, or those before ``duration_s``."""
    rate_qps = float(served.rate_qps.sum()) * options.rate_scale
    until_s = math.inf
    if options.duration_s is not None:
        until_s = options.duration_s
        if rate_qps * until_s > MAX_REQUESTS_PER_RUN:
            raise InputError(
                None,
                "--duration-s",
                f"a span of at most {MAX_REQUESTS_PER_RUN:,} requests per replica "
                f"(pool {served.pool.key} receives {rate_qps:.4g} requests/s)",
                options.duration_s,
            )
        requests = MAX_REQUESTS_PER_RUN
    expected = min(requests, rate_qps * until_s)
    tokens = _tokens(view, expected)
    replica = view.replicas[served.pool.gpu, served.pool.tp]
    station = Station(served.pool.key, replica_policy(replica, served.pool.max_num_seqs, tokens))
    mix = length_mix(view, served.rate_qps / served.rate_qps.sum(), None)
    arrivals = poisson(rate_qps, requests, seeded(seed), mix, until_s=until_s)
    recorder, end_s = _run(view, [station], arrivals, expected)
    tokens.flush()
    return recorder, tokens, station, end_s


def _fleet_run(
    view: LlmView,
    served: list[_Served],
    trace: TraceFile,
    options: SimulateOptions,
    seed: tuple[int, ...],
) -> tuple[Recorder, list[TokenRecorder], list[tuple[int, Station]], float]:
    """One replay of every colocated replica on the trace's arrivals: the recorder, each
    pool's tokens, (pool, station) per replica and the end time."""
    until_s = math.inf if options.duration_s is None else options.duration_s
    expected = trace.expected_requests(options.rate_scale, until_s)
    stations: list[Station] = []
    owners: list[tuple[int, Station]] = []
    recorders = [_tokens(view, expected) for _ in served]
    for p, s in enumerate(served):
        replica = view.replicas[s.pool.gpu, s.pool.tp]
        for r in range(s.replicas):
            policy = replica_policy(replica, s.pool.max_num_seqs, recorders[p])
            stations.append(Station(f"{s.pool.key}#{r}", policy))
            owners.append((p, stations[-1]))
    stations.append(Station(UNREPLAYED, Shed()))
    route_shares = []
    for k in range(len(view.bucket_labels)):
        row = [float(served[p].rate_qps[k]) for p, _ in owners]
        route_shares.append([*row, 0.0 if sum(row) > 0 else 1.0])
    mix = length_mix(view, view.rate_qps / view.rate_qps.sum(), route_shares)
    arrivals = trace.chunks(seeded(seed), mix, options.rate_scale, until_s)
    recorder, end_s = _run(view, stations, arrivals, expected)
    for tokens in recorders:
        tokens.flush()
    return recorder, recorders, owners, end_s


def replay_plan(
    view: LlmView, deployment: LlmDeployment, options: SimulateOptions, name: str = PLAN
) -> LlmReplay:
    """Replay ``deployment`` (the plan or the baseline ``name``) ``options.runs`` times
    (seeds ``(options.seed, run, ...)``: every deployment sees the same random source)."""
    trace = trace_of(options, view.bucket_labels)
    served, replay = _served_pools(view, deployment)
    runs, scale = options.runs, options.rate_scale
    labels = view.bucket_labels
    totals = [ClassCounts() for _ in labels]
    replay.report = ReplayReport(runs, options.seed, 0.0, None)
    replay.pools = [
        PoolStats(s.pool.key, s.replicas, float(s.rate_qps.sum()) * scale, _tokens(view, 0))
        for s in served
    ]
    total_qps = sum(float(s.rate_qps.sum()) * s.replicas for s in served)
    span_sum_s = 0.0
    for run in range(runs):
        recorders: list[Recorder] = []
        if trace is not None:
            recorder, tokens, owners, end_s = _fleet_run(
                view, served, trace, options, (options.seed, run)
            )
            recorders.append(recorder)
            for stats, mine in zip(replay.pools, tokens, strict=True):
                stats.tokens.merge(mine)
            for p, station in owners:
                replay.pools[p].busy_s += station.busy_s
                replay.pools[p].replica_s += end_s
            span_sum_s += end_s if options.duration_s is None else min(end_s, options.duration_s)
        else:
            for p, s in enumerate(served):
                share = float(s.rate_qps.sum()) * s.replicas / total_qps
                n = max(MIN_POOL_REQUESTS, round(REQUESTS_PER_RUN * len(served) * share))
                recorder, tokens_p, station, end_s = _pool_run(
                    view, s, n, options, (options.seed, run, p)
                )
                recorders.append(recorder)
                replay.pools[p].tokens.merge(tokens_p)
                replay.pools[p].busy_s += station.busy_s
                replay.pools[p].replica_s += end_s
            # one replica per pool is replayed: the fleet's span is its requests over its rate
            requests = sum(c.requests for r in recorders for c in r.classes)
            span_sum_s += requests / (total_qps * scale) if total_qps else 0.0
        for recorder in recorders:
            for total, counts in zip(totals, recorder.classes, strict=True):
                total.merge(counts)
    replay.report.span_s = span_sum_s / runs
    replay.report.add_plan(name, labels, totals, replay.report.span_s)
    for stats in replay.pools:
        busy = stats.busy_s / stats.replica_s if stats.replica_s else 0.0
        replay.report.pools.append(
            PoolResult(name, stats.pool, stats.replicas, round(100 * busy, 2), 0.0)
        )
    return replay


def simulate(view: LlmView, deployment: LlmDeployment, runs: int, seed: int) -> list[list[object]]:
    """The LLM table's rows of ``runs`` seeded replays at the planned rates."""
    return replay_plan(view, deployment, SimulateOptions(runs, seed)).rows()


def simulate_tables(
    view: LlmView,
    deployments: Mapping[str, LlmDeployment],
    options: SimulateOptions,
    not_replayed: Mapping[str, str] | None = None,
) -> list[Table]:
    """The common replay tables (docs/replay.md) of every deployment (the plan first, then
    the baselines, side by side), then TTFT and TPOT per deployment and pool.
    ``not_replayed``: baselines left out and why (named in the last table's title)."""
    report = ReplayReport(options.runs, options.seed, 0.0, None)
    rows: list[list[object]] = []
    for name, deployment in deployments.items():
        replay = replay_plan(view, deployment, options, name)
        if name == PLAN:
            report.span_s = replay.report.span_s
        report.classes += replay.report.classes
        report.pools += replay.report.pools
        rows += [[name, *row] for row in replay.rows()]
    return [*report.tables(), replay_table(rows, options.runs, options.seed, not_replayed or {})]
