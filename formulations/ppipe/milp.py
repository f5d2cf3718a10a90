"""PPipe's planning MILP over enumerated pipeline designs ("compat" and "general" modes).

PPipe's per-slot MILP (its public ``milp_solver/ilp_v4.py``) lets each slot of pipeline
``s`` pick a chunk range, an MPS level and a batch, checks the pipeline latency against the
SLO when the pipeline is used, and bounds the pipeline throughput by each used slot's
``n x r``. Choosing all slots' ranges, levels and batches together is choosing one design
whose used types are a prefix of ``s``; the latency constraint of a used pipeline is then
exactly "the design is SLO-feasible", which enumeration checks up front
(:mod:`formulations.ppipe.designs`). What remains is which designs run and how many
instances each slot gets.

Sets
    models ``d`` (weight ``w_d``); GPU types ``g`` (``N_g`` GPUs); slot indices
    ``k = 0 .. P-1`` (``P`` = max_partitions); pipelines ``p`` = GPU-type sequences ``s`` in
    ``G^P`` (every sequence, repeats allowed); designs ``e`` of model ``d(e)`` (used slots
    ``K_e <= P``, slot types ``g_{e,k}``, MPS levels ``m_{e,k}``; every design meets the
    latency SLO on its own); type prefixes ``v`` of length ``1 .. P``. Designs on a type
    with ``N_g = 0`` are dropped up front.

Parameters
    ``r_{e,k}`` per-instance throughput of slot ``k`` of design ``e``, requests/s (compute-
    or NIC-bound, :mod:`cost_models.ppipe.tables`); ``w_d`` workload weight (unitless);
    ``N_g`` GPUs of type ``g``; ``m_{e,k}`` MPS level (slices per GPU); ``lcm`` the least
    common multiple of the MPS levels in use (so every coefficient is an integer);
    ``cap_{e,k} = floor(N_g m_{e,k})`` slices; ``Tmax_e`` requests/s (big-M, below).

Variables
    ``t >= 0`` (requests/s per unit weight; block ``t``); ``T[e] >= 0`` pipeline throughput
    (requests/s); ``z[e]`` binary, design ``e`` runs (compat only); ``n[e,k]`` integer in
    ``0 .. cap_{e,k}``, instances = MPS slices in slot ``k``; ``Y[d,k,g]`` integer in
    ``0 .. N_g``, physical GPUs of type ``g`` at slot index ``k`` of model ``d`` (with
    integer_gpus_per_partition_index).

Constraints
    rate[e,k]:    T_e <= r_{e,k} n_{e,k}                         every used slot k of e
    use[e]:       T_e <= Tmax_e z_e                              compat: big-M on T
    prefix[d,v]:  sum_{e of d: types(e) starts with v} z_e <= |G|^(P-|v|)   compat
    maxmin[d]:    w_d t <= sum_{e of d} T_e                      max-min weighted throughput
    rounding on:
    round[d,k,g]: lcm Y_{d,k,g} >= sum_{e of d: g_{e,k} = g} (lcm / m_{e,k}) n_{e,k}
    budget[g]:    sum_{d,k} Y_{d,k,g} <= N_g
    rounding off:
    budget[g]:    sum_{e,k: g_{e,k} = g} (lcm / m_{e,k}) n_{e,k} <= lcm N_g

Objective
    maximise ``t`` = min over models of throughput / weight (requests/s).

Compat mode assigns designs to pipelines only through capacities (``prefix``): the type
sequences form a tree (prefix ``v`` of length ``j`` has ``|G|^(P-j)`` sequences below it) and
a design with types ``(g_0..g_{K-1})`` fits any sequence below that prefix, so a set of
designs can be given distinct pipelines iff, for every prefix ``v``, at most
``|G|^(P-|v|)`` of them have types starting with ``v`` (Hall's condition on a tree;
deepest-first assignment attains it, :func:`assign_sequences`). Running one design in two
pipelines is never better than running it once with the summed instance counts
(``min_k r_k a_k + min_k r_k b_k <= min_k r_k (a_k + b_k)``, same GPUs).

Big-M values from the data: ``n_{e,k} <= cap_{e,k} = floor(N_g m_{e,k})`` (the budget
allows no more slices, since ``n/m <= Y <= N_g``), and
``Tmax_e = min(w_d t_UB, min_k r_{e,k} cap_{e,k})``, where ``t_UB`` is the optimum of the
LP relaxation of compat mode (an upper bound on its optimum ``t*``): the second term bounds
``T_e`` through its own rows, and trimming any ``T_e`` above ``w_d t*`` down to ``w_d t*``
keeps ``w_d t* <= sum_e T_e``, so some optimal plan has every ``T_e <= w_d t_UB`` and
``T_e <= Tmax_e z_e`` cuts none of them off. ``t_UB`` carries a margin of the shared
feasibility tolerance (``FEAS_RTOL`` relative plus ``FEAS_ATOL`` absolute, 1e-6 each, in
:mod:`formulations.tolerances`) for the LP's own tolerance, and is used only when the LP
was solved to optimality. A design with ``z_e = 0`` has ``T_e = 0``; any slices the
solver leaves on it serve nothing and are dropped from the plan. (Putting the big-M on
every ``n_{e,k}`` instead, as PPipe's indicator constraints do, is equivalent but was up to
50x slower with HiGHS on the maf21 instances we timed.)

The per-index rounding is the linearisation of ``Y_{d,k,g} = ceil(sum n/m)``: ``Y`` integer
and ``lcm Y >= sum (lcm/m) n`` force ``Y >= ceil(...)``; the budget row makes a larger
``Y`` never useful, so ``Y`` may be read as the ceiling.

"general" mode drops ``z``, ``use`` and ``prefix``: any number of pipelines, each a design
with its own cuts, per type sequence. Every compat plan is a general plan (the same designs
with the same ``n``), so the general optimum is >= the compat optimum.

Solve strategy (:func:`solve_designs`): the LP relaxation of compat mode (its optimum is
``t_UB``), then the MILP over every design, whose bound is the plan's. If a limit stops that
solve, the MILP restricted to the designs the LP uses (small and quick) provides a fallback
plan, kept when it beats the full solve's incumbent (or the full solve found none); the
restricted plan is feasible for the full model (the other designs at zero), so the full
model's bound still bounds it. Handing that plan to HiGHS as a warm start instead made it up
to 40x slower.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from itertools import product

import numpy as np

from formulations.model import Model, VarBlock
from formulations.ppipe.designs import Design
from formulations.ppipe.inputs import Mode, PPipeInputs
from formulations.tolerances import FEAS_ATOL, FEAS_RTOL, NOISE
from formulations.types import (
    Certificate,
    MilpSolver,
    Sense,
    SolveResult,
    SolveStatus,
    require_solution,
)


@dataclass(frozen=True)
class Chosen:
    """A design a plan runs, with its instance counts per slot."""

    design: Design
    sequence: tuple[int, ...]  # the pipeline's GPU-type sequence (compat) or its used types
    instances: tuple[int, ...]


Picked = tuple[Design, tuple[int, ...]]  # a design and its instance counts per slot


@dataclass(frozen=True)
class DesignModel:
    """The MILP over designs ``usable[i]``, ``i`` in ``keep``, and its blocks."""

    model: Model
    keep: tuple[int, ...]
    n: VarBlock  # n[i,k]
    T: VarBlock  # T[i]
    z: VarBlock | None  # z[i], compat only


@dataclass(frozen=True)
class Solved:
    """The designs a solve picked and the certificates of its solves (solver objectives)."""

    picked: list[Picked]
    parts: list[Certificate]
    bound: float | None

    def certificate(self, objective: float) -> Certificate:
        """The plan's certificate for its objective (recomputed from the designs)."""
        return Certificate.combine(self.parts, objective, self.bound)


