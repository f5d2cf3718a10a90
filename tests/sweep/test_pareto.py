"""The epsilon-constraint front against brute force on a toy ddl scenario."""

from __future__ import annotations

import copy
import itertools
import json
from pathlib import Path

import pytest

import planner
from formulations.ddl.deployment import Assignment, DdlDeployment
from formulations.types import InfeasibleError
from planner.engine import prepared_view
from tests.conftest import run_cli, write_scenario
from tests.sweep.conftest import TOY_DDL

LOOSE_DEADLINE_H = 8760.0  # a year, the largest deadline allowed: every configuration fits


def brute_force_front(folder: Path) -> list[tuple[float, float]]:
    """Every configuration of the toy job, scored by the verifier, nondominated in
    (finish hours, cost)."""
    document = copy.deepcopy(TOY_DDL)
    document["jobs"][0]["deadline_h"] = LOOSE_DEADLINE_H
    scenario = planner.load_scenario(write_scenario(folder / "loose.toml", document))
    view = prepared_view(scenario)
    points = []
    for instance, nodes, market in itertools.product(
        document["instance_types"], range(1, document["max_nodes"] + 1), ("on_demand", "spot")
    ):
        deployment = DdlDeployment(
            assignments=[
                Assignment(job="resnet50", instance_type=instance, nodes=nodes, market=market)
            ]
        )
        verification = scenario.formulation.verify(view, deployment)
        assert verification.ok, verification.violations
        hours = scenario.formulation.headline(view, deployment)["latest_finish_h"]
        points.append((hours, verification.objective_value))
    front = [p for p in points if not any(q[0] <= p[0] and q[1] <= p[1] and q != p for q in points)]
    return sorted(set(front), reverse=True)


def test_front_matches_brute_force(tmp_path: Path) -> None:
    scenario = write_scenario(tmp_path / "toy.toml", TOY_DDL)
    front = planner.pareto(
        scenario, "jobs[0].deadline_h", "total_cost_usd", x_metric="latest_finish_h", mip_gap=0
    )
    expected = brute_force_front(tmp_path)
    assert len(expected) >= 3  # a front worth the name
    found = [(p.x, p.y) for p in front.points]
    assert len(found) == len(expected)
    for (x, y), (want_x, want_y) in zip(found, expected, strict=True):
        assert (x, y) == (pytest.approx(want_x, rel=1e-9), pytest.approx(want_y, rel=1e-9))
    assert "deadline" in front.stopped  # ended when no configuration was fast enough
    for point in front.points:
        assert point.plan.status.value == "optimal"
        assert point.x <= point.bound
    # the first bound is the scenario's deadline
    assert front.solves[0].bound == TOY_DDL["jobs"][0]["deadline_h"]


def test_cli_pareto(tmp_path: Path) -> None:
    scenario = write_scenario(tmp_path / "toy.toml", TOY_DDL)
    out = tmp_path / "front.json"
    result = run_cli(
        "pareto",
        scenario,
        "--x",
        "jobs[0].deadline_h",
        "--x-metric",
        "latest_finish_h",
        "-o",
        out,
        "-f",
        "csv",
    )
    assert result.exit_code == 0, result.stderr
    lines = result.stdout.strip().splitlines()
    assert lines[0].startswith("bound,x,y,status")
    data = json.loads(out.read_text())
    assert data["pareto_schema_version"] == 1 and len(data["points"]) == len(lines) - 1
    assert data["points"][0]["plan"]["schema_version"] == 2


def test_pareto_errors(tmp_path: Path) -> None:
    scenario = write_scenario(tmp_path / "toy.toml", TOY_DDL)
    result = run_cli("pareto", scenario, "--x", "jobs[0].deadline_h")  # no such headline key
    assert result.exit_code == 2 and "--x-metric" in result.stderr
    assert "latest_finish_h" in result.stderr  # the keys it could have named
    result = run_cli("pareto", scenario, "--x", "jobs[0].dedline_h", "--x-start", "5")
    assert result.exit_code == 2 and "dedline_h" in result.stderr
    result = run_cli(
        "pareto", scenario, "--x", "jobs[0].deadline_h", "--x-metric", "gpus", "--y", "gpus"
    )
    assert result.exit_code == 2 and "--y" in result.stderr
    tight = copy.deepcopy(TOY_DDL)
    tight["jobs"][0]["deadline_h"] = 0.01
    with pytest.raises(InfeasibleError):
        planner.pareto(
            write_scenario(tmp_path / "tight.toml", tight),
            "jobs[0].deadline_h",
            x_metric="latest_finish_h",
        )
