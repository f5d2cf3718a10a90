"""The independent verifier accepts solver plans and rejects every kind of corruption."""

from __future__ import annotations

import pytest

from formulations.proteus.deployment import Placement, ProteusDeployment
from formulations.proteus.verify import verify
from planner import scenario_from_dict, solve
from tests.conftest import tiny_proteus


@pytest.fixture(scope="module")
def solved() -> tuple:
    scenario = scenario_from_dict(tiny_proteus())  # its text SLO keeps t_big off the CPU
    plan = solve(scenario)
    return scenario.inputs, plan.deployment


def mutate(deployment: ProteusDeployment) -> ProteusDeployment:
    return ProteusDeployment.model_validate(deployment.model_dump())


def test_solver_plan_verifies(solved: tuple) -> None:
    inputs, deployment = solved
    assert verify(inputs, deployment).ok


def test_device_over_capacity(solved: tuple) -> None:
    inputs, deployment = solved
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
    report = verify(inputs, bad)
    assert any("over capacity" in v for v in report.violations)


def test_demand_not_routed(solved: tuple) -> None:
    inputs, deployment = solved
    bad = mutate(deployment)
    bad.windows[0].placements[0].routed_qps *= 0.5
    report = verify(inputs, bad)
    assert any("routed, demand is" in v for v in report.violations)


def test_variant_not_allowed_on_device(solved: tuple) -> None:
    inputs, deployment = solved
    problem = inputs.problem
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
    report = verify(inputs, bad)
    assert any("variant not allowed" in v for v in report.violations)


def test_too_many_devices(solved: tuple) -> None:
    inputs, deployment = solved
    bad = mutate(deployment)
    bad.windows[0].placements[0].devices += inputs.problem.device_count[
        bad.windows[0].placements[0].device_type
    ]
    report = verify(inputs, bad)
    assert any("devices used, at most" in v for v in report.violations)


def test_wrong_family_and_wrong_accuracy_claim(solved: tuple) -> None:
    inputs, deployment = solved
    bad = mutate(deployment)
    bad.windows[0].effective_accuracy += 1.0
    assert any("effective accuracy" in v for v in verify(inputs, bad).violations)
    bad = mutate(deployment)
    p = bad.windows[0].placements[0]
    p.family = next(f for f in inputs.problem.families if f != p.family)
    assert any("is not a variant of family" in v for v in verify(inputs, bad).violations)


def test_beta_off_grid_and_device_list_mismatch(solved: tuple) -> None:
    inputs, deployment = solved
    bad = mutate(deployment)
    bad.windows[0].beta = 1.0123
    assert any("not an allowed headroom level" in v for v in verify(inputs, bad).violations)
    bad = mutate(deployment)
    bad.windows[0].devices.pop()
    assert any("device list" in v for v in verify(inputs, bad).violations)


def test_infeasibility_reason_bounds_a_family_by_every_device_type() -> None:
    """A family is blamed only when all device types together cannot serve it."""
    from formulations.proteus.inputs import beta_grid, infeasibility_reason

    scenario = scenario_from_dict(tiny_proteus(solver={"mip_gap": 1e-9}))
    problem = scenario.inputs.problem
    per_type = [
        max(
            problem.capacity[(d, v.name)].qps
            for v in problem.placeable["vision"]
            if (d, v.name) in problem.capacity
        )
        * problem.device_count[d]
        for d in problem.device_types
    ]
    floor = beta_grid(scenario.inputs)[-1]

    def reason(vision_qps: float) -> str:
        document = tiny_proteus()
        document["families"]["vision"]["demand_qps"] = vision_qps
        return infeasibility_reason(scenario_from_dict(document).inputs, 0)

    between = (max(per_type) + sum(per_type)) / 2 / floor  # above any one type, below all
    assert "family vision needs" not in reason(between)
    beyond = 1.1 * sum(per_type) / floor
    assert f"serves at most {sum(per_type):.1f} qps" in reason(beyond)
