"""``planner check`` for llm (issue 18): the committed pools kept with at most their
replicas (those the changed traffic does not need released), its slices re-assigned over
them, short buckets and GPU types named; tampered plans refused.

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
from formulations.llm.refit import refit
from formulations.types import ExitCode
from planner.backends import make_solver
from planner.engine import TimedSolver, prepared_view
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


def assert_covers(report: planner.CheckReport, code: ExitCode) -> None:
    assert report.shortfalls == [] and report.violations == [], report.to_dict()
    assert report.exit_code is code, report.to_dict()


# Demand down: the committed pools released down to what the traffic needs (USD/h) against
# a fresh mix of other pools; a real saving (the refit adds no pool), but the fresh pools
# would not serve the committed demand, so exit 0 with the saving reported. Chat is checked
# at x0.75: at x0.8 (32 requests/s) eight A10G/tp2 replicas are also the fresh optimum, so
# there is no saving to report; at 30 requests/s seven of them fall short and the fresh plan
# adds an A10G/tp1 replica (1.006 USD/h a GPU: 16 vs 15 GPUs, a gap of 1/15).
DOWN = {
    "chat": (0.75, 16.096, 15.09),  # 8 x A10G/tp2 vs 7 x A10G/tp2 + 1 x A10G/tp1
    "long": (0.8, 12.072, 10.06),  # 3 x A10G/tp4 vs disaggregated A10G/tp2 prefill + decode
}


@pytest.mark.parametrize("name", sorted(SHIPPED))
def test_demand_down_is_covered_by_fewer_replicas(name: str, tmp_path: Path) -> None:
    factor, committed, fresh = DOWN[name]
    report = check(name, demand_times(name, factor), tmp_path)
    assert_covers(report, ExitCode.OK)
    assert report.fresh_covers_committed is False
    assert report.committed.value == pytest.approx(committed, rel=1e-4)
    assert report.fresh is not None
    assert report.fresh.value == pytest.approx(fresh, rel=1e-4)
    assert report.committed.value <= plan_of(name).objective.value
    assert report.gap == pytest.approx(committed / fresh - 1, rel=1e-3)


def test_the_refit_releases_only_committed_replicas() -> None:
    """Half the traffic: at most the committed replicas of each committed pool, no other
    pool, and every bucket still served."""
    scenario = planner.scenario_from_dict(demand_times("chat", 0.5))
    stored = plan_of("chat").deployment
    assert isinstance(stored, LlmDeployment)
    fitted = refit(prepared_view(scenario), stored, TimedSolver(make_solver(scenario.solver)))
    assert fitted.shortfalls == []
    committed = {p.pool: p.replicas for p in stored.pools}
    kept = {p.pool: p.replicas for p in fitted.deployment.pools}
    assert kept and all(0 < n <= committed[pool] for pool, n in kept.items())
    assert sum(kept.values()) < sum(committed.values())
    assert scenario.formulation.verify(prepared_view(scenario), fitted.deployment).ok


@pytest.mark.parametrize("name", sorted(SHIPPED))
def test_demand_up_names_the_short_buckets(name: str, tmp_path: Path) -> None:
    report = check(name, demand_times(name, 1.3), tmp_path)
    assert report.exit_code is ExitCode.INFEASIBLE
    assert report.shortfalls
    for s in report.shortfalls:
        assert s.what.startswith("bucket ") and s.unit == "requests/s"
        assert 0 <= s.available < s.required


def capped(name: str, step: int) -> dict[str, Any]:
    """Every GPU type capped at what the plan uses, then ``step`` more of its first."""
    used = gpus_used(name)
    document = shipped(name)
    for gpu in document["gpus"]:
        gpu["max_count"] = used.get(gpu["name"], 0)
    first = next(g for g in document["gpus"] if g["name"] in used)
    first["max_count"] += step
    return document


def test_one_more_gpu_and_a_price_change_are_covered(tmp_path: Path) -> None:
    name = "chat"
    assert_covers(check(name, capped(name, 1), tmp_path), ExitCode.OK)
    price = shipped(name)
    for gpu in price["gpus"]:
        gpu["price_usd_per_h"] = 1.2 * GPUS[gpu["name"]].price_usd_per_h
    report = check(name, price, tmp_path)
    assert_covers(report, ExitCode.OK)
    assert report.committed.value == pytest.approx(1.2 * plan_of(name).objective.value)


def test_one_gpu_fewer_names_the_gpu_type(tmp_path: Path) -> None:
    name = "chat"
    report = check(name, capped(name, -1), tmp_path)
    assert report.exit_code is ExitCode.INFEASIBLE
    used = gpus_used(name)["A10G"]
    assert ("GPU type A10G", float(used), float(used - 1), "GPUs") in [
        (s.what, s.required, s.available, s.unit) for s in report.shortfalls
    ]
    assert any(s.what.startswith("bucket ") for s in report.shortfalls)


def test_no_tampered_plan_passes(tmp_path: Path) -> None:
    scenario = planner.scenario_from_dict(copy.deepcopy(small_model()), file="small.toml")
    found = outcomes(planner.solve(scenario, baselines=False), scenario, tmp_path, "llm")
    assert unexplained_passes(found, {}) == []
    codes = {o.exit_code for o in found.values()}
    assert codes <= {ExitCode.OK, ExitCode.INVALID_INPUT, ExitCode.INFEASIBLE}, found
    assert {ExitCode.INVALID_INPUT, ExitCode.INFEASIBLE} <= codes
    assert len(found) >= 40
