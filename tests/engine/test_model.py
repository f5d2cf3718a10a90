"""The model builder: blocks, expressions and triplets, names that reach every backend."""

from __future__ import annotations

import math

import highspy
import numpy as np
import pytest

from formulations.model import Model, Sense, lin_sum
from formulations.types import SolverSettings, require_solution
from planner.backends import make_solver
from planner.backends.matrix import lp_names, pulp_from_matrix


def _two_ways() -> tuple[Model, Model]:
    """max 3 x[a] + 2 x[b] s.t. cap: x[a] + x[b] <= 4, mix: x[a] - x[b] <= 1 (x integer)."""
    by_expr = Model("m", Sense.MAXIMIZE)
    x = by_expr.add_variables("x", ["a", "b"], upper=10, integer=True, cost=[3.0, 2.0])
    by_expr.add_constraint("cap", x["a"] + x["b"] <= 4)
    by_expr.add_constraint("mix", x["a"] - x["b"] <= 1)
    by_rows = Model("m", Sense.MAXIMIZE)
    y = by_rows.add_variables("x", ["a", "b"], upper=10, integer=True, cost=[3.0, 2.0])
    by_rows.add_rows("cap", [None], np.array([0, 0]), y.cols, np.array([1.0, 1.0]), upper=4.0)
    by_rows.add_rows("mix", [None], np.array([0, 0]), y.cols, np.array([1.0, -1.0]), upper=1.0)
    return by_expr, by_rows


def test_expressions_and_triplets_build_the_same_model() -> None:
    a, b = (m.build() for m in _two_ways())
    for field in ("cost", "col_lower", "col_upper", "a_start", "a_index", "a_value"):
        assert np.array_equal(getattr(a, field), getattr(b, field)), field
    assert list(a.names) == ["x[a]", "x[b]"]
    assert list(a.row_names) == ["cap", "mix"]


@pytest.mark.parametrize("backend", ["highs", "cbc", "scip", "cpsat"])
def test_block_values_are_read_by_label(backend: str) -> None:
    model, _ = _two_ways()
    x = model.var_blocks["x"]
    result = require_solution(make_solver(SolverSettings(backend=backend)).solve(model))
    assert result.objective == pytest.approx(3 * 2 + 2 * 2)  # x = (2.5 -> 2, 2) integer
    assert x.value_map(result) == {"a": pytest.approx(2.0), "b": pytest.approx(2.0)}
    assert result.value("x[a]") == pytest.approx(2.0)
    with pytest.raises(KeyError):
        result.value("no_such_column")


def test_interleaved_rows_keep_their_block_names_and_bounds() -> None:
    model = Model()
    x = model.add_variables("x", 3)
    model.add_constraint("lo", x[0] >= 1, label=0)
    model.add_rows(
        "pair",
        [(0, 1), (1, 2)],
        np.array([0, 0, 1, 1]),
        np.array([0, 1, 1, 2]),
        np.ones(4),
        lower=[0.5, 0.25],
        upper=math.inf,
    )
    model.add_constraint("lo", x[2] == 2, label=2)
    built = model.build()
    assert list(built.row_names) == ["lo[0]", "pair[0,1]", "pair[1,2]", "lo[2]"]
    assert built.row_lower.tolist() == [1.0, 0.5, 0.25, 2.0]
    assert built.row_upper.tolist() == [math.inf, math.inf, math.inf, 2.0]


def test_names_reach_highs_and_the_cbc_lp_file(tmp_path) -> None:  # type: ignore[no-untyped-def]
    model, _ = _two_ways()
    built = model.build()
    backend = make_solver(SolverSettings())
    h = backend._highs(built, presolve=True)  # type: ignore[attr-defined]
    lp = h.getLp()
    assert list(lp.col_names_) == ["x[a]", "x[b]"]
    assert list(lp.row_names_) == ["cap", "mix"]
    assert isinstance(h, highspy.Highs)
    problem, _ = pulp_from_matrix(built)
    path = tmp_path / "model.lp"
    problem.writeLP(str(path))
    text = path.read_text()
    assert "x_a_" in text and "cap:" in text and "mix:" in text


def test_lp_names_are_unique_after_sanitising() -> None:
    assert lp_names(["x[a-b]", "x[a_b]", ""], "x") == ["x_a_b_", "x_a_b_~1", "x2"]


def test_lin_sum_is_linear_and_exact() -> None:
    model = Model()
    x = model.add_variables("x", 1000)
    total = lin_sum(2.0 * x[i] for i in range(1000)) + 5
    assert len(total.terms) == 1000 and total.constant == 5.0
    assert total.value(np.ones(1000)) == pytest.approx(2005.0)


def test_nan_coefficients_are_refused() -> None:
    model = Model()
    x = model.add_variables("x", 1)
    model.add_constraint("c", math.nan * x[0] <= 1)
    with pytest.raises(ValueError, match="NaN or infinite"):
        model.build()
