"""The Proteus MILP equals exhaustive enumeration of per-device placements.

Brute force works on individual devices (no aggregation, no pruning): every device hosts
one placeable variant or nothing; a placement is feasible at headroom beta when each
family's capacity reaches beta x demand (and presence/all-on hold); its best routing sends
each family's demand to its most accurate variants first, up to capacity / beta (exact
for one family: a fractional knapsack). The highest feasible beta on the grid wins, then
the highest accuracy.
"""

from __future__ import annotations

import itertools
import random
from typing import Any

import pytest

from formulations.proteus.view import ProteusView
from planner import InfeasibleError, scenario_from_dict, solve
from tests.proteus.helpers import deployment, random_variants, tiny_proteus, view_from


def random_document(seed: int) -> dict[str, Any]:
    rng = random.Random(seed)
    devices = {
        "gpu": {"count": rng.randint(0, 2), "catalog_device": rng.choice(["T4", "L4"])},
        "cpu": {"count": rng.randint(1, 2), "catalog_device": "CPU16"},
    }
    variants = random_variants(rng, ("vision", "text"), 3)
    document = tiny_proteus(devices=devices, variants=variants)
    document["families"] = {
        f: {"slo_ms": rng.choice([30.0, 60.0, 120.0]), "demand_qps": round(rng.uniform(5, 400), 1)}
        for f in ("vision", "text")
    }
    document["all_devices_on"] = rng.random() < 0.3
    document["min_devices_per_family"] = rng.choice([0, 1])
    return document


def brute_force(view: ProteusView) -> tuple[float, float] | None:
    problem = view
    inputs = view.inputs
    devices = [d for d in problem.device_types for _ in range(problem.device_count[d])]
    names = [v.name for f in problem.families for v in problem.variants[f]]
    options = [[None, *[v for v in names if (d, v) in problem.capacity]] for d in devices]
    family_of = {v.name: f for f in problem.families for v in problem.variants[f]}
    accuracy = {v.name: v.accuracy for f in problem.families for v in problem.variants[f]}
    demand = problem.demand(0)
    total = sum(demand.values())
    for beta in view.levels:
        best: float | None = None
        for choice in itertools.product(*options):
            if inputs.all_devices_on and None in choice:
                continue
            hosted: dict[str, list[tuple[float, float]]] = {f: [] for f in problem.families}
            for d, v in zip(devices, choice, strict=True):
                if v is not None:
                    hosted[family_of[v]].append((accuracy[v], problem.capacity[(d, v)].qps))
            if any(len(h) < inputs.min_devices_per_family for h in hosted.values()):
                continue
            served = 0.0
            feasible = True
            for f, members in hosted.items():
                left = demand[f]
                for acc, cap in sorted(members, reverse=True):
                    take = min(left, cap / beta)
                    served += acc * take
                    left -= take
                if left > 1e-7 * max(1.0, demand[f]):
                    feasible = False
                    break
            if feasible:
                value = served / total if total > 0 else 0.0
                best = value if best is None else max(best, value)
        if best is not None:
            return beta, best
    return None


SEEDS = range(12)


@pytest.mark.parametrize("backend", ["highs", "cbc", "scip"])
@pytest.mark.parametrize("seed", SEEDS)
def test_milp_equals_brute_force(seed: int, backend: str) -> None:
    document = random_document(seed)
    document["solver"] = {"backend": backend, "mip_gap": 1e-9}
    scenario = scenario_from_dict(document)
    expected = brute_force(view_from(document))
    if expected is None:
        with pytest.raises(InfeasibleError, match=r"family|demand|devices"):
            solve(scenario)
        return
    plan = solve(scenario)
    window = deployment(plan).windows[0]
    assert window.beta == pytest.approx(expected[0])
    assert plan.objective.value == pytest.approx(expected[1], rel=1e-6, abs=1e-6)


def test_instances_cover_degrading_and_infeasible_cases() -> None:
    """The seeds above must exercise beta < 1.05 and a no-plan case, or they prove little."""
    outcomes = [brute_force(view_from(random_document(s))) for s in SEEDS]
    assert any(o is None for o in outcomes)
    assert any(o is not None and o[0] < 1.05 for o in outcomes)
    assert any(o is not None and o[0] == pytest.approx(1.05) for o in outcomes)
