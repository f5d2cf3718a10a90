"""HiGHS in process (highspy): the default backend. With ``on_progress`` set, a MIP
solve reports its incumbent, bound and gap from HiGHS's callbacks (:class:`_Progress`)."""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import highspy
import numpy as np

from formulations.model import MatrixModel, Sense
from formulations.types import InputError, SolveResult, SolveStatus, Termination
from planner.backends.base import CANCEL_WAIT_S, Backend, SolverProgress

_LIMITS = {
    highspy.HighsModelStatus.kTimeLimit: Termination.TIME_LIMIT,
    highspy.HighsModelStatus.kIterationLimit: Termination.NODE_LIMIT,
    # HiGHS reports its node, leaf and improving-solution limits all as kSolutionLimit
    highspy.HighsModelStatus.kSolutionLimit: Termination.SOLUTION_LIMIT,
    highspy.HighsModelStatus.kInterrupt: Termination.INTERRUPTED,
    highspy.HighsModelStatus.kHighsInterrupt: Termination.INTERRUPTED,
    highspy.HighsModelStatus.kMemoryLimit: Termination.MEMORY_LIMIT,
    highspy.HighsModelStatus.kObjectiveBound: Termination.OBJECTIVE_LIMIT,
    highspy.HighsModelStatus.kObjectiveTarget: Termination.OBJECTIVE_LIMIT,
}


PROGRESS_S = 0.2  # between new incumbents, the bound and gap are reported this often (s)


def _finite(value: float) -> float | None:
    return value if math.isfinite(value) else None


class _Progress:
    """HiGHS's MIP callbacks (highspy ``Highs.cbMipImprovingSolution`` and
    ``Highs.cbMipInterrupt``, whose event's ``data_out`` carries ``mip_primal_bound``,
    ``mip_dual_bound``, ``mip_gap`` and ``running_time``) forwarded as
    :class:`SolverProgress`: every improving solution, and the bound and gap at most every
    :data:`PROGRESS_S` seconds of the solver's clock from the frequent interrupt check. The
    callbacks only read; an exception in ``on_progress`` stops the reporting and is raised
    once the solve is over (never inside HiGHS)."""

    def __init__(self, h: highspy.Highs, on_progress: Callable[[SolverProgress], None]) -> None:
        self.on_progress = on_progress
        self.last_s = -math.inf
        self.error: Exception | None = None
        h.cbMipImprovingSolution += self._improved
        h.cbMipInterrupt += self._checked

    def _improved(self, event: Any) -> None:
        self._send(event.data_out)

    def _checked(self, event: Any) -> None:
        if event.data_out.running_time - self.last_s >= PROGRESS_S:
            self._send(event.data_out)

    def _send(self, data: Any) -> None:
        if self.error is not None:
            return
        self.last_s = data.running_time
        try:
            self.on_progress(
                SolverProgress(
                    _finite(data.mip_primal_bound),
                    _finite(data.mip_dual_bound),
                    _finite(data.mip_gap),
                )
            )
        except Exception as exc:  # raised in the caller's thread after the solve
            self.error = exc


def _run(h: highspy.Highs, on_progress: Callable[[SolverProgress], None] | None = None) -> None:
    """Run HiGHS in its own thread so that Ctrl-C (KeyboardInterrupt) or a signal handler's
    exception reaches Python at once: the solve is cancelled, not waited for."""
    progress = None if on_progress is None else _Progress(h, on_progress)
    thread = h.startSolve()
    try:
        while not h.wait(0.1)[0]:
            pass
    except BaseException:
        h.cancelSolve()
        thread.join(CANCEL_WAIT_S)
        raise
    if progress is not None and progress.error is not None:
        raise progress.error


