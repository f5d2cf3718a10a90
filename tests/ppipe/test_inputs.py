"""Validation at the boundary (issue 19): non-finite or absurd numbers, malformed published
instances, hostile data files and oversized enumerations exit 2 naming the file and key."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest

import planner
from formulations.types import ExitCode
from tests.conftest import run_cli, to_toml, write_scenario
from tests.ppipe.helpers import tiny_instance


def _document(tmp_path: Path) -> dict[str, Any]:
    return {"kind": "ppipe", "name": "tiny", **tiny_instance(tmp_path, 5)}


@pytest.mark.parametrize(
    ("where", "key", "value"),
    [
        ("models.0", "slo_us", float("inf")),
        ("models.0", "slo_us", float("nan")),
        ("models.0", "slo_reserve_us", float("inf")),
        ("models.0", "slo_reserve_us", 1e12),  # above the SLO
        ("models.0", "est_throughput_qps", float("inf")),
        ("models.0", "weight", 1e30),
        ("models.0", "name", ""),
        ("gpus.0", "count", 10**30),
        ("gpus.0", "gpus_per_server", 10**6),
        ("", "bandwidth_gbit_per_s", float("inf")),
        ("", "bandwidth_gbit_per_s", 1e-300),
        ("", "batch_build_factor", float("nan")),
    ],
)
def test_absurd_numbers_exit_2_naming_the_key(
    tmp_path: Path, where: str, key: str, value: Any
) -> None:
    document = _document(tmp_path)
    target: Any = document
    for part in filter(None, where.split(".")):
        target = target[int(part)] if part.isdigit() else target[part]
    target[key] = value
    path = tmp_path / "bad.toml"
    path.write_text(to_toml(document))  # repr(inf) and repr(nan) are TOML
    result = run_cli("solve", str(path))
    assert result.exit_code == ExitCode.INVALID_INPUT, result.stderr
    assert key in result.stderr


@pytest.mark.parametrize(
    ("content", "what"),
    [
        (b"", "at least one row"),
        (b"latency,batch\n", "comma-separated numbers"),
        (b"\x00\xff\xfe binary", "UTF-8"),
        ("1,2\n3é,4\n".encode("latin-1"), "UTF-8"),
        (b"1.0,2.0\n3.0", "same number of batch sizes"),
    ],
)
def test_hostile_chunk_tables_exit_2_naming_the_file(
    tmp_path: Path, content: bytes, what: str
) -> None:
    document = _document(tmp_path)
    victim = tmp_path / "block_latency_us" / "m0-HI-1.csv"
    victim.write_bytes(content)
    result = run_cli("solve", str(write_scenario(tmp_path / "s.toml", document)))
    assert result.exit_code == ExitCode.INVALID_INPUT, result.stderr
    assert "m0-HI-1.csv" in result.stderr and what in result.stderr


def test_a_fifo_chunk_table_is_refused_without_reading(tmp_path: Path) -> None:
    document = _document(tmp_path)
    victim = tmp_path / "block_latency_us" / "m0-HI-1.csv"
    victim.unlink()
    os.mkfifo(victim)
    result = run_cli("solve", str(write_scenario(tmp_path / "s.toml", document)))
    assert result.exit_code == ExitCode.INVALID_INPUT and "regular file" in result.stderr


@pytest.mark.parametrize(
    "instance", [[1, 2], {"gpus": ["L4"]}, {"gpus": 3, "gpu_limits": None}, "text"]
)
def test_malformed_published_instances_exit_2(tmp_path: Path, instance: Any) -> None:
    (tmp_path / "instances.json").write_text(json.dumps({"k": instance}))
    document = {"kind": "ppipe", "published_instance": {"file": "instances.json", "key": "k"}}
    result = run_cli("solve", str(write_scenario(tmp_path / "inst.toml", document)))
    assert result.exit_code == ExitCode.INVALID_INPUT, result.stderr
    assert "instances.json" in result.stderr


@pytest.mark.parametrize("content", [b"\xff\xfe\x00", b"[" * 100_000])
def test_unreadable_instances_file_exits_2(tmp_path: Path, content: bytes) -> None:
    (tmp_path / "instances.json").write_bytes(content)
    document = {"kind": "ppipe", "published_instance": {"file": "instances.json", "key": "k"}}
    result = run_cli("solve", str(write_scenario(tmp_path / "inst.toml", document)))
    assert result.exit_code == ExitCode.INVALID_INPUT and "instances" in result.stderr


def test_an_oversized_enumeration_exits_2_naming_the_key(tmp_path: Path) -> None:
    document = {
        "kind": "ppipe",
        "max_partitions": 4,
        "bandwidth_gbit_per_s": 10.0,
        "gpus": [
            {"name": name, "count": 4, "gpus_per_server": 4, "max_mps_level": 4}
            for name in ("L4", "T4", "V100", "A100")
        ],
        "models": [
            {
                "name": "resnet50",
                "source": "analytical",
                "slo_us": 1e6,
                "est_throughput_qps": 100.0,
                "chunks": 20,
            }
        ],
    }
    with pytest.raises(planner.InputError, match=r"max_partitions.*candidate pipeline designs"):
        planner.solve(planner.scenario_from_dict(document, tmp_path))
