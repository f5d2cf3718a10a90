"""Cocktail formulation: brute force on tiny instances, solvers, verifier, bad inputs."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import planner
from cost_models.units import SECONDS_PER_HOUR
from formulations.cocktail import FORMULATION
from formulations.cocktail.baselines import cocktail_deployment
from formulations.cocktail.deployment import CocktailDeployment
from formulations.cocktail.simulate import simulate, simulate_with_baselines
from formulations.cocktail.view import CocktailView
from formulations.types import InfeasibleError, SolverSettings
from planner.backends import make_solver
from tests.cocktail.helpers import (
    SCENARIO,
    brute_force_cost,
    random_tiny,
    solve_view,
    tiny,
    view_of,
)
from tests.conftest import run_cli, write_scenario

EXACT = SolverSettings(mip_gap=1e-9)


@pytest.mark.parametrize("seed", range(12))
def test_milp_equals_brute_force_on_random_tiny_instances(seed: int) -> None:
    view = view_of(random_tiny(seed))
    expected = brute_force_cost(view)
    solver = make_solver(EXACT)
    if math.isinf(expected):
        with pytest.raises(InfeasibleError):
            FORMULATION.solve(view, solver)
        return
    solution = FORMULATION.solve(view, solver)
    assert solution.certificate.objective == pytest.approx(expected, rel=1e-6, abs=1e-9)
    check = FORMULATION.verify(view, solution.deployment)
    assert check.ok, check.violations
    assert check.objective_value == pytest.approx(expected, rel=1e-6, abs=1e-9)


@pytest.mark.parametrize("seed", range(3))
def test_milp_with_a_dominated_type_equals_brute_force(seed: int) -> None:
    document = random_tiny(seed)
    document["instance_types"] = ["m5.xlarge", "c5.xlarge"]
    for cls in document["classes"]:
        cls["slo_ms"], cls["accuracy_target"] = 300.0, 0.6
        cls["load"]["qps"] = [q / 4 for q in cls["load"]["qps"]]  # keeps the brute force fast
    view = view_of(document)
    assert view.dominated == {0}  # m5.xlarge is left out: the comparison covers pruning
    expected = brute_force_cost(view)
    solution = FORMULATION.solve(view, make_solver(EXACT))
    assert solution.certificate.objective == pytest.approx(expected, rel=1e-6)


def test_brute_force_instances_cover_feasible_infeasible_and_ensemble_cases() -> None:
    """The comparison is not vacuous: some instances are infeasible, some feasible, and some
    optimum needs an ensemble of two or more models (not just the best single model)."""
    infeasible = {s: math.isinf(brute_force_cost(view_of(random_tiny(s)))) for s in range(12)}
    assert any(infeasible.values()) and not all(infeasible.values())
    solver = make_solver(EXACT)
    largest = max(
        len(c.members)
        for s, bad in infeasible.items()
        if not bad
        for plan in FORMULATION.solve(view_of(random_tiny(s)), solver).deployment.intervals
        for c in plan.classes
    )
    assert largest >= 2


# ---- solvers ------------------------------------------------------------------------------


def test_backends_agree_on_tiny() -> None:
    view = view_of(tiny())
    values = {
        b: solve_view(
            view, make_solver(SolverSettings(backend=b, mip_gap=1e-9))
        ).certificate.objective
        for b in ("highs", "cbc", "scip")
    }
    assert max(values.values()) == pytest.approx(min(values.values()), rel=1e-7), values


def test_cpsat_refuses_continuous_routes() -> None:
    with pytest.raises(planner.SolverError, match="continuous variables"):
        solve_view(view_of(tiny()), make_solver(SolverSettings(backend="cpsat")))


def test_startup_costs_couple_intervals_and_are_billed() -> None:
    base = planner.solve(planner.scenario_from_dict(tiny()))
    with_startup = planner.solve(planner.scenario_from_dict(tiny(vm_startup_s=600.0)))
    assert with_startup.objective.value > base.objective.value
    # each VM of the first interval pays 600 s of start-up: at least 1/6 h of its price
    first_h = sum(r[-1] for r in base.tables[1].rows if r[0] == 0)
    assert with_startup.objective.value >= base.objective.value + first_h / 6 - 1e-9
    # one MILP over the horizon; its certificate is that model's
    assert with_startup.certificate.solves == 1 and base.certificate.solves == 2


def _pool_counts(dep: CocktailDeployment, t: int) -> dict[tuple[str, str], tuple[int, int]]:
    return {(p.model, p.instance_type): (p.on_demand, p.spot) for p in dep.intervals[t].pools}


def test_change_limit_zero_keeps_the_fleet_through_a_load_peak() -> None:
    document = tiny()
    document["classes"][0]["load"]["qps"] = [300.0, 900.0, 300.0]
    document["classes"][1]["load"]["qps"] = [60.0, 40.0, 60.0]
    free = solve_view(view_of(document))
    view = view_of({**document, "max_vm_changes": 0})
    frozen = solve_view(view)
    assert FORMULATION.verify(view, frozen.deployment).ok
    # the fleet sized for the 900 req/s peak also runs in the quiet intervals
    assert (
        _pool_counts(frozen.deployment, 0)
        == _pool_counts(frozen.deployment, 1)
        == _pool_counts(frozen.deployment, 2)
    )
    assert _pool_counts(free.deployment, 0) != _pool_counts(free.deployment, 1)
    assert frozen.certificate.objective > free.certificate.objective
    # the verifier rejects the unconstrained plan under the limit
    assert any("max_vm_changes" in v for v in FORMULATION.verify(view, free.deployment).violations)


def test_milp_never_costs_more_than_cocktail_on_the_same_constraints() -> None:
    view = view_of(tiny())
    plan = planner.solve(planner.scenario_from_dict(tiny()))
    cocktail = cocktail_deployment(view)
    check = FORMULATION.verify(view, cocktail)
    assert check.ok, check.violations  # Cocktail's plan is feasible for the MILP here
    assert plan.objective.value <= check.objective_value + 1e-9
    scored = plan.baseline("cocktail")
    assert scored.status == "feasible"
    assert scored.objective == pytest.approx(check.objective_value)
    assert scored.plan_advantage == pytest.approx(check.objective_value / plan.objective.value)
    assert plan.baseline("infaas").plan_advantage >= 1.0


# ---- verifier mutations -------------------------------------------------------------------


@pytest.fixture(scope="module")
def solved() -> tuple[CocktailView, CocktailDeployment]:
    view = view_of(tiny())
    return view, solve_view(view).deployment


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
    solved: tuple[CocktailView, CocktailDeployment],
) -> None:
    view, dep = solved
    assert FORMULATION.verify(view, dep).ok
    mutations = _mutations(dep)
    assert len(mutations) == 14
    for name, (bad, expected) in mutations.items():
        violations = FORMULATION.verify(view, bad).violations
        # the violation the mutation aims at, not merely some side effect of it
        assert any(expected in v for v in violations), (name, violations)


def test_deployment_round_trips_through_json(
    solved: tuple[CocktailView, CocktailDeployment],
) -> None:
    view, dep = solved
    again = CocktailDeployment.model_validate_json(dep.model_dump_json())
    assert again == dep
    assert FORMULATION.verify(view, again).objective_value == pytest.approx(
        FORMULATION.verify(view, dep).objective_value
    )


# ---- simulation ---------------------------------------------------------------------------


def test_simulation_without_spot_risk_meets_every_target(
    solved: tuple[CocktailView, CocktailDeployment],
) -> None:
    view, dep = solved
    reports = simulate_with_baselines(view, dep, make_solver(), runs=3, seed=0)
    assert set(reports) == {
        "milp",
        "infaas",
        "infaas_spot",
        "infaas_cocktail",
        "clipper_all_models",
        "cocktail",
    }
    report = reports["milp"]
    assert report.spot_interruptions_per_run == 0  # real band rates: ~1e-4 per VM-hour
    assert report.targets_met_share == pytest.approx(1.0)
    assert report.requests == pytest.approx(
        sum(sum(c["load"]["qps"]) for c in tiny()["classes"]) * SECONDS_PER_HOUR
    )


def test_simulation_with_heavy_interruptions_is_seeded_and_loses_requests() -> None:
    view = view_of(tiny(interruption_rate_scale=20_000.0, min_on_demand_share=0.0))
    dep = solve_view(view).deployment
    a = simulate(view, dep, runs=5, seed=7)
    b = simulate(view, dep, runs=5, seed=7)
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
    view = view_of(document)
    assert view.planned_qps[0].tolist() == [300.0, 300.0]
    dep = solve_view(view).deployment
    assert simulate(view, dep, runs=1, seed=0).targets_met_share < 0.9


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
    document = tiny(correctness={"matrix": "c.csv"}, interval_h=10 / SECONDS_PER_HOUR)
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
    for name in ("infaas", "infaas_spot", "infaas_cocktail", "clipper_all_models", "cocktail"):
        baseline = plan.baseline(name)
        assert baseline.objective is not None and baseline.objective >= plan.objective.value, name
    for name in ("infaas", "infaas_spot", "infaas_cocktail", "cocktail"):
        assert plan.baseline(name).status == "feasible", name
    # Clipper's all-model ensembles exceed max_ensemble_size: verified infeasible, unscored
    clipper = plan.baseline("clipper_all_models")
    assert clipper.status == "infeasible" and clipper.plan_advantage is None
    assert any("exceeds max_ensemble_size" in v for v in clipper.violations)
    # INFaaS's own rule on spot VMs is never dearer than on on-demand VMs
    assert plan.baseline("infaas").plan_advantage >= plan.baseline("infaas_spot").plan_advantage


def test_cli_solve_writes_a_plan_that_check_accepts(tmp_path: Path) -> None:
    path = write_scenario(tmp_path / "s.toml", tiny())
    plan_file = tmp_path / "plan.json"
    solved = run_cli("solve", path, "-o", plan_file)
    assert solved.exit_code == 0, solved.stderr
    checked = run_cli("check", plan_file, "--scenario", path)
    assert checked.exit_code == 0, checked.stdout + checked.stderr


def test_dominated_instance_types_are_pruned() -> None:
    view = view_of(tiny(instance_types=["m5.xlarge", "c5.xlarge", "g4dn.xlarge"]))
    # m5.xlarge: same vCPUs (same latency) as c5.xlarge, dearer on-demand and spot, same band
    assert view.dominated == {0}


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
    document = tiny(interval_h=10 / SECONDS_PER_HOUR)
    document["classes"][0]["load"] = {"trace": "t.txt"}
    document["classes"][1]["load"]["qps"] = [1.0, 2.0, 3.0]
    view = view_of(document, tmp_path)
    assert len(reads) == 1
    assert view.planned_qps[0].tolist() == [2.0, 0.0, 0.0]  # 20 requests / 10 s, then none


# ---- model blocks and certificates --------------------------------------------------------


def test_model_blocks_are_the_ones_the_math_docstring_names() -> None:
    from formulations.cocktail import milp

    view = view_of(tiny(vm_startup_s=60.0, max_vm_changes=4))
    ensembles = [c.ensembles for c in view.candidates]
    built = milp.build_model(view, ensembles, True, [0, 1]).model
    assert set(built.var_blocks) == {"x", "y", "n", "s", "u", "v", "d", "w"}
    assert set(built.row_blocks) == {
        "one_ensemble",
        "route",
        "capacity",
        "on_demand_share",
        "vm_cut",
        "on_demand_cut",
        "start_on_demand",
        "start_spot",
        "stop_on_demand",
        "stop_spot",
        "changes",
    }
    doc = milp.__doc__ or ""
    for name in [*built.var_blocks, *built.row_blocks]:
        assert f"{name}[" in doc, name
    matrix = built.build()
    assert "one_ensemble[0,strict]" in matrix.row_names
    assert any(n.startswith("n[1,") for n in matrix.names)


def test_interval_certificates_combine_as_the_objective_sums() -> None:
    view = view_of(tiny())
    solution = solve_view(view, make_solver(EXACT))
    certificate = solution.certificate
    assert certificate.solves == view.n_intervals == 2
    assert certificate.objective == pytest.approx(
        FORMULATION.verify(view, solution.deployment).objective_value
    )
    # the bound is the sum of the interval bounds: each interval is optimal, so is the sum
    assert certificate.bound == pytest.approx(certificate.objective, rel=1e-6)
    assert certificate.termination.value == "optimal"


def test_start_up_cost_of_a_single_interval_is_billed_and_verified() -> None:
    document = tiny(vm_startup_s=900.0)
    for cls in document["classes"]:
        cls["load"]["qps"] = cls["load"]["qps"][:1]
    plan = planner.solve(planner.scenario_from_dict(document), baselines=False)
    hourly = sum(r[-1] for r in plan.tables[1].rows)
    assert plan.objective.value == pytest.approx(hourly * 1.25, rel=1e-6)  # 1 h + 900 s
