"""The ``llm`` formulation: brute force, solvers, verifier, bad input, infeasible, CLI."""

from __future__ import annotations

import itertools
import json
import math
from pathlib import Path

import numpy as np
import pytest

import planner
from formulations.llm.deployment import LlmDeployment, PoolPlan, SliceAssignment
from planner.engine import prepared_view
from tests.conftest import REFERENCE, run_cli, write_scenario
from tests.llm.helpers import CHAT, ROOT, profiled, scenario, small_model


def _brute_force(
    rates: dict[str, list[float]], prices: dict[str, float], lam: list[float], s: int
) -> float:
    gpus = list(rates)
    slices = [(b, lam[b] / s) for b in range(len(lam)) for _ in range(s)]
    best = math.inf
    for choice in itertools.product(range(len(gpus)), repeat=len(slices)):
        load = [0.0] * len(gpus)
        for (b, qps), g in zip(slices, choice, strict=True):
            load[g] += qps / rates[gpus[g]][b]
        best = min(
            best, sum(math.ceil(x - 1e-9) * prices[g] for x, g in zip(load, gpus, strict=True))
        )
    return best


@pytest.mark.parametrize("seed", range(6))
def test_matches_brute_force_on_tiny_instances(seed: int) -> None:
    rng = np.random.default_rng(seed)
    rates = {g: rng.uniform(1, 20, 3).round(2).tolist() for g in ("X", "Y")}
    prices = {"X": round(float(rng.uniform(0.5, 2)), 2), "Y": round(float(rng.uniform(2, 6)), 2)}
    shares = rng.dirichlet(np.ones(3)).round(6)
    shares[-1] = 1 - shares[:-1].sum()
    doc = profiled({g: [r] for g, r in rates.items()}, prices, [shares.tolist()], 25.0, 2)
    plan = planner.solve(scenario(doc))
    lam = (25.0 * shares).tolist()
    assert plan.objective.value == pytest.approx(_brute_force(rates, prices, lam, 2), abs=1e-6)


def test_counting_slices_matches_melanges_binaries() -> None:
    plan = planner.solve(scenario(small_model(slice_factor=4)))
    melange = next(b for b in plan.baselines if b.name == "melange")
    assert melange.status == "feasible"
    # ours has TP 2 on A10G as well: never worse than Melange's TP-1 model
    assert plan.objective.value <= melange.objective + 1e-9


@pytest.mark.parametrize("backend", ["highs", "cbc", "scip"])
def test_solvers_agree(backend: str) -> None:
    plan = planner.solve(scenario(small_model(backend)), baselines=False)
    reference = planner.solve(scenario(small_model("highs")), baselines=False)
    assert plan.objective.value == pytest.approx(reference.objective.value, rel=1e-6)


def _plan_and_view() -> tuple[LlmDeployment, object]:
    sc = scenario(small_model())
    plan = planner.solve(sc, baselines=False)
    return plan.deployment, prepared_view(sc)  # type: ignore[return-value]


MUTATIONS = {
    "fewer replicas": (lambda d: d.pools[0].__setattr__("replicas", 0), "load: pool"),
    "slice dropped": (
        lambda d: d.assignments[0].__setattr__("slices", d.assignments[0].slices - 1),
        "cover: bucket",
    ),
    "unknown pool": (
        lambda d: d.pools.append(PoolPlan(pool="T4/tp1/both", replicas=1)),
        "not a pool of the scenario",
    ),
    "wrong slice factor": (
        lambda d: d.__setattr__("slice_factor", 3),
        "slice_factor: the deployment has 3",
    ),
    "decode without prefill": (
        lambda d: d.assignments.append(
            SliceAssignment(bucket=d.assignments[0].bucket, pool="A10G/tp1/decode", slices=1)
        ),
        "unknown pool",
    ),
}


@pytest.mark.parametrize("name", sorted(MUTATIONS))
def test_verifier_catches(name: str) -> None:
    deployment, view = _plan_and_view()
    formulation = planner.load_scenario(CHAT).formulation
    assert formulation.verify(view, deployment).ok
    mutate, message = MUTATIONS[name]
    broken = deployment.model_copy(deep=True)
    mutate(broken)
    violations = formulation.verify(view, broken).violations
    assert any(message in v for v in violations), violations


