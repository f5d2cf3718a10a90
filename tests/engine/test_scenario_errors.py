"""Every class of bad input exits 2 with one message naming the file, the key and what was
expected, and never a traceback."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import run_cli, write_scenario
from tests.proteus.helpers import tiny_proteus


def broken(change: Any) -> dict[str, Any]:
    document = copy.deepcopy(tiny_proteus())
    change(document)
    return document


CASES = [
    (
        "wrong type",
        lambda d: d["devices"]["gpu"].update(count="four"),
        "devices.gpu.count",
        "integer",
    ),
    ("unknown key", lambda d: d["devices"]["gpu"].update(cnt=3), "devices.gpu.cnt", "unknown key"),
    (
        "missing key",
        lambda d: d["families"]["vision"].pop("slo_ms"),
        "families.vision.slo_ms",
        "required",
    ),
    (
        "negative count",
        lambda d: d["devices"]["cpu"].update(count=-1),
        "devices.cpu.count",
        "greater than or equal to 0",
    ),
    ("empty set", lambda d: d.update(families={}), "families", "at least 1"),
    (
        "unknown reference",
        lambda d: d["variants"][0].update(family="audio"),
        "variants[0].family",
        "one of the families",
    ),
    (
        "unknown variant",
        lambda d: d["families"]["vision"].update(variants=["resnet9000"]),
        "families.vision.variants[0]",
        "a variant of the catalog",
    ),
    (
        "unknown device",
        lambda d: d["devices"]["gpu"].update(catalog_device="Z80"),
        "catalog_device",
        "one of",
    ),
    ("unknown kind", lambda d: d.update(kind="magic"), "kind", "one of proteus"),
    ("empty name", lambda d: d.update(name="  "), "name", "a non-empty name"),
    ("bad backend", lambda d: d["solver"].update(backend="gurobi"), "solver", "backend"),
    (
        "two demands",
        lambda d: d["families"]["vision"].update(trace="bad.toml"),
        "families.vision",
        "exactly one of demand_qps or trace",
    ),
    (
        "missing data file",
        lambda d: (
            d["families"]["vision"].pop("demand_qps"),
            d["families"]["vision"].update(trace="nope.txt"),
        ),
        "families.vision.trace",
        "no such path",
    ),
]


@pytest.mark.parametrize(("label", "change", "key", "expected"), CASES, ids=[c[0] for c in CASES])
def test_bad_input_exits_2_naming_file_and_key(
    tmp_path: Path, label: str, change: Any, key: str, expected: str
) -> None:
    path = write_scenario(tmp_path / "bad.toml", broken(change))
    result = run_cli("solve", path)
    assert result.exit_code == 2, result.stderr
    assert str(path) in result.stderr
    assert key in result.stderr
    assert expected in result.stderr
    assert "Traceback" not in result.stderr + result.stdout
    assert result.stdout == ""


def test_toml_syntax_error(tmp_path: Path) -> None:
    path = tmp_path / "syntax.toml"
    path.write_text('kind = "proteus"\n[devices\n')
    result = run_cli("solve", path)
    assert result.exit_code == 2
    assert "valid TOML" in result.stderr and str(path) in result.stderr


def test_missing_scenario_file(tmp_path: Path) -> None:
    result = run_cli("solve", tmp_path / "absent.toml")
    assert result.exit_code == 2
    assert "an existing scenario file" in result.stderr


def test_relative_data_paths_resolve_against_the_scenario_folder(tmp_path: Path) -> None:
    folder = tmp_path / "deep" / "folder"
    folder.mkdir(parents=True)
    (folder / "vision.txt").write_text("".join(f"{t},1,300\n" for t in range(0, 20000, 10)))
    document = tiny_proteus()
    document["families"]["vision"] = {"slo_ms": 60.0, "trace": "vision.txt"}
    path = write_scenario(folder / "traced.toml", document)
    result = run_cli("solve", path, "--format", "json")  # run from another directory
    assert result.exit_code == 0, result.stderr
