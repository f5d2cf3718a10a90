"""Baselines solved on the same inputs as the MILP, with the same headroom rule.

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

Each baseline returns, per window, its (beta, devices, routing) or None when it finds no
plan at any headroom level; plans are scored with the verifier's accuracy function.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass

from formulations.proteus.inputs import ProteusInputs, ProteusProblem, beta_grid
from formulations.proteus.milp import Restriction, solve_window
from formulations.types import InfeasibleError, MilpSolver

BASELINES = ("clipper_ha", "clipper_la", "sommelier", "infaas")


@dataclass(frozen=True)
class BaselinePlan:
    beta: float
    devices: dict[tuple[str, str], int]
    routed_qps: dict[tuple[str, str], float]


def clipper_restriction(problem: ProteusProblem, most_accurate: bool) -> Restriction:
    pairs = set()
    for f in problem.families:
        options = problem.placeable[f]
        if options:
            chosen = options[-1] if most_accurate else options[0]
            pairs.update(
                (d, chosen.name)
                for d in problem.device_types
                if (d, chosen.name) in problem.capacity
            )
    return Restriction(pairs=frozenset(pairs))


def family_devices(
    problem: ProteusProblem, devices: Mapping[tuple[str, str], int]
) -> dict[tuple[str, str], int]:
    """Devices per (device type, family) of a plan: Sommelier's fixed assignment."""
    family_of = problem.family_of
    fixed: dict[tuple[str, str], int] = defaultdict(int)
    for (d, v), count in devices.items():
        fixed[(d, family_of[v])] += count
    return dict(fixed)


def solve_restricted(
    inputs: ProteusInputs, solver: MilpSolver, window: int, restriction: Restriction
) -> BaselinePlan | None:
    """The MILP restricted to what a baseline may use; None when it has no plan."""
    demand = inputs.problem.demand(window)
    try:
        solution = solve_window(inputs, solver, demand, lambda: "baseline infeasible", restriction)
    except InfeasibleError:
        return None
    return BaselinePlan(solution.beta, solution.devices, solution.routed_qps)


def _pack(
    inputs: ProteusInputs, demand: Mapping[str, float], choice: Mapping[str, str], beta: float
) -> BaselinePlan | None:
    problem = inputs.problem
    free = dict(problem.device_count)
    devices: dict[tuple[str, str], int] = defaultdict(int)
    capacity_of: dict[str, float] = defaultdict(float)
    for f in sorted(problem.families, key=lambda f: (-beta * demand[f], f)):
        v = choice[f]
        count = 0
        while capacity_of[f] < beta * demand[f] - 1e-9 or count < inputs.min_devices_per_family:
            options = [
                d for d in problem.device_types if free[d] > 0 and (d, v) in problem.capacity
            ]
            if not options:
                return None
            d = max(options, key=lambda d: (problem.capacity[(d, v)].qps, d))
            free[d] -= 1
            devices[(d, v)] += 1
            capacity_of[f] += problem.capacity[(d, v)].qps
            count += 1
    if inputs.all_devices_on:  # idle devices join the first family that can use them
        for d in problem.device_types:
            for f in sorted(problem.families, key=lambda f: (-demand[f], f)):
                if (d, choice[f]) in problem.capacity and free[d] > 0:
                    devices[(d, choice[f])] += free[d]
                    capacity_of[f] += problem.capacity[(d, choice[f])].qps * free[d]
                    free[d] = 0
            if free[d] > 0:
                return None
    family_of = {v: f for f, v in choice.items()}
    routed = {
        (d, v): demand[family_of[v]] * problem.capacity[(d, v)].qps * n / capacity_of[family_of[v]]
        for (d, v), n in devices.items()
    }
    return BaselinePlan(beta, dict(devices), routed)


def infaas_greedy(inputs: ProteusInputs, window: int) -> BaselinePlan | None:
    problem = inputs.problem
    demand = problem.demand(window)
    options = problem.placeable
    if not all(options.values()):
        return None
    for beta in beta_grid(inputs):
        level = {f: len(options[f]) - 1 for f in problem.families}
        while True:
            plan = _pack(inputs, demand, {f: options[f][level[f]].name for f in level}, beta)
            if plan is not None:
                return plan
            downgradable = [f for f in problem.families if level[f] > 0]
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
