"""benchmarks/scaling.py: a tiny run (ddl, 1x and 2x), the scalers, the growth exponent."""

from __future__ import annotations

import csv
import importlib.util
import subprocess
import sys
from pathlib import Path
from types import ModuleType

import pytest

import planner

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "benchmarks" / "scaling.py"


def _module() -> ModuleType:
    spec = importlib.util.spec_from_file_location("scaling_benchmark", SCRIPT)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_tiny_run_writes_every_column_and_the_exponent(tmp_path: Path) -> None:
    out = tmp_path / "scaling.csv"
    run = subprocess.run(
        [sys.executable, str(SCRIPT), "--csv", str(out), "--kinds", "ddl", "--max-factor", "2"],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=600,
    )
    assert run.returncode == 0, run.stderr
    with out.open() as handle:
        rows = list(csv.DictReader(handle))
    assert [(r["kind"], r["factor"], r["driver"]) for r in rows] == [
        ("ddl", "1", "jobs=3"),
        ("ddl", "2", "jobs=6"),
    ]
    for row in rows:
        assert row["status"] == "optimal" and row["limit"] == ""
        assert int(row["variables"]) > 0 and float(row["peak_rss_mib"]) > 0
        assert float(row["cpu_s"]) > 0
        assert 0 <= float(row["build_share"]) <= 1
    assert int(rows[1]["variables"]) > int(rows[0]["variables"])
    assert "ddl: wall-time exponent " in run.stdout


@pytest.mark.parametrize("kind", ["ddl", "batch", "polymorphic", "llm", "cellular", "cocktail"])
def test_scalers_give_valid_scenarios_that_grow(kind: str) -> None:
    scaling = _module()
    path = ROOT / "scenarios" / kind / scaling.SCALERS[kind][0]
    drivers = []
    for factor in (1, 2, 4):
        document, driver = scaling.scaled_document(path, kind, factor)
        planner.scenario_from_dict(document, path.parent, str(path))
        drivers.append(driver)
    assert len(set(drivers)) == 3


def test_growth_exponent_fits_log_log_and_leaves_out_limited_points() -> None:
    scaling = _module()
    rows = [{"factor": f, "wall_s": 3.0 * f**2, "limit": ""} for f in (1, 2, 4)]
    rows.append({"factor": 8, "wall_s": 120.0, "limit": "time_limit"})
    assert scaling.growth_exponent(rows) == pytest.approx(2.0)
    assert scaling.growth_exponent(rows[:1]) is None
