"""``planner check`` for llm (issue 18): the committed replicas per pool kept, the changed
traffic's slices re-assigned over them, short buckets named; tampered plans refused.

Shipped scenarios: chat and long-document (the Melange example reads a fixed reference
file and has no demand key to scale; the contract suite checks its own plan).
"""

from __future__ import annotations

import copy
import tomllib
from functools import cache
from pathlib import Path
from typing import Any

import pytest

import planner
from cost_models.llm.catalog import GPUS
from formulations.llm.deployment import LlmDeployment
from formulations.types import ExitCode
from tests.llm.helpers import CHAT, LONG, small_model
from tests.tampering import outcomes, unexplained_passes

SHIPPED = {"chat": CHAT, "long": LONG}


def shipped(name: str) -> dict[str, Any]:
    return tomllib.loads(SHIPPED[name].read_text())


@cache
def plan_of(name: str) -> planner.Plan:
    return planner.solve(planner.scenario_from_dict(shipped(name)), baselines=False)


def check(name: str, document: dict[str, Any], folder: Path) -> planner.CheckReport:
    plan = folder / "plan.json"
    plan.write_text(plan_of(name).to_json())
    return planner.check(plan, planner.scenario_from_dict(document, file="changed.toml"))


def demand_times(name: str, factor: float) -> dict[str, Any]:
    document = shipped(name)
    document["workload"]["total_rate_qps"] *= factor
    return document


def gpus_used(name: str) -> dict[str, int]:
    used: dict[str, int] = {}
    deployment = plan_of(name).deployment
    assert isinstance(deployment, LlmDeployment)
    for pool in deployment.pools:
        gpu, tp, _ = pool.pool.split("/")
        used[gpu] = used.get(gpu, 0) + pool.replicas * int(tp.removeprefix("tp"))
    return used


def assert_passes(report: planner.CheckReport) -> None:
    assert report.shortfalls == [] and report.violations == [], report.to_dict()
    assert report.exit_code in (ExitCode.OK, ExitCode.SUBOPTIMAL)
    assert (report.exit_code is ExitCode.SUBOPTIMAL) == (report.gap > report.max_gap)


@pytest.mark.parametrize("name", sorted(SHIPPED))
def test_demand_down_is_covered(name: str, tmp_path: Path) -> None:
    assert_passes(check(name, demand_times(name, 0.8), tmp_path))


@pytest.mark.parametrize("name", sorted(SHIPPED))
def test_demand_up_names_the_short_buckets(name: str, tmp_path: Path) -> None:
    report = check(name, demand_times(name, 1.3), tmp_path)
    assert report.exit_code is ExitCode.INFEASIBLE
    assert report.shortfalls
    for s in report.shortfalls:
        assert s.what.startswith("bucket ") and s.unit == "requests/s"
        assert 0 <= s.available < s.required


def test_one_more_gpu_and_a_price_change_are_covered(tmp_path: Path) -> None:
    name = "chat"
    used = gpus_used(name)
    more = shipped(name)
    for gpu in more["gpus"]:  # every type capped at what the plan uses, one more of the first
        gpu["max_count"] = used.get(gpu["name"], 0)
    first = next(g for g in more["gpus"] if g["name"] in used)
    first["max_count"] += 1
    assert_passes(check(name, more, tmp_path))
    price = shipped(name)
    for gpu in price["gpus"]:
        gpu["price_usd_per_h"] = 1.2 * GPUS[gpu["name"]].price_usd_per_h
    assert_passes(check(name, price, tmp_path))


def test_no_tampered_plan_passes(tmp_path: Path) -> None:
    scenario = planner.scenario_from_dict(copy.deepcopy(small_model()), file="small.toml")
    found = outcomes(planner.solve(scenario, baselines=False), scenario, tmp_path, "llm")
    assert unexplained_passes(found, {}) == []
    codes = {o.exit_code for o in found.values()}
    assert codes <= {ExitCode.OK, ExitCode.INVALID_INPUT, ExitCode.INFEASIBLE}, found
    assert {ExitCode.INVALID_INPUT, ExitCode.INFEASIBLE} <= codes
    assert len(found) >= 40
