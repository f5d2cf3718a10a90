"""The cocktail benchmark writes the documented CSV columns with consistent numbers."""

from __future__ import annotations

import csv
import subprocess
import sys
from pathlib import Path

import pytest

from tests.cocktail.helpers import tiny
from tests.conftest import write_scenario

ROOT = Path(__file__).resolve().parents[2]


def test_benchmark_csv_on_a_tiny_scenario(tmp_path: Path) -> None:
    scenario = write_scenario(tmp_path / "tiny.toml", tiny())
    out = tmp_path / "out" / "cocktail.csv"
    run = subprocess.run(
        [
            sys.executable,
            str(ROOT / "benchmarks" / "cocktail_costs.py"),
            str(scenario),
            "--csv",
            str(out),
            "--runs",
            "2",
        ],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=300,
    )
    assert run.returncode == 0, run.stderr
    with out.open() as handle:
        rows = list(csv.DictReader(handle))
    assert len(rows) == 1
    row = rows[0]
    for column in (
        "scenario",
        "milp_cost_usd",
        "cocktail_greedy_cost_usd",
        "infaas_cost_usd",
        "clipper_cost_usd",
        "infaas_plan_advantage",
        "clipper_plan_advantage",
        "clipper_status",
        "milp_targets_met_share",
        "cocktail_greedy_targets_met_share",
        "infaas_cheapest_cost_usd",
        "infaas_cheapest_spot_cost_usd",
        "ensemble_intervals",
        "build_s",
        "solve_s",
        "status",
        "gap",
    ):
        assert column in row
    # INFaaS's own rule with spot allowed is never dearer than on demand only
    assert float(row["infaas_cheapest_spot_cost_usd"]) <= float(row["infaas_cheapest_cost_usd"])
    assert int(row["ensemble_intervals"]) >= 0
    assert "| paper (cost.csv: $80.40 / $55.28) | 1.45 |" in run.stdout
    milp = float(row["milp_cost_usd"])
    assert milp <= float(row["cocktail_greedy_cost_usd"]) + 1e-9
    assert row["infaas_status"] == "feasible"
    assert float(row["infaas_plan_advantage"]) == pytest.approx(
        float(row["infaas_cost_usd"]) / milp
    )
    assert row["status"] == "optimal"
    assert 0.0 <= float(row["milp_targets_met_share"]) <= 1.0
    assert not list(out.parent.glob("*.tmp"))  # written atomically, nothing left over


def test_benchmark_without_its_reference_data_says_what_is_missing(tmp_path: Path) -> None:
    out = tmp_path / "cocktail.csv"
    run = subprocess.run(
        [
            sys.executable,
            str(ROOT / "benchmarks" / "cocktail_costs.py"),
            "--csv",
            str(out),
            "--reference",
            str(tmp_path / "no_reference"),
        ],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=300,
    )
    assert run.returncode == 3, run.stderr
    lines = run.stderr.strip().splitlines()
    assert len(lines) == 1 and "reference data absent" in lines[0]
    assert "no_reference/proteus/traces" in lines[0] and "Proteus repository" in lines[0]
    assert "Traceback" not in run.stderr and not out.exists()
