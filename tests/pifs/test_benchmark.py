"""The pifs benchmark writes the documented CSV with the plan and every baseline."""

from __future__ import annotations

import csv
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import ROOT
from tests.pifs.helpers import SCENARIOS


def test_benchmark_csv_has_the_plan_and_every_baseline(tmp_path: Path) -> None:
    out = tmp_path / "pifs.csv"
    run = subprocess.run(
        [
            sys.executable,
            str(ROOT / "benchmarks" / "pifs_latency.py"),
            "--csv",
            str(out),
            "--repeats",
            "1",
            "--scenario",
            str(SCENARIOS / "rm3_8port.toml"),
        ],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=300,
        check=False,
    )
    assert run.returncode == 0, run.stderr
    with out.open() as handle:
        (row,) = list(csv.DictReader(handle))
    milp = float(row["milp_latency_us"])
    assert milp == pytest.approx(14.3704, abs=1e-4)  # golden: before and after the port
    for name in ("pond", "beacon", "pifs_heuristic", "torchrec_greedy"):
        assert float(row[f"{name}_latency_us"]) >= milp
    assert float(row["pond_over_milp"]) == pytest.approx(104.29 / milp, rel=1e-3)
    assert row["milp_not_slower_than_baselines"] == "True"
    assert (row["tables"], row["buckets"], row["ports"]) == ("10", "80", "8")
    assert row["status"] == "optimal"


def test_benchmark_without_its_reference_data_says_what_is_missing(tmp_path: Path) -> None:
    scenario = tmp_path / "meta.toml"
    text = (SCENARIOS / "meta856_16port.toml").read_text()
    scenario.write_text(text.replace("../../../shared/reference", str(tmp_path / "absent")))
    out = tmp_path / "pifs.csv"
    command = [sys.executable, str(ROOT / "benchmarks" / "pifs_latency.py"), "--csv", str(out)]
    run = subprocess.run(
        [*command, "--scenario", str(scenario)],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=120,
        check=False,
    )
    assert run.returncode == 3
    (line,) = run.stderr.splitlines()
    assert "reference data absent" in line and "dlrm_datasets" in line
    assert not out.exists()
