"""Seeded replay of one GPU under cellular or graph batching, on the shared core.

The event loop, queues and statistics are :mod:`formulations.replay`'s. Cellular batching is
its :class:`~formulations.replay.policies.CellularBatch` (BatchMaker, EuroSys '18, Sec.
4.2-4.3): one queue of ready cells per cell type, a scheduler across types (``oldest_first``
or ``round_robin``), a finished cell readying the request's next stage. Graph batching is
:class:`~formulations.replay.policies.FixedBatch`: up to G waiting requests (from one FIFO
queue, or, bucketed, from the length bucket whose head is oldest), work-conserving, running
the whole graph padded to the batch's longest request. Requests are routed to GPUs at random
in proportion to their capacity, so each GPU of a pool sees an independent Poisson stream and
one GPU per pool is replayed, with a number of requests proportional to the pool's share of
the traffic (so the pools' counts add up to traffic-weighted statistics).

``planner simulate`` options: ``rate_scale`` multiplies every GPU's rate; ``duration_s``
replays every arrival of that span instead of a number of requests; a trace file
(:mod:`formulations.replay.trace`; class = length bucket label, drawn by the buckets' shares
when absent) is the fleet's arrivals, so the whole fleet is replayed, one station per GPU,
each request routed to a GPU in proportion to its planned load.

The first ``WARMUP_SHARE`` of each replay's requests are left out of the statistics.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
from numpy.typing import NDArray

from cost_models.cellular.graphs import Structure, stages
from cost_models.cellular.latency import Bucket, padded_us
from cost_models.units import US_PER_S
from formulations.replay.arrivals import Mix, poisson
from formulations.replay.core import BatchPolicy, Request, Simulation, Station, seeded
from formulations.replay.policies import CellularBatch, FixedBatch
from formulations.replay.stats import ClassCounts, LogHistogram, Recorder
from formulations.replay.trace import TraceFile, trace_of
from formulations.types import InputError, SimulateOptions

WARMUP_SHARE = 0.1  # share of the first requests left out of the statistics
MIN_POOL_REQUESTS = 100  # requests replayed at least per pool and run
MAX_REQUESTS_PER_RUN = 10_000_000  # a --duration-s replay of one GPU holds at most this many


@dataclass(frozen=True)
class GpuSetup:
    """What one replayed GPU runs."""

    structure: Structure
    target_ratio: float
    buckets: tuple[Bucket, ...]
    tau_us: tuple[NDArray[np.float64], ...]  # per cell type, tau(b) for b = 1..
    policy: str  # "cellular", "graph" or "graph_bucketed"
    max_batch: tuple[int, ...]  # per cell type (graph policies: all equal, G)
    scheduler: str = "round_robin"  # cellular: "round_robin" or "oldest_first" across types


@dataclass
class Stats:
    """Replayed outcomes per length bucket, the GPU's busy time and the simulated span."""

    buckets: int
    counts: list[ClassCounts] = field(default_factory=list)
    busy_s: float = 0.0
    span_s: float = 0.0  # simulated seconds of the replayed GPU (summed when merged)
    fleet_span_s: float = 0.0  # simulated seconds of the fleet, summed over runs

    def __post_init__(self) -> None:
        if not self.counts:
            self.counts = [ClassCounts() for _ in range(self.buckets)]

    def merge(self, other: Stats) -> None:
        for mine, theirs in zip(self.counts, other.counts, strict=True):
            mine.merge(theirs)
        self.busy_s += other.busy_s
        self.span_s += other.span_s
        self.fleet_span_s += other.fleet_span_s

    def _histogram(self, bucket: int | None) -> LogHistogram:
        if bucket is not None:
            return self.counts[bucket].histogram
        total = LogHistogram()
        for one in self.counts:
            total.merge(one.histogram)
        return total

    def percentile_s(self, quantile: float, bucket: int | None = None) -> float:
        return self._histogram(bucket).quantile_s(quantile)

    def attainment(self, bucket: int | None = None) -> float:
        """On-time share of the requests (nan without requests)."""
        chosen = self.counts if bucket is None else [self.counts[bucket]]
        requests = sum(c.requests for c in chosen)
        return sum(c.on_time for c in chosen) / requests if requests else float("nan")

    @property
    def utilisation(self) -> float:
        return self.busy_s / self.span_s if self.span_s else 0.0


class _PaddedGraph:
    """Graph batching's service: the whole graph padded to the batch's longest request."""

    def __init__(self, setup: GpuSetup) -> None:
        self.setup = setup
        self._cache: dict[tuple[int, int], float] = {}
        self._longest = max(b.hi_tokens for b in setup.buckets)

    def _padded_s(self, size: int, longest: int) -> float:
        key = (size, longest)
        if key not in self._cache:
            s = self.setup
            self._cache[key] = padded_us(s.structure, s.target_ratio, s.tau_us, *key) / US_PER_S
        return self._cache[key]

    def estimate_s(self, size: int) -> float:
        return self._padded_s(size, self._longest)

    def duration_s(self, batch: Sequence[Request]) -> float:
        return self._padded_s(len(batch), max(r.size for r in batch))


def policy_of(setup: GpuSetup) -> BatchPolicy:
    """The batching policy a GPU of ``setup`` runs."""
    if setup.policy == "cellular":
        return CellularBatch(
            [(t / US_PER_S).tolist() for t in setup.tau_us],
            setup.max_batch,
            lambda r: stages(setup.structure, r.size, setup.target_ratio),
            setup.scheduler,
        )
    bucketed = len(setup.buckets) if setup.policy == "graph_bucketed" else 0
    return FixedBatch(_PaddedGraph(setup), setup.max_batch[0], 0.0, by_class=bucketed)


