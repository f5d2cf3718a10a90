"""The Cocktail replay on the shared core: fork-join golden case, request counts from the
trace, seeds, and the CLI tables."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

import planner
from cost_models.units import SECONDS_PER_HOUR
from formulations.cocktail.replay import _ForkJoin, replay_all
from formulations.cocktail.simulate import SubsetOk
from formulations.replay.arrivals import Chunk
from formulations.replay.core import Simulation, Station
from formulations.replay.policies import FixedBatch, ProfileService
from planner.engine import prepared_view
from tests.cocktail.helpers import tiny, view_of
from tests.conftest import run_cli, write_scenario


def _station(name: str, latency_s: float) -> Station:
    return Station(name, FixedBatch(ProfileService([latency_s])), workers=1)


def test_fork_join_completes_with_the_last_member() -> None:
    """Two deterministic members (10 ms and 30 ms): each request completes at the slower
    member; the second request queues behind the first at both stations."""
    view = view_of(tiny())
    recorder = _ForkJoin(len(view.classes), SubsetOk(view), [0.0, 0.0])
    sim = Simulation(
        [_station("fast", 0.010), _station("slow", 0.030)],
        recorder,
        [1.0, 1.0],
        routes=[(0,), (1,)],
    )
    members = (0, 1)
    recorder.fanouts.extend([(0, members), (0, members)])
    chunk = Chunk(
        np.array([0.0, 0.0, 0.005, 0.005]),
        np.zeros(4, dtype=np.int64),
        np.ones(4, dtype=np.int64),
        np.array([0, 1, 0, 1], dtype=np.int64),
    )
    sim.run([chunk])
    recorder.flush()
    counts = recorder.classes[0]
    assert counts.requests == 2 and counts.served == 2 and counts.late == 0
    # first: max(0.010, 0.030) = 0.030; second arrives at 0.005, slow station frees at
    # 0.030 and finishes at 0.060: latency 0.055 (the fast member's 0.015 does not count)
    assert counts.latency_sum_s == pytest.approx(0.030 + 0.055)
    assert recorder.met[0] == 2  # both members on time, any vote meets a zero target


def test_late_member_leaves_the_vote_to_the_on_time_ones() -> None:
    view = view_of(tiny())
    # the slow member misses the 20 ms SLO; the fast one alone meets a target it meets
    fast_alone = view.correctness.accuracy([0])
    recorder = _ForkJoin(len(view.classes), SubsetOk(view), [fast_alone, fast_alone])
    sim = Simulation(
        [_station("fast", 0.010), _station("slow", 0.030)],
        recorder,
        [0.020, 0.020],
        routes=[(0,), (1,)],
    )
    recorder.fanouts.append((0, (0, 1)))
    sim.run(
        [
            Chunk(
                np.zeros(2),
                np.zeros(2, dtype=np.int64),
                np.ones(2, dtype=np.int64),
                np.array([0, 1], dtype=np.int64),
            )
        ]
    )
    counts = recorder.classes[0]
    assert counts.served == 1 and counts.late == 1  # the vote completes at 30 ms
    assert recorder.met[0] == 1  # yet the on-time member's answer meets the target


def test_request_counts_are_the_traces(tmp_path: Path) -> None:
    """Arrivals of a trace are replayed as they are: the report counts exactly them (issue
    19: not a planned peak times a window)."""
    rng = np.random.default_rng(3)
    arrivals_ms = np.sort(rng.uniform(0, 20_000, 1_237)).round(3)
    (tmp_path / "a.txt").write_text("\n".join(f"{x}" for x in arrivals_ms) + "\n")
    (tmp_path / "b.txt").write_text("\n".join(f"{x}" for x in arrivals_ms[::3]) + "\n")
    document = tiny(interval_h=10 / SECONDS_PER_HOUR)
    document["classes"][0]["load"] = {"trace": "a.txt", "statistic": "peak"}
    document["classes"][1]["load"] = {"trace": "b.txt"}
    scenario = planner.scenario_from_dict(document, base_dir=tmp_path)
    plan = planner.solve(scenario)
    view = prepared_view(scenario)
    report, outcomes = replay_all(view, {"milp": plan.deployment}, runs=2, seed=0)
    by_class = {c.klass: c.requests for c in report.classes}
    assert by_class == {
        "strict": 2 * 1_237,
        "relaxed": 2 * len(arrivals_ms[::3]),
        "all": 2 * (1_237 + len(arrivals_ms[::3])),
    }
    assert 0.0 <= outcomes["milp"].targets_met_share() <= 1.0


def test_qps_counts_are_rate_times_interval_and_seeded() -> None:
    view = view_of(tiny())
    plan = planner.solve(planner.scenario_from_dict(tiny()))
    a, out_a = replay_all(view, {"milp": plan.deployment}, runs=1, seed=5, window_s=2.0)
    b, _ = replay_all(view, {"milp": plan.deployment}, runs=1, seed=5, window_s=2.0)
    assert a.to_json() == b.to_json()
    expected = sum(sum(c["load"]["qps"]) for c in tiny()["classes"]) * SECONDS_PER_HOUR
    overall = next(c for c in a.classes if c.klass == "all")
    assert overall.requests == pytest.approx(expected, abs=2)
    scaled, _ = replay_all(view, {"milp": plan.deployment}, 1, 5, 2.0, rate_scale=0.5)
    assert next(c for c in scaled.classes if c.klass == "all").requests == pytest.approx(
        expected / 2, abs=2
    )
    assert out_a["milp"].cost_usd == pytest.approx(plan.objective.value)


def test_cli_simulate_prints_the_common_tables_and_cocktails(tmp_path: Path) -> None:
    scenario = write_scenario(tmp_path / "tiny.toml", tiny())
    result = run_cli("simulate", scenario, "--runs", "1", "--duration-s", "1", "--format", "json")
    assert result.exit_code == 0, result.stderr
    tables = json.loads(result.stdout)
    assert len(tables) == 3
    plans = {r["plan"] for r in tables[2]["rows"]}
    assert {"milp", "infaas", "infaas_spot", "cocktail"} <= plans
    assert all(0.0 <= r["targets_met_pct"] <= 100.0 for r in tables[2]["rows"])
    refused = run_cli("simulate", scenario, "--trace", tmp_path / "tiny.toml")
    assert refused.exit_code == 2 and "--trace" in refused.stderr


def test_simulate_refuses_a_plan_that_violates_the_scenario(tmp_path: Path) -> None:
    scenario = write_scenario(tmp_path / "tiny.toml", tiny())
    plan = tmp_path / "plan.json"
    run_cli("solve", scenario, "-o", plan)
    data = json.loads(plan.read_text())
    data["deployment"]["intervals"] = data["deployment"]["intervals"][:0]
    plan.write_text(json.dumps(data))
    result = run_cli("simulate", scenario, "--plan", plan)
    assert result.exit_code in (2, 3), result.stderr
