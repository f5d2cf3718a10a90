"""Baselines on the same inputs: InFaaS, Clipper and Cocktail's own greedy heuristic.

* InFaaS: each class served by the single most accurate model (vote accuracy on the
  correctness model = its own accuracy) that meets the class SLO on some instance type, on
  on-demand VMs only. Sized optimally: the MILP with that ensemble fixed and no spot VMs.
* Clipper: each class served by the static ensemble of every model that meets its SLO, on
  on-demand VMs, sized optimally the same way.
* Cocktail-greedy (the paper's heuristic): add the class's SLO-meeting models in decreasing
  accuracy order until the vote accuracy meets the target (all of them if it never does);
  then per model, on the instance type with the lowest spot price per risk-discounted
  request/s among those meeting the SLO of every class the model serves, keep
  ``ceil(beta * load / capacity)`` on-demand VMs (the fallback) and cover the rest with spot
  VMs. Its plans satisfy every MILP constraint when its ensembles meet the targets, so the
  MILP optimum is never more expensive.

Each is a deployment of the plan's schema; the engine verifies and prices it with the
plan's verifier (Clipper's all-model ensembles usually exceed ``max_ensemble_size``, so it
is reported ``infeasible`` with its cost).
"""

from __future__ import annotations

import math
from collections import defaultdict

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
    "INFaaS (Romero et al., USENIX ATC '21, Section 4: model-variant selection) as Cocktail's "
    "evaluation uses it (NSDI '22): the single most accurate model meeting the SLO, on-demand "
    "VMs; public code: "
    "stanford-mast/INFaaS src/master/queryfe_server.cc (online query: variant selection); "
    "VMs sized by this package's MILP with the model fixed and no spot"
)
CLIPPER_SOURCE = (
    "Clipper (Crankshaw et al., NSDI '17, Section 5: model selection, ensembles): the static "
    "ensemble of every model meeting the SLO, on-demand VMs; public code: ucbrise/clipper "
    "src/libclipper/src/selection_policies.cpp Exp4Policy (selects all models); VMs sized by "
    "this package's MILP with the ensemble fixed and no spot"
)
GREEDY_SOURCE = (
    "Cocktail (Gunasekaran et al., NSDI '22, Section 4: dynamic model selection adds models "
    "in decreasing accuracy until the target is met; resource controller: an on-demand "
    "fallback share, spot VMs for the rest, the cheapest instance type per request/s); "
    "re-implemented from the paper's text (no public code file in the index)"
)


def _ceil(value: float) -> int:
    """``ceil`` that ignores float noise (relative NOISE) in load / capacity."""
    return math.ceil(value * (1.0 - NOISE)) if value > 0 else 0


def _by_accuracy(view: CocktailView, models: list[int]) -> list[int]:
    single = view.correctness.accuracies([(m,) for m in models])
    return [m for _, m in sorted(zip(-single, models, strict=True))]


def fixed_on_demand(
    view: CocktailView, solver: MilpSolver, ensembles: list[tuple[int, ...]], policy: Policy
) -> CocktailDeployment:
    """Fixed ensembles on on-demand VMs, sized by the MILP (the cheapest such sizing)."""
    deployment, _ = solve_intervals(view, [[e] for e in ensembles], False, solver, policy)
    return deployment


def infaas_ensembles(view: CocktailView) -> list[tuple[int, ...]]:
    return [
        tuple(_by_accuracy(view, view.candidates[k].eligible)[:1]) for k in range(len(view.classes))
    ]


def clipper_ensembles(view: CocktailView) -> list[tuple[int, ...]]:
    return [tuple(view.candidates[k].eligible) for k in range(len(view.classes))]


def greedy_ensembles(view: CocktailView) -> list[tuple[int, ...]]:
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
        out.append(tuple(ordered[:size]))
    return out


def _spot_usd_per_qps(view: CocktailView, m: int, i: int) -> float:
    """Spot price per risk-discounted request/s (infinite when spot VMs add nothing)."""
    spot_qps = view.spot_effective_qps(m, i)
    return float(view.spot_usd_per_h[i]) / spot_qps if spot_qps > 0 else math.inf


def cocktail_greedy(view: CocktailView) -> CocktailDeployment:
    ensembles = greedy_ensembles(view)
    users: dict[int, list[int]] = defaultdict(list)
    for k, ens in enumerate(ensembles):
        for m in ens:
            users[m].append(k)
    home = {}
    for m, ks in users.items():
        fits = [i for i in range(len(view.instances)) if all(view.meets_slo(m, i, k) for k in ks)]
        home[m] = min(fits, key=lambda i: _spot_usd_per_qps(view, m, i))
    intervals = []
    for t in range(view.n_intervals):
        load = view.planned_qps[:, t]
        classes = [
            ClassPlan(
                name=cls.name,
                members=[view.models[m] for m in ensembles[k]],
                routes=[
                    Route(
                        model=view.models[m],
                        instance_type=view.instances[home[m]],
                        qps=float(load[k]),
                    )
                    for m in ensembles[k]
                ],
            )
            for k, cls in enumerate(view.classes)
        ]
        pools = []
        for m, ks in sorted(users.items()):
            i = home[m]
            served = float(sum(load[k] for k in ks))
            od = _ceil(view.min_on_demand_share * served / view.capacity_qps[m, i])
            rest = served - od * view.capacity_qps[m, i]
            spot_qps = view.spot_effective_qps(m, i)
            if spot_qps <= 0:  # spot VMs certain to be reclaimed: on-demand only
                od, rest = _ceil(served / view.capacity_qps[m, i]), 0.0
            spot = _ceil(rest / spot_qps) if rest > 0 else 0
            if od or spot:
                pools.append(
                    Pool(
                        model=view.models[m],
                        instance_type=view.instances[i],
                        on_demand=od,
                        spot=spot,
                    )
                )
        intervals.append(IntervalPlan(classes=classes, pools=pools))
    return CocktailDeployment(policy="cocktail_greedy", intervals=intervals)


def baseline_runs(view: CocktailView, solver: MilpSolver) -> list[BaselineRun[CocktailDeployment]]:
    """Every baseline on the plan's inputs (a class no model can serve is refused upstream)."""
    return [
        run_baseline(
            "infaas",
            INFAAS_SOURCE,
            lambda: fixed_on_demand(view, solver, infaas_ensembles(view), "infaas"),
        ),
        run_baseline(
            "clipper",
            CLIPPER_SOURCE,
            lambda: fixed_on_demand(view, solver, clipper_ensembles(view), "clipper"),
        ),
        run_baseline("cocktail_greedy", GREEDY_SOURCE, lambda: cocktail_greedy(view)),
    ]
