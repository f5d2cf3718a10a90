"""ddl formulation: brute force, cross-solver agreement, verifier mutations, bad inputs."""

from __future__ import annotations

import itertools
import json
import random
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

import planner
from cost_models.ddl.estimate import Market
from formulations.ddl import FORMULATION
from formulations.ddl.candidates import candidates_by_job
from formulations.ddl.inputs import Assignment, DdlDeployment, DdlInputs, Mode
from formulations.types import ExitCode, InfeasibleError, InputError, SolverSettings
from planner.backends import make_solver

ROOT = Path(__file__).resolve().parents[1]
SCENARIOS = ROOT / "scenarios" / "ddl"
TYPES = [
    "p2.8xlarge",
    "p3.2xlarge",
    "p3.8xlarge",
    "p3.16xlarge",
    "g4dn.12xlarge",
    "g5.xlarge",
    "g5.12xlarge",
    "p4d.24xlarge",
]
MODELS = ["resnet50", "vgg11", "bert-base", "alexnet"]


def _random_document(seed: int) -> dict[str, Any]:
    rng = random.Random(seed)
    objective = rng.choice(["min_cost", "min_time"])
    jobs = []
    for j in range(rng.randint(1, 3)):
        job: dict[str, Any] = {
            "name": f"job{j}",
            "model": rng.choice(MODELS),
            "epochs": rng.randint(1, 5),
            "batch_per_gpu": rng.choice([16, 32, 64]),
            "precision": rng.choice(["fp32", "tf32", "fp16"]),
        }
        if objective == "min_cost" or rng.random() < 0.3:
            job["deadline_h"] = round(rng.uniform(0.05, 3.0), 3)
        jobs.append(job)
    doc: dict[str, Any] = {
        "kind": "ddl",
        "objective": objective,
        "jobs": jobs,
        "instance_types": rng.sample(TYPES, 3),
        "max_nodes": rng.randint(1, 3),
        "markets": rng.choice([["on_demand"], ["spot"], ["on_demand", "spot"]]),
    }
    if objective == "min_time":
        doc["budget_usd"] = round(rng.uniform(1.0, 80.0), 2)
    if rng.random() < 0.6:
        doc["quotas"] = [
            {"group": g, "market": m, "vcpus": rng.choice([32, 64, 96, 192])}
            for g in ("P", "G")
            for m in ("on_demand", "spot")
            if rng.random() < 0.5
        ]
    return doc


def _brute_force(inputs: DdlInputs) -> float | None:
    """Enumerate every assignment of a configuration to each job; best verified objective."""
    options = [
        [
            (spec.name, t, n, m)
            for t in inputs.instance_types
            for n in range(1, inputs.max_nodes + 1)
            for m in inputs.markets
        ]
        for spec in inputs.jobs
    ]
    best = None
    for combo in itertools.product(*options):
        deployment = DdlDeployment(
            assignments=[
                Assignment(job=j, instance_type=t, nodes=n, market=m) for j, t, n, m in combo
            ]
        )
        check = FORMULATION.verify(inputs, deployment)
        if check.ok and (best is None or check.objective_value < best):
            best = check.objective_value
    return best


@pytest.mark.parametrize("seed", range(14))
def test_optimum_equals_exhaustive_enumeration(seed: int) -> None:
    scenario = planner.scenario_from_dict(_random_document(seed))
    expected = _brute_force(scenario.inputs)
    if expected is None:
        with pytest.raises(InfeasibleError):
            planner.solve(scenario)
        return
    plan = planner.solve(scenario)
    assert plan.objective.value == pytest.approx(expected, rel=1e-7, abs=1e-9)


def test_random_instances_cover_both_outcomes() -> None:
    # The brute-force test above is only meaningful if its seeds hit feasible and
    # infeasible instances, both objectives and several jobs.
    docs = [_random_document(seed) for seed in range(14)]
    outcomes = {_brute_force(planner.scenario_from_dict(d).inputs) is None for d in docs}
    assert outcomes == {True, False}
    assert {d["objective"] for d in docs} == {"min_cost", "min_time"}
    assert max(len(d["jobs"]) for d in docs) > 1


@pytest.mark.parametrize("path", sorted(SCENARIOS.glob("*.toml")), ids=lambda p: p.stem)
def test_every_scenario_solves_to_a_verified_optimum(path: Path) -> None:
    plan = planner.solve(path)
    assert plan.status is planner.SolveStatus.OPTIMAL
    assert not plan.to_frame().empty


