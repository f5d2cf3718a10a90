"""planner simulate's --rate-scale, --duration-s and --trace on the cellular replay."""

from __future__ import annotations

from pathlib import Path

from formulations.cellular.simulate import WARMUP_SHARE
from tests.cellular.helpers import tiny, write
from tests.replay.helpers import check_options, engine_simulate


def test_cellular_honours_rate_scale_duration_and_trace(tmp_path: Path) -> None:
    simulate = engine_simulate(write(tmp_path, tiny()), tmp_path)
    # 400 requests/s in all: 1.5 s hold ~540 requests after the warm-up
    check_options(
        simulate, "cellular", tmp_path, duration_s=1.5, trace_span_s=2.0, warmup_share=WARMUP_SHARE
    )