def test_verifier_catches_unavailable_gpus() -> None:
    sc = scenario(small_model(gpus=[{"name": "A10G", "max_count": 3}, {"name": "A100-80GB"}]))
    plan = planner.solve(sc, baselines=False)
    view = prepared_view(sc)
    broken = plan.deployment.model_copy(deep=True)
    broken.pools = [PoolPlan(pool="A10G/tp1/both", replicas=4)]
    assert any(
        "avail: 4 A10G GPUs planned, 3 available" in v
        for v in sc.formulation.verify(view, broken).violations
    )


def test_bad_input_names_file_and_key(tmp_path: Path) -> None:
    doc = small_model()
    doc["slo"]["ttft_ms"] = -1
    path = write_scenario(tmp_path / "bad.toml", doc)
    result = run_cli("solve", path)
    assert result.exit_code == 2
    assert (
        "bad.toml" in result.stderr + result.stdout
        and "slo.ttft_ms" in result.stderr + result.stdout
    )


def test_non_finite_values_are_refused(tmp_path: Path) -> None:
    path = tmp_path / "nan.toml"
    text = (ROOT / "scenarios" / "llm" / "chat_llama2_7b.toml").read_text()
    path.write_text(text.replace("total_rate_qps = 40", "total_rate_qps = nan"))
    result = run_cli("solve", path)
    assert result.exit_code == 2 and "workload.total_rate_qps" in result.stderr + result.stdout


def test_shares_must_sum_to_one(tmp_path: Path) -> None:
    doc = small_model()
    doc["workload"]["shares"] = [[0.3, 0.3], [0.2, 0.1]]
    result = run_cli("solve", write_scenario(tmp_path / "s.toml", doc))
    assert result.exit_code == 2 and "summing to 1" in result.stderr + result.stdout


def test_unservable_bucket_is_infeasible(tmp_path: Path) -> None:
    doc = small_model(slo={"ttft_ms": 5, "tpot_ms": 100})  # no prompt prefills in 5 ms
    result = run_cli("solve", write_scenario(tmp_path / "i.toml", doc))
    assert result.exit_code == 3
    assert (
        "no GPU type and TP degree serves bucket(s) in 1-250 / out 1-200"
        in result.stderr + result.stdout
    )


def test_too_few_gpus_is_infeasible(tmp_path: Path) -> None:
    doc = small_model(gpus=[{"name": "L4", "max_count": 1}])
    result = run_cli("solve", write_scenario(tmp_path / "i.toml", doc))
    assert (
        result.exit_code == 3
        and "the available GPUs (L4 <= 1) cannot serve 12" in result.stderr + result.stdout
    )


def test_check_names_the_short_bucket(tmp_path: Path) -> None:
    path = write_scenario(tmp_path / "a.toml", small_model())
    plan_path = tmp_path / "plan.json"
    assert run_cli("solve", path, "-o", plan_path).exit_code == 0
    grown = small_model()
    grown["workload"]["total_rate_qps"] = 30
    result = run_cli("check", plan_path, "--scenario", write_scenario(tmp_path / "b.toml", grown))
    assert result.exit_code != 0
    assert "bucket in " in result.stdout + result.stderr


def test_simulate_cli_reports_attainment(tmp_path: Path) -> None:
    path = write_scenario(tmp_path / "a.toml", small_model())
    result = run_cli("simulate", path, "--runs", "1")
    assert result.exit_code == 0, result.stdout + result.stderr
    assert "ttft_attainment" in result.stdout


def test_melange_example_matches_the_published_output() -> None:
    if not (REFERENCE / "melange").is_dir():
        pytest.skip("../shared/reference/melange is absent")
    plan = planner.solve(ROOT / "scenarios" / "llm" / "melange_example.toml")
    # README 'Solver Output': {"A10G": 3, "A100-80GB": 1, "cost": 6.7}
    assert plan.objective.value == pytest.approx(6.7)
    replicas = {p.pool: p.replicas for p in plan.deployment.pools}
    assert replicas == {"A10G/tp1/both": 3, "A100-80GB/tp1/both": 1}
    document = json.loads(plan.to_json())
    assert document["objective"] == pytest.approx(6.7)
