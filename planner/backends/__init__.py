"""Interchangeable MILP backends behind :class:`formulations.types.MilpSolver`.

Backends are imported when first chosen: OR-Tools alone costs ~0.15 s to import.
"""

from __future__ import annotations

from formulations.types import SolverSettings
from planner.backends.base import Backend, SolverProgress


def make_solver(settings: SolverSettings | None = None) -> Backend:
    """The backend named by ``settings.backend`` (HiGHS by default)."""
    settings = settings or SolverSettings()
    if settings.backend == "highs":
        from planner.backends.highs import HighsBackend

        return HighsBackend(settings)
    if settings.backend == "cbc":
        from planner.backends.cbc import CbcBackend

        return CbcBackend(settings)
    from planner.backends.ortools_backend import OrtoolsBackend

    return OrtoolsBackend(settings, settings.backend)


__all__ = ["Backend", "SolverProgress", "make_solver"]
