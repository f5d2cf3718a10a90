"""The array form as a PuLP problem, for CBC (PuLP ships the CBC binary, writes its LP file
and reads its solution back; that is the only place PuLP earns).

Column and row names are the model's block names, as CBC's LP file shows them; PuLP
replaces the characters LP files do not allow (``-+[] ->/``) with ``_``, and names that
collide after that are made unique with a ``~k`` suffix.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Sequence

import pulp

from formulations.model import MatrixModel, Sense

_ILLEGAL = re.compile(r"[-+\[\] >/]")


def lp_names(names: Iterable[str], fallback: str) -> list[str]:
    """LP-file-safe, unique versions of ``names`` (``fallback{i}`` for empty ones)."""
    out: list[str] = []
    seen: set[str] = set()
    for i, name in enumerate(names):
        safe = _ILLEGAL.sub("_", name) or f"{fallback}{i}"
        candidate, k = safe, 1
        while candidate in seen:
            candidate, k = f"{safe}~{k}", k + 1
        seen.add(candidate)
        out.append(candidate)
    return out


def _row_names(model: MatrixModel) -> Sequence[str]:
    if len(model.row_names) == len(model.row_lower):
        return model.row_names
    return [f"r{r}" for r in range(len(model.row_lower))]


def pulp_from_matrix(model: MatrixModel) -> tuple[pulp.LpProblem, list[pulp.LpVariable]]:
    """A PuLP problem equal to ``model``, and its variables in column order."""
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
            lp_names(model.names, "x"),
            model.col_lower,
            model.col_upper,
            model.integrality,
            strict=True,
        )
    ]
    problem.setObjective(
        pulp.LpAffineExpression(
            [(variables[j], float(c)) for j, c in enumerate(model.cost) if c != 0.0],
            constant=model.offset,
        )
    )
    for r, name in enumerate(lp_names(_row_names(model), "r")):
        lo, up = model.row_lower[r], model.row_upper[r]
        span = slice(model.a_start[r], model.a_start[r + 1])
        expr = pulp.LpAffineExpression(
            [
                (variables[j], float(a))
                for j, a in zip(model.a_index[span], model.a_value[span], strict=True)
            ]
        )
        if lo == up:
            problem += (expr == float(lo), name)
            continue
        if not math.isinf(lo):
            problem += (expr >= float(lo), name if math.isinf(up) else f"{name}~lo")
        if not math.isinf(up):
            problem += (expr <= float(up), name if math.isinf(lo) else f"{name}~up")
    return problem, variables
