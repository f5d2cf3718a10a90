"""Numerical tolerances shared by every verifier and the engine.

A solver's solution satisfies its constraints only up to its feasibility tolerance
(HiGHS: 1e-7 primal feasibility and 1e-6 integrality, absolute; CBC and SCIP use the same
orders of magnitude). A verifier that recomputes a constraint from the cost model must
accept that much slack and no more, so one pair of tolerances is used everywhere:

* ``FEAS_RTOL`` relative and ``FEAS_ATOL`` absolute slack on every ``<=``, ``>=`` and
  ``==`` a verifier checks (``leq``, ``geq``, ``close``);
* ``INTEGRALITY_TOL`` for a value that must be an integer;
* ``OBJECTIVE_RTOL``/``OBJECTIVE_ATOL`` for the engine's check that the objective a solver
  or plan file states is the one the verifier recomputes (the objective sums many terms,
  each within the feasibility tolerance, hence the looser relative bound);
* ``NOISE`` for solver values treated as zero when a deployment is read off a solution.
"""

from __future__ import annotations

import math

FEAS_RTOL = 1e-6
FEAS_ATOL = 1e-6
INTEGRALITY_TOL = 1e-6
OBJECTIVE_RTOL = 1e-5
OBJECTIVE_ATOL = 1e-6
NOISE = 1e-9


def leq(lhs: float, rhs: float) -> bool:
    """``lhs <= rhs`` up to the feasibility tolerance."""
    return lhs <= rhs + FEAS_ATOL + FEAS_RTOL * max(abs(lhs), abs(rhs))


def geq(lhs: float, rhs: float) -> bool:
    """``lhs >= rhs`` up to the feasibility tolerance."""
    return leq(rhs, lhs)


def close(lhs: float, rhs: float) -> bool:
    """``lhs == rhs`` up to the feasibility tolerance."""
    return math.isclose(lhs, rhs, rel_tol=FEAS_RTOL, abs_tol=FEAS_ATOL)


def is_integral(value: float) -> bool:
    """``value`` is an integer up to the integrality tolerance."""
    return abs(value - round(value)) <= INTEGRALITY_TOL


def objective_matches(stated: float, recomputed: float) -> bool:
    """The objective a solver or a plan file states equals the recomputed one."""
    return math.isclose(stated, recomputed, rel_tol=OBJECTIVE_RTOL, abs_tol=OBJECTIVE_ATOL)


def relative_gap(objective: float, bound: float) -> float:
    """``|bound - objective| / max(|objective|, 1e-9)``: the MIP gap every backend and every
    combined certificate reports (infinite when the bound is unknown)."""
    if math.isinf(bound) or math.isnan(bound):
        return math.inf
    return abs(bound - objective) / max(abs(objective), 1e-9)
