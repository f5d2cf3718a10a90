r"""Proteus accuracy scaling as an exact, aggregated MILP.

Proteus (ASPLOS '24) chooses, for every device, which model variant it hosts and how each
model family's queries are routed, maximising accuracy while serving demand with headroom.
Its own formulation keeps one binary per (device, variant) and multiplies routing shares by
demand-scaled capacities, which it hands to Gurobi's non-convex mode (500 s limit, 50% gap).
Devices of one type are identical, so we aggregate them into integer counts; the model is
then linear, small (two variables per placeable (device type, variant) pair) and solved to
proven optimality in milliseconds. It is built directly as numpy arrays (no modelling
layer) because PuLP's per-window overhead was a third of the solve time.

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
    (capacity)  beta * x_{d,v} <= min(c_{d,v}, beta * D_f) * n_{d,v}   for (d, v) in P, v in V_f
                (with c alone this is the capacity rule; the min adds x_{d,v} <= D_f n_{d,v},
                valid since x_{d,v} <= D_f by (demand), which tightens the LP relaxation
                for families one device can serve)
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

Two exact reductions shrink the model before it is built.
* Pools: device types whose capacity for every variant is identical (e.g. the paper's VPU,
  profiled as a CPU) are interchangeable, so they are merged into one pool with the summed
  count; the pool's counts are split back over its types (any split is feasible: each type
  takes at most its own count; with Sommelier's fixed (type, family) counts, each family's
  devices are split to match them). This removes symmetric solutions that slow branching.
* Dominance: within a pool, variant v of family f is dropped when another variant w of f
  has a_w >= a_v and c_{p,w} >= c_{p,v} (ties broken by name). Replacing every device
  hosting v by one hosting w keeps all constraints (same count, same flow, more capacity,
  same family) and does not lower the objective, so some optimum avoids v.

Degrading demand (Proteus's rule). If no plan meets beta_0, Proteus lowers beta in steps
(0.05; 0.1 above 1.5) down to a floor. Feasibility is monotone in beta (a plan feasible at
beta is feasible at any beta' < beta: lower beta only loosens (capacity)), so the highest
feasible level is found by bisection over the grid, each probe a feasibility model (below),
and the accuracy MILP is then solved at that level (and, should the solvers' tolerances
disagree at the boundary, at the next step down). This replaced one MILP maximising a
continuous beta, which spent seconds on saturated windows proving a beta between two grid
values that the grid then rounds down anyway.

Exact reductions for saturated windows. Near capacity the accuracy MILP is hard for its
size (the root bound is loose: whole devices are scarce), so each window's models add the
following; each keeps at least one optimal plan, so the optimal value is unchanged.
* Effective capacity. Since x_{d,v} <= D_f, (capacity) depends on c_{d,v} only through
  e_{d,v} = min(c_{d,v}, beta D_f). So the dominance rule above also holds with e in place
  of c, per window and level: among variants one device of which serves the whole family,
  only the most accurate stays (the same replacement argument).
* Count bounds (only when devices may idle and family counts are free, i.e. not
  all_devices_on and not Sommelier): n_{d,v} <= max(floor(beta D_f / c_{d,v}) + 1, m)
  (m when D_f = 0; floor + 1 rather than ceil so that rounding errors can only loosen it).
  Lowering a larger count to this bound keeps (capacity) (e n' >= beta D_f >= beta x either
  way), (presence) (n' >= m) and the "<=" (devices) rows, with the same flows and objective.
* Covers. Summing a family's (capacity) rows and using (demand) gives
  sum_{d,v in V_f} e_{d,v} n_{d,v} >= beta D_f, an all-integer row implied by the model
  (so it cuts off nothing) on which the solver's rounding cuts act directly; with
  e_max = max e over the family, its rounding sum n >= ceil(beta D_f / e_max) is valid too
  (e_max sum n >= sum e n >= beta D_f and sum n is an integer; its right-hand side is
  rounded with a 1e-6 slack, which can only weaken it).
* Feasibility model (the bisection's probe): one integer count k_{p,f} per (pool, family),
  hosting the variant of largest e, with (devices), (presence), Sommelier's fixed counts,
  the covers sum_p e_{p,f} k_{p,f} >= beta D_f and a zero objective (the first plan found
  ends the solve). It is feasible exactly when the accuracy model is: a plan's counts,
  moved to that variant, satisfy the covers (e only grows); conversely counts satisfying
  the covers admit the routing x_{p,f} = D_f e_{p,f} k_{p,f} / sum_q e_{q,f} k_{q,f}, which
  meets (capacity) and (demand).
On the paper's cluster at 4x demand (benchmarks/proteus_reference.py, mip_gap 1e-6, two
shared cores) these took the per-window time of the bursty trace from a median of 0.5-1.0 s
/ max 5.5 s to 0.13 s / 0.7 s: the bisection replaces the max-beta MILP (up to 4 s) by five
~10 ms probes, and the covers make the accuracy MILP about 3x faster on saturated windows.
Windows feasible at beta_0 but nearly full gain least (the worst, on the steady trace, from
2-3 s to 0.7-1.8 s): the time goes into the solver's root heuristics and bound.
Also tried and dropped, as no faster: x_{d,v} <= D_f bounds; the single-pair mixed-integer
rounding x_{d,v} <= D_f - r (ceil(u) - n_{d,v}) (u = beta D_f / c, r = D_f - floor(u) c /
beta); the cover's roundings by every distinct e of the family; mixed-integer roundings of
the flow served by each family's most accurate pairs (sum_T x <= sum_T (e / beta) n,
sum_T x <= D_f, T the pairs above an accuracy threshold), which tighten the root bound but
not the solve time; and starting from the known optimum (the time goes into proving the
bound, not into finding the plan).

Sommelier's fixed counts: a (pool, family) without a fixed count keeps no device (its
pairs are left out). Before, such pairs were unconstrained, so a baseline plan could use
devices idle in the first window, which split_pools then dropped with their flow.
"""

