"""planner simulate's --rate-scale, --duration-s and --trace on the PPipe replay (the common
report's replays; the goodput search keeps its Poisson streams)."""

from __future__ import annotations

from pathlib import Path

from formulations.ppipe.simulate import WARMUP_SHARE, goodput_table, simulate_plans
from formulations.types import SimulateOptions, Table
from tests.ppipe.helpers import deployment_of, solve_raw, tiny_instance, view_of
from tests.replay.helpers import check_options, total_row

REQUESTS = 800  # per replay of the goodput search


def test_ppipe_honours_rate_scale_duration_and_trace(tmp_path: Path) -> None:
    raw = tiny_instance(tmp_path, 3)
    for model in raw["models"]:  # half of each SLO for queueing, batch 1 (as test_simulate)
        model.update(
            est_throughput_qps=1.0, slo_us=2 * model["slo_us"], slo_reserve_us=model["slo_us"]
        )
    view = view_of(raw)
    plan = deployment_of(solve_raw(raw, tmp_path, backend="highs"))

    def simulate(options: SimulateOptions) -> list[Table]:
        report, summary = simulate_plans(
            view, {"ppipe": plan}, options.runs, options.seed, REQUESTS, options
        )
        return [*report.tables(), goodput_table(summary)]

    default = simulate(SimulateOptions(1, 3))
    goodput = default[-1].rows[0][2]  # rate_qps_at_99
    assert goodput is not None
    weights = sum(m["weight"] for m in raw["models"])
    duration_s = 800 / (goodput * weights)  # ~800 arrivals at the goodput rate
    check_options(
        simulate,
        "ppipe",
        tmp_path,
        duration_s=duration_s,
        trace_span_s=2.0,
        warmup_share=WARMUP_SHARE,
    )
    # the goodput search ignores the options: the same rate at x2
    doubled = simulate(SimulateOptions(1, 3, rate_scale=2.0))
    assert doubled[-1].rows == default[-1].rows
    assert total_row(doubled, "ppipe")["requests"] == total_row(default, "ppipe")["requests"]