def build_model(
    inputs: PPipeInputs,
    usable: Sequence[Design],
    mode: Mode,
    t_bound: float = math.inf,
    relax: bool = False,
    keep: Sequence[int] | None = None,
) -> DesignModel:
    """The MILP of the module docstring over designs ``usable[i]``, ``i`` in ``keep``
    (default all), or its LP relaxation. Labels are the indices ``i``, so a restricted
    model's columns carry the full model's names; ``t_bound`` bounds the optimal ``t``
    (it tightens ``Tmax``)."""
    kept = tuple(range(len(usable))) if keep is None else tuple(keep)
    designs = [usable[i] for i in kept]
    names = [gpu.name for gpu in inputs.gpus]
    counts = [gpu.count for gpu in inputs.gpus]
    lcm = math.lcm(*{s.mps for d in usable for s in d.stages}, 1)
    compat = mode == "compat"
    integer = not relax

    slot_labels = [(i, k) for i, d in zip(kept, designs, strict=True) for k in range(len(d.stages))]
    caps = [math.floor(counts[s.gpu] * s.mps) for d in designs for s in d.stages]
    model = Model("ppipe", Sense.MAXIMIZE)
    model.add_variable("t", cost=1.0)
    T = model.add_variables("T", kept)
    z = model.add_variables("z", kept, upper=1.0, integer=integer) if compat else None
    n = model.add_variables("n", slot_labels, upper=caps, integer=integer)

    # rate[i,k]: T_i - r_{i,k} n_{i,k} <= 0
    slot_design = np.repeat(np.arange(len(kept)), [len(d.stages) for d in designs])
    slot_rate = np.array([s.instance_qps for d in designs for s in d.stages])
    m = len(slot_labels)
    rows = np.repeat(np.arange(m), 2)
    cols = np.empty(2 * m, dtype=np.int64)
    cols[0::2] = T.start + slot_design
    cols[1::2] = n.cols
    values = np.empty(2 * m)
    values[0::2] = 1.0
    values[1::2] = -slot_rate
    model.add_rows("rate", slot_labels, rows, cols, values, upper=0.0)

    if z is not None:
        # use[i]: T_i - Tmax_i z_i <= 0, Tmax_i = min(w_d t_UB, min_k r_{i,k} cap_{i,k})
        weights = [inputs.models[d.model].weight for d in designs]
        first = 0
        most = np.empty(len(kept))
        for j, d in enumerate(designs):
            end = first + len(d.stages)
            slot_most = slot_rate[first:end] * np.asarray(caps[first:end], dtype=float)
            most[j] = min(weights[j] * t_bound, float(slot_most.min()))
            first = end
        q = len(kept)
        rows = np.repeat(np.arange(q), 2)
        cols = np.empty(2 * q, dtype=np.int64)
        cols[0::2] = T.cols
        cols[1::2] = z.cols
        values = np.empty(2 * q)
        values[0::2] = 1.0
        values[1::2] = -most
        model.add_rows("use", kept, rows, cols, values, upper=0.0)
        # prefix[d,v]: sum of z over designs of d whose types start with v <= |G|^(P-|v|)
        under: dict[tuple[int, tuple[int, ...]], list[int]] = {}
        for j, d in enumerate(designs):
            for depth in range(1, len(d.stages) + 1):
                under.setdefault((d.model, d.types[:depth]), []).append(z.start + j)
        keys = list(under)
        sizes = [len(under[key]) for key in keys]
        model.add_rows(
            "prefix",
            [(inputs.models[d].name, "-".join(names[g] for g in v)) for d, v in keys],
            np.repeat(np.arange(len(keys)), sizes),
            np.fromiter((c for key in keys for c in under[key]), np.int64, sum(sizes)),
            np.ones(sum(sizes)),
            upper=np.array(
                [len(names) ** (inputs.max_partitions - len(v)) for _, v in keys], float
            ),
        )

    # maxmin[d]: w_d t - sum_{e of d} T_e <= 0
    served: list[list[int]] = [[] for _ in inputs.models]
    for j, d in enumerate(designs):
        served[d.model].append(T.start + j)
    t_col = model.var_blocks["t"].start
    entries = [(row, c, -1.0) for row, cols_d in enumerate(served) for c in cols_d]
    entries += [(row, t_col, dem.weight) for row, dem in enumerate(inputs.models)]
    model.add_rows(
        "maxmin",
        [dem.name for dem in inputs.models],
        np.array([e[0] for e in entries], dtype=np.int64),
        np.array([e[1] for e in entries], dtype=np.int64),
        np.array([e[2] for e in entries]),
        upper=0.0,
    )

    # GPU use per (model, slot index, type): (lcm / m) n
    cells: dict[tuple[int, int, int], list[tuple[int, float]]] = {}
    col = n.start
    for d in designs:
        for k, s in enumerate(d.stages):
            cells.setdefault((d.model, k, s.gpu), []).append((col, float(lcm // s.mps)))
            col += 1
    if inputs.integer_gpus_per_partition_index:
        keys3 = sorted(cells, key=lambda key: (key[2], key[0], key[1]))
        y = model.add_variables(
            "Y",
            [(inputs.models[d].name, k, names[g]) for d, k, g in keys3],
            upper=[float(counts[g]) for _, _, g in keys3],
            integer=integer,
        )
        # round[d,k,g]: sum (lcm/m) n - lcm Y <= 0
        entries3 = [(row, c, coef) for row, key in enumerate(keys3) for c, coef in cells[key]] + [
            (row, y.start + row, -float(lcm)) for row in range(len(keys3))
        ]
        model.add_rows(
            "round",
            y.labels,
            np.array([e[0] for e in entries3], dtype=np.int64),
            np.array([e[1] for e in entries3], dtype=np.int64),
            np.array([e[2] for e in entries3]),
            upper=0.0,
        )
        # budget[g]: sum Y <= N_g
        y_type = np.array([g for _, _, g in keys3], dtype=np.int64)
        budget = np.array(counts, dtype=float)
        model.add_rows("budget", names, y_type, y.cols, np.ones(len(keys3)), upper=budget)
    else:
        # budget[g]: sum (lcm/m) n <= lcm N_g
        flat = [(g, c, coef) for (_, _, g), terms in cells.items() for c, coef in terms]
        model.add_rows(
            "budget",
            names,
            np.array([e[0] for e in flat], dtype=np.int64),
            np.array([e[1] for e in flat], dtype=np.int64),
            np.array([e[2] for e in flat]),
            upper=lcm * np.array(counts, dtype=float),
        )
    return DesignModel(model, kept, n, T, z)


def _picked(usable: Sequence[Design], built: DesignModel, result: SolveResult) -> list[Picked]:
    """The designs a solution runs: every slot has an instance and, in compat mode, z = 1."""
    counts = np.rint(built.n.values(result)).astype(int).tolist()
    chosen = (
        np.rint(built.z.values(result)).astype(int).tolist()
        if built.z is not None
        else [1] * len(built.keep)
    )
    picked = []
    first = 0
    for j, i in enumerate(built.keep):
        design = usable[i]
        instances = tuple(counts[first : first + len(design.stages)])
        first += len(design.stages)
        if all(instances) and chosen[j]:
            picked.append((design, instances))
    return picked


def solve_designs(
    inputs: PPipeInputs, designs: Sequence[Design], mode: Mode, solver: MilpSolver
) -> Solved:
    """Build and solve the MILP of the module docstring over ``designs`` (all models) with
    the strategy stated there: LP relaxation, full MILP, fallback after a limit. Raises
    :class:`formulations.types.NoSolution` (via ``require_solution``) without a plan."""
    usable = [d for d in designs if all(inputs.gpus[g].count > 0 for g in d.types)]
    # compat's LP relaxation: HiGHS presolves it in milliseconds, but can take 20 s on the
    # general one (ablation instances); Tmax only appears in compat mode anyway
    lp = build_model(inputs, usable, "compat", relax=True)
    relaxed = solver.solve(lp.model)
    # the LP is a part of the plan only when it bounds t; the MILP parts come first, so the
    # certificate's size is the MILP's (the LP has the same shape, without integers)
    lp_part: list[Certificate] = []
    t_bound = math.inf  # a bound only from an LP solved to optimality (never a time-out)
    if relaxed.status is SolveStatus.OPTIMAL and relaxed.objective is not None:
        # margin for the LP's feasibility tolerance (module docstring)
        t_bound = relaxed.objective * (1 + FEAS_RTOL) + FEAS_ATOL
        lp_part.append(Certificate.of(relaxed))
    full = build_model(inputs, usable, mode, t_bound)
    result = solver.solve(full.model)
    if not (result.termination.is_limit and relaxed.status.has_solution):
        require_solution(result, "budget")
        return Solved(
            _picked(usable, full, result), [Certificate.of(result), *lp_part], result.bound
        )
    # a limit stopped the full solve: the MILP restricted to the LP's designs is a fallback
    rates = lp.T.values(relaxed)
    support = [i for i in range(len(usable)) if rates[i] > NOISE]
    small = build_model(inputs, usable, mode, t_bound, keep=support)
    restricted = solver.solve(small.model)
    bound = result.bound if result.bound is not None else t_bound
    finite_bound = bound if math.isfinite(bound) else None
    better = restricted.status.has_solution and (
        not result.status.has_solution or (result.objective or 0.0) < (restricted.objective or 0.0)
    )
    if not better:
        require_solution(result, "budget")
        parts = [Certificate.of(result)]
        if restricted.status.has_solution:
            parts.append(Certificate.of(restricted))
        return Solved(_picked(usable, full, result), parts + lp_part, finite_bound)
    assert restricted.objective is not None
    # the full model with the restricted plan as its incumbent, stopped by its limit
    stopped = Certificate(
        SolveStatus.FEASIBLE,
        result.termination,
        restricted.objective,
        finite_bound,
        result.size,
        1,
        result.message,
    )
    parts = [stopped, Certificate.of(restricted), *lp_part]
    return Solved(_picked(usable, small, restricted), parts, finite_bound)


def assign_sequences(inputs: PPipeInputs, picked: Sequence[Picked]) -> list[Chosen]:
    """Give every chosen design of compat mode its own pipeline (type sequence of length
    ``inputs.max_partitions``): deepest designs first, each to the first free sequence
    extending its types. Succeeds whenever the ``prefix`` rows hold (Hall's condition on a
    tree, see the module docstring); a design that fits no free sequence (only a baseline's,
    e.g. DART-r's two stages when ``max_partitions = 1``) keeps its used types as its
    sequence, which the verifier then reports."""
    free = {
        d: list(product(range(len(inputs.gpus)), repeat=inputs.max_partitions))
        for d in range(len(inputs.models))
    }
    chosen = []
    for design, instances in sorted(picked, key=lambda x: -len(x[0].stages)):
        fits = (s for s in free[design.model] if s[: len(design.stages)] == design.types)
        sequence = next(fits, None)
        if sequence is None:
            sequence = design.types
        else:
            free[design.model].remove(sequence)
        chosen.append(Chosen(design, sequence, instances))
    return chosen


def pipelines(inputs: PPipeInputs, mode: Mode, picked: Sequence[Picked]) -> list[Chosen]:
    """The pipelines of a plan in ``mode``: compat gives each design its own full-length
    type sequence; general names the used types only."""
    if mode == "compat":
        return assign_sequences(inputs, picked)
    return [Chosen(d, d.types, n) for d, n in picked]
