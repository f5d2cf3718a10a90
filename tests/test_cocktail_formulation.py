"""Cocktail formulation: brute force on tiny instances, solvers, verifier, bad inputs."""

from __future__ import annotations

import itertools
import math
import random
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import planner
from cost_models.cocktail.zoo import ZOO
from formulations.cocktail import FORMULATION
from formulations.cocktail.baselines import cocktail_greedy
from formulations.cocktail.candidates import dominated_instances
from formulations.cocktail.inputs import CocktailData, CocktailDeployment, CocktailInputs
from formulations.cocktail.simulate import simulate, simulate_with_baselines
from formulations.types import InfeasibleError, SolverError, SolverSettings
from planner.backends import make_solver
from tests.conftest import run_cli, write_scenario

SCENARIO = Path(__file__).resolve().parent.parent / "scenarios" / "cocktail" / "imagenet_day.toml"


def tiny(**overrides: Any) -> dict[str, Any]:
    document: dict[str, Any] = {
        "kind": "cocktail",
        "name": "tiny-cocktail",
        "solver": {"mip_gap": 1e-9},
        "interval_h": 1.0,
        "models": ["InceptionV3", "DenseNet121", "ResNet50", "MobileNetV2"],
        "instance_types": ["c5.xlarge", "g4dn.xlarge"],
        "max_ensemble_size": 3,
        "min_on_demand_share": 0.25,
        "correctness": {"n_samples": 2000, "correlation": 0.4, "seed": 1},
        "classes": [
            {
                "name": "strict",
                "slo_ms": 10.0,
                "accuracy_target": 0.77,
                "load": {"qps": [300.0, 900.0]},
            },
            {
                "name": "relaxed",
                "slo_ms": 80.0,
                "accuracy_target": 0.74,
                "load": {"qps": [60.0, 40.0]},
            },
        ],
    }
    document.update(overrides)
    return document


def inputs_of(document: dict[str, Any], base_dir: Path = Path(".")) -> CocktailInputs:
    body = {k: v for k, v in document.items() if k not in ("kind", "name", "solver")}
    return CocktailInputs.model_validate(body, context={"base_dir": base_dir})


# ---- brute force -------------------------------------------------------------------------


def _pool_capacity(data: CocktailData, m: int, i: int, od: int, sp: int) -> float:
    """Load a pool may carry: risk-discounted capacity, and on-demand covering beta of it."""
    cap = od * data.capacity_qps[m, i] + sp * data.capacity_qps[m, i] * (1 - data.spot_loss_prob[i])
    if data.min_on_demand_share > 0:
        cap = min(cap, od * data.capacity_qps[m, i] / data.min_on_demand_share)
    return float(cap)


def _pool_options(data: CocktailData, m: int, i: int, total: float) -> list[tuple[float, float]]:
    """(price, usable capacity) of every (on-demand, spot) count pair up to one VM more than
    the load needs on either kind alone, without pairs another pair dominates (no cheaper
    and no smaller): only a pool's capacity matters to routing."""
    top = math.ceil(total / (data.capacity_qps[m, i] * (1 - data.spot_loss_prob[i]))) + 1
    pairs = sorted(
        (
            (data.on_demand_usd_per_h[i] * od + data.spot_usd_per_h[i] * sp) * data.interval_h,
            _pool_capacity(data, m, i, od, sp),
        )
        for od in range(top + 1)
        for sp in range(top + 1)
    )
    kept: list[tuple[float, float]] = []
    for price, cap in pairs:
        if not kept or cap > kept[-1][1]:
            kept.append((price, cap))
    return kept


def _model_cost(data: CocktailData, m: int, demands: dict[int, float]) -> float:
    """Cheapest VMs for model m serving each class's demand on SLO-meeting types (Hall's
    condition over class subsets decides whether routing is feasible)."""
    types = range(len(data.instances))
    options = [_pool_options(data, m, i, sum(demands.values())) for i in types]
    groups = [g for r in range(1, len(demands) + 1) for g in itertools.combinations(demands, r)]
    best = math.inf
    for combo in itertools.product(*options):
        price = sum(p for p, _ in combo)
        if price >= best:
            continue
        if all(
            sum(demands[k] for k in group)
            <= sum(combo[i][1] for i in types if any(data.meets_slo(m, i, k) for k in group)) + 1e-9
            for group in groups
        ):
            best = price
    return best


