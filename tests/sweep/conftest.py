"""Toy-sized sweeps: a ddl scenario with three instance types and at most two nodes."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import write_scenario

TOY_DDL: dict[str, Any] = {
    "kind": "ddl",
    "name": "toy resnet50",
    "objective": "min_cost",
    "instance_types": ["g4dn.xlarge", "g5.xlarge", "g5.12xlarge"],
    "max_nodes": 2,
    "jobs": [
        {
            "name": "resnet50",
            "model": "resnet50",
            "epochs": 10,
            "batch_per_gpu": 64,
            "precision": "tf32",
            "deadline_h": 24.0,
        }
    ],
}


def write_sweep(folder: Path, body: str, scenario: dict[str, Any] | None = None) -> Path:
    """A scenario file and a sweep file over it in ``folder``."""
    write_scenario(folder / "toy.toml", TOY_DDL if scenario is None else scenario)
    path = folder / "sweep.toml"
    path.write_text('scenario = "toy.toml"\n' + body)
    return path


@pytest.fixture(scope="package")
def client() -> Iterator[Any]:
    """One LocalCluster (two single-threaded worker processes) for the package's tests."""
    from planner.sweeps import dask_client

    with dask_client(None, 2) as active:
        yield active
