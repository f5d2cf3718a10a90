"""The Proteus model's speed-ups are exact: at every headroom level, the reduced accuracy
MILP (effective-capacity dominance, count bounds, covers) has the optimum of the plain
formulation of the module docstring, and the counts-only feasibility model is feasible
exactly when the plain one is."""

from __future__ import annotations

import random

import numpy as np
import pytest

from formulations.proteus import milp as m
from formulations.proteus.inputs import ProteusInputs, beta_grid
from formulations.types import SolverSettings
from planner import scenario_from_dict
from planner.backends import make_solver
from tests.conftest import REFERENCE, random_variants, tiny_proteus


def plain_model(
    inputs: ProteusInputs,
    pools: m.Pools,
    demand: dict[str, float],
    restriction: m.Restriction,
    beta: float,
) -> m._Model:
    """The formulation as stated in the docstring, without the speed-ups."""
    problem = inputs.problem
    pairs = m.usable_pairs(problem, pools, restriction)
    if restriction.family_devices is not None:
        fixed = m.pool_family_devices(pools, restriction.family_devices)
        family_of = {v.name: f for f in problem.families for v in problem.variants[f]}
        pairs = [p for p in pairs if fixed.get((p[0], family_of[p[1]]), 0) > 0]
    names, lower, upper, integer = m.define_columns(problem, pools, pairs)
    rows = m._Rows()
    m.define_device_limits(rows, pairs, pools, inputs.all_devices_on)
    m.define_presence(rows, pairs, problem, inputs.min_devices_per_family)
    if restriction.family_devices is not None:
        m.define_fixed_family_devices(rows, pairs, problem, pools, restriction.family_devices)
    m.define_capacity(rows, pairs, problem, demand, beta)
    m.define_demand(rows, pairs, problem, demand)
    total = sum(demand.values())
    cost = np.zeros(len(names))
    cost[len(pairs) :] = [problem.accuracy[v] / total for _, v in pairs]
    return m._Model(m._matrix(names, cost, lower, upper, integer, rows), pairs)


def random_inputs(seed: int) -> ProteusInputs:
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
    return scenario_from_dict(document).inputs


def restrictions(inputs: ProteusInputs, seed: int) -> list[m.Restriction]:
    rng = random.Random(seed)
    problem = inputs.problem
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
    inputs = random_inputs(seed)
    solver = make_solver(SolverSettings(mip_gap=1e-9))
    pools = m.make_pools(inputs.problem)
    demand = inputs.problem.demand(0)
    if sum(demand.values()) <= 0:
        return
    for restriction in restrictions(inputs, seed):
        for beta in beta_grid(inputs)[::3]:
            plain = solver.solve(plain_model(inputs, pools, demand, restriction, beta).matrix)
            reduced = solver.solve(m._build(inputs, pools, demand, restriction, beta).matrix)
            counts = solver.solve(
                m._build(inputs, pools, demand, restriction, beta, flows=False).matrix
            )
            context = f"seed {seed}, beta {beta}, {restriction}"
            assert plain.status.has_solution == reduced.status.has_solution, context
            assert plain.status.has_solution == counts.status.has_solution, context
            if plain.status.has_solution:
                assert reduced.objective == pytest.approx(plain.objective, rel=1e-7, abs=1e-7), (
                    context
                )


def test_sommelier_devices_idle_in_the_first_window_stay_idle() -> None:
    inputs = scenario_from_dict(tiny_proteus()).inputs
    solver = make_solver(SolverSettings(mip_gap=1e-9))
    problem = inputs.problem
    # Only the gpus are given (to vision); the cpus stay idle, so text has no device.
    restriction = m.Restriction(family_devices={("gpu", "vision"): 2})
    with pytest.raises(Exception, match="none"):
        m.solve_window(inputs, solver, problem.demand(0), lambda: "none", restriction)
    restriction = m.Restriction(family_devices={("gpu", "vision"): 2, ("cpu", "text"): 1})
    solution = m.solve_window(inputs, solver, problem.demand(0), lambda: "none", restriction)
    assert all(d != "cpu" or v.startswith("t_") for d, v in solution.devices)
    assert sum(n for (d, _), n in solution.devices.items() if d == "cpu") <= 1
    for f in problem.families:
        served = sum(q for (_, v), q in solution.routed_qps.items() if problem.family_of[v] == f)
        assert served == pytest.approx(problem.demand(0)[f])


@pytest.mark.skipif(
    not (REFERENCE / "proteus").is_dir(), reason="Proteus reference data not in ../shared/reference"
)
@pytest.mark.parametrize("window", [9, 14])
def test_saturated_reference_windows_match_the_plain_formulation(window: int) -> None:
    from benchmarks.proteus_reference import scenario

    inputs = scenario("zipf_exponential_bursty_300", 10, 4.0, "highs").inputs
    solver = make_solver(SolverSettings(mip_gap=1e-6))
    demand = inputs.problem.demand(window)
    solution = m.solve_window(inputs, solver, demand, lambda: "none")
    pools = m.make_pools(inputs.problem)
    plain = solver.solve(plain_model(inputs, pools, demand, m.Restriction(), solution.beta).matrix)
    assert solution.result.objective == pytest.approx(plain.objective, rel=1e-6)
    higher = [b for b in beta_grid(inputs) if b > solution.beta + 1e-9]
    if higher:
        above = solver.solve(plain_model(inputs, pools, demand, m.Restriction(), higher[-1]).matrix)
        assert not above.status.has_solution
