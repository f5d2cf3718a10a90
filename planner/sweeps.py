"""What-if sweeps: one base scenario, axes over its key paths, one solved row per point.

A sweep file (TOML)::

    scenario = "../scenarios/proteus/edge_cluster.toml"   # relative to the sweep file
    combine = "grid"            # grid (every combination) or zip (axes side by side)
    seed = 0                    # random and Latin-hypercube samples
    baselines = true            # solve and score the formulation's baselines per point
    set = { "solver.time_limit_s" = 10 }   # fixed overrides of every point

    [[axes]]
    key = "families.resnet.demand_qps"
    start = 1000                # a range: start, stop (inclusive) and step or num
    stop = 3000
    step = 500

    [[axes]]
    key = "devices.T4.count"
    values = [2, 4]             # a list

    [[axes]]
    key = "families.bert.demand_qps"
    low = 500                   # samples: low, high, samples; method lhs or random
    high = 1500
    samples = 4
    method = "lhs"

Each point is solved by :func:`run_point` on a Dask worker (a LocalCluster by default, or
an existing scheduler) into one flat row, a chunk of points per Dask task
(:func:`stream_rows`, sizes from :func:`chunk_size`); :class:`ResultStore` keeps the rows
in a Parquet dataset folder keyed by the point's content and the planner version, so a
re-run skips the points already finished. The columns are documented in ``docs/sweeps.md``.
"""

from __future__ import annotations

import contextlib
import copy
import functools
import hashlib
import json
import math
import multiprocessing
import os
import re
import sys
import time
import tomllib
import uuid
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import FIRST_COMPLETED, Executor, wait
from dataclasses import dataclass
from datetime import UTC, datetime
from itertools import product
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, Self

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, model_validator

from formulations.types import ExitCode, InputError, PlannerError
from planner.engine import solve
from planner.plan import Plan, planner_version
from planner.scenario import _validate, scenario_from_dict

if TYPE_CHECKING:
    import pandas as pd

MAX_POINTS = 1_000_000  # a sweep file may expand to at most this many points
FLUSH_S = 1.0  # finished rows are written to the store at least this often (seconds)
FLUSH_ROWS = 200  # ... or when this many are waiting
CHUNK_S = 2.0  # a task of a sweep holds about this many seconds of points (see chunk_size)
MAX_CHUNK_POINTS = 64  # ... and at most this many points
CHUNKS_PER_SLOT = 2  # tasks in flight per worker thread: one running, one waiting
# Dask's periodic work, paid in CPU the points lose (docs/sweeps.md measures it): its
# statistical profiler samples each worker's stack every 10 ms of wall time, its event loops
# tick every 20 ms, its system monitor reads psutil every 0.5 s and its memory monitor every
# 0.1 s. A LocalCluster of a sweep turns the profiler off and slows the rest down. Its
# worker processes are forked where the platform can (Linux): a forked worker starts with
# planner, numpy and pydantic already imported, where a spawned one imports them again
# (2 workers: 0.6-0.7 s instead of 6-7 s to start, 1.6 instead of 4.8 s CPU; docs/sweeps.md).
LOCAL_CLUSTER_CONFIG: dict[str, Any] = {
    "distributed.worker.profile.enabled": False,
    "distributed.admin.tick.interval": "1s",
    "distributed.admin.system-monitor.interval": "5s",
    "distributed.worker.memory.monitor-interval": "1s",
    "distributed.worker.multiprocessing-method": (
        "fork" if "fork" in multiprocessing.get_all_start_methods() else "spawn"
    ),
}
SOLVER_THREADS = 1  # solver threads per point (one point per worker process and core)
WORKER_WAIT_S = 60.0  # how long to wait for the first worker of an existing cluster (s)
CONNECT_S = 10.0  # how long to try to reach an existing scheduler (s)
STATUS_OF_EXIT = {
    ExitCode.INVALID_INPUT: "invalid",
    ExitCode.INFEASIBLE: "infeasible",
    ExitCode.LIMIT_NO_PLAN: "no_solution",
}

Scalar = int | float | str | bool


# ---------------------------------------------------------------------- key paths

_SEGMENT = re.compile(r'"([^"]*)"|([^.\[\]"]+)|\[(\d+)\]')


