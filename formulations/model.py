"""The one model builder: MILPs as named variable and constraint blocks, in array form.

Every formulation builds its MILP here (no PuLP in the contract). A block is a set of
variables or rows indexed by labels, named as in the formulation's math docstring, and
those names reach every backend: column ``n[T4,resnet50]`` of block ``n`` and row
``demand[resnet]`` of block ``demand`` are what HiGHS, CBC's LP file and SCIP see.

Two ways to add rows, for two kinds of code:

* expressions, for readable models of modest size: ``x[i]`` is a :class:`LinExpr`;
  ``2 * x[i] + y[j] <= 5`` is a :class:`Constraint`; sum many terms with :func:`lin_sum`
  (``sum()`` copies the growing expression at every step);
* triplets, for large models built with numpy: :meth:`Model.add_rows` takes the rows'
  (row, column, value) entries at once.

:meth:`Model.build` turns the blocks into a :class:`MatrixModel` (CSR), which is what
backends consume. Rows read ``row_lower <= a . x <= row_upper``; infinite bounds are
``inf``.

A model may carry solver options that suit it (``solver_options``, by backend name, e.g.
``{"highs": {"mip_allow_restart": False}}``); the backend of that name applies them before
the scenario's ``[solver.options]``, which override them. They may tune the search only:
the optimum and its proof (bound, gap) stay the solver's.
"""

from __future__ import annotations

import enum
import itertools
import math
from collections.abc import Hashable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from formulations.types import SolveResult

OptionValue = bool | int | float | str
# backend name -> option name -> value (see the module docstring)
SolverOptions = Mapping[str, Mapping[str, OptionValue]]


class Sense(enum.StrEnum):
    MINIMIZE = "minimize"
    MAXIMIZE = "maximize"


Label = Hashable
Number = int | float | np.floating | np.integer


def label_text(label: Label) -> str:
    """How a label appears inside a column or row name: tuples joined by commas."""
    if isinstance(label, tuple):
        return ",".join(map(str, label))
    return str(label)


def _name(block: str, label: Label) -> str:
    """``block[label]`` (``block`` alone for the label None); string labels, the common
    case in large models, skip :func:`label_text`."""
    if type(label) is str:
        return f"{block}[{label}]"
    return block if label is None else f"{block}[{label_text(label)}]"


def _block_names(block: str, labels: Sequence[Label]) -> list[str]:
    """``block[label]`` for every label; all-string labels (the common case in large
    models) are joined and split in one pass instead of one format per label."""
    try:
        text = f"]\x00{block}[".join(labels)  # type: ignore[arg-type]  # TypeError unless str
    except TypeError:
        return [_name(block, label) for label in labels]
    names = f"{block}[{text}]".split("\x00")
    if len(names) == len(labels):  # no label holds the separator
        return names
    return [_name(block, label) for label in labels]


class LinExpr:
    """A linear expression ``sum_k coef_k * x_k + constant`` over model columns."""

    __slots__ = ("constant", "terms")
    __hash__ = None  # type: ignore[assignment]  # == builds a Constraint

    def __init__(self, terms: dict[int, float] | None = None, constant: float = 0.0) -> None:
        self.terms: dict[int, float] = terms if terms is not None else {}
        self.constant = float(constant)

    def copy(self) -> LinExpr:
        return LinExpr(dict(self.terms), self.constant)

    def add(self, other: LinExpr | Number, scale: float = 1.0) -> LinExpr:
        """Add ``scale * other`` in place and return self."""
        if isinstance(other, LinExpr):
            terms = self.terms
            for col, coef in other.terms.items():
                terms[col] = terms.get(col, 0.0) + scale * coef
            self.constant += scale * other.constant
        else:
            self.constant += scale * float(other)
        return self

    def __add__(self, other: LinExpr | Number) -> LinExpr:
        return self.copy().add(other)

    __radd__ = __add__

    def __iadd__(self, other: LinExpr | Number) -> LinExpr:
        return self.add(other)

    def __sub__(self, other: LinExpr | Number) -> LinExpr:
        return self.copy().add(other, -1.0)

    def __rsub__(self, other: LinExpr | Number) -> LinExpr:
        return (-self).add(other)

    def __isub__(self, other: LinExpr | Number) -> LinExpr:
        return self.add(other, -1.0)

    def __neg__(self) -> LinExpr:
        return self * -1.0

    def __mul__(self, scale: Number) -> LinExpr:
        s = float(scale)
        constant = s * self.constant if self.constant else 0.0
        return LinExpr({c: s * v for c, v in self.terms.items()}, constant)

    __rmul__ = __mul__

    def __truediv__(self, scale: Number) -> LinExpr:
        return self * (1.0 / float(scale))

    def __le__(self, other: LinExpr | Number) -> Constraint:
        body = self - other
        return Constraint(body, -math.inf, -body.constant)

    def __ge__(self, other: LinExpr | Number) -> Constraint:
        body = self - other
        return Constraint(body, -body.constant, math.inf)

    def __eq__(self, other: object) -> Constraint:  # type: ignore[override]
        if not isinstance(other, LinExpr | int | float | np.floating | np.integer):
            return NotImplemented
        body = self - other
        return Constraint(body, -body.constant, -body.constant)

    def value(self, x: np.ndarray) -> float:
        """The expression's value at column values ``x``."""
        return self.constant + sum(coef * float(x[col]) for col, coef in self.terms.items())


