"""The ddl benchmark writes the documented CSV and states Stash's three findings."""

from __future__ import annotations

import csv
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_benchmark_csv_and_findings(tmp_path: Path) -> None:
    out = tmp_path / "ddl.csv"
    run = subprocess.run(
        [
            sys.executable,
            str(ROOT / "benchmarks" / "ddl_stalls.py"),
            "--csv",
            str(out),
            "--repeats",
            "1",
        ],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=300,
    )
    assert run.returncode == 0, run.stderr
    with out.open() as handle:
        rows = list(csv.DictReader(handle))
    assert list(rows[0]) == [
        "scenario",
        "model",
        "instance_type",
        "nodes",
        "market",
        "role",
        "iteration_s",
        "compute_pct",
        "fetch_pct",
        "prep_pct",
        "interconnect_pct",
        "network_pct",
        "hours",
        "cost_usd",
        "meets_deadline",
    ]
    roles = {role for row in rows for role in row["role"].split("+")}
    assert {
        "recommended",
        "candidate",
        "most_expensive",
        "fastest_single_node",
        "naive_cheapest",
    } <= roles
    for row in rows:
        shares = sum(
            float(row[k])
            for k in ("compute_pct", "fetch_pct", "prep_pct", "interconnect_pct", "network_pct")
        )
        assert abs(shares - 100) < 1e-6
    recommended = [r for r in rows if r["role"] == "recommended"]
    assert all(r["meets_deadline"] in ("True", "") for r in recommended)
    findings = [line for line in run.stdout.splitlines() if line[:2] in ("1.", "2.", "3.")]
    assert {line[:2] for line in findings} == {"1.", "2.", "3."}
