"""``planner check`` for cellular (issue 18): the committed pools (GPU type, maximum batches
per cell type) kept, at most their committed GPUs each, the changed traffic re-evaluated
(``formulations/cellular/refit.py``); tampered plans refused.

On the tiny two-GPU-type scenario of ``helpers.py`` with a 2 x 1024 LSTM, whose plan for
21,500 requests/s takes two T4s and one V100 (the shipped scenarios are in the contract
matrix, ``tests/contract/test_check_matrix.py``). At the 70/30 length mix and maximum batch
32 a T4 serves 5,042.6 requests/s (0.526 USD/h) and a V100 12,760.3 (3.06 USD/h): the four
T4s the scenario offers serve 20,170, too few, and two T4s and a V100 serve 22,845.
"""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from typing import Any

import pytest

import planner
from cost_models.devices import device
from formulations.cellular.deployment import CellularDeployment
from formulations.types import ExitCode
from planner.engine import prepared_view
from tests.cellular.helpers import tiny
from tests.tampering import outcomes, unexplained_passes

LSTM = {"structure": "lstm", "input_dim": 512, "hidden": 1024, "layers": 2}
COMMITTED_QPS = 21500.0  # between four T4s (20,170) and two T4s + a V100 (22,845)
LOW_QPS = 8000.0  # two of the committed T4s serve it (10,085), one T4 does not (5,043)


def scenario(rate_qps: float = COMMITTED_QPS) -> dict[str, Any]:
    return tiny(rate_qps, model=LSTM)


@cache
def plan_of(rate_qps: float = COMMITTED_QPS) -> planner.Plan:
    return planner.solve(planner.scenario_from_dict(scenario(rate_qps)), baselines=False)


def pools(plan: planner.Plan) -> CellularDeployment:
    assert isinstance(plan.deployment, CellularDeployment)
    return plan.deployment


def check(document: dict[str, Any], folder: Path) -> planner.CheckReport:
    path = folder / "plan.json"
    path.write_text(plan_of().to_json())
    return planner.check(path, planner.scenario_from_dict(document, file="changed.toml"))


def capacity_qps(document: dict[str, Any], plan: planner.Plan) -> float:
    """Requests/s the plan's GPUs serve within the SLO at the document's length mix."""
    view = prepared_view(planner.scenario_from_dict(document))
    return sum(
        p.count * view.capacity(p.gpu, "cellular", [p.max_batch[c] for c in view.cell_names])
        for p in pools(plan).pools
    )


def committed_count(gpu: str) -> int:
    return next(p.count for p in pools(plan_of()).pools if p.gpu == gpu)


def test_the_committed_plan_uses_both_gpu_types() -> None:
    assert [(p.gpu, p.count) for p in pools(plan_of()).pools] == [("T4", 2), ("V100", 1)]


def test_less_traffic_releases_the_gpus_it_does_not_need(tmp_path: Path) -> None:
    """Checked at 8,000 requests/s: the refit keeps the cheapest of the committed GPUs that
    serve them (the two T4s, the fresh optimum), so the check passes with gap 0."""
    report = check(scenario(LOW_QPS), tmp_path)
    assert (report.exit_code, report.shortfalls, report.violations) == (ExitCode.OK, [], [])
    assert report.fresh is not None
    assert report.committed.value == pytest.approx(report.fresh.value)
    assert report.committed.value < plan_of().objective.value
    assert report.gap == 0.0


def test_more_traffic_names_every_bucket_with_its_share_of_the_capacity(tmp_path: Path) -> None:
    capacity = capacity_qps(scenario(), plan_of())
    total = 1.05 * capacity  # just past what the committed GPUs serve
    report = check(scenario(total), tmp_path)
    assert report.exit_code is ExitCode.INFEASIBLE
    assert [(s.what, s.unit) for s in report.shortfalls] == [
        ("length bucket 1-10 tokens", "requests/s"),
        ("length bucket 11-30 tokens", "requests/s"),
    ]
    for s, share in zip(report.shortfalls, (0.7, 0.3), strict=True):
        assert s.required == pytest.approx(share * total)
        assert s.available == pytest.approx(share * capacity)


