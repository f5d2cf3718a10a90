"""Baselines on the same inputs as the MILP, each as Proteus's evaluation runs it.

Each produces a full :class:`ProteusDeployment` (every window), which the engine verifies
with the plan's verifier and scores like the plan; every deployment is judged on the
actual demand (``effective_accuracy_served``: what a plan sheds counts as accuracy 0).
Public code cited is Proteus's repository (UMass-LIDS/Proteus, commit 6967c93, facts in
``../shared/reference/proteus/settings.md``), which runs every baseline of the Proteus
paper (ASPLOS '24, evaluation).

* ``clipper_ha`` / ``clipper_la``: static allocations, applied once and never re-planned,
  as ``algorithms/clipper.py`` ``Clipper.apply_solution`` does with the file of
  ``configs/*/clipper_highacc.json`` / ``clipper_lowacc.json`` (settings.md Sec. 5). With
  ``static_allocations`` the file's ``required_predictors`` are used as published (a pair
  our cost model cannot place within SLO / 2, e.g. gpt2-medium on GPU_PASCAL, serves
  nothing: its devices stay idle and its family's demand is shed); without it the
  allocation is the MILP restricted to each family's most (least) accurate SLO-feasible
  variant, solved once on the trace's mean demand (an offline "optimized" allocation,
  like the files' names say). Routing: each family's demand is split over its devices in
  proportion to their capacity, also fixed (the files' canary routing is not replayed).
* ``sommelier``: Proteus's ILP with Sommelier's configuration: beta starts at
  ``sommelier_beta`` (1.5 in ``configs/*/sommelier.json``) and degrades on the same rule;
  each device of its starting allocation keeps its family (``algorithms/ilp.py``
  ``Ilp.add_spec_acc_constraints`` with ``static='spec_acc'``), from
  ``starting_optimized_new.txt`` with ``static_allocations``, else from the MILP's first
  window; devices not in it are free; re-planned on the scenario's schedule.
* ``infaas``: an INFaaS-style greedy per re-plan: start every family on its most accurate
  placeable variant; pack families (largest required capacity first) onto the free device
  type with the highest capacity for that variant until beta x demand is covered; while
  packing fails, downgrade the family whose next-lower variant loses the least
  demand-weighted accuracy; when every family is at its least accurate variant, lower beta
  (``core/executor.py`` ``Executor.trigger_infaas_upscaling`` /
  ``trigger_infaas_downscaling``: most accurate first, downgrade while short).

Re-planning baselines plan on the same forecast and schedule as the MILP
(``forecast.py``); Proteus re-plans INFaaS every ``solve_interval`` steps without its burst
rule, which is not modelled. A baseline that finds no plan in some re-plan (at any
headroom level) has no plan.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from functools import partial

from formulations.proteus.deployment import ProteusDeployment, WindowPlan, window_plan
from formulations.proteus.milp import Restriction, candidates, solve_window
from formulations.proteus.view import ProteusView
from formulations.tolerances import geq, leq
from formulations.types import (
    BaselineRun,
    InfeasibleError,
    MilpSolver,
    NoSolution,
    SolveStatus,
    run_baseline,
)

Pair = tuple[str, str]  # (device type, variant)

SOURCES = {
    "clipper_ha": "Clipper (NSDI '17) high-accuracy configuration as the Proteus paper runs "
    "it: a static allocation applied once (Proteus repository configs/*/clipper_highacc.json, "
    "algorithms/clipper_solutions/clipper_highacc_optimized.txt, algorithms/clipper.py "
    "Clipper.apply_solution); routing by capacity share",
    "clipper_la": "Clipper (NSDI '17) low-accuracy configuration as the Proteus paper runs "
    "it: a static allocation applied once (Proteus repository configs/*/clipper_lowacc.json, "
    "algorithms/clipper_solutions/clipper_lowacc_*.txt, algorithms/clipper.py "
    "Clipper.apply_solution); routing by capacity share",
    "sommelier": "Sommelier as the Proteus paper runs it: Proteus repository "
    "configs/*/sommelier.json (beta 1.5, starting_optimized_new.txt), algorithms/ilp.py "
    "Ilp.run with static='spec_acc' (Ilp.add_spec_acc_constraints pins each starting "
    "device's family)",
    "infaas": "INFaaS (ATC '21) as the Proteus paper runs it: Proteus repository "
    "core/executor.py Executor.trigger_infaas_upscaling / trigger_infaas_downscaling "
    "(most accurate variant first, downgrade while capacity is short); here a greedy "
    "packing per re-plan",
}
CLIPPER = {"clipper_ha": True, "clipper_la": False}  # name -> most accurate variants


@dataclass(frozen=True)
class WindowChoice:
    beta: float
    devices: dict[Pair, int]
    routed_qps: dict[Pair, float]


def clipper_restriction(view: ProteusView, most_accurate: bool) -> Restriction:
    pairs: set[Pair] = set()
    for f in view.families:
        options = view.placeable[f]
        if options:
            chosen = options[-1] if most_accurate else options[0]
            pairs.update(
                (d, chosen.name) for d in view.device_types if (d, chosen.name) in view.capacity
            )
    return Restriction(pairs=frozenset(pairs))


def family_devices(view: ProteusView, devices: Mapping[Pair, int]) -> dict[tuple[str, str], int]:
    """Devices per (device type, family) of an allocation: Sommelier's pins. A pin on a
    type where no variant of the family fits within SLO / 2 is left out (Proteus's ILP has
    no plan with it: its ``disallow_infeasible_variants`` and ``spec_acc`` rows together
    leave such a device nothing to host), so that device is free."""
    fixed: dict[tuple[str, str], int] = defaultdict(int)
    for (d, v), count in devices.items():
        f = view.family_of[v]
        if any((d, w.name) in view.capacity for w in view.variants[f]):
            fixed[(d, f)] += count
    return dict(fixed)


def _no_plan(view: ProteusView, window: int, name: str) -> InfeasibleError:
    start_s = view.window_starts_s[window]
    return InfeasibleError(
        f"window {window} ({start_s:g} s): {name} finds no plan at any headroom level "
        f"down to beta {view.levels[-1]:g}"
    )


def replanned(view: ProteusView, plan: Callable[[int], WindowChoice]) -> ProteusDeployment:
    """``plan`` at every re-planned window of the scenario's schedule; the other windows
    keep the last plan."""
    windows: list[WindowPlan] = []
    choice: WindowChoice | None = None
    for w in range(view.windows):
        if choice is None or view.replans[w]:
            choice = plan(w)
        windows.append(
            window_plan(view, w, choice.beta, choice.devices, choice.routed_qps, view.replans[w])
        )
    return ProteusDeployment(windows=windows)


def milp_window(
    view: ProteusView,
    solver: MilpSolver,
    restriction: Restriction,
    name: str,
    levels: list[float],
    w: int,
) -> WindowChoice:
    """The MILP restricted to what a baseline may use, at window ``w``."""
    try:
        solution = solve_window(view, solver, w, candidates(view, restriction), levels=levels)
    except NoSolution as exc:
        if exc.result.status is SolveStatus.INFEASIBLE:
            raise _no_plan(view, w, name) from None
        raise
    return WindowChoice(solution.beta, solution.devices, solution.routed_qps)


def static_routing(view: ProteusView, devices: Mapping[Pair, int]) -> WindowChoice:
    """A static allocation's fixed routing of the first window's planned demand: each
    family split over its devices by capacity share; beta is the highest level of the
    scenario's grid that every placement meets (its floor when none is met)."""
    demand = view.planned(0)
    usable = {p: n for p, n in devices.items() if p in view.capacity and n > 0}
    capacity: dict[str, float] = defaultdict(float)
    for p, n in usable.items():
        capacity[view.family_of[p[1]]] += view.capacity[p].qps * n
    routed = {
        p: demand[view.family_of[p[1]]] * view.capacity[p].qps * n / capacity[view.family_of[p[1]]]
        for p, n in usable.items()
    }
    beta = next(
        (
            level
            for level in view.levels
            if all(leq(level * routed[p], view.capacity[p].qps * n) for p, n in usable.items())
        ),
        view.levels[-1],
    )
    return WindowChoice(beta, usable, routed)


