"""Orchestration only: the engine owns the stages every formulation shares.

``solve``: scenario -> ``prepare`` (once per scenario) -> ``solve`` -> independent
``verify`` (and the objective cross-check) -> ``baselines`` (each verified and scored by
the same verifier) -> ``tables`` -> :class:`planner.plan.Plan`. Every stage is timed here
and nowhere else; every solver call goes through :class:`TimedSolver`.

``check``: re-verify a stored plan against a scenario and compare it with a fresh optimum,
the check users run in CI on committed plans. ``simulate``: replay a plan.
"""

from __future__ import annotations

import contextlib
import functools
import json
import math
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from pydantic import BaseModel, ValidationError

from cost_models.errors import DataError
from formulations.model import MatrixModel, Model
from formulations.tolerances import objective_matches
from formulations.types import (
    BaselineRun,
    Certificate,
    ExitCode,
    Formulation,
    InfeasibleError,
    InputError,
    LimitError,
    MilpSolver,
    NoSolution,
    Objective,
    PlannerError,
    Shortfall,
    SimulateOptions,
    Solution,
    SolverError,
    SolveResult,
    SolveStatus,
    Table,
    Verification,
    VerificationError,
    plan_advantage,
)
from planner.backends import Backend, SolverProgress, make_solver
from planner.plan import SCHEMA_VERSION, BaselineResult, Plan, PlanHeader, StageTimes
from planner.scenario import Scenario, load_scenario, scenario_from_dict

VIOLATIONS_SHOWN = 5  # a baseline row lists at most this many violations


@dataclass(frozen=True)
class SolveProgress:
    """What :func:`solve` tells its ``progress`` hook: the stage it entered (``prepare``,
    ``solve``, ``verify``, ``baselines``, ``tables``), the solver calls started so far, and
    the running solve's incumbent, bound and relative gap (in the solver model's own
    objective) where the backend reports them (HiGHS, from its MIP callbacks and in its
    thread); other backends report stages and solves only."""

    stage: str
    solves: int
    incumbent: float | None = None
    bound: float | None = None
    gap: float | None = None


ProgressHook = Callable[[SolveProgress], None]


class _Reporter:
    """The engine's stages and solver calls, and the backend's reports, sent to a hook."""

    def __init__(self, hook: ProgressHook) -> None:
        self.hook = hook
        self.stage = "prepare"
        self.solves = 0

    def entered(self, stage: str) -> None:
        self.stage = stage
        self.hook(SolveProgress(stage, self.solves))

    def solving(self) -> None:
        self.solves += 1
        self.hook(SolveProgress(self.stage, self.solves))

    def solver(self, state: SolverProgress) -> None:
        self.hook(SolveProgress(self.stage, self.solves, state.incumbent, state.bound, state.gap))


class TimedSolver:
    """The backend as formulations see it (:class:`formulations.types.MilpSolver`),
    counting solves and the seconds spent inside the solver (and, with a reporter,
    reporting each solve and the backend's progress)."""

    def __init__(self, backend: Backend, reporter: _Reporter | None = None) -> None:
        self.backend = backend
        self.settings = backend.settings
        self.solve_s = 0.0
        self.solves = 0
        self.reporter = reporter
        if reporter is not None:
            backend.on_progress = reporter.solver

    def solve(
        self,
        model: Model | MatrixModel,
        warm_start: Mapping[str, float] | np.ndarray | None = None,
    ) -> SolveResult:
        if self.reporter is not None:
            self.reporter.solving()
        result = self.backend.solve(model, warm_start)
        self.solve_s += result.solve_s
        self.solves += 1
        return result


class _Clock:
    """Wall seconds per named stage (each stage's start told to ``on_stage``)."""

    def __init__(self, on_stage: Callable[[str], None] | None = None) -> None:
        self.seconds: dict[str, float] = {}
        self.on_stage = on_stage

    @contextlib.contextmanager
    def stage(self, name: str) -> Iterator[None]:
        if self.on_stage is not None:
            self.on_stage(name)
        started = time.perf_counter()
        try:
            yield
        finally:
            self.seconds[name] = self.seconds.get(name, 0.0) + time.perf_counter() - started


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
    if objective_matches(stated, recomputed):
        return None
    return (
        f"objective: {who} states {stated:.9g} but the deployment yields "
        f"{recomputed:.9g} from the cost model"
    )


