"""Small ``llm`` scenarios for the tests."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import planner
from planner.scenario import Scenario

ROOT = Path(__file__).resolve().parents[2]
CHAT = ROOT / "scenarios" / "llm" / "chat_llama2_7b.toml"
LONG = ROOT / "scenarios" / "llm" / "long_document_llama2_13b.toml"


def profiled(
    rates: dict[str, list[list[float]]],
    prices: dict[str, float],
    shares: list[list[float]],
    total_qps: float,
    slice_factor: int,
    backend: str = "highs",
) -> dict[str, Any]:
    """A Melange-style scenario with profiled per-bucket rates."""
    return {
        "kind": "llm",
        "slice_factor": slice_factor,
        "solver": {"backend": backend},
        "workload": {"total_rate_qps": total_qps, "shares": shares},
        "gpus": [
            {"name": g, "price_usd_per_h": prices[g], "max_rate_qps": rates[g]} for g in rates
        ],
    }


def small_model(backend: str = "highs", **extra: Any) -> dict[str, Any]:
    """A cost-model scenario small enough for every backend."""
    document: dict[str, Any] = {
        "kind": "llm",
        "slice_factor": 2,
        "solver": {"backend": backend},
        "model": {"name": "llama-2-7b"},
        "slo": {"ttft_ms": 1000, "tpot_ms": 100},
        "workload": {
            "total_rate_qps": 12,
            "input_edges_tokens": [1, 250, 1000],
            "output_edges_tokens": [1, 200, 500],
            "shares": [[0.3, 0.3], [0.2, 0.2]],
        },
        "gpus": [{"name": "L4"}, {"name": "A10G", "tp_degrees": [1, 2]}, {"name": "A100-80GB"}],
    }
    document.update(extra)
    return document


def scenario(document: dict[str, Any]) -> Scenario:
    return planner.scenario_from_dict(document, base_dir=ROOT, file="test.toml")
