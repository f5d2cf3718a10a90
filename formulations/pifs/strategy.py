"""How ``pifs`` solves a scenario: pooled ports first where that is exact enough, else (or
then) the per-port MILP, started from the best known plan.

For fractional placement without co-location / separation groups or capacity planning
(``placement.aggregate_ports = "auto"``), :func:`formulations.pifs.aggregate.solve_pooled`
runs first (a Lagrangian bound and the plan of its table choices, then the pooled LP and
its sub-MILP where needed): its plan is kept when its gap to the pooled bound (the larger
of the Lagrangian and LP bounds) is within ``mip_gap``;
otherwise the per-port MILP runs, started from that plan, and the plan keeps the higher
of the two bounds. ``"always"`` stops after the pooled rounds (a gap above ``mip_gap``
is then reported as ``Termination.GAP_LIMIT``), ``"never"`` skips them. The per-port MILP
starts from the best baseline placement that meets every requirement (latency mode).

Certificates: one solve gives :meth:`Certificate.of`; several give
:meth:`Certificate.combine` with the plan's latency (recomputed by the cost model) and
the best bound of the solves (the largest lower bound: every bound is a valid lower bound
on the per-port optimum). The plan is optimal when that gap is within ``mip_gap``.
"""

from __future__ import annotations

import math
from dataclasses import replace

from formulations.pifs.aggregate import Pooled, solve_pooled
from formulations.pifs.baselines import placements
from formulations.pifs.deployment import PifsDeployment, to_deployment
from formulations.pifs.milp import build_model, placement_from, start_values
from formulations.pifs.verify import placement_check
from formulations.pifs.view import (
    MAX_PLACEMENT_COLUMNS,
    PifsView,
    Placement,
    cost,
    per_port_columns,
    pools_ports,
)
from formulations.tolerances import leq
from formulations.types import (
    Certificate,
    MilpSolver,
    Solution,
    SolveStatus,
    Termination,
    require_solution,
)


def _combined(
    parts: list[Certificate], objective: float, bound: float | None, mip_gap: float, message: str
) -> Certificate:
    """The certificate of several solves: optimal when the plan's gap to the best bound is
    within ``mip_gap``; otherwise the first part's limit, or the gap limit of the strategy's
    own stopping rule when every part was solved to optimality."""
    combined = Certificate.combine(parts, objective, bound, message)
    if combined.gap <= mip_gap:
        return replace(combined, status=SolveStatus.OPTIMAL, termination=Termination.OPTIMAL)
    termination = combined.termination
    if termination is Termination.OPTIMAL:
        termination = Termination.GAP_LIMIT
    return replace(combined, status=SolveStatus.FEASIBLE, termination=termination)


def solve(view: PifsView, solver: MilpSolver) -> Solution[PifsDeployment]:
    mip_gap = solver.settings.mip_gap
    # the baselines' placements, pooled at the ports as the planner's plans are (a BEACON
    # baseline's own site would give a latency no port-pooled plan has, an invalid cut)
    sited = [replace(p, site="port") for p in placements(view).values() if p is not None]
    checked = [(placement_check(view, p), p) for p in sited]
    # in latency mode a placement's objective is its latency (capacity planning: no start)
    known = [(v.objective_value, p) for v, p in checked if v.ok]
    incumbent = min(known, key=lambda known: known[0], default=(math.inf, None))[1]
    pooled: Pooled | None = None
    if pools_ports(view.inputs):
        pooled = solve_pooled(view, solver, incumbent)
        too_large = per_port_columns(view) > MAX_PLACEMENT_COLUMNS
        if pooled.placement is not None and (
            pooled.gap <= mip_gap or too_large or view.inputs.placement.aggregate_ports == "always"
        ):
            certificate = _combined(
                pooled.parts, pooled.latency_us, pooled.bound_us, mip_gap, pooled.message
            )
            warnings = []
            if too_large and pooled.gap > mip_gap:
                warnings.append(
                    f"the per-port MILP ({per_port_columns(view):,} placement columns, over "
                    f"{MAX_PLACEMENT_COLUMNS:,}) is not built: the pooled plan keeps its gap"
                )
            return Solution(to_deployment(view, pooled.placement, None), certificate, warnings)
        if pooled.placement is not None:
            incumbent = pooled.placement
    return _per_port(view, solver, incumbent, pooled)


def _per_port(
    view: PifsView, solver: MilpSolver, incumbent: Placement | None, pooled: Pooled | None
) -> Solution[PifsDeployment]:
    """The per-port MILP, started from ``incumbent`` (latency mode), with the pooled
    rounds' bound where they ran."""
    plan_mode = view.inputs.capacity_planning
    built = build_model(view)
    start = None
    if incumbent is not None and plan_mode is None:
        start = start_values(built, view, incumbent)
    result = require_solution(solver.solve(built.matrix, warm_start=start))
    assert result.objective is not None
    placement = placement_from(view, built.cols, result)
    warnings = []
    objective = result.objective
    bought = None
    if plan_mode is None:
        latency = cost(view, placement).latency_us
        if not leq(objective, latency):
            warnings.append(
                f"the solver's plan scores {objective:.6g} us but is "
                f"worth {latency:.6g} us once its slack is removed"
            )
            objective = latency
    else:
        bought = round(objective / plan_mode.expander_price_usd)
    deployment = to_deployment(view, placement, bought)
    if pooled is None:
        return Solution(deployment, Certificate.of(result, objective), warnings)
    bounds = [b for b in (result.bound, pooled.bound_us) if b is not None and math.isfinite(b)]
    certificate = _combined(
        [*pooled.parts, Certificate.of(result, objective)],
        objective,
        max(bounds) if bounds else None,
        solver.settings.mip_gap,
        result.message,
    )
    return Solution(deployment, certificate, warnings)
