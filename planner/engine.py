"""Orchestration only: scenario -> formulation -> backend -> independent verification -> Plan.

Also ``check``: re-verify a stored plan against a scenario and compare it with a fresh
optimum, the check users run in CI on committed plans.
"""

from __future__ import annotations

import contextlib
import json
import math
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ValidationError

from cost_models.errors import DataError
from formulations.types import (
    ExitCode,
    InfeasibleError,
    InputError,
    Objective,
    Sense,
    SolveStatus,
    Table,
    VerificationError,
)
from planner.backends import make_solver
from planner.plan import SCHEMA_VERSION, Plan
from planner.scenario import Scenario, load_scenario

# The verifier recomputes the objective from the cost model; it must match the solver's
# value to within the solver's own feasibility tolerances (HiGHS: 1e-7 primal, 1e-6
# integrality), scaled by the objective's magnitude.
OBJECTIVE_RTOL = 1e-5
OBJECTIVE_ATOL = 1e-6


@contextlib.contextmanager
def _located(scenario: Scenario) -> Iterator[None]:
    """Report malformed data met while planning as an input error naming the scenario."""
    try:
        yield
    except DataError as exc:
        raise InputError(exc.file or scenario.path, exc.key, exc.expected) from None
    except InputError as exc:
        raise exc.located(scenario.path) from None


def _objective_mismatch(stated: float, recomputed: float, who: str) -> str | None:
    """A message when the objective ``who`` states is not the one the cost model gives."""
    if math.isclose(stated, recomputed, rel_tol=OBJECTIVE_RTOL, abs_tol=OBJECTIVE_ATOL):
        return None
    return (
        f"objective: {who} states {stated:.9g} but the deployment yields "
        f"{recomputed:.9g} from the cost model"
    )


def _as_scenario(scenario: Scenario | str | Path) -> Scenario:
    return scenario if isinstance(scenario, Scenario) else load_scenario(scenario)


def solve(scenario: Scenario | str | Path, **solver_overrides: Any) -> Plan:
    """Plan a scenario (a path or a loaded :class:`Scenario`) and return a verified plan.

    ``solver_overrides`` replace ``[solver]`` settings: ``backend``, ``time_limit_s``,
    ``mip_gap``, ``threads``, ``seed``. Raises a :class:`formulations.types.PlannerError`
    subclass when there is no plan.
    """
    scenario = _as_scenario(scenario).with_solver(**solver_overrides)
    formulation = scenario.formulation
    solver = make_solver(scenario.solver)
    with _located(scenario):
        outcome = formulation.plan(scenario.inputs, solver)
        verification = formulation.verify(scenario.inputs, outcome.deployment)
        tables = formulation.tables(scenario.inputs, outcome.deployment)
    mismatch = _objective_mismatch(
        outcome.objective.value, verification.objective_value, "the solver's plan"
    )
    problems = verification.violations + ([mismatch] if mismatch else [])
    if problems:
        raise VerificationError(
            "the solver's plan failed independent verification (a planner bug; please "
            "report it with the scenario):\n  " + "\n  ".join(problems)
        )
    objective = Objective(
        outcome.objective.name,
        outcome.objective.unit,
        outcome.objective.sense,
        verification.objective_value,
    )
    result = outcome.result
    warnings = list(outcome.warnings)
    if result.status is SolveStatus.FEASIBLE:
        warnings.append(
            f"time limit reached: plan is feasible but not proven optimal "
            f"(gap {result.gap:.4%}, bound {result.bound:.6g})"
            if result.gap is not None and math.isfinite(result.gap)
            else "time limit reached: plan is feasible but not proven optimal"
        )
    return Plan(
        kind=scenario.kind,
        scenario_name=scenario.name,
        scenario_sha256=scenario.sha256,
        status=result.status,
        objective=objective,
        bound=result.bound,
        gap=result.gap,
        solver=scenario.solver,
        build_s=outcome.build_s,
        solve_s=outcome.solve_s,
        size=result.size,
        deployment=outcome.deployment,
        tables=tables,
        baselines=outcome.baselines,
        warnings=warnings,
    )


