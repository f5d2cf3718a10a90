"""``planner check`` for Cocktail: the committed schedule refitted to a changed scenario.

Kept (the committed decisions): per interval, each class's ensemble (``members``, matched
by class name) and the VM pools (``model``, ``instance_type``) with their ``on_demand`` and
``spot`` counts as upper bounds; ``policy``. Re-derived: the ``routes``, and the VM counts,
which may shrink to what the new load needs (a rented VM released is neither bought nor
moved). No pool is added, no member changed, no count raised.

An interval whose stored plan verifies under the new scenario is kept as it stands, routes
included (with start-up costs or a change limit, which couple the intervals: the whole plan
when it verifies). The others are refitted with the two models below. Plan intervals past
the scenario's horizon are dropped (nothing to serve); intervals the plan lacks stay missing
(the verifier names them) and every class with load in them is short (available 0). A
scenario class the plan lacks gets no capacity (short); a class the plan holds and the
scenario does not is dropped.

Sets
    T the intervals refitted; K the scenario's classes; P_t the committed pools (m, i) of
    interval t whose model and instance type the scenario lists (the first of duplicates);
    M_tk the members of class k's committed ensemble in t;
    R_tkm = {i : (m, i) in P_t, lat[m,i] <= slo_ms[k]}.
Parameters
    lambda[t,k]   the new scenario's planned load, requests/s
    N[t,m,i], S[t,m,i]   committed on-demand and spot VMs of the pool
    cap, q, beta, p_od, p_sp, interval_h, h_start as in ``milp.py``
Variables
    r[t,k] in [0, lambda[t,k]]   requests/s of class k served; 0 when the plan has no ensemble
                                 for k, or one naming a model twice or one the scenario
                                 does not list
    y[t,k,m,i] >= 0              requests/s of class k sent to member m on type i in R_tkm
    n[t,m,i] in {0..N}, s[t,m,i] in {0..S}   on-demand and spot VMs kept (integers)
Constraints
    route[t,k,m]            sum_{i in R_tkm} y[t,k,m,i] = r[t,k]   (every member sees every
                            served request; a member without SLO-meeting pools forces r = 0)
    capacity[t,m,i]         sum_k y[t,k,m,i] <= cap[m,i] n + cap[m,i] (1 - q[i]) s
    on_demand_share[t,m,i]  beta sum_k y[t,k,m,i] <= cap[m,i] n   (beta > 0)
    start_*, stop_*, changes   the coupling rows of ``milp.py`` (coupled intervals, stage 2)
Objective
    Stage 1 ``served`` (an LP): n = N and s = S fixed; maximise
    sum_{t,k} r[t,k] / max(lambda[t,k], 1), the shares of the classes' loads served (a load
    under 1 request/s weighs as 1, keeping the coefficients bounded). A
    class with r < lambda in an interval is short there: required lambda, available r.
    Stage 2 ``kept`` (a MILP) over the intervals (all of them when coupled) where no class is
    short: r = lambda fixed; minimise sum interval_h (p_od n + p_sp s) plus the start-up
    costs when coupled. Stage 1's solution with the committed counts is feasible for it;
    when the coupling rows refuse it (a change limit tightened below the committed
    schedule's changes), the committed counts are kept and the verifier names the limit.
Shortfalls
    One per class short in some interval, for its largest deficit (the interval and the
    number of short intervals in ``what``), in requests/s; one per class whose committed
    ensemble's vote accuracy is below the class's target, for the worst interval, in %;
    one per committed instance type the scenario no longer lists (its pools serve nothing),
    required: the most VMs of it the plan rents in an interval, available 0, in VMs.
"""

from __future__ import annotations

from dataclasses import dataclass

from cost_models.units import UNIT_PERCENT, UNIT_QPS
from formulations.cocktail.deployment import (
    ClassPlan,
    CocktailDeployment,
    IntervalPlan,
    Pool,
    Route,
)
from formulations.cocktail.milp import add_coupling
from formulations.cocktail.tables import PERCENT
from formulations.cocktail.verify import check_interval, verify_deployment
from formulations.cocktail.view import CocktailView
from formulations.model import LinExpr, Model, Sense, VarBlock
from formulations.tolerances import NOISE, leq
from formulations.types import MilpSolver, Refit, Shortfall, SolveResult, require_solution

