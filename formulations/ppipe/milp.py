"""PPipe's planning MILP over enumerated pipeline designs ("compat" and "general" modes).

Sets: models ``d`` (weight ``w_d``), GPU types ``g`` (``N_g`` GPUs), slot indices
``k = 0 .. P-1`` (``P`` = max_partitions), pipelines ``p`` = GPU-type sequences ``s`` in
``G^P`` (every sequence, repeats allowed), designs ``e`` (see :mod:`.designs`: used slots
``K_e <= P``, slot types ``g_{e,k}``, MPS levels ``m_{e,k}``, per-instance throughput
``r_{e,k}`` in requests/s, every design meets the latency SLO on its own).

PPipe's per-slot MILP (its public ``milp_solver/ilp_v4.py``) lets each slot of pipeline
``s`` pick a chunk range, an MPS level and a batch, checks the pipeline latency against the
SLO when the pipeline is used, and bounds the pipeline throughput by each used slot's
``n x r``. Choosing all slots' ranges, levels and batches together is choosing one design
whose used types are a prefix of ``s``; the latency constraint of a used pipeline is then
exactly "the design is SLO-feasible", which enumeration checks up front. What remains is
which designs run and how many instances each slot gets.

Compat mode assigns designs to pipelines only through capacities: the type sequences form a
tree (prefix ``v`` of length ``j`` has ``|G|^(P-j)`` sequences below it) and a design with
types ``(g_0..g_{K-1})`` fits any sequence below that prefix, so a set of designs can be
given distinct pipelines iff, for every prefix ``v``, at most ``|G|^(P-|v|)`` of them have
types starting with ``v`` (Hall's condition on a tree; deepest-first assignment attains it).
Running one design in two pipelines is never better than running it once with the summed
instance counts (``min_k r_k a_k + min_k r_k b_k <= min_k r_k (a_k + b_k)``, same GPUs).

Variables: ``z_e`` binary (compat only), ``n_{e,k}`` integer >= 0 (instances = MPS slices in
slot ``k``), ``T_e >= 0`` (requests/s), ``Y_{d,k,g}`` integer >= 0 (physical GPUs of type
``g`` at slot index ``k`` of model ``d``; with integer_gpus_per_partition_index), ``t >= 0``.

    max t
    s.t. T_e <= r_{e,k} n_{e,k}                          every used slot k of e
         T_e <= Tmax_e z_e                               compat: big-M on the throughput
         sum_{e of d: types(e) starts with v} z_e <= |G|^(P-|v|)   compat: every prefix v
         w_d t <= sum_{e of d} T_e                       max-min weighted throughput
    rounding on:   lcm Y_{d,k,g} >= sum_{e of d: g_{e,k} = g} (lcm / m_{e,k}) n_{e,k}
                   sum_{d,k} Y_{d,k,g} <= N_g
    rounding off:  sum_{e,k: g_{e,k} = g} (lcm / m_{e,k}) n_{e,k} <= lcm N_g

``lcm`` is the least common multiple of the MPS levels in use, so every coefficient is an
integer. Big-M values from the data: ``n_{e,k} <= cap_{e,k} = floor(N_g m_{e,k})`` (the
budget allows no more slices, since ``n/m <= Y <= N_g``), and
``Tmax_e = min(w_d t_UB, min_k r_{e,k} cap_{e,k})``, where ``t_UB`` is the optimum of the
LP relaxation of compat mode (an upper bound on its optimum ``t*``): the second
term bounds ``T_e`` through its own rows, and trimming any ``T_e`` above ``w_d t*`` down to
``w_d t*`` keeps ``w_d t* <= sum_e T_e``, so some optimal plan has every ``T_e <= w_d t_UB``
and ``T_e <= Tmax_e z_e`` cuts none of them off. A design with ``z_e = 0`` has ``T_e = 0``;
any slices the solver leaves on it serve nothing and are dropped from the plan. Designs on
a type with ``N_g = 0`` are dropped up front. (Putting the big-M on every ``n_{e,k}``
instead, as PPipe's indicator constraints do, is equivalent but was up to 50x slower with
HiGHS on the maf21 instances we timed.)

"general" mode drops ``z`` and the one-design-per-pipeline row: any number of pipelines,
each a design with its own cuts, per type sequence. Every compat plan is a general plan
(the same designs with the same ``n``), so the general optimum is >= the compat optimum.

Pruning (exact, proofs in :mod:`.designs`): designs that miss the SLO on their own cannot be
used by any pipeline; dominated designs (same types and levels per slot, no slot faster)
can be swapped for their dominator in any plan without changing GPU use or lowering ``T``.

Baselines on the same inputs: NP = this model with ``P = 1`` and MPS level 1 only (PPipe's
``get_baseline_multitask_plan``); DART-r = ``min(N_hi, N_lo)`` fixed units of one
high-class plus one low-class GPU (each unit serves one model with the best plan that fits
on those two GPUs at MPS level 1) and the surplus GPUs of the larger pool serving whole
models, split among models by a small MILP that maximises the same max-min objective.
"""

