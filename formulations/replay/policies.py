"""Service-time models and batching policies (each a small :class:`BatchPolicy`).

Services say how long a batch runs: :class:`ProfileService` (a profiled latency per batch
size, deterministic as Proteus's simulator, optional log-normal noise) and
:class:`ExponentialService` (i.i.d. exponential work per request, for the queueing golden
tests). Policies:

* :class:`FixedBatch`: up to ``max_batch`` requests, first come first served, once the queue
  holds a full batch or its oldest request has waited ``timeout_s`` (0: work-conserving);
  ``by_class`` keeps a queue per class and serves the one whose head is oldest (length
  buckets of graph batching);
* :class:`AdaptiveBatch`: Proteus's accscale batching, event by event as Proteus's own
  simulator (UMass-LIDS/Proteus ``core/predictor.py`` ``Predictor``, see
  ``../shared/reference/proteus/settings.md`` Sec. 6);
* :class:`AimdBatch`: Clipper's AIMD (NSDI '17 Sec. 4.3), and the step-wise variant of
  Proteus's simulator;
* :class:`ReservationBatch`: PPipe's reservation-based batching over pipelines of GPU pools
  (JonnyKong/PPipe ``cluster-sim`` ``ReservationFixedBsLoadBalancer``, ``ReservationOffer``);
* :class:`CellularBatch`: BatchMaker's iteration-level (cell) batching (EuroSys '18,
  Sec. 4.2-4.3);
* :class:`ContinuousBatch`: vLLM's iteration-level continuous batching of prefills and
  decodes (vllm/core/scheduler.py ``Scheduler._schedule_default``, simplified).
"""

from __future__ import annotations

import heapq
from collections import deque
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np

from cost_models.units import MS_PER_S
from formulations.replay.core import BatchPolicy, Dispatch, Drop, Request, mark_started
from formulations.replay.stats import TokenRecorder

DRAWS = 4096  # random service times drawn at a time
VECTOR_WORKERS = 8  # a pipeline stage of this many workers or more is searched in numpy
QUEUING_S = 1e-12  # s, a reservation offer queuing at most this long runs at once


class Service(Protocol):
    def estimate_s(self, size: int) -> float:
        """The planned (profiled) duration of a batch of ``size`` requests."""
        ...

    def duration_s(self, batch: Sequence[Request]) -> float:
        """The duration of running ``batch`` (may be random)."""
        ...


class ProfileService:
    """``latency_s[b - 1]`` for a batch of b requests; with ``noise_cv`` > 0 each batch is
    scaled by a log-normal factor of mean 1 and that coefficient of variation."""

    def __init__(
        self,
        latency_s: Sequence[float],
        noise_cv: float = 0.0,
        rng: np.random.Generator | None = None,
    ) -> None:
        if not latency_s or min(latency_s) < 0:
            raise ValueError("a non-empty profile of non-negative latencies is needed")
        if noise_cv > 0 and rng is None:
            raise ValueError("noise needs a random generator")
        self.latency_s = [float(x) for x in latency_s]
        self.max_batch = len(self.latency_s)
        sigma = float(np.sqrt(np.log1p(noise_cv**2)))
        self._noise = (
            _Draws(lambda n: rng.lognormal(-(sigma**2) / 2, sigma, n))
            if (noise_cv > 0 and rng is not None)
            else None
        )

    def estimate_s(self, size: int) -> float:
        return self.latency_s[size - 1]

    def duration_s(self, batch: Sequence[Request]) -> float:
        return self.padded_s(batch, len(batch))

    def padded_s(self, batch: Sequence[Request], size: int) -> float:
        """The duration of ``batch`` run as a batch of ``size`` (>= its length)."""
        base = self.latency_s[size - 1]
        return base if self._noise is None else base * self._noise.next()


def padded_latency_s(by_batch_ms: Mapping[int, float]) -> list[float]:
    """Latency (s) of a batch of 1 .. the largest profiled size, from a profile (ms) at some
    sizes: a batch of b runs as the smallest profiled size >= b (padded)."""
    sizes = sorted(by_batch_ms)
    return [
        by_batch_ms[next(s for s in sizes if s >= b)] / MS_PER_S for b in range(1, sizes[-1] + 1)
    ]