def parse_key(key: str) -> list[str | int]:
    """``families.resnet.demand_qps``, ``jobs[0].deadline_h`` (or ``jobs.0.deadline_h``),
    ``spot_usd_per_h."g5.12xlarge"`` as a list of table keys and list indexes."""
    parts: list[str | int] = []
    position = 0
    expect_name = True
    while position < len(key):
        if key[position] == "." and not expect_name:
            position += 1
            expect_name = True
            continue
        match = _SEGMENT.match(key, position)
        if match is None or (expect_name and match.group(3) is not None and not parts):
            raise ValueError(f"a dotted key path (cannot read {key[position:]!r})")
        quoted, name, index = match.groups()
        if index is not None:
            parts.append(int(index))
        elif expect_name:
            text = quoted if quoted is not None else name
            parts.append(int(text) if quoted is None and text.isdigit() and parts else text)
        else:
            raise ValueError(f"a '.' between key names (at {key[position:]!r})")
        expect_name = False
        position = match.end()
    if not parts or expect_name:
        raise ValueError("a dotted key path ending in a key name")
    return parts


def key_text(parts: Sequence[str | int]) -> str:
    """The key path as the scenario's error messages spell it (``jobs[0].deadline_h``)."""
    text = ""
    for part in parts:
        if isinstance(part, int):
            text += f"[{part}]"
        else:
            name = f'"{part}"' if "." in part else part
            text += f".{name}" if text else name
    return text


def set_key(document: dict[str, Any], parts: Sequence[str | int], value: Any) -> None:
    """Set ``value`` at ``parts`` in a parsed TOML document, creating missing tables; raises
    ``KeyError`` naming the first part that is neither a table key nor a list index."""
    node: Any = document
    for depth, part in enumerate(parts):
        last = depth == len(parts) - 1
        if isinstance(node, list):
            if not isinstance(part, int) or not -len(node) <= part < len(node):
                raise KeyError(f"{key_text(parts[: depth + 1])} (a list of {len(node)})")
        elif isinstance(node, dict):
            if isinstance(part, int):
                raise KeyError(f"{key_text(parts[: depth + 1])} (a table, not a list)")
            if not last and part not in node:
                node[part] = {}
        else:
            raise KeyError(f"{key_text(parts[:depth])} (a value, not a table)")
        if last:
            node[part] = value
        else:
            node = node[part]


def with_values(
    document: dict[str, Any], assignments: Iterable[tuple[Sequence[str | int], Any]]
) -> dict[str, Any]:
    """A copy of ``document`` with a value set at each key path (:func:`set_key`): the
    tables and lists on the paths are copied, everything else is shared with
    ``document``, which is left unchanged."""
    out = dict(document)
    for parts, value in assignments:
        node: Any = out
        for part in parts[:-1]:
            if isinstance(node, dict):
                present = isinstance(part, str) and part in node
            else:
                present = isinstance(part, int) and -len(node) <= part < len(node)
            child = node[part] if present else None
            if not isinstance(child, dict | list):
                break  # a table set_key creates, or a path it refuses
            node[part] = child = dict(child) if isinstance(child, dict) else list(child)
            node = child
        set_key(out, parts, value)
    return out


# ---------------------------------------------------------------------- the sweep file


