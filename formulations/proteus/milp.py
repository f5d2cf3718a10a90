r"""Proteus accuracy scaling as an exact, aggregated MILP.

Proteus (ASPLOS '24) chooses, for every device, which model variant it hosts and how each
model family's queries are routed, maximising accuracy while serving demand with headroom.
Its own formulation keeps one binary per (device, variant) and multiplies routing shares by
demand-scaled capacities, which it hands to Gurobi's non-convex mode (500 s limit, 50% gap).
Devices of one type are identical, so we aggregate them into integer counts; the model is
then linear, small (two variables per placeable (device type, variant) pair) and solved to
proven optimality in milliseconds. It is built with :class:`formulations.model.Model`,
rows as numpy triplets (``add_rows``), block names as below: ``n[class,variant]``,
``x[class,variant]``, rows ``devices[class]``, ``capacity[class,variant]``, ``demand[f]``,
``presence[f]``, ``fixed[pool,f]``, ``cover[f]``, ``cover_count[f]``; the feasibility model
has ``k[class,f]`` and ``zero``. A class is a pool (``T4``) or, with the shared-class
reduction below, pools sharing a family's variants (``T4+L4``).

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
    D_f             demand the window is planned for (forecast.py: the EWMA forecast at
                    its last re-plan, or with the oracle its own mean demand)   [queries/s]
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
    (fixed)     sum_{v in V_f} n_{d,v} >= S_{d,f}   (Sommelier only: S_{d,f} devices of
                type d are pinned to family f by its starting allocation; the others are
                free. Devices of a type are identical, so pinning S_{d,f} particular
                devices is the same as at least S_{d,f} devices hosting f)
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
* Shared classes: device types that differ on some family may still be interchangeable
  for another. The edge cluster's T4 and L4 have the same usable variants at the same
  capacities for resnet on the calibrated model alone (not with NVIDIA's measured T4
  ResNet-50 rates) and for efficientnet at an 80 ms SLO (not at 100 ms, where b6 fits and
  runs faster on the T4; never for bert and yolov5), so a plan may swap a T4 hosting
  resnet50 with an L4 hosting it, and the per-pool model holds every plan twice per such
  swap. For each family f, the pools with the same non-empty table
  {(v, c_{p,v}): v in V_f usable on p} form one class C (a pool alone is its own class);
  f's variants get one count n_{C,v} per class instead of one per pool, with c_{C,v} the
  class's common capacity. The (devices) rows become, for every class U (pools and shared
  classes), sum_{classes C within U} sum_v n_{C,v} <= N_U = sum_{p in U} N_p ("=" for the
  classes within no other, with all_devices_on). Applied only when the classes of all
  families are laminar (any two disjoint or nested; e.g. {T4}, {L4}, {T4, L4}) and no
  devices are pinned (Sommelier keeps per-pool counts), else every pool is its own class.
  Exactness (symmetry): a per-pool plan maps to class counts n_{C,v} = sum_{p in C}
  n_{p,v}, flows likewise, with the same capacity (c_{p,v} = c_{C,v}), demand, presence
  and objective, and it meets the new (devices) rows (the columns within U use devices of
  U only). Conversely, class counts meeting them split back over pools: that is a flow
  from the classes (supply M_C = sum_v n_{C,v}) to the pools of each (capacity N_p), which
  exists iff sum_{C in K} M_C <= N(union of K) for every set K of classes (Hall); in a
  laminar family the union of K is a disjoint union of its outermost members U_i, and the
  sum over K is at most the sum of the rows of the U_i, so the rows above suffice. Giving
  each class, fewest pools first, any free devices of its pools is such a split (the
  classes within U come first and need at most N_U); with all_devices_on the outermost
  rows make it use every device. Each pool's share of a class's flow is proportional to
  its devices, so every device takes x_{C,v} / n_{C,v} <= c_{C,v} / beta. On the
  benchmark's edge-cluster points this took the accuracy model from 112 to 84 columns (56
  to 42 integers) and a point's CPU from about 130 to 60 ms.
* Dominance: within a class, variant v of family f is dropped when another variant w of f
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
  rounded with a slack of formulations.tolerances.INTEGRALITY_TOL, which can only weaken
  it).
* Feasibility model (the bisection's probe): one integer count k_{p,f} per (class, family),
  hosting the variant of largest e, with (devices), (presence), Sommelier's fixed counts,
  the covers sum_p e_{p,f} k_{p,f} >= beta D_f and a zero objective (the first plan found
  ends the solve; written as one integer column ``zero`` fixed at 0 with cost 1, because
  CBC through PuLP rejects an empty objective). It is feasible exactly when the accuracy
  model is: a plan's counts, moved to that variant, satisfy the covers (e only grows);
  conversely counts satisfying the covers admit the routing
  x_{p,f} = D_f e_{p,f} k_{p,f} / sum_q e_{q,f} k_{q,f}, which meets (capacity) and (demand).
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

HiGHS settings carried by the model (:data:`HIGHS_OPTIONS`, ``Model.solver_options``; a
scenario's ``[solver.options]`` overrides them): no restart of the MIP solve after root
presolve (``mip_allow_restart``), and no root reduced-cost sub-MIP heuristic and no
feasibility jump heuristic (``mip_heuristic_run_root_reduced_cost``,
``mip_heuristic_run_feasibility_jump``). These models are small and their root LP is
quickly re-solved, so a restart (which re-presolves with the root's fixings and starts the
search again) and the two heuristics cost more than they save. None changes what is
proven: the branch-and-bound still closes the gap to ``mip_gap``, so the optimum is the
same (ties may pick another optimal deployment). ``benchmarks/sweep_exactness.py`` checks
that the objectives match the earlier settings point by point; on the benchmark's points
they took a point's CPU from about 240 to 130 ms (load 7-9, 60 points each).

Sommelier's pins (per-pool counts, no shared classes): in a pool, the pinned counts of its
types add up (S_{p,f}); the pool's counts are split back over its types by giving each
type its pinned devices of every family first, then the family's surplus to the types'
unpinned devices (enough exist: sum_f n_{p,f} <= N_p and n_{p,f} >= S_{p,f}).

Certificate of a plan. Each window's certificate is its final accuracy solve's (with every
probe counted as a solve; a probe stopped by a limit before it found a plan leaves the
window's level unproven, so the window is ``feasible`` with that termination). The plan's
objective is the demand-weighted mean of the windows' effective accuracies, so its
objective and bound are the demand-weighted means of the windows' objectives and bounds
(equal weights when no window has demand), combined with ``Certificate.combine``.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Hashable, Mapping, Sequence
from dataclasses import dataclass, replace

import numpy as np

from formulations.model import Model, OptionValue, VarBlock
from formulations.proteus.view import Pools, ProteusView, VariantInfo
from formulations.tolerances import INTEGRALITY_TOL
from formulations.types import (
    Certificate,
    MilpSolver,
    Sense,
    SolveResult,
    SolveStatus,
    require_solution,
)

Pair = tuple[str, str]  # (class, pool or device type; variant)

# HiGHS options of every Proteus model (see the module docstring: search settings only)
HIGHS_OPTIONS: dict[str, dict[str, OptionValue]] = {
    "highs": {
        "mip_allow_restart": False,
        "mip_heuristic_run_root_reduced_cost": False,
        "mip_heuristic_run_feasibility_jump": False,
    }
}


@dataclass(frozen=True)
class Restriction:
    """What a baseline may use: a subset of pairs, and/or fixed devices per (type, family)."""

    pairs: frozenset[Pair] | None = None
    family_devices: Mapping[tuple[str, str], int] | None = None


@dataclass(frozen=True)
class Candidates:
    """A restriction resolved once for every window of a plan: the device classes (see
    the module docstring), the usable (class, variant) pairs after dominance on capacity
    with each one's capacity per device, and the fixed counts per (pool, family)."""

    restriction: Restriction
    pairs: list[Pair]
    fixed: dict[tuple[str, str], int] | None
    classes: dict[str, tuple[str, ...]]  # class -> its pools (a pool alone: its own name)
    qps: dict[Pair, float]  # (class, variant) -> c, queries/s per device

    def pools_count(self, view: ProteusView, cls: str) -> int:
        """N of a class: the devices of its pools."""
        return sum(view.pools.count[p] for p in self.classes[cls])


