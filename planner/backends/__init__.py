"""Interchangeable MILP backends behind :class:`formulations.types.MilpSolver`."""

from __future__ import annotations

from formulations.types import SolverSettings
from planner.backends.base import Backend
from planner.backends.cbc import CbcBackend
from planner.backends.highs import HighsBackend
from planner.backends.ortools_backend import OrtoolsBackend


def make_solver(settings: SolverSettings | None = None) -> Backend:
    """The backend named by ``settings.backend`` (HiGHS by default)."""
    settings = settings or SolverSettings()
    if settings.backend == "highs":
        return HighsBackend(settings)
    if settings.backend == "cbc":
        return CbcBackend(settings)
    return OrtoolsBackend(settings, settings.backend)


__all__ = ["Backend", "make_solver"]
