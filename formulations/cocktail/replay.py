"""Discrete-event replay of Cocktail plans on the shared core (``formulations/replay/``).

What is simulated, per plan (the MILP's and each baseline's, with the same seeds):

* **Stations**: one per VM pool (model m, instance type i), FIFO, one request at a time per
  executor, a deterministic service time ``latency_ms[m, i]`` (the cost model's). A VM has
  ``round(capacity x latency)`` executors (its GPUs; one for a CPU VM of the zoo; Cocktail's
  server workers with ``[profile]``), so a pool's service rate is its planned capacity.
* **Fork-join**: a request of class k is sent to every member of its interval's ensemble
  (one child per member, to one of the member's pools drawn in proportion to the plan's
  routes); its latency is the *last* member's completion (the vote waits for every member).
  It **meets its targets** when the members that complete within the class SLO form a
  non-empty set whose vote accuracy (the correctness model) meets the class target -- the
  whole ensemble when nothing is late, a sub-ensemble otherwise (Cocktail's argument for
  tolerating slow or lost members). It counts as late when its last member completes after
  the SLO, dropped when a member never completes (its pool has no executor left).
* **Plan changes**: at every interval boundary each pool gets the plan's VM count. Planning is
  proactive (Cocktail launches VMs ahead of the interval), so boundary VMs are ready at the
  boundary; what the forecast got wrong shows as the gap between the planned load and the
  replayed arrivals (the proactive scaling lag).
* **Spot interruptions**: each spot VM of an interval is reclaimed at an exponential time
  of rate ``spot_rate_per_h[i]`` (Spot Advisor band x ``interruption_rate_scale``); its
  executors leave (after their running request), and a replacement is requested at once and
  serves after the VM start-up delay (``vm_startup_s``, or :data:`DEFAULT_VM_STARTUP_S`).
* **Arrivals**: a class with a trace replays the trace's own arrival times; a class with
  ``qps`` numbers gets Poisson arrivals at the observed rate of each interval. ``rate_scale``
  multiplies every rate (a trace is then thinned or repeated at random).

Long intervals are sampled: each interval is replayed for a window of ``window_s`` seconds
(``duration_s`` of the options; default :data:`DEFAULT_WINDOW_S`) placed at a random offset
inside it, starting empty, with the spot VMs lost before the window already gone (replaced
after the start-up delay); its outcome shares are then weighted by the interval's *observed
requests* (the trace's arrivals, or rate x interval), so ``requests`` in the report is the
trace's count (times ``rate_scale``), never a peak rate times a window (issue 19). When the
whole horizon is at most one window it is replayed in one piece, plan changes included.
"""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Iterator, Mapping
from dataclasses import dataclass

import numpy as np

from cost_models.units import MS_PER_S, SECONDS_PER_HOUR
from cost_models.workload import read_arrivals_ms
from formulations.cocktail.deployment import CocktailDeployment
from formulations.cocktail.simulate import SubsetOk
from formulations.cocktail.verify import interval_cost_usd
from formulations.cocktail.view import CocktailView
from formulations.replay.arrivals import CHUNK, Chunk
from formulations.replay.core import PlanChange, Request, Simulation, Station, seeded
from formulations.replay.policies import FixedBatch, ProfileService
from formulations.replay.schema import ALL, ClassResult, PoolResult, ReplayReport
from formulations.replay.stats import FLUSH_EVERY, ClassCounts, Recorder

DEFAULT_WINDOW_S = 10.0  # s replayed per interval when intervals are longer
DEFAULT_VM_STARTUP_S = 180.0  # s: Cocktail's launch overhead (modules/scheduler.py, x 180 s)


@dataclass
class CocktailOutcome:
    """One plan's replay: the common per-class counts and Cocktail's targets-met share."""

    counts: list[ClassCounts]
    targets_met: list[float]  # per class, weighted requests that met SLO and accuracy
    cost_usd: float
    pools: dict[str, list[float]]  # pool -> [busy executor-s, executor-s, replayed s]

    def targets_met_share(self) -> float:
        total = sum(c.requests for c in self.counts)
        return sum(self.targets_met) / total if total else 1.0


