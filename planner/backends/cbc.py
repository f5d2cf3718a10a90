"""CBC through PuLP's bundled binary. Runs in a private temporary folder, always removed.

PuLP waits for the CBC process without a handle the caller can reach, so on Ctrl-C or SIGTERM
(the exception raised in the waiting main thread) :func:`_stop_cbc` kills the CBC processes
this process started: the solve is stopped, not left running after the planner exits.
"""

from __future__ import annotations

import contextlib
import re
import tempfile
import warnings
from pathlib import Path

import numpy as np
import psutil
import pulp

from formulations.model import MatrixModel, Sense
from formulations.types import SolveResult, SolveStatus, Termination
from planner.backends.base import CANCEL_WAIT_S, Backend
from planner.backends.matrix import pulp_from_matrix

# CBC's closing summary, e.g. "Objective value:  12.5" and "Lower bound:  11.0"; both are in
# CBC's internal minimisation sense (PuLP hands maximisation to CBC negated).
_LOWER_BOUND = re.compile(r"^Lower bound:\s+(\S+)", re.MULTILINE)
_STOPPED = re.compile(
    r"^Result - Stopped on (time|iterations|nodes|solutions|ctrl-c)", re.MULTILINE
)
_STOP_REASON = {
    "time": Termination.TIME_LIMIT,
    "iterations": Termination.NODE_LIMIT,
    "nodes": Termination.NODE_LIMIT,
    "solutions": Termination.SOLUTION_LIMIT,
    "ctrl-c": Termination.INTERRUPTED,
}


def _stop_cbc(binary: str) -> None:
    """Kill every running child process of this one started from ``binary``."""
    children = psutil.Process().children(recursive=True)
    for child in children:
        with contextlib.suppress(psutil.Error, IndexError):  # gone, or no command line
            if child.cmdline()[0] == binary:
                child.kill()
    psutil.wait_procs(children, timeout=CANCEL_WAIT_S)


def _cbc_value(value: bool | int | float | str) -> str:
    if isinstance(value, bool):
        return "on" if value else "off"
    return str(value)


class CbcBackend(Backend):
    name = "cbc"

    def _solve(self, model: MatrixModel, warm_start: np.ndarray | None) -> SolveResult:
        problem, variables = pulp_from_matrix(model)
        if warm_start is not None:
            for var, value in zip(variables, warm_start, strict=True):
                var.setInitialValue(float(value))
        with tempfile.TemporaryDirectory(prefix="planner-cbc-") as tmp:
            log_path = Path(tmp) / "cbc.log"
            with warnings.catch_warnings():
                # PuLP 3.x bundles CBC and warns that 4.0 will not; we pin pulp < 4, and the
                # alternative (pulp[cbc] -> cbcbox) is a 191 MB download for the same binary.
                warnings.simplefilter("ignore", DeprecationWarning)
                solver = self._command(log_path, warm_start is not None)
            solver.tmpDir = tmp
            try:
                problem.solve(solver)
            except pulp.PulpSolverError as exc:
                return self._no_solution(model, SolveStatus.ERROR, Termination.ERROR, str(exc))
            except BaseException:  # KeyboardInterrupt or the CLI's SIGTERM exception
                _stop_cbc(solver.path)
                raise
            log = log_path.read_text() if log_path.exists() else ""
        return self._result(problem, variables, model, log)

    def _command(self, log_path: Path, warm_start: bool) -> pulp.PULP_CBC_CMD:
        return pulp.PULP_CBC_CMD(
            msg=False,
            timeLimit=self.settings.time_limit_s,
            gapRel=self.settings.mip_gap,
            threads=self.settings.threads,
            options=[
                f"randomCbcSeed {self.settings.seed + 1}",
                *(f"{k} {_cbc_value(v)}" for k, v in self.settings.options.items()),
            ],
            warmStart=warm_start,
            keepFiles=False,
            logPath=str(log_path),
        )

    def _result(
        self,
        problem: pulp.LpProblem,
        variables: list[pulp.LpVariable],
        model: MatrixModel,
        log: str,
    ) -> SolveResult:
        sol_status = problem.sol_status
        stopped = _STOPPED.search(log)
        termination = _STOP_REASON[stopped.group(1)] if stopped else Termination.OPTIMAL
        message = pulp.LpStatus[problem.status]
        if sol_status in (pulp.LpSolutionOptimal, pulp.LpSolutionIntegerFeasible):
            x = np.array([float(v.varValue or 0.0) for v in variables])
            objective = float(pulp.value(problem.objective))
            if stopped:
                return self._solution(
                    model,
                    SolveStatus.FEASIBLE,
                    termination,
                    objective,
                    self._bound(log, model.sense, objective),
                    x,
                    message,
                )
            bound = self._bound(log, model.sense, objective) if _LOWER_BOUND.search(log) else None
            return self._solution(
                model,
                SolveStatus.OPTIMAL,
                Termination.OPTIMAL,
                objective,
                objective if bound is None else bound,
                x,
                message,
            )
        if sol_status == pulp.LpSolutionInfeasible:
            return self._no_solution(model, SolveStatus.INFEASIBLE, Termination.INFEASIBLE, message)
        if sol_status == pulp.LpSolutionUnbounded:
            return self._no_solution(model, SolveStatus.UNBOUNDED, Termination.UNBOUNDED, message)
        if stopped or sol_status == pulp.LpSolutionNoSolutionFound:
            return self._no_solution(
                model,
                SolveStatus.NO_SOLUTION,
                termination if stopped else Termination.TIME_LIMIT,
                message,
            )
        return self._no_solution(model, SolveStatus.ERROR, Termination.ERROR, message)

    @staticmethod
    def _bound(log: str, sense: Sense, objective: float) -> float:
        found = _LOWER_BOUND.search(log)
        if found is None:
            return objective
        internal = float(found.group(1))
        return -internal if sense is Sense.MAXIMIZE else internal
