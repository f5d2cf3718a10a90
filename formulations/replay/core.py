"""The event loop: requests, stations (a device, a pool or a pipeline stage) and plan changes.

A :class:`Station` has ``workers`` identical executors (the GPUs of a pool, the replicas of a
model) and one :class:`BatchPolicy`, which owns the station's waiting requests and decides,
whenever an executor is free, what to run next (a batch and its duration), until when to wait
(a timeout), or to shed requests. A request follows its route, a tuple of station indices
(one station for a single device, one per stage for a pipeline, with a transfer delay between
stages); it is served when its last station completes it.

Arrivals come from :mod:`formulations.replay.arrivals` as sorted numpy chunks and are merged
with the heap of timed events (completions, timeouts, transfers, plan changes), so an arrival
never enters the heap: the loop is a plain ``heapq`` loop, which measured 3.3x faster than
SimPy on the same M/M/1 workload (``benchmarks/replay_speed.py``, ``docs/replay.md``). At
equal times, timed events run before the arrival.

A :class:`PlanChange` swaps a station's policy (a new model or batch setting: every executor
then loads the model for ``load_s`` before it serves again, after its running batch) and/or
its number of executors (new ones load first; removed ones leave when idle).
"""

from __future__ import annotations

import heapq
import math
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from itertools import count
from typing import Any

import numpy as np

from formulations.replay.arrivals import Chunk
from formulations.replay.stats import Recorder


class Request:
    """One request in flight (only requests in flight exist: memory stays flat)."""

    __slots__ = (
        "arrival_s",
        "deadline_s",
        "enqueued_s",
        "hop",
        "klass",
        "rid",
        "route",
        "size",
        "started_s",
    )

    def __init__(
        self,
        rid: int,
        klass: int,
        arrival_s: float,
        deadline_s: float,
        size: int,
        route: tuple[int, ...],
    ) -> None:
        self.rid = rid
        self.klass = klass  # family, bucket or priority class (index into the recorder)
        self.arrival_s = arrival_s
        self.deadline_s = deadline_s  # completed after it: late
        self.size = size  # kind-specific work (tokens, frames); 1 when unused
        self.route = route  # station indices, one per stage
        self.hop = 0  # index into route of the station it is at
        self.enqueued_s = arrival_s  # when it entered its current station's queue
        self.started_s = -1.0  # first dispatch (the end of its wait), -1 before


def mark_started(requests: Iterable[Request], now: float) -> None:
    """Record the first dispatch of each request (its queueing wait ends)."""
    for r in requests:
        if r.started_s < 0:
            r.started_s = now


UNBOUNDED = 2**31  # workers of a station whose policy gates its own concurrency
Dispatch = tuple[list[Any], float]  # the items a batch runs and its duration in s
Drop = Callable[[Request], None]


class BatchPolicy(ABC):
    """Owns a station's waiting requests and forms its batches."""

    @abstractmethod
    def enqueue(self, request: Request, now: float) -> None:
        """A request joins the queue."""

    @abstractmethod
    def take(self, now: float, drop: Drop) -> Dispatch | float | None:
        """An executor is free at ``now``: a batch to start now, the time to ask again (a
        timeout), or None (nothing to run until the next arrival). Requests the policy sheds
        are passed to ``drop``; a policy calls :func:`mark_started` on what it dispatches."""

    def complete(self, items: list[Any], now: float) -> Iterable[Request]:
        """A batch of ``items`` finished at ``now``: the requests done at this station
        (iteration-level policies re-queue the rest)."""
        return items

    @abstractmethod
    def drain(self) -> list[Request]:
        """Remove and return every waiting request (a plan change hands them over)."""


