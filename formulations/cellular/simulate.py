"""Seeded discrete-event replay of one GPU under cellular or graph batching.

The event loop keeps a heap of events (the next arrival, the running batch's completion).
Cellular batching follows BatchMaker (EuroSys '18, Sec. 4.2-4.3): one queue of ready cells
per cell type, each ordered by its request's arrival; when the GPU frees it picks a type
(``oldest_first``: the type whose oldest ready cell belongs to the oldest request, the
issue's rule; ``round_robin``: the next type with ready cells after the last one run),
taking that type's ready cells oldest first up to its maximum batch (a tree stage larger
than the room left is split); a finished cell readies the request's next stage. Graph
batching takes up to G waiting requests (from one FIFO queue, or from the bucket queue whose
head is oldest) and runs the whole graph padded to the batch's longest request. Requests are
routed to GPUs at random in proportion to their capacity, so each GPU of a pool sees an
independent Poisson stream and one GPU per pool is replayed.

Statistics stream into fixed log-spaced histograms (1.2% wide bins from 10 us to 1000 s) per
length bucket, plus exact counts within the SLO, so memory stays flat in the number of
requests; the first ``WARMUP_SHARE`` of the requests are left out.
"""

from __future__ import annotations

import heapq
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
from numpy.typing import NDArray

from cost_models.cellular.graphs import Stage, Structure, stages
from cost_models.cellular.latency import Bucket, padded_us
from cost_models.units import US_PER_S

WARMUP_SHARE = 0.1  # share of the first requests left out of the statistics
HIST_EDGES_S = np.logspace(-5, 3, 1601)  # 10 us .. 1000 s, 1.16% per bin
FLUSH_EVERY = 4096  # latencies buffered before they are added to the histograms


@dataclass
class Stats:
    """Streamed statistics of replays: per bucket histogram and SLO counts."""

    buckets: int
    slo_s: float
    hist: NDArray[np.float64] = field(init=False)
    within_slo: NDArray[np.float64] = field(init=False)
    busy_s: float = 0.0
    span_s: float = 0.0
    completed: int = 0

    def __post_init__(self) -> None:
        self.hist = np.zeros((self.buckets, len(HIST_EDGES_S) + 1))
        self.within_slo = np.zeros(self.buckets)

    def add(self, bucket: NDArray[np.int64], latency_s: NDArray[np.float64]) -> None:
        bins = np.searchsorted(HIST_EDGES_S, latency_s)
        np.add.at(self.hist, (bucket, bins), 1.0)
        np.add.at(self.within_slo, bucket, (latency_s <= self.slo_s).astype(float))
        self.completed += len(latency_s)

    def merge(self, other: Stats, weight: float) -> None:
        """Add ``other``'s requests, each counting ``weight`` (pools of different load)."""
        self.hist += weight * other.hist
        self.within_slo += weight * other.within_slo

    def percentile_s(self, quantile: float, bucket: int | None = None) -> float:
        counts = self.hist.sum(axis=0) if bucket is None else self.hist[bucket]
        total = counts.sum()
        if total == 0:
            return float("nan")
        index = int(np.searchsorted(np.cumsum(counts), quantile * total))
        edges = np.concatenate(([0.0], HIST_EDGES_S, [np.inf]))
        lo, hi = edges[index], edges[index + 1]
        return (
            float(np.sqrt(lo * hi)) if lo > 0 and np.isfinite(hi) else float(hi if lo == 0 else lo)
        )

    def attainment(self, bucket: int | None = None) -> float:
        counts = self.hist.sum() if bucket is None else self.hist[bucket].sum()
        within = self.within_slo.sum() if bucket is None else self.within_slo[bucket]
        return float(within / counts) if counts else float("nan")


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


class _Requests:
    """Poisson arrivals with bucket and token count drawn from the mix (lazily)."""

    def __init__(self, setup: GpuSetup, rate_qps: float, rng: np.random.Generator) -> None:
        self.setup, self.rate, self.rng = setup, rate_qps, rng
        self.shares = np.array([b.share for b in setup.buckets])
        self.shares = self.shares / self.shares.sum()

    def draw(self, n: int) -> tuple[NDArray[np.float64], NDArray[np.int64], NDArray[np.int64]]:
        times = np.cumsum(self.rng.exponential(1.0 / self.rate, n))
        bucket = self.rng.choice(len(self.shares), size=n, p=self.shares)
        lo = np.array([b.lo_tokens for b in self.setup.buckets])[bucket]
        hi = np.array([b.hi_tokens for b in self.setup.buckets])[bucket]
        tokens = self.rng.integers(lo, hi + 1)
        return times, bucket, tokens


def replay_gpu(setup: GpuSetup, rate_qps: float, requests: int, seed: int, slo_s: float) -> Stats:
    """Replay ``requests`` requests at ``rate_qps`` on one GPU; the statistics."""
    stats_ = Stats(len(setup.buckets), slo_s)
    if rate_qps <= 0 or requests <= 0:
        return stats_
    rng = np.random.default_rng(seed)
    times, bucket, tokens = _Requests(setup, rate_qps, rng).draw(requests)
    warm = int(WARMUP_SHARE * requests)
    done_b: list[int] = []
    done_l: list[float] = []

    def finish(rid: int, now: float) -> None:
        if rid >= warm:
            done_b.append(int(bucket[rid]))
            done_l.append(now - float(times[rid]))
            if len(done_l) >= FLUSH_EVERY:
                stats_.add(np.array(done_b), np.array(done_l))
                done_b.clear()
                done_l.clear()

    if setup.policy == "cellular":
        busy = _run_cellular(setup, times, tokens, finish)
    else:
        busy = _run_graph(setup, times, bucket, tokens, finish)
    if done_l:
        stats_.add(np.array(done_b), np.array(done_l))
    stats_.busy_s, stats_.span_s = busy
    return stats_