class ExponentialService:
    """Every request needs an exponential amount of work of mean ``mean_s``; a batch runs
    the sum (batches of one make an M/M/c queue)."""

    def __init__(self, mean_s: float, rng: np.random.Generator) -> None:
        self.mean_s = mean_s
        self._draws = _Draws(lambda n: rng.exponential(mean_s, n))

    def estimate_s(self, size: int) -> float:
        return self.mean_s * size

    def duration_s(self, batch: Sequence[Request]) -> float:
        if len(batch) == 1:
            return self._draws.next()
        return sum(self._draws.next() for _ in batch)


class _Draws:
    """Random numbers drawn :data:`DRAWS` at a time from ``draw(n)``."""

    def __init__(self, draw: Callable[[int], np.ndarray]) -> None:
        self._draw = draw
        self._values: list[float] = []

    def next(self) -> float:
        try:
            return self._values.pop()
        except IndexError:
            self._values = self._draw(DRAWS).tolist()[::-1]
            return self._values.pop()


# --------------------------------------------------------------------------- fixed
class FixedBatch(BatchPolicy):
    """Up to ``max_batch`` oldest requests, once a full batch waits or the oldest request
    has waited ``timeout_s`` (0: run whatever waits, as soon as an executor is free)."""

    def __init__(
        self, service: Service, max_batch: int = 1, timeout_s: float = 0.0, by_class: int = 0
    ) -> None:
        if max_batch < 1 or timeout_s < 0:
            raise ValueError("max_batch must be >= 1 and timeout_s >= 0")
        self.service, self.max_batch, self.timeout_s = service, max_batch, timeout_s
        self.queues: list[deque[Request]] = [deque() for _ in range(max(by_class, 1))]
        self._by_class = by_class > 0

    def enqueue(self, request: Request, now: float) -> None:
        self.queues[request.klass if self._by_class else 0].append(request)

    def take(self, now: float, drop: Drop) -> Dispatch | float | None:
        if self._by_class:
            heads = [(q[0].enqueued_s, i) for i, q in enumerate(self.queues) if q]
            if not heads:
                return None
            queue = self.queues[min(heads)[1]]
        else:
            queue = self.queues[0]
            if not queue:
                return None
        if len(queue) < self.max_batch and self.timeout_s > 0:
            due_s = queue[0].enqueued_s + self.timeout_s
            if now < due_s:
                return due_s
        if self.max_batch == 1:
            head = queue.popleft()
            if head.started_s < 0:
                head.started_s = now
            batch = [head]
        else:
            batch = [queue.popleft() for _ in range(min(self.max_batch, len(queue)))]
            mark_started(batch, now)
        return batch, self.service.duration_s(batch)

    def drain(self) -> list[Request]:
        waiting = sorted((r for q in self.queues for r in q), key=lambda r: r.enqueued_s)
        for q in self.queues:
            q.clear()
        return waiting


class Shed(BatchPolicy):
    """Drops every request (the sink of demand a plan routes nowhere)."""

    def __init__(self) -> None:
        self.waiting: list[Request] = []

    def enqueue(self, request: Request, now: float) -> None:
        self.waiting.append(request)

    def take(self, now: float, drop: Drop) -> Dispatch | float | None:
        for request in self.waiting:
            drop(request)
        self.waiting.clear()
        return None

    def drain(self) -> list[Request]:
        waiting, self.waiting = self.waiting, []
        return waiting


