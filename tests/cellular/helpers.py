"""Tiny cellular scenarios for the tests."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from tests.conftest import write_scenario


def tiny(rate_qps: float = 400.0, **overrides: Any) -> dict[str, Any]:
    """A 1-layer 256-unit LSTM on two GPU types, two length buckets."""
    document: dict[str, Any] = {
        "kind": "cellular",
        "name": "tiny",
        "slo_ms": 20.0,
        "max_batch_candidates": [8, 32],
        "simulate_requests": 400,
        "model": {"structure": "lstm", "input_dim": 256, "hidden": 256},
        "gpus": [{"name": "T4", "max_count": 4}, {"name": "V100", "max_count": 3}],
        "traffic": [
            {"min_tokens": 1, "max_tokens": 10, "rate_qps": rate_qps * 0.7},
            {"min_tokens": 11, "max_tokens": 30, "rate_qps": rate_qps * 0.3},
        ],
    }
    document.update(overrides)
    return document


def write(tmp_path: Path, document: dict[str, Any], name: str = "s.toml") -> Path:
    return write_scenario(tmp_path / name, document)
