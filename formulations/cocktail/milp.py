"""The Cocktail MILP in PuLP (math in the package docstring) and reading its solution."""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import pulp

from formulations.cocktail.candidates import dominated_instances
from formulations.cocktail.inputs import (
    ClassPlan,
    CocktailData,
    CocktailDeployment,
    IntervalPlan,
    Pool,
    Route,
)
from formulations.types import (
    MilpSolver,
    ModelSize,
    SolveResult,
    SolveStatus,
    relative_gap,
    require_solution,
)

ROUTE_EPS_QPS = 1e-9  # routes below this many requests/s are solver noise, dropped


@dataclass
class CocktailModel:
    problem: pulp.LpProblem
    ensembles: list[list[tuple[int, ...]]]  # per class
    intervals: list[int]
    x: dict[tuple[int, int, int], pulp.LpVariable] = field(default_factory=dict)
    y: dict[tuple[int, int, int, int], pulp.LpVariable] = field(default_factory=dict)
    n: dict[tuple[int, int, int], pulp.LpVariable] = field(default_factory=dict)
    s: dict[tuple[int, int, int], pulp.LpVariable] = field(default_factory=dict)


def build_model(
    data: CocktailData,
    ensembles: Sequence[Sequence[tuple[int, ...]]],
    allow_spot: bool,
    intervals: Sequence[int],
    name: str = "cocktail",
) -> CocktailModel:
    """Build the MILP over ``intervals``, with ``ensembles[k]`` the candidates of class k."""
    prob = pulp.LpProblem(name, pulp.LpMinimize)
    model = CocktailModel(prob, [list(e) for e in ensembles], list(intervals))
    n_m, n_i = len(data.models), len(data.instances)
    members = [sorted({m for e in ens for m in e}) for ens in model.ensembles]
    # (m, i) -> classes that may route to it: m is a candidate member and i meets the SLO
    dominated = dominated_instances(data)
    users = {
        (m, i): [k for k in range(len(data.classes)) if m in members[k] and data.meets_slo(m, i, k)]
        for m in range(n_m)
        for i in range(n_i)
        if i not in dominated
    }
    pools = [p for p, ks in users.items() if ks]
    # Exact VM bounds: on-demand (or spot) VMs alone covering all the load that may reach
    # a pool suffice in its interval; coupled intervals take the largest over the group
    # (clipping every interval's count to it keeps each constraint and adds no change).
    peak = {p: max(sum(data.planned_qps[k, t] for k in users[p]) for t in intervals) for p in pools}
    cost = []
    for t in intervals:
        load = data.planned_qps[:, t]
        for k, ens in enumerate(model.ensembles):
            xs = [pulp.LpVariable(f"x_{t}_{k}_{e}", cat="Binary") for e in range(len(ens))]
            model.x.update({(t, k, e): v for e, v in enumerate(xs)})
            prob += pulp.lpSum(xs) == 1, f"choose_{t}_{k}"
        for m, i in pools:
            for k in users[(m, i)]:
                model.y[(t, k, m, i)] = pulp.LpVariable(f"y_{t}_{k}_{m}_{i}", lowBound=0)
            reach = peak[(m, i)] if len(intervals) > 1 else sum(load[k] for k in users[(m, i)])
            cap = float(data.capacity_qps[m, i])
            model.n[(t, m, i)] = pulp.LpVariable(
                f"n_{t}_{m}_{i}", 0, math.ceil(reach / cap), cat="Integer"
            )
            cost.append(data.interval_h * data.on_demand_usd_per_h[i] * model.n[(t, m, i)])
            if allow_spot:
                spot_cap = data.spot_effective_qps(m, i)
                model.s[(t, m, i)] = pulp.LpVariable(
                    f"s_{t}_{m}_{i}", 0, math.ceil(reach / spot_cap), cat="Integer"
                )
                cost.append(data.interval_h * data.spot_usd_per_h[i] * model.s[(t, m, i)])
        for k, ens in enumerate(model.ensembles):
            for m in members[k]:
                routes = [model.y[(t, k, m, i)] for i in range(n_i) if (t, k, m, i) in model.y]
                chosen = [model.x[(t, k, e)] for e, members_e in enumerate(ens) if m in members_e]
                prob += (
                    pulp.lpSum(routes) == float(load[k]) * pulp.lpSum(chosen),
                    f"route_{t}_{k}_{m}",
                )
                _add_vm_cuts(data, model, t, k, m, pulp.lpSum(chosen))
        for m, i in pools:
            served = pulp.lpSum(model.y[(t, k, m, i)] for k in users[(m, i)])
            cap = float(data.capacity_qps[m, i])
            spot = model.s.get((t, m, i))
            spot_term = data.spot_effective_qps(m, i) * spot if spot is not None else 0
            prob += served <= cap * model.n[(t, m, i)] + spot_term, f"cap_{t}_{m}_{i}"
            if data.min_on_demand_share > 0:
                prob += (
                    data.min_on_demand_share * served <= cap * model.n[(t, m, i)],
                    f"od_share_{t}_{m}_{i}",
                )
    if len(intervals) > 1:
        cost += _coupling(data, model, pools)
    prob += pulp.lpSum(cost)
    return model