class Axis(BaseModel):
    """``[[axes]]``: one key path and its values (a list, a range, or samples)."""

    model_config = ConfigDict(extra="forbid")

    key: str = Field(min_length=1)
    values: list[Scalar] | None = Field(None, min_length=1)
    start: float | None = None
    stop: float | None = None
    step: float | None = Field(None, gt=0)
    num: int | None = Field(None, ge=1)
    low: float | None = None
    high: float | None = None
    samples: int | None = Field(None, ge=1)
    method: Literal["lhs", "random"] = "lhs"
    integer: bool = False

    @model_validator(mode="after")
    def _one_form(self) -> Self:
        forms = {
            "values": self.values is not None,
            "start/stop": self.start is not None or self.stop is not None,
            "low/high/samples": any(v is not None for v in (self.low, self.high, self.samples)),
        }
        chosen = [name for name, used in forms.items() if used]
        if len(chosen) != 1:
            raise ValueError(
                "exactly one of values, start/stop with step or num, low/high/samples "
                f"(got {', '.join(chosen) or 'none'})"
            )
        if chosen == ["start/stop"] and (
            self.start is None or self.stop is None or (self.step is None) == (self.num is None)
        ):
            raise ValueError("start, stop and one of step or num")
        if chosen == ["low/high/samples"]:
            if self.low is None or self.high is None or self.samples is None:
                raise ValueError("low, high and samples")
            if not self.low <= self.high:
                raise ValueError(f"low <= high (got {self.low} > {self.high})")
        try:
            parse_key(self.key)
        except ValueError as exc:
            raise ValueError(f"key: {exc} (got {self.key!r})") from None
        return self

    @property
    def sampled(self) -> bool:
        return self.samples is not None

    def _numbers(self, values: np.ndarray, whole: bool) -> list[Scalar]:
        if whole or self.integer:
            return [int(v) for v in np.rint(values)]
        return [float(v) for v in values]

    def fixed_values(self) -> list[Scalar]:
        """The values of a list or range axis."""
        if self.values is not None:
            return list(self.values)
        assert self.start is not None and self.stop is not None
        whole = all(float(v).is_integer() for v in (self.start, self.stop, self.step or 1.0))
        if self.num is not None:
            points = np.linspace(self.start, self.stop, self.num)
            return self._numbers(points, whole and self.num > 1 and _even(points))
        assert self.step is not None
        count = math.floor((self.stop - self.start) / self.step + 1e-9) + 1
        return self._numbers(self.start + self.step * np.arange(max(count, 0)), whole)

    def scaled(self, unit: np.ndarray) -> list[Scalar]:
        """Samples in [0, 1) mapped onto [low, high]."""
        assert self.low is not None and self.high is not None
        return self._numbers(self.low + unit * (self.high - self.low), whole=False)


def _even(points: np.ndarray) -> bool:
    return bool(np.allclose(points, np.rint(points)))


class SweepFile(BaseModel):
    model_config = ConfigDict(extra="forbid")

    scenario: str = Field(min_length=1)
    combine: Literal["grid", "zip"] = "grid"
    seed: int = Field(0, ge=0)
    baselines: bool = True
    set: dict[str, Scalar | list[Any] | dict[str, Any]] = Field(default_factory=dict)
    axes: list[Axis] = Field(min_length=1)


@dataclass(frozen=True)
class PointBase:
    """What every point of a sweep shares, sent once per chunk of points (plain data: it
    pickles to any Dask worker): the base scenario document (``set`` applied), where it
    lives, the axes' key paths, and whether points solve their baselines."""

    document: dict[str, Any]
    base_dir: str
    file: str
    axis_parts: tuple[tuple[str | int, ...], ...]
    baselines: bool

    def document_of(self, task: PointTask) -> dict[str, Any]:
        """The point's scenario document: the base with the point's axis values set (the
        tables and lists on each key path are copied; the base is never changed)."""
        return with_values(
            self.document,
            zip(self.axis_parts, task.axis_values.values(), strict=True),
        )


@dataclass(frozen=True)
class PointTask:
    """One point: its number, its resume key and its value of each axis (in axis order,
    keyed by the axis's key path)."""

    point: int
    point_key: str
    axis_values: dict[str, Scalar]


@dataclass(frozen=True)
class Sweep:
    """A loaded sweep file: what its points share, and its points in order."""

    path: Path
    scenario_path: Path
    axis_keys: list[str]
    base: PointBase
    tasks: list[PointTask]


def _axis_values(spec: SweepFile, file: str) -> list[list[Scalar]]:
    """Per axis, its values; Latin-hypercube axes of a zip sweep are sampled jointly."""
    from scipy.stats import qmc

    out: list[list[Scalar]] = [[] for _ in spec.axes]
    joint = [i for i, a in enumerate(spec.axes) if a.sampled and a.method == "lhs"]
    if spec.combine == "zip" and joint:
        n = spec.axes[joint[0]].samples
        if any(spec.axes[i].samples != n for i in joint):
            raise InputError(file, "axes", "the same samples on every lhs axis of a zip sweep")
        design = qmc.LatinHypercube(d=len(joint), seed=spec.seed).random(int(n or 1))
        for column, i in enumerate(joint):
            out[i] = spec.axes[i].scaled(design[:, column])
        joint_set = set(joint)
    else:
        joint_set = set()
    for i, axis in enumerate(spec.axes):
        if i in joint_set:
            continue
        if not axis.sampled:
            out[i] = axis.fixed_values()
        elif axis.method == "lhs":
            unit = qmc.LatinHypercube(d=1, seed=spec.seed + i).random(int(axis.samples or 1))
            out[i] = axis.scaled(unit[:, 0])
        else:
            out[i] = axis.scaled(np.random.default_rng(spec.seed + i).random(axis.samples))
    return out