class HighsBackend(Backend):
    name = "highs"

    def _highs(self, model: MatrixModel, presolve: bool) -> highspy.Highs:
        h = highspy.Highs()
        h.setOptionValue("output_flag", False)
        h.setOptionValue("mip_rel_gap", self.settings.mip_gap)
        h.setOptionValue("random_seed", self.settings.seed)
        h.setOptionValue("threads", self.settings.threads)
        if self.settings.time_limit_s is not None:
            h.setOptionValue("time_limit", float(self.settings.time_limit_s))
        if not presolve:
            h.setOptionValue("presolve", "off")
        # the model's own options (formulations.model: search settings only), then the
        # scenario's [solver.options], which override them
        for key, value in model.solver_options.get(self.name, {}).items():
            if h.setOptionValue(key, value) != highspy.HighsStatus.kOk:
                raise ValueError(f"the model's HiGHS option {key} = {value!r} is refused")
        for key, value in self.settings.options.items():
            if h.setOptionValue(key, value) != highspy.HighsStatus.kOk:
                raise InputError(
                    None,
                    f"solver.options.{key}",
                    "a HiGHS option name with a value of its type",
                    value,
                )
        lp = highspy.HighsLp()
        lp.num_col_ = len(model.names)
        lp.num_row_ = len(model.row_lower)
        lp.col_cost_ = np.asarray(model.cost, dtype=float)
        lp.col_lower_ = np.asarray(model.col_lower, dtype=float)
        lp.col_upper_ = np.asarray(model.col_upper, dtype=float)
        lp.row_lower_ = np.asarray(model.row_lower, dtype=float)
        lp.row_upper_ = np.asarray(model.row_upper, dtype=float)
        lp.offset_ = float(model.offset)
        lp.col_names_ = list(model.names)
        if len(model.row_names) == lp.num_row_:
            lp.row_names_ = list(model.row_names)
        lp.sense_ = (
            highspy.ObjSense.kMaximize
            if model.sense is Sense.MAXIMIZE
            else highspy.ObjSense.kMinimize
        )
        lp.a_matrix_.format_ = highspy.MatrixFormat.kRowwise
        lp.a_matrix_.num_col_ = lp.num_col_
        lp.a_matrix_.num_row_ = lp.num_row_
        lp.a_matrix_.start_ = np.asarray(model.a_start, dtype=np.int32)
        lp.a_matrix_.index_ = np.asarray(model.a_index, dtype=np.int32)
        lp.a_matrix_.value_ = np.asarray(model.a_value, dtype=float)
        if np.any(model.integrality):
            lp.integrality_ = [
                highspy.HighsVarType.kInteger if flag else highspy.HighsVarType.kContinuous
                for flag in model.integrality
            ]
        h.passModel(lp)
        return h

    def _solve(self, model: MatrixModel, warm_start: np.ndarray | None) -> SolveResult:
        h = self._highs(model, presolve=True)
        if warm_start is not None:
            start = highspy.HighsSolution()
            start.col_value = [float(v) for v in warm_start]
            start.value_valid = True
            h.setSolution(start)
        _run(h, self.on_progress)
        status = h.getModelStatus()
        if status == highspy.HighsModelStatus.kUnboundedOrInfeasible:
            # Presolve cannot tell the two apart; without presolve HiGHS can.
            h = self._highs(model, presolve=False)
            _run(h, self.on_progress)
            status = h.getModelStatus()
        return self._result(h, model, status)

    def _result(
        self, h: highspy.Highs, model: MatrixModel, status: highspy.HighsModelStatus
    ) -> SolveResult:
        info = h.getInfo()
        is_mip = bool(np.any(model.integrality))
        has_solution = info.primal_solution_status == highspy.kSolutionStatusFeasible
        message = h.modelStatusToString(status)
        if status == highspy.HighsModelStatus.kInfeasible:
            return self._no_solution(model, SolveStatus.INFEASIBLE, Termination.INFEASIBLE, message)
        if status in (
            highspy.HighsModelStatus.kUnbounded,
            highspy.HighsModelStatus.kUnboundedOrInfeasible,
        ):
            return self._no_solution(model, SolveStatus.UNBOUNDED, Termination.UNBOUNDED, message)
        if status == highspy.HighsModelStatus.kOptimal:
            solved, termination = SolveStatus.OPTIMAL, Termination.OPTIMAL
        elif status in _LIMITS:
            solved, termination = SolveStatus.FEASIBLE, _LIMITS[status]
        else:
            return self._no_solution(model, SolveStatus.ERROR, Termination.ERROR, message)
        if not has_solution:
            if solved is SolveStatus.OPTIMAL:
                return self._no_solution(model, SolveStatus.ERROR, Termination.ERROR, message)
            return self._no_solution(model, SolveStatus.NO_SOLUTION, termination, message)
        objective = float(info.objective_function_value)
        bound = float(info.mip_dual_bound) if is_mip else objective
        if solved is SolveStatus.OPTIMAL and not math.isfinite(bound):
            bound = objective
        x = np.asarray(h.getSolution().col_value, dtype=float)
        return self._solution(model, solved, termination, objective, bound, x, message)