UNIT_VMS = "VMs"


@dataclass(frozen=True)
class _Committed:
    """The committed decisions of one interval, by index."""

    plans: dict[int, ClassPlan]  # class k -> its stored plan (the first of its name)
    members: dict[int, list[int]]  # class k -> member indices (only when all are distinct
    # and listed: else the class is not served)
    pools: dict[tuple[int, int], tuple[int, int]]  # (m, i) -> committed (on_demand, spot)


def _committed(view: CocktailView, plan: IntervalPlan) -> _Committed:
    names = {c.name: k for k, c in enumerate(view.classes)}
    plans: dict[int, ClassPlan] = {}
    for c in plan.classes:
        k = names.get(c.name)
        if k is not None and k not in plans:
            plans[k] = c
    members = {
        k: [view.model_index[m] for m in c.members]
        for k, c in plans.items()
        if all(m in view.model_index for m in c.members) and len(set(c.members)) == len(c.members)
    }
    pools: dict[tuple[int, int], tuple[int, int]] = {}
    for p in plan.pools:
        m, i = view.model_index.get(p.model), view.instance_index.get(p.instance_type)
        if m is not None and i is not None and (m, i) not in pools:
            pools[(m, i)] = (p.on_demand, p.spot)
    return _Committed(plans, members, pools)


@dataclass(frozen=True)
class _RefitModel:
    model: Model
    r: VarBlock
    y: VarBlock
    n: VarBlock
    s: VarBlock
    r_keys: list[tuple[int, int]]  # (t, k)
    y_keys: list[tuple[int, int, int, int]]  # (t, k, m, i)
    pool_keys: list[tuple[int, int, int]]  # (t, m, i) for n and s


def _build(
    view: CocktailView, committed: dict[int, _Committed], stage: str, name: str
) -> _RefitModel:
    """Stage ``served`` (counts fixed, maximise the served shares) or ``kept`` (loads fixed,
    minimise the cost) over the intervals of ``committed`` (see the module docstring). Every
    interval gets the union of the committed pools, with count 0 where it has none (so the
    coupling rows find every pool in every interval)."""
    served = stage == "served"
    model = Model(name, Sense.MAXIMIZE if served else Sense.MINIMIZE)
    intervals = sorted(committed)
    cls_name = [c.name for c in view.classes]
    mod, ins = view.models, view.instances
    load = view.planned_qps
    r_keys = [(t, k) for t in intervals for k in range(len(view.classes))]
    r_upper = [float(load[k, t]) if k in committed[t].members else 0.0 for t, k in r_keys]
    r = model.add_variables(
        "r",
        [(t, cls_name[k]) for t, k in r_keys],
        lower=0.0 if served else r_upper,
        upper=r_upper,
        # weights 1 / lambda (at most 1, so a tiny load gives no huge coefficient)
        cost=[1.0 / max(float(load[k, t]), 1.0) if served else 0.0 for t, k in r_keys],
    )
    pools = sorted({p for c in committed.values() for p in c.pools})
    pool_keys = [(t, m, i) for t in intervals for m, i in pools]
    pool_labels = [(t, mod[m], ins[i]) for t, m, i in pool_keys]
    counts = [committed[t].pools.get((m, i), (0, 0)) for t, m, i in pool_keys]
    price = {"n": view.on_demand_usd_per_h, "s": view.spot_usd_per_h}
    blocks = {}
    for block, kind in (("n", 0), ("s", 1)):
        upper = [c[kind] for c in counts]
        blocks[block] = model.add_variables(
            block,
            pool_labels,
            lower=upper if served else 0.0,
            upper=upper,
            integer=not served,
            cost=0.0 if served else [view.interval_h * price[block][i] for *_, i in pool_keys],
        )
    n, s = blocks["n"], blocks["s"]
    y_keys = [
        (t, k, m, i)
        for t in intervals
        for k, members in sorted(committed[t].members.items())
        for m in members
        for i in range(len(ins))
        if (m, i) in committed[t].pools and view.meets_slo(m, i, k)
    ]
    y = model.add_variables("y", [(t, cls_name[k], mod[m], ins[i]) for t, k, m, i in y_keys])
    to_member: dict[tuple[int, int, int], LinExpr] = {}
    to_pool: dict[tuple[int, int, int], LinExpr] = {}
    for j, (t, k, m, i) in enumerate(y_keys):
        to_member.setdefault((t, k, m), LinExpr()).add(LinExpr({y.start + j: 1.0}))
        to_pool.setdefault((t, m, i), LinExpr()).add(LinExpr({y.start + j: 1.0}))
    for t in intervals:
        for k, members in sorted(committed[t].members.items()):
            for m in members:
                routed = to_member.get((t, k, m), LinExpr())
                rate = r[(t, cls_name[k])]
                model.add_constraint("route", routed - rate == 0.0, label=(t, cls_name[k], mod[m]))
    beta = view.min_on_demand_share
    for (t, m, i), label in zip(pool_keys, pool_labels, strict=True):
        carried = to_pool.get((t, m, i), LinExpr())
        on_demand = n[label] * float(view.capacity_qps[m, i])
        spot = s[label] * view.spot_effective_qps(m, i)
        model.add_constraint("capacity", carried <= on_demand + spot, label=label)
        if beta > 0:
            model.add_constraint("on_demand_share", carried * beta <= on_demand, label=label)
    if not served and view.coupled:
        add_coupling(view, model, intervals, pool_keys, pool_labels, n, s)
    return _RefitModel(model, r, y, n, s, r_keys, y_keys, pool_keys)


