"""SCIP and CP-SAT through OR-Tools' linear solver wrapper, in process.

The solve runs in its own thread (OR-Tools releases the GIL) with the solvers' own SIGINT
handlers off, so that Ctrl-C (KeyboardInterrupt) or the CLI's SIGTERM exception reaches the
main thread at once; :func:`_solve_interruptibly` then interrupts the solver
(``MPSolver.InterruptSolve``) instead of waiting for it.
"""

from __future__ import annotations

import math
import threading

import numpy as np
from ortools.linear_solver import pywraplp

from formulations.model import MatrixModel, Sense
from formulations.types import (
    InputError,
    SolverError,
    SolveResult,
    SolverSettings,
    SolveStatus,
    Termination,
)
from planner.backends.base import CANCEL_WAIT_S, Backend


def _text(value: bool | int | float | str, true: str, false: str) -> str:
    if isinstance(value, bool):
        return true if value else false
    return str(value)


# OR-Tools' linear solver wrapper reports no reason for NOT_SOLVED/FEASIBLE beyond "a limit";
# the only limit it is given here is the time limit (node limits come as solver options,
# and are reported as node limits when such an option is set).
_STATUS = {
    pywraplp.Solver.OPTIMAL: (SolveStatus.OPTIMAL, Termination.OPTIMAL),
    pywraplp.Solver.FEASIBLE: (SolveStatus.FEASIBLE, Termination.TIME_LIMIT),
    pywraplp.Solver.INFEASIBLE: (SolveStatus.INFEASIBLE, Termination.INFEASIBLE),
    pywraplp.Solver.UNBOUNDED: (SolveStatus.UNBOUNDED, Termination.UNBOUNDED),
    pywraplp.Solver.ABNORMAL: (SolveStatus.ERROR, Termination.ERROR),
    pywraplp.Solver.NOT_SOLVED: (SolveStatus.NO_SOLUTION, Termination.TIME_LIMIT),
}
_NODE_OPTIONS = (
    "limits/nodes",
    "limits/totalnodes",
    "limits/stallnodes",
    "max_number_of_conflicts",
)


def _solve_interruptibly(solver: pywraplp.Solver, params: pywraplp.MPSolverParameters) -> int:
    """``solver.Solve(params)`` in a thread; interrupted when the main thread is."""
    codes: list[int] = []
    thread = threading.Thread(target=lambda: codes.append(solver.Solve(params)), daemon=True)
    thread.start()
    try:
        while thread.is_alive():
            thread.join(0.1)
    except BaseException:
        solver.InterruptSolve()
        thread.join(CANCEL_WAIT_S)
        raise
    if not codes:
        raise SolverError(f"{solver.SolverVersion()} stopped without a status")
    return codes[0]


class OrtoolsBackend(Backend):
    """``scip`` or ``cpsat``; CP-SAT accepts pure-integer models only."""

    def __init__(self, settings: SolverSettings, name: str) -> None:
        super().__init__(settings)
        self.name = name
        self._solver_id = {"scip": "SCIP", "cpsat": "CP_SAT"}[name]

    def _solve(self, model: MatrixModel, warm_start: np.ndarray | None) -> SolveResult:
        continuous = int(np.count_nonzero(~np.asarray(model.integrality, dtype=bool)))
        if self.name == "cpsat" and continuous:
            example = next(n for n, i in zip(model.names, model.integrality, strict=True) if not i)
            raise SolverError(
                f"backend cpsat solves pure-integer models only; this model has {continuous} "
                f"continuous variables (e.g. {example}); use highs, cbc or scip"
            )
        solver = pywraplp.Solver.CreateSolver(self._solver_id)
        if solver is None:
            raise SolverError(f"OR-Tools was built without {self._solver_id}")
        infinity = solver.infinity()

        def finite(value: float) -> float:
            return max(-infinity, min(infinity, float(value)))

        variables = [
            (solver.IntVar if integer else solver.NumVar)(finite(lo), finite(up), name)
            for name, lo, up, integer in zip(
                model.names, model.col_lower, model.col_upper, model.integrality, strict=True
            )
        ]
        for r in range(len(model.row_lower)):
            row = solver.RowConstraint(finite(model.row_lower[r]), finite(model.row_upper[r]))
            for k in range(int(model.a_start[r]), int(model.a_start[r + 1])):
                row.SetCoefficient(variables[int(model.a_index[k])], float(model.a_value[k]))
        objective = solver.Objective()
        for j, coef in enumerate(model.cost):
            if coef != 0.0:
                objective.SetCoefficient(variables[j], float(coef))
        objective.SetOffset(float(model.offset))
        if model.sense is Sense.MAXIMIZE:
            objective.SetMaximization()
        else:
            objective.SetMinimization()
        if warm_start is not None:
            solver.SetHint(variables, [float(v) for v in warm_start])
        self._configure(solver)
        params = pywraplp.MPSolverParameters()
        params.SetDoubleParam(params.RELATIVE_MIP_GAP, self.settings.mip_gap)
        code = _solve_interruptibly(solver, params)
        status, termination = _STATUS.get(code, (SolveStatus.ERROR, Termination.ERROR))
        if termination is Termination.TIME_LIMIT and any(
            k in self.settings.options for k in _NODE_OPTIONS
        ):
            termination = Termination.NODE_LIMIT
        if not status.has_solution:
            return self._no_solution(model, status, termination)
        x = np.array([float(v.solution_value()) for v in variables])
        value = float(objective.Value())
        bound = float(objective.BestBound()) if np.any(model.integrality) else value
        if math.isinf(bound) or math.isnan(bound):
            bound = value if status is SolveStatus.OPTIMAL else math.inf
        return self._solution(model, status, termination, value, bound, x)

    def _configure(self, solver: pywraplp.Solver) -> None:
        settings = self.settings
        if settings.time_limit_s is not None:
            solver.SetTimeLimit(math.ceil(settings.time_limit_s * 1000))
        solver.SetNumThreads(settings.threads)
        if self.name == "scip":
            lines = [
                f"randomization/randomseedshift = {settings.seed}",
                "misc/catchctrlc = FALSE",  # Ctrl-C is the planner's (see the module doc)
                *(f"{k} = {_text(v, 'TRUE', 'FALSE')}" for k, v in settings.options.items()),
            ]
            specific = "\n".join(lines)
        else:
            specific = " ".join(
                [
                    f"random_seed:{settings.seed}",
                    "catch_sigint_signal:false",
                    *(f"{k}:{_text(v, 'true', 'false')}" for k, v in settings.options.items()),
                ]
            )
        if not solver.SetSolverSpecificParametersAsString(specific):
            raise InputError(
                None, "solver.options", f"parameters {self.name} accepts", dict(settings.options)
            )
