"""The ``ddl`` MILP over enumerated configurations (math: :mod:`formulations.ddl`)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import pulp

from formulations.ddl.candidates import Candidate
from formulations.ddl.inputs import DdlInputs, Mode
from formulations.types import SolveResult

# Absolute and relative slack added to the first stage's optimum when it becomes a row of
# the second stage, so that solver round-off (HiGHS: 1e-7 primal feasibility) cannot make
# the first stage's own solution infeasible.
STAGE_RTOL = 1e-7
STAGE_ATOL = 1e-9


@dataclass
class DdlModel:
    problem: pulp.LpProblem
    choice: dict[str, list[tuple[Candidate, pulp.LpVariable]]]  # job -> (candidate, x)
    primary: pulp.LpAffineExpression  # the scenario's objective
    secondary: pulp.LpAffineExpression  # the tie-break: hours (min_cost) or dollars

    def objective_at(self, mode: Mode, result: SolveResult) -> float:
        """The scenario's objective at the solver's x values and the model's coefficients
        (total cost, or the latest job's hours; never the free variable T, which the
        second stage may leave above the latest finish)."""
        if mode is Mode.MIN_COST:
            return sum(
                c.estimate.cost_usd * result.value(x) for xs in self.choice.values() for c, x in xs
            )
        return max(
            sum(c.estimate.hours * result.value(x) for c, x in xs) for xs in self.choice.values()
        )

    def second_stage(self, optimum: float, near_optimal_pct: float) -> None:
        """Keep the primary objective within ``near_optimal_pct`` % of ``optimum`` and
        minimise the secondary one instead."""
        limit = optimum * (1 + near_optimal_pct / 100 + STAGE_RTOL) + STAGE_ATOL
        self.problem += self.primary <= limit, "near_optimal"
        self.problem.setObjective(self.secondary)


def build(inputs: DdlInputs, kept: dict[str, Sequence[Candidate]]) -> DdlModel:
    """One binary per kept candidate; see the package docstring for the rows."""
    problem = pulp.LpProblem("ddl", pulp.LpMinimize)
    choice: dict[str, list[tuple[Candidate, pulp.LpVariable]]] = {}
    for j, spec in enumerate(inputs.jobs):
        xs = [
            (c, problem.add_variable(f"x_{j}_{k}", 0, 1, pulp.LpBinary))
            for k, c in enumerate(kept[spec.name])
        ]
        choice[spec.name] = xs
        problem += pulp.lpSum(x for _, x in xs) == 1, f"one_config_{j}"
        if spec.deadline_h is not None:
            problem += (
                pulp.lpSum(c.estimate.hours * x for c, x in xs) <= spec.deadline_h,
                f"deadline_{j}",
            )
    every = [pair for xs in choice.values() for pair in xs]
    for q, quota in enumerate(inputs.quotas):
        terms = [c.vcpus * x for c, x in every if c.quota_key == (quota.group, quota.market)]
        if terms:
            problem += pulp.lpSum(terms) <= quota.vcpus, f"quota_{q}"
    cost = pulp.lpSum(c.estimate.cost_usd * x for c, x in every)
    job_hours = pulp.lpSum(c.estimate.hours * x for c, x in every)
    if inputs.objective is Mode.MIN_COST:
        problem += cost
        return DdlModel(problem, choice, cost, job_hours)
    problem += cost <= inputs.budget_usd, "budget"
    if len(inputs.jobs) == 1:
        problem += job_hours
        return DdlModel(problem, choice, job_hours, cost)
    latest = problem.add_variable("latest_finish_h", 0)
    for j, spec in enumerate(inputs.jobs):
        problem += (
            latest >= pulp.lpSum(c.estimate.hours * x for c, x in choice[spec.name]),
            f"latest_{j}",
        )
    problem += latest
    return DdlModel(problem, choice, pulp.LpAffineExpression(latest), cost)