def brute_force_cost(data: CocktailData) -> float:
    n_models = len(data.models)
    total = 0.0
    for t in range(data.n_intervals):
        options = []
        for k, cls in enumerate(data.classes):
            usable = [
                m
                for m in range(n_models)
                if any(data.meets_slo(m, i, k) for i in range(len(data.instances)))
            ]
            subsets = [
                s
                for r in range(1, data.max_ensemble_size + 1)
                for s in itertools.combinations(usable, r)
                if data.correctness.accuracy(s) >= cls.accuracy_target
            ]
            options.append(subsets)
        best = math.inf
        for choice in itertools.product(*options):
            cost = 0.0
            for m in {m for s in choice for m in s}:
                demands = {k: float(data.planned_qps[k, t]) for k, s in enumerate(choice) if m in s}
                cost += _model_cost(data, m, demands)
                if cost >= best:
                    break
            best = min(best, cost)
        total += best
    return total


def random_tiny(seed: int) -> dict[str, Any]:
    """Four random models; each class's target is the vote accuracy of a random subset of
    its SLO-meeting models (so some need an ensemble), or unreachable one time in eight."""
    rng = random.Random(seed)
    document = tiny(
        models=rng.sample(sorted(ZOO), 4),
        instance_types=rng.sample(
            ["c5.xlarge", "c5.2xlarge", "m5.xlarge", "g4dn.xlarge", "p2.xlarge"], 2
        ),
        max_ensemble_size=rng.choice([2, 3]),
        min_on_demand_share=rng.choice([0.0, 0.3]),
        interruption_rate_scale=rng.choice([1.0, 500.0]),
        correctness={"n_samples": 500, "correlation": rng.uniform(0.0, 0.5), "seed": seed},
        classes=[
            {
                "name": name,
                "slo_ms": rng.choice(slos),
                "accuracy_target": 0.5,
                "load": {"qps": [round(rng.uniform(5, 150), 1) for _ in range(2)]},
            }
            for name, slos in (("a", [5.0, 30.0, 200.0]), ("b", [30.0, 200.0]))
        ],
    )
    data = inputs_of(document).data()
    for k, cls in enumerate(document["classes"]):
        usable = [m for m in range(4) if any(data.meets_slo(m, i, k) for i in range(2))]
        size = min(len(usable), rng.randint(1, document["max_ensemble_size"]))
        subset = rng.sample(usable, size)
        reachable = data.correctness.accuracy(subset) if subset else 0.99
        cls["accuracy_target"] = 0.99 if rng.random() < 0.125 else round(reachable, 4)
    return document


@pytest.mark.parametrize("seed", range(12))
def test_milp_equals_brute_force_on_random_tiny_instances(seed: int) -> None:
    inputs = inputs_of(random_tiny(seed))
    expected = brute_force_cost(inputs.data())
    solver = make_solver(SolverSettings(mip_gap=1e-9))
    if math.isinf(expected):
        with pytest.raises(InfeasibleError):
            FORMULATION.plan(inputs, solver)
        return
    outcome = FORMULATION.plan(inputs, solver)
    assert outcome.objective.value == pytest.approx(expected, rel=1e-6, abs=1e-9)
    check = FORMULATION.verify(inputs, outcome.deployment)
    assert check.ok, check.violations
    assert check.objective_value == pytest.approx(expected, rel=1e-6, abs=1e-9)


@pytest.mark.parametrize("seed", range(3))
def test_milp_with_a_dominated_type_equals_brute_force(seed: int) -> None:
    document = random_tiny(seed)
    document["instance_types"] = ["m5.xlarge", "c5.xlarge"]
    for cls in document["classes"]:
        cls["slo_ms"], cls["accuracy_target"] = 300.0, 0.6
        cls["load"]["qps"] = [q / 4 for q in cls["load"]["qps"]]  # keeps the brute force fast
    inputs = inputs_of(document)
    expected = brute_force_cost(inputs.data())
    outcome = FORMULATION.plan(inputs, make_solver(SolverSettings(mip_gap=1e-9)))
    assert outcome.objective.value == pytest.approx(expected, rel=1e-6)