def lin_sum(items: Iterable[LinExpr | Number]) -> LinExpr:
    """Sum expressions and numbers in one pass (linear time, unlike ``sum()``)."""
    total = LinExpr()
    for item in items:
        total.add(item)
    return total


@dataclass(frozen=True)
class Constraint:
    """``lower <= expr (without its constant) <= upper``."""

    expr: LinExpr
    lower: float
    upper: float


@dataclass
class VarBlock:
    """Variables ``name[label]`` for ``label`` in ``labels``: columns ``start ..
    start + len(labels) - 1`` of the model."""

    name: str
    start: int
    labels: tuple[Label, ...]
    _lookup: dict[Label, int] | None = field(default=None, repr=False)

    def __post_init__(self) -> None:
        if len(set(self.labels)) != len(self.labels):
            raise ValueError(f"variable block {self.name}: labels are not unique")

    def __len__(self) -> int:
        return len(self.labels)

    @property
    def _index(self) -> dict[Label, int]:
        """Label -> position, built on the first lookup (large blocks built from triplets
        never need it)."""
        if self._lookup is None:
            self._lookup = {label: i for i, label in enumerate(self.labels)}
        return self._lookup

    def __contains__(self, label: Label) -> bool:
        return label in self._index

    def col(self, label: Label) -> int:
        """The model column of ``name[label]``."""
        return self.start + self._index[label]

    def __getitem__(self, label: Label) -> LinExpr:
        return LinExpr({self.start + self._index[label]: 1.0})

    @property
    def cols(self) -> np.ndarray:
        return np.arange(self.start, self.start + len(self.labels))

    def values(self, result: SolveResult) -> np.ndarray:
        """This block's values in a solution, in label order."""
        return np.asarray(result.x[self.start : self.start + len(self.labels)], dtype=float)

    def value(self, result: SolveResult, label: Label) -> float:
        return float(result.x[self.col(label)])

    def value_map(self, result: SolveResult) -> dict[Label, float]:
        return dict(zip(self.labels, self.values(result).tolist(), strict=True))

    def names(self) -> list[str]:
        return _block_names(self.name, self.labels)


@dataclass(frozen=True)
class ModelSize:
    variables: int
    integers: int
    constraints: int


@dataclass(frozen=True)
class MatrixModel:
    """A built MILP in array form (CSR), what every backend consumes.

    Row ``r`` reads ``row_lower[r] <= sum_k a_value[k] * x[a_index[k]] <= row_upper[r]``
    for ``k`` in ``a_start[r] : a_start[r + 1]``. ``names`` and ``row_names`` are the
    block names of the columns and rows.
    """

    names: Sequence[str]
    cost: np.ndarray
    col_lower: np.ndarray
    col_upper: np.ndarray
    integrality: np.ndarray  # bool per column
    a_start: np.ndarray
    a_index: np.ndarray
    a_value: np.ndarray
    row_lower: np.ndarray
    row_upper: np.ndarray
    row_names: Sequence[str] = ()
    sense: Sense = Sense.MINIMIZE
    offset: float = 0.0
    solver_options: SolverOptions = field(default_factory=dict)

    @property
    def size(self) -> ModelSize:
        integers = int(np.count_nonzero(self.integrality))
        return ModelSize(len(self.names), integers, len(self.row_lower))

    def relaxation(self) -> MatrixModel:
        """The same model with every integrality dropped (its LP relaxation)."""
        from dataclasses import replace

        return replace(self, integrality=np.zeros(len(self.names), dtype=bool))


def _array(value: Number | Sequence[float] | np.ndarray, n: int, what: str) -> np.ndarray:
    if isinstance(value, int | float):  # the common scalar bound: no broadcast view
        out = np.full(n, float(value))
    else:
        out = np.broadcast_to(np.asarray(value, dtype=float), (n,)).copy()
    if np.isnan(out).any():
        raise ValueError(f"{what}: NaN")
    return out


