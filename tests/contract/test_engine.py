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


@pytest.mark.parametrize(
    ("mutate", "key"),
    [
        (lambda d: d.update(objective_sense="sideways"), "objective_sense"),
        (lambda d: d.update(objective_sense=3), "objective_sense"),
        (lambda d: d.update(scenario="a string"), "scenario"),
        (lambda d: d.update(kind=None), "kind"),
        (lambda d: d.update(deployment=[1, 2]), "deployment"),
        (lambda d: d.pop("objective"), "objective"),
    ],
)
def test_a_tampered_plan_header_is_an_input_error(tmp_path: Path, mutate, key: str) -> None:  # type: ignore[no-untyped-def]
    loaded = scenario()
    document = json.loads(planner.solve(loaded).to_json())
    mutate(document)
    path = tmp_path / "plan.json"
    path.write_text(json.dumps(document))
    with pytest.raises(planner.InputError, match=key):
        check(path, loaded)


@pytest.mark.parametrize("text", ['{"objective": NaN}', "[" * 100_000 + "]" * 100_000])
def test_non_finite_or_deep_json_is_an_input_error(tmp_path: Path, text: str) -> None:
    path = tmp_path / "plan.json"
    path.write_text(text)
    with pytest.raises(planner.InputError, match=r"\(syntax\)"):
        check(path, scenario())


def test_check_judges_the_committed_plan_against_the_changed_scenario(tmp_path: Path) -> None:
    path = tmp_path / "plan.json"
    path.write_text(planner.solve(scenario()).to_json())  # 12 kg: a x1, b x2 = 24 USD
    bigger = check(path, scenario(capacity_kg=30.0))  # still fits; a fresh plan is far better
    assert bigger.scenario_changed and bigger.feasible and bigger.exit_code == 6
    assert bigger.gap == pytest.approx((bigger.fresh.value - 24.0) / bigger.fresh.value)
    assert check(path, scenario(capacity_kg=30.0), max_gap=10.0).exit_code == 0
    smaller = check(path, scenario(capacity_kg=8.0))
    assert smaller.exit_code == 3 and any("capacity" in v for v in smaller.violations)
    pricier = [dict(item, value_usd=item["value_usd"] * 2) for item in ITEMS]
    # a price change alone: the plan's stated objective is old, which is no violation
    assert check(path, scenario(items=pricier)).exit_code == 0
    document = check(path, scenario(capacity_kg=8.0)).to_dict()
    assert list(document) == [
        "plan", "verdict", "exit_code", "scenario_changed", "shortfalls", "violations",
        "committed_objective", "fresh_objective", "objective_unit", "gap", "max_gap",
        "fresh_covers_committed",
    ]  # fmt: skip


def test_check_names_what_is_short_when_no_fresh_plan_exists(tmp_path: Path) -> None:
    path = tmp_path / "plan.json"
    path.write_text(planner.solve(scenario()).to_json())  # 24 USD within 12 kg
    # 2 kg hold no item, so nothing serves 5 USD: the committed plan is short, and no
    # fresh plan exists to compare it with
    report = check(path, scenario(capacity_kg=2.0, min_value_usd=5.0))
    assert report.exit_code == 3 and report.fresh is None and report.fresh_reason
    assert any("capacity" in v for v in report.violations)
    assert report.to_dict()["fresh_objective"] is None
    # nothing wrong found in the committed plan (the toy verifier ignores min_value_usd) but
    # no fresh plan: the error, as before
    with pytest.raises(planner.InfeasibleError):
        check(path, scenario(capacity_kg=12.0, min_value_usd=1e6))
