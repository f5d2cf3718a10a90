"""Trace files for ``planner simulate --trace FILE``: one format for every serving kind.

A trace is a CSV file with a header, one request per row, in arrival order::

    time_s,class
    0.0132,resnet50
    0.0150,bert-base

``time_s`` (required, first column) is the arrival time in seconds from the start of the
replay: finite, >= 0, at most :data:`MAX_TRACE_SPAN_S`, and non-decreasing down the file.
``class`` (optional, second column) is the request's class as the kind names it (Proteus:
the family; PPipe: the model; cellular and LLM: the length bucket's label; BATCH: one class
per hour, so a BATCH trace has no ``class`` column). Without it, each request's class is
drawn from the scenario's class mix. No other column, no blank line; at most
:data:`MAX_TRACE_ROWS` rows and 1 GiB (the project's data-file bound,
:data:`formulations.types.DataFile`).

:meth:`TraceFile.read` validates the whole file once, streamed in blocks of
:data:`READ_ROWS` rows (an error names the file, the row, i.e. the line of the file
counting the header as row 1, the column and the expectation: exit 2), and keeps only the
count of requests per second and class. :meth:`TraceFile.chunks` then streams the arrivals
into the replay core: at ``rate_scale`` 1 exactly the file's (those before ``until_s``); at
any other scale a Poisson stream whose rate in each second and class is the file's count
times the scale (:func:`formulations.replay.arrivals.stepped_classes`), so the trace keeps
its shape over time while its volume scales.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
from numpy.typing import NDArray
from pydantic import TypeAdapter, ValidationError

from formulations.replay.arrivals import CHUNK, Chunk, Mix, stepped_classes
from formulations.types import DataFile, InputError, SimulateOptions

TIME, CLASS = "time_s", "class"  # the columns
MAX_TRACE_ROWS = 50_000_000  # requests in one trace file, at most
MAX_TRACE_SPAN_S = 1e6  # s, the latest arrival time (11.6 days; per-second counts are kept)
READ_ROWS = 65_536  # rows parsed at a time
STEP_S = 1.0  # s, the step of the per-second counts a scaled trace is redrawn from
EXPECTED_HEADER = "a header `time_s` or `time_s,class`"


@dataclass(frozen=True)
class TraceFile:
    """A validated trace file and its requests per second and class."""

    path: Path
    classes: tuple[str, ...]  # the kind's class names; a row's class indexes into them
    has_class: bool  # the file names each request's class
    rows: int
    last_s: float  # the latest arrival time (0 without rows)
    per_second: NDArray[np.int64]  # [second, class] arrivals (one column without classes)

    @classmethod
    def read(cls, path: Path, classes: Sequence[str] | None) -> TraceFile:
        """Validate ``path`` (exit 2 naming the row, column and expectation); ``classes``
        None: the kind takes no class column (BATCH: the interval of the arrival time)."""
        try:
            resolved = TypeAdapter(DataFile).validate_python(Path(path))
        except ValidationError as exc:
            raise InputError(path, "--trace", _pydantic_message(exc)) from None
        known = {name: k for k, name in enumerate(classes or ())}
        header = _header(resolved)
        has_class = header == [TIME, CLASS]
        if has_class and classes is None:
            raise InputError(
                resolved,
                "row 1 (header)",
                "a header `time_s` without a class column (a request's class comes from "
                "its arrival time)",
                ",".join(header),
            )
        width = len(known) if has_class else 1
        per_second = np.zeros((0, width), dtype=np.int64)
        rows, last_s = 0, 0.0
        for first_row, frame in _blocks(resolved):
            times = _times(resolved, first_row, frame[TIME], last_s)
            rows += len(times)
            if rows > MAX_TRACE_ROWS:
                raise InputError(
                    resolved,
                    f"row {first_row + len(times) - 1}",
                    f"at most {MAX_TRACE_ROWS:,} rows",
                )
            if has_class:
                klass = _classes(resolved, first_row, frame[CLASS], known)
            else:
                klass = np.zeros(len(times), dtype=np.int64)
            if len(times):
                last_s = float(times[-1])
                seconds = (times // STEP_S).astype(np.int64)
                if seconds[-1] >= len(per_second):
                    grown = np.zeros((int(seconds[-1]) + 1, width), dtype=np.int64)
                    grown[: len(per_second)] = per_second
                    per_second = grown
                np.add.at(per_second, (seconds, klass), 1)
        return cls(resolved, tuple(known), has_class, rows, last_s, per_second)

    def expected_requests(self, rate_scale: float = 1.0, until_s: float = math.inf) -> float:
        """Arrivals a replay of ``rate_scale`` up to ``until_s`` is expected to hold (exact
        at scale 1 and whole seconds; the part of a second is pro rata)."""
        counts = self.per_second.sum(axis=1)
        whole = min(len(counts), int(until_s // STEP_S)) if math.isfinite(until_s) else len(counts)
        total = float(counts[:whole].sum())
        if whole < len(counts):
            total += float(counts[whole]) * (until_s - whole * STEP_S) / STEP_S
        return rate_scale * total

    def chunks(
        self,
        rng: np.random.Generator,
        mix: Mix,
        rate_scale: float = 1.0,
        until_s: float = math.inf,
        chunk: int = CHUNK,
    ) -> Iterator[Chunk]:
        """The replay's arrivals: the file's before ``until_s`` (``rate_scale`` 1), else a
        Poisson stream of the file's per-second, per-class rates x ``rate_scale``. Classes
        the file does not give are drawn by ``mix``; sizes and routes always are."""
        if rate_scale != 1.0:
            steps = self.per_second.astype(float) * rate_scale / STEP_S
            if math.isfinite(until_s):
                steps = steps[: math.ceil(until_s / STEP_S)]
            for part in stepped_classes(steps, STEP_S, rng, Mix(), chunk):
                part = _until(part, until_s)
                if not self.has_class:
                    klass, size, route = mix.label(len(part.time_s), rng)
                    part = Chunk(part.time_s, klass, size, route)
                else:
                    part = Chunk(part.time_s, part.klass, *mix.label_classes(part.klass, rng))
                if len(part.time_s):
                    yield part
            return
        codes = {name: k for k, name in enumerate(self.classes)}
        for _, frame in _blocks(self.path):
            times = frame[TIME].to_numpy(dtype=float)
            times = times[times < until_s]
            if not len(times):
                return
            for lo in range(0, len(times), chunk):
                time_s = times[lo : lo + chunk]
                if self.has_class:
                    names = frame[CLASS].iloc[lo : lo + len(time_s)]
                    klass = np.asarray(names.map(codes).to_numpy(), dtype=np.int64)
                    yield Chunk(time_s, klass, *mix.label_classes(klass, rng))
                else:
                    yield Chunk(time_s, *mix.label(len(time_s), rng))


def check_options(options: SimulateOptions) -> None:
    """Exit 2 unless ``--rate-scale`` and ``--duration-s`` are positive (0 replays nothing)."""
    if options.rate_scale <= 0 or not math.isfinite(options.rate_scale):
        raise InputError(None, "--rate-scale", "a positive finite factor", options.rate_scale)
    if options.duration_s is not None and not 0 < options.duration_s <= MAX_TRACE_SPAN_S:
        raise InputError(
            None,
            "--duration-s",
            f"a positive span of at most {MAX_TRACE_SPAN_S:g} s",
            options.duration_s,
        )


def trace_of(options: SimulateOptions, classes: Sequence[str] | None) -> TraceFile | None:
    """The validated ``--trace`` file (None without one), after :func:`check_options`."""
    check_options(options)
    return None if options.trace is None else TraceFile.read(options.trace, classes)


def _until(part: Chunk, until_s: float) -> Chunk:
    keep = part.time_s < until_s
    if keep.all():
        return part
    return Chunk(part.time_s[keep], part.klass[keep], part.size[keep], part.route[keep])


def _pydantic_message(exc: ValidationError) -> str:
    return "; ".join(str(e["msg"]).removeprefix("Value error, ") for e in exc.errors())


def _header(path: Path) -> list[str]:
    with path.open("r", encoding="utf-8", errors="replace") as handle:
        first = handle.readline().strip("\r\n")
    header = [h.strip() for h in first.split(",")]
    if header not in ([TIME], [TIME, CLASS]):
        raise InputError(path, "row 1 (header)", EXPECTED_HEADER, first[:80])
    return header


def _blocks(path: Path) -> Iterator[tuple[int, pd.DataFrame]]:
    """(row number of the block's first row, the block as strings), the header being row 1."""
    row = 2
    try:
        reader = pd.read_csv(
            path,
            chunksize=READ_ROWS,
            dtype=str,
            na_filter=False,
            skip_blank_lines=False,
            skipinitialspace=True,
            encoding_errors="replace",
        )
        for frame in reader:
            yield row, frame
            row += len(frame)
    except pd.errors.ParserError as exc:
        found = re.search(r"Expected (\d+) fields? in line (\d+), saw (\d+)", str(exc))
        if found is None:
            raise InputError(path, f"row {row} or later", "CSV rows", str(exc)) from None
        want, line, saw = found.groups()
        raise InputError(
            path, f"row {line}", f"{want} field(s), as the header has", f"{saw} fields"
        ) from None


def _times(path: Path, first_row: int, column: pd.Series, previous_s: float) -> NDArray[np.float64]:
    """The block's arrival times, checked: numbers, finite, in range, non-decreasing."""
    times = pd.to_numeric(column, errors="coerce").to_numpy(dtype=float)
    bad = ~np.isfinite(times) | (times < 0) | (times > MAX_TRACE_SPAN_S)
    if bad.any():
        i = int(np.argmax(bad))
        raise InputError(
            path,
            f"row {first_row + i}, column {TIME}",
            f"a finite number of seconds in [0, {MAX_TRACE_SPAN_S:g}]",
            column.iloc[i],
        )
    back = np.diff(np.concatenate(([previous_s], times))) < 0
    if back.any():
        i = int(np.argmax(back))
        raise InputError(
            path,
            f"row {first_row + i}, column {TIME}",
            f"arrival times in non-decreasing order (the row before is at "
            f"{times[i - 1] if i else previous_s:g} s)",
            column.iloc[i],
        )
    return times


def _classes(
    path: Path, first_row: int, column: pd.Series, known: dict[str, int]
) -> NDArray[np.int64]:
    codes = column.map(known)
    missing = codes.isna().to_numpy()
    if missing.any():
        i = int(np.argmax(missing))
        raise InputError(
            path,
            f"row {first_row + i}, column {CLASS}",
            "one of the scenario's classes: " + ", ".join(known),
            column.iloc[i],
        )
    return np.asarray(codes.to_numpy(), dtype=np.int64)