@pytest.mark.parametrize("name", ["shared_quota", "vgg11_imagenet_budget"])
def test_backends_agree(name: str) -> None:
    scenario = planner.load_scenario(SCENARIOS / f"{name}.toml")
    values = {
        backend: planner.solve(scenario, backend=backend).objective.value
        for backend in ("highs", "cbc", "scip", "cpsat")
    }
    assert max(values.values()) == pytest.approx(min(values.values()), rel=1e-6), values


def test_multi_job_min_time_agrees_without_cpsat() -> None:
    # The latest-finish variable is continuous, which CP-SAT refuses; the others agree.
    doc = {
        "kind": "ddl",
        "objective": "min_time",
        "budget_usd": 60.0,
        "max_nodes": 2,
        "instance_types": ["p3.8xlarge", "g5.12xlarge", "p4d.24xlarge"],
        "jobs": [
            {"name": "a", "model": "vgg11", "epochs": 3, "batch_per_gpu": 32},
            {"name": "b", "model": "resnet50", "epochs": 3, "batch_per_gpu": 64},
        ],
        "quotas": [{"group": "P", "market": "spot", "vcpus": 96}],
    }
    scenario = planner.scenario_from_dict(doc)
    values = [planner.solve(scenario, backend=b).objective.value for b in ("highs", "cbc", "scip")]
    assert max(values) == pytest.approx(min(values), rel=1e-6)
    assert max(values) == pytest.approx(_brute_force(scenario.inputs), rel=1e-7)


@pytest.fixture(scope="module")
def shared() -> tuple[DdlInputs, DdlDeployment]:
    scenario = planner.load_scenario(SCENARIOS / "shared_quota.toml")
    return scenario.inputs, planner.solve(scenario).deployment


def _mutated(deployment: DdlDeployment, index: int, **changes: Any) -> DdlDeployment:
    assignments = list(deployment.assignments)
    assignments[index] = assignments[index].model_copy(update=changes)
    return DdlDeployment(assignments=assignments)


def test_verifier_accepts_the_plan(shared: tuple[DdlInputs, DdlDeployment]) -> None:
    inputs, deployment = shared
    assert FORMULATION.verify(inputs, deployment).ok


@pytest.mark.parametrize(
    ("mutation", "expected"),
    [
        ("slow_instance", "> deadline"),
        ("too_many_nodes", "nodes outside 1..max_nodes"),
        ("unknown_job", "no such job"),
        ("missing_job", "assigned 0 configurations"),
        ("duplicate_job", "assigned 2 configurations"),
        ("disallowed_instance", "not allowed by instance_types"),
        ("disallowed_market", "not allowed by markets"),
        ("quota", "quota P/spot"),
    ],
)
def test_verifier_catches_mutations(
    shared: tuple[DdlInputs, DdlDeployment], mutation: str, expected: str
) -> None:
    # Some mutations also break a quota; each must be caught by its own check, so the
    # test asserts that check's message, not merely that the plan is rejected.
    inputs, deployment = shared
    first = deployment.assignments[0]
    if mutation == "disallowed_market":
        inputs = inputs.model_copy(
            update={"markets": [m for m in inputs.markets if m != first.market]}
        )
    elif mutation == "disallowed_instance":
        inputs = inputs.model_copy(
            update={
                "instance_types": [t for t in inputs.instance_types if t != first.instance_type]
            }
        )
    bad = {
        "slow_instance": lambda: _mutated(deployment, 0, instance_type="p2.8xlarge", nodes=1),
        "too_many_nodes": lambda: _mutated(deployment, 0, nodes=inputs.max_nodes + 1),
        "unknown_job": lambda: _mutated(deployment, 0, job="nobody"),
        "missing_job": lambda: DdlDeployment(assignments=deployment.assignments[1:]),
        "duplicate_job": lambda: DdlDeployment(
            assignments=[*deployment.assignments, deployment.assignments[0]]
        ),
        "disallowed_instance": lambda: deployment,
        "disallowed_market": lambda: deployment,
        # Put every job on 2 x p4d.24xlarge spot: 3 x 192 vCPUs > the P spot quota of 96.
        "quota": lambda: DdlDeployment(
            assignments=[
                a.model_copy(
                    update={"instance_type": "p4d.24xlarge", "nodes": 2, "market": Market.SPOT}
                )
                for a in deployment.assignments
            ]
        ),
    }[mutation]()
    violations = FORMULATION.verify(inputs, bad).violations
    assert any(expected in v for v in violations), violations


def test_verifier_catches_budget_overrun() -> None:
    scenario = planner.load_scenario(SCENARIOS / "vgg11_imagenet_budget.toml")
    plan = planner.solve(scenario)
    tight = scenario.inputs.model_copy(update={"budget_usd": 1.0})
    violations = FORMULATION.verify(tight, plan.deployment).violations
    assert any("budget" in v for v in violations)