@dataclass(frozen=True)
class WindowSolution:
    beta: float
    devices: dict[Pair, int]  # (device type, variant) -> count
    routed_qps: dict[Pair, float]
    result: SolveResult  # the final accuracy solve (its values warm-start the next window)
    certificate: Certificate  # the window's, every probe counted


@dataclass(frozen=True)
class WindowModel:
    """One window's model: the accuracy model (blocks n, x) or the feasibility model (k)."""

    model: Model
    pairs: list[Pair]
    n: VarBlock
    upper: np.ndarray  # the upper bound of each n (or k) column, devices


def _options(view: ProteusView, restriction: Restriction, pool: str, f: str) -> list[VariantInfo]:
    """Variants of family ``f`` placeable on ``pool`` that ``restriction`` allows."""
    return [
        v
        for v in view.variants[f]
        if (pool, v.name) in view.capacity
        and (restriction.pairs is None or (pool, v.name) in restriction.pairs)
    ]


def device_classes(
    view: ProteusView, restriction: Restriction
) -> tuple[dict[str, tuple[str, ...]], dict[tuple[str, str], str]]:
    """The device classes of the shared-class reduction (module docstring): class -> its
    pools, and (pool, family) -> the class hosting the family's variants of that pool.

    Per family, pools with the same non-empty table of usable variants and capacities form
    one class. Only when the classes of all families are laminar (any two disjoint or
    nested), carry distinct names, and no devices are pinned (Sommelier); otherwise every
    pool is its own class."""
    pools = list(view.pools.members)
    own: dict[str, tuple[str, ...]] = {p: (p,) for p in pools}
    alone = (own, {(p, f): p for p in pools for f in view.families})
    if restriction.family_devices is not None:
        return alone
    group_of: dict[tuple[str, str], tuple[str, ...]] = {}
    for f in view.families:
        by_table: dict[tuple[tuple[str, float], ...], list[str]] = {}
        for p in pools:
            table = tuple(
                (v.name, view.capacity[(p, v.name)].qps) for v in _options(view, restriction, p, f)
            )
            by_table.setdefault(table, []).append(p)
        for table, group in by_table.items():
            for p in group:
                group_of[(p, f)] = tuple(group) if table else (p,)
    shared = list(dict.fromkeys(g for g in group_of.values() if len(g) > 1))  # first seen
    sets = [frozenset(g) for g in shared]
    names = ["+".join(g) for g in shared]
    if (
        any(a & b and not (a <= b or b <= a) for a in sets for b in sets)
        or len(set(names)) < len(names)
        or any(name in own for name in names)
    ):
        return alone
    name_of = {g: name for g, name in zip(shared, names, strict=True)} | {
        g: p for p, g in own.items()
    }
    classes = own | dict(zip(names, shared, strict=True))
    return classes, {key: name_of[g] for key, g in group_of.items()}


