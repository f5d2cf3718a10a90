"""The independent verifier accepts solver plans and rejects every kind of corruption."""

from __future__ import annotations

import pytest

from formulations.proteus.deployment import Placement, ProteusDeployment
from formulations.proteus.verify import verify
from formulations.proteus.view import ProteusView, infeasibility_reason
from planner import scenario_from_dict, solve
from tests.proteus.helpers import tiny_proteus, view_from, view_of

Solved = tuple[ProteusView, ProteusDeployment]


@pytest.fixture(scope="module")
def solved() -> Solved:
    scenario = scenario_from_dict(tiny_proteus())  # its text SLO keeps t_big off the CPU
    plan = solve(scenario)
    assert isinstance(plan.deployment, ProteusDeployment)
    return view_of(scenario), plan.deployment


def mutate(deployment: ProteusDeployment) -> ProteusDeployment:
    return ProteusDeployment.model_validate(deployment.model_dump())


def test_solver_plan_verifies(solved: Solved) -> None:
    view, deployment = solved
    assert verify(view, deployment).ok


def test_device_over_capacity(solved: Solved) -> None:
    view, deployment = solved
    bad = mutate(deployment)
    p = bad.windows[0].placements[0]
    extra = p.capacity_qps_per_device * p.devices
    p.routed_qps += extra
    other = (
        next(q for q in bad.windows[0].placements if q.family == p.family and q is not p)
        if sum(q.family == p.family for q in bad.windows[0].placements) > 1
        else None
    )
    if other is not None:
        other.routed_qps = max(0.0, other.routed_qps - extra)
    report = verify(view, bad)
    assert any("over capacity" in v for v in report.violations)


def test_demand_not_routed(solved: Solved) -> None:
    view, deployment = solved
    bad = mutate(deployment)
    bad.windows[0].placements[0].routed_qps *= 0.5
    report = verify(view, bad)
    assert any("routed, planned demand is" in v for v in report.violations)


def test_variant_not_allowed_on_device(solved: Solved) -> None:
    view, deployment = solved
    problem = view
    forbidden = next(
        (d, v.name, f)
        for f in problem.families
        for v in problem.variants[f]
        for d in problem.device_types
        if (d, v.name) not in problem.capacity
    )
    bad = mutate(deployment)
    bad.windows[0].placements.append(
        Placement(
            device_type=forbidden[0],
            family=forbidden[2],
            variant=forbidden[1],
            devices=1,
            batch=1,
            capacity_qps_per_device=100.0,
            routed_qps=0.0,
        )
    )
    report = verify(view, bad)
    assert any("variant not allowed" in v for v in report.violations)


def test_too_many_devices(solved: Solved) -> None:
    view, deployment = solved
    bad = mutate(deployment)
    bad.windows[0].placements[0].devices += view.device_count[
        bad.windows[0].placements[0].device_type
    ]
    report = verify(view, bad)
    assert any("devices used, at most" in v for v in report.violations)


def test_wrong_accuracy_claim(solved: Solved) -> None:
    view, deployment = solved
    bad = mutate(deployment)
    bad.windows[0].effective_accuracy += 1.0
    assert any("states effective accuracy" in v for v in verify(view, bad).violations)


def test_wrong_family(solved: Solved) -> None:
    view, deployment = solved
    bad = mutate(deployment)
    p = bad.windows[0].placements[0]
    p.family = next(f for f in view.families if f != p.family)
    assert any("is not a variant of family" in v for v in verify(view, bad).violations)


def test_beta_off_grid(solved: Solved) -> None:
    view, deployment = solved
    bad = mutate(deployment)
    bad.windows[0].beta = 1.0123
    assert any("not an allowed headroom level" in v for v in verify(view, bad).violations)


def test_device_list_mismatch(solved: Solved) -> None:
    view, deployment = solved
    bad = mutate(deployment)
    bad.windows[0].devices.pop()
    assert any("device list has" in v for v in verify(view, bad).violations)


def test_wrong_batch_claim(solved: Solved) -> None:
    view, deployment = solved
    bad = mutate(deployment)
    bad.windows[0].placements[0].batch += 1
    assert any("the cost model gives batch" in v for v in verify(view, bad).violations)


def test_family_below_its_minimum(solved: Solved) -> None:
    view, deployment = solved
    bad = mutate(deployment)
    window = bad.windows[0]
    family = window.placements[0].family
    window.placements = [p for p in window.placements if p.family != family]
    assert any("min_devices_per_family is 1" in v for v in verify(view, bad).violations)


def test_wrong_window_count(solved: Solved) -> None:
    view, deployment = solved
    bad = mutate(deployment)
    bad.windows.append(bad.windows[0])
    assert any("plan has 2 windows" in v for v in verify(view, bad).violations)


def test_infeasibility_reason_bounds_a_family_by_every_device_type() -> None:
    """A family is blamed only when all device types together cannot serve it."""
    problem = view_from(tiny_proteus(solver={"mip_gap": 1e-9}))
    per_type = [
        max(
            problem.capacity[(d, v.name)].qps
            for v in problem.placeable["vision"]
            if (d, v.name) in problem.capacity
        )
        * problem.device_count[d]
        for d in problem.device_types
    ]
    floor = problem.levels[-1]

    def reason(vision_qps: float) -> str:
        document = tiny_proteus()
        document["families"]["vision"]["demand_qps"] = vision_qps
        return infeasibility_reason(view_from(document), 0)

    between = (max(per_type) + sum(per_type)) / 2 / floor  # above any one type, below all
    assert "family vision needs" not in reason(between)
    beyond = 1.1 * sum(per_type) / floor
    assert f"serves at most {sum(per_type):.1f} qps" in reason(beyond)