@dataclass
class _Parent:
    klass: int
    fanout: int
    members: tuple[int, ...]
    arrival_s: float
    deadline_s: float
    seen: int = 0
    finished: int = 0
    last_s: float = 0.0
    on_time_mask: int = 0
    dropped: bool = False


class _ForkJoin(Recorder):
    """A recorder of fork-join requests: children (one per ensemble member) arrive with
    consecutive ids; a parent is served when its last child is, and its outcome (latency =
    the last child's completion, the on-time members) goes into per-class counts."""

    def __init__(self, n_classes: int, subset_ok: SubsetOk, targets: list[float]) -> None:
        super().__init__(n_classes)
        self.subset_ok = subset_ok
        self.targets = targets
        self.fanouts: deque[tuple[int, tuple[int, ...]]] = deque()
        self.met = [0.0] * n_classes
        self._open: _Parent | None = None
        self._of: dict[int, _Parent] = {}
        self._member_of: dict[int, int] = {}

    def unservable(self, klass: int) -> None:
        """A request one of whose members has no pool: it arrives and is dropped."""
        self.classes[klass].requests += 1
        self.classes[klass].dropped += 1

    def arrived(self, request: Request) -> None:
        parent = self._open
        if parent is None or parent.seen == parent.fanout:
            klass, members = self.fanouts.popleft()
            parent = _Parent(klass, len(members), members, request.arrival_s, request.deadline_s)
            self._open = parent
            self.classes[klass].requests += 1
        self._member_of[request.rid] = parent.seen
        parent.seen += 1
        self._of[request.rid] = parent

    def _finish(self, rid: int, now: float | None) -> None:
        parent = self._of.pop(rid)
        member = self._member_of.pop(rid)
        parent.finished += 1
        if now is None:
            parent.dropped = True
        else:
            parent.last_s = max(parent.last_s, now)
            if now <= parent.deadline_s:
                parent.on_time_mask |= 1 << member
        if parent.finished < parent.fanout:
            return
        counts = self.classes[parent.klass]
        if parent.dropped:
            counts.dropped += 1
        else:
            latency_s = parent.last_s - parent.arrival_s
            counts.served += 1
            counts.latency_sum_s += latency_s
            if parent.last_s > parent.deadline_s:
                counts.late += 1
            self._class_buffer.append(parent.klass)
            self._latency_buffer.append(latency_s)
            if len(self._latency_buffer) >= FLUSH_EVERY:
                self.flush()
        ok = self.subset_ok.flags(parent.members, self.targets[parent.klass])
        if parent.on_time_mask and ok[parent.on_time_mask]:
            self.met[parent.klass] += 1.0

    def served(self, request: Request, now: float) -> None:
        self._finish(request.rid, now)

    def dropped(self, request: Request) -> None:
        self._finish(request.rid, None)


@dataclass(frozen=True)
class _Layout:
    """Stations of every pool a plan uses, executors per VM and the routing per interval."""

    pools: list[tuple[int, int]]  # station -> (m, i)
    executors: list[int]  # per station, executors of one VM
    # per interval, class: the ensemble (model indices) and per member the stations and
    # their route shares
    routes: list[list[tuple[tuple[int, ...], list[tuple[list[int], np.ndarray]]]]]


def _layout(view: CocktailView, deployment: CocktailDeployment) -> _Layout:
    mi, ii = view.model_index, view.instance_index
    station: dict[tuple[int, int], int] = {}
    for plan in deployment.intervals:
        for p in plan.pools:
            station.setdefault((mi[p.model], ii[p.instance_type]), len(station))
        for c in plan.classes:
            for r in c.routes:
                station.setdefault((mi[r.model], ii[r.instance_type]), len(station))
    pools = list(station)
    executors = [
        max(1, round(float(view.capacity_qps[m, i] * view.latency_ms[m, i]) / MS_PER_S))
        for m, i in pools
    ]
    routes = []
    for plan in deployment.intervals:
        per_class = []
        for c in plan.classes:
            members = tuple(mi[m] for m in c.members)
            shares: list[tuple[list[int], np.ndarray]] = []
            for name in c.members:
                mine = [r for r in c.routes if r.model == name]
                where = [station[(mi[r.model], ii[r.instance_type])] for r in mine]
                weight = np.array([r.qps for r in mine], dtype=float)
                if not where:  # a member with no route: served nowhere (dropped)
                    shares.append(([], weight))
                    continue
                total = weight.sum()
                weight = weight / total if total > 0 else np.full(len(where), 1.0 / len(where))
                shares.append((where, weight))
            per_class.append((members, shares))
        routes.append(per_class)
    return _Layout(pools, executors, routes)


