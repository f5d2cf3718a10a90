"""A solved, verified deployment plan and its stable JSON form (``schema_version`` 2).

JSON layout (keys are never renamed within a schema version; new keys may be added)::

    {
      "schema_version": 2, "kind": "proteus",
      "status": "optimal",              # optimal | feasible (a limit left a gap)
      "termination": "optimal",         # why the solve stopped (formulations.types.Termination)
      "objective": 0.97, "objective_name": "...", "objective_unit": "...",
      "objective_sense": "maximize", "bound": 0.97, "gap": 0.0,
      "scenario": {"name": "...", "sha256": "..."},
      "solver": {"backend": "highs", "time_limit_s": null, "mip_gap": 0.0001, ...},
      "timing": {"prepare_s": .., "build_s": .., "solve_s": .., "verify_s": ..,
                 "baselines_s": .., "tables_s": .., "wall_s": ..},
      "model_size": {"variables": 10, "integers": 5, "constraints": 7, "solves": 1},
      "deployment": {...formulation-specific...},
      "headline": {...the plan's headline numbers...},
      "baselines": {"name": {"source": "...", "status": "feasible", "objective": 1.2,
                             "plan_advantage": 1.3, "violations": [], "reason": "",
                             "headline": {...}}},
      "warnings": [], "planner_version": "0.1.0"
    }

``gap`` is the relative gap between ``objective`` and ``bound``. ``plan_advantage`` is how
many times better the plan is than the baseline (baseline / plan when minimising, plan /
baseline when maximising; above 1 the plan is better); it is null unless the baseline is
feasible. A baseline's ``status`` is ``feasible`` (the verifier found no violation),
``infeasible`` (``violations`` lists the first ones) or ``no_plan`` (``reason`` says why).
"""

from __future__ import annotations

import contextlib
import csv
import io
import json
import math
import os
import tempfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, Literal, get_args

from pydantic import BaseModel, ConfigDict, Field

if TYPE_CHECKING:
    import pandas as pd

from formulations.types import (
    Certificate,
    InputError,
    Objective,
    Provenance,
    RateSource,
    Sense,
    SolverSettings,
    SolveStatus,
    Table,
    Termination,
)

SCHEMA_VERSION = 2
BaselineStatus = Literal["feasible", "infeasible", "no_plan"]
BASELINE_STATUSES: tuple[str, ...] = get_args(BaselineStatus)