def usable_pairs(
    view: ProteusView,
    restriction: Restriction,
    class_of: Mapping[tuple[str, str], str] | None = None,
) -> list[Pair]:
    """Placeable (class, variant) pairs a restriction allows, dominated variants removed
    (``class_of``: (pool, family) -> class, default every pool its own class)."""
    pairs: list[Pair] = []
    seen: set[tuple[str, str]] = set()
    for pool in view.pools.members:
        for f in view.families:
            cls = pool if class_of is None else class_of[(pool, f)]
            if (cls, f) in seen:
                continue
            seen.add((cls, f))
            options = _options(view, restriction, pool, f)

            def dominates(w: VariantInfo, v: VariantInfo, pool: str = pool) -> bool:
                cw, cv = view.capacity[(pool, w.name)].qps, view.capacity[(pool, v.name)].qps
                if w.accuracy == v.accuracy and cw == cv:
                    return w.name < v.name
                return w.accuracy >= v.accuracy and cw >= cv

            pairs.extend(
                (cls, v.name)
                for v in options
                if not any(dominates(w, v) for w in options if w is not v)
            )
    return pairs


def pool_family_devices(
    pools: Pools, family_devices: Mapping[tuple[str, str], int]
) -> dict[tuple[str, str], int]:
    pool_of = {d: p for p, group in pools.members.items() for d in group}
    fixed: dict[tuple[str, str], int] = defaultdict(int)
    for (d, f), count in family_devices.items():
        fixed[(pool_of[d], f)] += count
    return dict(fixed)


def candidates(view: ProteusView, restriction: Restriction = Restriction()) -> Candidates:
    fixed = (
        pool_family_devices(view.pools, restriction.family_devices)
        if restriction.family_devices is not None
        else None
    )
    classes, class_of = device_classes(view, restriction)
    pairs = usable_pairs(view, restriction, class_of)
    qps = {(cls, v): view.capacity[(classes[cls][0], v)].qps for cls, v in pairs}
    return Candidates(restriction, pairs, fixed, classes, qps)


