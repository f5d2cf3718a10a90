"""The contract suite: every shipped scenario of every registered kind, end to end.

A kind gets these tests by registering and shipping scenarios: solve, independent
verification, the JSON round trip, ``planner check`` on its own plan (exit 0), non-empty
tables, and every baseline verified and scored by the engine.
"""

from __future__ import annotations

import json
import math
from functools import cache
from pathlib import Path

import pytest

import planner
from planner.plan import BASELINE_STATUSES, Plan
from planner.registry import KINDS
from tests.conftest import REFERENCE, run_cli

ROOT = Path(__file__).resolve().parents[2]
SCENARIOS = sorted(p for p in (ROOT / "scenarios").glob("*/*.toml") if p.parent.name in KINDS)


def _needs_reference(path: Path) -> bool:
    return "shared/reference" in path.read_text() and not REFERENCE.is_dir()


@cache
def solved(path: Path) -> Plan:
    return planner.solve(path)


def ids(path: Path) -> str:
    return f"{path.parent.name}/{path.stem}"


@pytest.fixture(params=SCENARIOS, ids=ids)
def scenario(request: pytest.FixtureRequest) -> Path:
    path: Path = request.param
    if _needs_reference(path):
        pytest.skip(f"{ids(path)} reads ../shared/reference/, which is absent")
    return path


def test_solves_to_a_verified_plan(scenario: Path) -> None:
    plan = solved(scenario)
    assert plan.status.value in ("optimal", "feasible")
    assert math.isfinite(plan.objective.value)
    assert plan.gap >= 0.0
    assert plan.tables and all(t.rows for t in plan.tables[:1])


def test_json_round_trip_keeps_the_deployment(scenario: Path) -> None:
    plan = solved(scenario)
    document = json.loads(plan.to_json())
    formulation = planner.load_scenario(scenario).formulation
    again = formulation.deployment_model.model_validate(document["deployment"])
    assert again == plan.deployment
    assert document["objective"] == pytest.approx(plan.objective.value)


def test_check_accepts_its_own_plan(scenario: Path, tmp_path: Path) -> None:
    path = tmp_path / "plan.json"
    path.write_text(solved(scenario).to_json())
    result = run_cli("check", path, "--scenario", scenario)
    assert result.exit_code == 0, result.stdout + result.stderr


def test_every_baseline_is_verified_and_scored(scenario: Path) -> None:
    plan = solved(scenario)
    for baseline in plan.baselines:
        assert baseline.status in BASELINE_STATUSES
        assert baseline.source, f"{baseline.name} cites no source"
        if baseline.status == "feasible":
            assert baseline.objective is not None and baseline.violations == []
        if baseline.status == "infeasible":
            assert baseline.violations and baseline.plan_advantage is None
        if baseline.status == "no_plan":
            assert baseline.reason and baseline.objective is None