from __future__ import annotations

import math
import time
from collections import defaultdict
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

import numpy as np

from formulations.proteus.inputs import ProteusInputs, ProteusProblem, VariantInfo, beta_grid
from formulations.types import (
    MatrixModel,
    MilpSolver,
    Sense,
    SolveResult,
    SolveStatus,
    require_solution,
)

# Slack when rounding a lower bound up, so that an exact multiple is not rounded past itself.
_ROUNDING = 1e-6


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


@dataclass(frozen=True)
class Pools:
    """Device types merged by identical capacity signature; a pool is named by its first type."""

    members: dict[str, list[str]]
    count: dict[str, int]


def make_pools(problem: ProteusProblem) -> Pools:
    by_signature: dict[tuple, list[str]] = {}
    for d in problem.device_types:
        signature = tuple(
            sorted((v, c.batch, c.qps) for (dd, v), c in problem.capacity.items() if dd == d)
        )
        by_signature.setdefault(signature, []).append(d)
    members = {group[0]: group for group in by_signature.values()}
    return Pools(
        members, {p: sum(problem.device_count[d] for d in group) for p, group in members.items()}
    )


@dataclass
class _Model:
    """The MILP in array form: column j is n for pairs[j], column P + j is x for pairs[j]
    (the feasibility model has no x, and a last column fixed at 0)."""

    matrix: MatrixModel
    pairs: list[tuple[str, str]]  # (pool, variant)

    def n_name(self, j: int) -> str:
        return self.matrix.names[j]

    def x_name(self, j: int) -> str:
        return self.matrix.names[len(self.pairs) + j]


class _Rows:
    """Constraint rows collected in CSR form."""

    def __init__(self) -> None:
        self.start = [0]
        self.index: list[int] = []
        self.value: list[float] = []
        self.lower: list[float] = []
        self.upper: list[float] = []

    def add(self, columns: list[int], values: list[float], lower: float, upper: float) -> None:
        self.index.extend(columns)
        self.value.extend(values)
        self.start.append(len(self.index))
        self.lower.append(lower)
        self.upper.append(upper)


def usable_pairs(
    problem: ProteusProblem, pools: Pools, restriction: Restriction
) -> list[tuple[str, str]]:
    """Placeable (pool, variant) pairs a restriction allows, dominated variants removed."""
    pairs = []
    for pool in pools.members:
        for f in problem.families:
            options = [
                v
                for v in problem.variants[f]
                if (pool, v.name) in problem.capacity
                and (restriction.pairs is None or (pool, v.name) in restriction.pairs)
            ]

            def dominates(w: VariantInfo, v: VariantInfo, pool: str = pool) -> bool:
                cw, cv = problem.capacity[(pool, w.name)].qps, problem.capacity[(pool, v.name)].qps
                if w.accuracy == v.accuracy and cw == cv:
                    return w.name < v.name
                return w.accuracy >= v.accuracy and cw >= cv

            pairs.extend(
                (pool, v.name)
                for v in options
                if not any(dominates(w, v) for w in options if w is not v)
            )
    return pairs