class Model:
    """A MILP under construction: named variable blocks, named row blocks, an objective."""

    def __init__(
        self,
        name: str = "planner",
        sense: Sense = Sense.MINIMIZE,
        solver_options: SolverOptions | None = None,
    ) -> None:
        self.name = name
        self.sense = sense
        self.solver_options: SolverOptions = solver_options or {}
        self.var_blocks: dict[str, VarBlock] = {}
        self._n_cols = 0
        self._lower: list[np.ndarray] = []
        self._upper: list[np.ndarray] = []
        self._integer: list[np.ndarray] = []
        self._cost: list[np.ndarray] = []
        self._objective: LinExpr | None = None
        # rows: block name and label per row, bounds, and entries as chunks
        self.row_blocks: dict[str, list[int]] = {}
        self._row_chunks: list[tuple[str, Sequence[Label]]] = []  # (block, labels) per call
        self._n_rows = 0
        self._row_lo: list[float] = []
        self._row_up: list[float] = []
        self._vector_bounds: list[tuple[int, np.ndarray, np.ndarray]] = []
        self._rows_i: list[int] = []
        self._cols_i: list[int] = []
        self._vals_i: list[float] = []
        self._chunks: list[tuple[np.ndarray, np.ndarray, np.ndarray]] = []

    # ----------------------------------------------------------------- variables
    def add_variables(
        self,
        name: str,
        labels: Sequence[Label] | int,
        lower: Number | Sequence[float] | np.ndarray = 0.0,
        upper: Number | Sequence[float] | np.ndarray = math.inf,
        integer: bool | Sequence[bool] | np.ndarray = False,
        cost: Number | Sequence[float] | np.ndarray = 0.0,
    ) -> VarBlock:
        """Add block ``name``: one column per label (``labels`` may be a count, labels
        ``0 .. n-1``), with bounds, integrality and objective coefficients (scalars or
        one value per label)."""
        if name in self.var_blocks:
            raise ValueError(f"variable block {name!r} added twice")
        keys = tuple(range(labels)) if isinstance(labels, int) else tuple(labels)
        n = len(keys)
        block = VarBlock(name, self._n_cols, keys)
        self.var_blocks[name] = block
        self._lower.append(_array(lower, n, f"{name}: lower bound"))
        self._upper.append(_array(upper, n, f"{name}: upper bound"))
        self._integer.append(np.broadcast_to(np.asarray(integer, dtype=bool), (n,)).copy())
        self._cost.append(_array(cost, n, f"{name}: cost"))
        self._n_cols += n
        return block

    def add_variable(
        self,
        name: str,
        lower: float = 0.0,
        upper: float = math.inf,
        integer: bool = False,
        cost: float = 0.0,
    ) -> LinExpr:
        """A single variable (a block of one, named ``name``)."""
        return self.add_variables(name, (None,), lower, upper, integer, cost)[None]

    # ----------------------------------------------------------------- rows
    def _new_rows(self, block: str, labels: Sequence[Label]) -> int:
        first = self._n_rows
        rows = self.row_blocks.setdefault(block, [])
        rows.extend(range(first, first + len(labels)))
        self._row_chunks.append((block, list(labels)))
        self._n_rows += len(labels)
        return first

    def add_constraint(self, block: str, constraint: Constraint, label: Label = None) -> int:
        """Add one row ``block[label]``; returns its row index. Rows of a block may be added
        one at a time, interleaved with other blocks."""
        row = self._new_rows(block, [label])
        self._row_lo.append(constraint.lower)
        self._row_up.append(constraint.upper)
        terms = constraint.expr.terms
        self._rows_i.extend([row] * len(terms))
        self._cols_i.extend(terms.keys())
        self._vals_i.extend(terms.values())
        return row

    def add_constraints(self, block: str, constraints: Iterable[tuple[Label, Constraint]]) -> None:
        """Add rows ``block[label]`` for ``(label, constraint)`` pairs."""
        for label, constraint in constraints:
            self.add_constraint(block, constraint, label)

    def add_rows(
        self,
        block: str,
        labels: Sequence[Label] | int,
        row: np.ndarray,
        col: np.ndarray,
        value: np.ndarray,
        lower: Number | np.ndarray = -math.inf,
        upper: Number | np.ndarray = math.inf,
    ) -> np.ndarray:
        """Add rows ``block[label]`` at once from triplets: entry ``k`` puts ``value[k]`` in
        row ``row[k]`` (0-based within this call) and column ``col[k]``. Returns the rows'
        model indices."""
        keys: Sequence[Label] = list(range(labels)) if isinstance(labels, int) else labels
        n = len(keys)
        first = self._new_rows(block, keys)
        # keep bounds in row order: flush the scalar rows' bounds before this chunk
        self._vector_bounds.append(
            (first, _array(lower, n, f"{block}: lower"), _array(upper, n, f"{block}: upper"))
        )
        self._row_lo.extend([math.nan] * n)
        self._row_up.extend([math.nan] * n)
        r = np.asarray(row, dtype=np.int64)
        if r.size and (r.min() < 0 or r.max() >= n):
            raise ValueError(f"row block {block}: a triplet row is outside 0..{n - 1}")
        self._chunks.append(
            (r + first, np.asarray(col, dtype=np.int64), np.asarray(value, dtype=float))
        )
        return np.arange(first, first + n)

    # ----------------------------------------------------------------- objective
    def set_objective(self, expr: LinExpr, sense: Sense | None = None) -> None:
        """The objective ``expr`` (added to the per-block costs given with the variables)."""
        self._objective = expr
        if sense is not None:
            self.sense = sense

    def add_cost(self, block: VarBlock, cost: Number | Sequence[float] | np.ndarray) -> None:
        """Add objective coefficients to every column of ``block``."""
        index = list(self.var_blocks).index(block.name)
        self._cost[index] = self._cost[index] + _array(cost, len(block), f"{block.name}: cost")

    @property
    def n_cols(self) -> int:
        return self._n_cols

    @property
    def n_rows(self) -> int:
        return self._n_rows

    # ----------------------------------------------------------------- build
    def build(self) -> MatrixModel:
        """The model as CSR arrays with block names on every column and row."""
        n = self._n_cols
        cat = np.concatenate
        cost = cat(self._cost) if self._cost else np.zeros(0)
        offset = 0.0
        if self._objective is not None:
            for col, coef in self._objective.terms.items():
                cost[col] += coef
            offset += self._objective.constant
        lo = np.array(self._row_lo, dtype=float)
        up = np.array(self._row_up, dtype=float)
        for first, vlo, vup in self._vector_bounds:
            lo[first : first + len(vlo)] = vlo
            up[first : first + len(vup)] = vup
        if np.isnan(lo).any() or np.isnan(up).any():
            raise ValueError("a row bound is NaN")
        rows = [np.asarray(self._rows_i, dtype=np.int64)] + [c[0] for c in self._chunks]
        cols = [np.asarray(self._cols_i, dtype=np.int64)] + [c[1] for c in self._chunks]
        vals = [np.asarray(self._vals_i, dtype=float)] + [c[2] for c in self._chunks]
        r, c, v = cat(rows), cat(cols), cat(vals)
        if c.size and (c.min() < 0 or c.max() >= n):
            raise ValueError("a row refers to a column that was never added")
        if np.isnan(v).any() or np.isinf(v).any():
            raise ValueError("a coefficient is NaN or infinite")
        order = np.argsort(r, kind="stable")
        start = np.zeros(len(lo) + 1, dtype=np.int64)
        np.cumsum(np.bincount(r, minlength=len(lo)), out=start[1:])
        names = [name for block in self.var_blocks.values() for name in block.names()]
        row_names = list(
            itertools.chain.from_iterable(
                _block_names(block, labels) for block, labels in self._row_chunks
            )
        )
        return MatrixModel(
            names=names,
            cost=cost,
            col_lower=cat(self._lower) if self._lower else np.zeros(0),
            col_upper=cat(self._upper) if self._upper else np.zeros(0),
            integrality=cat(self._integer) if self._integer else np.zeros(0, dtype=bool),
            a_start=start,
            a_index=c[order],
            a_value=v[order],
            row_lower=lo,
            row_upper=up,
            row_names=row_names,
            sense=self.sense,
            offset=offset,
            solver_options=self.solver_options,
        )


def warm_start_vector(model: MatrixModel, start: Mapping[str, float] | np.ndarray) -> np.ndarray:
    """A warm start as one value per column: a vector as is, a mapping by column name
    (columns it does not name start at 0), clipped into each column's bounds and integer
    columns rounded. A start often comes from an LP or an earlier plan, whose values carry
    round-off (-1.9e-13 below a lower bound of 0); CBC refuses such a start outright."""
    if isinstance(start, np.ndarray):
        values = np.asarray(start, dtype=float)
    else:
        values = np.array([float(start.get(name, 0.0)) for name in model.names])
    values = np.where(model.integrality, np.round(values), values)
    return np.clip(values, model.col_lower, model.col_upper)
