"""Hostile Cocktail input exits 2 naming the file and the key (or row), never 1, never a plan."""

from __future__ import annotations

import copy
import math
from pathlib import Path
from typing import Any

import pytest

from tests.cocktail.helpers import tiny
from tests.conftest import run_cli, to_toml, write_scenario

MODELS = ["InceptionV3", "DenseNet121", "ResNet50", "MobileNetV2"]


def _with(path: tuple[str | int, ...], value: Any) -> dict[str, Any]:
    document = copy.deepcopy(tiny())
    parent: Any = document
    for key in path[:-1]:
        parent = parent[key]
    parent[path[-1]] = value
    return document


def _solve(tmp_path: Path, document: dict[str, Any]) -> tuple[int, str]:
    scenario = tmp_path / "s.toml"
    scenario.write_text(to_toml(document))  # floats as repr: inf and nan are TOML
    result = run_cli("solve", str(scenario))
    return result.exit_code, result.stderr


NUMBERS = [
    (("classes", 0, "slo_ms"), math.inf, "classes[0].slo_ms"),
    (("classes", 0, "slo_ms"), 1e30, "classes[0].slo_ms"),
    (("classes", 0, "accuracy_target"), math.nan, "classes[0].accuracy_target"),
    (("classes", 0, "load", "qps"), [math.nan, 1.0], "classes[0].load.qps"),
    (("classes", 0, "load", "qps"), [math.inf, 1.0], "classes[0].load.qps"),
    (("classes", 0, "load", "qps"), [1e30, 1.0], "classes[0].load.qps"),
    (("classes", 0, "load", "qps"), [], "classes[0].load.qps"),
    (("classes", 0, "load", "forecast_window"), 1e30, "classes[0].load.forecast_window"),
    (("interval_h",), 1e-300, "interval_h"),
    (("interval_h",), math.nan, "interval_h"),
    (("interruption_rate_scale",), math.inf, "interruption_rate_scale"),
    (("vm_startup_s",), math.nan, "vm_startup_s"),
    (("max_vm_changes",), 1e30, "max_vm_changes"),
    (("on_demand_usd_per_h",), {"c5.xlarge": math.inf}, "on_demand_usd_per_h"),
    (("spot_usd_per_h",), {"c5.xlarge": math.nan}, "spot_usd_per_h"),
    (("correctness", "seed"), 1e30, "correctness.seed"),
]


@pytest.mark.parametrize(("path", "value", "key"), NUMBERS, ids=[k for *_, k in NUMBERS])
def test_non_finite_or_huge_numbers_are_refused_by_key(
    tmp_path: Path, path: tuple[str | int, ...], value: Any, key: str
) -> None:
    code, stderr = _solve(tmp_path, _with(path, value))
    assert code == 2, stderr
    assert key in stderr


def _trace_document(trace: str | Path) -> dict[str, Any]:
    document = tiny()
    for c in document["classes"]:
        c["load"] = {"trace": str(trace)}
    document["interval_h"] = 10 / 3600
    return document


DATA = {
    "empty": b"",
    "header_only": b"arrival_ms\n",
    "binary": bytes(range(256)) * 4,
    "latin1": "arrival_ms\n1\n2\n\xe9t\xe9\n".encode("latin-1"),
    "negative": b"1\n-5\n",
    "huge_time": b"1\n1e300\n",
    "not_a_number": b"1\n2\nabc\n",
}


@pytest.mark.parametrize("content", sorted(DATA))
def test_bad_traces_exit_2_naming_the_file(tmp_path: Path, content: str) -> None:
    trace = tmp_path / "trace.txt"
    trace.write_bytes(DATA[content])
    code, stderr = _solve(tmp_path, _trace_document(trace))
    assert code == 2, stderr
    assert "trace.txt" in stderr.replace("\n", "")


@pytest.mark.parametrize("where", ["/dev/null", "folder", "missing.txt"])
def test_a_trace_path_that_is_no_regular_file_is_refused(tmp_path: Path, where: str) -> None:
    (tmp_path / "folder").mkdir()
    code, stderr = _solve(tmp_path, _trace_document(where))
    assert code == 2, stderr
    assert "classes[0].load.trace" in stderr


MATRICES = {
    "empty": b"",
    "header_only": (",".join(MODELS) + "\n").encode(),
    "binary": bytes(range(256)) * 4,
    "latin1": (",".join(MODELS) + "\n1,0,1,\xe9\n").encode("latin-1"),
    "nul": (",".join(MODELS) + "\n1,0\x00,1,1\n").encode(),
    "short_row": (",".join(MODELS) + "\n1,0,1\n").encode(),
}


@pytest.mark.parametrize("content", sorted(MATRICES))
def test_bad_correctness_matrices_exit_2_naming_file_and_row(tmp_path: Path, content: str) -> None:
    matrix = tmp_path / "matrix.csv"
    matrix.write_bytes(MATRICES[content])
    code, stderr = _solve(tmp_path, _with(("correctness",), {"matrix": str(matrix)}))
    assert code == 2, stderr
    text = stderr.replace("\n", "")
    assert "matrix.csv" in text
    assert "line" in text or "header" in text


def test_a_coupled_horizon_too_large_to_build_names_the_coupling_key(tmp_path: Path) -> None:
    document = tiny(
        models=[
            "NASNetLarge",
            "InceptionResNetV2",
            "Xception",
            "InceptionV3",
            "DenseNet201",
            "ResNet50V2",
            "DenseNet121",
            "ResNet50",
            "NASNetMobile",
            "VGG16",
            "MobileNetV2",
            "MobileNet",
        ],
        instance_types=["c5.xlarge", "c5.2xlarge", "m5.xlarge", "g4dn.xlarge"],
        vm_startup_s=60.0,
    )
    for c in document["classes"]:
        c["load"]["qps"] = [100.0] * 10_000
    scenario = write_scenario(tmp_path / "big.toml", document)
    result = run_cli("solve", str(scenario))
    assert result.exit_code == 2, result.stderr
    assert "vm_startup_s" in result.stderr and "variables" in result.stderr
