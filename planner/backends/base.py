"""What every backend shares: settings, timing, and the result it reports."""

from __future__ import annotations

import time
from abc import ABC, abstractmethod
from collections.abc import Mapping

import numpy as np

from formulations.model import MatrixModel, Model, warm_start_vector
from formulations.types import SolveResult, SolverSettings, SolveStatus, Termination

CANCEL_WAIT_S = 1.5  # after Ctrl-C or SIGTERM, how long to wait for a solver to stop


class Backend(ABC):
    """A MILP solver behind the :class:`formulations.types.MilpSolver` interface."""

    name: str

    def __init__(self, settings: SolverSettings) -> None:
        self.settings = settings

    def solve(
        self,
        model: Model | MatrixModel,
        warm_start: Mapping[str, float] | np.ndarray | None = None,
    ) -> SolveResult:
        matrix = model.build() if isinstance(model, Model) else model
        start = None if warm_start is None else warm_start_vector(matrix, warm_start)
        started = time.perf_counter()
        result = self._solve(matrix, start)
        result.solve_s = time.perf_counter() - started
        return result

    @abstractmethod
    def _solve(self, model: MatrixModel, warm_start: np.ndarray | None) -> SolveResult:
        """Solve the array form; ``solve_s`` is filled in by :meth:`solve`."""

    def _no_solution(
        self, model: MatrixModel, status: SolveStatus, termination: Termination, message: str = ""
    ) -> SolveResult:
        return SolveResult(
            status,
            termination,
            None,
            None,
            np.zeros(0),
            model.names,
            model.size,
            self.name,
            message=message,
        )

    def _solution(
        self,
        model: MatrixModel,
        status: SolveStatus,
        termination: Termination,
        objective: float,
        bound: float | None,
        x: np.ndarray,
        message: str = "",
    ) -> SolveResult:
        return SolveResult(
            status,
            termination,
            objective,
            bound,
            np.asarray(x, dtype=float),
            model.names,
            model.size,
            self.name,
            message=message,
        )