@dataclass
class _Fit:
    """What the models re-derive, by index: served rates, routes and kept VM counts."""

    served: dict[tuple[int, int], float]  # (t, k) -> requests/s served
    routes: dict[tuple[int, int], list[tuple[int, int, float]]]  # (t, k) -> (m, i, qps)
    counts: dict[tuple[int, int, int], tuple[int, int]]  # (t, m, i) -> (on_demand, spot)


def _read(fit: _RefitModel, result: SolveResult, into: _Fit) -> None:
    for key, value in zip(fit.r_keys, fit.r.values(result), strict=True):
        into.served[key] = max(0.0, float(value))  # no -0.0 from the LP in a report
    for t, k in fit.r_keys:
        into.routes[(t, k)] = []
    for (t, k, m, i), value in zip(fit.y_keys, fit.y.values(result), strict=True):
        if value > NOISE:
            into.routes[(t, k)].append((m, i, float(value)))
    on_demand, spot = fit.n.values(result), fit.s.values(result)
    for j, pool in enumerate(fit.pool_keys):
        into.counts[pool] = (round(float(on_demand[j])), round(float(spot[j])))


def _short(view: CocktailView, fit: _Fit, t: int) -> bool:
    return any(
        not leq(float(view.planned_qps[k, t]), fit.served[(t, k)]) for k in range(len(view.classes))
    )


def _interval(
    view: CocktailView, t: int, plan: IntervalPlan, committed: _Committed, fit: _Fit
) -> IntervalPlan:
    """Interval ``t`` with its committed ensembles and pools, and the re-derived routes and
    counts (stored pools the scenario does not list are kept as they are, for the
    verifier)."""
    classes = [
        ClassPlan(
            name=c.name,
            members=list(c.members),
            routes=[
                Route(model=view.models[m], instance_type=view.instances[i], qps=q)
                for m, i, q in fit.routes.get((t, k), [])
            ],
        )
        for k, c in sorted(committed.plans.items())
    ]
    pools, seen = [], set()
    for p in plan.pools:
        m, i = view.model_index.get(p.model), view.instance_index.get(p.instance_type)
        if m is None or i is None or (m, i) in seen:
            pools.append(p)
            continue
        seen.add((m, i))
        on_demand, spot = fit.counts[(t, m, i)]
        if on_demand or spot:
            pools.append(
                Pool(model=p.model, instance_type=p.instance_type, on_demand=on_demand, spot=spot)
            )
    # a plan holding none of the scenario's classes keeps its own (every class is short)
    return IntervalPlan(classes=classes or plan.classes, pools=pools)