def test_brute_force_instances_cover_feasible_infeasible_and_ensemble_cases() -> None:
    """The comparison is not vacuous: some instances are infeasible, some feasible, and some
    optimum needs an ensemble of two or more models (not just the best single model)."""
    infeasible = {
        s: math.isinf(brute_force_cost(inputs_of(random_tiny(s)).data())) for s in range(12)
    }
    assert any(infeasible.values()) and not all(infeasible.values())
    solver = make_solver(SolverSettings(mip_gap=1e-9))
    largest = max(
        len(c.members)
        for s, bad in infeasible.items()
        if not bad
        for plan in FORMULATION.plan(inputs_of(random_tiny(s)), solver).deployment.intervals
        for c in plan.classes
    )
    assert largest >= 2


# ---- solvers ------------------------------------------------------------------------------


def test_backends_agree_on_tiny() -> None:
    inputs = inputs_of(tiny())
    values = {
        b: FORMULATION.plan(
            inputs, make_solver(SolverSettings(backend=b, mip_gap=1e-9))
        ).objective.value
        for b in ("highs", "cbc", "scip")
    }
    assert max(values.values()) == pytest.approx(min(values.values()), rel=1e-7), values


def test_cpsat_refuses_continuous_routes() -> None:
    with pytest.raises(SolverError):
        FORMULATION.plan(inputs_of(tiny()), make_solver(SolverSettings(backend="cpsat")))


def test_startup_costs_couple_intervals_and_are_billed() -> None:
    base = planner.solve(planner.scenario_from_dict(tiny()))
    with_startup = planner.solve(planner.scenario_from_dict(tiny(vm_startup_s=600.0)))
    assert with_startup.objective.value > base.objective.value
    # each VM of the first interval pays 600 s of start-up: at least 1/6 h of its price
    first_h = sum(r[-1] for r in base.tables[1].rows if r[0] == 0)
    assert with_startup.objective.value >= base.objective.value + first_h / 6 - 1e-9


def _pool_counts(dep: CocktailDeployment, t: int) -> dict[tuple[str, str], tuple[int, int]]:
    return {(p.model, p.instance_type): (p.on_demand, p.spot) for p in dep.intervals[t].pools}


def test_change_limit_zero_keeps_the_fleet_through_a_load_peak() -> None:
    document = tiny()
    document["classes"][0]["load"]["qps"] = [300.0, 900.0, 300.0]
    document["classes"][1]["load"]["qps"] = [60.0, 40.0, 60.0]
    free = FORMULATION.plan(inputs_of(document), make_solver())
    inputs = inputs_of({**document, "max_vm_changes": 0})
    frozen = FORMULATION.plan(inputs, make_solver())
    assert FORMULATION.verify(inputs, frozen.deployment).ok
    # the fleet sized for the 900 req/s peak also runs in the quiet intervals
    assert (
        _pool_counts(frozen.deployment, 0)
        == _pool_counts(frozen.deployment, 1)
        == _pool_counts(frozen.deployment, 2)
    )
    assert _pool_counts(free.deployment, 0) != _pool_counts(free.deployment, 1)
    assert frozen.objective.value > free.objective.value
    # the verifier rejects the unconstrained plan under the limit
    assert any(
        "max_vm_changes" in v for v in FORMULATION.verify(inputs, free.deployment).violations
    )


def test_milp_never_costs_more_than_the_greedy_on_the_same_constraints() -> None:
    inputs = inputs_of(tiny())
    outcome = FORMULATION.plan(inputs, make_solver())
    greedy = cocktail_greedy(inputs.data())
    check = FORMULATION.verify(inputs, greedy)
    assert check.ok, check.violations  # the greedy plan is feasible for the MILP
    assert outcome.objective.value <= check.objective_value + 1e-9
    assert outcome.baselines["cocktail_greedy"]["cost_usd"] == pytest.approx(check.objective_value)
    assert outcome.baselines["infaas"]["cost_over_milp"] >= 1.0


# ---- verifier mutations -------------------------------------------------------------------


