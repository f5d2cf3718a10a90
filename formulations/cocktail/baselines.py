"""Baselines on the same inputs: INFaaS (its own rule and Cocktail's re-implementation),
Clipper's all-model ensemble, and Cocktail's own algorithm.

* ``infaas`` / ``infaas_spot`` -- INFaaS's variant selection (stanford-mast/INFaaS,
  ``src/master/queryfe_server.cc`` ``gpar_lat_acc_search``): the accuracy search
  (``src/metadata-store/redis_metadata.cc`` ``RedisMetadata::gpar_acc_bin``, a Redis
  ``ZRANGEBYSCORE min_acc +inf``) returns the variants that meet the accuracy floor in
  *ascending* accuracy, and among those meeting the latency SLO INFaaS keeps the one with the
  smallest latency slack. Here: per class, the least accurate single model whose accuracy
  (its vote accuracy alone on the correctness model) meets the target and which meets the SLO
  on some instance type; ties go to the smallest slack ``slo_ms - latency`` on its fastest
  type. The hardware of the variant and the VM count (INFaaS's autoscaler) are sized
  optimally: the MILP with that model fixed, on on-demand VMs only (``infaas``, INFaaS's
  setting) or with spot VMs allowed (``infaas_spot``, the same choice on the scenario's spot
  market). When no single model reaches a class's target INFaaS has no variant to offer
  (its search returns none); the baseline then serves the most accurate SLO-meeting model,
  which the verifier reports as below the target.
* ``infaas_cocktail`` -- the InFaaS of Cocktail's evaluation, as Cocktail's repository
  implements it (jashwantraj92/cocktail ``modules/naiveSchedule.py`` ``infaas_select_model``:
  the *most* accurate model whose latency meets the SLO), on on-demand VMs, sized by the
  MILP with that model fixed.
* ``clipper_all_models`` -- Clipper's ensemble as Clipper serves it (Crankshaw et al., NSDI
  '17, Section 5.2: the Exp4 ensemble policy queries every deployed model for each query): a
  static ensemble of every model that meets the class SLO, on on-demand VMs, sized by the MILP
  with the ensemble fixed. Cocktail's repository has no Clipper code and its paper's Clipper
  configuration was not checked, so this is named for what it is; it exceeds
  ``max_ensemble_size`` on every shipped scenario and is then reported ``infeasible`` with its
  cost.
* ``cocktail`` -- Cocktail's own algorithm as its repository implements it:

  - *model selection* (``modules/naiveSchedule.py`` ``select_models`` and
    ``instance.add_model_to_instance``): walk the models in Cocktail's list order (its
    ``model_name_list``: decreasing top-1 accuracy; here decreasing accuracy on the
    correctness model) and add every model that meets the latency SLO until the ensemble's
    accuracy meets the target (all of them if it never does). Deviations: the code admits a
    model at ``latency < slo + latency_margin`` (10 ms); here ``latency <= slo`` on some
    instance type, the constraint every plan is verified against. The code's
    ``get_global_accuracy`` scores an ensemble by the *mean* of its members' sampled
    accuracies, which never exceeds its best member; here the ensemble's vote accuracy (the
    paper's majority vote, and the quantity every plan is verified against). Then the
    paper's pruning (Section 4.1, not in the public code): the least important member
    (below) is dropped while the rest still meets the target. The correctness model does not
    change over the horizon, so the rule gives the same ensemble in every interval.
  - *importance-weighted autoscaling* (``modules/scheduler.py`` ``Scheduler.schedule``,
    ``calculate_weights``): each model gets ``weight = importance / max importance`` of the
    ensemble's members times the VMs the load needs. The code's weight is a model's share of
    the requests (``len(model_tracker[model]) / Max``), which is 1 for every member of one
    ensemble; the paper's importance is how often a member agrees with the vote, here
    counted on the correctness model (``CorrectnessModel.importance``). A member with
    weight below 1 gets less capacity than the class load: the verifier reports it, and the
    replay shows what it costs in requests.
  - *MArk-style provisioning* (``modules/proactive_controller2.py``
    ``ProactiveController.fill`` / ``findCheapest``, from MArk): the forecast is the planned
    load times ``Times = 1.2`` (``modules/scheduler.py``; the code forecasts 1.2 x the
    largest count seen so far and never lowers it, here 1.2 x each interval's planned load);
    VMs are added one at a time, each of the instance type with the lowest cost per request
    it serves, ``price x (interval + 180 s launch overhead) / min(capacity, residual load)``,
    until the forecast is covered. Cocktail buys spot VMs (``modules/constants.py``
    ``INS_SOURCE = 'spot'``), so the fill runs on spot prices and risk-discounted spot
    capacity; the scenario's ``min_on_demand_share`` is then met on the same instance types
    (each type's on-demand VMs carry that share of the load the fill gave it, spot VMs the
    rest), so only importance weights can make the plan fall short of a constraint.

Each is a deployment of the plan's schema; the engine verifies and prices it with the
plan's verifier.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Callable

import numpy as np

from cost_models.units import SECONDS_PER_HOUR
from formulations.cocktail.deployment import (
    ClassPlan,
    CocktailDeployment,
    IntervalPlan,
    Policy,
    Pool,
    Route,
)
from formulations.cocktail.intervals import solve_intervals
from formulations.cocktail.view import CocktailView
from formulations.tolerances import NOISE
from formulations.types import BaselineRun, MilpSolver, run_baseline

INFAAS_SOURCE = (
    "INFaaS (Romero et al., USENIX ATC '21): stanford-mast/INFaaS src/master/queryfe_server.cc "
    "gpar_lat_acc_search (variants meeting the accuracy floor in ascending accuracy, "
    "src/metadata-store/redis_metadata.cc gpar_acc_bin; then the smallest latency slack); "
    "hardware and VM count sized by this package's MILP with the model fixed"
)
INFAAS_COCKTAIL_SOURCE = (
    "InFaaS as Cocktail's evaluation re-implements it: jashwantraj92/cocktail "
    "modules/naiveSchedule.py infaas_select_model (the most accurate model meeting the "
    "latency SLO), on-demand VMs sized by this package's MILP with the model fixed"
)
CLIPPER_SOURCE = (
    "Clipper's ensemble (Crankshaw et al., NSDI '17, Section 5.2: the Exp4 policy queries "
    "every deployed model): a static ensemble of every model meeting the SLO, on-demand VMs "
    "sized by this package's MILP; not checked against the Cocktail paper's Clipper setup"
)
COCKTAIL_SOURCE = (
    "Cocktail (Gunasekaran et al., NSDI '22): jashwantraj92/cocktail "
    "modules/naiveSchedule.py select_models (models in list order until the target is "
    "met) with the paper's pruning of the least important model; modules/scheduler.py "
    "Scheduler.schedule (importance weights x VMs, Times = 1.2 headroom); "
    "modules/proactive_controller2.py ProactiveController.fill (MArk's cheapest cost per "
    "request); spot VMs with the scenario's on-demand share"
)

COCKTAIL_HEADROOM = 1.2  # modules/scheduler.py ``Times``: forecast = 1.2 x the load
MARK_LAUNCH_OVERHEAD_S = 180.0  # modules/scheduler.py: launch overhead = price x 180 s


def _ceil(value: float) -> int:
    """``ceil`` that ignores float noise (relative NOISE) in load / capacity."""
    return math.ceil(value * (1.0 - NOISE)) if value > 0 else 0


def _single_accuracy(view: CocktailView, models: list[int]) -> np.ndarray:
    return view.correctness.accuracies([(m,) for m in models])


def _by_accuracy(view: CocktailView, models: list[int]) -> list[int]:
    """``models`` in decreasing single-model accuracy (ties keep the scenario's order)."""
    single = _single_accuracy(view, models)
    return [m for _, m in sorted(zip(-single, models, strict=True), key=lambda p: p[0])]


def _best_slack_ms(view: CocktailView, m: int, k: int) -> float:
    """Latency slack of model m under class k's SLO on its fastest instance type."""
    return float(view.classes[k].slo_ms - view.latency_ms[m].min())


def infaas_ensembles(view: CocktailView) -> list[tuple[int, ...]]:
    """INFaaS's rule per class: the least accurate model meeting the accuracy floor and the
    SLO, ties to the smallest latency slack; the most accurate model when none does."""
    out: list[tuple[int, ...]] = []
    for k, cls in enumerate(view.classes):
        eligible = view.candidates[k].eligible
        single = dict(zip(eligible, _single_accuracy(view, eligible), strict=True))
        floor = [m for m in eligible if single[m] >= cls.accuracy_target]
        if floor:
            out.append((min(floor, key=lambda m: (single[m], _best_slack_ms(view, m, k))),))
        else:
            out.append(tuple(_by_accuracy(view, eligible)[:1]))
    return out


def infaas_cocktail_ensembles(view: CocktailView) -> list[tuple[int, ...]]:
    """Cocktail's re-implementation of InFaaS: the most accurate SLO-meeting model."""
    return [tuple(_by_accuracy(view, c.eligible)[:1]) for c in view.candidates]


def clipper_ensembles(view: CocktailView) -> list[tuple[int, ...]]:
    return [tuple(c.eligible) for c in view.candidates]


def cocktail_ensembles(view: CocktailView) -> list[tuple[int, ...]]:
    """Cocktail's model selection per class: SLO-meeting models added in decreasing accuracy
    until the vote meets the target, then the least important member dropped while the rest
    still meets it."""
    out = []
    for k, cls in enumerate(view.classes):
        ordered = _by_accuracy(view, view.candidates[k].eligible)
        size = next(
            (
                j
                for j in range(1, len(ordered) + 1)
                if view.correctness.accuracy(ordered[:j]) >= cls.accuracy_target
            ),
            len(ordered),
        )
        members = ordered[:size]
        while len(members) > 1:
            importance = view.correctness.importance(members)
            drop = members[int(np.argmin(importance))]
            rest = [m for m in members if m != drop]
            if view.correctness.accuracy(rest) < cls.accuracy_target:
                break
            members = rest
        out.append(tuple(members))
    return out


def cocktail_weights(
    view: CocktailView, ensembles: list[tuple[int, ...]]
) -> list[dict[int, float]]:
    """Per class, each member's importance over the most important member's (1 for a single
    model)."""
    out = []
    for members in ensembles:
        importance = view.correctness.importance(list(members))
        top = float(importance.max())
        out.append(
            {
                m: float(v) / top if top > 0 else 1.0
                for m, v in zip(members, importance, strict=True)
            }
        )
    return out


def mark_fill(load_qps: float, capacity_qps: list[float], usd_per_vm: list[float]) -> list[int]:
    """MArk's greedy fill (``ProactiveController.fill``): add one VM at a time, of the type
    with the lowest cost per request it serves, ``usd_per_vm / min(capacity, residual)``
    (ties to the first listed), until the load is covered. Types of zero capacity are never
    chosen. While the residual is at least every capacity the choice cannot change, so those
    VMs are added in one step."""
    counts = [0] * len(capacity_qps)
    usable = [j for j, c in enumerate(capacity_qps) if c > 0]
    if not usable:
        return counts
    residual = load_qps * (1.0 - NOISE)
    biggest = max(capacity_qps[j] for j in usable)
    while residual > 0:
        best = min(usable, key=lambda j: usd_per_vm[j] / min(capacity_qps[j], residual))
        step = 1
        if residual >= biggest:
            step = max(1, int((residual - biggest) // capacity_qps[best]) + 1)
        counts[best] += step
        residual -= step * capacity_qps[best]
    return counts


def _cocktail_pools(
    view: CocktailView, m: int, load_qps: float, types: list[int]
) -> dict[int, tuple[int, int, float]]:
    """Instance type -> (on-demand VMs, spot VMs, load share) of model m for ``load_qps``:
    MArk's fill on spot prices and risk-discounted spot capacity, then on each chosen type
    on-demand VMs for ``min_on_demand_share`` of the load the fill gave it and spot VMs for
    the rest (on-demand only where a spot VM is certain to be reclaimed)."""
    hours = view.interval_h + MARK_LAUNCH_OVERHEAD_S / SECONDS_PER_HOUR
    spot_cap = [view.spot_effective_qps(m, i) for i in types]
    od_cap = [float(view.capacity_qps[m, i]) for i in types]
    if any(c > 0 for c in spot_cap):
        counts = mark_fill(load_qps, spot_cap, [view.spot_usd_per_h[i] * hours for i in types])
        caps = spot_cap
    else:
        counts = mark_fill(load_qps, od_cap, [view.on_demand_usd_per_h[i] * hours for i in types])
        caps = od_cap
    beta = view.min_on_demand_share
    out = {}
    remaining = load_qps
    for j, i in enumerate(types):
        if not counts[j]:
            continue
        share = min(counts[j] * caps[j], remaining)
        remaining -= share
        if spot_cap[j] <= 0:
            od, sp = _ceil(share / od_cap[j]), 0
        else:
            od = _ceil(beta * share / od_cap[j])
            sp = _ceil(max(0.0, share - od * od_cap[j]) / spot_cap[j])
        out[i] = (od, sp, share)
    return out


def cocktail_deployment(view: CocktailView) -> CocktailDeployment:
    ensembles = cocktail_ensembles(view)
    weights = cocktail_weights(view, ensembles)
    users: dict[int, list[int]] = defaultdict(list)
    for k, ens in enumerate(ensembles):
        for m in ens:
            users[m].append(k)
    # types meeting the strictest SLO among a model's classes meet all of them (latency <=
    # SLO is monotone in the SLO), and a member meets its class's SLO on some type
    types = {
        m: [i for i in range(len(view.instances)) if all(view.meets_slo(m, i, k) for k in ks)]
        for m, ks in users.items()
    }
    intervals = []
    for t in range(view.n_intervals):
        load = view.planned_qps[:, t]
        plans = {
            m: _cocktail_pools(
                view,
                m,
                COCKTAIL_HEADROOM * float(sum(weights[k][m] * load[k] for k in ks)),
                types[m],
            )
            for m, ks in users.items()
        }
        classes = []
        for k, cls in enumerate(view.classes):
            routes = []
            for m in ensembles[k]:
                member_pools = plans[m]
                total = sum(share for _, _, share in member_pools.values())
                if total <= 0:  # no load: a zero route keeps the member's place
                    routes.append(
                        Route(
                            model=view.models[m], instance_type=view.instances[types[m][0]], qps=0.0
                        )
                    )
                    continue
                routes += [
                    Route(
                        model=view.models[m],
                        instance_type=view.instances[i],
                        qps=float(load[k]) * share / total,
                    )
                    for i, (_, _, share) in member_pools.items()
                ]
            classes.append(
                ClassPlan(
                    name=cls.name, members=[view.models[m] for m in ensembles[k]], routes=routes
                )
            )
        pools = [
            Pool(model=view.models[m], instance_type=view.instances[i], on_demand=od, spot=sp)
            for m in sorted(plans)
            for i, (od, sp, _) in plans[m].items()
            if od or sp
        ]
        intervals.append(IntervalPlan(classes=classes, pools=pools))
    return CocktailDeployment(policy="cocktail", intervals=intervals)


def fixed_ensembles(
    view: CocktailView,
    solver: MilpSolver,
    ensembles: list[tuple[int, ...]],
    allow_spot: bool,
    policy: Policy,
) -> CocktailDeployment:
    """Fixed ensembles sized by the MILP (the cheapest such sizing), on on-demand VMs or
    with spot VMs allowed."""
    deployment, _ = solve_intervals(view, [[e] for e in ensembles], allow_spot, solver, policy)
    return deployment


def baseline_runs(view: CocktailView, solver: MilpSolver) -> list[BaselineRun[CocktailDeployment]]:
    """Every baseline on the plan's inputs (a class no model can serve is refused upstream)."""

    def sized(
        rule: Callable[[CocktailView], list[tuple[int, ...]]], spot: bool, policy: Policy
    ) -> Callable[[], CocktailDeployment]:
        return lambda: fixed_ensembles(view, solver, rule(view), spot, policy)

    return [
        run_baseline("infaas", INFAAS_SOURCE, sized(infaas_ensembles, False, "infaas")),
        run_baseline("infaas_spot", INFAAS_SOURCE, sized(infaas_ensembles, True, "infaas_spot")),
        run_baseline(
            "infaas_cocktail",
            INFAAS_COCKTAIL_SOURCE,
            sized(infaas_cocktail_ensembles, False, "infaas_cocktail"),
        ),
        run_baseline(
            "clipper_all_models",
            CLIPPER_SOURCE,
            sized(clipper_ensembles, False, "clipper_all_models"),
        ),
        run_baseline("cocktail", COCKTAIL_SOURCE, lambda: cocktail_deployment(view)),
    ]