def _combinations(spec: SweepFile, file: str, values: list[list[Scalar]]) -> list[tuple[Any, ...]]:
    if spec.combine == "zip":
        lengths = {len(v) for v in values}
        if len(lengths) != 1:
            raise InputError(
                file,
                "axes",
                "axes of equal length when combine = zip (got lengths "
                + ", ".join(str(len(v)) for v in values)
                + ")",
            )
        return list(zip(*values, strict=True))
    total = math.prod(len(v) for v in values)
    if total > MAX_POINTS:
        raise InputError(file, "axes", f"at most {MAX_POINTS:,} points (got {total:,})")
    return list(product(*values))


def _created(base: dict[str, Any], parts: list[str | int]) -> str | None:
    """The key path of the first table on the way to ``parts`` that ``base`` lacks."""
    node: Any = base
    for depth, part in enumerate(parts[:-1]):
        if not isinstance(node, dict | list):
            return None
        if isinstance(node, dict) and part not in node:
            return key_text(parts[: depth + 1])
        node = node[part] if isinstance(node, dict) else node[int(part)]
    return None


def _unknown_key(exc: InputError, parts: list[str | int], created: str | None) -> bool:
    """Is ``exc`` the scenario refusing a key on the way to ``parts`` (a misspelt path), or
    a table the path created (``families.resnt``) that the scenario cannot use?"""
    if exc.expected.startswith("no such key") and key_text(parts).startswith(exc.key):
        return True
    return created is not None and exc.key.startswith(created)


def _apply(
    document: dict[str, Any], parts: list[str | int], value: Any, file: str, where: str
) -> None:
    try:
        set_key(document, parts, value)
    except KeyError as exc:
        raise InputError(
            file, where, f"a key path of the scenario ({exc.args[0]} does not exist)"
        ) from None


def _check_key(
    base: dict[str, Any], parts: list[str | int], value: Any, sweep: str, where: str, scen: Path
) -> None:
    """Exit 2 naming the sweep file and the key when the scenario has no such key."""
    document = copy.deepcopy(base)
    _apply(document, parts, value, sweep, where)
    try:
        scenario_from_dict(document, scen.parent, str(scen))
    except InputError as exc:
        if _unknown_key(exc, parts, _created(base, parts)):
            raise InputError(
                sweep,
                where,
                f"a key path of {scen} (the scenario has no key {exc.key})",
                key_text(parts),
            ) from None


def _digest(*parts: str) -> str:
    return hashlib.sha256("\x00".join(parts).encode()).hexdigest()


