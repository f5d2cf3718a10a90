"""``planner check`` for BATCH (issue 18): the committed per-hour (memory, batch size,
timeout) kept and re-scored under a changed scenario, and tampered plans refused.

What "covers the scenario" means here: every hour's percentile latency within ``slo_ms``
and its mean concurrency within ``max_concurrency``. The batching buffer makes demand act
backwards on the SLO: more requests fill a batch sooner (shorter waits), fewer leave each
batch waiting for its timeout, so a demand *decrease* is what can break the latency SLO,
and a demand increase breaks only the concurrency quota. The tests assert exactly that.
"""

from __future__ import annotations

import copy
import json
import tomllib
from functools import cache
from pathlib import Path
from typing import Any

import pytest

import planner
from formulations.batch.deployment import BatchDeployment
from formulations.batch.verify import hour_figures
from formulations.types import ExitCode
from planner.engine import prepared_view
from tests.batch.helpers import tiny_batch, tiny_hybrid
from tests.conftest import ROOT, run_cli, to_toml
from tests.tampering import outcomes, unexplained_passes

SCENARIOS = ROOT / "scenarios" / "batch"


def shipped(name: str) -> dict[str, Any]:
    document = tomllib.loads((SCENARIOS / f"{name}.toml").read_text())
    document.pop("description", None)  # multi-line: the test TOML writer keeps one line
    arrivals = document["arrivals"]
    if "inter_arrivals" in arrivals:
        arrivals["inter_arrivals"] = str(SCENARIOS / arrivals["inter_arrivals"])
    return document


def scaled(document: dict[str, Any], factor: float, folder: Path) -> dict[str, Any]:
    """``document`` with every hour's arrival rate times ``factor`` (a trace's gaps divided)."""
    out = copy.deepcopy(document)
    arrivals = out["arrivals"]
    if "rate_qps" in arrivals:
        arrivals["rate_qps"] = [rate * factor for rate in arrivals["rate_qps"]]
    else:
        lines = Path(arrivals["inter_arrivals"]).read_text().splitlines()
        rows = [line.split(",") for line in lines[1:]]
        path = folder / f"inter_arrivals_x{factor}.csv"
        path.write_text(
            "\n".join([lines[0], *(f"{h},{float(gap) / factor!r}" for h, gap in rows)]) + "\n"
        )
        arrivals["inter_arrivals"] = str(path)
    return out


@cache
def plan_of(name: str) -> planner.Plan:
    return planner.solve(planner.scenario_from_dict(shipped(name), file=f"{name}.toml"))


def deployment_of(plan: planner.Plan) -> BatchDeployment:
    assert isinstance(plan.deployment, BatchDeployment)
    return plan.deployment


def check(name: str, document: dict[str, Any], folder: Path) -> planner.CheckReport:
    plan = folder / "plan.json"
    plan.write_text(plan_of(name).to_json())
    return planner.check(plan, planner.scenario_from_dict(document, file="changed.toml"))


def assert_passes(report: planner.CheckReport) -> None:
    """Covered, and within 1% of a fresh optimum (every covering case below: the committed
    per-hour configurations stay within 0.5% of a fresh choice)."""
    assert report.shortfalls == [] and report.violations == [], report.to_dict()
    assert report.exit_code is ExitCode.OK, report.to_dict()


def test_poisson_hour_demand_down_breaks_the_slo_in_hour_0(tmp_path: Path) -> None:
    # 16 requests/s leave the committed batches waiting longer for their timeout.
    report = check("poisson_hour", scaled(shipped("poisson_hour"), 0.8, tmp_path), tmp_path)
    assert report.exit_code is ExitCode.INFEASIBLE
    (short,) = report.shortfalls
    assert (short.what, short.required, short.unit) == ("hour 0 p95 latency", 5000.0, "ms")
    assert short.available > 5000.0


def test_fitted_trace_demand_down_still_covers(tmp_path: Path) -> None:
    assert_passes(check("fitted_trace", scaled(shipped("fitted_trace"), 0.8, tmp_path), tmp_path))


@pytest.mark.parametrize("name", ["poisson_hour", "fitted_trace"])
def test_demand_up_is_covered_within_the_quota(name: str, tmp_path: Path) -> None:
    assert_passes(check(name, scaled(shipped(name), 1.3, tmp_path), tmp_path))


