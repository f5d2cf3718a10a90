"""The Cocktail MILP (NSDI '22): per request class, a voting ensemble on on-demand and spot VMs.

Sets
    T intervals (length ``interval_h`` hours), K request classes, M models, I instance types
    (without the dominated ones, below), E_k candidate ensembles of class k (below).
Parameters
    lambda[t,k]   planned load of class k in interval t, requests/s (observed or forecast)
    slo_ms[k], target[k]   latency SLO (ms) and vote-accuracy target (fraction) of class k
    lat[m,i]      latency of one request of model m on instance type i, ms (roofline)
    cap[m,i]      requests/s one VM of type i serves with model m (devices / latency)
    q[i]          probability a spot VM of type i is reclaimed within one interval
                  (Spot Advisor band rate x ``interruption_rate_scale``, Poisson)
    p_od[i], p_sp[i]   on-demand and spot price, USD per VM-hour
    beta          ``min_on_demand_share``: share of each pool's load on-demand VMs must carry
    h_start       ``vm_startup_s`` / SECONDS_PER_HOUR: billed start-up hours of each VM added
    acc(S)        vote accuracy of model subset S on the correctness model
                  (:mod:`cost_models.cocktail.accuracy`; not linear in S, so precomputed)
Candidates (computed in ``view.py``)
    E_k = subsets S of {m : exists i with lat[m,i] <= slo_ms[k]} with |S| <= max_ensemble_size
    and acc(S) >= target[k] that are *minimal* (no proper subset qualifies). Pruning the
    others is exact: replacing S by a qualifying subset S' keeps every constraint below
    satisfied (members of S' get the same load, the others none) with the same VM counts.
    An empty E_k makes the plan infeasible before any solve (InfeasibleError naming the class
    and the best reachable accuracy).
Variables (blocks of the model, labels in brackets)
    x[t,k,e] in {0,1}   class k uses ensemble e of E_k in interval t (e named m1+m2+...)
    y[t,k,m,i] >= 0     requests/s of class k sent to model m on type i; only for pairs
                        with lat[m,i] <= slo_ms[k] (this is how the SLO is enforced)
    n[t,m,i], s[t,m,i] in Z+   on-demand and spot VMs of type i running model m (s only
                               where spot VMs are allowed)
    u[t,m,i], v[t,m,i] >= 0    on-demand and spot VMs started, and d[t,m,i], w[t,m,i] >= 0
                               VMs stopped, only when intervals are coupled (below)
Constraints (row blocks)
    one_ensemble[t,k]      sum_e x[t,k,e] = 1
    route[t,k,m]           sum_i y[t,k,m,i] = lambda[t,k] * sum_{e: m in e} x[t,k,e]
                           (every member sees all requests of its class)
    capacity[t,m,i]        sum_k y[t,k,m,i] <= cap[m,i] n[t,m,i] + cap[m,i] (1 - q[i]) s[t,m,i]
                           (spot capacity discounted by its risk)
    on_demand_share[t,m,i] beta sum_k y[t,k,m,i] <= cap[m,i] n[t,m,i]   (when beta > 0: a total
                           spot loss leaves beta of every pool's load served)
    start_on_demand[t,m,i] u[t] >= n[t] - n[t-1];  start_spot[t,m,i]  v[t] >= s[t] - s[t-1]
                           (n[-1] = s[-1] = 0; coupled intervals only)
    stop_on_demand[t,m,i]  d[t] >= n[t-1] - n[t];  stop_spot[t,m,i]   w[t] >= s[t-1] - s[t]
                           (t >= 1, with a change limit only)
    changes[t]             sum_{m,i} (u + v + d + w)[t,m,i] <= ``max_vm_changes``  (t >= 1)
    vm_cut[t,k,m], on_demand_cut[t,k,m]   valid cuts (below)
Objective (USD over the horizon, minimised)
    sum_t sum_{m,i} interval_h (p_od[i] n + p_sp[i] s) + h_start (p_od[i] u + p_sp[i] v)
Bounds and linearisation
    No big-M: the route equality is linear because lambda is data; |n[t] - n[t-1]| is
    linearised by u, d (minimised by the cost or bounded by the limit: any u, d above the
    true increase and decrease only tighten the limit, so an optimum exists with equality).
    n and s are bounded by ceil(L / cap) and ceil(L / (cap (1 - q))) with L the load of every
    class that may reach the pool (its largest over the horizon when intervals are coupled).
    Exact: on-demand (or spot) VMs alone covering L satisfy every constraint, and clipping a
    larger count to the bound in every interval adds no start-up and no change.
Cuts (valid, they only tighten the LP relaxation)
    with z[t,k,m] = sum_{e: m in e} x[t,k,e] and R the pools class k may reach for m,
    c = max_{i in R} cap[m,i]:  vm_cut: sum_{i in R} (n + s) >= ceil(lambda[t,k] / c) z[t,k,m]
    and, when beta > 0, on_demand_cut: sum_{i in R} n >= ceil(beta lambda[t,k] / c) z[t,k,m]
    -- those pools must carry lambda (on-demand: beta lambda) and VM counts are integers.
Dominated instance types
    A type that another listed type beats on every count (latency and capacity for every
    model, on-demand and spot price, interruption risk; e.g. m5.xlarge by c5.xlarge) gets no
    variables: swapping its VMs one for one keeps every constraint at no extra cost.
Decomposition (``intervals.py``)
    Without start-up costs and change limit nothing links intervals, so each interval is
    solved as its own MILP (exact); the plan's objective and bound are the sums over the
    intervals. Otherwise the whole horizon is one MILP.
The model has continuous routes y, so CP-SAT refuses it; HiGHS, CBC and SCIP solve it.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from formulations.cocktail.view import CocktailView
from formulations.model import LinExpr, Model, VarBlock, lin_sum


@dataclass(frozen=True)
class CocktailMilp:
    """A built model over ``intervals`` and the index keys of its blocks (same order as the
    blocks' labels): ``x_keys`` (t, k, e), ``y_keys`` (t, k, m, i), ``pool_keys`` (t, m, i)
    for both ``n`` and ``s``."""

    model: Model
    intervals: list[int]
    ensembles: list[list[tuple[int, ...]]]  # per class
    x: VarBlock
    y: VarBlock
    n: VarBlock
    s: VarBlock | None
    x_keys: list[tuple[int, int, int]]
    y_keys: list[tuple[int, int, int, int]]
    pool_keys: list[tuple[int, int, int]]


def ensemble_name(view: CocktailView, members: Sequence[int]) -> str:
    return "+".join(view.models[m] for m in members)


def build_model(
    view: CocktailView,
    ensembles: Sequence[Sequence[tuple[int, ...]]],
    allow_spot: bool,
    intervals: Sequence[int],
    name: str = "cocktail",
) -> CocktailMilp:
    """Build the MILP over ``intervals``, with ``ensembles[k]`` the candidates of class k."""
    model = Model(name)
    ens = [list(e) for e in ensembles]
    n_m, n_i, n_k = len(view.models), len(view.instances), len(view.classes)
    cls_name = [c.name for c in view.classes]
    mod, ins = view.models, view.instances
    members = [sorted({m for e in ens_k for m in e}) for ens_k in ens]
    # (m, i) -> classes that may route to it: m is a candidate member and i meets the SLO
    users = {
        (m, i): [k for k in range(n_k) if m in members[k] and view.meets_slo(m, i, k)]
        for m in range(n_m)
        for i in range(n_i)
        if i not in view.dominated
    }
    pools = [p for p, ks in users.items() if ks]
    # Exact VM bounds (see the docstring): the load that may reach a pool, its largest over
    # the group when intervals are coupled.
    peak = {p: max(sum(view.planned_qps[k, t] for k in users[p]) for t in intervals) for p in pools}

    x_keys = [(t, k, e) for t in intervals for k in range(n_k) for e in range(len(ens[k]))]
    x = model.add_variables(
        "x",
        [(t, cls_name[k], ensemble_name(view, ens[k][e])) for t, k, e in x_keys],
        upper=1.0,
        integer=True,
    )
    y_keys = [(t, k, m, i) for t in intervals for m, i in pools for k in users[(m, i)]]
    y = model.add_variables("y", [(t, cls_name[k], mod[m], ins[i]) for t, k, m, i in y_keys])
    pool_keys = [(t, m, i) for t in intervals for m, i in pools]
    pool_labels = [(t, mod[m], ins[i]) for t, m, i in pool_keys]
    cap = {p: float(view.capacity_qps[p]) for p in pools}
    spot_cap = {p: view.spot_effective_qps(*p) for p in pools}
    reach = {
        (t, m, i): peak[(m, i)]
        if len(intervals) > 1
        else sum(view.planned_qps[k, t] for k in users[(m, i)])
        for t, m, i in pool_keys
    }
    n = model.add_variables(
        "n",
        pool_labels,
        upper=[math.ceil(reach[key] / cap[key[1:]]) for key in pool_keys],
        integer=True,
        cost=[view.interval_h * view.on_demand_usd_per_h[i] for _, _, i in pool_keys],
    )
    s = None
    if allow_spot:
        s = model.add_variables(
            "s",
            pool_labels,
            # a spot VM certain to be reclaimed (q = 1 in floating point) adds nothing
            upper=[
                math.ceil(reach[key] / spot_cap[key[1:]]) if spot_cap[key[1:]] > 0 else 0
                for key in pool_keys
            ],
            integer=True,
            cost=[view.interval_h * view.spot_usd_per_h[i] for _, _, i in pool_keys],
        )
    x_col = {key: x.start + j for j, key in enumerate(x_keys)}
    y_col = {key: y.start + j for j, key in enumerate(y_keys)}
    n_col = {key: n.start + j for j, key in enumerate(pool_keys)}
    s_col = {key: s.start + j for j, key in enumerate(pool_keys)} if s is not None else {}
    beta = view.min_on_demand_share

    for t in intervals:
        load = view.planned_qps[:, t]
        for k in range(n_k):
            chosen_any = LinExpr({x_col[(t, k, e)]: 1.0 for e in range(len(ens[k]))})
            model.add_constraint("one_ensemble", chosen_any == 1, label=(t, cls_name[k]))
        for k in range(n_k):
            for m in members[k]:
                routes = [i for i in range(n_i) if (t, k, m, i) in y_col]
                used = LinExpr(
                    {x_col[(t, k, e)]: 1.0 for e, members_e in enumerate(ens[k]) if m in members_e}
                )
                served = LinExpr({y_col[(t, k, m, i)]: 1.0 for i in routes})
                model.add_constraint(
                    "route", served == float(load[k]) * used, label=(t, cls_name[k], mod[m])
                )
                _add_vm_cuts(
                    view,
                    model,
                    (t, cls_name[k], mod[m]),
                    float(load[k]),
                    used,
                    [(m, i) for i in routes],
                    cap,
                    n_col,
                    s_col,
                    t,
                )
        for m, i in pools:
            served = LinExpr({y_col[(t, k, m, i)]: 1.0 for k in users[(m, i)]})
            on_demand = LinExpr({n_col[(t, m, i)]: cap[(m, i)]})
            capacity = on_demand.copy()
            if s is not None:
                capacity.add(LinExpr({s_col[(t, m, i)]: spot_cap[(m, i)]}))
            label = (t, mod[m], ins[i])
            model.add_constraint("capacity", served <= capacity, label=label)
            if beta > 0:
                model.add_constraint("on_demand_share", beta * served <= on_demand, label=label)
    if view.coupled:
        add_coupling(view, model, list(intervals), pool_keys, pool_labels, n, s)
    return CocktailMilp(model, list(intervals), ens, x, y, n, s, x_keys, y_keys, pool_keys)


def _add_vm_cuts(
    view: CocktailView,
    model: Model,
    label: tuple[int, str, str],
    load: float,
    used: LinExpr,
    reach: list[tuple[int, int]],
    cap: dict[tuple[int, int], float],
    n_col: dict[tuple[int, int, int], int],
    s_col: dict[tuple[int, int, int], int],
    t: int,
) -> None:
    """Valid integer-rounding cuts: if class k uses model m, the pools it may reach hold at
    least ceil(lambda / c) VMs, and at least ceil(beta lambda / c) on-demand ones, where c is
    the largest per-VM capacity among them (their capacity must cover lambda, and their
    on-demand capacity beta lambda; VM counts are integers)."""
    if load <= 0 or not reach:
        return
    biggest = max(cap[p] for p in reach)
    on_demand = LinExpr({n_col[(t, m, i)]: 1.0 for m, i in reach})
    vms = on_demand + LinExpr({s_col[(t, m, i)]: 1.0 for m, i in reach if (t, m, i) in s_col})
    model.add_constraint("vm_cut", vms >= math.ceil(load / biggest) * used, label=label)
    if view.min_on_demand_share > 0:
        least = math.ceil(view.min_on_demand_share * load / biggest)
        model.add_constraint("on_demand_cut", on_demand >= least * used, label=label)


def add_coupling(
    view: CocktailView,
    model: Model,
    intervals: list[int],
    pool_keys: list[tuple[int, int, int]],
    pool_labels: list[tuple[int, str, str]],
    n: VarBlock,
    s: VarBlock | None,
) -> None:
    """Start-up cost of VMs added since the previous interval (every VM of the first
    interval starts), and the limit on VMs added or removed between consecutive intervals."""
    first = intervals[0]
    later = [
        (key, label) for key, label in zip(pool_keys, pool_labels, strict=True) if key[0] > first
    ]
    moves: dict[int, list[LinExpr]] = {t: [] for t in intervals}
    kinds = [(n, view.on_demand_usd_per_h, "u", "d", "on_demand")]
    if s is not None:
        kinds.append((s, view.spot_usd_per_h, "v", "w", "spot"))
    for counts, prices, up_name, down_name, kind in kinds:
        start_cost = [view.startup_h * prices[i] for _, _, i in pool_keys]
        up = model.add_variables(
            up_name, pool_labels, cost=start_cost if view.startup_h > 0 else 0.0
        )
        for key, label in zip(pool_keys, pool_labels, strict=True):
            t = key[0]
            previous = counts[(t - 1, label[1], label[2])] if t > first else 0.0
            model.add_constraint(
                f"start_{kind}", up[label] >= counts[label] - previous, label=label
            )
            moves[t].append(up[label])
        if view.max_vm_changes is None:
            continue
        down = model.add_variables(down_name, [label for _, label in later])
        for key, label in later:
            t = key[0]
            previous = counts[(t - 1, label[1], label[2])]
            model.add_constraint(
                f"stop_{kind}", down[label] >= previous - counts[label], label=label
            )
            moves[t].append(down[label])
    if view.max_vm_changes is None:
        return
    for t in intervals[1:]:
        model.add_constraint("changes", lin_sum(moves[t]) <= view.max_vm_changes, label=t)
