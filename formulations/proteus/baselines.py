"""Baselines solved on the same inputs as the MILP, with the same headroom rule.

Each produces a full :class:`ProteusDeployment` (every window), which the engine verifies
with the plan's verifier and scores like the plan. Public code cited is Proteus's
repository (UMass-LIDS/Proteus, commit 6967c93, see ``../shared/reference/proteus/
settings.md``), which runs every baseline of the Proteus paper (ASPLOS '24, evaluation).

* ``clipper_ha``: every family served only by its most accurate variant that can meet the
  SLO on some device type (Clipper's high-accuracy configuration).
* ``clipper_la``: only its least accurate such variant (Clipper's low-accuracy one).
* ``sommelier``: each device keeps the family it was given in the first window (the MILP's
  plan for that window); within its family it may switch variant every window. Devices
  idle in the first window stay idle.
* ``infaas``: an INFaaS-style greedy per window: start every family on its most accurate
  placeable variant; pack families (largest required capacity first) onto the free device
  type with the highest capacity for that variant until beta x demand is covered; while
  packing fails, downgrade the family whose next-lower variant loses the least
  demand-weighted accuracy; when every family is at its least accurate variant, lower beta.

A baseline that finds no plan in some window (at any headroom level) has no plan.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass
from functools import partial

from formulations.proteus.deployment import ProteusDeployment, WindowPlan, window_plan
from formulations.proteus.milp import Restriction, candidates, solve_window
from formulations.proteus.view import ProteusView
from formulations.tolerances import geq
from formulations.types import (
    BaselineRun,
    InfeasibleError,
    MilpSolver,
    NoSolution,
    SolveStatus,
    run_baseline,
)

SOURCES = {
    "clipper_ha": "Clipper (NSDI '17) high-accuracy configuration as the Proteus paper runs "
    "it: Proteus repository configs/*/clipper_highacc.json (variants "
    "traces/model_variants_proteus_noscaling), algorithms/clipper.py Clipper.apply_solution; "
    "here the MILP restricted to each family's most accurate SLO-feasible variant",
    "clipper_la": "Clipper (NSDI '17) low-accuracy configuration as the Proteus paper runs "
    "it: Proteus repository configs/*/clipper_lowacc.json (variants "
    "traces/model_variants_clipper_lowacc), algorithms/clipper.py Clipper.apply_solution; "
    "here the MILP restricted to each family's least accurate SLO-feasible variant",
    "sommelier": "Sommelier as the Proteus paper runs it: Proteus repository "
    "configs/*/sommelier.json, algorithms/ilp.py Ilp.run with static='spec_acc' "
    "(Ilp.add_spec_acc_constraints keeps each device's family); here the families are "
    "those of the MILP's first window",
    "infaas": "INFaaS (ATC '21) as the Proteus paper runs it: Proteus repository "
    "core/executor.py Executor.trigger_infaas_upscaling / trigger_infaas_downscaling "
    "(most accurate variant first, downgrade while capacity is short); here a greedy "
    "packing per window",
}


@dataclass(frozen=True)
class WindowChoice:
    beta: float
    devices: dict[tuple[str, str], int]
    routed_qps: dict[tuple[str, str], float]


def clipper_restriction(view: ProteusView, most_accurate: bool) -> Restriction:
    pairs: set[tuple[str, str]] = set()
    for f in view.families:
        options = view.placeable[f]
        if options:
            chosen = options[-1] if most_accurate else options[0]
            pairs.update(
                (d, chosen.name) for d in view.device_types if (d, chosen.name) in view.capacity
            )
    return Restriction(pairs=frozenset(pairs))


def family_devices(
    view: ProteusView, devices: Mapping[tuple[str, str], int]
) -> dict[tuple[str, str], int]:
    """Devices per (device type, family) of a plan: Sommelier's fixed assignment."""
    fixed: dict[tuple[str, str], int] = defaultdict(int)
    for (d, v), count in devices.items():
        fixed[(d, view.family_of[v])] += count
    return dict(fixed)


def _no_plan(view: ProteusView, window: int, name: str) -> InfeasibleError:
    start_s = view.window_starts_s[window]
    return InfeasibleError(
        f"window {window} ({start_s:g} s): {name} finds no plan at any headroom level "
        f"down to beta {view.levels[-1]:g}"
    )


def solve_restricted(
    view: ProteusView, solver: MilpSolver, restriction: Restriction, name: str
) -> ProteusDeployment:
    """The MILP restricted to what a baseline may use, in every window."""
    usable = candidates(view, restriction)
    windows: list[WindowPlan] = []
    for w in range(view.windows):
        try:
            solution = solve_window(view, solver, w, usable)
        except NoSolution as exc:
            if exc.result.status is SolveStatus.INFEASIBLE:
                raise _no_plan(view, w, name) from None
            raise
        windows.append(window_plan(view, w, solution.beta, solution.devices, solution.routed_qps))
    return ProteusDeployment(windows=windows)


def _pack(
    view: ProteusView, demand: Mapping[str, float], choice: Mapping[str, str], beta: float
) -> WindowChoice | None:
    inputs = view.inputs
    free = dict(view.device_count)
    devices: dict[tuple[str, str], int] = defaultdict(int)
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
    demand = view.demand(window)
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


def infaas_greedy(view: ProteusView) -> ProteusDeployment:
    windows: list[WindowPlan] = []
    for w in range(view.windows):
        choice = infaas_window(view, w)
        if choice is None:
            raise _no_plan(view, w, "the INFaaS greedy")
        windows.append(window_plan(view, w, choice.beta, choice.devices, choice.routed_qps))
    return ProteusDeployment(windows=windows)


def baselines(
    view: ProteusView, solver: MilpSolver, plan: ProteusDeployment
) -> list[BaselineRun[ProteusDeployment]]:
    if not view.inputs.baselines:
        return []
    first = {(p.device_type, p.variant): p.devices for p in plan.windows[0].placements}
    sommelier = Restriction(family_devices=family_devices(view, first))
    restricted = {
        "clipper_ha": clipper_restriction(view, most_accurate=True),
        "clipper_la": clipper_restriction(view, most_accurate=False),
        "sommelier": sommelier,
    }
    runs = [
        run_baseline(name, SOURCES[name], partial(solve_restricted, view, solver, r, name))
        for name, r in restricted.items()
    ]
    runs.append(run_baseline("infaas", SOURCES["infaas"], partial(infaas_greedy, view)))
    return runs
