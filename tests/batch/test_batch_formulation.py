"""BATCH formulation: brute force, cross-solver agreement, verifier mutations, goldens,
bad input and infeasibility."""

from __future__ import annotations

import itertools
import random
from pathlib import Path

import numpy as np
import pytest

import planner
from formulations.batch.deployment import BatchDeployment, HourConfig
from formulations.batch.milp import solve_plan
from formulations.batch.verify import count_changes, verify
from formulations.batch.view import segment_candidates
from tests.batch.helpers import solver, tiny_batch, view_of, write
from tests.conftest import ROOT, run_cli


def brute_force_usd(cost: np.ndarray, feasible: np.ndarray, max_changes: int | None) -> float:
    """Every sequence of grid configurations over the hours (no candidate reduction)."""
    masked = np.where(feasible, cost, np.inf)
    best = np.inf
    for seq in itertools.product(range(cost.shape[1]), repeat=cost.shape[0]):
        changes = sum(1 for a, b in itertools.pairwise(seq) if a != b)
        if max_changes is not None and changes > max_changes:
            continue
        best = min(best, sum(masked[h, c] for h, c in enumerate(seq)))
    return float(best)


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_milp_matches_brute_force_over_the_grid(tmp_path: Path, seed: int) -> None:
    rng = random.Random(seed)
    rates = [round(rng.uniform(2, 40), 2) for _ in range(3)]
    scvs = [round(rng.choice([1.0, rng.uniform(1.5, 4)]), 2) for _ in range(3)]
    max_changes = rng.choice([None, 0, 1])
    doc = tiny_batch(
        slo_ms=round(rng.uniform(3000, 6000)),
        arrivals={"rate_qps": rates, "scv": scvs, "lag1_autocorrelation": [0.0] * 3},
    )
    if max_changes is not None:
        doc["max_config_changes"] = max_changes
    view = view_of(write(tmp_path, doc))
    expected = brute_force_usd(view.hourly_cost_usd, view.feasible, max_changes)
    solution = solve_plan(view, solver(), max_changes)
    assert solution.certificate.objective == pytest.approx(expected, rel=1e-9)
    recomputed = verify(view, solution.deployment)
    assert recomputed.ok, recomputed.violations
    assert recomputed.objective_value == pytest.approx(expected, rel=1e-6)


@pytest.mark.parametrize("backend", ["highs", "cbc", "scip"])
def test_solvers_agree(tmp_path: Path, backend: str) -> None:
    view = view_of(write(tmp_path, tiny_batch(max_config_changes=1)))
    reference = solve_plan(view, solver("highs"), 1).certificate.objective
    assert solve_plan(view, solver(backend), 1).certificate.objective == pytest.approx(
        reference, rel=1e-7
    )


def test_segment_candidates_by_hand() -> None:
    # 2 hours, 3 configs. Hour costs: c0 = (1, 10), c1 = (5, 5), c2 = (9, 1); c2 infeasible
    # in hour 0. Free choice: argmins c0 (hour 0) and c2 (hour 1). Runs: [0] -> c0,
    # [1] -> c2, [0, 1] -> c1 (total 10 vs 11 for c0; c2 infeasible in hour 0).
    cost = np.array([[1.0, 5.0, 9.0], [10.0, 5.0, 1.0]])
    feasible = np.array([[True, True, False], [True, True, True]])
    assert segment_candidates(cost, feasible, None).tolist() == [0, 2]
    assert segment_candidates(cost, feasible, 0).tolist() == [0, 1, 2]


def test_golden_one_hour_no_batching(tmp_path: Path) -> None:
    # Poisson 10/s for 1 h = 36,000 requests; one candidate M = 1769 MB (1 vCPU), B = 1.
    # s(1) = 760 + (340 + 925) * 1 = 2025 ms (slowdown 1 at one vCPU), billed 2025 ms;
    # per request: 2.025 s * 1769/1024 GB * 0.0000166667 + 0.0000002
    # = 3.4982666 GB-s * 0.0000166667 + 0.0000002 = 0.00005850456 USD; x 36,000 = 2.106164.
    # p95 latency = 2025 ms (no wait); concurrency = 10/s * 2.025 s = 20.25.
    doc = tiny_batch(
        grid={"memory_mb": [1769], "batch_sizes": [1], "timeouts_s": [0.02]},
        arrivals={"rate_qps": [10.0], "scv": [1.0], "lag1_autocorrelation": [0.0]},
    )
    plan = planner.solve(write(tmp_path, doc), baselines=False)
    assert plan.objective.value == pytest.approx(2.106164, rel=1e-6)
    row = plan.tables[0].rows[0]
    columns = plan.tables[0].columns
    assert row[columns.index("latency_p95_ms")] == 2025.0
    assert row[columns.index("concurrency")] == 20.25


def test_batching_beats_no_batching_on_the_bursty_day() -> None:
    plan = planner.solve(ROOT / "scenarios" / "batch" / "bursty_day.toml")
    by_name = {b.name: b for b in plan.baselines}
    assert by_name["lambda_no_batching"].objective is not None
    assert by_name["lambda_no_batching"].objective > plan.objective.value
    assert by_name["best_fixed_config"].objective >= plan.objective.value - 1e-9


# ------------------------------------------------------------------ verifier mutations
@pytest.fixture
def solved(tmp_path: Path) -> tuple[Path, BatchDeployment]:
    path = write(tmp_path, tiny_batch(max_config_changes=1))
    view = view_of(path)
    return path, solve_plan(view, solver(), 1).deployment