def test_plan_round_trips_through_json_and_check(tmp_path: Path) -> None:
    path = SCENARIOS / "resnet50_imagenet_deadline.toml"
    plan = planner.solve(path)
    stored = tmp_path / "plan.json"
    stored.write_text(plan.to_json())
    data = json.loads(stored.read_text())
    assert FORMULATION.deployment_model.model_validate(data["deployment"]) == plan.deployment
    report = planner.check(stored, path)
    assert report.feasible and report.exit_code is ExitCode.OK


def test_recommendation_table_and_baselines() -> None:
    plan = planner.solve(SCENARIOS / "vgg11_imagenet_deadline.toml")
    frame = plan.to_frame()
    assert list(frame["job"]) == ["vgg11"]
    shares = frame[["compute_pct", "fetch_pct", "prep_pct", "interconnect_pct", "network_pct"]].sum(
        axis=1
    )
    assert shares.iloc[0] == pytest.approx(100.0, abs=0.3)
    assert set(plan.baselines) == {"most_expensive", "fastest_single_node", "naive_cheapest"}
    assert all(
        b["cost_usd"] >= plan.objective.value * (1 - 1e-9)
        for b in plan.baselines.values()
        if b["meets_deadline"]
    )
    candidates = plan.tables[1]
    verdicts = [row[-1] for row in candidates.rows]
    assert verdicts[candidates.marked_row] == "recommended"
    assert all(v.startswith("rejected") or "tie" in v for v in verdicts[: candidates.marked_row])


def test_joint_plan_respects_the_shared_quota(shared: tuple[DdlInputs, DdlDeployment]) -> None:
    # Each job's own cheapest configuration, chosen independently, breaks the spot P quota;
    # the joint optimum costs more and the verifier rejects the independent combination.
    inputs, deployment = shared
    solver = make_solver(SolverSettings())
    independent = []
    for spec in inputs.jobs:
        alone = inputs.model_copy(update={"jobs": [spec], "quotas": []})
        independent += FORMULATION.plan(alone, solver).deployment.assignments
    combined = DdlDeployment(assignments=independent)
    assert any("quota" in v for v in FORMULATION.verify(inputs, combined).violations)
    joint = FORMULATION.verify(inputs, deployment).objective_value
    free = inputs.model_copy(update={"quotas": []})
    assert joint > FORMULATION.verify(free, combined).objective_value
    table = FORMULATION.tables(inputs, deployment)[5]  # candidates of the third job
    assert any("other jobs" in row[-1] for row in table.rows)


def test_near_optimal_pct_trades_time_for_cost() -> None:
    scenario = planner.load_scenario(SCENARIOS / "vgg11_imagenet_budget.toml")
    exact = scenario.inputs.model_copy(update={"near_optimal_pct": 0.0})
    solver = make_solver(SolverSettings())
    fastest = FORMULATION.plan(exact, solver)
    relaxed = FORMULATION.plan(scenario.inputs, solver)
    assert relaxed.objective.value <= fastest.objective.value * 1.01
    assert relaxed.warnings
    cost = {
        id(o): sum(FORMULATION.tables(i, o.deployment)[0].to_frame()["cost_usd"])
        for i, o in ((exact, fastest), (scenario.inputs, relaxed))
    }
    assert cost[id(relaxed)] < 0.5 * cost[id(fastest)]


def test_infeasible_deadline_names_the_fastest_time() -> None:
    doc = {
        "kind": "ddl",
        "jobs": [
            {"name": "vgg", "model": "vgg11", "epochs": 90, "batch_per_gpu": 32, "deadline_h": 0.1}
        ],
    }
    with pytest.raises(
        InfeasibleError,
        match=r"job vgg: deadline 0.1 h cannot be met; the "
        r"fastest configuration, .* takes \d+\.\d+ h",
    ):
        planner.solve(planner.scenario_from_dict(doc))


def test_infeasible_budget_names_the_cheapest_plan() -> None:
    doc = {
        "kind": "ddl",
        "objective": "min_time",
        "budget_usd": 0.01,
        "jobs": [{"name": "r", "model": "resnet50", "epochs": 5, "batch_per_gpu": 64}],
    }
    with pytest.raises(
        InfeasibleError,
        match=r"job r: the cheapest configuration that meets "
        r"its deadline, .* costs \$\d+\.\d\d, above "
        r"the \$0.01 budget",
    ):
        planner.solve(planner.scenario_from_dict(doc))


