"""The ``ddl`` MILP over enumerated configurations (math: :mod:`formulations.ddl`)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import pulp

from formulations.ddl.candidates import Candidate
from formulations.ddl.inputs import DdlInputs, Mode


@dataclass
class DdlModel:
    problem: pulp.LpProblem
    choice: dict[str, list[tuple[Candidate, pulp.LpVariable]]]  # job -> (candidate, x)


def build(inputs: DdlInputs, kept: dict[str, Sequence[Candidate]]) -> DdlModel:
    """One binary per kept candidate; see the package docstring for the rows."""
    problem = pulp.LpProblem("ddl", pulp.LpMinimize)
    choice: dict[str, list[tuple[Candidate, pulp.LpVariable]]] = {}
    for j, spec in enumerate(inputs.jobs):
        xs = [(c, problem.add_variable(f"x_{j}_{k}", 0, 1, pulp.LpBinary))
              for k, c in enumerate(kept[spec.name])]
        choice[spec.name] = xs
        problem += pulp.lpSum(x for _, x in xs) == 1, f"one_config_{j}"
        if spec.deadline_h is not None:
            problem += (pulp.lpSum(c.estimate.hours * x for c, x in xs) <= spec.deadline_h,
                        f"deadline_{j}")
    every = [pair for xs in choice.values() for pair in xs]
    for q, quota in enumerate(inputs.quotas):
        terms = [c.vcpus * x for c, x in every if c.quota_key == (quota.group, quota.market)]
        if terms:
            problem += pulp.lpSum(terms) <= quota.vcpus, f"quota_{q}"
    cost = pulp.lpSum(c.estimate.cost_usd * x for c, x in every)
    if inputs.objective is Mode.MIN_COST:
        problem += cost
        return DdlModel(problem, choice)
    problem += cost <= inputs.budget_usd, "budget"
    if len(inputs.jobs) == 1:
        problem += pulp.lpSum(c.estimate.hours * x for c, x in every)
        return DdlModel(problem, choice)
    latest = problem.add_variable("latest_finish_h", 0)
    for j, spec in enumerate(inputs.jobs):
        problem += (latest >= pulp.lpSum(c.estimate.hours * x for c, x in choice[spec.name]),
                    f"latest_{j}")
    problem += latest
    return DdlModel(problem, choice)
