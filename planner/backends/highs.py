"""HiGHS in process (highspy): the default backend."""

from __future__ import annotations

import math
from collections.abc import Mapping

import highspy
import numpy as np

from formulations.types import (
    InputError,
    MatrixModel,
    Sense,
    SolveResult,
    SolveStatus,
    relative_gap,
)
from planner.backends.base import Backend

_STOPPED = {
    highspy.HighsModelStatus.kTimeLimit,
    highspy.HighsModelStatus.kIterationLimit,
    highspy.HighsModelStatus.kSolutionLimit,
    highspy.HighsModelStatus.kInterrupt,
    highspy.HighsModelStatus.kHighsInterrupt,
    highspy.HighsModelStatus.kMemoryLimit,
    highspy.HighsModelStatus.kObjectiveBound,
    highspy.HighsModelStatus.kObjectiveTarget,
}


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

    def _solve(self, model: MatrixModel, warm_start: Mapping[str, float]) -> SolveResult:
        h = self._highs(model, presolve=True)
        if warm_start:
            start = highspy.HighsSolution()
            start.col_value = [float(warm_start.get(name, 0.0)) for name in model.names]
            start.value_valid = True
            h.setSolution(start)
        h.run()
        status = h.getModelStatus()
        if status == highspy.HighsModelStatus.kUnboundedOrInfeasible:
            # Presolve cannot tell the two apart; without presolve HiGHS can.
            h = self._highs(model, presolve=False)
            h.run()
            status = h.getModelStatus()
        return self._result(h, model, status)

    def _result(
        self, h: highspy.Highs, model: MatrixModel, status: highspy.HighsModelStatus
    ) -> SolveResult:
        info = h.getInfo()
        is_mip = bool(np.any(model.integrality))
        has_solution = info.primal_solution_status == highspy.kSolutionStatusFeasible
        values: dict[str, float] = {}
        objective = bound = gap = None
        if has_solution:
            col_value = h.getSolution().col_value
            values = dict(zip(model.names, map(float, col_value), strict=True))
            objective = float(info.objective_function_value)
            bound = float(info.mip_dual_bound) if is_mip else objective
            gap = relative_gap(objective, bound) if is_mip else 0.0
        message = h.modelStatusToString(status)
        if status == highspy.HighsModelStatus.kOptimal:
            normalized = SolveStatus.OPTIMAL
        elif status == highspy.HighsModelStatus.kInfeasible:
            normalized = SolveStatus.INFEASIBLE
        elif status in (
            highspy.HighsModelStatus.kUnbounded,
            highspy.HighsModelStatus.kUnboundedOrInfeasible,
        ):
            normalized = SolveStatus.UNBOUNDED
        elif status in _STOPPED:
            normalized = (
                SolveStatus.FEASIBLE if has_solution else SolveStatus.TIME_LIMIT_NO_SOLUTION
            )
        else:
            normalized = SolveStatus.ERROR
        if normalized is SolveStatus.OPTIMAL and (gap is None or math.isinf(gap)):
            gap = 0.0
        return SolveResult(
            normalized, objective, bound, gap, values, 0.0, model.size, self.name, message
        )
