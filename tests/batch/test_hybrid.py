"""Hybrid Lambda + VM plans and the latency-within-budget objective of the BATCH kind.

The brute forces score every choice with the verifier's own path (``hour_figures``: a
fresh buffer per configuration on the thinned MAP, the VM offers' capacity and bills), so
they share nothing with the view's scoring, the candidate reduction or the MILP.
"""

from __future__ import annotations

import itertools
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import planner
from cost_models.batch.arrivals import h2_balanced, poisson, sample_inter_arrivals, thinned
from cost_models.batch.vm import cheapest_cover
from cost_models.cloud import INSTANCES
from formulations.batch.deployment import BatchDeployment, HourConfig
from formulations.batch.milp import solve_plan
from formulations.batch.verify import count_changes, hour_figures, verify
from formulations.batch.view import BatchView
from formulations.types import ExitCode
from tests.batch.helpers import OFFERS, solver, tiny_batch, tiny_hybrid, view_of, write
from tests.conftest import run_cli
from tests.tampering import outcomes, unexplained_passes


def _choices(view: BatchView, h: int) -> list[HourConfig]:
    """Every (share, Lambda configuration or off, VM counts) of hour h."""
    assert view.hybrid is not None
    ranges = [range(int(m) + 1) for m in view.hybrid.max_counts]
    configs = [view.config(c) for c in range(int(np.prod(view.grid.shape)))]
    out = []
    for counts in itertools.product(*ranges):
        vms = {n: c for n, c in zip(view.hybrid.names, counts, strict=True) if c}
        for share in view.shares:
            if share == 0:
                out.append(HourConfig(lambda_share=0.0, vms=vms))
                continue
            for m, b, t in configs:
                out.append(
                    HourConfig(
                        memory_mb=m, batch_size=b, timeout_s=t, lambda_share=float(share), vms=vms
                    )
                )
    return out


def _feasible_costs(view: BatchView) -> list[list[tuple[HourConfig, float]]]:
    """Per hour: every choice whose figures meet the SLO, the quota, the VM fleet limits
    and the VM capacity, and its cost (Lambda and VM parts scored apart, then summed)."""
    assert view.hybrid is not None
    inputs = view.inputs
    out = []
    for hour in view.hours:
        ok: list[tuple[HourConfig, float]] = []
        vm_only = {
            tuple(sorted(choice.vms.items())): hour_figures(view, hour, choice)
            for choice in _choices(view, 0)
            if choice.lambda_share == 0
        }
        for choice in _choices(view, 0):
            vm = vm_only[tuple(sorted(choice.vms.items()))]
            lam = hour_figures(view, hour, choice.model_copy(update={"vms": {}}))
            meets = (
                lam.latency_ms <= inputs.slo_limit_ms + 1e-9
                and lam.concurrency <= inputs.max_concurrency
                and (choice.lambda_share == 1 or vm.latency_ms <= inputs.slo_limit_ms)
                and vm.vm_capacity_qps >= (1 - choice.lambda_share) * hour.rate_qps - 1e-9
            )
            if meets:
                ok.append((choice, lam.lambda_cost_usd + vm.vm_cost_usd))
        out.append(ok)
    return out


def _brute_force(costs: list[list[tuple[HourConfig, float]]], max_changes: int | None) -> float:
    if max_changes is None:
        return sum(min(c for _, c in hour) for hour in costs)
    # K = 0: one Lambda configuration (or off) all day; shares and VMs free per hour.
    best = np.inf
    keys = {choice.lambda_key for hour in costs for choice, _ in hour}
    for key in keys:
        per_hour = [[c for ch, c in hour if ch.lambda_key == key] for hour in costs]
        if all(per_hour):
            best = min(best, sum(min(c) for c in per_hour))
    assert max_changes == 0
    return float(best)


@pytest.fixture(scope="module")
def hybrid_path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write(tmp_path_factory.mktemp("hybrid"), tiny_hybrid())


@pytest.fixture(scope="module")
def hybrid_choices(hybrid_path: Path) -> list[list[tuple[HourConfig, float]]]:
    return _feasible_costs(view_of(hybrid_path))


@pytest.mark.parametrize("max_changes", [None, 0])
def test_hybrid_milp_matches_brute_force(
    hybrid_path: Path,
    hybrid_choices: list[list[tuple[HourConfig, float]]],
    max_changes: int | None,
) -> None:
    view = view_of(hybrid_path)
    solution = solve_plan(view, solver(), max_changes)
    result = verify(view, solution.deployment)
    assert result.ok, result.violations
    expected = _brute_force(hybrid_choices, max_changes)
    assert result.objective_value == pytest.approx(expected, rel=1e-9)
    if max_changes == 0:
        assert count_changes(solution.deployment) == 0
    # The fleet is too small for hour 2 (30/s > 2 x 14.4/s): Lambda takes a share there.
    assert solution.deployment.hours[2].lambda_share > 0