class _ScenarioRef(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str
    sha256: str
    document: dict[str, Any] | None = None  # the scenario as parsed (absent in older plans)


Finite = Annotated[float, Field(allow_inf_nan=False)]


class _BaselineRecord(BaseModel):
    """A baseline's entry in a stored plan (``BaselineResult.to_dict``). Informative: no
    baseline is deployed from a plan file and ``planner check`` does not re-run them; the
    types are checked so that what reads them (``planner report``) can rely on them."""

    model_config = ConfigDict(extra="forbid", strict=True)
    source: str
    status: BaselineStatus
    objective: Finite | None
    plan_advantage: Finite | None
    violations: list[str]
    reason: str
    headline: dict[str, Finite | int | str | None]


class PlanHeader(BaseModel):
    """The keys of a stored plan that ``planner check`` reads, with their types (other keys
    are informative and may be added within a schema version)."""

    model_config = ConfigDict(extra="allow")
    schema_version: int
    kind: str
    objective: float = Field(allow_inf_nan=False)
    objective_sense: Sense
    scenario: _ScenarioRef
    deployment: dict[str, Any]
    baselines: dict[str, _BaselineRecord] = Field(default_factory=dict)


def planner_version() -> str:
    try:
        return version("planner")
    except PackageNotFoundError:  # running from a source tree that is not installed
        return "0+unknown"


@dataclass(frozen=True)
class StageTimes:
    """Seconds spent in each stage, measured by the engine. ``build_s`` is the solve stage
    minus the time inside the solver (model building and the formulation's own work);
    ``solve_s`` is time inside the solver for the plan (baselines' solves count in
    ``baselines_s``)."""

    prepare_s: float
    build_s: float
    solve_s: float
    verify_s: float
    baselines_s: float
    tables_s: float

    @property
    def wall_s(self) -> float:
        return (
            self.prepare_s
            + self.build_s
            + self.solve_s
            + self.verify_s
            + self.baselines_s
            + self.tables_s
        )

    def to_dict(self) -> dict[str, float]:
        names = ("prepare_s", "build_s", "solve_s", "verify_s", "baselines_s", "tables_s")
        out = {name: round(getattr(self, name), 6) for name in names}
        out["wall_s"] = round(self.wall_s, 6)
        return out


@dataclass
class BaselineResult:
    """A baseline verified and scored by the engine (one schema for every kind)."""

    name: str
    source: str
    status: str  # one of BASELINE_STATUSES
    objective: float | None
    plan_advantage: float | None
    violations: list[str] = field(default_factory=list)
    reason: str = ""
    headline: dict[str, Any] = field(default_factory=dict)
    deployment: BaseModel | None = None  # kept in memory (replay), not written to JSON

    def to_dict(self) -> dict[str, Any]:
        return {
            "source": self.source,
            "status": self.status,
            "objective": self.objective,
            "plan_advantage": self.plan_advantage,
            "violations": self.violations,
            "reason": self.reason,
            "headline": self.headline,
        }


@dataclass
class Plan:
    kind: str
    scenario_name: str
    scenario_sha256: str
    objective: Objective
    certificate: Certificate
    solver: SolverSettings
    timing: StageTimes
    deployment: BaseModel
    tables: list[Table]
    headline: dict[str, Any] = field(default_factory=dict)
    baselines: list[BaselineResult] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    rates: list[RateSource] = field(default_factory=list)
    scenario_document: dict[str, Any] = field(default_factory=dict)

    @property
    def estimated(self) -> bool:
        """Whether any rate the plan rests on is an estimate (calibrated or roofline)."""
        return any(r.provenance is not Provenance.MEASURED for r in self.rates)

    @property
    def status(self) -> SolveStatus:
        return self.certificate.status

    @property
    def termination(self) -> Termination:
        return self.certificate.termination

    @property
    def bound(self) -> float | None:
        return self.certificate.bound

    @property
    def gap(self) -> float:
        return self.certificate.gap

    def baseline(self, name: str) -> BaselineResult:
        for result in self.baselines:
            if result.name == name:
                return result
        raise KeyError(name)

    def to_dict(self) -> dict[str, Any]:
        size = self.certificate.size
        gap = self.gap
        return {
            "schema_version": SCHEMA_VERSION,
            "kind": self.kind,
            "status": self.status.value,
            "termination": self.termination.value,
            "objective": self.objective.value,
            "objective_name": self.objective.name,
            "objective_unit": self.objective.unit,
            "objective_sense": self.objective.sense.value,
            "bound": self.bound,
            "gap": gap if math.isfinite(gap) else None,
            "scenario": {
                "name": self.scenario_name,
                "sha256": self.scenario_sha256,
                "document": self.scenario_document,
            },
            "solver": self.solver.model_dump(mode="json"),
            "timing": self.timing.to_dict(),
            "model_size": {
                "variables": size.variables,
                "integers": size.integers,
                "constraints": size.constraints,
                "solves": self.certificate.solves,
            },
            "deployment": self.deployment.model_dump(mode="json"),
            "headline": self.headline,
            "baselines": {b.name: b.to_dict() for b in self.baselines},
            "warnings": self.warnings,
            "rates": {
                "estimated": self.estimated,
                "sources": [r.to_dict() for r in self.rates],
            },
            "planner_version": planner_version(),
        }

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=2, allow_nan=False, default=_json_default)

    def to_frame(self) -> pd.DataFrame:
        """The primary deployment table as a DataFrame."""
        return self.tables[0].to_frame()

    def to_csv(self) -> str:
        return self.to_frame().to_csv(index=False)


def _json_default(value: Any) -> Any:
    if hasattr(value, "item"):  # numpy scalars
        return value.item()
    raise TypeError(f"cannot serialise {type(value).__name__}")


def _umask() -> int:
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def check_output_path(path: str | Path, key: str = "--output") -> Path:
    """``path`` as a place planner may write a file: its folder exists and is writable, and
    it is not a folder, a FIFO or a device. Raises :class:`InputError` naming ``key``."""
    target = Path(path)
    parent = target.parent
    text = str(target)
    if not parent.is_dir():
        what = "a file, not a folder" if parent.exists() else "missing"
        raise InputError(text, key, f"a path in an existing folder ({parent} is {what})")
    if not os.access(parent, os.W_OK | os.X_OK):
        raise InputError(text, key, f"a path in a folder you can write to ({parent} is not)")
    if target.exists() and not target.is_file():
        kind = "a folder" if target.is_dir() else "not a regular file (a FIFO or device)"
        raise InputError(text, key, f"a regular file to write (the path is {kind})")
    return target


def write_atomic(path: str | Path, text: str, key: str = "--output") -> None:
    """Write ``text`` to ``path`` through a temporary file in the same folder and a rename,
    so readers never see a half-written file and a failure leaves the old file intact.

    A new file gets the user's umask (an existing one keeps its mode); the folder must exist
    (:func:`check_output_path`)."""
    target = check_output_path(path, key)
    mode = target.stat().st_mode & 0o777 if target.exists() else 0o666 & ~_umask()
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(tmp, mode)
        os.replace(tmp, target)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise


def csv_text(rows: Sequence[Mapping[str, Any]], columns: Sequence[str] | None = None) -> str:
    """Dict rows as CSV text; ``columns`` defaults to every key of every row, in order of
    first appearance."""
    if columns is None:
        columns = list(dict.fromkeys(key for row in rows for key in row))
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=list(columns))
    writer.writeheader()
    writer.writerows(rows)
    return buffer.getvalue()


def write_csv_atomic(
    path: str | Path, rows: Sequence[Mapping[str, Any]], columns: Sequence[str] | None = None
) -> None:
    """Write dict rows as CSV (:func:`csv_text`), atomically; for benchmarks, which create
    the folder they are asked to write into (the CLI's ``-o`` does not)."""
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    write_atomic(path, csv_text(rows, columns), key="--csv")
