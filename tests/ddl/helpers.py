"""Helpers of the ddl tests: random small scenarios and their exhaustive optimum."""

from __future__ import annotations

import itertools
import random
from pathlib import Path
from typing import Any

from formulations.ddl import FORMULATION
from formulations.ddl.deployment import Assignment, DdlDeployment
from formulations.ddl.inputs import DdlInputs

ROOT = Path(__file__).resolve().parents[2]
SCENARIOS = ROOT / "scenarios" / "ddl"
TYPES = [
    "p2.8xlarge",
    "p3.2xlarge",
    "p3.8xlarge",
    "p3.16xlarge",
    "g4dn.12xlarge",
    "g5.xlarge",
    "g5.12xlarge",
    "p4d.24xlarge",
]
MODELS = ["resnet50", "vgg11", "bert-base", "alexnet"]
BASE: dict[str, Any] = {
    "kind": "ddl",
    "jobs": [{"name": "r", "model": "resnet50", "epochs": 1, "batch_per_gpu": 64, "deadline_h": 5}],
}


def random_document(seed: int) -> dict[str, Any]:
    rng = random.Random(seed)
    objective = rng.choice(["min_cost", "min_time"])
    jobs = []
    for j in range(rng.randint(1, 3)):
        job: dict[str, Any] = {
            "name": f"job{j}",
            "model": rng.choice(MODELS),
            "epochs": rng.randint(1, 5),
            "batch_per_gpu": rng.choice([16, 32, 64]),
            "precision": rng.choice(["fp32", "tf32", "fp16"]),
        }
        if objective == "min_cost" or rng.random() < 0.3:
            job["deadline_h"] = round(rng.uniform(0.05, 3.0), 3)
        jobs.append(job)
    doc: dict[str, Any] = {
        "kind": "ddl",
        "objective": objective,
        "jobs": jobs,
        "instance_types": rng.sample(TYPES, 3),
        "max_nodes": rng.randint(1, 3),
        "markets": rng.choice([["on_demand"], ["spot"], ["on_demand", "spot"]]),
    }
    if objective == "min_time":
        doc["budget_usd"] = round(rng.uniform(1.0, 80.0), 2)
    if rng.random() < 0.6:
        doc["quotas"] = [
            {"group": g, "market": m, "vcpus": rng.choice([32, 64, 96, 192])}
            for g in ("P", "G")
            for m in ("on_demand", "spot")
            if rng.random() < 0.5
        ]
    return doc


def brute_force(inputs: DdlInputs) -> float | None:
    """Enumerate every assignment of a configuration to each job; best verified objective."""
    view = FORMULATION.prepare(inputs)
    options = [
        [
            (spec.name, t, n, m)
            for t in inputs.instance_types
            for n in range(1, inputs.max_nodes + 1)
            for m in inputs.markets
        ]
        for spec in inputs.jobs
    ]
    best = None
    for combo in itertools.product(*options):
        deployment = DdlDeployment(
            assignments=[
                Assignment(job=j, instance_type=t, nodes=n, market=m) for j, t, n, m in combo
            ]
        )
        check = FORMULATION.verify(view, deployment)
        if check.ok and (best is None or check.objective_value < best):
            best = check.objective_value
    return best
