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

The first ``WARMUP_SHARE`` of each replay's requests are left out of the statistics.
"""

from __future__ import annotations

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

WARMUP_SHARE = 0.1  # share of the first requests left out of the statistics
MIN_POOL_REQUESTS = 100  # requests replayed at least per pool and run


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
    span_s: float = 0.0

    def __post_init__(self) -> None:
        if not self.counts:
            self.counts = [ClassCounts() for _ in range(self.buckets)]

    def merge(self, other: Stats) -> None:
        for mine, theirs in zip(self.counts, other.counts, strict=True):
            mine.merge(theirs)
        self.busy_s += other.busy_s
        self.span_s += other.span_s

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


def _mix(buckets: Sequence[Bucket]) -> Mix:
    lo = np.array([b.lo_tokens for b in buckets])
    hi = np.array([b.hi_tokens for b in buckets])

    def tokens(klass: NDArray[np.int64], rng: np.random.Generator) -> NDArray[np.int64]:
        return rng.integers(lo[klass], hi[klass] + 1)

    return Mix(tuple(b.share for b in buckets), sizes=tokens)


def replay_gpu(setup: GpuSetup, rate_qps: float, requests: int, seed: int, slo_s: float) -> Stats:
    """Replay ``requests`` requests at ``rate_qps`` on one GPU; the statistics."""
    stats = Stats(len(setup.buckets))
    if rate_qps <= 0 or requests <= 0:
        return stats
    rng = seeded(seed)
    recorder = Recorder(len(setup.buckets), int(WARMUP_SHARE * requests))
    station = Station("gpu", policy_of(setup))
    simulation = Simulation([station], recorder, [slo_s] * len(setup.buckets))
    end_s = simulation.run(poisson(rate_qps, requests, rng, _mix(setup.buckets)))
    return Stats(len(setup.buckets), recorder.classes, station.busy_s, end_s)


def replay_pools(
    setups: Sequence[tuple[GpuSetup, float, float]],
    requests: int,
    runs: int,
    seed: int,
    slo_s: float,
) -> tuple[Stats, list[float]]:
    """Replay one GPU of every pool ``(setup, per-GPU rate, share of the traffic)`` ``runs``
    times, with ``requests x pools x share`` requests (at least :data:`MIN_POOL_REQUESTS`);
    the summed statistics and each pool's utilisation (busy share, mean over runs)."""
    total = Stats(len(setups[0][0].buckets))
    utilisation = []
    for p, (setup, rate, share) in enumerate(setups):
        n = max(MIN_POOL_REQUESTS, round(requests * len(setups) * share))
        busy = []
        for run in range(runs):
            one = replay_gpu(setup, rate, n, seed + 1000 * p + run, slo_s)
            total.merge(one)
            busy.append(one.utilisation)
        utilisation.append(float(np.mean(busy)))
    return total, utilisation