def define_columns(
    problem: ProteusProblem, pools: Pools, pairs: list[tuple[str, str]], flows: bool = True
) -> tuple[list[str], np.ndarray, np.ndarray, np.ndarray]:
    """Names, bounds and integrality of n (integer) [and x (continuous)]."""
    index_p = {p: i for i, p in enumerate(pools.members)}
    index_v = {v.name: j for f in problem.families for j, v in enumerate(problem.variants[f])}
    family_index = {f: i for i, f in enumerate(problem.families)}
    family_of = problem.family_of
    keys = [f"{index_p[p]}_{family_index[family_of[v]]}_{index_v[v]}" for p, v in pairs]
    names = [f"n_{k}" for k in keys]
    upper = [float(pools.count[p]) for p, _ in pairs]
    integer = [True] * len(pairs)
    if flows:
        names += [f"x_{k}" for k in keys]
        upper += [np.inf] * len(pairs)
        integer += [False] * len(pairs)
    return (
        names,
        np.zeros(len(names)),
        np.array(upper, dtype=float),
        np.array(integer, dtype=bool),
    )


def define_count_bounds(
    upper: np.ndarray,
    pairs: list[tuple[str, str]],
    problem: ProteusProblem,
    demand: Mapping[str, float],
    beta: float,
    minimum: int,
) -> None:
    """n_{p,v} <= max(floor(beta D_f / c_{p,v}) + 1, m), or m when D_f = 0 (only when idle
    devices are allowed and family counts are free; see docstring)."""
    family_of = problem.family_of
    for j, p in enumerate(pairs):
        need = beta * demand[family_of[p[1]]]
        enough = math.floor(need / problem.capacity[p].qps) + 1 if need > 0 else 0
        upper[j] = min(upper[j], float(max(enough, minimum)))


def define_device_limits(
    rows: _Rows, pairs: list[tuple[str, str]], pools: Pools, all_on: bool
) -> None:
    for pool, count in pools.count.items():
        columns = [j for j, p in enumerate(pairs) if p[0] == pool]
        rows.add(columns, [1.0] * len(columns), float(count) if all_on else -np.inf, float(count))


def define_presence(
    rows: _Rows, pairs: list[tuple[str, str]], problem: ProteusProblem, minimum: int
) -> None:
    if minimum <= 0:
        return
    family_of = problem.family_of
    for f in problem.families:
        columns = [j for j, p in enumerate(pairs) if family_of[p[1]] == f]
        rows.add(columns, [1.0] * len(columns), float(minimum), np.inf)


def pool_family_devices(
    pools: Pools, family_devices: Mapping[tuple[str, str], int]
) -> dict[tuple[str, str], int]:
    pool_of = {d: p for p, group in pools.members.items() for d in group}
    fixed: dict[tuple[str, str], int] = defaultdict(int)
    for (d, f), count in family_devices.items():
        fixed[(pool_of[d], f)] += count
    return dict(fixed)


def define_fixed_family_devices(
    rows: _Rows,
    pairs: list[tuple[str, str]],
    problem: ProteusProblem,
    pools: Pools,
    family_devices: Mapping[tuple[str, str], int],
) -> None:
    family_of = problem.family_of
    for (pool, f), count in pool_family_devices(pools, family_devices).items():
        columns = [j for j, p in enumerate(pairs) if p[0] == pool and family_of[p[1]] == f]
        rows.add(columns, [1.0] * len(columns), float(count), float(count))


def define_capacity(
    rows: _Rows,
    pairs: list[tuple[str, str]],
    problem: ProteusProblem,
    demand: Mapping[str, float],
    beta: float,
) -> None:
    """beta x <= min(c, beta D_f) n."""
    family_of = problem.family_of
    size = len(pairs)
    for j, p in enumerate(pairs):
        # min(c, beta D_f): the tightening x <= D_f n is valid because x <= D_f.
        coefficient = min(problem.capacity[p].qps, beta * demand[family_of[p[1]]])
        rows.add([size + j, j], [beta, -coefficient], -np.inf, 0.0)


def define_demand(
    rows: _Rows, pairs: list[tuple[str, str]], problem: ProteusProblem, demand: Mapping[str, float]
) -> None:
    """sum x = D_f."""
    family_of = problem.family_of
    size = len(pairs)
    for f in problem.families:
        columns = [size + j for j, p in enumerate(pairs) if family_of[p[1]] == f]
        rows.add(columns, [1.0] * len(columns), demand[f], demand[f])