def _arrival_times_s(
    view: CocktailView,
    k: int,
    t: int,
    lo_s: float,
    hi_s: float,
    scale: float,
    rng: np.random.Generator,
    trace_s: np.ndarray | None,
) -> np.ndarray:
    """Arrival times of class k in ``[lo_s, hi_s)`` (absolute seconds, inside interval t)."""
    if trace_s is not None:
        inside = trace_s[(trace_s >= lo_s) & (trace_s < hi_s)]
        if scale == 1.0:
            return inside
        whole = int(scale)
        extra = rng.random(len(inside)) < scale - whole
        return np.sort(np.concatenate([np.repeat(inside, whole), inside[extra]]))
    rate = float(view.actual_qps[k, t]) * scale
    n = int(rng.poisson(rate * (hi_s - lo_s)))
    return np.sort(lo_s + rng.random(n) * (hi_s - lo_s))


def _segments(
    view: CocktailView, window_s: float, rng: np.random.Generator
) -> list[tuple[float, float]]:
    """The replayed spans (absolute s): the whole horizon when it fits one window, else one
    window per interval at a random offset inside it."""
    interval_s = view.interval_h * SECONDS_PER_HOUR
    horizon_s = interval_s * view.n_intervals
    if horizon_s <= window_s:
        return [(0.0, horizon_s)]
    width = min(window_s, interval_s)
    starts = [
        t * interval_s + float(rng.random()) * (interval_s - width) for t in range(view.n_intervals)
    ]
    return [(lo, lo + width) for lo in starts]