def static_allocation(view: ProteusView, solver: MilpSolver, name: str) -> dict[Pair, int]:
    """A Clipper allocation: the published file's, or the restricted MILP on the trace's
    mean demand (module docstring)."""
    if name in view.static:
        return view.static[name]
    mean = view.demand_qps.mean(axis=0)
    solution = solve_window(
        view,
        solver,
        0,
        candidates(view, clipper_restriction(view, CLIPPER[name])),
        demand={f: float(q) for f, q in zip(view.families, mean, strict=True)},
    )
    return solution.devices


def static_deployment(view: ProteusView, solver: MilpSolver, name: str) -> ProteusDeployment:
    """Clipper: one allocation and routing for every window, planned once."""
    devices = static_allocation(view, solver, name)
    choice = static_routing(view, devices)
    first = view.forecast(0)
    windows = [
        window_plan(view, w, choice.beta, choice.devices, choice.routed_qps, w == 0, first)
        for w in range(view.windows)
    ]
    return ProteusDeployment(windows=windows)


def _pack(
    view: ProteusView, demand: Mapping[str, float], choice: Mapping[str, str], beta: float
) -> WindowChoice | None:
    inputs = view.inputs
    free = dict(view.device_count)
    devices: dict[Pair, int] = defaultdict(int)
    capacity_of: dict[str, float] = defaultdict(float)
    for f in sorted(view.families, key=lambda f: (-beta * demand[f], f)):
        v = choice[f]
        count = 0
        while not geq(capacity_of[f], beta * demand[f]) or count < inputs.min_devices_per_family:
            options = [d for d in view.device_types if free[d] > 0 and (d, v) in view.capacity]
            if not options:
                return None
            d = max(options, key=lambda d: (view.capacity[(d, v)].qps, d))
            free[d] -= 1
            devices[(d, v)] += 1
            capacity_of[f] += view.capacity[(d, v)].qps
            count += 1
    if inputs.all_devices_on:  # idle devices join the first family that can use them
        for d in view.device_types:
            for f in sorted(view.families, key=lambda f: (-demand[f], f)):
                if (d, choice[f]) in view.capacity and free[d] > 0:
                    devices[(d, choice[f])] += free[d]
                    capacity_of[f] += view.capacity[(d, choice[f])].qps * free[d]
                    free[d] = 0
            if free[d] > 0:
                return None
    family_of = {v: f for f, v in choice.items()}
    routed = {
        (d, v): demand[family_of[v]] * view.capacity[(d, v)].qps * n / capacity_of[family_of[v]]
        for (d, v), n in devices.items()
    }
    return WindowChoice(beta, dict(devices), routed)


