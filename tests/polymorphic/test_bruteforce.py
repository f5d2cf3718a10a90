"""The MILP's optimum equals an exhaustive search over every deployment of a 4 x 4 tile grid.

The exhaustive search enumerates every shape, buffer share and bandwidth share of every DNN
(no dominance pruning) and accepts a set of shapes when the rectangles can be placed
disjointly anywhere on the grid (every position tried), so it checks the candidate
pruning, the two strip orientations and the claim that they cover every placement of up to
three accelerators.
"""

from __future__ import annotations

from functools import cache
from typing import Any

import numpy as np
import pytest

from formulations.polymorphic import FORMULATION
from formulations.polymorphic.verify import measure
from formulations.types import SolverSettings
from planner.backends import make_solver
from tests.polymorphic.helpers import (
    brute_force,
    full_grid,
    placeable,
    random_document,
    strip_packable,
    view_of,
    with_floor,
)

GRID = 4  # tiles per side of the tiny array
SHAPES = [(h, w) for h in range(1, GRID + 1) for w in range(1, GRID + 1)]


@cache
def anywhere(count: int) -> Any:
    return placeable(GRID, GRID, SHAPES, count)


def optimum(document: dict[str, Any]) -> tuple[float, float]:
    view = view_of(document)
    solution = FORMULATION.solve(view, make_solver(SolverSettings(mip_gap=1e-9)))
    verification = FORMULATION.verify(view, solution.deployment)
    assert verification.ok, verification.violations
    return verification.objective_value, brute_force(view, anywhere(len(view.inputs.dnns)))


def test_both_strip_orientations_cover_every_placement_of_three() -> None:
    columns = strip_packable(GRID, GRID, SHAPES, 3)
    rows = strip_packable(GRID, GRID, [(w, h) for h, w in SHAPES], 3)
    assert np.array_equal(columns | rows, anywhere(3))
    # column strips alone miss some: e.g. one 1 x 4 accelerator above two 3 x 2 side by side
    assert anywhere(3)[SHAPES.index((1, 4)), SHAPES.index((3, 2)), SHAPES.index((3, 2))]
    assert not columns[SHAPES.index((1, 4)), SHAPES.index((3, 2)), SHAPES.index((3, 2))]


@pytest.mark.parametrize("seed", [0, 3, 11])
def test_three_dnns_match_exhaustive_search(seed: int) -> None:
    milp, exhaustive = optimum(random_document(seed, 3))
    assert milp > 0
    assert milp == pytest.approx(exhaustive, rel=1e-9)


@pytest.mark.parametrize("seed", [1, 2, 4])
def test_two_dnns_match_exhaustive_search(seed: int) -> None:
    milp, exhaustive = optimum(random_document(seed, 2))
    assert milp == pytest.approx(exhaustive, rel=1e-9)


@pytest.mark.parametrize("seed", [5, 6])
def test_throughput_floor_matches_exhaustive_search(seed: int) -> None:
    document = random_document(seed, 2)
    view = view_of(document)
    # a floor of 60% of what the first DNN reaches on the whole array with every share
    floor = 0.6 * float(full_grid(view, view.inputs.dnns[0].name).rate.max())
    milp, exhaustive = optimum(with_floor(document, 0, floor))
    assert milp == pytest.approx(exhaustive, rel=1e-9)
    unconstrained, _ = optimum(document)
    assert milp <= unconstrained * (1 + 1e-9)


@pytest.mark.parametrize("seed", [0, 11, 2])
def test_max_min_ties_go_to_the_largest_sum_of_normalised_throughputs(seed: int) -> None:
    document = random_document(seed, 3 if seed != 2 else 2) | {"objective": "max_min_normalised"}
    view = view_of(document)
    solution = FORMULATION.solve(view, make_solver(SolverSettings(mip_gap=1e-9)))
    verification = FORMULATION.verify(view, solution.deployment)
    assert verification.ok, verification.violations
    minimum = verification.objective_value
    assert minimum == pytest.approx(brute_force(view, anywhere(len(view.inputs.dnns))), rel=1e-9)
    rates = {
        a.dnn: measure(view, solution.deployment.design, a).throughput_inferences_per_s
        for a in solution.deployment.accelerators
    }
    total = sum(rates[d.name] / d.weight for d in view.inputs.dnns)
    best = brute_force(view, anywhere(len(view.inputs.dnns)), at_least=minimum * (1 - 1e-6))
    assert total == pytest.approx(best, rel=1e-6)
