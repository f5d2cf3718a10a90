"""A scenario whose MILP would exceed the documented size exits 2 naming the key."""

from __future__ import annotations

import tomllib
from collections.abc import Callable
from pathlib import Path

import pytest

from formulations.llm.inputs import MAX_MODEL_VARIABLES
from tests.conftest import ROOT, run_cli, write_scenario

CHAT = ROOT / "scenarios" / "llm" / "chat_llama2_7b.toml"


def _grid(buckets_per_axis: int) -> dict[str, object]:
    n = buckets_per_axis
    return {
        "input_edges_tokens": list(range(1, n + 2)),
        "output_edges_tokens": list(range(1, n + 2)),
        "shares": [[1.0 / (n * n)] * n for _ in range(n)],
        "total_rate_qps": 40.0,
    }


def _many_buckets(document: dict[str, object]) -> None:
    """14,400 buckets and 12 pools (TP 1-8, three roles): 172,812 variables."""
    document["workload"] = _grid(120)
    document["allow_disaggregation"] = True
    document["gpus"] = [{"name": "L4", "tp_degrees": [1, 2, 4, 8]}]


def _many_gpus(document: dict[str, object]) -> None:
    """4 buckets and 12,000 profiled GPU types: 60,000 variables."""
    document["workload"] = _grid(2)
    document["gpus"] = [
        {"name": f"gpu{i}", "price_usd_per_h": 1.0, "max_rate_qps": [[1.0, 1.0], [1.0, 1.0]]}
        for i in range(12_000)
    ]


@pytest.mark.parametrize(
    ("enlarge", "key"), [(_many_buckets, "workload.shares"), (_many_gpus, "gpus")]
)
def test_a_model_beyond_the_size_bound_exits_2_naming_the_key(
    tmp_path: Path, enlarge: Callable[[dict[str, object]], None], key: str
) -> None:
    document = tomllib.loads(CHAT.read_text())
    enlarge(document)
    result = run_cli("solve", write_scenario(tmp_path / "big.toml", document))
    assert result.exit_code == 2, result.stderr
    assert f"{key}: a model of at most {MAX_MODEL_VARIABLES:,} variables" in result.stderr
    assert "Traceback" not in result.stderr
