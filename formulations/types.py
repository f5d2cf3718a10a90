"""The contract between formulations and the engine.

A formulation turns validated scenario inputs into a deployment by building one or
more MILPs and handing them to a :class:`MilpSolver` (implemented by the engine in
``planner.backends``; formulations never import the engine). The engine then
re-checks the deployment with the formulation's independent :meth:`Formulation.verify`,
which must recompute every constraint from the cost model, never from solver values.

Conventions every formulation follows:

* names carry units: ``slo_ms``, ``price_usd_per_h``, ``bandwidth_gbps``;
* formulations never print; they return :class:`Outcome` objects and :class:`Table` rows;
* bad input raises :class:`InputError` naming the file, the key path and what was
  expected; an impossible requirement raises :class:`InfeasibleError` saying which one.
"""

from __future__ import annotations

import enum
import math
from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, ClassVar, Generic, Protocol, TypeVar

import numpy as np
import pulp
from pydantic import AfterValidator, BaseModel, ConfigDict, Field, ValidationInfo

if TYPE_CHECKING:  # pandas costs ~0.6 s to import; only tables need it
    import pandas as pd


class ExitCode(enum.IntEnum):
    """Process exit codes of the ``planner`` command (documented in README)."""

    OK = 0
    INTERNAL_ERROR = 1
    INVALID_INPUT = 2
    INFEASIBLE = 3
    TIME_LIMIT_FEASIBLE = 4
    TIME_LIMIT_NO_PLAN = 5
    SUBOPTIMAL = 6  # planner check: the stored plan is worse than --max-gap


class PlannerError(Exception):
    """Base of every error the planner reports to users (never shown as a traceback)."""

    exit_code: ClassVar[ExitCode] = ExitCode.INTERNAL_ERROR


class InputError(PlannerError):
    """Invalid input: names the file, the key path and what was expected."""

    exit_code = ExitCode.INVALID_INPUT

    def __init__(self, file: str | Path | None, key: str, expected: str, got: Any = None) -> None:
        self.file = str(file) if file is not None else None
        self.key = key
        self.expected = expected
        self.got = got
        super().__init__(self._message())

    def _message(self) -> str:
        where = f"{self.file}: " if self.file else ""
        got_text = f" (got {self.got!r})" if self.got is not None else ""
        return f"{where}{self.key}: expected {self.expected}{got_text}"

    def located(self, file: str | Path | None) -> InputError:
        """Name ``file`` as the source when the raiser could not know it."""
        if self.file is None and file is not None:
            self.file = str(file)
            self.args = (self._message(),)
        return self


class InfeasibleError(PlannerError):
    """No plan satisfies the requirements; the message says which requirement fails."""

    exit_code = ExitCode.INFEASIBLE


class TimeLimitError(PlannerError):
    """The time limit ran out before any feasible plan was found."""

    exit_code = ExitCode.TIME_LIMIT_NO_PLAN


class SolverError(PlannerError):
    """The solver failed or refused the model (e.g. CP-SAT given continuous variables)."""

    exit_code = ExitCode.INTERNAL_ERROR


class VerificationError(PlannerError):
    """A plan failed independent verification; it is never output."""

    exit_code = ExitCode.INTERNAL_ERROR


class SolveStatus(enum.StrEnum):
    """Solver outcome, normalised across backends (like linopy's status enums)."""

    OPTIMAL = "optimal"
    FEASIBLE = "feasible"  # a solution with a gap above the requested one (time limit)
    INFEASIBLE = "infeasible"
    UNBOUNDED = "unbounded"
    TIME_LIMIT_NO_SOLUTION = "time_limit_no_solution"
    ERROR = "error"

    @property
    def has_solution(self) -> bool:
        return self in (SolveStatus.OPTIMAL, SolveStatus.FEASIBLE)


class Sense(enum.StrEnum):
    MINIMIZE = "minimize"
    MAXIMIZE = "maximize"


