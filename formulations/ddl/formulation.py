"""The ``ddl`` formulation: Stash (ICDCS '23) as a MILP, the cheapest cloud GPU
configuration that trains each job before its deadline (or the earliest finish within a
budget), from a stall model. The math is in :mod:`formulations.ddl.milp`.

Where each stage lives:

* ``inputs.py``: the scenario schema; ``view.py``: :func:`~formulations.ddl.view.prepare`
  enumerates every job's configurations with :mod:`cost_models.ddl` and prunes them;
* ``candidates.py``: one configuration (``Candidate``), its limits and ranking;
* ``milp.py``: the math docstring and the model (two stages: the objective, then the
  tie-break); ``deployment.py``: the deployment schema and how it is read off a solution;
* ``verify.py``: the independent verifier; ``baselines.py``: the issue's baselines;
* ``tables.py``: the recommendation and the ranked candidates; ``explain.py``: why there is
  no plan, and why a candidate was not recommended.
"""

from __future__ import annotations

from typing import Any

from cost_models.units import UNIT_H, UNIT_USD
from formulations.ddl.baselines import baselines
from formulations.ddl.deployment import DdlDeployment, chosen_candidates, deployment_of
from formulations.ddl.explain import explain
from formulations.ddl.inputs import DdlInputs, Mode
from formulations.ddl.milp import build
from formulations.ddl.rates import rate_sources, spot_risks
from formulations.ddl.tables import tables
from formulations.ddl.verify import evaluate, requirements, verify
from formulations.ddl.view import DdlView, prepare
from formulations.types import (
    BaselineRun,
    Certificate,
    Formulation,
    InfeasibleError,
    MilpSolver,
    ObjectiveSpec,
    RateSource,
    Refit,
    Sense,
    Solution,
    Table,
    Verification,
    require_solution,
)

MIN_COST = ObjectiveSpec("total cost", UNIT_USD, Sense.MINIMIZE)
MIN_TIME = ObjectiveSpec("latest finish", UNIT_H, Sense.MINIMIZE)


class DdlFormulation(Formulation[DdlInputs, DdlView, DdlDeployment]):
    kind = "ddl"
    inputs_model = DdlInputs
    deployment_model = DdlDeployment
    objective = MIN_COST  # the default mode; objective_of names the scenario's

    def objective_of(self, view: DdlView) -> ObjectiveSpec:
        return MIN_COST if view.inputs.objective is Mode.MIN_COST else MIN_TIME

    def prepare(self, inputs: DdlInputs) -> DdlView:
        return prepare(inputs)

    def solve(self, view: DdlView, solver: MilpSolver) -> Solution[DdlDeployment]:
        inputs = view.inputs
        if not all(view.kept.values()):  # some job has no configuration that fits on its own
            raise InfeasibleError(explain(view))
        model = build(inputs, view.kept)
        first = require_solution(solver.solve(model.model))
        assert first.objective is not None  # require_solution: it has a solution
        model.second_stage(first.objective, inputs.near_optimal_pct)
        tie_break = solver.solve(model.model, warm_start=first.x)
        parts = [Certificate.of(first)]
        warnings = []
        final = first
        if tie_break.status.has_solution:
            parts.append(Certificate.of(tie_break))
            final = tie_break
        else:
            warnings.append(
                f"tie-break stage: {tie_break.status.value} ({tie_break.termination.text}); "
                "the plan is the first stage's solution"
            )
        chosen = chosen_candidates(model, final)
        if inputs.objective is Mode.MIN_COST:
            value = sum(c.estimate.cost_usd for c in chosen)
        else:
            value = max(c.estimate.hours for c in chosen)
        if inputs.near_optimal_pct > 0:
            warnings.append(
                f"near_optimal_pct = {inputs.near_optimal_pct:g}: up to "
                f"{inputs.near_optimal_pct:g}% worse than the optimum ({first.objective:.4g} "
                f"{self.objective_of(view).unit}) for a better "
                f"{'time' if inputs.objective is Mode.MIN_COST else 'cost'}"
            )
        certificate = Certificate.combine(parts, value, first.bound)
        return Solution(deployment_of(chosen), certificate, warnings)

    def verify(self, view: DdlView, deployment: DdlDeployment) -> Verification:
        return verify(view, deployment)

    def refit(
        self, view: DdlView, deployment: DdlDeployment, solver: MilpSolver
    ) -> Refit[DdlDeployment]:
        """``planner check``: every field of the deployment is a committed decision and is
        kept as it is: per job, its ``instance_type``, ``nodes`` and ``market`` (the VMs it
        runs on); there is nothing to re-route. What is re-evaluated is the stall model of
        each kept configuration under the new inputs (epochs, batch, precision, prices,
        assumptions). The committed plan covers the scenario when every job still meets its
        deadline, the total cost still fits the budget (min_time) and the jobs' vCPUs still
        fit every quota; each one missed is a shortfall (hours needed against the deadline,
        USD against the budget, vCPUs against the quota). A job added to or removed from
        the scenario, or a configuration the scenario no longer allows, is the verifier's
        violation (the plan does not say how to run the new set of jobs)."""
        return Refit(deployment, [s for s, _ in requirements(view, evaluate(view, deployment))])

    def rate_sources(self, view: DdlView) -> list[RateSource]:
        return rate_sources(view)

    def tables(self, view: DdlView, deployment: DdlDeployment) -> list[Table]:
        return tables(view, deployment)

    def baselines(
        self, view: DdlView, solver: MilpSolver, solution: Solution[DdlDeployment]
    ) -> list[BaselineRun[DdlDeployment]]:
        return baselines(view)

    def headline(self, view: DdlView, deployment: DdlDeployment) -> dict[str, Any]:
        estimates = [view.estimate_of(a) for a in deployment.assignments]
        risks = spot_risks(view, deployment)
        measured = [m.miss_pct for _, _, m in risks if m is not None]
        return {
            "total_cost_usd": sum(e.cost_usd for e in estimates),
            "latest_finish_h": max((e.hours for e in estimates), default=0.0),
            "gpus": sum(e.gpus for e in estimates),
            "configuration": "; ".join(
                f"{a.job}: {a.nodes} x {a.instance_type} ({a.market.value})"
                for a in deployment.assignments
            ),
            # worst spot job's share of simulated runs that finish late (None: no spot job;
            # measured: None when no spot job's family has measured lifetimes)
            "spot_late_pct_advisor": max((a.miss_pct for _, a, _ in risks), default=None),
            "spot_late_pct_measured": max(measured, default=None),
        }

    def explain_infeasible(self, view: DdlView, context: Any) -> str:
        return explain(view)
