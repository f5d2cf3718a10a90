"""Every backend: same optimum, normalised statuses, CP-SAT refusal, no temp files left."""

from __future__ import annotations

import tempfile
from pathlib import Path

import pytest

from formulations.model import Model, Sense
from formulations.types import InputError, SolverError, SolverSettings, SolveStatus, Termination
from planner.backends import make_solver

BACKENDS = ["highs", "cbc", "scip", "cpsat"]


def knapsack(sense: Sense = Sense.MAXIMIZE) -> Model:
    """max 3x + 2y + 5 s.t. 1.5x + y <= 4.5, x - y >= -1, x in [0,10], y >= 0 integer."""
    problem = Model("k", sense)
    x = problem.add_variable("x", 0, 10, integer=True)
    y = problem.add_variable("y", 0, integer=True)
    problem.set_objective(3 * x + 2 * y + 5)
    problem.add_constraint("c1", 1.5 * x + y <= 4.5)
    problem.add_constraint("c2", x - y >= -1)
    return problem


@pytest.mark.parametrize("backend", BACKENDS)
def test_same_optimum(backend: str) -> None:
    result = make_solver(SolverSettings(backend=backend)).solve(knapsack())
    # Enumerate by hand: (x, y) = (3, 0) -> 14, (2, 1) -> 13, (1, 2) -> 12: optimum 14.
    assert result.status is SolveStatus.OPTIMAL
    assert result.objective == pytest.approx(14.0)
    assert result.bound == pytest.approx(14.0)
    assert result.gap == pytest.approx(0.0, abs=1e-9)
    assert result.termination is Termination.OPTIMAL
    assert result.value("x") == pytest.approx(3) and result.value("y") == pytest.approx(0)
    assert result.size.variables == 2 and result.size.integers == 2
    assert result.size.constraints == 2


@pytest.mark.parametrize("backend", BACKENDS)
def test_infeasible(backend: str) -> None:
    problem = Model("inf", Sense.MINIMIZE)
    x = problem.add_variable("x", 0, 1, integer=True, cost=1.0)
    problem.add_constraint("impossible", x >= 2)
    result = make_solver(SolverSettings(backend=backend)).solve(problem)
    assert result.status is SolveStatus.INFEASIBLE
    assert result.termination is Termination.INFEASIBLE
    assert result.objective is None


@pytest.mark.parametrize("backend", ["highs", "cbc"])
def test_unbounded(backend: str) -> None:
    problem = Model("unb", Sense.MAXIMIZE)
    x = problem.add_variable("x", 0)
    y = problem.add_variable("y", 0, 3, integer=True)
    problem.set_objective(x + y)
    problem.add_constraint("c", x - y >= 0)
    result = make_solver(SolverSettings(backend=backend)).solve(problem)
    assert result.status is SolveStatus.UNBOUNDED


def test_cpsat_refuses_continuous_variables() -> None:
    problem = Model("mixed", Sense.MAXIMIZE)
    x = problem.add_variable("x", 0, 4, cost=1.0)
    problem.add_constraint("c", x <= 3)
    with pytest.raises(SolverError, match=r"pure-integer.*continuous variables"):
        make_solver(SolverSettings(backend="cpsat")).solve(problem)


def test_cbc_leaves_no_temporary_files() -> None:
    tmp = Path(tempfile.gettempdir())
    before = {p.name for p in tmp.iterdir()}
    make_solver(SolverSettings(backend="cbc")).solve(knapsack())
    after = {p.name for p in tmp.iterdir()}
    # Our private folder is planner-cbc-*; PuLP's own temp files are named *-pulp.{mps,sol}.
    assert not {n for n in after - before if "cbc" in n.lower() or "pulp" in n.lower()}


def test_minimisation_and_the_built_form_agree() -> None:
    built = knapsack(Sense.MINIMIZE).build()
    for backend in ("highs", "cbc", "scip"):
        a = make_solver(SolverSettings(backend=backend)).solve(built)
        b = make_solver(SolverSettings(backend=backend)).solve(knapsack(Sense.MINIMIZE))
        assert a.objective == pytest.approx(b.objective) == pytest.approx(5.0)


@pytest.mark.parametrize("backend", BACKENDS)
def test_warm_start_is_accepted(backend: str) -> None:
    result = make_solver(SolverSettings(backend=backend)).solve(
        knapsack(), warm_start={"x": 2.0, "y": 1.0}
    )
    assert result.objective == pytest.approx(14.0)


@pytest.mark.parametrize("backend", BACKENDS)
def test_a_warm_start_with_round_off_outside_the_bounds_is_clipped(backend: str) -> None:
    # an LP's -1.9e-13 below a lower bound of 0 made CBC refuse the start and exit 1
    # (issue 19: proteus paper_cluster --backend cbc)
    result = make_solver(SolverSettings(backend=backend)).solve(
        knapsack(), warm_start={"x": 2.0 + 3e-13, "y": -1.9e-13}
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
