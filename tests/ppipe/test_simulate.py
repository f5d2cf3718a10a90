"""The ppipe replay (formulations/ppipe/simulate.py) on a tiny seeded instance."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

import planner
from formulations.ppipe.deployment import PPipeDeployment
from formulations.ppipe.simulate import TARGET_ATTAINMENT, goodput_rate, replay
from formulations.ppipe.view import PPipeView
from tests.ppipe.helpers import deployment_of, solve_raw, tiny_instance, view_of

REQUESTS = 4000  # per replay: a tiny instance settles within it


def _relaxed(tmp_path: Path) -> dict[str, Any]:
    """A tiny instance whose plans leave half of each SLO for queueing and use batch 1 (a
    1 qps rate estimate makes any larger batch's gathering time exceed the SLO)."""
    raw = tiny_instance(tmp_path, 3)
    for model in raw["models"]:
        model.update(
            est_throughput_qps=1.0, slo_us=2 * model["slo_us"], slo_reserve_us=model["slo_us"]
        )
    return raw


@pytest.fixture(scope="module")
def planned(tmp_path_factory: pytest.TempPathFactory) -> tuple[PPipeView, PPipeDeployment]:
    folder = tmp_path_factory.mktemp("tiny")
    raw = _relaxed(folder)
    return view_of(raw), deployment_of(solve_raw(raw, folder, backend="highs"))


def test_below_capacity_attains_and_above_it_drops(
    planned: tuple[PPipeView, PPipeDeployment],
) -> None:
    view, deployment = planned
    capacity = deployment.objective_qps
    below = replay(view, deployment, 0.5 * capacity, REQUESTS, 0)
    above = replay(view, deployment, 2 * capacity, REQUESTS, 0)
    assert below.worst_attainment >= TARGET_ATTAINMENT
    assert above.worst_attainment < 0.5
    assert sum(c.requests for c in below.counts) == REQUESTS - REQUESTS // 10


def test_bisection_finds_a_rate_between(planned: tuple[PPipeView, PPipeDeployment]) -> None:
    view, deployment = planned
    capacity = deployment.objective_qps
    found = goodput_rate(view, deployment, REQUESTS, 0)
    assert found is not None
    assert 0.5 * capacity <= found.rate_qps < 2 * capacity
    assert found.worst_attainment >= TARGET_ATTAINMENT
    beyond = replay(view, deployment, 1.05 * found.rate_qps, REQUESTS, 0)
    assert beyond.worst_attainment < TARGET_ATTAINMENT


def test_seeded_determinism(planned: tuple[PPipeView, PPipeDeployment]) -> None:
    view, deployment = planned
    rate = deployment.objective_qps
    first, again = (replay(view, deployment, rate, REQUESTS, 7) for _ in range(2))
    other = replay(view, deployment, rate, REQUESTS, 8)
    for mine, theirs in zip(first.counts, again.counts, strict=True):
        assert (mine.requests, mine.served, mine.late) == (
            theirs.requests,
            theirs.served,
            theirs.late,
        )
        assert mine.latency_sum_s == theirs.latency_sum_s
        assert (mine.histogram.counts == theirs.histogram.counts).all()
    assert (first.span_s, first.busy_gpu_s) == (again.span_s, again.busy_gpu_s)
    assert first.span_s != other.span_s


def test_planner_simulate_replays_plan_and_baselines(tmp_path: Path) -> None:
    document = {"kind": "ppipe", **_relaxed(tmp_path), "solver": {"backend": "highs"}}
    tables = planner.simulate(planner.scenario_from_dict(document, tmp_path), runs=1, seed=0)
    classes, pools, goodput = tables
    assert {row[0] for row in classes.rows} == {"ppipe", "np", "dart_r"}
    assert [row[0] for row in goodput.rows] == ["ppipe", "np", "dart_r"]
    ppipe = goodput.rows[0]
    assert ppipe[3] is not None and ppipe[3] > 0
    assert 0 <= ppipe[4] <= 100
    assert {row[1] for row in pools.rows} == {"HI", "LO"}
