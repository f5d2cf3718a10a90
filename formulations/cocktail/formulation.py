"""The Cocktail :class:`Formulation`: wires the stages to the package's modules.

Modules (one stage each)
    inputs.py       scenario keys (pydantic)
    load.py         observed and planned (forecast) requests/s per interval
    view.py         the cost-model view (``prepare``): arrays, candidate ensembles per class,
                    unreachable-target messages, dominated instance types
    milp.py         the math docstring and the MILP built with ``formulations.model.Model``
    intervals.py    the solve strategy: one MILP per interval, or one over a coupled horizon,
                    and the combined certificate
    deployment.py   the deployment schema and reading it off a solved MILP
    verify.py       independent verifier and cost of any deployment
    baselines.py    InFaaS, Clipper and Cocktail-greedy as deployments on the same inputs
    tables.py       tables for people
    simulate.py     seeded analytic spot-failure check (the cost benchmark's column)
    spot_risk.py    targets met at the Spot Advisor and the measured spot rates (replayed)
    replay.py       discrete-event replay on the shared core (``planner simulate``)
    refit.py        ``planner check``: the committed schedule refitted to a changed scenario
                    (its math docstring says what is kept and what re-derived)

``planner check`` compares the refitted schedule's cost (the committed ensembles and pools,
counts never raised, on the new load and prices) with a fresh optimum by the default
relative cost difference (``Formulation.shortfall``): it measures what re-choosing the
ensembles and instance types would save, not what releasing unneeded VMs saves (the refit
does that).
"""

from __future__ import annotations

from typing import Any

from cost_models.units import UNIT_USD
from formulations.cocktail.baselines import baseline_runs
from formulations.cocktail.deployment import CocktailDeployment
from formulations.cocktail.inputs import CocktailInputs
from formulations.cocktail.intervals import solve_intervals
from formulations.cocktail.refit import refit
from formulations.cocktail.replay import DEFAULT_WINDOW_S, cocktail_rows, replay_all
from formulations.cocktail.spot_risk import spot_risk_table
from formulations.cocktail.tables import PERCENT, replay_table, tables
from formulations.cocktail.verify import cost_summary, verify_deployment
from formulations.cocktail.view import CocktailView, prepare, rate_sources, unreachable_message
from formulations.types import (
    BaselineRun,
    Formulation,
    InfeasibleError,
    MilpSolver,
    ObjectiveSpec,
    RateSource,
    Refit,
    Sense,
    SimulateOptions,
    Solution,
    Table,
    Verification,
)


class CocktailFormulation(Formulation[CocktailInputs, CocktailView, CocktailDeployment]):
    kind = "cocktail"
    inputs_model = CocktailInputs
    deployment_model = CocktailDeployment
    objective = ObjectiveSpec("cost", UNIT_USD, Sense.MINIMIZE)

    def prepare(self, inputs: CocktailInputs) -> CocktailView:
        return prepare(inputs)

    def solve(self, view: CocktailView, solver: MilpSolver) -> Solution[CocktailDeployment]:
        if any(not c.ensembles for c in view.candidates):
            raise InfeasibleError(self.explain_infeasible(view, None))
        ensembles = [c.ensembles for c in view.candidates]
        deployment, certificate = solve_intervals(view, ensembles, True, solver, "milp")
        return Solution(deployment, certificate)

    def verify(self, view: CocktailView, deployment: CocktailDeployment) -> Verification:
        return verify_deployment(view, deployment)

    def tables(self, view: CocktailView, deployment: CocktailDeployment) -> list[Table]:
        return [*tables(view, deployment), *spot_risk_table(view, deployment)]

    def rate_sources(self, view: CocktailView) -> list[RateSource]:
        return rate_sources(view)

    def baselines(
        self, view: CocktailView, solver: MilpSolver, solution: Solution[CocktailDeployment]
    ) -> list[BaselineRun[CocktailDeployment]]:
        return baseline_runs(view, solver)

    def headline(
        self, view: CocktailView, deployment: CocktailDeployment
    ) -> dict[str, float | int | str | None]:
        summary = cost_summary(view, deployment)
        first = deployment.intervals[0].classes if deployment.intervals else []
        return {
            "cost_usd_per_h": summary["cost_usd_per_h"],
            "cost_usd_per_1k_requests": summary["cost_usd_per_1k_requests"],
            "spot_vm_pct": PERCENT * _spot_share(deployment),
            "ensembles": "; ".join(f"{c.name}: {'+'.join(c.members)}" for c in first),
            "ensemble_intervals": ensemble_intervals(deployment),
        }

    def refit(
        self, view: CocktailView, deployment: CocktailDeployment, solver: MilpSolver
    ) -> Refit[CocktailDeployment]:
        return refit(view, deployment, solver)

    def explain_infeasible(self, view: CocktailView, context: Any) -> str:
        missing = [k for k, c in enumerate(view.candidates) if not c.ensembles]
        if not missing:
            return super().explain_infeasible(view, context)
        return "; ".join(unreachable_message(view, k) for k in missing)

    def simulate(
        self,
        view: CocktailView,
        deployment: CocktailDeployment,
        solver: MilpSolver,
        options: SimulateOptions,
    ) -> list[Table]:
        """Discrete-event replay of the plan and of every baseline that has a plan
        (``replay.py``): the common report's two tables, then Cocktail's own."""
        options.refuse_unsupported(self.kind, frozenset({"rate_scale", "duration_s"}))
        deployments = {"milp": deployment}
        for run in baseline_runs(view, solver):
            if run.deployment is not None:
                deployments[run.name] = run.deployment
        window_s = options.duration_s if options.duration_s is not None else DEFAULT_WINDOW_S
        report, outcomes = replay_all(
            view, deployments, options.runs, options.seed, window_s, options.rate_scale
        )
        return [*report.tables(), replay_table(cocktail_rows(report, outcomes), window_s)]


def ensemble_intervals(deployment: CocktailDeployment) -> int:
    """Intervals in which some class is served by more than one model (0: the plan uses no
    ensemble at all, only single models)."""
    return sum(any(len(c.members) > 1 for c in plan.classes) for plan in deployment.intervals)


def _spot_share(deployment: CocktailDeployment) -> float:
    """Share of the deployment's VM-intervals that are spot VMs."""
    pools = [p for plan in deployment.intervals for p in plan.pools]
    total = sum(p.on_demand + p.spot for p in pools)
    return sum(p.spot for p in pools) / total if total else 0.0
