"""Helpers of the ppipe tests: tiny seeded instances with their own chunk tables, and
solving raw inputs through the engine."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

import planner
from formulations.ppipe.deployment import PPipeDeployment
from formulations.ppipe.inputs import PPipeInputs
from formulations.ppipe.view import PPipeView, prepare
from planner.plan import Plan

GPUS = ("HI", "LO")
BATCHES = {1: 2, 2: 1}  # largest batch per MPS level in the tiny tables


def _write_tables(folder: Path, rng: np.random.Generator, model: str, chunks: int) -> None:
    (folder / "block_latency_us").mkdir(exist_ok=True)
    (folder / "cut_bytes").mkdir(exist_ok=True)
    base = rng.uniform(500, 3000, chunks)
    for gpu, slowdown in (("HI", 1.0), ("LO", rng.uniform(1.3, 3.0))):
        for mps, max_batch in BATCHES.items():
            rows = [
                [
                    round(b * slowdown * mps**0.8 * (0.6 + 0.4 * batch), 1)
                    for batch in range(1, max_batch + 1)
                ]
                for b in base
            ]
            text = "\n".join(",".join(str(v) for v in row) for row in rows)
            (folder / "block_latency_us" / f"{model}-{gpu}-{mps}.csv").write_text(text)
    cuts = rng.integers(100_000, 2_000_000, chunks - 1)
    (folder / "cut_bytes" / f"{model}.csv").write_text("\n".join(str(c) for c in cuts))


def tiny_instance(tmp_path: Path, seed: int) -> dict[str, Any]:
    rng = np.random.default_rng(seed)
    models = []
    for index in range(2):
        chunks = int(rng.integers(2, 5))
        name = f"m{index}"
        _write_tables(tmp_path, rng, name, chunks)
        models.append(
            {
                "name": name,
                "weight": float(rng.choice([0.5, 1.0, 1.5])),
                "slo_us": float(rng.uniform(4000, 12000)) * chunks / 2,
                "slo_reserve_us": float(rng.uniform(0, 500)),
                "est_throughput_qps": float(rng.uniform(800, 3000)),
            }
        )
    return {
        "gpus": [
            {
                "name": "HI",
                "count": int(rng.integers(1, 3)),
                "gpus_per_server": 2,
                "max_mps_level": 2,
            },
            {
                "name": "LO",
                "count": int(rng.integers(1, 4)),
                "gpus_per_server": 1,
                "max_mps_level": 1,
                "low_class": True,
            },
        ],
        "models": models,
        "max_partitions": 2,
        "bandwidth_gbit_per_s": 10.0,
        "batch_build_factor": 1.3,
        "same_batch_across_partitions": bool(seed % 2),
        "integer_gpus_per_partition_index": seed % 3 != 2,
        "reference_dir": str(tmp_path),
    }


def view_of(raw: dict[str, Any]) -> PPipeView:
    """The cost-model view of raw ``ppipe`` inputs."""
    return prepare(PPipeInputs.model_validate(raw))


def solve_raw(raw: dict[str, Any], folder: Path, **solver: Any) -> Plan:
    """Plan raw ``ppipe`` inputs through the engine (solver settings from ``solver``)."""
    document = {"kind": "ppipe", **raw, "solver": solver}
    return planner.solve(planner.scenario_from_dict(document, folder))


def deployment_of(plan: Plan) -> PPipeDeployment:
    deployment = plan.deployment
    assert isinstance(deployment, PPipeDeployment)
    return deployment
