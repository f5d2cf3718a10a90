"""What every backend shares: settings, timing, and the status it reports."""

from __future__ import annotations

import time
from abc import ABC, abstractmethod
from collections.abc import Mapping

import pulp

from formulations.types import MatrixModel, SolveResult, SolverSettings
from planner.backends.matrix import matrix_from_pulp


class Backend(ABC):
    """A MILP solver behind the :class:`formulations.types.MilpSolver` interface."""

    name: str

    def __init__(self, settings: SolverSettings) -> None:
        self.settings = settings

    def solve(
        self,
        model: pulp.LpProblem | MatrixModel,
        warm_start: Mapping[str, float] | None = None,
    ) -> SolveResult:
        matrix = model if isinstance(model, MatrixModel) else matrix_from_pulp(model)
        started = time.perf_counter()
        result = self._solve(matrix, warm_start or {})
        result.solve_s = time.perf_counter() - started
        return result

    @abstractmethod
    def _solve(self, model: MatrixModel, warm_start: Mapping[str, float]) -> SolveResult:
        """Solve the array form; ``solve_s`` is filled in by :meth:`solve`."""