def _add_vm_cuts(
    data: CocktailData, model: CocktailModel, t: int, k: int, m: int, used: pulp.LpAffineExpression
) -> None:
    """Valid integer-rounding cuts: if class k uses model m, the pools it may reach hold at
    least ceil(lambda / c) VMs, and at least ceil(beta lambda / c) on-demand ones, where c is
    the largest per-VM capacity among them (their capacity must cover lambda, and their
    on-demand capacity beta lambda; VM counts are integers)."""
    load = float(data.planned_qps[k, t])
    reach = [i for i in range(len(data.instances)) if (t, k, m, i) in model.y]
    if load <= 0 or not reach:
        return
    biggest = max(float(data.capacity_qps[m, i]) for i in reach)
    on_demand = [model.n[(t, m, i)] for i in reach]
    spot = [model.s[(t, m, i)] for i in reach if (t, m, i) in model.s]
    model.problem += (
        pulp.lpSum(on_demand + spot) >= math.ceil(load / biggest) * used,
        f"vms_{t}_{k}_{m}",
    )
    if data.min_on_demand_share > 0:
        least = math.ceil(data.min_on_demand_share * load / biggest)
        model.problem += pulp.lpSum(on_demand) >= least * used, f"od_vms_{t}_{k}_{m}"


def _coupling(
    data: CocktailData, model: CocktailModel, pools: list[tuple[int, int]]
) -> list[pulp.LpAffineExpression]:
    """Start-up cost of VMs added since the previous interval (every VM of the first
    interval starts), and the limit on VMs added or removed between consecutive intervals.
    Returns the start-up cost terms."""
    terms = []
    changes: dict[int, list[pulp.LpVariable]] = {t: [] for t in model.intervals}
    for counts, prices, tag in (
        (model.n, data.on_demand_usd_per_h, "od"),
        (model.s, data.spot_usd_per_h, "sp"),
    ):
        for t in model.intervals:
            for m, i in pools:
                if (t, m, i) not in counts:
                    continue
                up = pulp.LpVariable(f"up_{tag}_{t}_{m}_{i}", lowBound=0)
                previous = counts.get((t - 1, m, i), 0)
                model.problem += up >= counts[(t, m, i)] - previous, f"up_{tag}_{t}_{m}_{i}"
                terms.append(data.startup_h * prices[i] * up)
                if data.max_vm_changes is not None and t > model.intervals[0]:
                    down = pulp.LpVariable(f"down_{tag}_{t}_{m}_{i}", lowBound=0)
                    model.problem += down >= previous - counts[(t, m, i)], f"down_{tag}_{t}_{m}_{i}"
                    changes[t] += [up, down]
    for t, moves in changes.items():
        if moves:
            model.problem += pulp.lpSum(moves) <= data.max_vm_changes, f"changes_{t}"
    return terms if data.startup_h > 0 else []


def extract(data: CocktailData, model: CocktailModel, result: SolveResult) -> list[IntervalPlan]:
    """The interval plans a solved model describes."""
    intervals = []
    for t in model.intervals:
        classes = []
        for k, ens in enumerate(model.ensembles):
            chosen = ens[max(range(len(ens)), key=lambda e: result.value(model.x[(t, k, e)]))]
            # routes to models outside the chosen ensemble are integrality noise (x ~ 1e-10)
            routes = [
                Route(model=data.models[m], instance_type=data.instances[i], qps=q)
                for (tt, kk, m, i), var in model.y.items()
                if tt == t and kk == k and m in chosen and (q := result.value(var)) > ROUTE_EPS_QPS
            ]
            classes.append(
                ClassPlan(
                    name=data.classes[k].name,
                    members=[data.models[m] for m in chosen],
                    routes=routes,
                )
            )
        pools = []
        for (tt, m, i), var in model.n.items():
            if tt != t:
                continue
            spot = model.s.get((t, m, i))
            od, sp = result.int_value(var), result.int_value(spot) if spot is not None else 0
            if od or sp:
                pools.append(
                    Pool(
                        model=data.models[m], instance_type=data.instances[i], on_demand=od, spot=sp
                    )
                )
        intervals.append(IntervalPlan(classes=classes, pools=pools))
    return intervals


def _merge(results: list[SolveResult]) -> SolveResult:
    """One result for independent per-interval solves: sums of objectives, bounds and sizes."""
    objective = sum(r.objective or 0.0 for r in results)
    bound = sum(r.bound if r.bound is not None else -math.inf for r in results)
    optimal = all(r.status is SolveStatus.OPTIMAL for r in results)
    return SolveResult(
        status=SolveStatus.OPTIMAL if optimal else SolveStatus.FEASIBLE,
        objective=objective,
        bound=bound,
        gap=relative_gap(objective, bound),
        values={k: v for r in results for k, v in r.values.items()},
        solve_s=sum(r.solve_s for r in results),
        size=ModelSize(
            *(
                sum(getattr(r.size, f) for r in results)
                for f in ("variables", "integers", "constraints")
            )
        ),
        backend=results[0].backend,
        message="; ".join(r.message for r in results if r.message),
    )


def solve_plan(
    data: CocktailData,
    ensembles: Sequence[Sequence[tuple[int, ...]]],
    allow_spot: bool,
    solver: MilpSolver,
    explain: Callable[[], str],
    policy: str,
) -> tuple[CocktailDeployment, SolveResult, float]:
    """Build and solve; returns the deployment, the (merged) result and the build time, s.

    Intervals are independent unless start-up costs or a change limit couple consecutive
    ones, so without them each interval is its own MILP (exact: the objective and every
    constraint separate by interval); with them the whole horizon is one MILP.
    """
    coupled = data.startup_h > 0 or data.max_vm_changes is not None
    groups = [list(range(data.n_intervals))] if coupled else [[t] for t in range(data.n_intervals)]
    plans, results, build_s = [], [], 0.0
    for group in groups:
        started = time.perf_counter()
        model = build_model(data, ensembles, allow_spot, group, name=f"{policy}_{group[0]}")
        build_s += time.perf_counter() - started
        result = require_solution(solver.solve(model.problem), explain)
        results.append(result)
        plans += extract(data, model, result)
    return CocktailDeployment(policy=policy, intervals=plans), _merge(results), build_s