def define_covers(
    rows: _Rows,
    pairs: list[tuple[str, str]],
    problem: ProteusProblem,
    demand: Mapping[str, float],
    beta: float,
) -> None:
    """Per family: sum min(c, beta D_f) n >= beta D_f (cover), and its rounding
    sum n >= ceil(beta D_f / max min(c, beta D_f)) (count)."""
    family_of = problem.family_of
    for f in problem.families:
        columns = [j for j, p in enumerate(pairs) if family_of[p[1]] == f]
        need = beta * demand[f]
        if need <= 0:
            continue
        capacity = [min(problem.capacity[pairs[j]].qps, need) for j in columns]
        rows.add(columns, capacity, need, np.inf)
        least = math.ceil(need / max(capacity, default=need) - _ROUNDING)
        if least > 1:
            rows.add(columns, [1.0] * len(columns), float(least), np.inf)


def effective_pairs(
    problem: ProteusProblem,
    pools: Pools,
    restriction: Restriction,
    demand: Mapping[str, float],
    beta: float,
    accuracy_matters: bool = True,
) -> list[tuple[str, str]]:
    """Usable pairs after dominance on effective capacity min(c, beta D_f) (see docstring).

    With ``accuracy_matters`` false (feasibility), only capacity counts: one pair per
    (pool, family) remains, the one with the largest effective capacity.
    """
    family_of = problem.family_of
    accuracy = problem.accuracy
    groups: dict[tuple[str, str], list[str]] = defaultdict(list)
    for pool, v in usable_pairs(problem, pools, restriction):
        groups[(pool, family_of[v])].append(v)
    fixed = (
        pool_family_devices(pools, restriction.family_devices)
        if restriction.family_devices is not None
        else None
    )
    pairs = []
    for (pool, f), options in groups.items():
        if fixed is not None and fixed.get((pool, f), 0) <= 0:
            continue  # Sommelier: a (pool, family) without devices keeps none
        cap = {v: min(problem.capacity[(pool, v)].qps, beta * demand[f]) for v in options}
        if not accuracy_matters:
            pairs.append((pool, max(options, key=lambda v: (cap[v], accuracy[v], v))))
            continue

        def dominates(w: str, v: str, cap: dict[str, float] = cap) -> bool:
            if accuracy[w] == accuracy[v] and cap[w] == cap[v]:
                return w < v
            return accuracy[w] >= accuracy[v] and cap[w] >= cap[v]

        pairs.extend(
            (pool, v) for v in options if not any(dominates(w, v) for w in options if w != v)
        )
    return pairs


def _matrix(
    names: list[str],
    cost: np.ndarray,
    lower: np.ndarray,
    upper: np.ndarray,
    integer: np.ndarray,
    rows: _Rows,
) -> MatrixModel:
    return MatrixModel(
        names=names,
        cost=cost,
        col_lower=lower,
        col_upper=upper,
        integrality=integer,
        a_start=np.array(rows.start, dtype=np.int64),
        a_index=np.array(rows.index, dtype=np.int64),
        a_value=np.array(rows.value, dtype=float),
        row_lower=np.array(rows.lower, dtype=float),
        row_upper=np.array(rows.upper, dtype=float),
        sense=Sense.MAXIMIZE,
    )


def _build(
    inputs: ProteusInputs,
    pools: Pools,
    demand: Mapping[str, float],
    restriction: Restriction,
    beta: float,
    flows: bool = True,
) -> _Model:
    """The accuracy model at headroom ``beta``; with ``flows`` false, the feasibility model:
    counts only, one column per (pool, family) hosting its variant of largest effective
    capacity e, rows (devices), (presence), fixed family devices and the covers
    sum e n >= beta D_f, objective zero."""
    problem = inputs.problem
    pairs = effective_pairs(problem, pools, restriction, demand, beta, flows)
    names, lower, upper, integer = define_columns(problem, pools, pairs, flows)
    if not inputs.all_devices_on and restriction.family_devices is None:
        define_count_bounds(upper, pairs, problem, demand, beta, inputs.min_devices_per_family)
    rows = _Rows()
    define_device_limits(rows, pairs, pools, inputs.all_devices_on)
    define_presence(rows, pairs, problem, inputs.min_devices_per_family)
    if restriction.family_devices is not None:
        define_fixed_family_devices(rows, pairs, problem, pools, restriction.family_devices)
    define_covers(rows, pairs, problem, demand, beta)
    if flows:
        define_capacity(rows, pairs, problem, demand, beta)
        define_demand(rows, pairs, problem, demand)
        total = sum(demand.values())
        scale = 1.0 / total if total > 0 else 0.0
        accuracy = problem.accuracy
        cost = np.zeros(len(names))
        cost[len(pairs) :] = [accuracy[v] * scale for _, v in pairs]
    else:
        # Objective zero: the first plan found ends the solve. It is written as one column
        # fixed at 0 because a backend (CBC via PuLP) rejects an empty objective.
        names, cost = [*names, "zero"], np.append(np.zeros(len(names)), 1.0)
        lower, upper = np.append(lower, 0.0), np.append(upper, 0.0)
        integer = np.append(integer, True)
    return _Model(_matrix(names, cost, lower, upper, integer, rows), pairs)