def test_infeasible_quota_names_the_quota() -> None:
    doc = {
        **BASE,
        "quotas": [
            {"group": g, "market": m, "vcpus": 2} for g in ("P", "G") for m in ("on_demand", "spot")
        ],
    }
    with pytest.raises(
        InfeasibleError,
        match=r"exceeds a vCPU quota on its own \(the "
        r"smallest, .*, needs 4 vCPUs",
    ):
        planner.solve(planner.scenario_from_dict(doc))


def test_cli_exit_code_3_on_infeasible_deadline(tmp_path: Path) -> None:
    path = tmp_path / "tight.toml"
    path.write_text(
        'kind = "ddl"\n[[jobs]]\nname = "bert"\nmodel = "bert-base"\n'
        "epochs = 3\nbatch_per_gpu = 32\ndeadline_h = 0.001\n"
    )
    run = subprocess.run(
        [sys.executable, str(ROOT / "cli.py"), "solve", str(path)],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=120,
    )
    assert run.returncode == ExitCode.INFEASIBLE, run.stderr
    assert "fastest configuration" in run.stderr + run.stdout


BASE = {
    "kind": "ddl",
    "jobs": [{"name": "r", "model": "resnet50", "epochs": 1, "batch_per_gpu": 64, "deadline_h": 5}],
}


@pytest.mark.parametrize(
    ("patch", "key"),
    [
        ({"jobs": [{**BASE["jobs"][0], "model": "gpt-17"}]}, "jobs[0].model"),
        ({"jobs": [{**BASE["jobs"][0], "epochs": 0}]}, "jobs[0].epochs"),
        ({"jobs": [{**BASE["jobs"][0], "deadline_h": -1.0}]}, "jobs[0].deadline_h"),
        (
            {"jobs": [{k: v for k, v in BASE["jobs"][0].items() if k != "deadline_h"}]},
            "jobs[0].deadline_h",
        ),
        ({"jobs": [BASE["jobs"][0], BASE["jobs"][0]]}, "jobs[1].name"),
        ({"objective": "min_time"}, "budget_usd"),
        ({"markets": ["spot", "spot"]}, "markets"),
        ({"instance_types": ["p9.huge"]}, "instance_types"),
        ({"instance_types": ["c5.xlarge"]}, "instance_types"),
        ({"markets": ["reserved"]}, "markets[0]"),
        ({"spot_usd_per_h": {"p3.2xlarge": -1.0}}, "spot_usd_per_h"),
        ({"quotas": [{"group": "X", "market": "spot", "vcpus": 8}]}, "quotas[0].group"),
        ({"assumptions": {"storage_mb_per_s": 0}}, "assumptions.storage_mb_per_s"),
        ({"assumptions": {"bucket_size": 25}}, "assumptions.bucket_size"),
        (
            {"jobs": [{**BASE["jobs"][0], "samples_per_s_per_gpu": {"Z80": 100.0}}]},
            "jobs[0].samples_per_s_per_gpu",
        ),
        ({"max_nodes": 0}, "max_nodes"),
        ({"jobs": []}, "jobs"),
    ],
)
def test_bad_inputs_name_the_key(patch: dict[str, Any], key: str) -> None:
    with pytest.raises(InputError) as info:
        planner.scenario_from_dict({**BASE, **patch}, file="s.toml")
    assert info.value.key == key
    assert info.value.exit_code is ExitCode.INVALID_INPUT


def test_measured_rate_overrides_the_roofline() -> None:
    doc = {
        **BASE,
        "instance_types": ["p3.2xlarge"],
        "max_nodes": 1,
        "markets": ["on_demand"],
        "jobs": [{**BASE["jobs"][0], "deadline_h": 10, "samples_per_s_per_gpu": {"V100": 64.0}}],
    }
    inputs = planner.scenario_from_dict(doc).inputs
    outcome = FORMULATION.plan(inputs, make_solver(SolverSettings()))
    row = FORMULATION.tables(inputs, outcome.deployment)[0].rows[0]
    assert inputs.objective is Mode.MIN_COST
    # 64 images at 64 images/s = 1 s per iteration plus the optimizer step (~1 ms).
    assert row[9] == pytest.approx(1.001, abs=2e-3)


def test_candidates_are_cached_per_inputs_content() -> None:
    inputs = planner.load_scenario(SCENARIOS / "shared_quota.toml").inputs
    first = candidates_by_job(inputs)
    assert candidates_by_job(inputs) is first  # plan and tables share one enumeration
    # model_copy copies private attributes; the content key must force a re-enumeration.
    smaller = inputs.model_copy(update={"max_nodes": 1})
    assert {c.estimate.nodes for c in candidates_by_job(smaller)["vgg11"]} == {1}
    assert {c.estimate.nodes for c in first["vgg11"]} == set(range(1, inputs.max_nodes + 1))