from __future__ import annotations

import math
import time
from collections.abc import Sequence
from dataclasses import dataclass, replace
from itertools import product

import pulp

from formulations.ppipe.designs import Design
from formulations.ppipe.inputs import Mode, PPipeInputs
from formulations.types import (
    MilpSolver,
    SolveResult,
    SolveStatus,
    relative_gap,
    require_solution,
)


@dataclass(frozen=True)
class Chosen:
    """A design a plan runs, with its instance counts per slot."""

    design: Design
    sequence: tuple[int, ...]  # the pipeline's GPU-type sequence (compat) or its used types
    instances: tuple[int, ...]


@dataclass
class Solved:
    chosen: list[Chosen]
    result: SolveResult
    build_s: float


def _assign_sequences(
    inputs: PPipeInputs, designs: Sequence[tuple[Design, tuple[int, ...]]]
) -> list[Chosen]:
    """Give every chosen design of compat mode its own pipeline (type sequence): deepest
    designs first, each to the first free sequence extending its types. Succeeds whenever
    the prefix-capacity rows hold (Hall's condition on a tree, see the module docstring)."""
    free = {
        d: list(product(range(len(inputs.gpus)), repeat=inputs.max_partitions))
        for d in range(len(inputs.models))
    }
    chosen = []
    for design, instances in sorted(designs, key=lambda x: -len(x[0].stages)):
        sequence = next(s for s in free[design.model] if s[: len(design.stages)] == design.types)
        free[design.model].remove(sequence)
        chosen.append(Chosen(design, sequence, instances))
    return chosen


@dataclass
class _Model:
    prob: pulp.LpProblem
    counts: dict[int, list[pulp.LpVariable]]  # design index -> instance count per slot
    rates: dict[int, pulp.LpVariable]  # design index -> pipeline throughput T
    chosen: dict[int, pulp.LpVariable]  # design index -> z (compat mode)