# --------------------------------------------------------------------------- Proteus
class AdaptiveBatch(BatchPolicy):
    """Proteus's accscale batching on one predictor (one executor), as Proteus's own
    simulator runs it (UMass-LIDS/Proteus ``core/predictor.py``, class ``Predictor``).

    ``fill(q)`` is the largest allowed size (Proteus: 1, 2, 4, 8) that ``q`` waiting
    requests fill, at most ``cap`` (the largest size whose profiled latency is < SLO / 2;
    ``find_batch_size`` / ``find_maximum_that_fills``; ``fill(0)`` is ``cap``, Proteus's
    ``batch_sizes_allowed[-1]`` capped). A batch of size b runs the profiled latency of b
    even when fewer requests are dequeued (``process_batch``). The predictor is lazy: it
    runs a batch only at an expiry event or when a batch ends, never merely because a full
    batch waits. Events:

    * arrival, predictor idle (``enqueue_request``): drop the head while ``now + lat(fill(q))``
      passes its deadline (``pop_while_first_expires``), then set the head's expiry event at
      ``deadline - lat(fill(q))`` (``generate_head_slo_expiring``); if that time has come
      already, run ``fill(q - 1)`` now;
    * arrival, predictor busy: re-set the head's expiry event for the new queue length;
    * expiry event (``slo_expiring_callback``): while busy, any expiry event (even one since
      superseded) marks the predictor ``expiring_waiting``; idle, the head's latest event
      runs ``fill(q)`` (stale events are ignored);
    * batch end (``finish_batch_callback``): if ``expiring_waiting``, run ``fill(q)`` now;
      else, if more than ``cap`` wait, run ``cap`` now; else wait for the head's expiry;
    * every batch first drops the queued requests older than twice their SLO
      (``drop_expired_requests``) and, if requests remain, sets the new head's expiry.

    Requests dispatched late are served late (counted late), as in Proteus. One executor per
    policy (Proteus has one queue per predictor); ties between a batch end and an expiry at
    the same instant count the expiry as fired while busy.
    """

    def __init__(
        self, service: ProfileService, sizes: Sequence[int] = (1, 2, 4, 8), cap: int | None = None
    ) -> None:
        if not sizes or sorted(sizes) != list(sizes) or sizes[0] != 1:
            raise ValueError("sizes must be increasing and start at 1")
        self.service = service
        self.sizes = [b for b in sizes if cap is None or b <= cap] or [1]
        self.queue: deque[Request] = deque()
        self.busy = False
        self.expiring_waiting = False
        self._expiries: list[tuple[float, int]] = []  # pending expiry events (time, rid)
        self._head: tuple[int, float] | None = None  # the head's latest expiry (rid, time)
        self._arrived = False  # an arrival found the predictor idle: take() handles it
        self._finished = False  # a batch ended: take() runs the batch-end rule

    def fill(self, waiting: int) -> int:
        if waiting <= 0:
            return self.sizes[-1]
        return max(b for b in self.sizes if b <= waiting)

    def _latency_s(self, size: int) -> float:
        return self.service.estimate_s(size)

    def _expire_head(self) -> None:
        """Set the head's expiry event at its latest start for the batch the queue fills."""
        if not self.queue:
            return
        head = self.queue[0]
        time_s = head.deadline_s - self._latency_s(self.fill(len(self.queue)))
        if self._head == (head.rid, time_s):
            return  # an event at that time is pending already
        self._head = (head.rid, time_s)
        heapq.heappush(self._expiries, (time_s, head.rid))

    def enqueue(self, request: Request, now: float) -> None:
        self.queue.append(request)
        if self.busy:
            self._expire_head()
        else:
            self._arrived = True

    def _run(self, size: int, now: float, drop: Drop) -> Dispatch | None:
        """``process_batch``: drop requests past twice their SLO, then up to ``size``."""
        queue = self.queue
        while queue and now > 2 * queue[0].deadline_s - queue[0].arrival_s:
            drop(queue.popleft())
        size = min(size, self.sizes[-1])
        batch = [queue.popleft() for _ in range(min(size, len(queue)))]
        if not batch:
            return None
        self._expire_head()
        mark_started(batch, now)
        self.busy = True
        return batch, self.service.padded_s(batch, size)

    def take(self, now: float, drop: Drop) -> Dispatch | float | None:
        queue, expiries = self.queue, self._expiries
        if self._finished:
            self._finished = False
            if queue:
                if self.expiring_waiting:
                    self.expiring_waiting = False
                    return self._run(self.fill(len(queue)), now, drop)
                if len(queue) > self.sizes[-1]:
                    return self._run(self.sizes[-1], now, drop)
        while expiries and expiries[0][0] <= now:
            time_s, rid = heapq.heappop(expiries)
            if queue and queue[0].rid == rid and self._head == (rid, time_s):
                self._arrived = False
                return self._run(self.fill(len(queue)), now, drop)
        if self._arrived:
            self._arrived = False
            while queue and now + self._latency_s(self.fill(len(queue))) > queue[0].deadline_s:
                drop(queue.popleft())
            self._expire_head()
            if queue and now >= queue[0].deadline_s - self._latency_s(self.fill(len(queue))):
                return self._run(self.fill(len(queue) - 1), now, drop)
        return expiries[0][0] if expiries else None

    def complete(self, items: list[Any], now: float) -> Iterable[Request]:
        self.busy, self._finished = False, True
        expiries = self._expiries
        while expiries and expiries[0][0] <= now:
            heapq.heappop(expiries)
            self.expiring_waiting = True
        return items

    def drain(self) -> list[Request]:
        waiting = list(self.queue)
        self.queue.clear()
        self._expiries.clear()
        self._head = None
        return waiting


