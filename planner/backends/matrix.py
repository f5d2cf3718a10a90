"""Conversions between PuLP problems and the array form every backend consumes."""

from __future__ import annotations

import math

import numpy as np
import pulp

from formulations.types import MatrixModel, Sense


def _bound(value: float | None, default: float) -> float:
    return default if value is None else float(value)


def matrix_from_pulp(problem: pulp.LpProblem) -> MatrixModel:
    """Flatten a PuLP problem into CSR arrays (one pass over its constraints)."""
    variables = problem.variables()
    index = {v.name: i for i, v in enumerate(variables)}
    n = len(variables)
    cost = np.zeros(n)
    for var, coef in problem.objective.items():
        cost[index[var.name]] = coef
    col_lower = np.array([_bound(v.lowBound, -math.inf) for v in variables])
    col_upper = np.array([_bound(v.upBound, math.inf) for v in variables])
    integrality = np.array([v.cat == pulp.LpInteger for v in variables], dtype=bool)

    starts = [0]
    a_index: list[int] = []
    a_value: list[float] = []
    row_lower: list[float] = []
    row_upper: list[float] = []
    for constraint in problem.constraints.values():
        for var, coef in constraint.items():
            a_index.append(index[var.name])
            a_value.append(coef)
        starts.append(len(a_index))
        rhs = -float(constraint.constant)
        if constraint.sense == pulp.LpConstraintLE:
            row_lower.append(-math.inf)
            row_upper.append(rhs)
        elif constraint.sense == pulp.LpConstraintGE:
            row_lower.append(rhs)
            row_upper.append(math.inf)
        else:
            row_lower.append(rhs)
            row_upper.append(rhs)
    return MatrixModel(
        names=[v.name for v in variables],
        cost=cost,
        col_lower=col_lower,
        col_upper=col_upper,
        integrality=integrality,
        a_start=np.array(starts, dtype=np.int64),
        a_index=np.array(a_index, dtype=np.int64),
        a_value=np.array(a_value, dtype=float),
        row_lower=np.array(row_lower),
        row_upper=np.array(row_upper),
        sense=Sense.MAXIMIZE if problem.sense == pulp.LpMaximize else Sense.MINIMIZE,
        offset=float(problem.objective.constant),
    )


def pulp_from_matrix(model: MatrixModel) -> pulp.LpProblem:
    """Rebuild a PuLP problem from arrays (for backends that only read PuLP problems)."""
    sense = pulp.LpMaximize if model.sense is Sense.MAXIMIZE else pulp.LpMinimize
    problem = pulp.LpProblem("planner", sense)
    variables = [
        pulp.LpVariable(
            name,
            None if math.isinf(lo) else float(lo),
            None if math.isinf(up) else float(up),
            pulp.LpInteger if integer else pulp.LpContinuous,
        )
        for name, lo, up, integer in zip(
            model.names, model.col_lower, model.col_upper, model.integrality, strict=True
        )
    ]
    problem.setObjective(
        pulp.LpAffineExpression(
            [(variables[j], float(c)) for j, c in enumerate(model.cost) if c != 0.0],
            constant=model.offset,
        )
    )
    for r in range(len(model.row_lower)):
        lo, up = model.row_lower[r], model.row_upper[r]
        span = slice(model.a_start[r], model.a_start[r + 1])
        expr = pulp.LpAffineExpression(
            [
                (variables[j], float(a))
                for j, a in zip(model.a_index[span], model.a_value[span], strict=True)
            ]
        )
        if lo == up:
            problem += (expr == float(lo), f"r{r}")
            continue
        if not math.isinf(lo):
            problem += (expr >= float(lo), f"r{r}_lo")
        if not math.isinf(up):
            problem += (expr <= float(up), f"r{r}_up")
    return problem
