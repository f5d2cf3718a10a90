"""The PPipe MILP gives the same optimum on every backend that accepts it, and its solve
strategy (LP bound, full MILP, fallback after a limit) yields honest certificates."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from formulations.ppipe.deployment import build_deployment
from formulations.ppipe.milp import pipelines, solve_designs
from formulations.ppipe.verify import verify_deployment
from formulations.tolerances import relative_gap
from formulations.types import (
    Model,
    NoSolution,
    SolverError,
    SolveResult,
    SolverSettings,
    SolveStatus,
    Termination,
)
from planner.backends import make_solver
from tests.ppipe.helpers import solve_raw, tiny_instance, view_of


@pytest.mark.parametrize("seed", [1, 5])
@pytest.mark.parametrize("mode", ["compat", "general"])
def test_backends_agree(tmp_path: Path, seed: int, mode: str) -> None:
    view = view_of(tiny_instance(tmp_path, seed))
    objectives = []
    for backend in ("highs", "cbc", "scip"):
        solver = make_solver(SolverSettings(backend=backend, mip_gap=1e-9))
        solved = solve_designs(view.inputs, view.designs, mode, solver)  # type: ignore[arg-type]
        objectives.append(solved.parts[0].objective)
    assert objectives[0] > 0
    assert objectives[1] == pytest.approx(objectives[0], rel=1e-6)
    assert objectives[2] == pytest.approx(objectives[0], rel=1e-6)


class _StopsEarly:
    """A backend whose ``failing``-th solve hits the time limit without a solution
    (1 = the LP relaxation, 2 = the full MILP)."""

    def __init__(self, failing: int) -> None:
        self.inner = make_solver()
        self.settings = self.inner.settings
        self.failing = failing
        self.calls = 0

    def solve(self, model: Model, warm_start: Any = None) -> SolveResult:
        self.calls += 1
        result = self.inner.solve(model, warm_start)
        if self.calls == self.failing:
            return replace(
                result,
                status=SolveStatus.NO_SOLUTION,
                termination=Termination.TIME_LIMIT,
                objective=None,
                bound=None,
                x=np.zeros(0),
            )
        return result


def test_time_limit_falls_back_to_the_restricted_plan(tmp_path: Path) -> None:
    view = view_of(tiny_instance(tmp_path, 5))
    inputs = view.inputs
    solver = _StopsEarly(2)
    solved = solve_designs(inputs, view.designs, "compat", solver)
    assert solved.picked and solver.calls == 3  # LP, full MILP, restricted MILP
    deployment = build_deployment(inputs, "compat", pipelines(inputs, "compat", solved.picked))
    assert verify_deployment(view, deployment).ok
    certificate = solved.certificate(deployment.objective_qps)
    # feasible, stopped by the full model's time limit, bounded by the LP's t_UB
    assert certificate.status is SolveStatus.FEASIBLE
    assert certificate.termination is Termination.TIME_LIMIT
    assert certificate.solves == 3
    lp_bound = solved.parts[-1].objective
    assert certificate.bound == pytest.approx(lp_bound, rel=1e-5)
    assert certificate.gap == relative_gap(deployment.objective_qps, lp_bound * (1 + 1e-6) + 1e-6)
    restricted = solved.parts[1].objective
    assert deployment.objective_qps == pytest.approx(restricted, rel=1e-6)


def test_lp_time_out_does_not_bound_the_plan(tmp_path: Path) -> None:
    # without an optimal LP there is no valid t bound; the MILP must still reach the optimum
    view = view_of(tiny_instance(tmp_path, 5))
    plain = solve_designs(view.inputs, view.designs, "compat", make_solver())
    solved = solve_designs(view.inputs, view.designs, "compat", _StopsEarly(1))
    assert len(solved.parts) == 1  # the LP that timed out is no part of the plan
    certificate = solved.certificate(solved.parts[0].objective)
    assert certificate.status is SolveStatus.OPTIMAL
    assert certificate.termination is Termination.OPTIMAL
    assert certificate.objective == pytest.approx(plain.parts[0].objective, rel=1e-6)


def test_a_plan_is_one_certificate_of_its_two_solves(tmp_path: Path) -> None:
    plan = solve_raw(tiny_instance(tmp_path, 5), tmp_path, mip_gap=1e-9)
    certificate = plan.certificate
    assert certificate.solves == 2 and certificate.status is SolveStatus.OPTIMAL
    assert certificate.size.integers > 0  # the size is the MILP's, not the LP's
    assert certificate.bound is not None
    # the gap is between the plan's objective and the MILP's bound (within t_UB's margin)
    assert plan.gap == relative_gap(plan.objective.value, certificate.bound) <= 1e-8


def test_limits_without_any_plan_raise_no_solution(tmp_path: Path) -> None:
    view = view_of(tiny_instance(tmp_path, 5))

    class _NeverSolves(_StopsEarly):
        def solve(self, model: Model, warm_start: Any = None) -> SolveResult:
            self.failing = self.calls + 1
            return super().solve(model, warm_start)

    with pytest.raises(NoSolution) as error:
        solve_designs(view.inputs, view.designs, "compat", _NeverSolves(1))
    assert error.value.result.termination is Termination.TIME_LIMIT


def test_cpsat_refuses_the_continuous_throughputs(tmp_path: Path) -> None:
    # pipeline throughputs and t are continuous, so CP-SAT is not applicable here
    with pytest.raises(SolverError):
        solve_raw(tiny_instance(tmp_path, 1), tmp_path, backend="cpsat")