def infaas_window(view: ProteusView, window: int) -> WindowChoice | None:
    demand = view.planned(window)
    options = view.placeable
    if not all(options.values()):
        return None
    for beta in view.levels:
        level = {f: len(options[f]) - 1 for f in view.families}
        while True:
            plan = _pack(view, demand, {f: options[f][level[f]].name for f in level}, beta)
            if plan is not None:
                return plan
            downgradable = [f for f in view.families if level[f] > 0]
            if not downgradable:
                break
            f = min(
                downgradable,
                key=lambda f: (
                    (options[f][level[f]].accuracy - options[f][level[f] - 1].accuracy) * demand[f],
                    f,
                ),
            )
            level[f] -= 1
    return None


def _infaas_choice(view: ProteusView, w: int) -> WindowChoice:
    choice = infaas_window(view, w)
    if choice is None:
        raise _no_plan(view, w, "the INFaaS greedy")
    return choice


def infaas_greedy(view: ProteusView) -> ProteusDeployment:
    return replanned(view, partial(_infaas_choice, view))


def sommelier_pins(view: ProteusView, plan: ProteusDeployment) -> dict[tuple[str, str], int]:
    """Sommelier's starting allocation's families per device type (module docstring)."""
    if "sommelier" in view.static:
        start = view.static["sommelier"]
    else:
        start = {(p.device_type, p.variant): p.devices for p in plan.windows[0].placements}
    return family_devices(view, start)


def sommelier(
    view: ProteusView, solver: MilpSolver, plan: ProteusDeployment
) -> ProteusDeployment | None:
    """None when its published starting allocation does not fit the cluster."""
    if over_cluster(view, "sommelier"):
        return None
    restriction = Restriction(family_devices=sommelier_pins(view, plan))
    window = partial(milp_window, view, solver, restriction, "Sommelier", view.sommelier_levels)
    return replanned(view, window)


def static_note(view: ProteusView, name: str) -> str:
    """Where a Clipper allocation comes from, for its source line."""
    if name in view.static:
        source = view.inputs.static_allocations
        assert source is not None
        return f"; allocation as published ({getattr(source, name)})"
    return "; allocation derived: restricted MILP on the trace's mean demand"


def over_cluster(view: ProteusView, name: str) -> str:
    """Why a published allocation does not fit the scenario's cluster ('' when it does)."""
    for d, count in view.device_count.items():
        used = sum(n for (dd, _), n in view.static.get(name, {}).items() if dd == d)
        if used > count:
            return f"the published allocation uses {used} {d} devices, the cluster has {count}"
    return ""


def baselines(
    view: ProteusView, solver: MilpSolver, plan: ProteusDeployment
) -> list[BaselineRun[ProteusDeployment]]:
    if not view.inputs.baselines:
        return []
    runs = [
        run_baseline(
            name,
            SOURCES[name] + static_note(view, name),
            partial(static_deployment, view, solver, name),
        )
        if not (excess := over_cluster(view, name))
        else run_baseline(name, SOURCES[name] + static_note(view, name), lambda: None, excess)
        for name in CLIPPER
    ]
    runs.append(
        run_baseline(
            "sommelier",
            SOURCES["sommelier"],
            partial(sommelier, view, solver, plan),
            over_cluster(view, "sommelier"),
        )
    )
    runs.append(run_baseline("infaas", SOURCES["infaas"], partial(infaas_greedy, view)))
    return runs
