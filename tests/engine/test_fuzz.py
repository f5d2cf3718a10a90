"""A bounded sample of the mutation fuzzer (``benchmarks/fuzz.py``) on every run of the
suite: no internal error, no hang, no plan from a non-finite value. The full run is
``python benchmarks/fuzz.py --mutants N`` (totals in docs/BENCHMARKS.md)."""

from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path

import pytest

from planner.registry import KINDS

ROOT = Path(__file__).resolve().parents[2]
SCENARIOS = [  # one small scenario of every kind
    "scenarios/batch/poisson_hour.toml",
    "scenarios/cellular/lstm_ptb.toml",
    "scenarios/cocktail/imagenet_day_cpu.toml",
    "scenarios/ddl/vgg11_imagenet_budget.toml",
    "scenarios/llm/chat_llama2_7b.toml",
    "scenarios/pifs/rm1_8port.toml",
    "scenarios/polymorphic/cnn_heavy.toml",
    "scenarios/ppipe/analytical_l4_t4.toml",
    "scenarios/proteus/edge_cluster.toml",
]
MUTANTS_PER_SCENARIO = 2


def _fuzz():  # type: ignore[no-untyped-def]
    spec = importlib.util.spec_from_file_location("fuzz", ROOT / "benchmarks" / "fuzz.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["fuzz"] = module  # its dataclasses look their module up by name
    spec.loader.exec_module(module)
    return module


def test_the_sample_covers_every_kind() -> None:
    assert {Path(s).parent.name for s in SCENARIOS} == set(KINDS)


@pytest.mark.parametrize("scenario", SCENARIOS)
def test_a_seeded_sample_of_mutants_is_handled_cleanly(
    scenario: str, capsys: pytest.CaptureFixture[str]
) -> None:
    # one test per scenario, so parallel test workers (pytest-xdist) share the sample
    args = [
        "--mutants",
        str(MUTANTS_PER_SCENARIO),
        "--seed",
        "1",
        "--timeout-s",
        "120",
        "--json",
        "--scenario",
        str(ROOT / scenario),
    ]
    code = _fuzz().main(args)
    summary = json.loads(capsys.readouterr().out)
    assert summary["mutants"] == MUTANTS_PER_SCENARIO
    assert code == 0, summary["failures"]