def effective_pairs(
    view: ProteusView,
    usable: Candidates,
    demand: Mapping[str, float],
    beta: float,
    accuracy_matters: bool = True,
) -> list[Pair]:
    """Usable pairs after dominance on effective capacity min(c, beta D_f) (see docstring).

    With ``accuracy_matters`` false (feasibility), only capacity counts: one pair per
    (class, family) remains, the one with the largest effective capacity.
    """
    family_of = view.family_of
    accuracy = view.accuracy
    groups: dict[tuple[str, str], list[str]] = defaultdict(list)
    for cls, v in usable.pairs:
        groups[(cls, family_of[v])].append(v)
    pairs: list[Pair] = []
    for (cls, f), options in groups.items():
        cap = {v: min(usable.qps[(cls, v)], beta * demand[f]) for v in options}
        if not accuracy_matters:
            pairs.append((cls, max(options, key=lambda v: (cap[v], accuracy[v], v))))
            continue

        def dominates(w: str, v: str, cap: dict[str, float] = cap) -> bool:
            if accuracy[w] == accuracy[v] and cap[w] == cap[v]:
                return w < v
            return accuracy[w] >= accuracy[v] and cap[w] >= cap[v]

        pairs.extend(
            (cls, v) for v in options if not any(dominates(w, v) for w in options if w != v)
        )
    return pairs


def count_upper(
    view: ProteusView,
    usable: Candidates,
    pairs: list[Pair],
    demand: Mapping[str, float],
    beta: float,
    free: bool,
) -> np.ndarray:
    """N_class per pair; with ``free`` (idle devices allowed, family counts free) also
    n_{p,v} <= max(floor(beta D_f / c_{p,v}) + 1, m), or m when D_f = 0 (see docstring)."""
    upper = np.array([float(usable.pools_count(view, p)) for p, _ in pairs])
    if free:
        minimum = view.inputs.min_devices_per_family
        for j, p in enumerate(pairs):
            need = beta * demand[view.family_of[p[1]]]
            enough = math.floor(need / usable.qps[p]) + 1 if need > 0 else 0
            upper[j] = min(upper[j], float(max(enough, minimum)))
    return upper


def _sum_rows(
    model: Model,
    block: str,
    labels: Sequence[Hashable],
    group: np.ndarray,
    cols: np.ndarray,
    values: np.ndarray | float,
    lower: float | np.ndarray,
    upper: float | np.ndarray,
) -> None:
    """Rows ``block[labels[g]]``: the sum of ``values * column`` over entries of group g."""
    value = np.full(group.shape, values) if isinstance(values, float) else values
    if group.size and group.min() < 0:
        keep = group >= 0
        group, cols, value = group[keep], cols[keep], value[keep]
    model.add_rows(block, labels, group, cols, value, lower, upper)


