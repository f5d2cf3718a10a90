"""The Cocktail solve strategy: one MILP per interval, or one over the horizon.

Intervals are independent unless start-up costs or a change limit couple consecutive ones,
so without them each interval is its own MILP (exact: the objective and every constraint
separate by interval); with them the whole horizon is one MILP. The plan's certificate
combines the per-interval ones as the objective combines: objective and bound are sums
(the bound is unknown when one interval's is). With a time limit each interval's MILP gets
the whole limit.
"""

from __future__ import annotations

from collections.abc import Sequence

from formulations.cocktail.deployment import (
    CocktailDeployment,
    IntervalPlan,
    Policy,
    read_intervals,
)
from formulations.cocktail.milp import build_model
from formulations.cocktail.view import CocktailView
from formulations.types import Certificate, MilpSolver, require_solution


def solve_intervals(
    view: CocktailView,
    ensembles: Sequence[Sequence[tuple[int, ...]]],
    allow_spot: bool,
    solver: MilpSolver,
    policy: Policy,
) -> tuple[CocktailDeployment, Certificate]:
    """Build and solve every interval group; the deployment and its combined certificate.

    Raises :class:`formulations.types.NoSolution` (context: the group's first interval)
    when a group's model has no solution."""
    horizon = list(range(view.n_intervals))
    groups = [horizon] if view.coupled else [[t] for t in horizon]
    plans: list[IntervalPlan] = []
    parts: list[Certificate] = []
    for group in groups:
        milp = build_model(view, ensembles, allow_spot, group, name=f"{policy}_{group[0]}")
        result = require_solution(solver.solve(milp.model), context=group[0])
        parts.append(Certificate.of(result))
        plans += read_intervals(view, milp, result)
    objective = sum(p.objective for p in parts)
    known = [p.bound for p in parts if p.bound is not None]
    bound = sum(known) if len(known) == len(parts) else None
    certificate = Certificate.combine(parts, objective, bound)
    return CocktailDeployment(policy=policy, intervals=plans), certificate
