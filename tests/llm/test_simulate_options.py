"""planner simulate's --rate-scale, --duration-s and --trace on the LLM replay (continuous
batching on the replay core)."""

from __future__ import annotations

from pathlib import Path

from formulations.llm.simulate import PLAN, WARMUP_SHARE
from formulations.types import SimulateOptions
from tests.llm.helpers import scenario, small_model
from tests.replay.helpers import check_options, class_rows, engine_simulate


def test_llm_honours_rate_scale_duration_and_trace(tmp_path: Path) -> None:
    simulate = engine_simulate(scenario(small_model()), tmp_path)
    # 12 requests/s: 40 s hold ~430 requests after the warm-up
    check_options(
        simulate, PLAN, tmp_path, duration_s=40.0, trace_span_s=50.0, warmup_share=WARMUP_SHARE
    )


def test_llm_replay_reports_the_common_schema_and_ttft_tpot(tmp_path: Path) -> None:
    simulate = engine_simulate(scenario(small_model()), tmp_path)
    tables = simulate(SimulateOptions(1, 0))
    assert [t.title.split(" (")[0] for t in tables] == [
        "Replay per class",
        "Replay per device or pool",
        "Replay of continuous batching",
    ]
    total = next(r for r in class_rows(tables) if r["class"] == "all")
    assert total["served"] == total["requests"] > 0 and total["dropped"] == 0
    token = tables[2]
    for row in token.rows:
        record = dict(zip(token.columns, row, strict=True))
        if record["ttft_attainment_pct"] is not None:
            # the plan meets both SLOs on average at its planned rates
            assert record["ttft_attainment_pct"] > 90 and record["tpot_attainment_pct"] > 90