def test_one_gpu_fewer_than_committed_names_the_gpu_type(tmp_path: Path) -> None:
    document = scenario()
    document["gpus"][0]["max_count"] = committed_count("T4") - 1
    report = check(document, tmp_path)
    assert report.exit_code is ExitCode.INFEASIBLE
    assert ("GPU type T4", 2.0, 1.0, "GPUs") in [
        (s.what, s.required, s.available, s.unit) for s in report.shortfalls
    ]


def test_one_gpu_fewer_with_headroom_passes_on_the_remaining_gpus(tmp_path: Path) -> None:
    """At 8,000 requests/s with one T4 fewer than committed the committed V100 alone
    serves the traffic: no shortfall, and that is also the fresh optimum."""
    document = scenario(LOW_QPS)
    document["gpus"][0]["max_count"] = committed_count("T4") - 1
    report = check(document, tmp_path)
    assert (report.exit_code, report.shortfalls, report.violations) == (ExitCode.OK, [], [])
    assert report.committed.value == pytest.approx(device("V100").price_usd_per_h)


def test_a_gpu_type_no_longer_offered_is_short(tmp_path: Path) -> None:
    document = scenario(LOW_QPS)  # the T4s alone would serve it: still short, by name
    document["gpus"] = [g for g in document["gpus"] if g["name"] != "V100"]
    report = check(document, tmp_path)
    assert report.exit_code is ExitCode.INFEASIBLE
    assert ("GPU type V100", 1.0, 0.0) in [
        (s.what, s.required, s.available) for s in report.shortfalls
    ]


def test_one_more_gpu_is_a_better_fresh_plan_and_a_price_change_passes(tmp_path: Path) -> None:
    """A fifth T4 makes five T4s the fresh optimum (2.63 USD/h): the committed two T4s and
    a V100 (4.112) still cover the traffic, worse by 56%. The refit caps the fresh plan at
    the committed scenario's four T4s, which then fall short of its traffic, so the fresh
    plan does not count as covering it: exit 0 with the saving reported."""
    more = scenario()
    more["gpus"][0]["max_count"] += 1
    report = check(more, tmp_path)
    assert (report.exit_code, report.shortfalls, report.violations) == (ExitCode.OK, [], [])
    assert report.fresh_covers_committed is False
    t4, v100 = device("T4").price_usd_per_h, device("V100").price_usd_per_h
    assert report.gap == pytest.approx((2 * t4 + v100 - 5 * t4) / (5 * t4))
    dearer = scenario()
    dearer["gpus"][1]["price_usd_per_h"] = 1.5 * v100
    report = check(dearer, tmp_path)
    assert (report.exit_code, report.shortfalls, report.violations) == (ExitCode.OK, [], [])
    # priced at the new price; the same GPUs are still the cheapest (4 T4 serve 20,170)
    expected = 2 * t4 + 1.5 * v100
    assert report.committed.value == pytest.approx(expected)
    assert report.fresh is not None and report.fresh.value == pytest.approx(expected)


def test_no_tampered_plan_passes(tmp_path: Path) -> None:
    document = scenario()
    found = outcomes(plan_of(), planner.scenario_from_dict(document), tmp_path, "cellular")
    assert unexplained_passes(found, {}) == []
    codes = {o.exit_code for o in found.values()}
    assert codes <= {ExitCode.OK, ExitCode.INVALID_INPUT, ExitCode.INFEASIBLE}, found
    assert {ExitCode.INVALID_INPUT, ExitCode.INFEASIBLE} <= codes
    assert len(found) >= 40


def test_a_max_batch_off_the_candidates_is_refused(tmp_path: Path) -> None:
    """The scenario allows maximum batches of 8 or 32 only; a plan file saying 16 (which
    the latency model would accept) is not a plan of this scenario."""
    path = tmp_path / "plan.json"
    document = plan_of().to_dict()
    document["deployment"]["pools"][0]["max_batch"]["lstm"] = 16
    path.write_text(json.dumps(document))
    report = planner.check(path, planner.scenario_from_dict(scenario()))
    assert report.exit_code is ExitCode.INFEASIBLE
    assert any("max_batch lstm = 16 is not one of" in v for v in report.violations)
