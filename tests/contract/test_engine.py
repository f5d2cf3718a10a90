"""The engine's stages, on a toy formulation written against the contract."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

import planner
from formulations.model import MatrixModel
from formulations.types import (
    InfeasibleError,
    LimitError,
    SolveResult,
    SolverSettings,
    SolveStatus,
    Termination,
)
from planner import engine, registry
from planner.backends import Backend
from planner.engine import check
from tests.contract import toy

ITEMS = [
    {"name": "a", "value_usd": 10.0, "weight_kg": 5.0, "max_count": 2},
    {"name": "b", "value_usd": 7.0, "weight_kg": 3.0, "max_count": 3},
    {"name": "c", "value_usd": 1.0, "weight_kg": 4.0, "max_count": 1},
]


@pytest.fixture(autouse=True)
def _toy_kind(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(registry.KINDS, "toy", "tests.contract.toy")


def scenario(**changes: object) -> planner.Scenario:
    document = {"kind": "toy", "items": ITEMS, "capacity_kg": 12.0, **changes}
    return planner.scenario_from_dict(document)


def brute_force(capacity_kg: float) -> float:
    best = 0.0
    for a in range(3):
        for b in range(4):
            for c in range(2):
                if 5 * a + 3 * b + 4 * c <= capacity_kg:
                    best = max(best, 10.0 * a + 7.0 * b + c)
    return best


@pytest.mark.parametrize("backend", ["highs", "cbc", "scip", "cpsat"])
def test_plan_is_optimal_and_verified_on_every_backend(backend: str) -> None:
    plan = planner.solve(scenario(), backend=backend)
    assert plan.objective.value == pytest.approx(brute_force(12.0))
    assert plan.status.value == "optimal"
    assert plan.termination is Termination.OPTIMAL
    assert plan.gap == pytest.approx(0.0, abs=1e-6)


def test_every_stage_is_timed_and_prepare_runs_once_per_scenario() -> None:
    loaded = scenario()
    before = toy.ToyFormulation.prepared
    plan = planner.solve(loaded)
    planner.solve(loaded, backend="cbc")  # a copy with other solver settings shares the view
    assert toy.ToyFormulation.prepared == before + 1
    timing = plan.timing.to_dict()
    for key in ("prepare_s", "build_s", "solve_s", "verify_s", "baselines_s", "tables_s"):
        assert timing[key] >= 0.0
    assert timing["wall_s"] == pytest.approx(
        sum(v for k, v in timing.items() if k != "wall_s"), abs=1e-5
    )
    assert plan.certificate.solves == 1


def test_baselines_are_verified_and_scored_with_one_ratio_direction() -> None:
    plan = planner.solve(scenario())
    greedy = plan.baseline("greedy")
    # greedy by density takes b (2.33 USD/kg) x3 = 9 kg, then nothing else fits: 21 USD
    assert greedy.status == "feasible"
    assert greedy.objective == pytest.approx(21.0)
    # maximisation: plan_advantage = plan / baseline
    assert greedy.plan_advantage == pytest.approx(plan.objective.value / 21.0)
    assert greedy.headline == {"items": 3}
    overfull = plan.baseline("overfull")
    assert overfull.status == "infeasible"
    assert overfull.plan_advantage is None
    assert any("capacity" in v for v in overfull.violations)
    nothing = plan.baseline("nothing")
    assert (nothing.status, nothing.reason) == ("no_plan", "no rule applies")
    document = json.loads(plan.to_json())
    assert document["schema_version"] == 2
    assert document["baselines"]["greedy"]["plan_advantage"] == pytest.approx(greedy.plan_advantage)
    assert planner.solve(scenario(), baselines=False).baselines == []


def test_infeasible_model_is_explained_by_the_formulation() -> None:
    with pytest.raises(InfeasibleError, match=r"capacity: min_value_usd = 1000"):
        planner.solve(scenario(min_value_usd=1000.0))


class _StoppedBackend(Backend):
    """A backend that always stops on a node limit, with or without a solution."""

    name = "stopped"

    def __init__(self, with_solution: bool) -> None:
        super().__init__(SolverSettings())
        self.with_solution = with_solution

    def _solve(self, model: MatrixModel, warm_start: np.ndarray | None) -> SolveResult:
        if not self.with_solution:
            return self._no_solution(model, SolveStatus.NO_SOLUTION, Termination.NODE_LIMIT)
        x = np.array([0.0, 3.0, 0.0])  # three of b: 21 USD
        return self._solution(
            model, SolveStatus.FEASIBLE, Termination.NODE_LIMIT, 21.0, 40.0, x, "stopped"
        )


@pytest.mark.parametrize("with_solution", [False, True])
def test_a_limit_is_reported_by_its_name(
    monkeypatch: pytest.MonkeyPatch, with_solution: bool
) -> None:
    monkeypatch.setattr(engine, "make_solver", lambda settings: _StoppedBackend(with_solution))
    if not with_solution:
        with pytest.raises(LimitError, match="stopped: node limit reached before a feasible"):
            planner.solve(scenario())
        return
    plan = planner.solve(scenario(), baselines=False)
    assert (plan.status, plan.termination) == (SolveStatus.FEASIBLE, Termination.NODE_LIMIT)
    assert plan.gap == pytest.approx((40.0 - 21.0) / 21.0)
    assert any(w.startswith("node limit reached") for w in plan.warnings)


def test_check_accepts_its_own_plan_and_flags_a_false_objective(tmp_path: Path) -> None:
    loaded = scenario()
    plan = planner.solve(loaded)
    path = tmp_path / "plan.json"
    path.write_text(plan.to_json())
    assert check(path, loaded).exit_code == 0
    document = json.loads(plan.to_json())
    document["objective"] += 1.0
    path.write_text(json.dumps(document))
    report = check(path, loaded)
    assert report.exit_code == 3
    assert any("objective" in v for v in report.violations)