# --------------------------------------------------------------------------- Clipper
class AimdBatch(BatchPolicy):
    """Clipper's AIMD batch size (NSDI '17 Sec. 4.3): after each batch, if any of its
    requests completed after its deadline the cap shrinks multiplicatively (``backoff``,
    Clipper: by 10%), else it grows by ``increase`` (up to ``max_batch``). With ``sizes``
    the cap steps one allowed size down or up instead (Proteus's simulator, AIMD over 1, 2,
    4, 8). Batches are work-conserving: up to the cap of the oldest requests."""

    def __init__(
        self,
        service: Service,
        max_batch: int,
        increase: int = 1,
        backoff: float = 0.9,
        sizes: Sequence[int] | None = None,
    ) -> None:
        if max_batch < 1 or increase < 1 or not 0 < backoff < 1:
            raise ValueError("max_batch >= 1, increase >= 1 and 0 < backoff < 1 are needed")
        self.service, self.max_batch = service, max_batch
        self.increase, self.backoff = increase, backoff
        self.sizes = list(sizes) if sizes else None
        self.step = 0  # index into sizes (sizes mode)
        self.cap = 1.0  # batch cap (additive mode)
        self.queue: deque[Request] = deque()

    @property
    def batch_cap(self) -> int:
        return self.sizes[self.step] if self.sizes else int(self.cap)

    def enqueue(self, request: Request, now: float) -> None:
        self.queue.append(request)

    def take(self, now: float, drop: Drop) -> Dispatch | float | None:
        if not self.queue:
            return None
        batch = [self.queue.popleft() for _ in range(min(self.batch_cap, len(self.queue)))]
        mark_started(batch, now)
        return batch, self.service.duration_s(batch)

    def complete(self, items: list[Any], now: float) -> Iterable[Request]:
        late = any(now > r.deadline_s for r in items)
        if self.sizes:
            self.step = max(self.step - 1, 0) if late else min(self.step + 1, len(self.sizes) - 1)
        elif late:
            self.cap = max(1.0, float(int(self.cap * self.backoff)))
        else:
            self.cap = min(float(self.max_batch), self.cap + self.increase)
        return items

    def drain(self) -> list[Request]:
        waiting = list(self.queue)
        self.queue.clear()
        return waiting


# --------------------------------------------------------------------------- PPipe
@dataclass(frozen=True)
class Stage:
    """One stage of a pipeline: a GPU pool's ``workers`` running ``latency_s(batch)``;
    ``transfer_s_per_request`` moves a request's activations from the previous stage (0 for
    the first stage)."""

    pool: str
    workers: int
    latency_s: Callable[[int], float]
    transfer_s_per_request: float = 0.0


