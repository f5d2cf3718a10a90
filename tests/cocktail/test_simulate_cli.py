"""`planner simulate` on a Cocktail plan: a stored plan and a fresh one, through the CLI."""

from __future__ import annotations

import json
from pathlib import Path

from tests.cocktail.helpers import tiny
from tests.conftest import run_cli, write_scenario


def test_simulate_stored_and_fresh_plans(tmp_path: Path) -> None:
    scenario = write_scenario(tmp_path / "tiny.toml", tiny())
    plan = tmp_path / "plan.json"
    assert run_cli("solve", scenario, "-o", plan).exit_code == 0
    stored = run_cli("simulate", scenario, "--plan", plan, "--runs", "3", "--format", "json")
    assert stored.exit_code == 0, stored.stderr
    rows = json.loads(stored.stdout)[0]["rows"]
    assert rows[0]["plan"] == "milp"
    assert {"infaas", "infaas_spot", "clipper_all_models", "cocktail"} <= {r["plan"] for r in rows}
    assert all(0.0 <= r["targets_met_pct"] <= 100.0 for r in rows)
    fresh = run_cli(
        "simulate", scenario, "--runs", "3", "--format", "json", "--interruption-scale", "1000"
    )
    assert fresh.exit_code == 0
    stressed = {r["plan"]: r for r in json.loads(fresh.stdout)[0]["rows"]}
    # At 1000x the Spot Advisor rates the MILP's spot VMs do get interrupted, and only
    # on-demand plans (InFaaS, Clipper) stay untouched.
    assert stressed["milp"]["spot_interruptions_per_run"] > 0
    assert stressed["milp"]["targets_met_pct"] < 100.0
    assert stressed["infaas"]["spot_interruptions_per_run"] == 0


def test_simulate_refuses_a_plan_that_violates_the_scenario(tmp_path: Path) -> None:
    scenario = write_scenario(tmp_path / "tiny.toml", tiny())
    plan = tmp_path / "plan.json"
    run_cli("solve", scenario, "-o", plan)
    data = json.loads(plan.read_text())
    data["deployment"]["intervals"] = data["deployment"]["intervals"][:0]
    plan.write_text(json.dumps(data))
    result = run_cli("simulate", scenario, "--plan", plan)
    assert result.exit_code in (2, 3), result.stderr
