"""The PPipe MILP gives the same optimum on every backend that accepts it."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from test_ppipe_bruteforce import tiny_instance

from formulations.ppipe import FORMULATION, plan_designs
from formulations.ppipe.deployment import build_deployment
from formulations.ppipe.inputs import PPipeInputs
from formulations.ppipe.milp import solve_designs
from formulations.types import SolverError, SolveResult, SolverSettings, SolveStatus
from planner.backends import make_solver


@pytest.mark.parametrize("seed", [1, 5])
@pytest.mark.parametrize("mode", ["compat", "general"])
def test_backends_agree(tmp_path: Path, seed: int, mode: str) -> None:
    inputs = PPipeInputs.model_validate(tiny_instance(tmp_path, seed))
    designs = plan_designs(inputs)
    objectives = [
        solve_designs(
            inputs,
            designs,
            mode,
            make_solver(SolverSettings(backend=backend, mip_gap=1e-9)),
            "infeasible",
        ).result.objective
        for backend in ("highs", "cbc", "scip")
    ]
    assert objectives[0] > 0
    assert objectives[1] == pytest.approx(objectives[0], rel=1e-6)
    assert objectives[2] == pytest.approx(objectives[0], rel=1e-6)


class _TimesOut:
    """A backend whose ``failing``-th solve hits the time limit without a solution
    (1 = the LP relaxation, 2 = the full MILP)."""

    def __init__(self, failing: int) -> None:
        self.inner = make_solver()
        self.settings = self.inner.settings
        self.failing = failing
        self.calls = 0

    def solve(self, model: Any, warm_start: Any = None) -> SolveResult:
        self.calls += 1
        result = self.inner.solve(model, warm_start)
        if self.calls == self.failing:
            return replace(
                result,
                status=SolveStatus.TIME_LIMIT_NO_SOLUTION,
                objective=None,
                values={},
                gap=None,
            )
        return result


def test_time_limit_falls_back_to_the_restricted_plan(tmp_path: Path) -> None:
    inputs = PPipeInputs.model_validate(tiny_instance(tmp_path, 5))
    designs = plan_designs(inputs)
    solved = solve_designs(inputs, designs, "compat", _TimesOut(2), "infeasible")
    assert solved.result.status is SolveStatus.FEASIBLE and solved.chosen
    deployment = build_deployment(inputs, "compat", solved.chosen)
    assert FORMULATION.verify(inputs, deployment).ok
    assert deployment.objective_rps == pytest.approx(solved.result.objective, rel=1e-6)


def test_lp_time_out_does_not_bound_the_plan(tmp_path: Path) -> None:
    # without an optimal LP there is no valid t bound; the MILP must still reach the optimum
    inputs = PPipeInputs.model_validate(tiny_instance(tmp_path, 5))
    designs = plan_designs(inputs)
    plain = solve_designs(inputs, designs, "compat", make_solver(), "infeasible")
    solved = solve_designs(inputs, designs, "compat", _TimesOut(1), "infeasible")
    assert solved.result.status is SolveStatus.OPTIMAL
    assert solved.result.objective == pytest.approx(plain.result.objective, rel=1e-6)


def test_cpsat_refuses_the_continuous_throughputs(tmp_path: Path) -> None:
    # pipeline throughputs and t are continuous, so CP-SAT is not applicable here
    inputs = PPipeInputs.model_validate(tiny_instance(tmp_path, 1))
    with pytest.raises(SolverError):
        solve_designs(
            inputs,
            plan_designs(inputs),
            "compat",
            make_solver(SolverSettings(backend="cpsat")),
            "infeasible",
        )