@dataclass(frozen=True)
class Pipeline:
    stages: tuple[Stage, ...]
    batch: int  # the plan's batch size for this pipeline


class ReservationBatch(BatchPolicy):
    """PPipe's reservation-based batching (ATC '25; its simulator's reservation balancer).

    One queue in front of several pipelines. When the queue holds a pipeline's planned batch,
    the batch is placed stage by stage on the worker that finishes it earliest, given each
    worker's reserved-until time and each link's reserved upload/download times (a transfer
    takes ``batch x transfer_s_per_request``); the offer with the least queuing (its
    completion minus now minus its work) wins. No queuing: the reservation is made and the
    batch runs through the pipeline without waiting (the batch completes at the offer's
    completion time). Otherwise the policy waits for that queuing time and asks again.

    The station running it must not limit concurrency (:data:`UNBOUNDED` workers): the
    reservations do; busy time per pool is in ``busy_s_by_pool``.
    """

    def __init__(self, pipelines: Sequence[Pipeline]) -> None:
        if not pipelines:
            raise ValueError("at least one pipeline is needed")
        self.pipelines = list(pipelines)
        self.queue: deque[Request] = deque()

        # per pipeline, stage, worker: reserved until (compute), upload and download (link);
        # numpy arrays for stages of many workers (their best worker is found vectorised)
        def times() -> list[list[Any]]:
            return [
                [
                    np.zeros(s.workers) if s.workers >= VECTOR_WORKERS else [0.0] * s.workers
                    for s in p.stages
                ]
                for p in self.pipelines
            ]

        self.reserved_s, self.upload_s, self.download_s = times(), times(), times()
        # per pipeline, stage: (workers, transfer s, latency s, searched in numpy), and work
        self._stages = [
            [
                (
                    s.workers,
                    p.batch * s.transfer_s_per_request if i > 0 else 0.0,
                    s.latency_s(p.batch),
                    s.workers >= VECTOR_WORKERS,
                )
                for i, s in enumerate(p.stages)
            ]
            for p in self.pipelines
        ]
        self._work_s = [sum(net + inf for _, net, inf, _ in stages) for stages in self._stages]
        self._quiet: tuple[float, int] | None = None  # (wake-up, eligible pipelines) last found
        self.busy_s_by_pool: dict[str, float] = {
            s.pool: 0.0 for p in self.pipelines for s in p.stages
        }

    def enqueue(self, request: Request, now: float) -> None:
        self.queue.append(request)

    def _offer(self, p: int, now: float) -> tuple[float, float, list[tuple[int, float, float]]]:
        """(queuing, completion, per stage: (worker, network done, compute done))."""
        t_global = now
        chosen: list[tuple[int, float, float]] = []
        reserved, upload, download = self.reserved_s[p], self.upload_s[p], self.download_s[p]
        stages = self._stages[p]
        last = len(stages) - 1
        for i, (workers, net_s, inf_s, vector) in enumerate(stages):
            sender = float(upload[i - 1][chosen[-1][0]]) if i > 0 else 0.0
            if vector:
                best = self._best_vector(p, i, i == last, t_global, sender, net_s, inf_s)
            else:
                best = None
                mine, up, down = reserved[i], upload[i], download[i]
                for w in range(workers):
                    t, t_net = t_global, 0.0
                    if i > 0:
                        t = t_net = max(sender, down[w], t) + net_s
                    t_inf = t = max(mine[w], t) + inf_s
                    if i != last:
                        t = max(up[w], t)
                    if best is None or t < best[0]:
                        best = (t, w, t_net, t_inf)
            assert best is not None
            chosen.append((best[1], best[2], best[3]))
            t_global = best[3]
        return t_global - now - self._work_s[p], t_global, chosen

    def _best_vector(
        self, p: int, i: int, last: bool, t_s: float, sender_s: float, net_s: float, inf_s: float
    ) -> tuple[float, int, float, float]:
        """The loop of :meth:`_offer` over one stage's workers in numpy (the same float
        operations, the first best worker): (done, worker, network done, compute done)."""
        if i > 0:
            t_net = np.maximum(self.download_s[p][i], max(sender_s, t_s)) + net_s
            t_inf = np.maximum(self.reserved_s[p][i], t_net) + inf_s
        else:
            t_net = None
            t_inf = np.maximum(self.reserved_s[p][i], t_s) + inf_s
        done = t_inf if last else np.maximum(self.upload_s[p][i], t_inf)
        w = int(done.argmin())
        return float(done[w]), w, 0.0 if t_net is None else float(t_net[w]), float(t_inf[w])

    def take(self, now: float, drop: Drop) -> Dispatch | float | None:
        waiting = len(self.queue)
        eligible = [p for p, pipeline in enumerate(self.pipelines) if pipeline.batch <= waiting]
        if not eligible:
            return None
        # Until the wait last found, with the same pipelines eligible and no reservation
        # made since, every offer still queues (an offer's completion does not decrease
        # with the time it is asked at), so the answer is a wake-up no earlier than it
        quiet = self._quiet
        if quiet is not None and quiet[1] == len(eligible) and now < quiet[0] - QUEUING_S:
            return quiet[0]
        offers = [(*self._offer(p, now), p) for p in eligible]
        queuing_s, done_s, chosen, p = min(offers, key=lambda o: (o[0], o[3]))
        # wait only when the wait moves the clock: past a few thousand simulated seconds a
        # tiny positive wait rounds back to ``now`` and would wake the station forever
        if queuing_s > QUEUING_S and now + queuing_s > now:
            self._quiet = (now + queuing_s, len(eligible))
            return now + queuing_s
        self._quiet = None
        pipeline = self.pipelines[p]
        for i, (w, t_net, t_inf) in enumerate(chosen):
            self.reserved_s[p][i][w] = t_inf
            stage = pipeline.stages[i]
            self.busy_s_by_pool[stage.pool] += stage.latency_s(pipeline.batch)
            if i > 0:
                self.upload_s[p][i - 1][chosen[i - 1][0]] = t_net
                self.download_s[p][i][w] = t_net
        batch = [self.queue.popleft() for _ in range(pipeline.batch)]
        mark_started(batch, now)
        return batch, done_s - now

    def drain(self) -> list[Request]:
        waiting = list(self.queue)
        self.queue.clear()
        self._quiet = None
        return waiting


