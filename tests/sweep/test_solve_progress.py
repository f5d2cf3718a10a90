"""The solve progress hook: HiGHS's incumbent and gap from its callbacks, the engine's
stages and solves, and the CLI's spinner line (no timing assertions)."""

from __future__ import annotations

import io

import numpy as np
import pytest
from rich.console import Console

import planner
from cli import progress_text, solve_spinner
from formulations.model import Model, Sense
from formulations.types import SolverSettings, SolveStatus
from planner.backends import SolverProgress, make_solver
from planner.engine import SolveProgress
from tests.conftest import ROOT

EDGE_CLUSTER = ROOT / "scenarios" / "proteus" / "edge_cluster.toml"


def knapsacks(items: int = 60, seed: int = 3) -> Model:
    """A two-constraint 0-1 knapsack HiGHS does not close at its first incumbent."""
    rng = np.random.default_rng(seed)
    value = rng.integers(10, 100, items)
    weight = rng.integers(5, 60, (2, items))
    problem = Model("knapsacks", Sense.MAXIMIZE)
    take = [problem.add_variable(f"x{i}", 0, 1, integer=True) for i in range(items)]
    problem.set_objective(sum(int(v) * x for v, x in zip(value, take, strict=True)))
    for row, weights in enumerate(weight):
        capacity = int(weights.sum() // 3)
        problem.add_constraint(
            f"w{row}", sum(int(w) * x for w, x in zip(weights, take, strict=True)) <= capacity
        )
    return problem


def test_highs_reports_incumbent_and_gap() -> None:
    backend = make_solver(SolverSettings(mip_gap=0.0, threads=1))
    seen: list[SolverProgress] = []
    backend.on_progress = seen.append
    result = backend.solve(knapsacks())
    assert result.status is SolveStatus.OPTIMAL
    found = [s for s in seen if s.incumbent is not None]
    assert found, "no incumbent reported"
    assert any(s.gap is not None and s.gap > 0 for s in found)  # an incumbent before the proof
    assert all(s.gap is None or s.gap >= 0 for s in seen)
    assert all(s.bound is None or s.bound >= s.incumbent - 1e-6 for s in found if s.incumbent)
    assert found[-1].incumbent == pytest.approx(result.objective)
    # incumbents of a maximisation only improve
    values = [s.incumbent for s in found if s.incumbent is not None]
    assert values == sorted(values)


def test_no_hook_no_reports() -> None:
    backend = make_solver(SolverSettings())
    assert backend.on_progress is None
    assert backend.solve(knapsacks(20)).status is SolveStatus.OPTIMAL


def test_solve_reports_stages_solves_and_incumbents() -> None:
    seen: list[SolveProgress] = []
    plan = planner.solve(EDGE_CLUSTER, progress=seen.append)
    stages = list(dict.fromkeys(s.stage for s in seen))
    assert stages == ["prepare", "solve", "verify", "baselines", "tables"]
    solves = [s.solves for s in seen]
    assert solves == sorted(solves) and solves[-1] >= plan.certificate.solves
    assert any(s.stage == "solve" and s.incumbent is not None for s in seen)


def test_other_backends_report_stages_only() -> None:
    seen: list[SolveProgress] = []
    planner.solve(EDGE_CLUSTER, baselines=False, backend="cbc", progress=seen.append)
    assert {s.stage for s in seen} == {"prepare", "solve", "verify", "baselines", "tables"}
    assert all(s.incumbent is None and s.gap is None for s in seen)


def test_a_failing_hook_fails_the_solve() -> None:
    def hook(state: SolveProgress) -> None:
        if state.incumbent is not None:
            raise RuntimeError("display gone")

    with pytest.raises(RuntimeError, match="display gone"):
        planner.solve(EDGE_CLUSTER, baselines=False, progress=hook)


def test_spinner_line() -> None:
    text = progress_text(SolveProgress("solve", 3, 97.204484, 97.2286, 0.000248))
    assert text == "solve · solve 3 · incumbent 97.2045 · bound 97.2286 · gap 0.02%"
    assert progress_text(SolveProgress("prepare", 0)) == "prepare"


def test_spinner_renders_on_a_terminal_only() -> None:
    out = io.StringIO()
    console = Console(file=out, force_terminal=True, width=120)
    with solve_spinner(console, True) as hook:
        assert hook is not None
        hook(SolveProgress("solve", 1, 42.0, 50.0, 0.16))
    assert "incumbent 42" in out.getvalue() and "gap 16.00%" in out.getvalue()
    with solve_spinner(console, False) as hook:
        assert hook is None