def load_sweep(path: str | Path) -> Sweep:
    """Read and validate a sweep file and expand it into points (errors name the sweep
    file and the key)."""
    path = Path(path)
    file = str(path)
    if not path.is_file():
        raise InputError(file, "(file)", "an existing sweep file (TOML)")
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except UnicodeDecodeError:
        raise InputError(file, "(file)", "UTF-8 text") from None
    except tomllib.TOMLDecodeError as exc:
        raise InputError(file, "(syntax)", f"valid TOML ({exc})") from None
    spec: SweepFile = _validate(SweepFile, raw, file)
    scenario_path = (path.parent / spec.scenario).resolve()
    if not scenario_path.is_file():
        raise InputError(file, "scenario", "an existing scenario file (TOML)", spec.scenario)
    try:
        base = tomllib.loads(scenario_path.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise InputError(str(scenario_path), "(syntax)", f"valid TOML ({exc})") from None
    for key, value in spec.set.items():
        parts = _parsed(key, file, f"set.{key}")
        _apply(base, parts, value, file, f"set.{key}")
    base_scenario = scenario_from_dict(base, scenario_path.parent, str(scenario_path))
    values = _axis_values(spec, file)
    axis_parts = [_parsed(a.key, file, f"axes[{i}].key") for i, a in enumerate(spec.axes)]
    for i, parts in enumerate(axis_parts):
        if not values[i]:
            raise InputError(file, f"axes[{i}]", "at least one value (the range is empty)")
        _check_key(base, parts, values[i][0], file, f"axes[{i}].key", scenario_path)
    keys = [key_text(p) for p in axis_parts]
    if len(set(keys)) != len(keys):
        raise InputError(file, "axes", "each key path on one axis only", keys)
    version = planner_version()
    tasks = [
        PointTask(
            point,
            _digest(
                base_scenario.sha256,
                json.dumps(axis_values, sort_keys=True),
                version,
                str(spec.baselines),
            ),
            axis_values,
        )
        for point, combination in enumerate(_combinations(spec, file, values))
        for axis_values in [dict(zip(keys, combination, strict=True))]
    ]
    shared = PointBase(
        base,
        str(scenario_path.parent),
        str(scenario_path),
        tuple(tuple(p) for p in axis_parts),
        spec.baselines,
    )
    return Sweep(path, scenario_path, keys, shared, tasks)


def _parsed(key: str, file: str, where: str) -> list[str | int]:
    try:
        return parse_key(key)
    except ValueError as exc:
        raise InputError(file, where, str(exc), key) from None


# ---------------------------------------------------------------------- one point


def plan_columns(plan: Plan) -> dict[str, Any]:
    """A solved plan as flat row columns (see docs/sweeps.md)."""
    data = plan.to_dict()
    row: dict[str, Any] = {
        "kind": plan.kind,
        "scenario_sha256": plan.scenario_sha256,
        "status": data["status"],
        "termination": data["termination"],
        "objective": data["objective"],
        "objective_name": data["objective_name"],
        "objective_unit": data["objective_unit"],
        "objective_sense": data["objective_sense"],
        "bound": data["bound"],
        "gap": data["gap"],
        **data["timing"],
        **{f"model_{k}": v for k, v in data["model_size"].items()},
        "warnings": "; ".join(plan.warnings),
    }
    row.update({f"headline.{k}": v for k, v in plan.headline.items()})
    for b in plan.baselines:
        row[f"baseline.{b.name}.status"] = b.status
        row[f"baseline.{b.name}.objective"] = b.objective
        row[f"baseline.{b.name}.plan_advantage"] = b.plan_advantage
    return row


def _task_columns(base: PointBase, task: PointTask) -> dict[str, Any]:
    return {
        "point": task.point,
        "point_key": task.point_key,
        "planner_version": planner_version(),
        "baselines": base.baselines,
        **{f"axis.{k}": v for k, v in task.axis_values.items()},
    }


def failed_row(
    base: PointBase, task: PointTask, exit_code: int, message: str, status: str
) -> dict[str, Any]:
    return {
        **_task_columns(base, task),
        "status": status,
        "exit_code": exit_code,
        "error": message,
        "finished_at": _now(),
    }


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds")


def run_point(base: PointBase, task: PointTask) -> dict[str, Any]:
    """Validate and solve one point into a row; every failure becomes a row (its exit
    code and message), never an exception, so one point never stops a sweep."""
    started = time.perf_counter()
    started_cpu = time.process_time()
    try:
        document = base.document_of(task)
        scenario = scenario_from_dict(document, base.base_dir, base.file)
        threads = None if "threads" in document.get("solver", {}) else SOLVER_THREADS
        plan = solve(scenario, baselines=base.baselines, threads=threads)
    except PlannerError as exc:
        code = ExitCode(exc.exit_code)
        row = failed_row(base, task, int(code), str(exc), STATUS_OF_EXIT.get(code, "error"))
    except Exception as exc:  # a formulation bug on one point must not stop the sweep
        row = failed_row(
            base, task, int(ExitCode.INTERNAL_ERROR), f"{type(exc).__name__}: {exc}", "error"
        )
    else:
        row = {
            **_task_columns(base, task),
            **plan_columns(plan),
            "exit_code": 0,
            "error": "",
            "finished_at": _now(),
        }
    row["worker_s"] = time.perf_counter() - started
    row["worker_cpu_s"] = time.process_time() - started_cpu
    return row


def run_chunk(base: PointBase, tasks: Sequence[PointTask]) -> list[dict[str, Any]]:
    """One task of a sweep: a few points solved in turn on one worker (one row each)."""
    return [run_point(base, task) for task in tasks]


# ---------------------------------------------------------------------- the store


def _column_type(values: pd.Series) -> str:
    present = [v for v in values if v is not None and not (isinstance(v, float) and v != v)]
    if all(isinstance(v, bool) for v in present):
        return "bool"
    if all(isinstance(v, int | float) and not isinstance(v, bool) for v in present):
        return "float"
    return "str"


def _normalised(frame: pd.DataFrame) -> pd.DataFrame:
    """Object columns as one Parquet type each (numbers, flags or text)."""
    frame = frame.copy()
    for name in frame.columns:
        if frame[name].dtype != object:
            continue
        kind = _column_type(frame[name])
        if kind == "float":
            frame[name] = frame[name].astype(float)
        elif kind == "str":
            frame[name] = [None if v is None else str(v) for v in frame[name]]
    return frame


class ResultStore:
    """A Parquet dataset folder of finished rows: ``part-*.parquet`` files, each written
    to a hidden temporary file and renamed (readers skip hidden files), so a killed sweep
    leaves only whole files. Rows are keyed by ``point_key``; the newest row wins."""

    PATTERN = "part-*.parquet"

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        text = str(self.path)
        if self.path.exists() and not self.path.is_dir():
            raise InputError(
                text, "--output", "a folder (the Parquet dataset planner sweep writes)"
            )
        parent = self.path.parent
        if not parent.is_dir():
            raise InputError(text, "--output", f"a path in an existing folder ({parent} is not)")
        if not os.access(parent, os.W_OK | os.X_OK):
            raise InputError(text, "--output", f"a path in a folder you can write to ({parent})")

    def parts(self) -> list[Path]:
        return sorted(self.path.glob(self.PATTERN)) if self.path.is_dir() else []

    def read(self) -> pd.DataFrame:
        import pandas as pd
        import pyarrow.parquet as pq

        frames = []
        for part in self.parts():
            try:
                frames.append(pq.read_table(part).to_pandas())
            except Exception as exc:  # pyarrow raises several types for damaged files
                raise InputError(str(part), "(file)", f"a Parquet file ({exc})") from None
        if not frames:
            return pd.DataFrame()
        rows = pd.concat(frames, ignore_index=True)
        return rows.drop_duplicates("point_key", keep="last").reset_index(drop=True)

    def append(self, rows: Sequence[dict[str, Any]]) -> Path:
        import pandas as pd

        return self._write(pd.DataFrame(list(rows)))

    def _write(self, frame: pd.DataFrame) -> Path:
        import pyarrow as pa
        import pyarrow.parquet as pq

        self.path.mkdir(exist_ok=True)
        name = f"part-{time.time_ns():020d}-{uuid.uuid4().hex[:8]}.parquet"
        target = self.path / name
        tmp = self.path / f".{name}.tmp"
        try:
            table = pa.Table.from_pandas(_normalised(frame), preserve_index=False)
            with open(tmp, "wb") as handle:
                pq.write_table(table, handle)
                handle.flush()
                os.fsync(handle.fileno())
            os.replace(tmp, target)
        except BaseException:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(tmp)
            raise
        return target

    def compact(self) -> None:
        """Rewrite many part files as one (the new file first, then the old ones go; a
        kill in between leaves duplicates, which :meth:`read` drops)."""
        parts = self.parts()
        if len(parts) < 2:
            return
        merged = self._write(self.read())
        for part in parts:
            if part != merged:
                part.unlink()


# ---------------------------------------------------------------------- running


@contextlib.contextmanager
def dask_client(scheduler: str | None, workers: int | None) -> Iterator[Any]:
    """A Dask client: on the scheduler at ``scheduler``, or on a LocalCluster of
    ``workers`` processes (default: one per core) with one thread each."""
    import logging

    import dask
    from distributed import Client, LocalCluster

    if scheduler is not None:
        if workers is not None:
            raise InputError(
                None, "--workers", "no worker count with --scheduler (the cluster has its own)"
            )
        try:
            client = Client(scheduler, timeout=f"{CONNECT_S}s")
        except (OSError, TimeoutError, ValueError) as exc:
            raise InputError(
                None, "--scheduler", f"a running Dask scheduler ({exc})", scheduler
            ) from None
        try:
            client.wait_for_workers(1, timeout=WORKER_WAIT_S)
        except TimeoutError:
            client.close()
            raise InputError(
                None, "--scheduler", "a scheduler with at least one worker", scheduler
            ) from None
        with client:
            yield client
        return
    count = workers if workers is not None else os.cpu_count() or 1
    if count < 1:
        raise InputError(None, "--workers", "at least 1 worker", count)
    with (
        dask.config.set(LOCAL_CLUSTER_CONFIG),  # the workers it spawns inherit it
        LocalCluster(
            n_workers=count,
            threads_per_worker=1,
            processes=True,
            host="127.0.0.1",
            dashboard_address=":0",  # any free port: never collides with another sweep
            silence_logs=logging.ERROR,
        ) as cluster,
        Client(cluster) as client,
    ):
        yield client


@dataclass
class SweepProgress:
    """Counts shown by the progress bar (and returned to callers)."""

    total: int
    skipped: int = 0
    done: int = 0
    failed: int = 0


def _progress_bar(enabled: bool, total: int) -> tuple[Any, Callable[[SweepProgress], None]]:
    from rich.console import Console
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeElapsedColumn,
        TimeRemainingColumn,
    )

    progress = Progress(
        TextColumn("sweep"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("{task.fields[failed]} failed"),
        TextColumn("{task.fields[rate]}"),
        TimeElapsedColumn(),
        TextColumn("ETA"),
        TimeRemainingColumn(),
        console=Console(stderr=True),
        disable=not enabled,
    )
    task = progress.add_task("sweep", total=total, failed=0, rate="")
    started = time.perf_counter()

    def update(counts: SweepProgress) -> None:
        elapsed = time.perf_counter() - started
        rate = f"{counts.done / elapsed:.1f} points/s" if counts.done and elapsed > 0 else ""
        progress.update(
            task, completed=counts.skipped + counts.done, failed=counts.failed, rate=rate
        )

    return progress, update


def chunk_size(point_s: float | None, remaining: int, slots: int) -> int:
    """Points in the next chunk: one while no point's time is known; then about
    :data:`CHUNK_S` seconds of points, at most :data:`MAX_CHUNK_POINTS`, and at most an
    even share of the remaining points over the chunks in flight (so the last chunks are
    small and no worker idles while another finishes a long one)."""
    if point_s is None:
        return 1
    by_time = int(CHUNK_S / max(point_s, 1e-9))
    share = remaining // (slots * CHUNKS_PER_SLOT)
    return max(1, min(by_time, MAX_CHUNK_POINTS, share))


def _pool_calls(
    pool: Any,
) -> tuple[Callable[..., Any], Callable[[list[Any]], Iterable[Any]]]:
    """``submit`` and wait-for-any for a ``distributed.Client`` or a
    ``concurrent.futures.Executor``."""
    if isinstance(pool, Executor):
        return pool.submit, lambda futures: wait(futures, return_when=FIRST_COMPLETED).done
    from distributed import wait as dask_wait

    return (
        functools.partial(pool.submit, pure=False),  # points are never deduplicated by Dask
        lambda futures: dask_wait(futures, return_when="FIRST_COMPLETED").done,
    )


def pool_slots(pool: Any) -> int:
    """Worker threads of a ``distributed.Client``'s cluster."""
    return max(1, sum(pool.nthreads().values()))


def stream_rows(
    pool: Any, base: PointBase, tasks: Sequence[PointTask], slots: int
) -> Iterator[list[dict[str, Any]]]:
    """The rows of ``tasks``, a chunk at a time as chunks finish, solved by
    :func:`run_chunk` on ``pool`` (a ``distributed.Client``, or a
    ``concurrent.futures.Executor`` for the benchmark's comparison) with ``slots`` worker
    threads. :data:`CHUNKS_PER_SLOT` chunks per slot are in flight (one running, one
    waiting, so no worker waits for the scheduler); chunk sizes follow :func:`chunk_size`
    from the points' measured seconds. A chunk whose worker failed (died, could not import
    planner) becomes error rows."""
    submit, wait_any = _pool_calls(pool)
    queue = deque(tasks)
    running: dict[Any, list[PointTask]] = {}
    seconds = 0.0  # worker seconds of the points finished so far
    finished = 0

    def fill() -> None:
        while queue and len(running) < slots * CHUNKS_PER_SLOT:
            size = chunk_size(seconds / finished if finished else None, len(queue), slots)
            chunk = [queue.popleft() for _ in range(min(size, len(queue)))]
            running[submit(run_chunk, base, chunk)] = chunk

    fill()
    while running:
        ready: list[list[dict[str, Any]]] = []
        for future in wait_any(list(running)):
            chunk = running.pop(future)
            try:
                rows = future.result()
            except Exception as exc:  # the worker died or could not run planner
                message = f"{type(exc).__name__}: {exc}"
                rows = [
                    failed_row(base, t, int(ExitCode.INTERNAL_ERROR), message, "error")
                    for t in chunk
                ]
            else:
                seconds += sum(row["worker_s"] for row in rows)
                finished += len(rows)
            ready.append(rows)
        fill()  # before handing rows on: the workers keep busy while they are stored
        yield from ready


def sweep(
    sweep_file: str | Path,
    output: str | Path | None = None,
    *,
    scheduler: str | None = None,
    workers: int | None = None,
    progress: bool = False,
    retry_failed: bool = False,
    client: Any = None,
) -> pd.DataFrame:
    """Solve every point of a sweep file on Dask and return one row per point (in point
    order). With ``output`` (a Parquet dataset folder) finished rows are stored as they
    come and a re-run skips points already there (``retry_failed``: except failed ones).
    ``client``: an existing ``distributed.Client`` to use instead of making one."""
    import pandas as pd

    loaded = load_sweep(sweep_file)
    store = ResultStore(output) if output is not None else None
    stored = store.read() if store is not None else pd.DataFrame()
    finished: set[str] = set()
    if not stored.empty:
        keep = stored if not retry_failed else stored[stored["exit_code"] == 0]
        finished = set(keep["point_key"])
    todo: dict[str, PointTask] = {}
    for task in loaded.tasks:
        if task.point_key not in finished:
            todo.setdefault(task.point_key, task)
    counts = SweepProgress(total=len(loaded.tasks))
    counts.skipped = sum(t.point_key in finished for t in loaded.tasks)
    new_rows: list[dict[str, Any]] = []
    pending: list[dict[str, Any]] = []
    last_flush = time.perf_counter()
    bar, update = _progress_bar(progress and sys.stderr.isatty(), counts.total)

    def flush() -> None:
        nonlocal last_flush
        if store is not None and pending:
            store.append(pending)
        pending.clear()
        last_flush = time.perf_counter()

    # The cluster starts before the progress bar's refresh thread: its workers are forked
    # (LOCAL_CLUSTER_CONFIG), a fork copies only the forking thread, and a lock another
    # thread held then (the console's) would stay held in the workers.
    owned = dask_client(scheduler, workers) if todo and client is None else None
    with owned or contextlib.nullcontext(client) as active, bar:
        update(counts)
        try:
            if todo:
                chunks = stream_rows(active, loaded.base, list(todo.values()), pool_slots(active))
                for done in chunks:
                    new_rows.extend(done)
                    pending.extend(done)
                    counts.done += len(done)
                    counts.failed += sum(row["exit_code"] != 0 for row in done)
                    update(counts)
                    if len(pending) >= FLUSH_ROWS or time.perf_counter() - last_flush > FLUSH_S:
                        flush()
        finally:
            flush()
    if store is not None:
        store.compact()
        rows = store.read()
    else:
        rows = pd.DataFrame(new_rows)
    return _in_point_order(loaded, rows)


def _in_point_order(loaded: Sweep, rows: pd.DataFrame) -> pd.DataFrame:
    """This sweep's rows, one per point, with this sweep's point numbers and axis values."""
    import pandas as pd

    points = pd.DataFrame(
        [
            {"point": t.point, "point_key": t.point_key}
            | {f"axis.{k}": v for k, v in t.axis_values.items()}
            for t in loaded.tasks
        ]
    )
    if rows.empty:
        return points
    ours = [c for c in points.columns if c != "point_key"]
    results = rows.drop(columns=[c for c in rows.columns if c in ours or c.startswith("axis.")])
    merged = points.merge(results, on="point_key", how="left")
    # A baseline that found no plan has objective and plan_advantage None in the plan; a
    # float column (and the Parquet store) would hold NaN there instead: keep None.
    for column in merged.columns:
        if column.startswith("baseline.") and column.endswith((".objective", ".plan_advantage")):
            merged[column] = merged[column].astype(object).where(merged[column].notna(), None)
    return merged


__all__ = [
    "PointBase",
    "PointTask",
    "ResultStore",
    "Sweep",
    "dask_client",
    "load_sweep",
    "parse_key",
    "plan_columns",
    "run_chunk",
    "run_point",
    "stream_rows",
    "sweep",
]