# --------------------------------------------------------------------------- cellular
Stages = Callable[[Request], list[tuple[int, int]]]  # request -> [(cell type, cells)]


class CellularBatch(BatchPolicy):
    """BatchMaker's cellular batching: a queue of ready cells per cell type, ordered by
    their request's arrival; a free GPU picks a type (``oldest_first``: the type whose
    oldest ready cell belongs to the oldest request; ``round_robin``: the next type after
    the last one run that has ready cells) and runs up to that type's maximum batch of its
    ready cells, oldest first (a stage larger than the room left is split); a finished
    stage readies the request's next one. ``tau_s[type][b - 1]`` is a batch of b cells."""

    def __init__(
        self,
        tau_s: Sequence[Sequence[float]],
        max_batch: Sequence[int],
        stages: Stages,
        scheduler: str = "round_robin",
    ) -> None:
        if scheduler not in ("round_robin", "oldest_first"):
            raise ValueError(f"scheduler must be round_robin or oldest_first, not {scheduler}")
        self.tau_s = [list(map(float, t)) for t in tau_s]
        self.max_batch = list(max_batch)
        self.stages = stages
        self.scheduler = scheduler
        types = len(self.tau_s)
        self.queues: list[list[tuple[float, int, int, Request]]] = [[] for _ in range(types)]
        self.plan: dict[int, list[tuple[int, int]]] = {}
        self.position: dict[int, int] = {}
        self.outstanding: dict[int, int] = {}
        self.last = types - 1

    def _ready(self, request: Request) -> None:
        kind, cells = self.plan[request.rid][self.position[request.rid]]
        self.outstanding[request.rid] = cells
        heapq.heappush(self.queues[kind], (request.arrival_s, request.rid, cells, request))

    def enqueue(self, request: Request, now: float) -> None:
        self.plan[request.rid] = self.stages(request)
        self.position[request.rid] = 0
        self._ready(request)

    def take(self, now: float, drop: Drop) -> Dispatch | float | None:
        heads = [(q[0][0], t) for t, q in enumerate(self.queues) if q]
        if not heads:
            return None
        types = len(self.queues)
        if self.scheduler == "oldest_first":
            kind = min(heads)[1]
        else:
            kind = min(heads, key=lambda h: (h[1] - self.last - 1) % types)[1]
        self.last = kind
        room, queue = self.max_batch[kind], self.queues[kind]
        items: list[tuple[Request, int]] = []
        while room and queue:
            arrival_s, rid, cells, request = heapq.heappop(queue)
            take = min(cells, room)
            items.append((request, take))
            room -= take
            if take < cells:
                heapq.heappush(queue, (arrival_s, rid, cells - take, request))
        mark_started((r for r, _ in items), now)
        return items, self.tau_s[kind][self.max_batch[kind] - room - 1]

    def complete(self, items: list[Any], now: float) -> Iterable[Request]:
        done: list[Request] = []
        for request, cells in items:
            rid = request.rid
            if rid not in self.outstanding:
                continue  # drained by a plan change while this batch ran
            self.outstanding[rid] -= cells
            if self.outstanding[rid] == 0:
                self.position[rid] += 1
                if self.position[rid] == len(self.plan[rid]):
                    done.append(request)
                    del self.plan[rid], self.position[rid], self.outstanding[rid]
                else:
                    self._ready(request)
        return done

    def drain(self) -> list[Request]:
        """Waiting requests restart their graph on the new plan (cells already run on the
        old one are lost, as a reloaded model loses its state)."""
        waiting = {rid: r for q in self.queues for (_, rid, _, r) in q}
        for q in self.queues:
            q.clear()
        for rid in waiting:
            del self.plan[rid], self.position[rid], self.outstanding[rid]
        return sorted(waiting.values(), key=lambda r: r.arrival_s)