def build(
    view: ProteusView,
    usable: Candidates,
    demand: Mapping[str, float],
    beta: float,
    flows: bool = True,
) -> WindowModel:
    """The accuracy model at headroom ``beta``; with ``flows`` false, the feasibility model:
    counts k only, one column per (pool, family) hosting its variant of largest effective
    capacity e, rows (devices), (presence), (fixed) and the covers sum e k >= beta D_f,
    objective zero."""
    inputs = view.inputs
    pairs = effective_pairs(view, usable, demand, beta, flows)
    size = len(pairs)
    family_index = {f: i for i, f in enumerate(view.families)}
    fam = np.array([family_index[view.family_of[v]] for _, v in pairs], dtype=np.int64)
    need = np.array([beta * demand[f] for f in view.families])
    effective = np.array(
        [min(usable.qps[p], need[fam[j]]) for j, p in enumerate(pairs)], dtype=float
    )
    free = not inputs.all_devices_on and usable.fixed is None
    model = Model("proteus", Sense.MAXIMIZE, solver_options=HIGHS_OPTIONS)
    labels = pairs if flows else [(p, view.family_of[v]) for p, v in pairs]
    upper = count_upper(view, usable, pairs, demand, beta, free)
    n = model.add_variables("n" if flows else "k", labels, upper=upper, integer=True)
    ncols = n.cols
    if flows:
        total = sum(demand.values())
        scale = 1.0 / total if total > 0 else 0.0
        x = model.add_variables("x", pairs, cost=[view.accuracy[v] * scale for _, v in pairs])
    else:
        # Objective zero (see docstring): one integer column fixed at 0 with cost 1.
        model.add_variable("zero", 0.0, 0.0, integer=True, cost=1.0)
    # (devices) per class U: the counts of the classes within U <= N_U (= for the
    # outermost classes with all_devices_on)
    within = {
        u: [c for c, members in usable.classes.items() if set(members) <= set(pools)]
        for u, pools in usable.classes.items()
    }
    outermost = [
        not any(u != w and u in inner for w, inner in within.items()) for u in usable.classes
    ]
    row_of_class = {u: i for i, u in enumerate(usable.classes)}
    entries = [
        (row_of_class[u], j)
        for u in usable.classes
        for j, (c, _) in enumerate(pairs)
        if c in within[u]
    ]
    counts = np.array([float(usable.pools_count(view, u)) for u in usable.classes])
    model.add_rows(
        "devices",
        list(usable.classes),
        np.array([r for r, _ in entries], dtype=np.int64),
        ncols[np.array([j for _, j in entries], dtype=np.int64)],
        np.ones(len(entries)),
        np.where(outermost, counts, -math.inf) if inputs.all_devices_on else -math.inf,
        counts,
    )
    families: list[Hashable] = list(view.families)
    minimum = inputs.min_devices_per_family
    if minimum > 0:  # (presence) sum n >= m per family
        _sum_rows(model, "presence", families, fam, ncols, 1.0, float(minimum), math.inf)
    if usable.fixed is not None:  # (fixed) Sommelier's pinned devices per (pool, family)
        fixed = [(key, c) for key, c in usable.fixed.items() if c > 0]
        index = {key: i for i, (key, _) in enumerate(fixed)}
        group = np.array([index.get((p, view.family_of[v]), -1) for p, v in pairs], dtype=np.int64)
        amount = np.array([float(c) for _, c in fixed])
        _sum_rows(model, "fixed", [k for k, _ in fixed], group, ncols, 1.0, amount, math.inf)
    # (cover) sum e n >= beta D_f and (cover_count) sum n >= ceil(beta D_f / e_max)
    needy = [i for i, f in enumerate(view.families) if need[i] > 0]
    row_of = np.full(len(view.families), -1, dtype=np.int64)
    row_of[needy] = np.arange(len(needy))
    _sum_rows(
        model,
        "cover",
        [view.families[i] for i in needy],
        row_of[fam],
        ncols,
        effective,
        need[needy],
        math.inf,
    )
    largest = np.zeros(len(view.families))
    np.maximum.at(largest, fam, effective)
    least = {
        i: math.ceil(need[i] / (largest[i] if largest[i] > 0 else need[i]) - INTEGRALITY_TOL)
        for i in needy
    }
    counted = [i for i in needy if least[i] > 1]
    row_of = np.full(len(view.families), -1, dtype=np.int64)
    row_of[counted] = np.arange(len(counted))
    _sum_rows(
        model,
        "cover_count",
        [view.families[i] for i in counted],
        row_of[fam],
        ncols,
        1.0,
        np.array([float(least[i]) for i in counted]),
        math.inf,
    )
    if flows:
        # (capacity) beta x - min(c, beta D_f) n <= 0 (the min: x <= D_f n, valid as x <= D_f)
        rows = np.arange(size, dtype=np.int64)
        model.add_rows(
            "capacity",
            pairs,
            np.concatenate([rows, rows]),
            np.concatenate([x.cols, ncols]),
            np.concatenate([np.full(size, beta), -effective]),
            upper=0.0,
        )
        # (demand) sum x = D_f
        amount = np.array([demand[f] for f in view.families])
        _sum_rows(model, "demand", families, fam, x.cols, 1.0, amount, amount)
    return WindowModel(model, pairs, n, upper)


