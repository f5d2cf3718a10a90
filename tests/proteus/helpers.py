"""Proteus test helpers: tiny scenarios with custom variants, and their views."""

from __future__ import annotations

import random
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from formulations.proteus.deployment import ProteusDeployment
from formulations.proteus.view import ProteusView
from planner import Scenario, scenario_from_dict
from planner.engine import prepared_view
from planner.plan import Plan
from tests.conftest import write_scenario


def tiny_proteus(**overrides: Any) -> dict[str, Any]:
    """Two device types, two families of custom variants; capacities from the roofline."""
    document: dict[str, Any] = {
        "kind": "proteus",
        "name": "tiny",
        "solver": {"mip_gap": 1e-9},
        "baselines": False,
        "devices": {
            "gpu": {"count": 2, "catalog_device": "T4"},
            "cpu": {"count": 2, "catalog_device": "CPU16"},
        },
        "families": {
            "vision": {"slo_ms": 60.0, "demand_qps": 300.0},
            "text": {"slo_ms": 40.0, "demand_qps": 150.0},
        },
        "variants": [
            {
                "name": "v_small",
                "family": "vision",
                "normalized_accuracy": 80.0,
                "gflops_per_sample": 2.0,
                "params_millions": 10.0,
                "activation_mb_per_sample": 5.0,
            },
            {
                "name": "v_big",
                "family": "vision",
                "normalized_accuracy": 100.0,
                "gflops_per_sample": 16.0,
                "params_millions": 60.0,
                "activation_mb_per_sample": 20.0,
            },
            {
                "name": "t_small",
                "family": "text",
                "normalized_accuracy": 90.0,
                "gflops_per_sample": 5.0,
                "params_millions": 30.0,
                "activation_mb_per_sample": 2.0,
            },
            {
                "name": "t_big",
                "family": "text",
                "normalized_accuracy": 100.0,
                "gflops_per_sample": 40.0,
                "params_millions": 300.0,
                "activation_mb_per_sample": 8.0,
            },
        ],
    }
    document.update(overrides)
    return document


def random_variants(rng: random.Random, families: Sequence[str], most: int) -> list[dict[str, Any]]:
    """1..``most`` custom variants per family with random (seeded) public facts."""
    variants = []
    for family in families:
        for k in range(rng.randint(1, most)):
            variants.append(
                {
                    "name": f"{family}_{k}",
                    "family": family,
                    "normalized_accuracy": round(rng.uniform(50, 100), 2),
                    "gflops_per_sample": round(rng.uniform(0.5, 30), 2),
                    "params_millions": round(rng.uniform(2, 200), 1),
                    "activation_mb_per_sample": round(rng.uniform(0.5, 30), 1),
                }
            )
    return variants


def view_of(scenario: Scenario) -> ProteusView:
    """The engine's prepared view of a Proteus scenario."""
    view = prepared_view(scenario)
    assert isinstance(view, ProteusView)
    return view


def view_from(document: dict[str, Any], base_dir: Path | None = None) -> ProteusView:
    scenario = (
        scenario_from_dict(document)
        if base_dir is None
        else scenario_from_dict(document, base_dir=base_dir)
    )
    return view_of(scenario)


def tiny_path(folder: Path) -> Path:
    """The tiny scenario written to ``folder/tiny.toml``."""
    return write_scenario(folder / "tiny.toml", tiny_proteus())


def deployment(plan: Plan) -> ProteusDeployment:
    """A Proteus plan's deployment, typed."""
    assert isinstance(plan.deployment, ProteusDeployment)
    return plan.deployment