@dataclass
class CheckReport:
    """The result of re-checking a stored plan."""

    plan_path: str
    scenario_changed: bool
    violations: list[str]
    stored: Objective
    fresh: Objective
    shortfall: float
    max_gap: float

    @property
    def feasible(self) -> bool:
        return not self.violations

    @property
    def exit_code(self) -> ExitCode:
        if not self.feasible:
            return ExitCode.INFEASIBLE
        if self.shortfall > self.max_gap:
            return ExitCode.SUBOPTIMAL
        return ExitCode.OK


def _read_plan(path: Path) -> dict[str, Any]:
    file = str(path)
    if not path.is_file():
        raise InputError(file, "(file)", "an existing plan file (JSON written by planner solve)")
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise InputError(file, "(syntax)", f"valid JSON ({exc})") from None
    if not isinstance(data, dict):
        raise InputError(file, "(top level)", "a JSON object")
    if data.get("schema_version") != SCHEMA_VERSION:
        raise InputError(file, "schema_version", f"{SCHEMA_VERSION}", data.get("schema_version"))
    for key, kinds in (("kind", str), ("objective", int | float), ("deployment", dict)):
        if not isinstance(data.get(key), kinds):
            raise InputError(
                file, key, f"a {'number' if key == 'objective' else kinds.__name__}", data.get(key)
            )
    return data


def load_plan(plan_path: str | Path, scenario: Scenario) -> tuple[dict[str, Any], BaseModel]:
    """Read a stored plan and validate its deployment against the scenario's formulation."""
    path = Path(plan_path)
    data = _read_plan(path)
    if data["kind"] != scenario.kind:
        raise InputError(
            str(path), "kind", f"{scenario.kind!r} (the scenario's kind)", data["kind"]
        )
    try:
        deployment = scenario.formulation.deployment_model.model_validate(data["deployment"])
    except ValidationError as exc:
        first = exc.errors()[0]
        key = ".".join(str(p) for p in ("deployment", *first["loc"]))
        raise InputError(str(path), key, first["msg"]) from None
    return data, deployment


def check(
    plan_path: str | Path,
    scenario: Scenario | str | Path,
    max_gap: float | None = None,
    **solver_overrides: Any,
) -> CheckReport:
    """Re-verify a stored plan against ``scenario`` and compare it with a fresh optimum.

    ``max_gap`` (relative) defaults to the scenario's ``mip_gap``.
    """
    scenario = _as_scenario(scenario).with_solver(**solver_overrides)
    formulation = scenario.formulation
    data, deployment = load_plan(plan_path, scenario)
    with _located(scenario):
        verification = formulation.verify(scenario.inputs, deployment)
    mismatch = _objective_mismatch(
        float(data["objective"]), verification.objective_value, "the plan file"
    )
    violations = verification.violations + ([mismatch] if mismatch else [])
    fresh = solve(scenario)
    sense = Sense(data.get("objective_sense", fresh.objective.sense.value))
    stored = Objective(
        fresh.objective.name, fresh.objective.unit, sense, verification.objective_value
    )
    return CheckReport(
        plan_path=str(plan_path),
        scenario_changed=data.get("scenario", {}).get("sha256") != scenario.sha256,
        violations=violations,
        stored=stored,
        fresh=fresh.objective,
        shortfall=formulation.shortfall(stored, fresh.objective, deployment, fresh.deployment),
        max_gap=scenario.solver.mip_gap if max_gap is None else max_gap,
    )


def simulate(
    scenario: Scenario | str | Path,
    plan_path: str | Path | None = None,
    runs: int = 20,
    seed: int = 0,
) -> list[Table]:
    """Replay a plan against seeded random events (formulations that define it): the stored
    plan at ``plan_path`` (verified first), or a freshly solved one."""
    scenario = _as_scenario(scenario)
    if plan_path is None:
        deployment = solve(scenario).deployment
    else:
        _, deployment = load_plan(plan_path, scenario)
        with _located(scenario):
            verification = scenario.formulation.verify(scenario.inputs, deployment)
        if not verification.ok:
            raise InfeasibleError(
                "the plan violates the scenario:\n  " + "\n  ".join(verification.violations)
            )
    with _located(scenario):
        return scenario.formulation.simulate(
            scenario.inputs, deployment, make_solver(scenario.solver), runs, seed
        )
