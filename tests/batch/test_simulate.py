"""planner simulate for BATCH: the buffer on the replay core, its options and its tables."""

from __future__ import annotations

from pathlib import Path

import pytest

from formulations.batch.simulate import PLAN, REQUESTS_PER_INTERVAL
from formulations.types import SimulateOptions
from tests.batch.helpers import tiny_batch, write
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