def _as_scenario(scenario: Scenario | str | Path) -> Scenario:
    return scenario if isinstance(scenario, Scenario) else load_scenario(scenario)


def prepared_view(scenario: Scenario) -> Any:
    """The formulation's cost-model view of ``scenario``, computed once per scenario (and
    shared by its copies with other solver settings)."""
    cache = scenario.cache
    if "view" not in cache:
        with _located(scenario):
            cache["view"] = scenario.formulation.prepare(scenario.inputs)
    return cache["view"]


def _no_solution_error(
    formulation: Formulation[Any, Any, Any], view: Any, exc: NoSolution
) -> Exception:
    result = exc.result
    if result.status is SolveStatus.INFEASIBLE:
        return InfeasibleError(formulation.explain_infeasible(view, exc.context))
    if result.status is SolveStatus.NO_SOLUTION:
        return LimitError(
            f"{result.backend}: {result.termination.text} reached before a feasible plan was found"
        )
    if result.status is SolveStatus.UNBOUNDED:
        return SolverError(f"{result.backend}: model is unbounded (a formulation bug)")
    return SolverError(f"{result.backend}: {result.message or 'solver error'}")


def _solve_stage(
    formulation: Formulation[Any, Any, Any], view: Any, solver: MilpSolver
) -> Solution[Any]:
    try:
        return formulation.solve(view, solver)
    except NoSolution as exc:
        raise _no_solution_error(formulation, view, exc) from None


def _score(
    formulation: Formulation[Any, Any, Any],
    view: Any,
    run: BaselineRun[Any],
    plan: Any,
    plan_objective: float,
) -> BaselineResult:
    """Verify a baseline with the plan's verifier and score it the same way (no
    ``plan_advantage`` where the formulation says the two objectives are not comparable)."""
    if run.deployment is None:
        return BaselineResult(run.name, run.source, "no_plan", None, None, reason=run.reason)
    verification = formulation.verify(view, run.deployment)
    value = verification.objective_value
    feasible = verification.ok
    incomparable = formulation.incomparable(view, plan, run.deployment) if feasible else ""
    return BaselineResult(
        run.name,
        run.source,
        "feasible" if feasible else "infeasible",
        value,
        plan_advantage(formulation.objective_of(view).sense, plan_objective, value)
        if feasible and not incomparable
        else None,
        violations=verification.violations[:VIOLATIONS_SHOWN],
        reason="; ".join(r for r in (run.reason, incomparable) if r),
        headline=formulation.headline(view, run.deployment),
        deployment=run.deployment,
    )


def _limit_warning(certificate: Certificate) -> str:
    gap = certificate.gap
    known = math.isfinite(gap) and certificate.bound is not None
    return f"{certificate.termination.text} reached: plan is feasible but not proven optimal" + (
        f" (gap {gap:.4%}, bound {certificate.bound:.6g})" if known else ""
    )


