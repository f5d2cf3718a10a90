"""`planner estimate` and planner.estimate."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import pytest

import planner
from tests.conftest import run_cli


def test_library_estimate_matches_the_cli() -> None:
    est = planner.estimate("resnet50", "T4", 7, "fp16")  # batch 7: not a measured point
    assert est.provenance == "calibrated" and est.bound in {"compute", "memory", "overhead"}
    result = run_cli(
        "estimate",
        "--model",
        "resnet50",
        "--device",
        "T4",
        "--batch",
        "7",
        "--precision",
        "fp16",
        "--format",
        "json",
    )
    assert result.exit_code == 0
    row = json.loads(result.stdout)[0]
    assert row["latency_ms"] == pytest.approx(est.latency_ms)
    assert row["throughput_per_s"] == pytest.approx(est.throughput_per_s)
    assert est.throughput_per_s == pytest.approx(7 * 1e3 / est.latency_ms)


def test_device_without_measurements_is_roofline() -> None:
    assert planner.estimate("bert_large", "H100", 8, "fp16", seq_len=384).provenance == "roofline"


def test_csv_round_trip(tmp_path: Path) -> None:
    points = tmp_path / "points.csv"
    points.write_text(
        "model,device,batch,precision,mode,gpus\n"
        "resnet50,V100,256,fp16,training,8\n"
        "mobilenet_v2,c5.xlarge,1,fp32,inference,\n"
    )
    result = run_cli("estimate", "--input", points, "--format", "csv")
    assert result.exit_code == 0, result.stderr
    rows = list(csv.DictReader(io.StringIO(result.stdout)))
    assert [r["model"] for r in rows] == ["resnet50", "mobilenet_v2"]
    for r in rows:
        assert float(r["latency_ms"]) > 0 and r["provenance"] and r["bound"]


def test_unknown_name_exits_2_naming_the_row_and_close_matches(tmp_path: Path) -> None:
    points = tmp_path / "points.csv"
    points.write_text(
        "model,device,batch,precision,mode\nresnet50,T4,1,fp16,inference\n"
        "resnet50,T4x,1,fp16,inference\n"
    )
    result = run_cli("estimate", "--input", points, "--format", "csv")
    assert result.exit_code == 2
    assert "row 2" in result.stderr and "T4" in result.stderr


def test_a_measured_point_returns_the_measurement() -> None:
    from cost_models.perf.reference import dle_inference
    from tests.conftest import REFERENCE

    if not REFERENCE.is_dir():
        pytest.skip(f"reference data not found at {REFERENCE}")
    row = next(
        p
        for p in dle_inference(REFERENCE)
        if p.model == "resnet50" and p.device == "T4" and p.runtime == "pytorch"
    )
    est = planner.estimate(
        "resnet50", "T4", row.batch, row.precision.value, runtime="pytorch", reference=REFERENCE
    )
    assert est.provenance == "measured"
    assert est.latency_ms == pytest.approx(row.latency_ms)
    calibrated = planner.estimate(
        "resnet50", "T4", row.batch, row.precision.value, runtime="pytorch", reference=Path("/x")
    )
    assert calibrated.provenance == "calibrated" and calibrated.latency_ms != est.latency_ms
