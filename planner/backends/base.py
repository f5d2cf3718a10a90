"""What every backend shares: settings, timing, and the result it reports."""

from __future__ import annotations

import time
from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping
from dataclasses import dataclass

import numpy as np

from formulations.model import MatrixModel, Model, warm_start_vector
from formulations.types import SolveResult, SolverSettings, SolveStatus, Termination

CANCEL_WAIT_S = 1.5  # after Ctrl-C or SIGTERM, how long to wait for a solver to stop


@dataclass(frozen=True)
class SolverProgress:
    """A running solve's state, as the solver's callbacks report it (objective values in
    the solver model's own objective; None while unknown)."""

    incumbent: float | None  # the best feasible objective found so far
    bound: float | None  # the best proven bound
    gap: float | None  # relative gap, as the solver computes it


class Backend(ABC):
    """A MILP solver behind the :class:`formulations.types.MilpSolver` interface.

    ``on_progress``, when set, is called with :class:`SolverProgress` while a solve runs
    (from the solver's thread) by backends whose solver reports it (HiGHS); the others
    never call it."""

    name: str
    on_progress: Callable[[SolverProgress], None] | None = None

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