def test_hybrid_solvers_agree(hybrid_path: Path) -> None:
    view = view_of(hybrid_path)
    values = [
        verify(view, solve_plan(view, solver(b), 0).deployment).objective_value
        for b in ("highs", "cbc")
    ]
    assert values[0] == pytest.approx(values[1], rel=1e-9)


def test_thinned_map_is_the_bernoulli_split() -> None:
    assert thinned(poisson(10.0), 0.3).rate_qps == pytest.approx(3.0)
    assert thinned(poisson(10.0), 0.3).scv == pytest.approx(1.0)
    bursty = h2_balanced(20.0, 4.0, 0.2)
    split = thinned(bursty, 0.4)
    np.testing.assert_allclose(split.d0, bursty.d0 + 0.6 * bursty.d1)
    np.testing.assert_allclose(split.d1, 0.4 * bursty.d1)
    # Seeded: drop each sampled arrival with probability 0.6; the kept gaps have the
    # thinned MAP's mean and SCV.
    rng = np.random.default_rng(7)
    times = np.cumsum(sample_inter_arrivals(bursty, 200_000, rng))
    kept = np.diff(times[rng.random(times.size) < 0.4])
    assert kept.mean() == pytest.approx(1 / split.rate_qps, rel=0.02)
    assert kept.var() / kept.mean() ** 2 == pytest.approx(split.scv, rel=0.05)


def test_cheapest_cover_by_enumeration() -> None:
    capacity, cost, counts = np.array([10.0, 20.0]), np.array([0.17, 0.3]), np.array([5, 5])
    loads = np.array([0.0, 5.0, 31.0, 50.0, 151.0])
    value, mix = cheapest_cover(loads, capacity, cost, counts)
    for load, v, m in zip(loads, value, mix, strict=True):
        combos = [
            (a * 0.17 + b * 0.3, (a, b))
            for a in range(6)
            for b in range(6)
            if 10 * a + 20 * b >= load
        ]
        if not combos:
            assert v == np.inf
            continue
        assert v == pytest.approx(min(combos)[0])
        assert m @ capacity >= load and m @ cost == pytest.approx(v)


def test_spot_capacity_and_bill_are_derated_by_interruptions(tmp_path: Path) -> None:
    # 0.5 interruptions per hour: a spot VM runs (1 - e^-0.5) / 0.5 = 0.787 of the hour.
    vms = [dict(OFFERS[1], interruption_rate_per_h=0.5), dict(OFFERS[0])]
    view = view_of(write(tmp_path, tiny_hybrid(hybrid={"lambda_share_step": 0.25, "vms": vms})))
    assert view.hybrid is not None
    share = (1 - np.exp(-0.5)) / 0.5
    spot, on_demand = view.hybrid.offers
    assert spot.availability(1.0) == pytest.approx(share)
    assert view.hybrid.capacity_qps[0] == pytest.approx(view.hybrid.capacity_qps[1] * share)
    assert view.hybrid.vm_cost_usd[0] == pytest.approx(
        INSTANCES["c5.xlarge"].spot_usd_per_h * share
    )
    assert on_demand.availability(1.0) == 1.0


def test_verifier_flags_hybrid_mutations(hybrid_path: Path) -> None:
    view = view_of(hybrid_path)
    deployment = solve_plan(view, solver(), None).deployment
    hours = list(deployment.hours)
    cases = {
        "hour 2: VMs carry": hours[2].model_copy(update={"vms": {}}),
        "hour 0: VM offer 'm5.xlarge:spot' is not in the scenario": hours[0].model_copy(
            update={"vms": {"m5.xlarge:spot": 1}}
        ),
        "hour 1: 3 VMs of c5.xlarge:spot > max_count 1": hours[1].model_copy(
            update={"vms": {"c5.xlarge:spot": 3}}
        ),
    }
    for message, config in cases.items():
        h = int(message.split(":")[0].split()[1])
        mutated = BatchDeployment(hours=[config if i == h else c for i, c in enumerate(hours)])
        result = verify(view, mutated)
        assert any(v.startswith(message) for v in result.violations), (message, result.violations)


def test_no_tampered_hybrid_plan_passes(tmp_path: Path) -> None:
    scenario = planner.scenario_from_dict(tiny_hybrid(max_config_changes=1), file="tiny.toml")
    plan = planner.solve(scenario, baselines=False)
    found = outcomes(plan, scenario, tmp_path, "batch")
    assert unexplained_passes(found, {}) == []
    codes = {o.exit_code for o in found.values()}
    assert codes <= {ExitCode.OK, ExitCode.INVALID_INPUT, ExitCode.INFEASIBLE}, found


