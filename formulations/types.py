"""The contract between formulations and the engine.

A formulation is a handful of small stages; the engine (``planner.engine``) calls them in
order, times each one, verifies and scores every result, and builds the plan::

    inputs (validated pydantic model of the scenario)
      -> prepare(inputs)                 the cost-model view, computed once per scenario
      -> solve(view, solver)             a deployment and its Certificate
      -> verify(view, deployment)        independent recomputation: objective, violations
      -> baselines(view, solver, sol)    named deployments from the literature, each
                                         verified and scored by the engine like the plan
      -> tables(view, deployment)        tables for people (the first is the primary one)
      -> headline(view, deployment)      a few numbers per deployment, for the baseline table
    explain_infeasible(view, context)    what cannot be met, when solve() finds no plan

Rules every formulation follows:

* formulations never print, never time themselves (the engine times every stage and
  every solver call) and never cache the cost model (``prepare`` runs once per scenario);
* every MILP is built with :class:`formulations.model.Model`, with block names from the
  math docstring in the package's ``milp.py``;
* ``solve`` raises :class:`NoSolution` (through :func:`require_solution`) when a model has
  no solution; the engine turns it into the typed error, with ``explain_infeasible``'s
  message for an infeasible model;
* names carry units (``slo_ms``, ``price_usd_per_h``, ``bandwidth_gbit_per_s``); see
  :mod:`cost_models.units`; tolerances come from :mod:`formulations.tolerances`;
* bad input raises :class:`InputError` naming the file, the key path and what was expected.

The layout of a formulation package is fixed (``docs/adding_a_formulation.md``, checked by
``tests/contract/test_layout.py``).
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
from pydantic import AfterValidator, BaseModel, ConfigDict, Field, ValidationInfo

from formulations.model import MatrixModel, Model, ModelSize, Sense
from formulations.tolerances import relative_gap

if TYPE_CHECKING:  # pandas costs ~0.6 s to import; only tables need it
    import pandas as pd

__all__ = [
    "BACKENDS",
    "BaselineRun",
    "Certificate",
    "DataFile",
    "DataFolder",
    "DataPath",
    "ExitCode",
    "Formulation",
    "InfeasibleError",
    "InputError",
    "LimitError",
    "MatrixModel",
    "MilpSolver",
    "Model",
    "ModelSize",
    "NoSolution",
    "Objective",
    "ObjectiveSpec",
    "PlannerError",
    "Refit",
    "Sense",
    "Shortfall",
    "Solution",
    "SolveResult",
    "SolveStatus",
    "SolverError",
    "SolverSettings",
    "Table",
    "Termination",
    "Verification",
    "VerificationError",
    "plan_advantage",
    "require_solution",
    "run_baseline",
]


# --------------------------------------------------------------------------- errors
class ExitCode(enum.IntEnum):
    """Process exit codes of the ``planner`` command (documented in README)."""

    OK = 0
    INTERNAL_ERROR = 1
    INVALID_INPUT = 2
    INFEASIBLE = 3
    LIMIT_FEASIBLE = 4  # a solver limit left a feasible plan with a gap (--strict)
    LIMIT_NO_PLAN = 5  # a solver limit was reached before any feasible plan
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


class LimitError(PlannerError):
    """A solver limit (time, nodes, solutions, memory, ...) ended the solve before any
    feasible plan was found; the message names the limit."""

    exit_code = ExitCode.LIMIT_NO_PLAN


class SolverError(PlannerError):
    """The solver failed or refused the model (e.g. CP-SAT given continuous variables)."""

    exit_code = ExitCode.INTERNAL_ERROR


class VerificationError(PlannerError):
    """A plan failed independent verification; it is never output."""

    exit_code = ExitCode.INTERNAL_ERROR


# --------------------------------------------------------------------------- solving
class SolveStatus(enum.StrEnum):
    """What a solve produced (the solution's status), normalised across backends."""

    OPTIMAL = "optimal"  # proven optimal within the requested mip_gap
    FEASIBLE = "feasible"  # a solution, not proven optimal (see the termination)
    INFEASIBLE = "infeasible"
    UNBOUNDED = "unbounded"
    NO_SOLUTION = "no_solution"  # a limit was reached before any solution
    ERROR = "error"

    @property
    def has_solution(self) -> bool:
        return self in (SolveStatus.OPTIMAL, SolveStatus.FEASIBLE)


class Termination(enum.StrEnum):
    """Why the solve stopped (as linopy keeps status and termination condition apart)."""

    OPTIMAL = "optimal"  # the optimality proof closed (within mip_gap)
    TIME_LIMIT = "time_limit"
    GAP_LIMIT = "gap_limit"  # a strategy's own stopping rule left a gap (e.g. pooled rounds)
    NODE_LIMIT = "node_limit"  # node, leaf or iteration limit
    SOLUTION_LIMIT = "solution_limit"  # limit on improving solutions found
    OBJECTIVE_LIMIT = "objective_limit"  # objective bound or target reached
    MEMORY_LIMIT = "memory_limit"
    INTERRUPTED = "interrupted"
    INFEASIBLE = "infeasible"
    UNBOUNDED = "unbounded"
    ERROR = "error"

    @property
    def is_limit(self) -> bool:
        return self in _LIMITS

    @property
    def text(self) -> str:
        return self.value.replace("_", " ")


_LIMITS = frozenset(
    {
        Termination.TIME_LIMIT,
        Termination.GAP_LIMIT,
        Termination.NODE_LIMIT,
        Termination.SOLUTION_LIMIT,
        Termination.OBJECTIVE_LIMIT,
        Termination.MEMORY_LIMIT,
        Termination.INTERRUPTED,
    }
)

BACKENDS = ("highs", "cbc", "scip", "cpsat")


class SolverSettings(BaseModel):
    """The scenario's ``[solver]`` table."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    backend: str = Field("highs", description="one of highs, cbc, scip, cpsat")
    time_limit_s: float | None = Field(None, gt=0, allow_inf_nan=False)
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


@dataclass
class SolveResult:
    """One solve: status and termination apart, objective, best bound, column values.

    ``x`` holds one value per column of the solved model (empty without a solution);
    read it through the model's blocks (:meth:`formulations.model.VarBlock.values`) or by
    column name with :meth:`value`, which raises ``KeyError`` for a name the model does
    not have.
    """

    status: SolveStatus
    termination: Termination
    objective: float | None
    bound: float | None
    x: np.ndarray
    names: Sequence[str]
    size: ModelSize
    backend: str
    solve_s: float = 0.0
    message: str = ""
    _index: dict[str, int] | None = field(default=None, repr=False)

    @property
    def gap(self) -> float | None:
        """Relative gap between the objective and the bound (None without a solution)."""
        if self.objective is None:
            return None
        if self.bound is None:
            return 0.0 if self.status is SolveStatus.OPTIMAL else math.inf
        return relative_gap(self.objective, self.bound)

    def value(self, name: str) -> float:
        if self._index is None:
            self._index = {n: i for i, n in enumerate(self.names)}
        return float(self.x[self._index[name]])

    def values_by_name(self) -> dict[str, float]:
        """Every column value keyed by column name (e.g. a warm start for a similar model)."""
        return dict(zip(self.names, map(float, self.x), strict=True))


class MilpSolver(Protocol):
    """What a formulation may ask of the engine: solve a model with the scenario's settings.

    ``warm_start`` gives start values by column name (columns it does not name start at 0)
    or one value per column."""

    settings: SolverSettings

    def solve(
        self,
        model: Model | MatrixModel,
        warm_start: Mapping[str, float] | np.ndarray | None = None,
    ) -> SolveResult: ...


class NoSolution(Exception):
    """Raised inside ``Formulation.solve`` when a model has no solution; the engine turns
    it into :class:`InfeasibleError` (with ``explain_infeasible(view, context)``),
    :class:`LimitError` or :class:`SolverError`. ``context`` is the formulation's own
    (e.g. the window or interval that failed)."""

    def __init__(self, result: SolveResult, context: Any = None) -> None:
        super().__init__(f"{result.backend}: {result.status.value} ({result.termination.text})")
        self.result = result
        self.context = context


def require_solution(result: SolveResult, context: Any = None) -> SolveResult:
    """``result`` when it carries a solution, else raise :class:`NoSolution`."""
    if result.status.has_solution:
        return result
    raise NoSolution(result, context)


@dataclass(frozen=True)
class Certificate:
    """What a plan can prove: its objective, the best bound, why the solve stopped.

    A plan made of several solves (windows, intervals, stages, degrade steps) gets one
    certificate from :meth:`combine`; its gap is always the relative gap between the
    reported objective and the reported bound, never the largest per-solve gap.
    """

    status: SolveStatus
    termination: Termination
    objective: float
    bound: float | None
    size: ModelSize  # the largest single model solved
    solves: int = 1
    message: str = ""

    @property
    def gap(self) -> float:
        if self.bound is None:
            return 0.0 if self.status is SolveStatus.OPTIMAL else math.inf
        return relative_gap(self.objective, self.bound)

    @staticmethod
    def of(result: SolveResult, objective: float | None = None) -> Certificate:
        """The certificate of one solve; ``objective`` replaces the solver's value when the
        plan's objective is computed differently (e.g. without a constant term)."""
        require_solution(result)
        assert result.objective is not None
        return Certificate(
            result.status,
            result.termination,
            result.objective if objective is None else objective,
            result.bound,
            result.size,
            1,
            result.message,
        )

    @staticmethod
    def combine(
        parts: Sequence[Certificate], objective: float, bound: float | None, message: str = ""
    ) -> Certificate:
        """One certificate for a plan made of ``parts``: ``objective`` and ``bound`` are the
        plan's (the formulation combines them as its objective does: a sum, a weighted
        mean, a minimum); the status is optimal only when every part is; the termination
        is the first part's that is not optimal; the size is the largest part's."""
        if not parts:
            raise ValueError("a plan needs at least one solve")
        worst = next((p for p in parts if p.termination is not Termination.OPTIMAL), parts[0])
        status = (
            SolveStatus.OPTIMAL
            if all(p.status is SolveStatus.OPTIMAL for p in parts)
            else SolveStatus.FEASIBLE
        )
        largest = max(
            parts, key=lambda p: (p.size.variables, p.size.constraints, p.size.integers)
        ).size
        return Certificate(
            status,
            worst.termination,
            objective,
            bound,
            largest,
            sum(p.solves for p in parts),
            message or worst.message,
        )


# --------------------------------------------------------------------------- results
@dataclass(frozen=True)
class ObjectiveSpec:
    """What a formulation optimises: name, unit (see ``cost_models.units``), sense."""

    name: str
    unit: str
    sense: Sense


@dataclass(frozen=True)
class Objective:
    name: str
    unit: str
    sense: Sense
    value: float

    @staticmethod
    def of(spec: ObjectiveSpec, value: float) -> Objective:
        return Objective(spec.name, spec.unit, spec.sense, value)


@dataclass
class Table:
    """A table for people and for CSV: plain rows, optionally one marked row.

    ``marker`` names what the mark means (the report's legend: ``▶ chosen``, ``▶ the
    bottleneck model``); ``legend`` explains columns whose meaning the name cannot carry
    (column name -> text, printed under the table, not part of the CSV)."""

    title: str
    columns: list[str]
    rows: list[list[Any]]
    marked_row: int | None = None
    marker: str = "chosen"
    legend: dict[str, str] = field(default_factory=dict)

    def to_frame(self) -> pd.DataFrame:
        import pandas as pd

        return pd.DataFrame(self.rows, columns=self.columns)


@dataclass
class Verification:
    """The verifier's recomputation: objective value from the cost model, and violations."""

    objective_value: float
    violations: list[str]

    @property
    def ok(self) -> bool:
        return not self.violations


DeployT = TypeVar("DeployT", bound=BaseModel)
InputT = TypeVar("InputT", bound=BaseModel)
ViewT = TypeVar("ViewT")


@dataclass
class Solution(Generic[DeployT]):
    """What :meth:`Formulation.solve` returns: the deployment, its certificate (objective
    as the formulation computes it from the solver's values), and warnings for the user."""

    deployment: DeployT
    certificate: Certificate
    warnings: list[str] = field(default_factory=list)


class Provenance(enum.StrEnum):
    """Where a rate (latency, throughput, step time) came from (issue 10 item 6)."""

    MEASURED = "measured"  # given in the scenario or read from a measured profile
    CALIBRATED = "calibrated"  # cost_models/perf fitted to measurements of this device/runtime
    ROOFLINE = "roofline"  # an uncalibrated analytical estimate


@dataclass(frozen=True)
class RateSource:
    """One group of rates a plan rests on: ``what`` (e.g. "resnet50 on T4, batch 1-32"),
    its provenance, the expected error of an estimate (relative, %, from the model's
    validation; None for measured rates) and ``source`` (the file, table or model used)."""

    what: str
    provenance: Provenance
    expected_error_pct: float | None
    source: str

    @property
    def label(self) -> str:
        """Short table text: ``measured``, ``calibrated ±46%``, ``roofline (unvalidated)``."""
        if self.provenance is Provenance.MEASURED:
            return self.provenance.value
        if self.expected_error_pct is None:
            return f"{self.provenance.value} (unvalidated)"
        return f"{self.provenance.value} ±{self.expected_error_pct:.0f}%"

    def to_dict(self) -> dict[str, Any]:
        return {
            "what": self.what,
            "provenance": self.provenance.value,
            "expected_error_pct": self.expected_error_pct,
            "source": self.source,
        }


@dataclass
class BaselineRun(Generic[DeployT]):
    """A baseline's deployment (or why it has none), named after the system it reproduces.

    ``source`` cites what it follows (paper section, repository file and function); the
    engine verifies ``deployment`` with the formulation's verifier and scores it like the
    plan. ``deployment is None`` means the baseline found no plan; ``reason`` says why.
    """

    name: str
    source: str
    deployment: DeployT | None
    reason: str = ""


@dataclass(frozen=True)
class Shortfall:
    """A requirement the committed capacity no longer meets (``planner check``)."""

    what: str  # e.g. "family resnet", "class bulk", "job resnet50"
    required: float
    available: float
    unit: str
    # True when what runs short is capacity the scenario offers (devices, ports, quotas,
    # memory, a budget), not a requirement of its users (demand, SLO, accuracy, deadline)
    resource: bool = False


@dataclass
class Refit(Generic[DeployT]):
    """A committed deployment adapted to a changed scenario: the decisions a user bought or
    deployed (devices, VMs, placements, configurations) kept, the rest (routing, shares)
    re-derived; ``shortfalls`` lists what the kept decisions cannot serve."""

    deployment: DeployT
    shortfalls: list[Shortfall] = field(default_factory=list)


def run_baseline(
    name: str, source: str, build: Callable[[], DeployT | None], reason: str = ""
) -> BaselineRun[DeployT]:
    """Run one baseline: its deployment, or no plan with the reason when its own solve or
    rule finds none (so one failing baseline never hides the others)."""
    try:
        return BaselineRun(name, source, build(), reason)
    except NoSolution as exc:
        result = exc.result
        return BaselineRun(name, source, None, f"{result.status.value} ({result.termination.text})")
    except InfeasibleError as exc:
        return BaselineRun(name, source, None, str(exc))


class Formulation(ABC, Generic[InputT, ViewT, DeployT]):
    """One formulation: scenario inputs -> view -> solved, verifiable deployment.

    Subclasses set ``kind``, ``inputs_model`` (pydantic model of the scenario minus the
    ``kind``/``name``/``description``/``solver`` keys, ``extra="forbid"``),
    ``deployment_model`` (pydantic model of the plan's deployment; it must round-trip
    through JSON so ``planner check`` can re-verify a stored plan) and ``objective``.
    """

    kind: ClassVar[str]
    inputs_model: ClassVar[type[BaseModel]]
    deployment_model: ClassVar[type[BaseModel]]
    objective: ClassVar[ObjectiveSpec]

    def objective_of(self, view: ViewT) -> ObjectiveSpec:
        """What this scenario optimises: ``objective`` unless the scenario chooses between
        modes with different objectives (e.g. latency, or the cost of meeting a latency
        target)."""
        return self.objective

    @abstractmethod
    def prepare(self, inputs: InputT) -> ViewT:
        """The cost-model view of validated inputs (rates, candidates, tables): computed
        once per scenario by the engine and passed to every other stage."""

    @abstractmethod
    def solve(self, view: ViewT, solver: MilpSolver) -> Solution[DeployT]:
        """Build and solve the formulation's MILP(s) with its own strategy; raise
        :class:`NoSolution` (via :func:`require_solution`) or :class:`InfeasibleError`."""

    @abstractmethod
    def verify(self, view: ViewT, deployment: DeployT) -> Verification:
        """Recompute every constraint and the objective from the cost model, never from
        solver values."""

    @abstractmethod
    def tables(self, view: ViewT, deployment: DeployT) -> list[Table]:
        """Tables for people; the first is the primary one (``Plan.to_frame``, CSV)."""

    def baselines(
        self, view: ViewT, solver: MilpSolver, solution: Solution[DeployT]
    ) -> list[BaselineRun[DeployT]]:
        """The systems the plan is compared with, as deployments on the same inputs."""
        return []

    def headline(self, view: ViewT, deployment: DeployT) -> dict[str, float | int | str | None]:
        """A few numbers of a deployment (columns of the baseline table, for the plan and
        every baseline alike)."""
        return {}

    def incomparable(self, view: ViewT, plan: DeployT, baseline: DeployT) -> str:
        """Why a verified ``baseline``'s objective cannot be set against the ``plan``'s
        (e.g. it serves less of the demand, and the objective does not count what it
        drops); "" when it can. The engine then gives the row no ``plan_advantage`` and
        shows this in its note."""
        return ""

    def refit(self, view: ViewT, deployment: DeployT, solver: MilpSolver) -> Refit[DeployT]:
        """``planner check``: keep the committed decisions of ``deployment`` and adapt what
        may change without buying or moving anything (e.g. re-route new demand over the
        committed devices); name every requirement they no longer meet. The default keeps
        the deployment as it is (the verifier then judges it)."""
        return Refit(deployment)

    def explain_infeasible(self, view: ViewT, context: Any) -> str:
        """Which requirement cannot be met (computed from the inputs), for a model that
        :meth:`solve` found infeasible; ``context`` is what it passed to NoSolution."""
        return "no deployment satisfies every constraint of the scenario"

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

    def rate_sources(self, view: ViewT) -> list[RateSource]:
        """The rates the plan rests on and where each came from (measured, calibrated
        estimate, roofline); the engine puts them in the plan's header. Kinds that read or
        estimate rates override this; the default (no rates) suits kinds whose inputs are
        exact (e.g. cycle counts computed from the architecture)."""
        return []

    def simulate(
        self, view: ViewT, deployment: DeployT, solver: MilpSolver, options: SimulateOptions
    ) -> list[Table]:
        """Replay a plan (and the baselines) against seeded random events
        (``planner simulate``); kinds with a replay override this, and refuse the options
        they do not honour with :meth:`SimulateOptions.refuse_unsupported`."""
        raise InputError(None, "kind", f"a kind with a simulation (not {self.kind!r})", self.kind)


@dataclass(frozen=True)
class SimulateOptions:
    """What ``planner simulate`` asks of a kind's replay (docs/replay.md).

    ``runs`` seeded replays starting at ``seed``; ``rate_scale`` multiplies every arrival
    rate (1 = the scenario's); ``duration_s`` is the simulated span of one run (None: the
    kind's default, e.g. its trace's length); ``trace`` replaces the scenario's arrivals by
    a file (None: the scenario's own)."""

    runs: int = 20
    seed: int = 0
    rate_scale: float = 1.0
    duration_s: float | None = None
    trace: Path | None = None

    def refuse_unsupported(self, kind: str, supported: frozenset[str] = frozenset()) -> None:
        """Exit 2 naming the first option set away from its default that ``kind`` does not
        honour (``supported`` names those it does: "rate_scale", "duration_s", "trace")."""
        given = {
            "rate_scale": self.rate_scale != 1.0,
            "duration_s": self.duration_s is not None,
            "trace": self.trace is not None,
        }
        for name, is_set in given.items():
            if is_set and name not in supported:
                flag = "--" + name.replace("_", "-")
                raise InputError(
                    None, flag, f"an option {kind!r} replays honour (not {flag})", flag
                )


def plan_advantage(sense: Sense, plan: float, baseline: float) -> float | None:
    """How many times better the plan is than a baseline: ``baseline / plan`` when
    minimising (cost, latency), ``plan / baseline`` when maximising (throughput, accuracy).
    Above 1 the plan is better; None when the ratio is undefined (a zero denominator)."""
    numerator, denominator = (baseline, plan) if sense is Sense.MINIMIZE else (plan, baseline)
    if denominator == 0 or not (math.isfinite(numerator) and math.isfinite(denominator)):
        return None
    return numerator / denominator


MAX_DATA_FILE_BYTES = 2**30  # 1 GiB: the largest data file a scenario may name


def _resolve(value: Path, info: ValidationInfo, want: str) -> Path:
    """A scenario path resolved against the scenario's folder and checked to be ``want``:
    "file" (a regular, readable file of at most 1 GiB), "folder", or "any" of the two."""
    base_dir = (info.context or {}).get("base_dir")
    path = Path(value).expanduser()
    if not path.is_absolute() and base_dir is not None:
        path = Path(base_dir) / path
    if not path.exists():
        raise ValueError(
            f"an existing {want if want != 'any' else 'file or folder'} (no such path: {path})"
        )
    if path.is_dir():
        if want == "file":
            raise ValueError(f"a file ({path} is a folder)")
        return path
    if want == "folder":
        raise ValueError(f"a folder ({path} is not one)")
    if not path.is_file():
        raise ValueError(f"a regular file ({path} is a FIFO, socket or device)")
    size = path.stat().st_size
    if size > MAX_DATA_FILE_BYTES:
        raise ValueError(f"a data file of at most 1 GiB ({path} has {size:,} bytes)")
    try:
        with path.open("rb"):
            pass
    except OSError as exc:
        raise ValueError(f"a readable file ({path}: {exc.strerror})") from None
    return path


DataPath = Annotated[Path, AfterValidator(lambda v, info: _resolve(v, info, "any"))]
"""A file or folder named in a scenario: relative paths resolve against the scenario's
folder; FIFOs, devices and files over 1 GiB are refused."""
DataFile = Annotated[Path, AfterValidator(lambda v, info: _resolve(v, info, "file"))]
"""A regular data file named in a scenario (resolved and bounded as :data:`DataPath`)."""
DataFolder = Annotated[Path, AfterValidator(lambda v, info: _resolve(v, info, "folder"))]
"""A folder named in a scenario (resolved as :data:`DataPath`)."""