@pytest.fixture(scope="module")
def solved() -> tuple[CocktailInputs, CocktailDeployment]:
    inputs = inputs_of(tiny())
    return inputs, FORMULATION.plan(inputs, make_solver()).deployment


def _mutations(dep: CocktailDeployment) -> dict[str, tuple[CocktailDeployment, str]]:
    """Each corruption of a valid plan, with a phrase of the violation it must cause."""
    out = {}

    def mutate(name: str, expected: str, change: Any) -> None:
        copy = dep.model_copy(deep=True)
        change(copy)
        out[name] = (copy, expected)

    first = dep.intervals[1]
    pool = next(p for p in first.pools if p.spot > 0 or p.on_demand > 1)

    def drop_vm(d: CocktailDeployment) -> None:
        p = next(
            q
            for q in d.intervals[1].pools
            if q.model == pool.model and q.instance_type == pool.instance_type
        )
        if p.spot > 0:
            p.spot -= 1
        else:
            p.on_demand -= 1

    def no_on_demand(d: CocktailDeployment) -> None:
        p = d.intervals[1].pools[0]
        p.spot += p.on_demand + 5
        p.on_demand = 0

    def weak_ensemble(d: CocktailDeployment) -> None:
        cls = d.intervals[0].classes[0]
        cls.members = ["MobileNetV2"]
        cls.routes = [r.model_copy(update={"model": "MobileNetV2"}) for r in cls.routes[:1]]

    def slow_route(d: CocktailDeployment) -> None:
        route = d.intervals[0].classes[0].routes[0]
        route.instance_type = "c5.xlarge"

    def outsider_route(d: CocktailDeployment) -> None:
        cls = d.intervals[0].classes[0]
        outsider = next(m for m in tiny()["models"] if m not in cls.members)
        cls.routes.append(cls.routes[0].model_copy(update={"model": outsider}))

    mutate("drop a VM", "exceed the risk-discounted capacity", drop_vm)
    mutate("on-demand share", "on-demand capacity", no_on_demand)
    mutate("weak ensemble", "below the target", weak_ensemble)
    mutate("route breaks SLO", "> SLO", slow_route)
    mutate("route to a non-member", "not to an ensemble member", outsider_route)
    mutate(
        "negative route",
        "must be finite and >= 0",
        lambda d: setattr(d.intervals[0].classes[0].routes[0], "qps", -1.0),
    )
    mutate(
        "half the load",
        "not the class load",
        lambda d: setattr(
            d.intervals[0].classes[1].routes[0], "qps", d.intervals[0].classes[1].routes[0].qps / 2
        ),
    )
    mutate("missing interval", "plan has 1 intervals", lambda d: d.intervals.pop())
    mutate(
        "renamed class",
        "differ from the scenario's",
        lambda d: setattr(d.intervals[0].classes[0], "name", "other"),
    )
    mutate(
        "negative VMs",
        "VM counts must be >= 0",
        lambda d: setattr(d.intervals[0].pools[0], "spot", -1),
    )
    mutate(
        "unknown model",
        "unknown or duplicated pool",
        lambda d: setattr(d.intervals[0].pools[0], "model", "AlexNet"),
    )
    mutate(
        "duplicate pool",
        "unknown or duplicated pool",
        lambda d: d.intervals[0].pools.append(d.intervals[0].pools[0]),
    )
    mutate(
        "empty ensemble",
        "must be non-empty",
        lambda d: setattr(d.intervals[0].classes[0], "members", []),
    )
    mutate(
        "too large ensemble",
        "exceeds max_ensemble_size",
        lambda d: setattr(
            d.intervals[0].classes[1],
            "members",
            ["InceptionV3", "DenseNet121", "ResNet50", "MobileNetV2"],
        ),
    )
    return out


def test_verifier_accepts_the_plan_and_rejects_every_mutation(
    solved: tuple[CocktailInputs, CocktailDeployment],
) -> None:
    inputs, dep = solved
    assert FORMULATION.verify(inputs, dep).ok
    mutations = _mutations(dep)
    assert len(mutations) == 14
    for name, (bad, expected) in mutations.items():
        violations = FORMULATION.verify(inputs, bad).violations
        # the violation the mutation aims at, not merely some side effect of it
        assert any(expected in v for v in violations), (name, violations)