def _mutated(deployment: BatchDeployment, hour: int, **changes: object) -> BatchDeployment:
    hours = list(deployment.hours)
    hours[hour] = hours[hour].model_copy(update=changes)
    return BatchDeployment(hours=hours)


@pytest.mark.parametrize(
    ("hour", "changes", "message"),
    [
        (0, {"memory_mb": 64}, "hour 0: memory_mb 64 outside Lambda's 128..10240 MB"),
        (1, {"timeout_s": 0.03}, "hour 1: timeout_s 0.03 is not a multiple of time_step_s"),
        (2, {"memory_mb": 1024, "batch_size": 8}, "hour 2: p95 latency"),
    ],
)
def test_verifier_flags_each_mutation(
    solved: tuple[Path, BatchDeployment], hour: int, changes: dict[str, object], message: str
) -> None:
    path, deployment = solved
    result = verify(view_of(path), _mutated(deployment, hour, **changes))
    assert any(v.startswith(message) for v in result.violations), result.violations


def test_verifier_flags_too_many_changes(solved: tuple[Path, BatchDeployment]) -> None:
    path, _ = solved
    configs = [
        HourConfig(memory_mb=3008, batch_size=1, timeout_s=0.02),
        HourConfig(memory_mb=2048, batch_size=1, timeout_s=0.02),
        HourConfig(memory_mb=3008, batch_size=1, timeout_s=0.02),
    ]
    deployment = BatchDeployment(hours=configs)
    assert count_changes(deployment) == 2
    result = verify(view_of(path), deployment)
    assert "2 configuration changes > max_config_changes 1" in result.violations


def test_verifier_flags_wrong_interval_count(solved: tuple[Path, BatchDeployment]) -> None:
    path, deployment = solved
    result = verify(view_of(path), BatchDeployment(hours=deployment.hours[:2]))
    assert result.violations == ["deployment has 2 intervals, the scenario 3"]


def test_verifier_flags_concurrency(tmp_path: Path) -> None:
    # 40/s at B = 1 and 1024 MB: s(1) = 760 + 1265 * 1769/1024 ~ 2945 ms -> ~118 executions.
    path = write(tmp_path, tiny_batch(max_concurrency=50.0, slo_ms=60000.0))
    config = HourConfig(memory_mb=1024, batch_size=1, timeout_s=0.02)
    result = verify(view_of(path), BatchDeployment(hours=[config] * 3))
    assert any(
        v.startswith("hour 2:") and v.endswith("concurrent executions > max_concurrency 50")
        for v in result.violations
    ), result.violations


def test_verifier_flags_memory_missing_from_measured_table(tmp_path: Path) -> None:
    table = tmp_path / "service.csv"
    lines = ["memory_mb,batch_size,service_ms"]
    lines += [f"{m},{k},{200 * k + 100}" for m in (1024, 2048) for k in (1, 2)]
    table.write_text("\n".join(lines) + "\n")
    doc = tiny_batch(
        grid={"memory_mb": [1024, 2048], "batch_sizes": [1, 2], "timeouts_s": [0.02]},
    )
    doc["service"] = {"table": str(table)}
    path = write(tmp_path, doc)
    config = HourConfig(memory_mb=3008, batch_size=1, timeout_s=0.02)
    result = verify(view_of(path), BatchDeployment(hours=[config] * 3))
    assert any("memory sizes listed in the measured table" in v for v in result.violations)


# ------------------------------------------------------------------ bad input, infeasible
@pytest.mark.parametrize(
    ("overrides", "key"),
    [
        (
            {"arrivals": {"rate_qps": [5.0], "scv": [0.5], "lag1_autocorrelation": [0.0]}},
            "arrivals.scv[0]: expected a squared coefficient of variation > 1",
        ),
        (
            {"arrivals": {"rate_qps": [5.0], "scv": [2.0, 2.0], "lag1_autocorrelation": [0.0]}},
            "arrivals: expected scv: one value per rate_qps entry",
        ),
        ({"grid": {"timeouts_s": [0.03]}}, "grid.timeouts_s: expected multiples of time_step_s"),
        ({"grid": {"memory_mb": [64]}}, "grid: expected memory_mb: sizes within 128..10240 MB"),
        ({"service": {"fixed_ms": None}}, "service: expected either table (a CSV) or all of"),
        ({"percentile": "p42"}, "percentile"),
    ],
)
def test_bad_input_names_the_key(tmp_path: Path, overrides: dict[str, object], key: str) -> None:
    doc = tiny_batch(**overrides)
    if isinstance(doc.get("service"), dict):
        doc["service"] = {k: v for k, v in doc["service"].items() if v is not None}
    path = write(tmp_path, doc)
    result = run_cli("solve", path)
    assert result.exit_code == 2, result.stdout + result.stderr
    text = result.stdout + result.stderr
    assert str(path) in text and key in text


def test_bad_inter_arrival_file_names_the_file(tmp_path: Path) -> None:
    trace = tmp_path / "gaps.csv"
    trace.write_text("hour,gap\n0,0.1\n")
    doc = tiny_batch()
    doc["arrivals"] = {"inter_arrivals": str(trace)}
    path = write(tmp_path, doc)
    result = run_cli("solve", path)
    assert result.exit_code == 2
    assert "gaps.csv" in result.stdout + result.stderr
    assert "hour,inter_arrival_s" in result.stdout + result.stderr


def test_infeasible_slo_names_the_hour_and_the_best_latency(tmp_path: Path) -> None:
    path = write(tmp_path, tiny_batch(slo_ms=1000.0))
    result = run_cli("solve", path)
    text = result.stdout + result.stderr
    assert result.exit_code == 3, text
    assert "hour 0" in text and "lowest reachable p95" in text
