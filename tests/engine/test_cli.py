"""The CLI: exit codes, JSON schema, CSV, atomic and safe -o, check."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

import planner.engine
from formulations.types import SolveStatus
from planner.backends import make_solver
from tests.conftest import ROOT, run_cli, tiny_proteus, write_scenario

EDGE = ROOT / "scenarios" / "proteus" / "edge_cluster.toml"
TOP_LEVEL = {
    "schema_version",
    "kind",
    "status",
    "objective",
    "objective_name",
    "objective_unit",
    "objective_sense",
    "bound",
    "gap",
    "scenario",
    "solver",
    "timing",
    "model_size",
    "deployment",
    "baselines",
    "warnings",
    "planner_version",
}


def test_shipped_scenario_table_output() -> None:
    result = run_cli("solve", EDGE)
    assert result.exit_code == 0, result.stderr
    for text in (
        "effective accuracy",
        "optimal",
        "Placements",
        "Device types",
        "Families",
        "Baselines on the same inputs",
        "infaas",
        "clipper_ha",
        "sommelier",
    ):
        assert text in result.stdout


def test_json_schema_and_stdout_is_only_json(tiny_path: Path) -> None:
    result = run_cli("solve", tiny_path, "--format", "json")
    assert result.exit_code == 0
    data = json.loads(result.stdout)
    assert set(data) == TOP_LEVEL
    assert data["schema_version"] == 1 and data["kind"] == "proteus"
    assert data["status"] == "optimal"
    assert data["objective_sense"] == "maximize"
    assert data["gap"] <= 1e-9 + 1e-12
    assert data["model_size"]["integers"] > 0
    assert len(data["scenario"]["sha256"]) == 64
    assert data["deployment"]["windows"][0]["placements"]


def test_csv_output(tiny_path: Path) -> None:
    result = run_cli("solve", tiny_path, "--format", "csv")
    assert result.exit_code == 0
    header = result.stdout.splitlines()[0]
    assert header.startswith("device_type,family,variant,devices,batch")


def test_output_file_is_written_atomically_and_safely(tmp_path: Path, tiny_path: Path) -> None:
    out = tmp_path / "plans" / "plan.json"
    assert run_cli("solve", tiny_path, "-o", out).exit_code == 0
    assert json.loads(out.read_text())["schema_version"] == 1
    assert [p.name for p in out.parent.iterdir()] == ["plan.json"]  # no temp files left
    # An earlier plan may be replaced; the scenario and foreign files may not.
    assert run_cli("solve", tiny_path, "-o", out).exit_code == 0
    before = tiny_path.read_text()
    refused = run_cli("solve", tiny_path, "-o", tiny_path)
    assert refused.exit_code == 2 and tiny_path.read_text() == before
    notes = tmp_path / "notes.json"
    notes.write_text('{"mine": true}')
    refused = run_cli("solve", tiny_path, "-o", notes)
    assert refused.exit_code == 2 and "--force" in refused.stderr
    assert notes.read_text() == '{"mine": true}'
    assert run_cli("solve", tiny_path, "-o", notes, "--force").exit_code == 0


def test_infeasible_exits_3_naming_the_requirement(tmp_path: Path) -> None:
    document = tiny_proteus()
    document["families"]["text"]["slo_ms"] = 0.1
    path = write_scenario(tmp_path / "tight.toml", document)
    result = run_cli("solve", path)
    assert result.exit_code == 3
    assert "family text has no variant that meets SLO 0.1 ms" in result.stderr


def test_degrade_and_no_degrade(tmp_path: Path) -> None:
    document = tiny_proteus()
    document["families"]["vision"]["demand_qps"] = 40000.0
    path = write_scenario(tmp_path / "busy.toml", document)
    degraded = run_cli("solve", path, "--format", "json")
    assert degraded.exit_code == 0
    window = json.loads(degraded.stdout)["deployment"]["windows"][0]
    assert window["beta"] < 1.05
    assert "degraded" in degraded.stderr
    strict = run_cli("solve", path, "--no-degrade")
    assert strict.exit_code == 3
    assert "vision" in strict.stderr or "beta" in strict.stderr


class _Forced:
    """A real backend whose status is then overridden, to reach the time-limit paths."""

    def __init__(self, settings, status: SolveStatus, keep_solution: bool) -> None:
        self.inner = make_solver(settings)
        self.settings = settings
        self.status = status
        self.keep_solution = keep_solution

    def solve(self, model, warm_start=None):
        result = self.inner.solve(model, warm_start)
        result.status = self.status
        if not self.keep_solution:
            result.values, result.objective = {}, None
        return result


@pytest.mark.parametrize(
    ("status", "keep", "args", "code"),
    [
        (SolveStatus.FEASIBLE, True, [], 0),
        (SolveStatus.FEASIBLE, True, ["--strict"], 4),
        (SolveStatus.TIME_LIMIT_NO_SOLUTION, False, [], 5),
    ],
)
def test_time_limit_exit_codes(
    monkeypatch: pytest.MonkeyPatch,
    tiny_path: Path,
    status: SolveStatus,
    keep: bool,
    args: list[str],
    code: int,
) -> None:
    monkeypatch.setattr(
        planner.engine, "make_solver", lambda settings: _Forced(settings, status, keep)
    )
    result = run_cli("solve", tiny_path, *args)
    assert result.exit_code == code
    if status is SolveStatus.FEASIBLE:
        assert "not proven optimal" in result.stderr
    else:
        assert "time limit" in result.stderr


def test_internal_error_is_one_line_exit_1(
    monkeypatch: pytest.MonkeyPatch, tiny_path: Path
) -> None:
    def explode(settings):
        raise RuntimeError("boom")

    monkeypatch.setattr(planner.engine, "make_solver", explode)
    result = run_cli("solve", tiny_path)
    assert result.exit_code == 1
    assert "internal error: RuntimeError: boom" in result.stderr
    assert "Traceback" not in result.stderr


def test_check_accepts_its_own_plan(tmp_path: Path, tiny_path: Path) -> None:
    plan = tmp_path / "plan.json"
    assert run_cli("solve", tiny_path, "-o", plan).exit_code == 0
    result = run_cli("check", plan, "--scenario", tiny_path, "--format", "json")
    assert result.exit_code == 0, result.stdout + result.stderr
    report = json.loads(result.stdout)
    assert report["verdict"] == "ok" and report["feasible"] and not report["scenario_changed"]


def test_check_rejects_an_infeasible_plan(tmp_path: Path, tiny_path: Path) -> None:
    plan = tmp_path / "plan.json"
    run_cli("solve", tiny_path, "-o", plan)
    data = json.loads(plan.read_text())
    data["deployment"]["windows"][0]["placements"][0]["routed_qps"] *= 10
    plan.write_text(json.dumps(data))
    result = run_cli("check", plan, "--scenario", tiny_path)
    assert result.exit_code == 3
    assert "over capacity" in result.stdout


def test_check_flags_a_suboptimal_plan(tmp_path: Path, tiny_path: Path) -> None:
    weak = tiny_proteus()
    weak["families"]["vision"]["variants"] = ["v_small"]
    weak["families"]["text"]["variants"] = ["t_small"]
    weak_path = write_scenario(tmp_path / "weak.toml", weak)
    plan = tmp_path / "plan.json"
    assert run_cli("solve", weak_path, "-o", plan).exit_code == 0
    result = run_cli("check", plan, "--scenario", tiny_path, "--format", "json")
    assert result.exit_code == 6
    report = json.loads(result.stdout)
    assert report["verdict"] == "suboptimal" and report["feasible"]
    assert report["shortfall"] > 0.01 and report["scenario_changed"]
    allowed = run_cli("check", plan, "--scenario", tiny_path, "--max-gap", "0.5")
    assert allowed.exit_code == 0


def test_check_rejects_a_malformed_plan_file(tmp_path: Path, tiny_path: Path) -> None:
    plan = tmp_path / "plan.json"
    plan.write_text("{not json")
    result = run_cli("check", plan, "--scenario", tiny_path)
    assert result.exit_code == 2 and "valid JSON" in result.stderr


def test_simulate_refuses_kinds_without_a_simulation(tmp_path: Path, tiny_path: Path) -> None:
    plan = tmp_path / "plan.json"
    run_cli("solve", tiny_path, "-o", plan)
    result = run_cli("simulate", tiny_path, "--plan", plan)
    assert result.exit_code == 2
    assert "a kind with a simulation" in result.stderr and str(tiny_path) in result.stderr


def test_kind_specific_flags_are_refused_elsewhere(tiny_path: Path) -> None:
    result = run_cli("simulate", tiny_path, "--interruption-scale", "10")
    assert result.exit_code == 2 and "--interruption-scale" in result.stderr


def test_check_rejects_a_plan_whose_stated_objective_is_false(
    tmp_path: Path, tiny_path: Path
) -> None:
    plan = tmp_path / "plan.json"
    run_cli("solve", tiny_path, "-o", plan)
    data = json.loads(plan.read_text())
    data["objective"] += 1.0
    plan.write_text(json.dumps(data))
    result = run_cli("check", plan, "--scenario", tiny_path, "--format", "json")
    assert result.exit_code == 3
    assert any("the plan file states" in v for v in json.loads(result.stdout)["violations"])