def test_deployment_round_trips_through_json(
    solved: tuple[CocktailInputs, CocktailDeployment],
) -> None:
    inputs, dep = solved
    again = CocktailDeployment.model_validate_json(dep.model_dump_json())
    assert again == dep
    assert FORMULATION.verify(inputs, again).objective_value == pytest.approx(
        FORMULATION.verify(inputs, dep).objective_value
    )


# ---- simulation ---------------------------------------------------------------------------


def test_simulation_without_spot_risk_meets_every_target(
    solved: tuple[CocktailInputs, CocktailDeployment],
) -> None:
    inputs, dep = solved
    reports = simulate_with_baselines(inputs, dep, make_solver(), runs=3, seed=0)
    assert set(reports) == {"milp", "infaas", "clipper", "cocktail_greedy"}
    report = reports["milp"]
    assert report.spot_interruptions_per_run == 0  # real band rates: ~1e-4 per VM-hour
    assert report.targets_met_share == pytest.approx(1.0)
    assert report.requests == pytest.approx(
        sum(sum(c["load"]["qps"]) for c in tiny()["classes"]) * 3600
    )


def test_simulation_with_heavy_interruptions_is_seeded_and_loses_requests() -> None:
    inputs = inputs_of(tiny(interruption_rate_scale=20_000.0, min_on_demand_share=0.0))
    dep = FORMULATION.plan(inputs, make_solver()).deployment
    a = simulate(inputs.data(), dep, runs=5, seed=7)
    b = simulate(inputs.data(), dep, runs=5, seed=7)
    assert a == b
    assert a.spot_interruptions_per_run > 0
    assert a.targets_met_share < 1.0
    assert a.targets_met_share <= a.answered_share


def test_simulation_replays_observed_load_above_a_forecast() -> None:
    # EWMA plans interval 1 for (300 + 300) / 2... of the observed 300 -> 900: under-provisioned
    document = tiny()
    document["classes"][0]["load"] = {
        "qps": [300.0, 900.0],
        "forecast": "ewma",
        "forecast_alpha": 0.5,
    }
    inputs = inputs_of(document)
    data = inputs.data()
    assert data.planned_qps[0].tolist() == [300.0, 300.0]
    dep = FORMULATION.plan(inputs, make_solver()).deployment
    assert simulate(data, dep, runs=1, seed=0).targets_met_share < 0.9


# ---- bad inputs ---------------------------------------------------------------------------


def _solve_error(tmp_path: Path, document: dict[str, Any]) -> tuple[int, str]:
    path = write_scenario(tmp_path / "s.toml", document)
    result = run_cli("solve", path)
    return result.exit_code, result.stderr + result.stdout


def test_unreachable_accuracy_exits_3_naming_class_and_best_accuracy(tmp_path: Path) -> None:
    document = tiny()
    document["classes"][1]["accuracy_target"] = 0.99
    with pytest.raises(InfeasibleError) as err:
        planner.solve(planner.scenario_from_dict(document))
    message = str(err.value)
    assert "'relaxed'" in message and "best vote accuracy" in message
    best = float(message.split("best vote accuracy")[1].split()[-2])
    assert 0.7 < best < 0.99
    code, _ = _solve_error(tmp_path, document)
    assert code == 3


def test_unreachable_slo_exits_3(tmp_path: Path) -> None:
    document = tiny()
    document["classes"][0]["slo_ms"] = 0.01
    code, text = _solve_error(tmp_path, document)
    assert code == 3 and "strict" in text


@pytest.mark.parametrize(
    ("change", "key"),
    [
        (lambda d: d.update(models=["AlexNet"]), "models"),
        (lambda d: d.update(instance_types=["z9.huge"]), "instance_types"),
        (lambda d: d["classes"][0]["load"].update(trace="missing.txt"), "load"),
        (lambda d: d["classes"][0].update(accuracy_target=1.5), "accuracy_target"),
        (lambda d: d["classes"][1]["load"].update(qps=[1.0, 2.0, 3.0]), "classes.load"),
        (lambda d: d.update(vm_startup_s=7200.0), "vm_startup_s"),
        (lambda d: d.update(unknown_key=1), "unknown_key"),
    ],
)
def test_bad_inputs_exit_2(tmp_path: Path, change: Any, key: str) -> None:
    document = tiny()
    change(document)
    code, text = _solve_error(tmp_path, document)
    assert code == 2, text
    assert key in text


