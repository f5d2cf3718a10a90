"""A bounded sample of the mutation fuzzer (``benchmarks/fuzz.py``) on every run of the
suite: no internal error, no hang, no plan from a non-finite value. The full run is
``python benchmarks/fuzz.py --mutants N`` (totals in docs/BENCHMARKS.md)."""

from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SCENARIOS = [
    "scenarios/ddl/vgg11_imagenet_budget.toml",
    "scenarios/proteus/edge_cluster.toml",
    "scenarios/cocktail/imagenet_day_cpu.toml",
    "scenarios/ppipe/analytical_l4_t4.toml",
]


def _fuzz():  # type: ignore[no-untyped-def]
    spec = importlib.util.spec_from_file_location("fuzz", ROOT / "benchmarks" / "fuzz.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["fuzz"] = module  # its dataclasses look their module up by name
    spec.loader.exec_module(module)
    return module


def test_a_seeded_sample_of_mutants_is_handled_cleanly(capsys: pytest.CaptureFixture[str]) -> None:
    args = ["--mutants", str(3 * len(SCENARIOS)), "--seed", "1", "--timeout-s", "120", "--json"]
    for scenario in SCENARIOS:
        args += ["--scenario", str(ROOT / scenario)]
    code = _fuzz().main(args)
    summary = json.loads(capsys.readouterr().out)
    assert summary["mutants"] == 3 * len(SCENARIOS)
    assert code == 0, summary["failures"]
