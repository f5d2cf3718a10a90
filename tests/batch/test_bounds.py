"""BATCH input at the boundary (issue 19): non-finite numbers, model-size bounds and bad
data files exit 2 naming the file and the key or line."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.batch.helpers import tiny_batch
from tests.conftest import run_cli, to_toml


def solve_error(tmp_path: Path, document: dict[str, Any]) -> str:
    path = tmp_path / "scenario.toml"
    path.write_text(to_toml(document))  # not write_scenario: NaN != NaN in its round trip
    result = run_cli("solve", str(path))
    assert result.exit_code == 2, result.stdout + result.stderr
    return result.stderr


def with_trace(path: str) -> dict[str, Any]:
    document = tiny_batch()
    document["arrivals"] = {"inter_arrivals": path}
    return document


@pytest.mark.parametrize(
    ("overrides", "key"),
    [
        ({"slo_ms": float("inf")}, "slo_ms"),
        ({"max_concurrency": float("inf")}, "max_concurrency"),
        ({"cold_start_ms": float("nan")}, "cold_start_ms"),
        ({"arrivals": {"rate_qps": [5.0, float("nan"), 40.0]}}, "arrivals.rate_qps"),
        ({"arrivals": {"rate_qps": [5.0, 1e30, 40.0]}}, "arrivals"),
        ({"grid": {"batch_sizes": [1, 2, 10**9]}}, "grid"),
        ({"grid": {"timeouts_s": {"start": 0.02, "stop": 1e9, "step": 0.02}}}, "grid"),
        ({"time_step_s": 1e-9}, "time_step_s"),
        ({"grid": {"timeouts_s": [0.02, 1e6]}}, "time_step_s"),
    ],
)
def test_non_finite_and_huge_values_are_refused(
    tmp_path: Path, overrides: dict[str, Any], key: str
) -> None:
    assert key in solve_error(tmp_path, tiny_batch(**overrides))


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        (b"", "header"),
        (b"hour,inter_arrival_s\n", "hour"),
        ("hour,inter_arrival_s\n0,0,5\xe9\n".encode("latin-1"), "(encoding)"),
        (b"\x00\x01\x02\xff\xfe", "(encoding)"),
        (b"hour,inter_arrival_s\n0,nan\n", "line 2"),
        (b"hour,inter_arrival_s\n0,-1\n", "line 2"),
        (b"hour,inter_arrival_s\n0,0.1\n0,", "line 3"),
    ],
)
def test_bad_trace_files_name_the_file(tmp_path: Path, content: bytes, expected: str) -> None:
    trace = tmp_path / "trace.csv"
    trace.write_bytes(content)
    message = solve_error(tmp_path, with_trace(str(trace)))
    assert "trace.csv" in message and expected in message


def test_a_device_is_not_a_trace(tmp_path: Path) -> None:
    message = solve_error(tmp_path, with_trace("/dev/null"))
    assert "arrivals.inter_arrivals" in message and "regular file" in message
