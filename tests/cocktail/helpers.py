"""Cocktail test helpers: the tiny scenario, inputs and views of it, and the brute force."""

from __future__ import annotations

import itertools
import math
import random
from pathlib import Path
from typing import Any

from cost_models.cocktail.zoo import ZOO
from formulations.cocktail import FORMULATION
from formulations.cocktail.deployment import CocktailDeployment
from formulations.cocktail.inputs import CocktailInputs
from formulations.cocktail.view import CocktailView
from formulations.types import MilpSolver, Solution
from planner.backends import make_solver

ROOT = Path(__file__).resolve().parents[2]
SCENARIO = ROOT / "scenarios" / "cocktail" / "imagenet_day.toml"


def tiny(**overrides: Any) -> dict[str, Any]:
    document: dict[str, Any] = {
        "kind": "cocktail",
        "name": "tiny-cocktail",
        "solver": {"mip_gap": 1e-9},
        "interval_h": 1.0,
        "models": ["InceptionV3", "DenseNet121", "ResNet50", "MobileNetV2"],
        "instance_types": ["c5.xlarge", "g4dn.xlarge"],
        "max_ensemble_size": 3,
        "min_on_demand_share": 0.25,
        "correctness": {"n_samples": 2000, "correlation": 0.4, "seed": 1},
        "classes": [
            {
                "name": "strict",
                "slo_ms": 10.0,
                "accuracy_target": 0.77,
                "load": {"qps": [300.0, 900.0]},
            },
            {
                "name": "relaxed",
                "slo_ms": 80.0,
                "accuracy_target": 0.74,
                "load": {"qps": [60.0, 40.0]},
            },
        ],
    }
    document.update(overrides)
    return document


def inputs_of(document: dict[str, Any], base_dir: Path = Path(".")) -> CocktailInputs:
    body = {k: v for k, v in document.items() if k not in ("kind", "name", "solver")}
    return CocktailInputs.model_validate(body, context={"base_dir": base_dir})


# ---- brute force -------------------------------------------------------------------------


def _pool_capacity(data: CocktailView, m: int, i: int, od: int, sp: int) -> float:
    """Load a pool may carry: risk-discounted capacity, and on-demand covering beta of it."""
    cap = od * data.capacity_qps[m, i] + sp * data.capacity_qps[m, i] * (1 - data.spot_loss_prob[i])
    if data.min_on_demand_share > 0:
        cap = min(cap, od * data.capacity_qps[m, i] / data.min_on_demand_share)
    return float(cap)


def _pool_options(data: CocktailView, m: int, i: int, total: float) -> list[tuple[float, float]]:
    """(price, usable capacity) of every (on-demand, spot) count pair up to one VM more than
    the load needs on either kind alone, without pairs another pair dominates (no cheaper
    and no smaller): only a pool's capacity matters to routing."""
    top = math.ceil(total / (data.capacity_qps[m, i] * (1 - data.spot_loss_prob[i]))) + 1
    pairs = sorted(
        (
            (data.on_demand_usd_per_h[i] * od + data.spot_usd_per_h[i] * sp) * data.interval_h,
            _pool_capacity(data, m, i, od, sp),
        )
        for od in range(top + 1)
        for sp in range(top + 1)
    )
    kept: list[tuple[float, float]] = []
    for price, cap in pairs:
        if not kept or cap > kept[-1][1]:
            kept.append((price, cap))
    return kept


def _model_cost(data: CocktailView, m: int, demands: dict[int, float]) -> float:
    """Cheapest VMs for model m serving each class's demand on SLO-meeting types (Hall's
    condition over class subsets decides whether routing is feasible)."""
    types = range(len(data.instances))
    options = [_pool_options(data, m, i, sum(demands.values())) for i in types]
    groups = [g for r in range(1, len(demands) + 1) for g in itertools.combinations(demands, r)]
    best = math.inf
    for combo in itertools.product(*options):
        price = sum(p for p, _ in combo)
        if price >= best:
            continue
        if all(
            sum(demands[k] for k in group)
            <= sum(combo[i][1] for i in types if any(data.meets_slo(m, i, k) for k in group)) + 1e-9
            for group in groups
        ):
            best = price
    return best


def brute_force_cost(data: CocktailView) -> float:
    n_models = len(data.models)
    total = 0.0
    for t in range(data.n_intervals):
        options = []
        for k, cls in enumerate(data.classes):
            usable = [
                m
                for m in range(n_models)
                if any(data.meets_slo(m, i, k) for i in range(len(data.instances)))
            ]
            subsets = [
                s
                for r in range(1, data.max_ensemble_size + 1)
                for s in itertools.combinations(usable, r)
                if data.correctness.accuracy(s) >= cls.accuracy_target
            ]
            options.append(subsets)
        best = math.inf
        for choice in itertools.product(*options):
            cost = 0.0
            for m in {m for s in choice for m in s}:
                demands = {k: float(data.planned_qps[k, t]) for k, s in enumerate(choice) if m in s}
                cost += _model_cost(data, m, demands)
                if cost >= best:
                    break
            best = min(best, cost)
        total += best
    return total


def random_tiny(seed: int) -> dict[str, Any]:
    """Four random models; each class's target is the vote accuracy of its 1 to
    ``max_ensemble_size`` most accurate SLO-meeting models (a vote of three may beat every
    single model: then only an ensemble meets it), or unreachable one time in eight."""
    rng = random.Random(seed)
    document = tiny(
        models=rng.sample(sorted(ZOO), 4),
        instance_types=rng.sample(
            ["c5.xlarge", "c5.2xlarge", "m5.xlarge", "g4dn.xlarge", "p2.xlarge"], 2
        ),
        max_ensemble_size=rng.choice([2, 3]),
        min_on_demand_share=rng.choice([0.0, 0.3]),
        interruption_rate_scale=rng.choice([1.0, 500.0]),
        correctness={"n_samples": 500, "correlation": rng.uniform(0.0, 0.5), "seed": seed},
        classes=[
            {
                "name": name,
                "slo_ms": rng.choice(slos),
                "accuracy_target": 0.5,
                "load": {"qps": [round(rng.uniform(5, 150), 1) for _ in range(2)]},
            }
            # calibrated latencies: GPU 3-17 ms, CPU 34-360 ms (cost_models/cocktail/zoo.py)
            for name, slos in (("a", [10.0, 120.0, 400.0]), ("b", [120.0, 400.0]))
        ],
    )
    data = view_of(document)
    for k, cls in enumerate(document["classes"]):
        usable = [m for m in range(4) if any(data.meets_slo(m, i, k) for i in range(2))]
        size = min(len(usable), rng.randint(1, document["max_ensemble_size"]))
        subset = sorted(usable, key=lambda m: -data.correctness.accuracy([m]))[:size]
        reachable = data.correctness.accuracy(subset) if subset else 0.99
        cls["accuracy_target"] = 0.99 if rng.random() < 0.125 else round(reachable, 4)
    return document


def view_of(document: dict[str, Any], base_dir: Path = Path(".")) -> CocktailView:
    return FORMULATION.prepare(inputs_of(document, base_dir))


def solve_view(
    view: CocktailView, solver: MilpSolver | None = None
) -> Solution[CocktailDeployment]:
    """The formulation's solve stage alone (no baselines), with default solver settings."""
    return FORMULATION.solve(view, solver if solver is not None else make_solver())