BACKENDS = ("highs", "cbc", "scip", "cpsat")


class SolverSettings(BaseModel):
    """The scenario's ``[solver]`` table."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    backend: str = Field("highs", description="one of highs, cbc, scip, cpsat")
    time_limit_s: float | None = Field(None, gt=0)
    mip_gap: float = Field(1e-4, ge=0, le=1)
    threads: int = Field(1, ge=1, le=256)
    seed: int = Field(0, ge=0)
    options: dict[str, bool | int | float | str] = Field(
        default_factory=dict,
        description="backend-specific options passed verbatim: HiGHS option names for highs "
        "(e.g. mip_allow_restart = false), CBC command options, SCIP parameters "
        "(e.g. 'limits/nodes'), CP-SAT parameters",
    )

    def model_post_init(self, _context: Any) -> None:
        if self.backend not in BACKENDS:
            raise ValueError(f"backend must be one of {', '.join(BACKENDS)}")


@dataclass(frozen=True)
class ModelSize:
    variables: int
    integers: int
    constraints: int


@dataclass(frozen=True)
class MatrixModel:
    """A MILP in array form, for formulations too large to build through PuLP quickly.

    Row ``r`` reads ``row_lower[r] <= sum_k a_value[k] * x[a_index[k]] <= row_upper[r]``
    for ``k`` in ``a_start[r] : a_start[r + 1]`` (CSR). Infinite bounds are ``inf``.
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
    sense: Sense = Sense.MINIMIZE
    offset: float = 0.0

    @property
    def size(self) -> ModelSize:
        integers = int(np.count_nonzero(self.integrality))
        return ModelSize(len(self.names), integers, len(self.row_lower))


@dataclass
class SolveResult:
    """One solve: normalised status, objective, best bound and relative gap, values by name."""

    status: SolveStatus
    objective: float | None
    bound: float | None
    gap: float | None
    values: Mapping[str, float]
    solve_s: float
    size: ModelSize
    backend: str
    message: str = ""

    def value(self, var: pulp.LpVariable | str) -> float:
        name = var if isinstance(var, str) else var.name
        return float(self.values.get(name, 0.0))

    def int_value(self, var: pulp.LpVariable | str) -> int:
        return round(self.value(var))


class MilpSolver(Protocol):
    """What a formulation may ask of the engine: solve a model with the scenario's settings."""

    settings: SolverSettings

    def solve(
        self,
        model: pulp.LpProblem | MatrixModel,
        warm_start: Mapping[str, float] | None = None,
    ) -> SolveResult: ...


def require_solution(result: SolveResult, explain: Callable[[], str]) -> SolveResult:
    """Raise the matching typed error unless ``result`` carries a solution.

    ``explain`` is only called for an infeasible model; it should name the requirement that
    cannot be met (computed from the inputs, e.g. "family gpt2 has no variant that meets
    SLO 50 ms on any device").
    """
    if result.status.has_solution:
        return result
    if result.status is SolveStatus.INFEASIBLE:
        raise InfeasibleError(explain())
    if result.status is SolveStatus.TIME_LIMIT_NO_SOLUTION:
        raise TimeLimitError(
            f"{result.backend}: time limit reached before a feasible plan was found"
        )
    if result.status is SolveStatus.UNBOUNDED:
        raise SolverError(f"{result.backend}: model is unbounded (a formulation bug)")
    raise SolverError(f"{result.backend}: {result.message or 'solver error'}")


@dataclass(frozen=True)
class Objective:
    name: str
    unit: str
    sense: Sense
    value: float


@dataclass
class Table:
    """A table for people and for CSV: plain rows, optionally one marked (chosen) row."""

    title: str
    columns: list[str]
    rows: list[list[Any]]
    marked_row: int | None = None

    def to_frame(self) -> pd.DataFrame:
        import pandas as pd

        return pd.DataFrame(self.rows, columns=self.columns)


