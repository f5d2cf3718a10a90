"""Issue 11: planning on Proteus's EWMA forecast, judging on the actual demand, and the
baselines as Proteus runs them (static Clipper, Sommelier at beta 1.5)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest

from formulations.proteus.baselines import static_deployment
from formulations.proteus.deployment import ProteusDeployment
from formulations.proteus.forecast import ewma_forecast, replan_schedule
from formulations.proteus.inputs import ForecastSpec
from formulations.proteus.verify import verify
from formulations.types import SolverSettings
from planner import scenario_from_dict, solve
from planner.backends import make_solver
from tests.proteus.helpers import deployment, tiny_proteus, view_of


def test_ewma_matches_a_hand_computation() -> None:
    # com = 1: alpha = 1/2, weights 1, 1/2, 1/4 ... on the newest sample first
    samples = np.array([[10.0], [20.0], [40.0], [0.0]])
    forecast = ewma_forecast(samples, com=1.0, history=20)
    assert forecast[:, 0] == pytest.approx([10.0, 10.0, 25 / 1.5, 52.5 / 1.75])
    # a history of 2 samples drops the oldest: (40 + 20 / 2) / 1.5 at window 3
    assert ewma_forecast(samples, com=1.0, history=2)[3, 0] == pytest.approx(50 / 1.5)


def test_replan_schedule_follows_proteus_rules() -> None:
    spec = ForecastSpec(
        replan_every=10,
        extra_replans=[5, 20],
        tighten_windows=(60, 100),
        burst_replan_every=2,
        burst_total_qps=200.0,
        burst_lookback_windows=10,
    )
    quiet = np.full(120, 100.0)
    replans = [w for w, again in enumerate(replan_schedule(spec, quiet)) if again]
    assert replans == [0, 5, 10, 20, 30, 40, 50, 60, 65, 70, 75, 80, 85, 90, 95, 100, 110]
    burst = quiet.copy()
    burst[30] = 201.0  # windows 31-40 see it in their last 10
    replans = [w for w, again in enumerate(replan_schedule(spec, burst)) if again and 30 <= w <= 42]
    assert replans == [30, 32, 34, 36, 38, 40]


def ramp(tmp_path: Path, rates: tuple[int, ...]) -> Path:
    """A vision trace at ``rates`` queries/s, one 10 s window each."""
    arrivals: list[float] = []
    for window, rate in enumerate(rates):
        arrivals += [window * 10_000 + k * 1000.0 / rate for k in range(rate * 10)]
    trace = tmp_path / "vision.txt"
    trace.write_text("".join(f"{t:.3f},1,60\n" for t in arrivals))
    return trace


def traced(tmp_path: Path, method: str, **overrides: Any) -> dict[str, Any]:
    document = tiny_proteus(baselines=True, forecast={"method": method, "com": 0.0})
    document["families"]["vision"] = {"slo_ms": 60.0, "trace": str(ramp(tmp_path, (300, 6000)))}
    document.update(overrides)
    return document


def test_ewma_plan_sheds_what_the_forecast_missed(tmp_path: Path) -> None:
    # com 0 forecasts the last window: window 1 is planned for 300 vision queries/s, 6000 arrive
    scenario = scenario_from_dict(traced(tmp_path, "ewma"), base_dir=tmp_path)
    plan = solve(scenario)
    first, second = deployment(plan).windows
    assert second.planned_qps["vision"] == pytest.approx(300.0)
    assert second.demand_qps["vision"] == pytest.approx(6000.0)
    assert first.shed_qps["vision"] == pytest.approx(0.0)
    assert second.shed_qps["vision"] > 0
    assert second.effective_accuracy_served < second.effective_accuracy
    served = sum(p.served_qps for p in second.placements if p.family == "vision")
    capacity = sum(
        p.capacity_qps_per_device * p.devices for p in second.placements if p.family == "vision"
    )
    assert served == pytest.approx(min(6000.0, capacity))
    assert plan.headline["shed_pct"] > 0
    oracle = solve(scenario_from_dict(traced(tmp_path, "oracle"), base_dir=tmp_path))
    assert oracle.headline["shed_pct"] == pytest.approx(0.0)
    assert oracle.headline["effective_accuracy_served"] > plan.headline["effective_accuracy_served"]
    # every baseline's deployment verifies, on the forecast as on the oracle
    for each in (plan, oracle):
        for baseline in each.baselines:
            assert baseline.status == "feasible", (baseline.name, baseline.violations)


def test_verifier_judges_the_planned_and_the_actual_demand(tmp_path: Path) -> None:
    scenario = scenario_from_dict(traced(tmp_path, "ewma"), base_dir=tmp_path)
    view = view_of(scenario)
    plan = deployment(solve(scenario))
    bad = ProteusDeployment.model_validate(plan.model_dump())
    bad.windows[1].planned_qps["vision"] = 6000.0  # claims to have known the future
    assert any("planned_qps does not match" in v for v in verify(view, bad).violations)
    bad = ProteusDeployment.model_validate(plan.model_dump())
    bad.windows[1].effective_accuracy_served = bad.windows[1].effective_accuracy
    assert any("effective accuracy served" in v for v in verify(view, bad).violations)
    bad = ProteusDeployment.model_validate(plan.model_dump())
    bad.windows[1].shed_qps["vision"] = 0.0
    assert any("shed_qps" in v for v in verify(view, bad).violations)


def test_a_kept_plan_must_keep_its_placements(tmp_path: Path) -> None:
    scenario = scenario_from_dict(
        traced(tmp_path, "ewma", forecast={"method": "ewma", "replan_every": 2}),
        base_dir=tmp_path,
    )
    view = view_of(scenario)
    plan = deployment(solve(scenario))
    assert [w.replanned for w in plan.windows] == [True, False]
    assert verify(view, plan).ok
    bad = ProteusDeployment.model_validate(plan.model_dump())
    bad.windows[1].placements[0].routed_qps *= 0.5
    assert any("not re-planned" in v for v in verify(view, bad).violations)


def test_sommelier_plans_for_beta_1_5() -> None:
    plan = solve(scenario_from_dict(tiny_proteus(baselines=True)))
    view = view_of(scenario_from_dict(tiny_proteus()))
    assert view.sommelier_levels[0] == pytest.approx(1.5)
    assert view.sommelier_levels[1] == pytest.approx(1.45)  # 0.05 steps at and below 1.5
    sommelier = plan.baseline("sommelier")
    assert sommelier.status == "feasible", sommelier.violations
    assert sommelier.headline["min_beta"] > view.levels[0]  # more headroom than the MILP's
    assert sommelier.objective <= plan.objective.value + 1e-9


def test_a_static_baseline_that_sheds_serves_less_accuracy_than_it_plans() -> None:
    # Demand far above what Clipper-HA's allocation (most accurate variants only) serves.
    document = tiny_proteus(baselines=True)
    document["families"]["vision"]["demand_qps"] = 3000.0
    scenario = scenario_from_dict(document)
    view = view_of(scenario)
    clipper = static_deployment(view, make_solver(SolverSettings()), "clipper_ha")
    assert verify(view, clipper).ok
    window = clipper.windows[0]
    assert window.shed_qps["vision"] > 0
    assert window.effective_accuracy_served < window.effective_accuracy
    plan = solve(scenario)
    baseline = plan.baseline("clipper_ha")
    assert baseline.headline["effective_accuracy_served"] < baseline.objective
