"""CBC through PuLP's bundled binary. Runs in a private temporary folder, always removed."""

from __future__ import annotations

import re
import tempfile
import warnings
from collections.abc import Mapping
from pathlib import Path

import pulp

from formulations.types import MatrixModel, Sense, SolveResult, SolveStatus, relative_gap
from planner.backends.base import Backend
from planner.backends.matrix import pulp_from_matrix

# CBC's closing summary, e.g. "Objective value:  12.5" and "Lower bound:  11.0"; both are in
# CBC's internal minimisation sense (PuLP hands maximisation to CBC negated).
_OBJECTIVE = re.compile(r"^Objective value:\s+(\S+)", re.MULTILINE)
_LOWER_BOUND = re.compile(r"^Lower bound:\s+(\S+)", re.MULTILINE)
_STOPPED = re.compile(r"^Result - Stopped on (time|iterations|nodes|solutions)", re.MULTILINE)


def _cbc_value(value: bool | int | float | str) -> str:
    if isinstance(value, bool):
        return "on" if value else "off"
    return str(value)


class CbcBackend(Backend):
    name = "cbc"

    def _solve(self, model: MatrixModel, warm_start: Mapping[str, float]) -> SolveResult:
        problem = pulp_from_matrix(model)
        if warm_start:
            for var in problem.variables():
                if var.name in warm_start:
                    var.setInitialValue(warm_start[var.name])
        with tempfile.TemporaryDirectory(prefix="planner-cbc-") as tmp:
            log_path = Path(tmp) / "cbc.log"
            with warnings.catch_warnings():
                # PuLP 3.x bundles CBC and warns that 4.0 will not; we pin pulp < 4, and the
                # alternative (pulp[cbc] -> cbcbox) is a 191 MB download for the same binary.
                warnings.simplefilter("ignore", DeprecationWarning)
                solver = self._command(log_path, bool(warm_start))
            solver.tmpDir = tmp
            try:
                problem.solve(solver)
            except pulp.PulpSolverError as exc:
                return SolveResult(
                    SolveStatus.ERROR, None, None, None, {}, 0.0, model.size, self.name, str(exc)
                )
            log = log_path.read_text() if log_path.exists() else ""
        return self._result(problem, model, log)

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

    def _result(self, problem: pulp.LpProblem, model: MatrixModel, log: str) -> SolveResult:
        sol_status = problem.sol_status
        stopped = _STOPPED.search(log) is not None
        if sol_status in (pulp.LpSolutionOptimal, pulp.LpSolutionIntegerFeasible):
            values = {v.name: float(v.varValue or 0.0) for v in problem.variables()}
            objective = float(pulp.value(problem.objective))
            bound = self._bound(log, model.sense, objective)
            gap = relative_gap(objective, bound)
            status = SolveStatus.FEASIBLE if stopped else SolveStatus.OPTIMAL
            if status is SolveStatus.OPTIMAL and not _LOWER_BOUND.search(log):
                bound, gap = objective, 0.0
            return SolveResult(
                status,
                objective,
                bound,
                gap,
                values,
                0.0,
                model.size,
                self.name,
                pulp.LpStatus[problem.status],
            )
        if sol_status == pulp.LpSolutionInfeasible:
            status = SolveStatus.INFEASIBLE
        elif sol_status == pulp.LpSolutionUnbounded:
            status = SolveStatus.UNBOUNDED
        elif stopped or sol_status == pulp.LpSolutionNoSolutionFound:
            status = SolveStatus.TIME_LIMIT_NO_SOLUTION
        else:
            status = SolveStatus.ERROR
        return SolveResult(
            status, None, None, None, {}, 0.0, model.size, self.name, pulp.LpStatus[problem.status]
        )

    @staticmethod
    def _bound(log: str, sense: Sense, objective: float) -> float:
        found = _LOWER_BOUND.search(log)
        if found is None:
            return objective
        internal = float(found.group(1))
        return -internal if sense is Sense.MAXIMIZE else internal