def _mix(buckets: Sequence[Bucket], route_shares: Sequence[Sequence[float]] | None = None) -> Mix:
    lo = np.array([b.lo_tokens for b in buckets])
    hi = np.array([b.hi_tokens for b in buckets])

    def tokens(klass: NDArray[np.int64], rng: np.random.Generator) -> NDArray[np.int64]:
        return rng.integers(lo[klass], hi[klass] + 1)

    return Mix(tuple(b.share for b in buckets), route_shares, sizes=tokens)


def replay_gpu(
    setup: GpuSetup,
    rate_qps: float,
    requests: int,
    seed: int,
    slo_s: float,
    until_s: float = math.inf,
) -> Stats:
    """Replay ``requests`` requests at ``rate_qps`` on one GPU (those before ``until_s`` if
    fewer); the statistics."""
    stats = Stats(len(setup.buckets))
    if rate_qps <= 0 or requests <= 0:
        return stats
    rng = seeded(seed)
    expected = min(requests, rate_qps * until_s)
    recorder = Recorder(len(setup.buckets), int(WARMUP_SHARE * expected))
    station = Station("gpu", policy_of(setup))
    simulation = Simulation([station], recorder, [slo_s] * len(setup.buckets))
    end_s = simulation.run(poisson(rate_qps, requests, rng, _mix(setup.buckets), until_s=until_s))
    return Stats(len(setup.buckets), recorder.classes, station.busy_s, end_s)


@dataclass(frozen=True)
class PoolSetup:
    """A pool of the plan: what each GPU runs, its planned rate and the pool's GPUs."""

    setup: GpuSetup
    rate_qps: float  # per GPU
    gpus: int


def replay_pools(
    pools: Sequence[PoolSetup],
    requests: int,
    runs: int,
    seed: int,
    slo_s: float,
    options: SimulateOptions | None = None,
    labels: Sequence[str] = (),
) -> tuple[Stats, list[float]]:
    """Replay the pools ``runs`` times; the summed statistics and each pool's utilisation
    (busy share, mean over runs and GPUs). Without a trace one GPU of every pool, at its
    rate x the rate scale, with ``requests x pools x share of the traffic`` requests (at
    least :data:`MIN_POOL_REQUESTS`) or every arrival up to ``duration_s``; with one, the
    fleet (:func:`replay_fleet`); ``labels`` name the buckets (a trace's classes)."""
    options = options or SimulateOptions(runs, seed)
    buckets = pools[0].setup.buckets
    trace = trace_of(options, labels)
    if trace is not None:
        return replay_fleet(pools, trace, runs, seed, slo_s, options)
    total = Stats(len(buckets))
    total_qps = sum(p.rate_qps * p.gpus for p in pools) * options.rate_scale
    until_s = math.inf if options.duration_s is None else options.duration_s
    utilisation = []
    for p, pool in enumerate(pools):
        rate = pool.rate_qps * options.rate_scale
        n = max(MIN_POOL_REQUESTS, round(requests * len(pools) * pool.gpus * rate / total_qps))
        if options.duration_s is not None:
            if rate * until_s > MAX_REQUESTS_PER_RUN:
                raise InputError(
                    None,
                    "--duration-s",
                    f"a span of at most {MAX_REQUESTS_PER_RUN:,} requests per GPU "
                    f"({pool.setup.policy} GPU at {rate:.4g} requests/s)",
                    options.duration_s,
                )
            n = MAX_REQUESTS_PER_RUN
        busy = []
        for run in range(runs):
            one = replay_gpu(pool.setup, rate, n, seed + 1000 * p + run, slo_s, until_s)
            # the fleet's span: the pool's requests over the fleet's rate
            one.fleet_span_s = sum(c.requests for c in one.counts) / total_qps
            total.merge(one)
            busy.append(one.utilisation)
        utilisation.append(float(np.mean(busy)))
    return total, utilisation


def replay_fleet(
    pools: Sequence[PoolSetup],
    trace: TraceFile,
    runs: int,
    seed: int,
    slo_s: float,
    options: SimulateOptions,
) -> tuple[Stats, list[float]]:
    """Replay every GPU of every pool on the trace's arrivals, ``runs`` times (seeds
    ``seed + run``: the routing and the lengths differ, the arrivals do not)."""
    buckets = pools[0].setup.buckets
    until_s = math.inf if options.duration_s is None else options.duration_s
    expected = trace.expected_requests(options.rate_scale, until_s)
    owner = [p for p, pool in enumerate(pools) for _ in range(pool.gpus)]
    per_gpu = [pools[p].rate_qps for p in owner]
    mix = _mix(buckets, [per_gpu] * len(buckets))
    total = Stats(len(buckets))
    busy_s = [0.0] * len(pools)
    for run in range(runs):
        stations = [Station(f"gpu{g}", policy_of(pools[p].setup)) for g, p in enumerate(owner)]
        recorder = Recorder(len(buckets), int(WARMUP_SHARE * expected))
        simulation = Simulation(
            stations, recorder, [slo_s] * len(buckets), [(g,) for g in range(len(owner))]
        )
        end_s = simulation.run(trace.chunks(seeded(seed + run), mix, options.rate_scale, until_s))
        span_s = min(end_s, until_s)
        one = Stats(len(buckets), recorder.classes, 0.0, end_s * len(owner), span_s)
        total.merge(one)
        for station, p in zip(stations, owner, strict=True):
            busy_s[p] += station.busy_s / (pools[p].gpus * end_s * runs) if end_s else 0.0
    return total, busy_s
