"""The Proteus model's speed-ups are exact: at every headroom level, the reduced accuracy
MILP (effective-capacity dominance, count bounds, covers) has the optimum of the plain
formulation of the module docstring, and the counts-only feasibility model is feasible
exactly when the plain one is."""

from __future__ import annotations

import random

import pytest

from formulations.model import Model, lin_sum
from formulations.proteus import milp as m
from formulations.proteus.view import ProteusView
from formulations.types import NoSolution, Sense, SolverSettings, SolveStatus
from planner.backends import make_solver
from tests.conftest import REFERENCE
from tests.proteus.helpers import random_variants, tiny_proteus, view_from, view_of


def plain_model(
    view: ProteusView, demand: dict[str, float], restriction: m.Restriction, beta: float
) -> Model:
    """The formulation as stated in the docstring, without the speed-ups (pools and
    dominance on c only, which the docstring proves exact)."""
    pairs = m.usable_pairs(view, restriction)
    fixed = (
        m.pool_family_devices(view.pools, restriction.family_devices)
        if restriction.family_devices is not None
        else None
    )
    model = Model("plain", Sense.MAXIMIZE)
    total = sum(demand.values())
    n = model.add_variables("n", pairs, upper=[view.pools.count[p] for p, _ in pairs], integer=True)
    x = model.add_variables("x", pairs, cost=[view.accuracy[v] / total for _, v in pairs])
    for pool, count in view.pools.count.items():
        used = lin_sum(n[p] for p in pairs if p[0] == pool)
        model.add_constraint(
            "devices", used == count if view.inputs.all_devices_on else used <= count, pool
        )
    minimum = view.inputs.min_devices_per_family
    for f in view.families:
        mine = [p for p in pairs if view.family_of[p[1]] == f]
        if minimum > 0:
            model.add_constraint("presence", lin_sum(n[p] for p in mine) >= minimum, f)
        model.add_constraint("demand", lin_sum(x[p] for p in mine) == demand[f], f)
    for (pool, f), count in (fixed or {}).items():
        mine = [p for p in pairs if p[0] == pool and view.family_of[p[1]] == f]
        model.add_constraint("fixed", lin_sum(n[p] for p in mine) >= count, (pool, f))
    for p in pairs:
        model.add_constraint("capacity", beta * x[p] <= view.capacity[p].qps * n[p], p)
    return model


def random_view(seed: int) -> ProteusView:
    rng = random.Random(seed)
    catalog = ["T4", "L4", "CPU16"]
    devices = {
        f"d{k}": {"count": rng.randint(0, 4), "catalog_device": rng.choice(catalog)}
        for k in range(rng.randint(2, 3))
    }
    families = ["vision", "text", "audio"][: rng.randint(2, 3)]
    variants = random_variants(rng, families, 4)
    document = tiny_proteus(devices=devices, variants=variants)
    document["families"] = {
        f: {"slo_ms": rng.choice([30.0, 60.0, 120.0]), "demand_qps": round(rng.uniform(0, 900), 1)}
        for f in families
    }
    document["all_devices_on"] = rng.random() < 0.25
    document["min_devices_per_family"] = rng.choice([0, 1, 1, 2])
    return view_from(document)


def restrictions(view: ProteusView, seed: int) -> list[m.Restriction]:
    rng = random.Random(seed)
    problem = view
    pairs = sorted(problem.capacity)
    fixed: dict[tuple[str, str], int] = {}
    for d in problem.device_types:
        left = problem.device_count[d]
        for f in problem.families:
            if rng.random() < 0.6 and left > 0:
                fixed[(d, f)] = rng.randint(1, left)
                left -= fixed[(d, f)]
    return [
        m.Restriction(),
        m.Restriction(pairs=frozenset(p for p in pairs if rng.random() < 0.6)),
        m.Restriction(family_devices=fixed),
    ]


@pytest.mark.parametrize("seed", range(16))
def test_reduced_models_match_the_plain_formulation(seed: int) -> None:
    view = random_view(seed)
    solver = make_solver(SolverSettings(mip_gap=1e-9))
    demand = view.demand(0)
    if sum(demand.values()) <= 0:
        return
    for restriction in restrictions(view, seed):
        usable = m.candidates(view, restriction)
        for beta in view.levels[::3]:
            plain = solver.solve(plain_model(view, demand, restriction, beta))
            reduced = solver.solve(m.build(view, usable, demand, beta).model)
            counts = solver.solve(m.build(view, usable, demand, beta, flows=False).model)
            context = f"seed {seed}, beta {beta}, {restriction}"
            assert plain.status.has_solution == reduced.status.has_solution, context
            assert plain.status.has_solution == counts.status.has_solution, context
            if plain.status.has_solution:
                assert reduced.objective == pytest.approx(plain.objective, rel=1e-7, abs=1e-7), (
                    context
                )


def test_sommelier_pins_keep_their_family_and_leave_the_other_devices_free() -> None:
    problem = view_from(tiny_proteus())
    solver = make_solver(SolverSettings(mip_gap=1e-9))
    # Both gpus are pinned to vision; the cpus are free, so text runs on them.
    restriction = m.Restriction(family_devices={("gpu", "vision"): 2})
    solution = m.solve_window(problem, solver, 0, m.candidates(problem, restriction))
    on_gpu = sum(n for (d, v), n in solution.devices.items() if d == "gpu")
    vision_on_gpu = sum(
        n for (d, v), n in solution.devices.items() if d == "gpu" and v.startswith("v_")
    )
    assert on_gpu == vision_on_gpu == 2
    assert any(d == "cpu" and v.startswith("t_") for d, v in solution.devices)
    for f in problem.families:
        served = sum(q for (_, v), q in solution.routed_qps.items() if problem.family_of[v] == f)
        assert served == pytest.approx(problem.planned(0)[f])
    # Pins that leave a family without any device (text pinned nowhere, every device
    # pinned to vision) have no plan.
    restriction = m.Restriction(family_devices={("gpu", "vision"): 2, ("cpu", "vision"): 2})
    with pytest.raises(NoSolution) as raised:
        m.solve_window(problem, solver, 0, m.candidates(problem, restriction))
    assert raised.value.result.status is SolveStatus.INFEASIBLE and raised.value.context == 0


@pytest.mark.skipif(
    not (REFERENCE / "proteus").is_dir(), reason="Proteus reference data not in ../shared/reference"
)
@pytest.mark.parametrize("window", [9, 14])
def test_saturated_reference_windows_match_the_plain_formulation(window: int) -> None:
    from benchmarks.proteus_reference import scenario

    view = view_of(scenario("zipf_exponential_bursty_300", 10, 4.0, "highs"))
    solver = make_solver(SolverSettings(mip_gap=1e-6))
    demand = view.planned(window)
    solution = m.solve_window(view, solver, window, m.candidates(view))
    plain = solver.solve(plain_model(view, demand, m.Restriction(), solution.beta))
    assert solution.result.objective == pytest.approx(plain.objective, rel=1e-6)
    higher = [b for b in view.levels if b > solution.beta]
    if higher:
        above = solver.solve(plain_model(view, demand, m.Restriction(), higher[-1]))
        assert not above.status.has_solution
