"""benchmarks/proteus_reference.py writes one row per window with the plan's and every
baseline's beta and accuracy and the per-window build/solve split."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest

from benchmarks.proteus_reference import BASELINES, main
from tests.conftest import REFERENCE


@pytest.mark.skipif(
    not (REFERENCE / "proteus").is_dir(), reason="Proteus reference data not in ../shared/reference"
)
def test_benchmark_writes_one_row_per_window(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "windows.csv"
    assert main(["--csv", str(out), "--max-windows", "3", "--no-shipped"]) == 0
    rows = list(csv.DictReader(out.open()))
    assert [float(r["window_start_s"]) for r in rows] == [0.0, 10.0, 20.0]
    for row in rows:
        assert float(row["build_s"]) > 0 and float(row["solve_s"]) > 0
        assert 0 < float(row["build_share"]) < 1 and row["status"] == "optimal"
        assert float(row["effective_accuracy_served"]) <= float(row["effective_accuracy"]) + 1e-9
        for name in BASELINES:
            assert float(row[f"{name}_effective_accuracy_served"]) >= 0
            assert float(row[f"{name}_shed_pct"]) >= 0
        assert float(rows[0]["sommelier_beta"]) == 1.5  # Sommelier's configuration
    err = capsys.readouterr().err
    assert "windows where a baseline serves a higher effective accuracy" in err
    assert "| shed (clipper_ha) | SLO timeouts 2-10x |" in err


def test_benchmark_skips_without_reference(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    import benchmarks.proteus_reference as bench

    monkeypatch.setattr(bench, "REFERENCE", tmp_path / "absent")
    assert main(["--csv", str(tmp_path / "x.csv")]) == bench.REFERENCE_ABSENT == 3
    err = capsys.readouterr().err
    assert "reference data absent" in err and str(tmp_path / "absent") in err
    assert len(err.splitlines()) == 1
    assert not (tmp_path / "x.csv").exists()