ARRIVAL, DONE = 1, 0  # event kinds; completions first at equal times


def _run_cellular(
    setup: GpuSetup,
    times: NDArray[np.float64],
    tokens: NDArray[np.int64],
    finish: object,
) -> tuple[float, float]:
    types = len(setup.tau_us)
    queues: list[list[tuple[float, int, int]]] = [[] for _ in range(types)]
    plan: dict[int, list[Stage]] = {}
    position: dict[int, int] = {}
    outstanding: dict[int, int] = {}
    events: list[tuple[float, int, int]] = [(float(times[0]), ARRIVAL, 0)]
    running: list[tuple[int, int]] = []
    busy_s = now = 0.0
    n = len(times)

    def ready(rid: int) -> None:
        kind, cells = plan[rid][position[rid]]
        outstanding[rid] = cells
        heapq.heappush(queues[kind], (float(times[rid]), rid, cells))

    last = [types - 1]

    def start(now: float) -> float:
        heads = [(q[0][0], t) for t, q in enumerate(queues) if q]
        if not heads:
            return 0.0
        if setup.scheduler == "oldest_first":
            _, kind = min(heads)
        else:  # the next type after the last one run that has ready cells
            kind = min(heads, key=lambda h: (h[1] - last[0] - 1) % types)[1]
        last[0] = kind
        room, queue = setup.max_batch[kind], queues[kind]
        while room and queue:
            arrival, rid, cells = heapq.heappop(queue)
            take = min(cells, room)
            running.append((rid, take))
            room -= take
            if take < cells:
                heapq.heappush(queue, (arrival, rid, cells - take))
        size = setup.max_batch[kind] - room
        duration = float(setup.tau_us[kind][size - 1]) / US_PER_S
        heapq.heappush(events, (now + duration, DONE, -1))
        return duration

    while events:
        now, what, rid = heapq.heappop(events)
        if what == ARRIVAL:
            plan[rid] = stages(setup.structure, int(tokens[rid]), setup.target_ratio)
            position[rid] = 0
            ready(rid)
            if rid + 1 < n:
                heapq.heappush(events, (float(times[rid + 1]), ARRIVAL, rid + 1))
        else:
            batch, running[:] = list(running), []
            for r, cells in batch:
                outstanding[r] -= cells
                if outstanding[r] == 0:
                    position[r] += 1
                    if position[r] == len(plan[r]):
                        finish(r, now)  # type: ignore[operator]
                        del plan[r], position[r], outstanding[r]
                    else:
                        ready(r)
        if not running:
            busy_s += start(now)
    return busy_s, now


def _run_graph(
    setup: GpuSetup,
    times: NDArray[np.float64],
    bucket: NDArray[np.int64],
    tokens: NDArray[np.int64],
    finish: object,
) -> tuple[float, float]:
    bucketed = setup.policy == "graph_bucketed"
    queues: list[deque[int]] = [deque() for _ in range(len(setup.buckets) if bucketed else 1)]
    graph_batch = setup.max_batch[0]
    events: list[tuple[float, int, int]] = [(float(times[0]), ARRIVAL, 0)]
    running: list[int] = []
    busy_s = now = 0.0
    n = len(times)
    cache: dict[tuple[int, int], float] = {}
    while events:
        now, what, rid = heapq.heappop(events)
        if what == ARRIVAL:
            queues[int(bucket[rid]) if bucketed else 0].append(rid)
            if rid + 1 < n:
                heapq.heappush(events, (float(times[rid + 1]), ARRIVAL, rid + 1))
        else:
            for r in running:
                finish(r, now)  # type: ignore[operator]
            running = []
        if running:
            continue
        heads = [(float(times[q[0]]), i) for i, q in enumerate(queues) if q]
        if not heads:
            continue
        queue = queues[min(heads)[1]]
        while queue and len(running) < graph_batch:
            running.append(queue.popleft())
        longest = int(max(tokens[r] for r in running))
        key = (len(running), longest)
        if key not in cache:
            cache[key] = (
                padded_us(setup.structure, setup.target_ratio, setup.tau_us, *key) / US_PER_S
            )
        busy_s += cache[key]
        heapq.heappush(events, (now + cache[key], DONE, -1))
    return busy_s, now


def replay_pools(
    setups: Sequence[tuple[GpuSetup, float, float]],
    requests: int,
    runs: int,
    seed: int,
    slo_s: float,
) -> tuple[Stats, float]:
    """Replay every pool ``(setup, per-GPU rate, share of the traffic)`` ``runs`` times;
    the traffic-weighted statistics and the mean GPU utilisation (busy share)."""
    total = Stats(len(setups[0][0].buckets), slo_s)
    busy = 0.0
    for p, (setup, rate, share) in enumerate(setups):
        pool = Stats(total.buckets, slo_s)
        utilisation = []
        for run in range(runs):
            one = replay_gpu(setup, rate, requests, seed + 1000 * p + run, slo_s)
            pool.merge(one, 1.0)
            pool.completed += one.completed
            utilisation.append(one.busy_s / one.span_s if one.span_s else 0.0)
        if pool.completed:
            total.merge(pool, share / pool.completed)
        busy += share * float(np.mean(utilisation))
    return total, busy
