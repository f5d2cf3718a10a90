"""Every backend: same optimum, normalised statuses, CP-SAT refusal, no temp files left."""

from __future__ import annotations

import tempfile
from pathlib import Path

import pulp
import pytest

from formulations.types import InputError, SolverError, SolverSettings, SolveStatus
from planner.backends import make_solver
from planner.backends.matrix import matrix_from_pulp, pulp_from_matrix

BACKENDS = ["highs", "cbc", "scip", "cpsat"]


def knapsack(sense: int = pulp.LpMaximize) -> pulp.LpProblem:
    """max 3x + 2y + 5 s.t. 1.5x + y <= 4.5, x - y >= -1, x in [0,10], y >= 0 integer."""
    problem = pulp.LpProblem("k", sense)
    x = pulp.LpVariable("x", 0, 10, pulp.LpInteger)
    y = pulp.LpVariable("y", 0, None, pulp.LpInteger)
    problem += 3 * x + 2 * y + 5
    problem += (1.5 * x + y <= 4.5, "c1")
    problem += (x - y >= -1, "c2")
    return problem


@pytest.mark.parametrize("backend", BACKENDS)
def test_same_optimum(backend: str) -> None:
    result = make_solver(SolverSettings(backend=backend)).solve(knapsack())
    # Enumerate by hand: (x, y) = (3, 0) -> 14, (2, 1) -> 13, (1, 2) -> 12: optimum 14.
    assert result.status is SolveStatus.OPTIMAL
    assert result.objective == pytest.approx(14.0)
    assert result.bound == pytest.approx(14.0)
    assert result.gap == pytest.approx(0.0, abs=1e-9)
    assert result.int_value("x") == 3 and result.int_value("y") == 0
    assert result.size.variables == 2 and result.size.integers == 2
    assert result.size.constraints == 2


@pytest.mark.parametrize("backend", BACKENDS)
def test_infeasible(backend: str) -> None:
    problem = pulp.LpProblem("inf", pulp.LpMinimize)
    x = pulp.LpVariable("x", 0, 1, pulp.LpInteger)
    problem += x
    problem += (x >= 2, "impossible")
    result = make_solver(SolverSettings(backend=backend)).solve(problem)
    assert result.status is SolveStatus.INFEASIBLE
    assert result.objective is None


@pytest.mark.parametrize("backend", ["highs", "cbc"])
def test_unbounded(backend: str) -> None:
    problem = pulp.LpProblem("unb", pulp.LpMaximize)
    x = pulp.LpVariable("x", 0)
    y = pulp.LpVariable("y", 0, 3, pulp.LpInteger)
    problem += x + y
    problem += (x - y >= 0, "c")
    result = make_solver(SolverSettings(backend=backend)).solve(problem)
    assert result.status is SolveStatus.UNBOUNDED


def test_cpsat_refuses_continuous_variables() -> None:
    problem = pulp.LpProblem("mixed", pulp.LpMaximize)
    x = pulp.LpVariable("x", 0, 4)
    problem += x
    problem += (x <= 3, "c")
    with pytest.raises(SolverError, match=r"pure-integer.*continuous variables"):
        make_solver(SolverSettings(backend="cpsat")).solve(problem)


def test_cbc_leaves_no_temporary_files() -> None:
    tmp = Path(tempfile.gettempdir())
    before = {p.name for p in tmp.iterdir()}
    make_solver(SolverSettings(backend="cbc")).solve(knapsack())
    after = {p.name for p in tmp.iterdir()}
    # Our private folder is planner-cbc-*; PuLP's own temp files are named *-pulp.{mps,sol}.
    assert not {n for n in after - before if "cbc" in n.lower() or "pulp" in n.lower()}


def test_matrix_round_trip_keeps_the_model() -> None:
    matrix = matrix_from_pulp(knapsack(pulp.LpMinimize))
    rebuilt = pulp_from_matrix(matrix)
    for backend in ("highs", "cbc"):
        a = make_solver(SolverSettings(backend=backend)).solve(matrix)
        b = make_solver(SolverSettings(backend=backend)).solve(rebuilt)
        assert a.objective == pytest.approx(b.objective) == pytest.approx(5.0)


@pytest.mark.parametrize("backend", BACKENDS)
def test_warm_start_is_accepted(backend: str) -> None:
    result = make_solver(SolverSettings(backend=backend)).solve(
        knapsack(), warm_start={"x": 2.0, "y": 1.0}
    )
    assert result.objective == pytest.approx(14.0)


@pytest.mark.parametrize(
    ("backend", "options"),
    [
        ("highs", {"mip_allow_restart": False}),
        ("cbc", {"cuts": "off"}),
        ("scip", {"limits/nodes": 1000}),
        ("cpsat", {"num_workers": 1}),
    ],
)
def test_backend_options_pass_through(backend: str, options: dict) -> None:
    result = make_solver(SolverSettings(backend=backend, options=options)).solve(knapsack())
    assert result.objective == pytest.approx(14.0)


@pytest.mark.parametrize("backend", ["highs", "scip", "cpsat"])
def test_unknown_backend_option_is_an_input_error(backend: str) -> None:
    with pytest.raises(InputError, match=r"solver\.options"):
        make_solver(SolverSettings(backend=backend, options={"no_such_option": 1})).solve(
            knapsack()
        )


def test_highs_options_reach_highs_validation() -> None:
    """A known option with a value of the wrong type is refused by HiGHS itself."""
    with pytest.raises(InputError, match=r"solver\.options\.mip_allow_restart"):
        make_solver(SolverSettings(options={"mip_allow_restart": "maybe"})).solve(knapsack())