@dataclass
class Station:
    """A device, pool or stage: ``workers`` executors sharing one policy's queue."""

    name: str
    policy: BatchPolicy
    workers: int = 1
    window_s: float | None = None  # width of the utilisation-over-time windows (None: off)
    free: int = field(init=False)
    busy_s: float = field(init=False, default=0.0)  # executor-seconds running batches
    loading_s: float = field(init=False, default=0.0)  # executor-seconds loading models
    batches: int = field(init=False, default=0)
    last_end_s: float = field(init=False, default=0.0)  # when its last batch started ends
    busy_by_window_s: list[float] = field(init=False, default_factory=list)
    _worker_s: float = field(init=False, default=0.0)  # integral of workers over time
    _since_s: float = field(init=False, default=0.0)
    _loads: int = field(init=False, default=0)  # running executors still to load
    _retire: int = field(init=False, default=0)  # running executors to remove when done
    _wake_s: float = field(init=False, default=math.inf)
    index: int = field(init=False, default=0)  # set by the simulation

    def __post_init__(self) -> None:
        if self.workers < 0:
            raise ValueError(f"station {self.name}: workers must be >= 0, got {self.workers}")
        self.free = self.workers

    def worker_s(self, end_s: float) -> float:
        """Executor-seconds available from time 0 to ``end_s``."""
        return self._worker_s + self.workers * (end_s - self._since_s)

    def utilisation(self, end_s: float) -> float:
        """Busy share of the executor-seconds up to ``end_s`` (0 when there were none)."""
        available = self.worker_s(end_s)
        return self.busy_s / available if available > 0 else 0.0

    def _resize(self, workers: int, now: float) -> None:
        self._worker_s = self.worker_s(now)
        self._since_s = now
        self.workers = workers

    def _add_busy(self, start_s: float, duration_s: float) -> None:
        self.busy_s += duration_s
        self.batches += 1
        self.last_end_s = max(self.last_end_s, start_s + duration_s)
        if self.window_s is None:
            return
        width, windows = self.window_s, self.busy_by_window_s
        end_s = start_s + duration_s
        while start_s < end_s:
            index = int(start_s // width)
            while len(windows) <= index:
                windows.append(0.0)
            piece = min(end_s, (index + 1) * width) - start_s
            windows[index] += piece
            start_s += piece


@dataclass(frozen=True)
class PlanChange:
    """At ``time_s``, station ``station`` gets ``policy`` (its executors then load the model
    for ``load_s``) and/or ``workers`` executors (new ones load for ``load_s``)."""

    time_s: float
    station: int
    policy: BatchPolicy | None = None
    workers: int | None = None
    load_s: float = 0.0


DONE, LOADED, WAKE, HOP, PLAN = range(5)  # event kinds (ties: the lower kind first)
Transfer = Callable[[Request, int, int], float]  # (request, from, to) -> delay in s


class Simulation:
    """Stations, the recorder, per-class deadlines and the routes requests take."""

    def __init__(
        self,
        stations: Sequence[Station],
        recorder: Recorder,
        slo_s: Sequence[float],
        routes: Sequence[tuple[int, ...]] = ((0,),),
        transfer_s: Transfer | None = None,
    ) -> None:
        if len(slo_s) != len(recorder.classes):
            raise ValueError("one deadline (slo_s) per recorder class is needed")
        for route in routes:
            if not route or not all(0 <= s < len(stations) for s in route):
                raise ValueError(f"route {route} names a station that does not exist")
        self.stations = list(stations)
        self.recorder = recorder
        self.slo_s = list(slo_s)
        self.routes = [tuple(r) for r in routes]
        self.transfer_s = transfer_s
        self.now = 0.0
        self.requests = 0
        self._heap: list[tuple[float, int, int, int, Any]] = []
        self._seq = count()
        self._load_s: dict[int, float] = {}  # per station: the load time of its new model
        for index, station in enumerate(self.stations):
            station.index = index

    # ------------------------------------------------------------------ driving
    def run(self, chunks: Iterable[Chunk], changes: Sequence[PlanChange] = ()) -> float:
        """Replay every arrival of ``chunks`` and the plan ``changes``, until the last
        request is served or dropped; the simulated end time in s."""
        heap, pop, event = self._heap, heapq.heappop, self._event
        for change in changes:
            self._push(change.time_s, PLAN, change.station, change)
        stations, routes, slo_s, recorder = self.stations, self.routes, self.slo_s, self.recorder
        enter = self._enter
        rid = self.requests
        for chunk in chunks:
            sizes = chunk.size.tolist()
            for t, k, size, r in zip(
                chunk.time_s.tolist(),
                chunk.klass.tolist(),
                sizes,
                chunk.route.tolist(),
                strict=True,
            ):
                while heap and heap[0][0] <= t:
                    event(pop(heap))
                route = routes[r]
                request = Request(rid, k, t, t + slo_s[k], size, route)
                rid += 1
                recorder.arrived(request)
                self.now = t
                enter(stations[route[0]], request, t)
        self.requests = rid
        while heap:
            event(pop(heap))
        recorder.flush()
        return self.now

    def _push(self, time_s: float, kind: int, station: int, payload: Any) -> None:
        heapq.heappush(self._heap, (time_s, kind, next(self._seq), station, payload))

    # ------------------------------------------------------------------ stations
    def _enter(self, station: Station, request: Request, now: float) -> None:
        request.enqueued_s = now
        station.policy.enqueue(request, now)
        if station.free > 0:
            self._kick(station, now)

    def _kick(self, station: Station, now: float) -> None:
        """Start batches on the station's free executors while its policy has one."""
        index = station.index
        while station.free > 0:
            decision = station.policy.take(now, self.recorder.dropped)
            if decision is None:
                return
            if isinstance(decision, float):
                if decision < station._wake_s:
                    station._wake_s = decision
                    self._push(decision, WAKE, index, None)
                return
            items, duration_s = decision
            station.free -= 1
            station._add_busy(now, duration_s)
            self._push(now + duration_s, DONE, index, (station.policy, items))

    def _event(self, entry: tuple[float, int, int, int, Any]) -> None:
        now, kind, _, index, payload = entry
        self.now = now
        station = self.stations[index]
        if kind == DONE:
            policy, items = payload
            for request in policy.complete(items, now):
                self._advance(request, now)
            self._release(station, index, now)
        elif kind == LOADED:
            if station._retire > 0:
                station._retire -= 1
            else:
                station.free += 1
        elif kind == WAKE:
            if now < station._wake_s:
                return  # superseded by an earlier timeout that already ran
            station._wake_s = math.inf
        elif kind == HOP:
            self._enter(station, payload, now)
            return
        else:
            self._change(station, index, payload, now)
        if station.free > 0:
            self._kick(station, now)

    def _release(self, station: Station, index: int, now: float) -> None:
        """An executor finished a batch: it retires, loads the new model, or is free."""
        if station._retire > 0:
            station._retire -= 1
        elif station._loads > 0:
            station._loads -= 1
            self._load(station, index, now, self._load_s[index])
        else:
            station.free += 1

    def _load(self, station: Station, index: int, now: float, load_s: float) -> None:
        station.loading_s += load_s
        self._push(now + load_s, LOADED, index, None)

    def _change(self, station: Station, index: int, change: PlanChange, now: float) -> None:
        running = station.workers - station.free - station._retire
        if change.policy is not None:
            waiting = station.policy.drain()
            station.policy = change.policy
            for request in waiting:
                change.policy.enqueue(request, request.enqueued_s)
            self._load_s[index] = change.load_s
            idle, station.free = station.free, 0
            for _ in range(idle):
                self._load(station, index, now, change.load_s)
            station._loads = running
        target = station.workers if change.workers is None else change.workers
        if target < 0:
            raise ValueError(f"station {station.name}: workers must be >= 0, got {target}")
        delta = target - station.workers
        station._resize(target, now)
        if delta > 0:
            for _ in range(delta):
                self._load(station, index, now, change.load_s)
        elif delta < 0:
            idle = min(station.free, -delta)
            station.free -= idle
            station._retire += -delta - idle

    def _advance(self, request: Request, now: float) -> None:
        """A station completed ``request``: on to the next stage, or served."""
        route = request.route
        request.hop += 1
        if request.hop == len(route):
            self.recorder.served(request, now)
            return
        here, there = route[request.hop - 1], route[request.hop]
        delay_s = self.transfer_s(request, here, there) if self.transfer_s else 0.0
        if delay_s > 0:
            self._push(now + delay_s, HOP, there, request)
        else:
            self._enter(self.stations[there], request, now)


def seeded(seed: int | Sequence[int]) -> np.random.Generator:
    """The replay's random source: numpy's default generator (PCG64) from ``seed``."""
    return np.random.default_rng(seed)
