"""planner simulate for BATCH: the buffer on the replay core, its options and its tables."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from formulations.batch.deployment import BatchDeployment, HourConfig
from formulations.batch.simulate import PLAN, REQUESTS_PER_INTERVAL, simulate_tables
from formulations.batch.view import BatchView
from formulations.types import SimulateOptions, Table
from tests.batch.helpers import OFFERS, tiny_batch, tiny_hybrid, view_of, write
from tests.conftest import run_cli
from tests.replay.helpers import check_options, class_rows, engine_simulate, write_trace


def test_batch_honours_rate_scale_duration_and_trace(tmp_path: Path) -> None:
    simulate = engine_simulate(write(tmp_path, tiny_batch()), tmp_path)
    # hour 0 is 5 requests/s: 120 s hold ~600; the buffer needs no warm-up
    check_options(
        simulate,
        PLAN,
        tmp_path,
        duration_s=120.0,
        trace_span_s=100.0,
        warmup_share=0.0,
        trace_classes=False,
        rate_rtol=0.2,
    )


def test_batch_replay_matches_the_analytic_percentile_per_hour(tmp_path: Path) -> None:
    simulate = engine_simulate(write(tmp_path, tiny_batch()), tmp_path)
    tables = simulate(SimulateOptions(4, 0))
    rows = class_rows(tables)
    plans = {r["plan"] for r in rows}
    assert PLAN in plans and "lambda_no_batching" in plans
    mine = [r for r in rows if r["plan"] == PLAN and r["class"] != "all"]
    assert [r["requests"] for r in mine] == [4 * REQUESTS_PER_INTERVAL] * 3
    per_hour = tables[-1]
    for row in per_hour.rows:
        record = dict(zip(per_hour.columns, row, strict=True))
        # the analytic model is exact up to half a time step; the replay's sketch is
        # within 0.6%, and 8,000 requests put the p95 within a few %
        assert record["analytic_latency_ms"] == pytest.approx(
            record["replayed_latency_ms"], rel=0.05
        )
        assert record["analytic_concurrency"] == pytest.approx(
            record["replayed_concurrency"], rel=0.1
        )
    # a plan meeting p95 within the SLO has >= 95% attainment in each hour (within noise)
    assert all(r["slo_attainment_pct"] >= 93.0 for r in mine)


def test_batch_trace_with_a_class_column_exits_2(tmp_path: Path) -> None:
    scenario = write(tmp_path, tiny_batch())
    trace = write_trace(tmp_path / "t.csv", [0.5, 1.0], ["hour 0"])
    result = run_cli("simulate", scenario, "--runs", "1", "--trace", trace)
    assert result.exit_code == 2
    assert "row 1 (header)" in result.stderr and "without a class column" in result.stderr


# ----------------------------------------------------------------- hybrid plans (VMs)
def _rows(table: Table) -> list[dict[str, Any]]:
    return [dict(zip(table.columns, row, strict=True)) for row in table.rows]


def test_a_hybrid_plan_and_the_vm_baselines_replay(tmp_path: Path) -> None:
    simulate = engine_simulate(write(tmp_path, tiny_hybrid()), tmp_path)
    tables = simulate(SimulateOptions(2, 0))
    plans = {r["plan"] for r in class_rows(tables)}
    assert {PLAN, "mark_like_greedy", "sagemaker_like_endpoint"} <= plans
    pools = {(r["plan"], r["pool"]): r for r in _rows(tables[1])}
    vm_pools = [r for (plan, pool), r in pools.items() if plan == PLAN and pool != "lambda"]
    assert vm_pools and all(0 < r["utilisation_pct"] <= 100 for r in vm_pools)
    for row in _rows(tables[-1]):
        assert row["lambda_requests"] + row["vm_requests"] == 2 * REQUESTS_PER_INTERVAL
        if row["plan"] == PLAN and row["vm_requests"]:
            # MArk's rule at the planned load (<= 80% of the VMs' peak): the VMs' p95 stays
            # within their bound 2 s_v(b), itself within the 4 s SLO
            assert row["vm_replayed_latency_ms"] <= row["vm_bound_ms"] <= 4000.0
    mine = [r for r in class_rows(tables) if r["plan"] == PLAN and r["class"] != "all"]
    assert all(r["slo_attainment_pct"] >= 95.0 for r in mine)


def _split_plan(view: BatchView, offer: str) -> BatchDeployment:
    """Lambda (2048 MB, B 2, T 0.1 s) on a share of each hour, one VM of ``offer`` on the
    rest (hours of 12, 20, 30 requests/s: 6, 5 and 7.5 requests/s on the VM)."""
    shares = (0.5, 0.75, 0.75)
    return BatchDeployment(
        hours=[
            HourConfig(memory_mb=2048, batch_size=2, timeout_s=0.1, lambda_share=s, vms={offer: 1})
            for s in shares
        ]
    )


def test_requests_split_by_lambda_share_within_noise(tmp_path: Path) -> None:
    view = view_of(write(tmp_path, tiny_hybrid()))
    plan = _split_plan(view, "c5.xlarge:on_demand")
    tables = simulate_tables(view, {"split": plan}, SimulateOptions(3, 1))
    for row, config in zip(_rows(tables[-1]), plan.hours, strict=True):
        n = row["lambda_requests"] + row["vm_requests"]
        share = config.lambda_share
        sigma = (n * share * (1 - share)) ** 0.5
        assert abs(row["lambda_requests"] - n * share) <= 4 * sigma
        # the VM's load is 6-7.5 of its ~14.4 requests/s: it keeps within MArk's bound
        assert row["vm_replayed_latency_ms"] <= row["vm_bound_ms"]
        # Lambda's share replays its thinned MAP's analytic percentile
        assert row["analytic_latency_ms"] == pytest.approx(row["replayed_latency_ms"], rel=0.1)
    counts = {r["class"]: r for r in class_rows(tables)}
    assert counts["all"]["requests"] == counts["all"]["served"]  # nothing dropped


def test_interrupted_spot_vms_leave_their_share_to_the_running_ones(tmp_path: Path) -> None:
    # spot VMs interrupted after about 3.6 s on average: the VM share then has no VM left
    # (dropped), and the spot pool runs for seconds only
    offers = [dict(OFFERS[1], interruption_rate_per_h=1000.0)]
    view = view_of(write(tmp_path, tiny_hybrid(hybrid={"lambda_share_step": 0.25, "vms": offers})))
    tables = simulate_tables(
        view, {"split": _split_plan(view, "c5.xlarge:spot")}, SimulateOptions(1, 0)
    )
    total = next(r for r in class_rows(tables) if r["class"] == "all")
    per_hour = _rows(tables[-1])
    vm_requests = sum(r["vm_requests"] for r in per_hour)
    assert 0 < total["dropped"] <= vm_requests
    assert total["requests"] == total["served"] + total["dropped"]
    (spot,) = [r for r in _rows(tables[1]) if r["pool"] == "c5.xlarge:spot"]
    assert spot["workers"] < 0.5  # time-averaged: interrupted within seconds of each hour
