"""The PPipe MILP gives the same optimum on every backend that accepts it."""

from __future__ import annotations

from pathlib import Path

import pytest
from test_ppipe_bruteforce import tiny_instance

from formulations.ppipe import plan_designs
from formulations.ppipe.inputs import PPipeInputs
from formulations.ppipe.milp import solve_designs
from formulations.types import SolverError, SolverSettings
from planner.backends import make_solver


@pytest.mark.parametrize("seed", [1, 5])
@pytest.mark.parametrize("mode", ["compat", "general"])
def test_backends_agree(tmp_path: Path, seed: int, mode: str) -> None:
    inputs = PPipeInputs.model_validate(tiny_instance(tmp_path, seed))
    designs = plan_designs(inputs)
    objectives = [
        solve_designs(inputs, designs, mode, make_solver(SolverSettings(backend=backend,
                                                                        mip_gap=1e-9)),
                      "infeasible").result.objective
        for backend in ("highs", "cbc", "scip")
    ]
    assert objectives[0] > 0
    assert objectives[1] == pytest.approx(objectives[0], rel=1e-6)
    assert objectives[2] == pytest.approx(objectives[0], rel=1e-6)


def test_time_limit_path_with_warm_start_finds_the_same_optimum(tmp_path: Path) -> None:
    inputs = PPipeInputs.model_validate(tiny_instance(tmp_path, 5))
    designs = plan_designs(inputs)
    plain = solve_designs(inputs, designs, "compat", make_solver(), "infeasible")
    limited = solve_designs(inputs, designs, "compat",
                            make_solver(SolverSettings(time_limit_s=30)), "infeasible")
    assert limited.result.objective == pytest.approx(plain.result.objective, rel=1e-6)


def test_cpsat_refuses_the_continuous_throughputs(tmp_path: Path) -> None:
    # pipeline throughputs and t are continuous, so CP-SAT is not applicable here
    inputs = PPipeInputs.model_validate(tiny_instance(tmp_path, 1))
    with pytest.raises(SolverError):
        solve_designs(inputs, plan_designs(inputs), "compat",
                      make_solver(SolverSettings(backend="cpsat")), "infeasible")
