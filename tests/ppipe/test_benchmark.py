"""benchmarks/ppipe_reference.py plans every instance of a set and writes the documented CSV
(run here on tiny instances written in PPipe's published layout)."""

from __future__ import annotations

import csv
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import ROOT
from tests.ppipe.helpers import solve_raw, tiny_instance


def _published(raw: dict[str, Any], key: str) -> dict[str, Any]:
    """``raw`` inputs as an entry of PPipe's instances.json (its own field names)."""
    gpus = raw["gpus"]
    return {
        "set": "maf19",
        "gpus": [g["name"] for g in gpus],
        "gpu_limits": [g["count"] for g in gpus],
        "gpus_per_server": [g["gpus_per_server"] for g in gpus],
        "mps_levels": [g["max_mps_level"] for g in gpus],
        "dnns": [m["name"] for m in raw["models"]],
        "workload_weights": [m["weight"] for m in raw["models"]],
        "per_dnn": {
            m["name"]: {
                "slo_us": m["slo_us"],
                "slo_reserve_us": m["slo_reserve_us"],
                "est_throughput_rps": m["est_throughput_qps"],
            }
            for m in raw["models"]
        },
        "max_partitions": raw["max_partitions"],
        "bw_gbps": raw["bandwidth_gbit_per_s"],
        "batch_build_factor": raw["batch_build_factor"],
        "same_batch_across_partitions": raw["same_batch_across_partitions"],
        "integer_gpus_per_partition_index": raw["integer_gpus_per_partition_index"],
    }


def test_benchmark_writes_one_verified_row_per_instance(tmp_path: Path) -> None:
    raw = tiny_instance(tmp_path, 5)
    instances = {"maf19/tiny/a": _published(raw, "a"), "maf19/tiny/b": _published(raw, "b")}
    (tmp_path / "instances.json").write_text(json.dumps(instances))
    out = tmp_path / "out.csv"
    run = subprocess.run(
        [
            sys.executable,
            str(ROOT / "benchmarks" / "ppipe_reference.py"),
            "--set",
            "maf19",
            "--csv",
            str(out),
            "--reference",
            str(tmp_path),
        ],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=300,
    )
    assert run.returncode == 0, run.stderr
    assert "2 instances, 2 proven optimal" in run.stdout
    with out.open() as handle:
        rows = list(csv.DictReader(handle))
    assert list(rows[0]) == [
        "instance",
        "objective",
        "throughput_qps_0",
        "throughput_qps_1",
        "np_objective",
        "dart_r_objective",
        "dart_r_authors_objective",
        "dart_r_authors_within_ppipe",
        "low_class_gpu_pct",
        "prepare_s",
        "build_s",
        "solve_s",
        "status",
        "termination",
        "gap",
        "plan_cpu_s",
    ]
    plan = solve_raw(raw | {"compare_modes": False}, tmp_path, options={"mip_allow_restart": False})
    assert [row["instance"] for row in rows] == list(instances)
    for row in rows:
        assert float(row["objective"]) == pytest.approx(plan.objective.value, rel=1e-9)
        assert float(row["np_objective"]) == pytest.approx(plan.baseline("np").objective)
        assert row["status"] == "optimal" and row["termination"] == "optimal"


def test_benchmark_without_reference_data_says_what_is_missing(tmp_path: Path) -> None:
    done = subprocess.run(
        [
            sys.executable,
            str(ROOT / "benchmarks" / "ppipe_reference.py"),
            *("--set", "maf19", "--csv", str(tmp_path / "out.csv")),
            *("--reference", str(tmp_path / "absent")),
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 3 and not (tmp_path / "out.csv").exists()
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and "instances.json" in lines[0] and "shared/reference" in lines[0]