# --------------------------------------------------------------------------- LLM
Lengths = Callable[[Request], tuple[int, int]]  # request -> (prompt tokens, output tokens)
DECODE = "decode"  # the item of a decode iteration (the running sequences are the policy's)


class NeverFits(ValueError):
    """A request needs more KV cache than an empty replica has: it can never run."""

    def __init__(self, tokens: int) -> None:
        super().__init__(f"a request of {tokens} tokens does not fit the KV cache")
        self.tokens = tokens


class ContinuousBatch(BatchPolicy):
    """vLLM's continuous batching on one replica, simplified as in vllm/core/scheduler.py
    ``Scheduler._schedule_default`` (prefills first, then decodes; no preemption).

    Whenever the replica is free: if the oldest waiting request fits, i.e. the running
    sequences are fewer than ``max_num_seqs`` and the KV cache holds its full length
    (prompt + output tokens reserved, as vLLM's block manager admits it), one iteration
    prefills it (``prefill_s(prompt)``; its first token comes out with it); otherwise one
    decode iteration of every running sequence (``decode_s(sequences, mean context)``, the
    context being prompt + tokens generated so far) gives each one token. A sequence that
    has its output tokens leaves and frees its reservation. The station must have one
    executor (a replica runs one iteration at a time).

    TTFT (first token - arrival) and TPOT stream into ``tokens``. A streamed request's
    deadline is set when its first token comes out: past the TTFT SLO it is already late
    (deadline = arrival + TTFT SLO), else it must finish within TPOT SLO x (output - 1) of
    that first token, so the recorder's ``late`` counts requests that missed either SLO.
    """

    def __init__(
        self,
        prefill_s: Callable[[float], float],
        decode_s: Callable[[float, float], float],
        kv_capacity_tokens: float,
        max_num_seqs: int,
        lengths: Lengths,
        tokens: TokenRecorder,
    ) -> None:
        if max_num_seqs < 1:
            raise ValueError("max_num_seqs must be >= 1")
        self.prefill_s, self.decode_s = prefill_s, decode_s
        self.capacity = kv_capacity_tokens
        self.max_num_seqs = max_num_seqs
        self.lengths, self.tokens = lengths, tokens
        self.waiting: deque[Request] = deque()
        self.length: dict[int, tuple[int, int]] = {}  # rid -> (prompt, output)
        self.running: dict[int, Request] = {}  # decoding (or being prefilled)
        self.first_s: dict[int, float] = {}
        self.joined: dict[int, int] = {}  # rid -> decode iterations run when it joined
        self.finish_at: dict[int, list[Request]] = {}  # decode iteration -> finishing there
        self.iterations = 0  # decode iterations run
        self.reserved = 0.0  # KV tokens reserved by the running sequences
        self.prompt_sum = 0  # of the decoding sequences
        self.joined_sum = 0

    def enqueue(self, request: Request, now: float) -> None:
        prompt, output = self.lengths(request)
        if prompt + output > self.capacity:
            raise NeverFits(prompt + output)
        self.length[request.rid] = (prompt, max(output, 1))
        self.waiting.append(request)

    def _fits(self, request: Request) -> bool:
        prompt, output = self.length[request.rid]
        return (
            len(self.running) < self.max_num_seqs
            and self.reserved + prompt + output <= self.capacity
        )

    def take(self, now: float, drop: Drop) -> Dispatch | float | None:
        if self.waiting and self._fits(self.waiting[0]):
            head = self.waiting.popleft()
            prompt, output = self.length[head.rid]
            self.reserved += prompt + output
            self.running[head.rid] = head
            if head.started_s < 0:
                head.started_s = now
            return [head], self.prefill_s(float(prompt))
        if not self.joined:
            return None
        n = len(self.joined)
        context = (self.prompt_sum + n * (self.iterations + 1) - self.joined_sum) / n
        return [DECODE], self.decode_s(float(n), context)

    def _leave(self, request: Request, now: float) -> None:
        rid = request.rid
        prompt, output = self.length.pop(rid)
        first_s = self.first_s.pop(rid)
        del self.running[rid]
        self.reserved -= prompt + output
        tpot_s = (now - first_s) / (output - 1) if output > 1 else None
        self.tokens.finished(request, first_s - request.arrival_s, tpot_s)

    def complete(self, items: list[Any], now: float) -> Iterable[Request]:
        if items[0] is DECODE:
            self.iterations += 1
            done = self.finish_at.pop(self.iterations, [])
            for request in done:
                rid = request.rid
                self.prompt_sum -= self.length[rid][0]
                self.joined_sum -= self.joined.pop(rid)
                self._leave(request, now)
            return done
        (request,) = items
        rid = request.rid
        if rid not in self.running:
            return ()  # drained by a plan change while it was prefilled
        prompt, output = self.length[rid]
        self.first_s[rid] = now
        ttft_slo_s, tpot_slo_s = self.tokens.ttft_slo_s, self.tokens.tpot_slo_s
        if now - request.arrival_s > ttft_slo_s:
            request.deadline_s = request.arrival_s + ttft_slo_s
        else:
            request.deadline_s = now + tpot_slo_s * (output - 1)
        if output == 1:
            self._leave(request, now)
            return (request,)
        self.joined[rid] = self.iterations
        self.joined_sum += self.iterations
        self.prompt_sum += prompt
        self.finish_at.setdefault(self.iterations + output - 1, []).append(request)
        return ()

    def drain(self) -> list[Request]:
        """Waiting and running requests restart on the new plan (the KV cache is lost)."""
        handed = sorted([*self.waiting, *self.running.values()], key=lambda r: r.arrival_s)
        self.waiting.clear()
        self.running.clear()
        for state in (self.length, self.first_s, self.joined, self.finish_at):
            state.clear()
        self.reserved, self.prompt_sum, self.joined_sum = 0.0, 0, 0
        return handed
