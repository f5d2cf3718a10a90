r"""Proteus accuracy scaling as an exact, aggregated MILP.

Proteus (ASPLOS '24) chooses, for every device, which model variant it hosts and how each
model family's queries are routed, maximising accuracy while serving demand with headroom.
Its own formulation keeps one binary per (device, variant) and multiplies routing shares by
demand-scaled capacities, which it hands to Gurobi's non-convex mode (500 s limit, 50% gap).
Devices of one type are identical, so we aggregate them into integer counts; the model is
then linear, small (two variables per placeable (device type, variant) pair) and solved to
proven optimality in milliseconds.

Sets
    D               device types (e.g. CPU, GPU_AMPERE)
    F               model families (e.g. resnet, bert)
    V_f             variants of family f
    P               placeable pairs (d, v): variant v meets its latency budget on type d
Parameters
    N_d             devices of type d                                           [devices]
    c_{d,v}         capacity of one device of type d hosting v: B / l(B) for the largest
                    batch B whose latency l(B) fits the budget (fraction x SLO)   [queries/s]
    a_v             normalised accuracy of v (best variant of its family = 100)        [%]
    D_f             demand of family f in the planning window                   [queries/s]
    beta            demand headroom: capacity serving f must reach beta x D_f       [1]
    m               minimum devices per family (Proteus keeps every family loaded) [devices]
Variables
    n_{d,v} in Z, 0 <= n_{d,v} <= N_d      devices of type d hosting v
    x_{d,v} >= 0                           queries/s of family(v) routed to (d, v)
Constraints
    (devices)   sum_v n_{d,v} <= N_d   for every d     ("= N_d" with all_devices_on)
    (capacity)  beta * x_{d,v} <= c_{d,v} * n_{d,v}   for every (d, v) in P
    (demand)    sum_{(d,v) in P, v in V_f} x_{d,v} = D_f   for every f
    (presence)  sum_{(d,v) in P, v in V_f} n_{d,v} >= m   for every f
Objective (Proteus's "effective accuracy", demand-weighted)
    maximise  (1 / sum_f D_f) * sum_{(d,v) in P} a_v * x_{d,v}      [%]

No linearisation and no big-M is needed: beta is a constant within one solve.

Exactness of the aggregation. Any per-device plan (device k of type d hosts v_k and takes
x_k queries/s with beta * x_k <= c_{d,v_k}) maps to n_{d,v} = #{k: v_k = v} and
x_{d,v} = sum of x_k: it satisfies every constraint above with the same objective.
Conversely, splitting x_{d,v} evenly over its n_{d,v} devices gives each device
x_{d,v} / n_{d,v} <= c_{d,v} / beta. So both models have the same optimum; the per-device
assignment and routing shares in the output are this even split.

Degrading demand (Proteus's rule). If no plan meets beta_0, Proteus lowers beta in steps
(0.05; 0.1 above 1.5) down to a floor. Feasibility is monotone in beta (a plan feasible at
beta is feasible at any beta' < beta), so instead of re-solving at every step we solve
once for the largest feasible headroom: with y_{d,v} = beta * x_{d,v},

    maximise beta  s.t.  y_{d,v} <= c_{d,v} n_{d,v},  sum_{v in V_f} y_{d,v} = beta D_f,
                         (devices), (presence),

which is linear in (n, y, beta). The achieved level is the largest step value <= that
optimum; a step above it is infeasible by optimality, and the step itself is feasible by
monotonicity. The accuracy MILP is then solved at that level (and, should the solver's
tolerances disagree at the boundary, at the next step down).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

import pulp

from formulations.proteus.inputs import ProteusInputs, ProteusProblem, beta_grid
from formulations.types import MilpSolver, SolveResult, SolveStatus, require_solution


@dataclass(frozen=True)
class Restriction:
    """What a baseline may use: a subset of pairs, and/or fixed devices per (type, family)."""

    pairs: frozenset[tuple[str, str]] | None = None
    family_devices: Mapping[tuple[str, str], int] | None = None


@dataclass
class WindowSolution:
    beta: float
    devices: dict[tuple[str, str], int]  # (device type, variant) -> count
    routed_qps: dict[tuple[str, str], float]
    result: SolveResult
    build_s: float = 0.0
    solve_s: float = 0.0
    values: dict[str, float] = field(default_factory=dict)


@dataclass
class _Model:
    problem: pulp.LpProblem
    pairs: list[tuple[str, str]]
    n: dict[tuple[str, str], pulp.LpVariable]
    x: dict[tuple[str, str], pulp.LpVariable]


def usable_pairs(problem: ProteusProblem, restriction: Restriction) -> list[tuple[str, str]]:
    pairs = [(d, v.name) for f in problem.families for v in problem.variants[f]
             for d in problem.device_types if (d, v.name) in problem.capacity]
    if restriction.pairs is not None:
        pairs = [p for p in pairs if p in restriction.pairs]
    return pairs


def _family_of(problem: ProteusProblem) -> dict[str, str]:
    return {v.name: f for f in problem.families for v in problem.variants[f]}


def define_variables(problem: ProteusProblem, pairs: list[tuple[str, str]]
                     ) -> tuple[dict[tuple[str, str], pulp.LpVariable],
                                dict[tuple[str, str], pulp.LpVariable]]:
    index_d = {d: i for i, d in enumerate(problem.device_types)}
    index_v = {v.name: j for f in problem.families for j, v in enumerate(problem.variants[f])}
    index_f = _family_of(problem)
    family_index = {f: i for i, f in enumerate(problem.families)}

    def key(d: str, v: str) -> str:
        return f"{index_d[d]}_{family_index[index_f[v]]}_{index_v[v]}"

    n = {(d, v): pulp.LpVariable(f"n_{key(d, v)}", 0, problem.device_count[d], pulp.LpInteger)
         for d, v in pairs}
    x = {(d, v): pulp.LpVariable(f"x_{key(d, v)}", 0) for d, v in pairs}
    return n, x


def define_device_limits(model: _Model, problem: ProteusProblem, all_on: bool) -> None:
    for d in problem.device_types:
        used = pulp.lpSum(model.n[p] for p in model.pairs if p[0] == d)
        if all_on:
            model.problem += (used == problem.device_count[d], f"devices_{d}")
        else:
            model.problem += (used <= problem.device_count[d], f"devices_{d}")


def define_presence(model: _Model, problem: ProteusProblem, minimum: int) -> None:
    family_of = _family_of(problem)
    for i, f in enumerate(problem.families):
        hosted = [model.n[p] for p in model.pairs if family_of[p[1]] == f]
        if minimum > 0:
            model.problem += (pulp.lpSum(hosted) >= minimum, f"presence_{i}")


def define_fixed_family_devices(model: _Model, problem: ProteusProblem,
                                family_devices: Mapping[tuple[str, str], int]) -> None:
    family_of = _family_of(problem)
    for (d, f), count in family_devices.items():
        hosted = [model.n[p] for p in model.pairs if p[0] == d and family_of[p[1]] == f]
        model.problem += (pulp.lpSum(hosted) == count, f"fixed_{d}_{problem.families.index(f)}")


def _base_model(inputs: ProteusInputs, restriction: Restriction, name: str) -> _Model:
    problem = inputs.problem
    pairs = usable_pairs(problem, restriction)
    n, x = define_variables(problem, pairs)
    model = _Model(pulp.LpProblem(name, pulp.LpMaximize), pairs, n, x)
    define_device_limits(model, problem, inputs.all_devices_on)
    define_presence(model, problem, inputs.min_devices_per_family)
    if restriction.family_devices is not None:
        define_fixed_family_devices(model, problem, restriction.family_devices)
    return model


def build_accuracy_model(inputs: ProteusInputs, demand: Mapping[str, float], beta: float,
                         restriction: Restriction = Restriction()) -> _Model:
    problem = inputs.problem
    model = _base_model(inputs, restriction, "proteus_accuracy")
    family_of = _family_of(problem)
    for p in model.pairs:
        model.problem += (beta * model.x[p] <= problem.capacity[p].qps * model.n[p],
                          f"capacity_{model.x[p].name}")
    for i, f in enumerate(problem.families):
        routed = [model.x[p] for p in model.pairs if family_of[p[1]] == f]
        model.problem += (pulp.lpSum(routed) == demand[f], f"demand_{i}")
    total = sum(demand.values())
    scale = 1.0 / total if total > 0 else 0.0
    accuracy = {v.name: v.accuracy for f in problem.families for v in problem.variants[f]}
    model.problem += pulp.lpSum(accuracy[p[1]] * scale * model.x[p] for p in model.pairs)
    return model


def build_max_beta_model(inputs: ProteusInputs, demand: Mapping[str, float],
                         restriction: Restriction = Restriction()) -> tuple[_Model,
                                                                              pulp.LpVariable]:
    problem = inputs.problem
    model = _base_model(inputs, restriction, "proteus_max_beta")
    family_of = _family_of(problem)
    beta = pulp.LpVariable("beta", 0, inputs.beta)
    for p in model.pairs:  # x holds y = beta * routed queries/s here
        model.problem += (model.x[p] <= problem.capacity[p].qps * model.n[p],
                          f"capacity_{model.x[p].name}")
    for i, f in enumerate(problem.families):
        routed = [model.x[p] for p in model.pairs if family_of[p[1]] == f]
        model.problem += (pulp.lpSum(routed) == demand[f] * beta, f"demand_{i}")
    model.problem += beta
    return model, beta


def _solve_at(inputs: ProteusInputs, solver: MilpSolver, demand: Mapping[str, float],
              beta: float, restriction: Restriction,
              warm_start: Mapping[str, float] | None) -> tuple[_Model, SolveResult, float]:
    started = time.perf_counter()
    model = build_accuracy_model(inputs, demand, beta, restriction)
    build_s = time.perf_counter() - started
    return model, solver.solve(model.problem, warm_start=warm_start), build_s


def solve_window(inputs: ProteusInputs, solver: MilpSolver, demand: Mapping[str, float],
                 explain: Callable[[], str], restriction: Restriction = Restriction(),
                 warm_start: Mapping[str, float] | None = None) -> WindowSolution:
    """Highest headroom on the grid, then maximum accuracy at it (see module docstring).

    ``explain`` gives the message of the InfeasibleError raised when even the lowest level
    is infeasible.
    """
    levels = beta_grid(inputs)
    beta = levels[0]
    model, result, build_s = _solve_at(inputs, solver, demand, beta, restriction, warm_start)
    solve_s = result.solve_s
    if result.status is SolveStatus.INFEASIBLE and len(levels) > 1:
        started = time.perf_counter()
        beta_model, beta_var = build_max_beta_model(inputs, demand, restriction)
        build_s += time.perf_counter() - started
        best = solver.solve(beta_model.problem)
        solve_s += best.solve_s
        if best.status.has_solution:
            best_beta = best.value(beta_var)
            for beta in (b for b in levels[1:] if b <= best_beta + 1e-9):
                model, result, spent = _solve_at(inputs, solver, demand, beta, restriction,
                                                 None)
                build_s += spent
                solve_s += result.solve_s
                if result.status is not SolveStatus.INFEASIBLE:
                    break
    require_solution(result, explain)
    devices = {p: result.int_value(model.n[p]) for p in model.pairs}
    routed = {p: max(0.0, result.value(model.x[p])) for p in model.pairs}
    return WindowSolution(beta, {p: c for p, c in devices.items() if c > 0},
                          {p: q for p, q in routed.items() if devices[p] > 0 and q > 0},
                          result, build_s, solve_s, dict(result.values))