def solve(
    scenario: Scenario | str | Path,
    baselines: bool = True,
    *,
    progress: ProgressHook | None = None,
    **solver_overrides: Any,
) -> Plan:
    """Plan a scenario (a path or a loaded :class:`Scenario`) and return a verified plan.

    ``solver_overrides`` replace ``[solver]`` settings: ``backend``, ``time_limit_s``,
    ``mip_gap``, ``threads``, ``seed``. ``baselines=False`` skips the baselines.
    ``progress`` is called with :class:`SolveProgress` as the stages and solves go (from
    the solver's thread too, so keep it short; what it raises, solve raises). Raises a
    :class:`formulations.types.PlannerError` subclass when there is no plan.
    """
    scenario = _as_scenario(scenario).with_solver(**solver_overrides)
    formulation = scenario.formulation
    reporter = None if progress is None else _Reporter(progress)
    clock = _Clock(None if reporter is None else reporter.entered)
    with clock.stage("prepare"):
        view = prepared_view(scenario)
    solver = TimedSolver(make_solver(scenario.solver), reporter)
    with _located(scenario):
        with clock.stage("solve"):
            solution = _solve_stage(formulation, view, solver)
        plan_solver_s = solver.solve_s
        with clock.stage("verify"):
            verification = formulation.verify(view, solution.deployment)
        _raise_unless_verified(solution, verification)
        objective = Objective.of(formulation.objective_of(view), verification.objective_value)
        with clock.stage("baselines"):
            runs = formulation.baselines(view, solver, solution) if baselines else []
            scored = [
                _score(formulation, view, run, solution.deployment, objective.value) for run in runs
            ]
        with clock.stage("tables"):
            tables = formulation.tables(view, solution.deployment)
            headline = formulation.headline(view, solution.deployment)
            rates = formulation.rate_sources(view)
    certificate = solution.certificate
    warnings = list(solution.warnings)
    if certificate.status is SolveStatus.FEASIBLE:
        warnings.append(_limit_warning(certificate))
    timing = StageTimes(
        prepare_s=clock.seconds["prepare"],
        build_s=clock.seconds["solve"] - plan_solver_s,
        solve_s=plan_solver_s,
        verify_s=clock.seconds["verify"],
        baselines_s=clock.seconds["baselines"],
        tables_s=clock.seconds["tables"],
    )
    return Plan(
        kind=scenario.kind,
        scenario_name=scenario.name,
        scenario_sha256=scenario.sha256,
        objective=objective,
        certificate=certificate,
        solver=scenario.solver,
        timing=timing,
        deployment=solution.deployment,
        tables=tables,
        headline=headline,
        baselines=scored,
        warnings=warnings,
        rates=rates,
        scenario_document=scenario.document,
    )


def _raise_unless_verified(solution: Solution[Any], verification: Verification) -> None:
    mismatch = _objective_mismatch(
        solution.certificate.objective, verification.objective_value, "the solver's plan"
    )
    problems = verification.violations + ([mismatch] if mismatch else [])
    if problems:
        raise VerificationError(
            "the solver's plan failed independent verification (a planner bug; please "
            "report it with the scenario):\n  " + "\n  ".join(problems)
        )


DEFAULT_CHECK_MAX_GAP = 0.01  # planner check: a committed plan may be 1% worse than a fresh one


@dataclass
class CheckReport:
    """The result of re-checking a stored plan against a (possibly changed) scenario.

    ``shortfalls`` are the requirements the committed decisions no longer meet (after the
    formulation's refit, e.g. re-routing the new demand over the committed devices);
    ``violations`` are the verifier's findings on the refitted deployment and on the plan
    file itself; ``gap`` is how much worse the committed plan is than a fresh optimum
    (relative, >= 0). ``fresh`` is None when the changed scenario has no plan at all (a
    committed plan that is short: ``fresh_reason`` says why no fresh one exists)."""

    plan_path: str
    scenario_changed: bool
    shortfalls: list[Shortfall]
    violations: list[str]
    committed: Objective
    fresh: Objective | None
    gap: float
    max_gap: float
    fresh_reason: str = ""
    # Whether the fresh plan would also serve the scenario the committed plan was made for
    # (None: not asked, or not answerable). A fresh plan that is better only because it
    # serves less (demand went down) does not make the committed plan stale: exit 0.
    fresh_covers_committed: bool | None = None

    @property
    def feasible(self) -> bool:
        return not self.violations and not self.shortfalls

    @property
    def exit_code(self) -> ExitCode:
        if not self.feasible:
            return ExitCode.INFEASIBLE
        if self.gap > self.max_gap and self.fresh_covers_committed is not False:
            return ExitCode.SUBOPTIMAL
        return ExitCode.OK

    def to_dict(self) -> dict[str, Any]:
        """The machine-readable report (``planner check --format json``; stable keys)."""
        return {
            "plan": self.plan_path,
            "verdict": self.exit_code.name.lower(),
            "exit_code": int(self.exit_code),
            "scenario_changed": self.scenario_changed,
            "shortfalls": [
                {
                    "what": s.what,
                    "required": s.required,
                    "available": s.available,
                    "unit": s.unit,
                    "resource": s.resource,
                }
                for s in self.shortfalls
            ],
            "violations": self.violations,
            "committed_objective": self.committed.value,
            "fresh_objective": None if self.fresh is None else self.fresh.value,
            "objective_unit": self.committed.unit,
            "gap": self.gap,
            "max_gap": self.max_gap,
            "fresh_covers_committed": self.fresh_covers_committed,
        }