def test_hybrid_baselines_are_scored(tmp_path: Path) -> None:
    plan = planner.solve(write(tmp_path, tiny_hybrid()))
    by_name = {b.name: b for b in plan.baselines}
    mark = by_name["mark_like_greedy"]
    assert mark.status == "feasible" and mark.objective is not None
    assert mark.objective >= plan.objective.value * (1 - 1e-9)
    # One on-demand c5.xlarge at half its peak rate cannot carry 20 or 30 requests/s.
    sagemaker = by_name["sagemaker_like_endpoint"]
    assert sagemaker.status == "infeasible"
    assert any("VMs carry" in v for v in sagemaker.violations)


def test_hybrid_infeasible_slo_names_the_hour_and_the_best_latency(tmp_path: Path) -> None:
    # 1.2 s: no Lambda configuration (>= 1.1 s of service plus the wait) and no c5 batch
    # (2 x 91 ms fits, but the fleet carries at most 2 x 11 x 0.8 requests/s).
    path = write(tmp_path, tiny_hybrid(slo_ms=1200.0))
    result = run_cli("solve", path)
    text = result.stdout + result.stderr
    assert result.exit_code == 3, text
    # Hour 1 (20/s) fits on the two VMs at batch 8 (2 x 463 ms); hour 2 (30/s) does not.
    assert "hour 2 (rate 30 requests/s): no plan of Lambda and VMs meets p95 <= 1200 ms" in text
    reached = float(text.split("the lowest reachable p95 is ")[1].split(" ms")[0])
    assert reached > 1200


# ------------------------------------------------------------------ latency within a budget
def _latency_brute_force(view: BatchView, budget_per_day: float | None) -> float:
    configs = [view.config(c) for c in range(int(np.prod(view.grid.shape)))]
    weights = view.request_weights()
    per_hour = []
    for hour in view.hours:
        rows = []
        for m, b, t in configs:
            figures = hour_figures(view, hour, HourConfig(memory_mb=m, batch_size=b, timeout_s=t))
            if figures.concurrency <= view.inputs.max_concurrency:
                rows.append((figures.cost_usd, figures.latency_ms))
        per_hour.append(rows)
    best = np.inf
    for plan in itertools.product(*per_hour):
        cost = sum(c for c, _ in plan)
        if budget_per_day is None or cost <= budget_per_day:
            best = min(best, float(weights @ [lat for _, lat in plan]))
    return best


@pytest.mark.parametrize("budget_key", ["budget_usd", "budget_usd_per_h"])
def test_latency_objective_matches_brute_force(tmp_path: Path, budget_key: str) -> None:
    # The cheapest plan costs 0.75 + 2.46 + 4.74 USD: both budgets bind.
    budget = 9.0 if budget_key == "budget_usd" else 5.0
    document = tiny_batch(objective="latency", **{budget_key: budget})
    document.pop("slo_ms")
    view = view_of(write(tmp_path, document))
    solution = solve_plan(view, solver(), None)
    result = verify(view, solution.deployment)
    assert result.ok, result.violations
    if budget_key == "budget_usd":
        expected = _latency_brute_force(view, budget)
    else:
        weights = view.request_weights()
        expected = 0.0
        for h, hour in enumerate(view.hours):
            lat = [
                f.latency_ms
                for m, b, t in (view.config(c) for c in range(int(np.prod(view.grid.shape))))
                if (
                    f := hour_figures(
                        view, hour, HourConfig(memory_mb=m, batch_size=b, timeout_s=t)
                    )
                ).cost_usd
                <= budget
            ]
            expected += weights[h] * min(lat)
    assert result.objective_value == pytest.approx(expected, rel=1e-9)


def test_latency_budget_below_the_cheapest_plan_exits_3(tmp_path: Path) -> None:
    document = tiny_batch(objective="latency", budget_usd=0.01)
    run = run_cli("solve", write(tmp_path, document))
    text = run.stdout + run.stderr
    assert run.exit_code == 3, text
    assert "budget_usd 0.01: the cheapest plan within the limits costs" in text


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"objective": "latency"}, "exactly one of budget_usd_per_h, budget_usd"),
        ({"budget_usd": 3.0}, "budget_usd_per_h and budget_usd go with objective = 'latency'"),
        ({"hybrid": {"vms": [{"instance_type": "x9.huge", "max_count": 1}]}}, "instance_type"),
        ({"hybrid": {"vms": OFFERS, "lambda_share_step": 0.3}}, "lambda_share_step"),
    ],
)
def test_bad_hybrid_and_objective_input_exits_2(
    tmp_path: Path, overrides: dict[str, Any], message: str
) -> None:
    run = run_cli("solve", write(tmp_path, tiny_batch(**overrides)))
    assert run.exit_code == 2, run.stdout + run.stderr
    assert message in run.stdout + run.stderr