def test_malformed_correctness_matrix_exits_2(tmp_path: Path) -> None:
    (tmp_path / "c.csv").write_text("InceptionV3,DenseNet121,ResNet50,MobileNetV2\n1,0,x,1\n")
    code, text = _solve_error(tmp_path, tiny(correctness={"matrix": "c.csv"}))
    assert code == 2 and "line 2" in text


def test_user_correctness_matrix_and_trace(tmp_path: Path) -> None:
    rows = np.random.default_rng(0).random((400, 4)) < [0.78, 0.75, 0.75, 0.71]
    lines = ["InceptionV3,DenseNet121,ResNet50,MobileNetV2"]
    lines += [",".join(str(int(v)) for v in row) for row in rows]
    (tmp_path / "c.csv").write_text("\n".join(lines) + "\n")
    # 2 intervals of 10 s: 100 arrivals in the first, 300 in the second
    arrivals = np.concatenate([np.linspace(0, 9_999, 100), np.linspace(10_000, 19_999, 300)])
    (tmp_path / "t.txt").write_text("\n".join(f"{a:.1f}" for a in arrivals) + "\n")
    document = tiny(correctness={"matrix": "c.csv"}, interval_h=10 / 3600)
    document["classes"][0]["load"] = {"trace": "t.txt"}
    document["classes"][0]["accuracy_target"] = 0.74
    path = write_scenario(tmp_path / "s.toml", document)
    plan = planner.solve(path)
    loads = [r[2] for r in plan.tables[0].rows if r[1] == "strict"]
    assert loads == [10.0, 30.0]


# ---- shipped scenario ---------------------------------------------------------------------


def test_shipped_scenario_first_hours_beat_every_baseline() -> None:
    scenario = planner.load_scenario(SCENARIO)
    inputs = scenario.inputs
    for cls in inputs.classes:
        cls.load.qps = cls.load.qps[:3]
    plan = planner.solve(scenario)
    assert plan.status.value == "optimal"
    for name in ("infaas", "clipper", "cocktail_greedy"):
        assert plan.baselines[name]["cost_over_milp"] >= 1.0, name
    assert plan.baselines["infaas"]["cost_over_milp"] >= 1.45  # the paper's claim vs InFaaS


def test_cli_solve_writes_a_plan_that_check_accepts(tmp_path: Path) -> None:
    path = write_scenario(tmp_path / "s.toml", tiny())
    plan_file = tmp_path / "plan.json"
    solved = run_cli("solve", path, "-o", plan_file)
    assert solved.exit_code == 0, solved.stderr
    checked = run_cli("check", plan_file, "--scenario", path)
    assert checked.exit_code == 0, checked.stdout + checked.stderr


def test_dominated_instance_types_are_pruned() -> None:
    data = inputs_of(tiny(instance_types=["m5.xlarge", "c5.xlarge", "g4dn.xlarge"])).data()
    # m5.xlarge: same vCPUs (same latency) as c5.xlarge, dearer on-demand and spot, same band
    assert dominated_instances(data) == {0}


def test_a_trace_is_read_once_and_padded_to_the_horizon(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from formulations.cocktail import load

    reads: list[Path] = []
    read = load.read_arrivals_ms

    def counting(path: Path) -> np.ndarray:
        reads.append(path)
        return read(path)

    monkeypatch.setattr(load, "read_arrivals_ms", counting)
    # 20 arrivals in the first 10-s interval, none after: the other class has 3 intervals
    (tmp_path / "t.txt").write_text("\n".join(str(500 * j) for j in range(20)) + "\n")
    document = tiny(interval_h=10 / 3600)
    document["classes"][0]["load"] = {"trace": "t.txt"}
    document["classes"][1]["load"]["qps"] = [1.0, 2.0, 3.0]
    data = inputs_of(document, tmp_path).data()
    assert len(reads) == 1
    assert data.planned_qps[0].tolist() == [2.0, 0.0, 0.0]  # 20 requests / 10 s, then none