def split_classes(
    view: ProteusView,
    usable: Candidates,
    devices: Mapping[Pair, int],
    routed: Mapping[Pair, float],
) -> tuple[dict[Pair, int], dict[Pair, float]]:
    """Split class counts and flows back over the device types of the class's pools, the
    classes of fewer pools first: pinned devices of each family first (Sommelier), then
    any free device (see docstring)."""
    family_devices = usable.restriction.family_devices
    pins: dict[Hashable, int] = {key: c for key, c in (family_devices or {}).items()}
    free: dict[Hashable, int] = {
        d: view.device_count[d] - sum(c for (dd, _), c in (family_devices or {}).items() if dd == d)
        for d in view.device_types
    }
    out_devices: dict[Pair, int] = defaultdict(int)
    out_routed: dict[Pair, float] = defaultdict(float)
    for (cls, v), count in sorted(devices.items(), key=lambda e: len(usable.classes[e[0][0]])):
        f = view.family_of[v]
        need = count
        for room in (pins, free):
            for d in (d for pool in usable.classes[cls] for d in view.pools.members[pool]):
                key: Hashable = (d, f) if room is pins else d
                take = min(need, room.get(key, 0))
                if take <= 0:
                    continue
                room[key] -= take
                out_devices[(d, v)] += take
                out_routed[(d, v)] += routed.get((cls, v), 0.0) * take / count
                need -= take
    return dict(out_devices), dict(out_routed)


def solve_window(
    view: ProteusView,
    solver: MilpSolver,
    window: int,
    usable: Candidates,
    warm_start: Mapping[str, float] | None = None,
    levels: Sequence[float] | None = None,
    demand: Mapping[str, float] | None = None,
) -> WindowSolution:
    """Highest headroom on the grid (``levels``, default the scenario's), then maximum
    accuracy at it, for ``demand`` (default: the demand the window is planned for; see
    module docstring).

    Raises :class:`formulations.types.NoSolution` (context: the window) when even the
    lowest level has no plan.
    """
    demand = view.planned(window) if demand is None else demand
    levels = view.levels if levels is None else list(levels)
    beta = levels[0]
    model = build(view, usable, demand, beta)
    if warm_start is not None:
        # the previous window's counts, within this window's bounds (CBC refuses a start
        # outside them; issue 19)
        caps = dict(zip(model.n.names(), model.upper, strict=True))
        warm_start = {k: min(v, float(caps.get(k, v))) for k, v in warm_start.items()}
    result = solver.solve(model.model, warm_start=warm_start)
    solves = 1
    unproven: SolveResult | None = None  # a probe stopped by a limit before any plan
    if result.status is SolveStatus.INFEASIBLE and len(levels) > 1:
        # Bisection for the first feasible level: levels[low] is infeasible, and every
        # level from levels[high] on is feasible (high = len(levels): none known to be).
        low, high = 0, len(levels)
        while high - low > 1:
            middle = (low + high) // 2
            probe = solver.solve(build(view, usable, demand, levels[middle], flows=False).model)
            solves += 1
            if not probe.status.has_solution and probe.status is not SolveStatus.INFEASIBLE:
                unproven = unproven or probe
            low, high = (low, middle) if probe.status.has_solution else (middle, high)
        for beta in levels[high:]:
            model = build(view, usable, demand, beta)
            result = solver.solve(model.model)
            solves += 1
            if result.status is not SolveStatus.INFEASIBLE:
                break
    require_solution(result, context=window)
    certificate = replace(Certificate.of(result), solves=solves)
    if unproven is not None:
        certificate = replace(
            certificate, status=SolveStatus.FEASIBLE, termination=unproven.termination
        )
    counts = np.rint(model.n.values(result)).astype(int)
    x = model.model.var_blocks["x"].values(result)
    devices = {p: int(c) for p, c in zip(model.pairs, counts, strict=True) if c > 0}
    flows = {p: max(0.0, float(q)) for p, c, q in zip(model.pairs, counts, x, strict=True) if c > 0}
    devices, routed = split_classes(view, usable, devices, flows)
    return WindowSolution(
        beta, devices, {p: q for p, q in routed.items() if q > 0}, result, certificate
    )


def combine_windows(view: ProteusView, parts: list[Certificate]) -> Certificate:
    """The plan's certificate: demand-weighted means of the windows' objectives and bounds
    (see docstring)."""
    weights = view.planned_qps.sum(axis=1)
    total = float(weights.sum())
    share = weights / total if total > 0 else np.full(len(parts), 1.0 / len(parts))
    objective = float(sum(s * p.objective for s, p in zip(share, parts, strict=True)))
    bounds = [p.bound for p in parts]
    bound = (
        None
        if any(b is None for b in bounds)
        else float(sum(s * b for s, b in zip(share, bounds, strict=True) if b is not None))
    )
    return Certificate.combine(parts, objective, bound)
