"""planner simulate's --rate-scale, --duration-s and --trace on the Proteus replay."""

from __future__ import annotations

from pathlib import Path

from formulations.proteus.simulate import PLAN, simulate_tables
from formulations.types import SimulateOptions, Table
from planner import scenario_from_dict, solve
from tests.proteus.helpers import deployment, tiny_proteus, view_from
from tests.replay.helpers import check_options, span_s, total_row


def test_proteus_honours_rate_scale_duration_and_trace(tmp_path: Path) -> None:
    document = tiny_proteus()
    view = view_from(document)
    plan = deployment(solve(scenario_from_dict(document)))

    def simulate(options: SimulateOptions) -> list[Table]:
        return simulate_tables(view, {PLAN: plan}, options)

    # the plan's one window is 10 s; no warm-up (Proteus's simulator starts empty)
    check_options(simulate, PLAN, tmp_path, duration_s=6.0, trace_span_s=8.0, warmup_share=0.0)
    # the scenario's own span: x2 the rate doubles the window's ~4,500 arrivals
    one = simulate(SimulateOptions(1, 0))
    two = simulate(SimulateOptions(1, 0, rate_scale=2.0))
    assert span_s(one) == span_s(two) == 10.0
    ratio = total_row(two, PLAN)["requests"] / total_row(one, PLAN)["requests"]
    assert abs(ratio - 2.0) < 0.1