def _build(
    inputs: PPipeInputs,
    usable: Sequence[Design],
    mode: Mode,
    t_bound: float = math.inf,
    relax: bool = False,
    keep: Sequence[int] | None = None,
) -> _Model:
    """The MILP above over the designs ``usable[i]``, ``i`` in ``keep`` (default all), or its
    LP relaxation; variables are named by ``i``, so a restricted model's solution is a valid
    start for the full one; ``t_bound`` bounds the optimal ``t`` (it tightens ``Tmax``)."""
    integer = pulp.LpContinuous if relax else pulp.LpInteger
    lcm = math.lcm(*{s.mps for d in usable for s in d.stages}, 1)
    prob = pulp.LpProblem("ppipe", pulp.LpMaximize)
    t = pulp.LpVariable("t", lowBound=0)
    prob += t
    served: list[list[pulp.LpVariable]] = [[] for _ in inputs.models]
    use: dict[tuple[int, int, int], list[tuple[int, pulp.LpVariable]]] = {}
    under: dict[tuple[int, tuple[int, ...]], list[pulp.LpVariable]] = {}
    model = _Model(prob, {}, {}, {})
    for index in range(len(usable)) if keep is None else keep:
        design = usable[index]
        rate = pulp.LpVariable(f"T_{index}", lowBound=0)
        model.rates[index] = rate
        served[design.model].append(rate)
        caps = [math.floor(inputs.gpus[s.gpu].count * s.mps) for s in design.stages]
        most_rps = min(
            inputs.models[design.model].weight * t_bound,
            *(s.instance_rps * cap for s, cap in zip(design.stages, caps, strict=True)),
        )
        chosen = None
        if mode == "compat":
            chosen = pulp.LpVariable(f"z_{index}", 0, 1, integer)
            model.chosen[index] = chosen
            for depth in range(1, len(design.stages) + 1):
                under.setdefault((design.model, design.types[:depth]), []).append(chosen)
        slot_counts = []
        for k, stage in enumerate(design.stages):
            n = pulp.LpVariable(f"n_{index}_{k}", 0, caps[k], integer)
            slot_counts.append(n)
            prob += rate <= stage.instance_rps * n
            use.setdefault((design.model, k, stage.gpu), []).append((lcm // stage.mps, n))
        if chosen is not None:
            prob += rate <= most_rps * chosen
        model.counts[index] = slot_counts
    for (_, prefix), chosen_vars in under.items():
        prob += pulp.lpSum(chosen_vars) <= len(inputs.gpus) ** (inputs.max_partitions - len(prefix))
    for d, demand in enumerate(inputs.models):
        prob += demand.weight * t <= pulp.lpSum(served[d])
    for g, gpu in enumerate(inputs.gpus):
        cells = [(key, terms) for key, terms in use.items() if key[2] == g]
        if inputs.integer_gpus_per_partition_index:
            whole = []
            for (d, k, _), terms in cells:
                y = pulp.LpVariable(f"Y_{d}_{k}_{g}", 0, gpu.count, integer)
                prob += lcm * y >= pulp.lpSum(c * n for c, n in terms)
                whole.append(y)
            prob += pulp.lpSum(whole) <= gpu.count
        else:
            prob += pulp.lpSum(c * n for _, terms in cells for c, n in terms) <= lcm * gpu.count
    return model


def _fallback(
    inputs: PPipeInputs,
    usable: Sequence[Design],
    mode: Mode,
    t_bound: float,
    relaxed: SolveResult,
    lp: _Model,
    result: SolveResult,
    solver: MilpSolver,
) -> SolveResult:
    """After a time limit: solve the MILP restricted to the designs the LP relaxation uses
    (small and quick) and keep its plan if it beats the full solve's incumbent (or the full
    solve found none); the bound and gap stay those of the full model."""
    support = [i for i in range(len(usable)) if relaxed.value(lp.rates[i]) > 1e-9]
    restricted = solver.solve(_build(inputs, usable, mode, t_bound, keep=support).prob)
    solve_s = result.solve_s + restricted.solve_s
    if not restricted.status.has_solution or (
        result.status.has_solution and (result.objective or 0.0) >= (restricted.objective or 0.0)
    ):
        return replace(result, solve_s=solve_s)
    bound = result.bound if result.bound is not None else t_bound
    return replace(
        result,
        status=SolveStatus.FEASIBLE,
        objective=restricted.objective,
        values=restricted.values,
        solve_s=solve_s,
        gap=relative_gap(restricted.objective or 0.0, bound),
        bound=bound,
    )


def solve_designs(
    inputs: PPipeInputs, designs: Sequence[Design], mode: Mode, solver: MilpSolver, explain: str
) -> Solved:
    """Build and solve the MILP above over ``designs`` (all models); ``explain`` names the
    failing requirement if the solver reports the model infeasible.

    Solves the LP relaxation of compat mode (its optimum is ``t_UB``), then the MILP over
    every design, whose status, bound and gap are the plan's. If a time limit stops that
    solve, the MILP restricted to the designs the LP uses provides a fallback plan (handing
    that plan to HiGHS as a warm start instead made it up to 40x slower)."""
    started = time.perf_counter()
    usable = [d for d in designs if all(inputs.gpus[g].count > 0 for g in d.types)]
    # compat's LP relaxation: HiGHS presolves it in milliseconds, but can take 20 s on the
    # general one (ablation instances); Tmax only appears in compat mode anyway
    lp = _build(inputs, usable, "compat", relax=True)
    relaxed = solver.solve(lp.prob)
    t_bound = math.inf  # a bound only from an LP solved to optimality (never a time-out)
    if relaxed.status is SolveStatus.OPTIMAL and relaxed.objective is not None:
        t_bound = relaxed.objective * (1 + 1e-6) + 1e-6  # margin for LP tolerances
    model = _build(inputs, usable, mode, t_bound)
    build_s = time.perf_counter() - started - relaxed.solve_s
    result = solver.solve(model.prob)
    result.solve_s += relaxed.solve_s
    if result.status is not SolveStatus.OPTIMAL and result.status is not SolveStatus.ERROR:
        result = _fallback(inputs, usable, mode, t_bound, relaxed, lp, result, solver)
    require_solution(result, lambda: explain)
    picked = []
    for index in range(len(usable)):
        instances = tuple(result.int_value(n) for n in model.counts[index])
        if all(instances) and (index not in model.chosen or result.int_value(model.chosen[index])):
            picked.append((usable[index], instances))
    if mode == "compat":
        return Solved(_assign_sequences(inputs, picked), result, build_s)
    return Solved([Chosen(d, d.types, n) for d, n in picked], result, build_s)


def pipeline_rps(chosen: Chosen) -> float:
    """Throughput of a chosen pipeline: its slowest slot (instances x per-instance rate)."""
    return min(
        n * s.instance_rps for n, s in zip(chosen.instances, chosen.design.stages, strict=True)
    )


def model_rps(inputs: PPipeInputs, chosen: Sequence[Chosen]) -> list[float]:
    """Planned throughput of every model (sum over its pipelines), requests/s."""
    totals = [0.0] * len(inputs.models)
    for c in chosen:
        totals[c.design.model] += pipeline_rps(c)
    return totals


def dart_r(
    inputs: PPipeInputs, designs: Sequence[Design], solver: MilpSolver
) -> tuple[float, list[float], SolveResult]:
    """DART-r on ``designs`` (enumerated with P = 2 and MPS level 1): objective, per-model
    throughput and the allocation solve. Needs one high-class and one low-class GPU type."""
    high = next(g for g, gpu in enumerate(inputs.gpus) if not gpu.low_class)
    low = next(g for g, gpu in enumerate(inputs.gpus) if gpu.low_class)
    units = min(inputs.gpus[high].count, inputs.gpus[low].count)
    surplus_gpu = max((high, low), key=lambda g: inputs.gpus[g].count)
    surplus = inputs.gpus[surplus_gpu].count - units

    def best(d: int, types: tuple[int, ...]) -> float:
        return max(
            (
                min(s.instance_rps for s in e.stages)
                for e in designs
                if e.model == d and e.types == types
            ),
            default=0.0,
        )

    unit_rps = [
        max(best(d, (high,)) + best(d, (low,)), best(d, (high, low)), best(d, (low, high)))
        for d in range(len(inputs.models))
    ]
    single_rps = [best(d, (surplus_gpu,)) for d in range(len(inputs.models))]
    prob = pulp.LpProblem("dart_r", pulp.LpMaximize)
    t = pulp.LpVariable("t", lowBound=0)
    prob += t
    u = [pulp.LpVariable(f"u_{d}", 0, units, pulp.LpInteger) for d in range(len(unit_rps))]
    s = [pulp.LpVariable(f"s_{d}", 0, surplus, pulp.LpInteger) for d in range(len(unit_rps))]
    prob += pulp.lpSum(u) <= units
    prob += pulp.lpSum(s) <= surplus
    for d, model in enumerate(inputs.models):
        prob += model.weight * t <= unit_rps[d] * u[d] + single_rps[d] * s[d]
    result = require_solution(solver.solve(prob), lambda: "DART-r: allocation infeasible")
    rates = [
        unit_rps[d] * result.int_value(u[d]) + single_rps[d] * result.int_value(s[d])
        for d in range(len(unit_rps))
    ]
    return min(r / m.weight for r, m in zip(rates, inputs.models, strict=True)), rates, result