def test_demand_up_beyond_the_concurrency_quota_names_every_hour(tmp_path: Path) -> None:
    # The quota set to the committed plan's peak concurrency: 30% more requests exceed it
    # in every hour (concurrency is rate x service / batch, and the batches cannot grow
    # past their size).
    name = "fitted_trace"
    view = prepared_view(planner.scenario_from_dict(shipped(name)))
    hours = deployment_of(plan_of(name)).hours
    peak = max(hour_figures(view, h, c).concurrency for h, c in zip(view.hours, hours, strict=True))
    document = scaled(shipped(name), 1.3, tmp_path)
    document["max_concurrency"] = peak
    plan = tmp_path / "plan.json"
    plan.write_text(plan_of(name).to_json())
    changed = tmp_path / "changed.toml"
    changed.write_text(to_toml(document))
    run = run_cli("check", str(plan), "--scenario", str(changed), "--format", "json")
    assert run.exit_code == ExitCode.INFEASIBLE, run.stdout + run.stderr
    shortfalls = json.loads(run.stdout)["shortfalls"]
    assert [s["what"] for s in shortfalls] == [f"hour {h} concurrency" for h in range(len(hours))]
    for s in shortfalls:
        assert s["required"] == pytest.approx(peak) and s["available"] > peak
        assert s["unit"] == "concurrent executions"


@pytest.mark.parametrize("name", ["poisson_hour", "fitted_trace"])
def test_a_larger_quota_and_a_price_change_are_covered(name: str, tmp_path: Path) -> None:
    quota = shipped(name)
    quota["max_concurrency"] = 2 * quota.get("max_concurrency", 1000.0)
    assert_passes(check(name, quota, tmp_path))
    price = shipped(name)
    price["architecture"] = "x86" if price.get("architecture") == "arm" else "arm"
    assert_passes(check(name, price, tmp_path))


def test_no_tampered_plan_passes(tmp_path: Path) -> None:
    scenario = planner.scenario_from_dict(tiny_batch(max_config_changes=1), file="tiny.toml")
    plan = planner.solve(scenario, baselines=False)
    found = outcomes(plan, scenario, tmp_path, "batch")
    # Harmless: another timeout for an hour whose batch size is 1 (its buffer releases
    # each request on arrival, so the timeout never fires: same latency, same cost).
    harmless = {
        how: "batch size 1: the timeout never fires"
        for how in found
        if how.startswith("hours.")
        and ".timeout_s " in how
        and deployment_of(plan).hours[int(how.split(".")[1])].batch_size == 1
    }
    assert unexplained_passes(found, harmless) == []
    codes = {o.exit_code for o in found.values()}
    assert codes <= {ExitCode.OK, ExitCode.INVALID_INPUT, ExitCode.INFEASIBLE}, found
    assert {ExitCode.INVALID_INPUT, ExitCode.INFEASIBLE} <= codes
    assert len(found) >= 40


# ------------------------------------------------------------------ hybrid plans
def test_hybrid_plan_refit_keeps_shares_and_vms(tmp_path: Path) -> None:
    scenario = planner.scenario_from_dict(tiny_hybrid(), file="hybrid.toml")
    plan = planner.solve(scenario, baselines=False)
    saved = tmp_path / "plan.json"
    saved.write_text(plan.to_json())
    assert_passes(planner.check(saved, scenario))
    # 30% more requests: an hour whose VMs then carry less than what Lambda leaves them
    # is a VM capacity shortfall (required: the new VM load; available: the fleet's).
    document = tiny_hybrid()
    document["arrivals"]["rate_qps"] = [1.3 * r for r in document["arrivals"]["rate_qps"]]
    changed = planner.scenario_from_dict(document, file="changed.toml")
    report = planner.check(saved, changed)
    view = prepared_view(changed)
    expected = {}
    for h, (hour, config) in enumerate(zip(view.hours, deployment_of(plan).hours, strict=True)):
        figures = hour_figures(view, hour, config)
        if figures.vm_load_qps > figures.vm_capacity_qps:
            expected[f"hour {h} VM capacity"] = (figures.vm_load_qps, figures.vm_capacity_qps)
    assert expected, "the test needs an hour whose VMs are short"
    found = {s.what: (s.required, s.available) for s in report.shortfalls if "VM" in s.what}
    assert found.keys() == expected.keys()
    for what, (required, available) in expected.items():
        assert found[what] == pytest.approx((required, available))
    assert report.exit_code is ExitCode.INFEASIBLE
