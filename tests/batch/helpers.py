"""Tiny BATCH scenarios for tests, and loading their view and a solver."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import planner
from formulations.batch.view import BatchView
from formulations.types import SolverSettings
from planner.backends import make_solver
from planner.backends.base import Backend
from tests.conftest import write_scenario

# The calibrated TF ResNet-V2 model of the shipped scenarios.
SERVICE = {
    "fixed_ms": 760.0,
    "setup_ms": 340.0,
    "per_request_ms": 925.0,
    "parallel_fraction": 0.998,
}


def tiny_batch(**overrides: Any) -> dict[str, Any]:
    """Three hours, a 3 x 3 x 3 grid, p95 within 4 s."""
    document: dict[str, Any] = {
        "kind": "batch",
        "name": "tiny-batch",
        "solver": {"mip_gap": 1e-9},
        "percentile": "p95",
        "slo_ms": 4000.0,
        "time_step_s": 0.02,
        "grid": {
            "memory_mb": [1024, 2048, 3008],
            "batch_sizes": [1, 2, 4],
            "timeouts_s": [0.02, 0.06, 0.1],
        },
        "service": dict(SERVICE),
        "arrivals": {
            "rate_qps": [5.0, 20.0, 40.0],
            "scv": [1.0, 3.0, 2.0],
            "lag1_autocorrelation": [0.0, 0.2, 0.1],
        },
    }
    for key, value in overrides.items():
        if isinstance(value, dict) and isinstance(document.get(key), dict):
            document[key] = {**copy.deepcopy(document[key]), **value}
        else:
            document[key] = value
    return document


OFFERS = [
    {"instance_type": "c5.xlarge", "market": "on_demand", "max_count": 1},
    {"instance_type": "c5.xlarge", "market": "spot", "max_count": 1},
]


def tiny_hybrid(**overrides: Any) -> dict[str, Any]:
    """Three hours (12, 20, 30 requests/s), a 2 x 2 x 2 Lambda grid, shares step 0.25, one
    on-demand and one spot c5.xlarge (about 14.4 requests/s each within 4 s)."""
    document = tiny_batch(
        grid={"memory_mb": [2048, 3008], "batch_sizes": [2, 4], "timeouts_s": [0.06, 0.1]},
        arrivals={
            "rate_qps": [12.0, 20.0, 30.0],
            "scv": [1.0, 3.0, 2.0],
            "lag1_autocorrelation": [0.0, 0.2, 0.1],
        },
        hybrid={"lambda_share_step": 0.25, "vms": [dict(o) for o in OFFERS]},
    )
    document.update(overrides)
    return document


def write(tmp_path: Path, document: dict[str, Any], name: str = "tiny.toml") -> Path:
    return write_scenario(tmp_path / name, document)


def view_of(path: Path) -> BatchView:
    scenario = planner.load_scenario(path)
    view = scenario.formulation.prepare(scenario.inputs)
    assert isinstance(view, BatchView)
    return view


def solver(backend: str = "highs") -> Backend:
    return make_solver(SolverSettings(backend=backend, mip_gap=1e-9))
