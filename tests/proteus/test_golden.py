"""Golden numbers of the shipped scenarios: the plan's objective and every baseline's, as
they were before the port to the stage contract (the port must not change a number)."""

from __future__ import annotations

import pytest

import planner
from tests.conftest import REFERENCE, ROOT

SCENARIOS = ROOT / "scenarios" / "proteus"
# objective (effective accuracy, %), then per baseline: objective and min beta
EDGE = {
    "plan": (99.73094436150318, 1.05),
    "clipper_ha": (100.0, 0.6),  # more accurate only because it serves less (beta 0.6)
    "clipper_la": (87.09780757757727, 1.05),
    "sommelier": (99.73094436150312, 1.05),
    "infaas": (98.30044834831399, 1.05),
}
PAPER = {
    "plan": (99.59982463795627, 1.05),
    "clipper_ha": (99.59982463795627, 1.05),
    "clipper_la": (81.31715057037715, 1.05),
    "sommelier": (98.08898820290321, 1.05),
    "infaas": (99.59982463795627, 1.05),
}


def check(plan: planner.Plan, golden: dict[str, tuple[float, float]]) -> None:
    assert plan.objective.value == pytest.approx(golden["plan"][0], rel=1e-9)
    assert plan.headline["min_beta"] == pytest.approx(golden["plan"][1])
    assert plan.status.value == "optimal" and plan.gap <= 1e-6
    for name, (objective, beta) in golden.items():
        if name == "plan":
            continue
        baseline = plan.baseline(name)
        assert baseline.status == "feasible", baseline.violations
        assert baseline.objective == pytest.approx(objective, rel=1e-9), name
        assert baseline.headline["min_beta"] == pytest.approx(beta), name
        assert baseline.plan_advantage == pytest.approx(golden["plan"][0] / objective), name


def test_edge_cluster_golden_numbers() -> None:
    check(planner.solve(SCENARIOS / "edge_cluster.toml"), EDGE)


@pytest.mark.skipif(
    not (REFERENCE / "proteus").is_dir(), reason="Proteus reference data not in ../shared/reference"
)
def test_paper_cluster_golden_numbers() -> None:
    plan = planner.solve(SCENARIOS / "paper_cluster.toml")
    check(plan, PAPER)
    assert plan.certificate.solves == 30  # one accuracy MILP per window, no degrading