InputT = TypeVar("InputT", bound=BaseModel)
DeployT = TypeVar("DeployT", bound=BaseModel)


@dataclass
class Outcome(Generic[DeployT]):
    """What :meth:`Formulation.plan` returns.

    ``result`` is the decisive solve (its status, bound and gap are the plan's);
    ``build_s``/``solve_s`` add up every model built and solved (e.g. a degrade loop);
    ``baselines`` maps a baseline name to a flat dict of its headline numbers;
    ``warnings`` are shown to the user on stderr.
    """

    deployment: DeployT
    objective: Objective
    result: SolveResult
    build_s: float
    solve_s: float
    baselines: dict[str, dict[str, Any]] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)


@dataclass
class Verification:
    """The verifier's recomputation: objective value from the cost model, and violations."""

    objective_value: float
    violations: list[str]

    @property
    def ok(self) -> bool:
        return not self.violations


class Formulation(ABC, Generic[InputT, DeployT]):
    """One formulation: scenario inputs -> solved, verifiable deployment.

    Subclasses set ``kind``, ``inputs_model`` (pydantic model of the scenario minus the
    ``kind``/``name``/``description``/``solver`` keys, ``extra="forbid"``) and
    ``deployment_model`` (pydantic model of the plan's deployment; it must round-trip
    through JSON so ``planner check`` can re-verify a stored plan).
    """

    kind: ClassVar[str]
    inputs_model: ClassVar[type[BaseModel]]
    deployment_model: ClassVar[type[BaseModel]]

    @abstractmethod
    def plan(self, inputs: InputT, solver: MilpSolver) -> Outcome[DeployT]:
        """Build and solve; raise InfeasibleError/TimeLimitError when there is no plan."""

    @abstractmethod
    def verify(self, inputs: InputT, deployment: DeployT) -> Verification:
        """Recompute every constraint and the objective from the cost model."""

    @abstractmethod
    def tables(self, inputs: InputT, deployment: DeployT) -> list[Table]:
        """Tables for people; the first is the primary one (``Plan.to_frame``, CSV)."""

    def simulate(
        self, inputs: InputT, deployment: DeployT, solver: MilpSolver, runs: int, seed: int
    ) -> list[Table]:
        """Replay a plan (and the baselines, solved with ``solver``) against seeded random
        events (``planner simulate``); formulations with a stochastic check override this."""
        raise InputError(None, "kind", f"a kind with a simulation (not {self.kind!r})", self.kind)

    def shortfall(
        self,
        stored: Objective,
        fresh: Objective,
        stored_deployment: DeployT,
        fresh_deployment: DeployT,
    ) -> float:
        """Relative amount by which a stored plan is worse than a fresh optimum (>= 0).

        Used by ``planner check --max-gap``. Formulations with lexicographic objectives
        (e.g. a degraded demand level first, then accuracy) override this.
        """
        scale = max(abs(fresh.value), 1e-9)
        if fresh.sense is Sense.MAXIMIZE:
            return max(0.0, (fresh.value - stored.value) / scale)
        return max(0.0, (stored.value - fresh.value) / scale)


def _resolve_data_path(value: Path, info: ValidationInfo) -> Path:
    base_dir = (info.context or {}).get("base_dir")
    path = Path(value).expanduser()
    if not path.is_absolute() and base_dir is not None:
        path = Path(base_dir) / path
    if not path.exists():
        raise ValueError(f"an existing file or folder (no such path: {path})")
    return path


DataPath = Annotated[Path, AfterValidator(_resolve_data_path)]
"""A path in a scenario: relative paths resolve against the scenario file's folder."""


def relative_gap(objective: float, bound: float) -> float:
    """|bound - objective| / max(|objective|, 1e-9), the MIP gap every backend reports."""
    if math.isinf(bound) or math.isnan(bound):
        return math.inf
    return abs(bound - objective) / max(abs(objective), 1e-9)
