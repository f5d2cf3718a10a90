"""Seeded replay of a Proteus plan and its baselines on the shared core (``planner simulate``).

One :class:`~formulations.replay.core.Station` per device that hosts a variant in some
window, with one executor (a Proteus predictor). Its batching policy is the planner's
(``BATCHING``): Proteus's accscale (:class:`~formulations.replay.policies.AdaptiveBatch`,
event by event as UMass-LIDS/Proteus ``core/predictor.py`` ``Predictor``: lazy, a batch
starts at the head's latest start or at a batch end, capped at the plan's batch, the
largest within SLO / 2) for the MILP and Sommelier (which Proteus's simulator runs with
accscale), Clipper's step-wise AIMD over the allowed sizes for Clipper-HA/LA, and INFaaS's
fixed batch (the plan's batch, work-conserving). Latencies are the view's per (device type,
variant, batch) latencies, deterministic as in Proteus's simulator (optional log-normal
noise); a batch of b requests runs as the smallest allowed size >= b (padded).

Arrivals, window by window (the plan's windows of ``trace.window_s``): a family with a trace
replays the trace's arrival times (``given``) when ``demand_scale`` is 1, else a Poisson
stream at the trace's per-second counts x ``demand_scale`` (``stepped``); a family with a
constant demand is Poisson at ``demand_qps x demand_scale``. Each request goes to a device
drawn by its window's ``share_of_family``; the share the plan leaves unrouted goes to a sink
that sheds it (dropped). At each window start a device whose variant changes gets a
:class:`~formulations.replay.core.PlanChange` (the new variant's policy, loaded for
``load_s``); a device idle in a window keeps its model and gets no traffic.

``planner simulate`` options (:class:`~formulations.types.SimulateOptions`): ``rate_scale``
multiplies ``demand_scale`` (the scaled path above); ``duration_s`` replays the plan's first
``duration_s`` seconds (at most its span); ``trace`` replaces every family's arrivals by a
trace file (:mod:`formulations.replay.trace`; class = family, drawn by the families' planned
demand when the file has no class column), each request routed by the shares of the window
it arrives in, arrivals past the plan's span left out.

No warm-up is left out: the trace starts empty, as Proteus's simulator does. Effective
accuracy is the mean normalised accuracy of the variants that served requests on time
(best of family = 100); the accuracy drop is 100 minus it; timeouts are late plus dropped.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from functools import partial
from typing import Any

import numpy as np

from cost_models.units import MS_PER_S
from cost_models.workload import read_arrivals_ms
from formulations.proteus.deployment import ProteusDeployment
from formulations.proteus.view import ProteusView
from formulations.replay.arrivals import Chunk, Mix, stepped
from formulations.replay.core import (
    BatchPolicy,
    Dispatch,
    Drop,
    PlanChange,
    Request,
    Simulation,
    Station,
    seeded,
)
from formulations.replay.policies import (
    AdaptiveBatch,
    AimdBatch,
    FixedBatch,
    ProfileService,
    Shed,
    padded_latency_s,
)
from formulations.replay.schema import PoolResult, ReplayReport
from formulations.replay.stats import ClassCounts, Recorder
from formulations.replay.trace import TraceFile, trace_of
from formulations.types import InputError, SimulateOptions, Table

PLAN = "milp"  # the report's name for the planner's own deployment
# The batching each planner's deployment is served with (Proteus repository configs/*/*.json
# "batching", see ../shared/reference/proteus/settings.md Sec. 6; INFaaS as issue 12 says).
BATCHING = {
    PLAN: "adaptive",
    "clipper_ha": "aimd",
    "clipper_la": "aimd",
    "sommelier": "adaptive",
    "infaas": "fixed",
}
STEP_S = 1.0  # s, the step of a scaled trace's rates (Proteus's traces are per-second)
SINK = "unrouted"  # the station shedding demand the plan routes to no device
SUMMARY_KEYS = (
    "planner",
    "requests",
    "served",
    "late",
    "dropped",
    "timeout_pct",
    "p99_latency_ms",
    "effective_accuracy",
    "accuracy_drop",
)
BEST_ACCURACY = 100.0  # % normalised accuracy of a family's best variant


@dataclass(frozen=True)
class ReplaySettings:
    """How a replay runs: model-load delay on a plan change, service-time noise and the
    arrivals (``planner simulate``'s rate scale, span and trace file)."""

    load_s: float = 0.0  # s per model load (not in Proteus's reference settings: off)
    noise_cv: float = 0.0  # coefficient of variation of a batch's latency (0: as profiled)
    rate_scale: float = 1.0  # multiplies demand_scale
    duration_s: float | None = None  # replay the plan's first duration_s s (None: all)
    trace: TraceFile | None = None  # arrivals from a trace file instead of the scenario's
    # route all of a family's requests to its devices in proportion to the plan's shares (as
    # Proteus's simulator normalises its canary routing weights) instead of shedding the
    # share the plan leaves unrouted
    normalise_shares: bool = False


def settings_of(view: ProteusView, options: SimulateOptions) -> ReplaySettings:
    """The replay settings of ``planner simulate``'s options (exit 2 when out of range)."""
    trace = trace_of(options, view.families)
    span_s = view.inputs.trace.window_s * view.windows
    if options.duration_s is not None and options.duration_s > span_s:
        raise InputError(
            None, "--duration-s", f"at most the plan's span, {span_s:g} s", options.duration_s
        )
    return ReplaySettings(rate_scale=options.rate_scale, duration_s=options.duration_s, trace=trace)


@dataclass
class PlanReplay:
    """What one deployment's replay gave, summed over runs."""

    families: list[str]
    counts: list[ClassCounts]
    span_s: float  # simulated (planned) seconds per run
    busy_s: dict[str, float]  # per device type, executor-seconds busy (all runs; the
    # utilisation divides it by the executor-seconds up to each run's last completion)
    loading_s: dict[str, float]
    busy_by_window_s: dict[str, list[float]]
    elapsed_s: float = 0.0  # per run, the planned span or the last completion if later
    accuracy_sum: float = 0.0  # normalised accuracy summed over on-time requests
    on_time: int = 0

    @property
    def total(self) -> ClassCounts:
        total = ClassCounts()
        for one in self.counts:
            total.merge(one)
        return total

    @property
    def effective_accuracy(self) -> float | None:
        return self.accuracy_sum / self.on_time if self.on_time else None


@dataclass
class _Score:
    """On-time completions and their accuracy, shared by one run's stations."""

    accuracy_sum: float = 0.0
    on_time: int = 0


class Scored(BatchPolicy):
    """A policy whose on-time completions add its variant's accuracy to a score."""

    def __init__(self, inner: BatchPolicy, accuracy: float, score: _Score) -> None:
        self.inner, self.accuracy, self.score = inner, accuracy, score

    def enqueue(self, request: Request, now: float) -> None:
        self.inner.enqueue(request, now)

    def take(self, now: float, drop: Drop) -> Dispatch | float | None:
        return self.inner.take(now, drop)

    def complete(self, items: list[Any], now: float) -> Iterable[Request]:
        done = list(self.inner.complete(items, now))
        on_time = sum(1 for r in done if now <= r.deadline_s)
        self.score.on_time += on_time
        self.score.accuracy_sum += on_time * self.accuracy
        return done

    def drain(self) -> list[Request]:
        return self.inner.drain()


def policy_for(
    view: ProteusView,
    batching: str,
    device_type: str,
    variant: str,
    settings: ReplaySettings,
    rng: np.random.Generator,
) -> BatchPolicy:
    """The batching policy of a device of ``device_type`` serving ``variant``."""
    by_batch_ms = view.latency_ms[(device_type, variant)]
    service = ProfileService(padded_latency_s(by_batch_ms), settings.noise_cv, rng)
    sizes = sorted(set(by_batch_ms) | {1})
    batch = view.capacity[(device_type, variant)].batch
    if batching == "adaptive":
        return AdaptiveBatch(service, sizes, cap=batch)
    if batching == "aimd":
        return AimdBatch(service, max(sizes), sizes=sizes)
    if batching == "fixed":
        return FixedBatch(service, batch)
    raise ValueError(f"batching must be adaptive, aimd or fixed, not {batching!r}")


def _trace_arrivals_s(view: ProteusView) -> dict[str, np.ndarray]:
    """Arrival times (s) of each family that has a trace."""
    return {
        f: read_arrivals_ms(spec.trace) / MS_PER_S
        for f, spec in view.inputs.families.items()
        if spec.trace is not None
    }


def _window_times_s(
    view: ProteusView,
    traces: dict[str, np.ndarray],
    family: str,
    start_s: float,
    rng: np.random.Generator,
    rate_scale: float = 1.0,
) -> np.ndarray:
    """Arrival times (s) of ``family`` in the window from ``start_s``."""
    inputs = view.inputs
    width_s, scale = inputs.trace.window_s, inputs.demand_scale * rate_scale
    if family not in traces:
        rate_qps = (inputs.families[family].demand_qps or 0.0) * scale
        chunks = stepped([rate_qps], width_s, rng)
        return start_s + np.concatenate([c.time_s for c in chunks] or [np.zeros(0)])
    times = traces[family]
    mine = times[(times >= start_s) & (times < start_s + width_s)]
    if scale == 1.0:
        return mine
    steps = int(np.ceil(width_s / STEP_S))
    counts = np.histogram(mine, bins=steps, range=(start_s, start_s + steps * STEP_S))[0]
    chunks = stepped((counts * scale / STEP_S).tolist(), STEP_S, rng)
    times_s = start_s + np.concatenate([c.time_s for c in chunks] or [np.zeros(0)])
    return times_s[times_s < start_s + width_s]


def _route(
    time_s: np.ndarray,
    klass: np.ndarray,
    shares: Sequence[np.ndarray],
    width_s: float,
    rng: np.random.Generator,
) -> Chunk:
    """Arrivals routed by the shares of the window each arrives in (``shares[w][k]``: per
    route, the share of family k)."""
    window = np.minimum((time_s // width_s).astype(np.int64), len(shares) - 1)
    route = np.zeros(len(time_s), dtype=np.int64)
    for w in np.unique(window):
        for k, row in enumerate(shares[int(w)]):
            mine = np.flatnonzero((klass == k) & (window == w))
            route[mine] = rng.choice(len(row), size=len(mine), p=row)
    return Chunk(time_s, klass, np.ones(len(time_s), dtype=np.int64), route)


def _arrivals(
    view: ProteusView,
    shares: Sequence[np.ndarray],
    traces: dict[str, np.ndarray],
    rng: np.random.Generator,
    settings: ReplaySettings,
) -> Iterator[Chunk]:
    """Every family's arrivals up to the replayed span, routed by the windows' shares: from
    the trace file when there is one, else one chunk per window of the scenario's."""
    width_s = view.inputs.trace.window_s
    until_s = settings.duration_s if settings.duration_s is not None else width_s * view.windows
    if settings.trace is not None:
        demand = view.demand_qps.sum(axis=0)
        mix = Mix(tuple(demand / demand.sum()) if demand.sum() > 0 else (1.0,) * len(demand))
        for part in settings.trace.chunks(rng, mix, settings.rate_scale, until_s):
            yield _route(part.time_s, part.klass, shares, width_s, rng)
        return
    for start_s in view.window_starts_s:
        if start_s >= until_s:
            return
        times = [
            _window_times_s(view, traces, f, start_s, rng, settings.rate_scale)
            for f in view.families
        ]
        klass = np.concatenate([np.full(len(t), k, dtype=np.int64) for k, t in enumerate(times)])
        order = np.argsort(np.concatenate(times), kind="stable")
        time_s, klass = np.concatenate(times)[order], klass[order]
        keep = time_s < until_s
        yield _route(time_s[keep], klass[keep], shares, width_s, rng)


def _scored_policy(
    view: ProteusView,
    batching: str,
    settings: ReplaySettings,
    rng: np.random.Generator,
    score: _Score,
    device_type: str,
    variant: str,
) -> BatchPolicy:
    inner = policy_for(view, batching, device_type, variant, settings, rng)
    return Scored(inner, view.accuracy[variant], score)


def replay_plan(
    view: ProteusView,
    deployment: ProteusDeployment,
    batching: str,
    runs: int,
    seed: int,
    settings: ReplaySettings = ReplaySettings(),
) -> PlanReplay:
    """Replay ``deployment`` ``runs`` times with ``batching`` on every device."""
    windows = deployment.windows
    devices = sorted(
        {(s.device, s.device_type) for w in windows for s in w.devices if s.variant is not None}
    )
    index = {name: i for i, (name, _) in enumerate(devices)}
    sink = len(devices)
    families = view.families
    shares = []
    for w in windows:
        table = np.zeros((len(families), sink + 1))
        for s in w.devices:
            if s.family is not None:
                table[families.index(s.family), index[s.device]] += s.share_of_family
        routed = table[:, :sink].sum(axis=1)
        table[:, sink] = np.maximum(0.0, 1.0 - routed)
        if settings.normalise_shares:
            table[routed > 0, sink] = 0.0
        shares.append(table / table.sum(axis=1, keepdims=True))
    traces = _trace_arrivals_s(view) if settings.trace is None else {}
    width_s = view.inputs.trace.window_s
    span_s = width_s * len(windows) if settings.duration_s is None else settings.duration_s
    types = view.device_types
    result = PlanReplay(
        list(families),
        [ClassCounts() for _ in families],
        span_s,
        {d: 0.0 for d in types},
        {d: 0.0 for d in types},
        {d: [0.0] * math.ceil(span_s / width_s) for d in types},
    )
    for run in range(runs):
        score = _Score()
        noise = seeded((seed, run, 2))

        policy = partial(_scored_policy, view, batching, settings, noise, score)
        stations: list[Station] = []
        current: list[str] = []
        for name, device_type in devices:
            first = next(
                s.variant for w in windows for s in w.devices if s.device == name and s.variant
            )
            stations.append(Station(name, policy(device_type, first), window_s=width_s))
            current.append(first)
        stations.append(Station(SINK, Shed()))
        changes = []
        for w in windows[1:]:
            for s in w.devices:
                i = index.get(s.device)
                if i is None or s.variant is None or s.variant == current[i]:
                    continue
                current[i] = s.variant
                new = policy(s.device_type, s.variant)
                changes.append(PlanChange(w.window_start_s, i, new, load_s=settings.load_s))
        recorder = Recorder(len(families))
        slo_s = [view.slo_ms[f] / MS_PER_S for f in families]
        routes = [(i,) for i in range(sink + 1)]
        simulation = Simulation(stations, recorder, slo_s, routes)
        arrivals = _arrivals(view, shares, traces, seeded((seed, run, 1)), settings)
        end_s = simulation.run(arrivals, [c for c in changes if c.time_s < span_s])
        result.elapsed_s += max(span_s, end_s)
        for mine, theirs in zip(result.counts, recorder.classes, strict=True):
            mine.merge(theirs)
        for (_, device_type), station in zip(devices, stations, strict=False):
            result.busy_s[device_type] += station.busy_s
            result.loading_s[device_type] += station.loading_s
            over_time = result.busy_by_window_s[device_type]
            for k, busy in enumerate(station.busy_by_window_s[: len(over_time)]):
                over_time[k] += busy
        result.accuracy_sum += score.accuracy_sum
        result.on_time += score.on_time
    return result


@dataclass
class ProteusReplay:
    """The common report and each replayed deployment's own figures."""

    report: ReplayReport
    replays: dict[str, PlanReplay] = field(default_factory=dict)
    missing: dict[str, str] = field(default_factory=dict)  # baseline -> why it has no plan


def replay_all(
    view: ProteusView,
    deployments: Mapping[str, ProteusDeployment | None],
    runs: int,
    seed: int,
    settings: ReplaySettings = ReplaySettings(),
) -> ProteusReplay:
    """Replay every deployment (``None``: a baseline without a plan, reported missing)."""
    width_s = view.inputs.trace.window_s
    span_s = width_s * view.windows if settings.duration_s is None else settings.duration_s
    out = ProteusReplay(ReplayReport(runs, seed, span_s, width_s))
    for name, deployment in deployments.items():
        if deployment is None:
            out.missing[name] = "no plan"
            continue
        replay = replay_plan(view, deployment, BATCHING[name], runs, seed, settings)
        out.replays[name] = replay
        out.report.add_plan(name, replay.families, replay.counts, replay.span_s)
        for d in view.device_types:
            executor_s = view.device_count[d] * replay.elapsed_s
            per_window_s = view.device_count[d] * width_s * runs
            out.report.pools.append(
                PoolResult(
                    name,
                    d,
                    view.device_count[d],
                    round(100 * replay.busy_s[d] / executor_s, 3) if executor_s else 0.0,
                    round(100 * replay.loading_s[d] / executor_s, 3) if executor_s else 0.0,
                    [
                        round(100 * b / per_window_s, 3) if per_window_s else 0.0
                        for b in replay.busy_by_window_s[d]
                    ],
                )
            )
    return out


def summary_rows(
    replay: ProteusReplay, deployments: Mapping[str, ProteusDeployment | None]
) -> list[dict[str, float | int | str | None]]:
    """Per deployment: requests, served, late, dropped, timeouts %, p99 and accuracy."""
    rows: list[dict[str, float | int | str | None]] = []
    for name in deployments:
        one = replay.replays.get(name)
        if one is None:
            rows.append({"planner": name, "requests": None})
            continue
        total = one.total
        accuracy = one.effective_accuracy
        p99_s = total.histogram.quantile_s(0.99) if total.histogram.total else None
        rows.append(
            {
                "planner": name,
                "requests": total.requests,
                "served": total.served,
                "late": total.late,
                "dropped": total.dropped,
                "timeout_pct": round(100 * (total.late + total.dropped) / total.requests, 3)
                if total.requests
                else None,
                "p99_latency_ms": round(MS_PER_S * p99_s, 3) if p99_s is not None else None,
                "effective_accuracy": round(accuracy, 3) if accuracy is not None else None,
                "accuracy_drop": round(BEST_ACCURACY - accuracy, 3)
                if accuracy is not None
                else None,
            }
        )
    return rows


def simulate_tables(
    view: ProteusView,
    deployments: Mapping[str, ProteusDeployment | None],
    options: SimulateOptions,
) -> list[Table]:
    """The common replay tables, then Proteus's timeouts and accuracy per deployment."""
    runs, seed = options.runs, options.seed
    replay = replay_all(view, deployments, runs, seed, settings_of(view, options))
    rows = summary_rows(replay, deployments)
    return [
        *replay.report.tables(),
        Table(
            "Proteus replay: timeouts (late + dropped) and effective accuracy of on-time "
            "requests (no plan: blank)",
            list(SUMMARY_KEYS),
            [[r.get(k) for k in SUMMARY_KEYS] for r in rows],
        ),
    ]
