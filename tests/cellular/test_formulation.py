"""The cellular formulation end to end: brute force, solvers, verifier, errors, CLI."""

from __future__ import annotations

import itertools
import json
from functools import cache
from pathlib import Path

import pytest

import planner
from formulations.cellular.deployment import CellularDeployment, Pool
from formulations.cellular.view import CellularView
from tests.cellular.helpers import tiny, write
from tests.conftest import run_cli


@cache
def _view(tmp: str) -> CellularView:
    scenario = planner.load_scenario(Path(tmp))
    view: CellularView = scenario.formulation.prepare(scenario.inputs)
    return view


@pytest.fixture
def scenario(tmp_path: Path) -> Path:
    return write(tmp_path, tiny())


def _brute_force(view: CellularView) -> float:
    best = float("inf")
    by_gpu: dict[str, list[float]] = {}
    for c in view.candidates:
        by_gpu.setdefault(c.gpu, []).append(c.capacity_qps)
    gpus = sorted(by_gpu)
    for caps in itertools.product(*(by_gpu[g] for g in gpus)):
        for counts in itertools.product(*(range(view.max_count[g] + 1) for g in gpus)):
            if sum(n * r for n, r in zip(counts, caps, strict=True)) >= view.total_rate_qps:
                cost = sum(n * view.price_usd_per_h[g] for n, g in zip(counts, gpus, strict=True))
                best = min(best, cost)
    return best


@pytest.mark.parametrize("rate_qps", [300.0, 2500.0, 9000.0])
def test_brute_force_agrees(tmp_path: Path, rate_qps: float) -> None:
    path = write(tmp_path, tiny(rate_qps))
    plan = planner.solve(path)
    assert plan.objective.value == pytest.approx(_brute_force(_view(str(path))))


@pytest.mark.parametrize("backend", ["cbc", "scip"])
def test_solvers_agree(tmp_path: Path, backend: str) -> None:
    path = write(tmp_path, tiny(2500.0))
    highs = planner.solve(path)
    other = planner.solve(write(tmp_path, tiny(2500.0, solver={"backend": backend}), "b.toml"))
    assert other.objective.value == pytest.approx(highs.objective.value)


def _deployment(scenario: Path) -> tuple[CellularView, CellularDeployment]:
    plan = planner.solve(scenario)
    return _view(str(scenario)), plan.deployment


MUTATIONS = {
    "unknown gpu": (lambda p: p.model_copy(update={"gpu": "H100"}), "not a GPU type"),
    "too many": (lambda p: p.model_copy(update={"count": 99}), "> max_count"),
    "cell names": (lambda p: p.model_copy(update={"max_batch": {"x": 8}}), "max_batch names"),
    "batch range": (
        lambda p: p.model_copy(update={"max_batch": {"lstm": 4096}}),
        "is not one of the scenario's max_batch_candidates",
    ),
}


@pytest.mark.parametrize("name", sorted(MUTATIONS))
def test_verifier_mutations(scenario: Path, name: str) -> None:
    view, deployment = _deployment(scenario)
    mutate, message = MUTATIONS[name]
    bad = deployment.model_copy(update={"pools": [mutate(deployment.pools[0])]})
    violations = planner.load_scenario(scenario).formulation.verify(view, bad).violations
    assert any(message in v for v in violations), violations


def test_verifier_catches_short_capacity_and_duplicates(scenario: Path) -> None:
    view, deployment = _deployment(scenario)
    formulation = planner.load_scenario(scenario).formulation
    pool = deployment.pools[0]
    one = Pool(gpu=pool.gpu, count=1, max_batch={"lstm": 8})
    short = CellularDeployment(policy="cellular", pools=[one])
    heavy = write(scenario.parent, tiny(2e6), "heavy.toml")
    v = formulation.verify(_view(str(heavy)), short).violations
    assert any("> capacity" in m for m in v), v
    twice = CellularDeployment(policy="cellular", pools=[one, one])
    assert any("appears in 2 pools" in m for m in formulation.verify(view, twice).violations)
    assert not formulation.verify(view, deployment).violations


def test_bad_input_names_file_and_key(tmp_path: Path) -> None:
    path = write(tmp_path, tiny(slo_ms=-1.0))
    result = run_cli("solve", path)
    assert result.exit_code == 2
    assert str(path) in result.stderr + result.stdout and "slo_ms" in result.stderr + result.stdout


def test_non_finite_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "nan.toml"
    text = write(tmp_path, tiny()).read_text().replace("rate_qps = 280.0", "rate_qps = nan")
    path.write_text(text)
    result = run_cli("solve", path)
    assert result.exit_code == 2 and "rate_qps" in result.stderr + result.stdout


def test_infeasible_slo_names_the_bucket(tmp_path: Path) -> None:
    result = run_cli("solve", write(tmp_path, tiny(slo_ms=0.5)))
    assert result.exit_code == 3
    assert "even when idle" in result.stderr + result.stdout
    assert "11-30 tokens" in result.stderr + result.stdout


def test_infeasible_traffic_names_the_limit(tmp_path: Path) -> None:
    result = run_cli("solve", write(tmp_path, tiny(1e7)))
    assert result.exit_code == 3
    assert "exceeds the" in result.stderr + result.stdout


def test_check_names_the_short_bucket(tmp_path: Path) -> None:
    plan_path = tmp_path / "plan.json"
    path = write(tmp_path, tiny(2500.0))
    assert run_cli("solve", path, "-o", plan_path).exit_code == 0
    view, deployment = _deployment(path)
    committed = sum(
        p.count * c.capacity_qps
        for p in deployment.pools
        for c in view.candidates
        if (c.gpu, c.max_batch) == (p.gpu, (p.max_batch["lstm"],))
    )
    grown = write(tmp_path, tiny(1.5 * committed), "grown.toml")
    result = run_cli("check", plan_path, "--scenario", grown, "--format", "json")
    assert result.exit_code == 3
    report = json.loads(result.stdout)
    assert any(s["what"].startswith("length bucket 11-30 tokens") for s in report["shortfalls"])
    assert all(s["unit"] == "requests/s" for s in report["shortfalls"])


def test_simulate_cli_reports_each_policy(scenario: Path) -> None:
    result = run_cli("simulate", scenario, "--runs", "1", "--format", "json")
    assert result.exit_code == 0, result.stdout + result.stderr
    tables = json.loads(result.stdout)
    rows = tables[0]["rows"]  # the common replay schema (docs/replay.md)
    assert {r["plan"] for r in rows} == {
        "cellular",
        "graph_batching",
        "graph_batching_bucketed",
    }
    cellular = [r for r in rows if r["plan"] == "cellular" and r["class"] != "all"]
    assert {r["class"] for r in cellular} == {"1-10 tokens", "11-30 tokens"}
    assert all(r["slo_attainment_pct"] >= 99.0 for r in cellular)
    assert all(r["requests"] == r["served"] and r["dropped"] == 0 for r in cellular)
    pools = tables[1]["rows"]
    assert {r["plan"] for r in pools} == {r["plan"] for r in rows}
    assert all(0 < r["utilisation_pct"] < 100 for r in pools)
    analytic = tables[2]["rows"]  # replayed against the analytic percentiles
    assert all(r["slo_attainment_pct"] >= 99.0 for r in analytic if r["policy"] == "cellular")