def replay_plan(
    view: CocktailView,
    deployment: CocktailDeployment,
    seed: int,
    window_s: float = DEFAULT_WINDOW_S,
    rate_scale: float = 1.0,
    traces_s: Mapping[int, np.ndarray] | None = None,
) -> CocktailOutcome:
    """One seeded replay of ``deployment`` (see the module docstring)."""
    rng = seeded(seed)
    layout = _layout(view, deployment)
    interval_s = view.interval_h * SECONDS_PER_HOUR
    startup_s = view.startup_h * SECONDS_PER_HOUR or DEFAULT_VM_STARTUP_S
    subset_ok = SubsetOk(view)
    targets = [c.accuracy_target for c in view.classes]
    n_k = len(view.classes)
    total = [ClassCounts() for _ in range(n_k)]
    met = [0.0] * n_k
    traces = traces_s or {}
    pools: dict[str, list[float]] = {}
    for lo_s, hi_s in _segments(view, window_s, rng):
        first = int(lo_s // interval_s)
        last = min(view.n_intervals - 1, math.ceil(hi_s / interval_s) - 1)
        recorder = _ForkJoin(n_k, subset_ok, targets)
        stations = [
            Station(
                f"{view.models[m]}@{view.instances[i]}",
                FixedBatch(ProfileService([float(view.latency_ms[m, i]) / MS_PER_S])),
                workers=0,
            )
            for m, i in layout.pools
        ]
        changes = _plan_changes(view, deployment, layout, first, last, lo_s, hi_s, startup_s, rng)
        sim = Simulation(
            stations,
            recorder,
            [c.slo_ms / MS_PER_S for c in view.classes],
            routes=[(s,) for s in range(len(stations))],
        )
        chunks = _children(view, layout, first, last, lo_s, hi_s, rate_scale, rng, traces, recorder)
        sim.run(chunks, changes)
        for station in stations:  # left waiting in a pool with no executor: never served
            for request in station.policy.drain():
                recorder.dropped(request)
            busy = pools.setdefault(station.name, [0.0, 0.0, 0.0])
            busy[0] += station.busy_s
            busy[1] += station.worker_s(hi_s)
            busy[2] += hi_s - lo_s
        recorder.flush()
        for k in range(n_k):
            seen = recorder.classes[k].requests
            # the span stands for every observed request of the intervals it samples
            observed = rate_scale * float(view.actual_requests[k, first : last + 1].sum())
            weight = observed / seen if seen else 0.0
            _add_scaled(total[k], recorder.classes[k], weight, observed)
            met[k] += weight * recorder.met[k]
    return CocktailOutcome(total, met, float(sum(interval_cost_usd(view, deployment))), pools)


def class_traces_s(view: CocktailView) -> dict[int, np.ndarray]:
    """Arrival times (s) of every class whose load is a trace."""
    return {
        k: read_arrivals_ms(c.load.trace) / MS_PER_S
        for k, c in enumerate(view.classes)
        if c.load.trace is not None
    }


def replay_all(
    view: CocktailView,
    deployments: Mapping[str, CocktailDeployment],
    runs: int,
    seed: int,
    window_s: float = DEFAULT_WINDOW_S,
    rate_scale: float = 1.0,
) -> tuple[ReplayReport, dict[str, CocktailOutcome]]:
    """Replay every plan ``runs`` times (run r uses seed ``seed + r`` for every plan: common
    random numbers across plans); the common report and each plan's summed outcome."""
    traces = class_traces_s(view)
    horizon_s = view.interval_h * SECONDS_PER_HOUR * view.n_intervals
    report = ReplayReport(runs=runs, seed=seed, span_s=horizon_s, window_s=None)
    outcomes = {}
    labels = [c.name for c in view.classes]
    for name, deployment in deployments.items():
        summed: CocktailOutcome | None = None
        for r in range(runs):
            one = replay_plan(view, deployment, seed + r, window_s, rate_scale, traces)
            summed = one if summed is None else _merge(summed, one)
        assert summed is not None
        outcomes[name] = summed
        report.add_plan(name, labels, summed.counts, horizon_s)
        for pool, (busy_s, worker_s, span_s) in summed.pools.items():
            report.pools.append(
                PoolResult(
                    name,
                    pool,
                    round(worker_s / span_s, 3) if span_s else 0.0,
                    round(100 * busy_s / worker_s, 3) if worker_s else 0.0,
                    0.0,
                )
            )
    return report, outcomes


def _merge(a: CocktailOutcome, b: CocktailOutcome) -> CocktailOutcome:
    for mine, other in zip(a.counts, b.counts, strict=True):
        mine.merge(other)
    pools = dict(a.pools)
    for pool, values in b.pools.items():
        pools[pool] = [x + y for x, y in zip(pools.get(pool, [0.0] * 3), values, strict=True)]
    return CocktailOutcome(
        a.counts,
        [x + y for x, y in zip(a.targets_met, b.targets_met, strict=True)],
        a.cost_usd,
        pools,
    )


def cocktail_rows(
    report: ReplayReport, outcomes: Mapping[str, CocktailOutcome]
) -> list[list[float | str | None]]:
    """Per plan: requests, targets met %, SLO attainment %, p50 / p99 latency (ms), cost."""
    overall = {c.plan: c for c in report.classes if c.klass == ALL}
    rows: list[list[float | str | None]] = []
    for name, outcome in outcomes.items():
        row: ClassResult = overall[name]
        rows.append(
            [
                name,
                row.requests,
                round(100 * outcome.targets_met_share(), 3),
                row.slo_attainment_pct,
                row.p50_latency_ms,
                row.p99_latency_ms,
                round(outcome.cost_usd, 4),
            ]
        )
    return rows


def _add_scaled(into: ClassCounts, part: ClassCounts, weight: float, requests: float) -> None:
    """Add a replayed span's counts, each request standing for ``weight`` observed ones."""
    into.requests += round(requests)
    into.served += round(weight * part.served)
    into.late += round(weight * part.late)
    into.dropped += round(weight * part.dropped)
    into.latency_sum_s += weight * part.latency_sum_s
    into.histogram.merge(part.histogram, weight)


def _plan_changes(
    view: CocktailView,
    deployment: CocktailDeployment,
    layout: _Layout,
    first: int,
    last: int,
    lo_s: float,
    hi_s: float,
    startup_s: float,
    rng: np.random.Generator,
) -> list[PlanChange]:
    """Absolute executor counts of every station over the span: the plan's VMs at each
    interval start (the span's start for the first), minus spot VMs reclaimed, plus their
    replacements after ``startup_s``."""
    interval_s = view.interval_h * SECONDS_PER_HOUR
    index = {pool: s for s, pool in enumerate(layout.pools)}
    events: list[tuple[float, int, int]] = []  # (time, station, +-VMs)
    for t in range(first, last + 1):
        start_s, end_s = t * interval_s, (t + 1) * interval_s
        plan = deployment.intervals[t]
        counts = {
            index[(view.model_index[p.model], view.instance_index[p.instance_type])]: p
            for p in plan.pools
        }
        for s in range(len(layout.pools)):
            pool = counts.get(s)
            od, sp = (pool.on_demand, pool.spot) if pool is not None else (0, 0)
            at = max(start_s, lo_s) if t == first else start_s
            events.append((at, s, 0))  # marker: reset to the plan's count (below)
            events.append((at, s, od + sp))
            i = layout.pools[s][1]
            rate = float(view.spot_rate_per_h[i]) / SECONDS_PER_HOUR
            if sp == 0 or rate <= 0:
                continue
            for lost_at in start_s + rng.exponential(1.0 / rate, size=sp):
                back = lost_at + startup_s
                if lost_at < end_s and back > at:
                    events.append((max(lost_at, at), s, -1))
                    if back < end_s:
                        events.append((back, s, +1))
    changes = []
    alive: dict[int, int] = {}
    for time_s, s, delta in sorted(events, key=lambda e: (e[0], e[1])):
        if time_s >= hi_s:
            continue
        if delta == 0:
            alive[s] = 0
            continue
        alive[s] = alive.get(s, 0) + delta
        changes.append(PlanChange(time_s, s, workers=max(0, alive[s]) * layout.executors[s]))
    return changes


def _children(
    view: CocktailView,
    layout: _Layout,
    first: int,
    last: int,
    lo_s: float,
    hi_s: float,
    rate_scale: float,
    rng: np.random.Generator,
    traces: Mapping[int, np.ndarray],
    recorder: _ForkJoin,
) -> Iterator[Chunk]:
    """Chunks of child requests (one per member of each arrival's ensemble), in time order;
    each arrival's (class, members) is queued on ``recorder.fanouts`` before its chunk."""
    interval_s = view.interval_h * SECONDS_PER_HOUR
    for t in range(first, last + 1):
        a, b = max(lo_s, t * interval_s), min(hi_s, (t + 1) * interval_s)
        if b <= a:
            continue
        times = [
            _arrival_times_s(view, k, t, a, b, rate_scale, rng, traces.get(k))
            for k in range(len(view.classes))
        ]
        klass = np.concatenate([np.full(len(x), k) for k, x in enumerate(times)]).astype(np.int64)
        when = np.concatenate(times) if times else np.zeros(0)
        order = np.argsort(when, kind="stable")
        when, klass = when[order], klass[order]
        out_t: list[float] = []
        out_k: list[int] = []
        out_r: list[int] = []
        picks = {}
        for k, (_, shares) in enumerate(layout.routes[t]):
            n = int(np.sum(klass == k))
            picks[k] = [
                rng.choice(where, size=n, p=weight) if where else np.full(n, -1)
                for where, weight in shares
            ]
        used = dict.fromkeys(picks, 0)
        for when_s, k in zip(when.tolist(), klass.tolist(), strict=True):
            members, shares = layout.routes[t][k]
            j = used[k]
            used[k] += 1
            chosen = [int(p[j]) for p in picks[k]]
            if any(c < 0 for c in chosen):
                recorder.unservable(k)
                continue
            recorder.fanouts.append((k, members))
            for c in chosen:
                out_t.append(when_s)
                out_k.append(k)
                out_r.append(c)
            if len(out_t) >= CHUNK:
                yield _chunk(out_t, out_k, out_r)
                out_t, out_k, out_r = [], [], []
        if out_t:
            yield _chunk(out_t, out_k, out_r)


def _chunk(times: list[float], klass: list[int], route: list[int]) -> Chunk:
    n = len(times)
    return Chunk(
        np.asarray(times, dtype=float),
        np.asarray(klass, dtype=np.int64),
        np.ones(n, dtype=np.int64),
        np.asarray(route, dtype=np.int64),
    )
