"""Validation at the boundary (issue 19): every number of a ddl scenario is finite and in its
documented range (docs/ddl.md, "Ranges"), and a scenario whose MILP would exceed the
documented size is refused naming the key that makes it large."""

from __future__ import annotations

import copy
import math
from pathlib import Path
from typing import Any

import pytest

import planner
from formulations.ddl.inputs import MAX_CONFIGURATIONS
from formulations.types import ExitCode, InputError
from tests.conftest import run_cli
from tests.ddl.helpers import BASE

JOB = BASE["jobs"][0]
MIN_TIME = {"objective": "min_time", "budget_usd": 10.0}

# (key path, where it goes in the document, a value just outside the range)
NUMBERS: list[tuple[str, dict[str, Any], float]] = [
    ("jobs[0].epochs", {"jobs": [{**JOB, "epochs": "X"}]}, 10_001),
    ("jobs[0].batch_per_gpu", {"jobs": [{**JOB, "batch_per_gpu": "X"}]}, 65_537),
    ("jobs[0].deadline_h", {"jobs": [{**JOB, "deadline_h": "X"}]}, 8_761.0),
    (
        "jobs[0].prep_samples_per_s_per_vcpu",
        {"jobs": [{**JOB, "prep_samples_per_s_per_vcpu": "X"}]},
        0.001,
    ),
    (
        "jobs[0].samples_per_s_per_gpu.V100",
        {"jobs": [{**JOB, "samples_per_s_per_gpu": {"V100": "X"}}]},
        2e6,
    ),
    ("budget_usd", {**MIN_TIME, "budget_usd": "X"}, 1e9),
    ("on_demand_usd_per_h.p3.2xlarge", {"on_demand_usd_per_h": {"p3.2xlarge": "X"}}, 1e4),
    ("spot_usd_per_h.p3.2xlarge", {"spot_usd_per_h": {"p3.2xlarge": "X"}}, 1e4),
    ("max_nodes", {"max_nodes": "X"}, 65),
    ("quotas[0].vcpus", {"quotas": [{"group": "P", "market": "spot", "vcpus": "X"}]}, 2e6),
    ("near_optimal_pct", {"near_optimal_pct": "X"}, 101.0),
    ("top_candidates", {"top_candidates": "X"}, 1001),
    ("assumptions.storage_mb_per_s", {"assumptions": {"storage_mb_per_s": "X"}}, 0.5),
    ("assumptions.page_cache_fraction", {"assumptions": {"page_cache_fraction": "X"}}, 1.5),
    ("assumptions.restart_s", {"assumptions": {"restart_s": "X"}}, 1e6),
    ("assumptions.checkpoint_interval_h", {"assumptions": {"checkpoint_interval_h": "X"}}, 1e-4),
    ("assumptions.bucket_mib", {"assumptions": {"bucket_mib": "X"}}, 1e-300),
    ("assumptions.network_alpha_s", {"assumptions": {"network_alpha_s": "X"}}, 2.0),
    ("assumptions.network_efficiency", {"assumptions": {"network_efficiency": "X"}}, 1e-300),
]


def placed(patch: Any, value: float) -> Any:
    """``patch`` with its placeholder "X" replaced by ``value``."""
    if patch == "X":
        return value
    if isinstance(patch, dict):
        return {k: placed(v, value) for k, v in patch.items()}
    if isinstance(patch, list):
        return [placed(v, value) for v in patch]
    return patch


@pytest.mark.parametrize(("key", "patch", "outside"), NUMBERS, ids=[n[0] for n in NUMBERS])
@pytest.mark.parametrize("how", ["nan", "inf", "-inf", "huge", "outside"])
def test_every_number_is_finite_and_in_range(
    key: str, patch: dict[str, Any], outside: float, how: str
) -> None:
    value = {"nan": math.nan, "inf": math.inf, "-inf": -math.inf, "huge": 1e30}.get(how, outside)
    document = {**copy.deepcopy(BASE), **placed(patch, value)}
    with pytest.raises(InputError) as info:
        planner.scenario_from_dict(document, file="s.toml")
    assert info.value.key == key
    assert info.value.exit_code is ExitCode.INVALID_INPUT


def test_the_largest_model_is_refused_naming_jobs() -> None:
    # 10 jobs x 16 instance types x 64 nodes x 2 markets = 20,480 configurations.
    jobs = [{**JOB, "name": f"j{i}"} for i in range(10)]
    with pytest.raises(InputError) as info:
        planner.scenario_from_dict({**BASE, "jobs": jobs, "max_nodes": 64}, file="s.toml")
    assert info.value.key == "jobs"
    assert f"at most {MAX_CONFIGURATIONS:,} configurations" in str(info.value)
    assert "20,480" in str(info.value)
    # one job fewer fits (9 x 2,048 = 18,432)
    planner.scenario_from_dict({**BASE, "jobs": jobs[:9], "max_nodes": 64})


def test_a_long_job_name_is_refused() -> None:
    with pytest.raises(InputError) as info:
        planner.scenario_from_dict({**BASE, "jobs": [{**JOB, "name": "x" * 10_000}]})
    assert info.value.key == "jobs[0].name"


def test_cli_refuses_an_infinite_deadline(tmp_path: Path) -> None:
    path = tmp_path / "inf.toml"
    path.write_text(
        'kind = "ddl"\n[[jobs]]\nname = "r"\nmodel = "resnet50"\nepochs = 1\n'
        "batch_per_gpu = 64\ndeadline_h = inf\n"
    )
    run = run_cli("solve", str(path))
    assert run.exit_code == ExitCode.INVALID_INPUT
    assert "jobs[0].deadline_h" in run.stderr and str(path) in run.stderr
