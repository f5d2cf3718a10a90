"""The Proteus replay (formulations/proteus/simulate.py) on the tiny scenario."""

from __future__ import annotations

from pathlib import Path

import pytest

from formulations.proteus.deployment import ProteusDeployment
from formulations.proteus.simulate import BATCHING, PLAN, replay_all
from formulations.replay.policies import padded_latency_s
from formulations.replay.schema import ALL, ReplayReport
from planner import scenario_from_dict, simulate, solve
from tests.proteus.helpers import deployment, tiny_proteus, view_from

RUNS = 2
SEED = 7


def _plan(**overrides: object) -> ProteusDeployment:
    return deployment(solve(scenario_from_dict(tiny_proteus(**overrides))))


def _total(report: ReplayReport, plan: str = PLAN) -> dict[str, float | int | None]:
    (row,) = [c for c in report.to_json()["classes"] if c["plan"] == plan and c["class"] == ALL]
    return row


def test_padded_latency_runs_a_batch_as_the_next_allowed_size() -> None:
    assert padded_latency_s({1: 2.0, 2: 3.0, 4: 5.0}) == [0.002, 0.003, 0.005, 0.005]


def test_a_plan_with_headroom_meets_the_slo() -> None:
    view = view_from(tiny_proteus())
    plan = _plan()
    assert plan.windows[0].beta >= 1.0
    for batching in sorted(set(BATCHING.values())):
        name = next(n for n, b in BATCHING.items() if b == batching)
        row = _total(replay_all(view, {name: plan}, RUNS, SEED).report, name)
        # Poisson at the demand: about demand x 10 s x runs requests
        demand = sum(view.demand(0).values())
        assert row["requests"] == pytest.approx(demand * 10.0 * RUNS, rel=0.05)
        assert row["slo_attainment_pct"] is not None and row["slo_attainment_pct"] >= 99.0


def test_capacity_below_demand_sheds_or_is_late() -> None:
    """The 1x plan replayed against twice the demand its capacity serves: a device never
    runs more than the plan's batch (accscale is capped, INFaaS fixed), so on-time
    completions cannot exceed the plan's capacity and at least 1 - capacity / demand of the
    requests miss (late or dropped)."""
    plan = _plan()
    placements = plan.windows[0].placements
    capacity_qps = sum(p.capacity_qps_per_device * p.devices for p in placements)
    scale = 2 * max(
        sum(p.capacity_qps_per_device * p.devices for p in placements if p.family == f) / d
        for f, d in plan.windows[0].demand_qps.items()
    )
    view = view_from(tiny_proteus(demand_scale=scale))
    demand_qps = sum(view.demand(0).values())
    for name in ("milp", "infaas"):
        row = _total(replay_all(view, {name: plan}, RUNS, SEED).report, name)
        requests, served, late = row["requests"], row["served"], row["late"]
        assert isinstance(requests, int) and isinstance(served, int) and isinstance(late, int)
        missed = requests - served + late  # dropped + late
        assert row["goodput_qps"] is not None and row["goodput_qps"] <= capacity_qps * 1.02
        assert missed / requests >= 1 - capacity_qps / demand_qps - 0.02
        assert missed / requests >= 0.45  # every family gets twice what it can serve


def test_same_seed_same_report_other_seed_other_report() -> None:
    view = view_from(tiny_proteus())
    plans = {PLAN: _plan()}
    first = replay_all(view, plans, RUNS, SEED).report.to_json()
    assert replay_all(view, plans, RUNS, SEED).report.to_json() == first
    assert replay_all(view, plans, RUNS, SEED + 1).report.to_json() != first


def test_a_trace_is_replayed_as_given_and_windows_change_the_plan(tmp_path: Path) -> None:
    """A trace of 200 qps for 10 s then 900 qps for 10 s: every arrival is replayed, the
    plan has two windows, and the busier one keeps the SLO too."""
    lines = [f"{t:.3f},1,60" for t in range(0, 10_000, 5)]
    lines += [f"{10_000 + t * 10 / 9:.3f},1,60" for t in range(9_000)]
    trace = tmp_path / "vision.txt"
    trace.write_text("\n".join(lines) + "\n")
    document = tiny_proteus()
    document["families"]["vision"] = {"slo_ms": 60.0, "trace": str(trace)}
    view = view_from(document)
    plan = deployment(solve(scenario_from_dict(document)))
    assert len(plan.windows) == 2
    report = replay_all(view, {PLAN: plan}, 1, SEED).report
    (vision,) = [c for c in report.classes if c.klass == "vision"]
    assert vision.requests == len(lines)
    assert vision.slo_attainment_pct is not None and vision.slo_attainment_pct >= 99.0


def test_the_formulation_replays_the_plan_and_every_baseline() -> None:
    scenario = scenario_from_dict(tiny_proteus(baselines=True))
    tables = simulate(scenario, runs=1, seed=SEED)
    summary = tables[-1]
    assert [row[0] for row in summary.rows] == list(BATCHING)