def split_pools(
    problem: ProteusProblem,
    pools: Pools,
    devices: Mapping[tuple[str, str], int],
    routed: Mapping[tuple[str, str], float],
    family_devices: Mapping[tuple[str, str], int] | None,
) -> tuple[dict[tuple[str, str], int], dict[tuple[str, str], float]]:
    """Split pool counts and flows back over the pool's device types (see docstring)."""
    family_of = problem.family_of
    out_devices: dict[tuple[str, str], int] = defaultdict(int)
    out_routed: dict[tuple[str, str], float] = defaultdict(float)
    used: dict[tuple[str, str | None], int] = defaultdict(int)
    for (pool, v), count in devices.items():
        f = family_of[v]
        need = count
        for d in pools.members[pool]:
            if family_devices is not None:
                room = family_devices.get((d, f), 0) - used[(d, f)]
            else:
                room = problem.device_count[d] - used[(d, None)]
            take = min(need, room)
            if take <= 0:
                continue
            used[(d, f) if family_devices is not None else (d, None)] += take
            out_devices[(d, v)] += take
            out_routed[(d, v)] += routed.get((pool, v), 0.0) * take / count
            need -= take
    return dict(out_devices), dict(out_routed)


def _solve_at(
    inputs: ProteusInputs,
    pools: Pools,
    solver: MilpSolver,
    demand: Mapping[str, float],
    beta: float,
    restriction: Restriction,
    warm_start: Mapping[str, float] | None,
) -> tuple[_Model, SolveResult, float]:
    started = time.perf_counter()
    model = _build(inputs, pools, demand, restriction, beta)
    build_s = time.perf_counter() - started
    return model, solver.solve(model.matrix, warm_start=warm_start), build_s


def _feasible(
    inputs: ProteusInputs,
    pools: Pools,
    solver: MilpSolver,
    demand: Mapping[str, float],
    beta: float,
    restriction: Restriction,
) -> tuple[bool, float]:
    """Whether headroom ``beta`` has a plan (the counts-only model), and the solve time."""
    result = solver.solve(_build(inputs, pools, demand, restriction, beta, flows=False).matrix)
    return result.status.has_solution, result.solve_s


def solve_window(
    inputs: ProteusInputs,
    solver: MilpSolver,
    demand: Mapping[str, float],
    explain: Callable[[], str],
    restriction: Restriction = Restriction(),
    warm_start: Mapping[str, float] | None = None,
) -> WindowSolution:
    """Highest headroom on the grid, then maximum accuracy at it (see module docstring).

    ``explain`` gives the message of the InfeasibleError raised when even the lowest level
    is infeasible.
    """
    started = time.perf_counter()
    pools = make_pools(inputs.problem)
    pools_s = time.perf_counter() - started
    levels = beta_grid(inputs)
    beta = levels[0]
    model, result, build_s = _solve_at(inputs, pools, solver, demand, beta, restriction, warm_start)
    build_s += pools_s
    solve_s = result.solve_s
    if result.status is SolveStatus.INFEASIBLE and len(levels) > 1:
        # Bisection for the first feasible level: levels[low] is infeasible, and every
        # level from levels[high] on is feasible (high = len(levels): none known to be).
        low, high = 0, len(levels)
        while high - low > 1:
            middle = (low + high) // 2
            started = time.perf_counter()
            feasible, spent = _feasible(inputs, pools, solver, demand, levels[middle], restriction)
            build_s += time.perf_counter() - started - spent
            solve_s += spent
            low, high = (low, middle) if feasible else (middle, high)
        for beta in levels[high:]:
            model, result, spent = _solve_at(inputs, pools, solver, demand, beta, restriction, None)
            build_s += spent
            solve_s += result.solve_s
            if result.status is not SolveStatus.INFEASIBLE:
                break
    require_solution(result, explain)
    counts = {p: result.int_value(model.n_name(j)) for j, p in enumerate(model.pairs)}
    flows = {
        p: max(0.0, result.value(model.x_name(j)))
        for j, p in enumerate(model.pairs)
        if counts[p] > 0
    }
    devices, routed = split_pools(
        inputs.problem,
        pools,
        {p: c for p, c in counts.items() if c > 0},
        flows,
        restriction.family_devices,
    )
    return WindowSolution(
        beta,
        devices,
        {p: q for p, q in routed.items() if q > 0},
        result,
        build_s,
        solve_s,
        dict(result.values),
    )
