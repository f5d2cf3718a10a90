"""A solved, verified deployment plan and its stable JSON form (``schema_version`` 1).

JSON layout (keys are never renamed within a schema version; new keys may be added)::

    {
      "schema_version": 1, "kind": "proteus", "status": "optimal",
      "objective": 0.97, "objective_name": "...", "objective_unit": "...",
      "objective_sense": "maximize", "bound": 0.97, "gap": 0.0,
      "scenario": {"name": "...", "sha256": "..."},
      "solver": {"backend": "highs", "time_limit_s": null, "mip_gap": 0.0001, ...},
      "timing": {"build_s": 0.01, "solve_s": 0.02},
      "model_size": {"variables": 10, "integers": 5, "constraints": 7},
      "deployment": {...formulation-specific...},
      "baselines": {"name": {...}}, "warnings": [], "planner_version": "0.1.0"
    }
"""

from __future__ import annotations

import contextlib
import csv
import io
import json
import os
import tempfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel

if TYPE_CHECKING:
    import pandas as pd

from formulations.types import ModelSize, Objective, SolverSettings, SolveStatus, Table

SCHEMA_VERSION = 1


def planner_version() -> str:
    try:
        return version("planner")
    except PackageNotFoundError:  # running from a source tree that is not installed
        return "0+unknown"


@dataclass
class Plan:
    kind: str
    scenario_name: str
    scenario_sha256: str
    status: SolveStatus
    objective: Objective
    bound: float | None
    gap: float | None
    solver: SolverSettings
    build_s: float
    solve_s: float
    size: ModelSize
    deployment: BaseModel
    tables: list[Table]
    baselines: dict[str, dict[str, Any]] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {
            "schema_version": SCHEMA_VERSION,
            "kind": self.kind,
            "status": self.status.value,
            "objective": self.objective.value,
            "objective_name": self.objective.name,
            "objective_unit": self.objective.unit,
            "objective_sense": self.objective.sense.value,
            "bound": self.bound,
            "gap": self.gap,
            "scenario": {"name": self.scenario_name, "sha256": self.scenario_sha256},
            "solver": self.solver.model_dump(mode="json"),
            "timing": {"build_s": round(self.build_s, 6), "solve_s": round(self.solve_s, 6)},
            "model_size": {
                "variables": self.size.variables,
                "integers": self.size.integers,
                "constraints": self.size.constraints,
            },
            "deployment": self.deployment.model_dump(mode="json"),
            "baselines": self.baselines,
            "warnings": self.warnings,
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


def write_atomic(path: str | Path, text: str) -> None:
    """Write ``text`` to ``path`` through a temporary file in the same folder and a rename,
    so readers never see a half-written file and a failure leaves the old file intact."""
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, target)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise


def write_csv_atomic(
    path: str | Path, rows: Sequence[Mapping[str, Any]], columns: Sequence[str] | None = None
) -> None:
    """Write dict rows as CSV, atomically. ``columns`` defaults to every key of every row,
    in order of first appearance."""
    if columns is None:
        columns = list(dict.fromkeys(key for row in rows for key in row))
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=list(columns))
    writer.writeheader()
    writer.writerows(rows)
    write_atomic(path, buffer.getvalue())
