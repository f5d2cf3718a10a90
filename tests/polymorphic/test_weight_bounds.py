"""Objective weights beyond the solver's numerical range are refused at input (exit 2, not a
solver status "Unknown" as a weight of 1e30 gave; found by benchmarks/fuzz.py)."""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest

from formulations.polymorphic.inputs import MAX_WEIGHT, MIN_WEIGHT
from tests.conftest import ROOT, run_cli, write_scenario

SCENARIO = ROOT / "scenarios" / "polymorphic" / "time_varying_mix.toml"


@pytest.mark.parametrize("weight", [1e30, MAX_WEIGHT * 10, MIN_WEIGHT / 10])
def test_an_extreme_weight_exits_2_naming_it(tmp_path: Path, weight: float) -> None:
    document = tomllib.loads(SCENARIO.read_text())
    document.pop("description")  # multi-line: beyond the test TOML writer
    document["dnns"][3]["weight"] = weight
    result = run_cli("solve", write_scenario(tmp_path / "w.toml", document))
    assert result.exit_code == 2, result.stderr
    assert "dnns[3].weight" in result.stderr