def _shortfalls(
    view: CocktailView, fit: _Fit, committed: dict[int, _Committed], stored: int
) -> list[Shortfall]:
    """The largest deficit of each short class, then each ensemble below its target."""
    deficits: dict[int, list[tuple[float, int, float, float]]] = {}
    for t in range(view.n_intervals):
        for k in range(len(view.classes)):
            required = float(view.planned_qps[k, t])
            available = fit.served.get((t, k), required if t < stored else 0.0)
            if not leq(required, available):
                deficits.setdefault(k, []).append((required - available, t, required, available))
    out = []
    for k, found in sorted(deficits.items()):
        _, t, required, available = max(found)
        out.append(
            Shortfall(
                f"class {view.classes[k].name} (interval {t}; {len(found)} of "
                f"{view.n_intervals} intervals short)",
                required,
                available,
                UNIT_QPS,
            )
        )
    worst: dict[int, tuple[float, int, list[str]]] = {}
    for t, c in sorted(committed.items()):
        for k, members in c.members.items():
            accuracy = view.correctness.accuracy(members)
            gap = view.classes[k].accuracy_target - accuracy
            if gap > 0 and gap > worst.get(k, (0.0,))[0]:
                worst[k] = (gap, t, c.plans[k].members)
    for k, (gap, t, names) in sorted(worst.items()):
        target = view.classes[k].accuracy_target
        out.append(
            Shortfall(
                f"class {view.classes[k].name}: vote accuracy of {'+'.join(names)} (interval {t})",
                PERCENT * target,
                PERCENT * (target - gap),
                UNIT_PERCENT,
            )
        )
    return out


def refit(
    view: CocktailView, deployment: CocktailDeployment, solver: MilpSolver
) -> Refit[CocktailDeployment]:
    """The committed schedule refitted to ``view``'s scenario (see the module docstring)."""
    if verify_deployment(view, deployment).ok:
        return Refit(deployment)
    stored = deployment.intervals[: view.n_intervals]
    todo = [t for t, plan in enumerate(stored) if view.coupled or check_interval(view, t, plan)]
    committed = {t: _committed(view, stored[t]) for t in todo}
    fit = _Fit({}, {}, {})
    if committed:
        served = _build(view, committed, "served", "refit_served")
        _read(served, require_solution(solver.solve(served.model)), fit)
        short = {t for t in todo if _short(view, fit, t)}
        keep = [] if view.coupled and short else [t for t in todo if t not in short]
        if keep:
            kept = _build(view, {t: committed[t] for t in keep}, "kept", "refit_kept")
            result = solver.solve(kept.model)
            if result.status.has_solution:
                _read(kept, result, fit)
    intervals = [
        _interval(view, t, plan, committed[t], fit) if t in committed else plan
        for t, plan in enumerate(stored)
    ]
    return Refit(
        CocktailDeployment(policy=deployment.policy, intervals=intervals),
        _shortfalls(view, fit, committed, len(stored)) + _withdrawn(view, stored),
    )


def _withdrawn(view: CocktailView, stored: list[IntervalPlan]) -> list[Shortfall]:
    """Committed instance types the scenario no longer lists, with the most VMs of each
    that one interval rents."""
    vms: dict[str, int] = {}
    for plan in stored:
        rented: dict[str, int] = {}
        for p in plan.pools:
            if p.instance_type not in view.instance_index:
                rented[p.instance_type] = rented.get(p.instance_type, 0) + p.on_demand + p.spot
        for name, count in rented.items():
            vms[name] = max(vms.get(name, 0), count)
    return [
        Shortfall(
            f"instance type {name} (no longer offered)", float(count), 0.0, UNIT_VMS, resource=True
        )
        for name, count in sorted(vms.items())
    ]
