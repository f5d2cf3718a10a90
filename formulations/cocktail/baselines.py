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
"""

from __future__ import annotations

import math
from collections import defaultdict

from formulations.cocktail.candidates import eligible_models
from formulations.cocktail.inputs import (
    ClassPlan,
    CocktailData,
    CocktailDeployment,
    IntervalPlan,
    Pool,
    Route,
)
from formulations.cocktail.milp import solve_plan
from formulations.types import MilpSolver

CAPACITY_SLACK = 1e-9  # relative: guards ceil() against float noise in load / capacity


def _ceil(value: float) -> int:
    return math.ceil(value * (1.0 - CAPACITY_SLACK)) if value > 0 else 0


def _by_accuracy(data: CocktailData, models: list[int]) -> list[int]:
    single = data.correctness.accuracies([(m,) for m in models])
    return [m for _, m in sorted(zip(-single, models, strict=True))]


def fixed_on_demand(
    data: CocktailData, solver: MilpSolver, ensembles: list[tuple[int, ...]], policy: str
) -> CocktailDeployment:
    """Fixed ensembles on on-demand VMs, sized by the MILP (the cheapest such sizing)."""
    deployment, _, _ = solve_plan(
        data,
        [[e] for e in ensembles],
        False,
        solver,
        lambda: f"{policy}: no on-demand sizing (a planner bug)",
        policy,
    )
    return deployment


def infaas_ensembles(data: CocktailData) -> list[tuple[int, ...]]:
    return [
        tuple(_by_accuracy(data, eligible_models(data, k))[:1]) for k in range(len(data.classes))
    ]


def clipper_ensembles(data: CocktailData) -> list[tuple[int, ...]]:
    return [tuple(eligible_models(data, k)) for k in range(len(data.classes))]


def greedy_ensembles(data: CocktailData) -> list[tuple[int, ...]]:
    out = []
    for k, cls in enumerate(data.classes):
        ordered = _by_accuracy(data, eligible_models(data, k))
        size = next(
            (
                j
                for j in range(1, len(ordered) + 1)
                if data.correctness.accuracy(ordered[:j]) >= cls.accuracy_target
            ),
            len(ordered),
        )
        out.append(tuple(ordered[:size]))
    return out


def cocktail_greedy(data: CocktailData) -> CocktailDeployment:
    ensembles = greedy_ensembles(data)
    users: dict[int, list[int]] = defaultdict(list)
    for k, ens in enumerate(ensembles):
        for m in ens:
            users[m].append(k)
    home = {}
    for m, ks in users.items():
        fits = [i for i in range(len(data.instances)) if all(data.meets_slo(m, i, k) for k in ks)]
        home[m] = min(fits, key=lambda i: data.spot_usd_per_h[i] / data.spot_effective_qps(m, i))
    intervals = []
    for t in range(data.n_intervals):
        load = data.planned_qps[:, t]
        classes = [
            ClassPlan(
                name=cls.name,
                members=[data.models[m] for m in ensembles[k]],
                routes=[
                    Route(
                        model=data.models[m],
                        instance_type=data.instances[home[m]],
                        qps=float(load[k]),
                    )
                    for m in ensembles[k]
                ],
            )
            for k, cls in enumerate(data.classes)
        ]
        pools = []
        for m, ks in sorted(users.items()):
            i = home[m]
            served = float(sum(load[k] for k in ks))
            od = _ceil(data.min_on_demand_share * served / data.capacity_qps[m, i])
            rest = served - od * data.capacity_qps[m, i]
            spot = _ceil(rest / data.spot_effective_qps(m, i)) if rest > 0 else 0
            if od or spot:
                pools.append(
                    Pool(
                        model=data.models[m],
                        instance_type=data.instances[i],
                        on_demand=od,
                        spot=spot,
                    )
                )
        intervals.append(IntervalPlan(classes=classes, pools=pools))
    return CocktailDeployment(policy="cocktail_greedy", intervals=intervals)


def baseline_deployments(data: CocktailData, solver: MilpSolver) -> dict[str, CocktailDeployment]:
    """Every baseline's deployment, by name (a class no model can serve is skipped upstream)."""
    return {
        "infaas": fixed_on_demand(data, solver, infaas_ensembles(data), "infaas"),
        "clipper": fixed_on_demand(data, solver, clipper_ensembles(data), "clipper"),
        "cocktail_greedy": cocktail_greedy(data),
    }