def _no_constants(token: str) -> float:
    raise ValueError(f"{token} is not a number a plan may hold (plans hold finite numbers)")


def read_plan(path: Path) -> dict[str, Any]:
    """The stored plan, validated against its schema's header before anything else."""
    file = str(path)
    if not path.is_file():
        raise InputError(file, "(file)", "an existing plan file (JSON written by planner solve)")
    try:
        data = json.loads(path.read_text(encoding="utf-8"), parse_constant=_no_constants)
    except (UnicodeDecodeError, json.JSONDecodeError, ValueError) as exc:
        raise InputError(file, "(syntax)", f"valid JSON with finite numbers ({exc})") from None
    except RecursionError:
        raise InputError(file, "(syntax)", "JSON nested to a sane depth") from None
    if not isinstance(data, dict):
        raise InputError(file, "(top level)", "a JSON object")
    if data.get("schema_version") != SCHEMA_VERSION:
        raise InputError(
            file,
            "schema_version",
            f"{SCHEMA_VERSION} (re-create older plans with planner solve -o)",
            data.get("schema_version"),
        )
    try:
        PlanHeader.model_validate(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        key = ".".join(str(p) for p in first["loc"]) or "(top level)"
        raise InputError(file, key, first["msg"]) from None
    return data


def load_plan(plan_path: str | Path, scenario: Scenario) -> tuple[dict[str, Any], BaseModel]:
    """Read a stored plan and validate its deployment against the scenario's formulation."""
    path = Path(plan_path)
    data = read_plan(path)
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


def _check_max_gap(scenario: Scenario, max_gap: float | None) -> float:
    """The allowed gap: as given, else 1% or the scenario's mip_gap, whichever is larger (a
    difference the solver itself may leave is no finding)."""
    return max(DEFAULT_CHECK_MAX_GAP, scenario.solver.mip_gap) if max_gap is None else max_gap


def check(
    plan_path: str | Path,
    scenario: Scenario | str | Path,
    max_gap: float | None = None,
    **solver_overrides: Any,
) -> CheckReport:
    """Does the committed plan still cover ``scenario``, and how far is it from a fresh
    optimum? Keeps the plan's decisions, lets the formulation refit the rest
    (:meth:`formulations.types.Formulation.refit`), verifies the result, then compares its
    objective with a fresh solve. ``max_gap`` (relative) defaults to 1%, or the scenario's
    ``mip_gap`` when that is larger (a difference the solver may leave is no finding).
    """
    scenario = _as_scenario(scenario).with_solver(**solver_overrides)
    formulation = scenario.formulation
    data, deployment = load_plan(plan_path, scenario)
    view = prepared_view(scenario)
    solver = TimedSolver(make_solver(scenario.solver))
    with _located(scenario):
        stated = formulation.verify(view, deployment)
        refit = formulation.refit(view, deployment, solver)
        verification = (
            stated if refit.deployment is deployment else formulation.verify(view, refit.deployment)
        )
    violations = list(verification.violations)
    if data.get("scenario", {}).get("sha256") == scenario.sha256:
        # the scenario is the plan's own: the file must state the objective it yields, and
        # its deployment must verify as stored (a refit re-derives the informative numbers,
        # so without this a tampered number would be healed instead of reported)
        mismatch = _objective_mismatch(
            float(data["objective"]), stated.objective_value, "the plan file"
        )
        violations += [mismatch] if mismatch else []
        violations += [f"plan file: {v}" for v in stated.violations if v not in violations]
    report = functools.partial(
        CheckReport,
        plan_path=str(plan_path),
        scenario_changed=data.get("scenario", {}).get("sha256") != scenario.sha256,
        shortfalls=refit.shortfalls,
        violations=violations,
        committed=Objective.of(formulation.objective_of(view), verification.objective_value),
        max_gap=_check_max_gap(scenario, max_gap),
    )
    try:
        fresh = solve(scenario, baselines=False)
    except InfeasibleError as exc:
        if not (violations or refit.shortfalls):
            raise
        # The committed plan is short, and no plan serves the changed scenario either: the
        # report still names what the committed decisions lack.
        return report(fresh=None, gap=0.0, fresh_reason=str(exc))
    committed = report.keywords["committed"]
    with _located(scenario):
        gap = formulation.shortfall(committed, fresh.objective, refit.deployment, fresh.deployment)
    covers = None
    if gap > report.keywords["max_gap"]:
        covers = _covers_committed(data, scenario, fresh.deployment, solver)
    return report(fresh=fresh.objective, gap=gap, fresh_covers_committed=covers)


def _covers_committed(
    data: dict[str, Any], scenario: Scenario, fresh: BaseModel, solver: TimedSolver
) -> bool | None:
    """Would the fresh plan also serve the scenario the committed plan was made for (as
    stored in the plan file, its data paths read from the new scenario's folder)? None when
    the plan holds no scenario document or the answer cannot be had (the scenarios differ in
    structure): the verdict then stays exit 6. Shortfalls of capacity only (a device the old
    scenario lacked) do not count against the fresh plan."""
    document = data.get("scenario", {}).get("document")
    if not document:
        return None
    try:
        committed = scenario_from_dict(document, scenario.base_dir)
        if committed.kind != scenario.kind:
            return None
        view = prepared_view(committed)
        with _located(committed):
            refit = scenario.formulation.refit(view, fresh, solver)
    except (PlannerError, LookupError, ValueError):
        # the fresh deployment names what the old scenario lacks: no answer
        return None
    # a requirement of the committed scenario the fresh plan misses means no; shortfalls of
    # capacity only (an added device the fresh plan uses) mean it would serve the old demand
    # given that capacity, so the committed plan is stale (exit 6)
    return all(s.resource for s in refit.shortfalls)


def simulate(
    scenario: Scenario | str | Path,
    plan_path: str | Path | None = None,
    runs: int = 20,
    seed: int = 0,
    *,
    rate_scale: float = 1.0,
    duration_s: float | None = None,
    trace: str | Path | None = None,
) -> list[Table]:
    """Replay a plan against seeded random events (formulations that define it): the stored
    plan at ``plan_path`` (verified first), or a freshly solved one. ``rate_scale``,
    ``duration_s`` and ``trace`` are :class:`formulations.types.SimulateOptions`; a kind
    refuses those it does not honour (exit 2 naming the option)."""
    scenario = _as_scenario(scenario)
    formulation = scenario.formulation
    options = SimulateOptions(
        runs, seed, rate_scale, duration_s, None if trace is None else Path(trace)
    )
    view = prepared_view(scenario)
    if plan_path is None:
        deployment = solve(scenario, baselines=False).deployment
    else:
        _, deployment = load_plan(plan_path, scenario)
        with _located(scenario):
            verification = formulation.verify(view, deployment)
        if not verification.ok:
            raise InfeasibleError(
                "the plan violates the scenario:\n  " + "\n  ".join(verification.violations)
            )
    with _located(scenario):
        return formulation.simulate(
            view, deployment, TimedSolver(make_solver(scenario.solver)), options
        )


__all__ = [
    "CheckReport",
    "ProgressHook",
    "SolveProgress",
    "TimedSolver",
    "check",
    "prepared_view",
    "simulate",
    "solve",
]
