"""Mutation fuzzing of the shipped scenarios: no internal error, no hang, no plan from
nonsense.

    python benchmarks/fuzz.py --mutants 2000 [--seed 0] [--timeout-s 60] [--csv out.csv]
        [--scenario scenarios/proteus/edge_cluster.toml ...] [--jobs 2]

Each mutant is one scenario file with one change: a key deleted, an unknown key added, a
value retyped, set to zero, negative, huge, NaN or infinite, a name emptied or made long or
unicode, or a data path pointed at a missing file, a folder, ``/dev/null``, ``/dev/zero``,
a FIFO, a binary, truncated or Latin-1 file. It is solved by ``planner solve`` in its own
process with a wall-clock bound. A clean outcome is exit 2 (bad input named), exit 3, 4 or
5, or exit 0 with a plan; a failure is exit 1 or a traceback (internal error), the bound
exceeded (hang), or exit 0 from a non-finite value (a plan from nonsense).

Prints the totals per outcome and per kind, and the failures; exits 0 when there is no
failure, 1 otherwise.
"""

from __future__ import annotations

import argparse
import contextlib
import copy
import json
import math
import os
import random
import shutil
import subprocess
import sys
import tempfile
import time
import tomllib
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from planner.plan import write_csv_atomic  # noqa: E402

CLEAN_EXITS = {0, 2, 3, 4, 5}
NON_FINITE = ("nan", "inf", "-inf")


@dataclass(frozen=True)
class Mutant:
    scenario: Path
    path: tuple[str | int, ...]
    how: str
    document: dict[str, Any]


@dataclass(frozen=True)
class Outcome:
    mutant: Mutant
    exit_code: int | None  # None: timed out
    seconds: float
    last_line: str

    @property
    def verdict(self) -> str:
        if self.exit_code is None:
            return "hang"
        if self.exit_code not in CLEAN_EXITS or "Traceback" in self.last_line:
            return "internal_error"
        if self.exit_code == 0 and self.mutant.how in NON_FINITE:
            return "plan_from_nonsense"
        return "clean"


def leaves(
    value: Any, path: tuple[str | int, ...] = ()
) -> Iterator[tuple[tuple[str | int, ...], Any]]:
    """Every (key path, value) in a TOML document, tables and lists included."""
    if path:
        yield path, value
    if isinstance(value, dict):
        for key, item in value.items():
            yield from leaves(item, (*path, key))
    elif isinstance(value, list):
        for i, item in enumerate(value):
            yield from leaves(item, (*path, i))


def _set(document: dict[str, Any], path: tuple[str | int, ...], value: Any) -> None:
    target: Any = document
    for part in path[:-1]:
        target = target[part]
    target[path[-1]] = value


def _delete(document: dict[str, Any], path: tuple[str | int, ...]) -> None:
    target: Any = document
    for part in path[:-1]:
        target = target[part]
    del target[path[-1]]


class Files:
    """Odd data files in a private folder (removed at the end)."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        fifo = folder / "fifo"
        os.mkfifo(fifo)
        (folder / "binary.dat").write_bytes(bytes(range(256)) * 64)
        (folder / "latin1.txt").write_bytes("caf\xe9,1,2\n".encode("latin-1") * 10)
        (folder / "empty.txt").write_text("")
        (folder / "folder").mkdir()
        self.paths = {
            "missing": str(folder / "missing.csv"),
            "folder": str(folder / "folder"),
            "dev_null": "/dev/null",
            "dev_zero": "/dev/zero",
            "fifo": str(fifo),
            "binary": str(folder / "binary.dat"),
            "latin1": str(folder / "latin1.txt"),
            "empty": str(folder / "empty.txt"),
        }

    def truncated(self, original: Path) -> str:
        target = self.folder / f"truncated_{original.name}"
        data = original.read_bytes() if original.is_file() else b""
        target.write_bytes(data[: len(data) // 2])
        return str(target)


def _absolute_paths(document: Any, base: Path) -> Any:
    """Data paths made absolute, so a mutant written elsewhere reads the same files."""
    if isinstance(document, dict):
        return {k: _absolute_paths(v, base) for k, v in document.items()}
    if isinstance(document, list):
        return [_absolute_paths(v, base) for v in document]
    if isinstance(document, str) and ("/" in document or "." in document) and len(document) < 256:
        candidate = (base / document).resolve()
        with contextlib.suppress(OSError):  # not a path at all (e.g. a long description)
            if candidate.exists():
                return str(candidate)
    return document


def mutants(scenario: Path, files: Files, rng: random.Random) -> Iterator[Mutant]:
    """Every single-change mutant of ``scenario``, in a seeded random order."""
    base = _absolute_paths(tomllib.loads(scenario.read_text()), scenario.parent)
    found: list[Mutant] = []

    def add(path: tuple[str | int, ...], how: str, value: Any = None, delete: bool = False) -> None:
        document = copy.deepcopy(base)
        if delete:
            _delete(document, path)
        else:
            _set(document, path, value)
        found.append(Mutant(scenario, path, how, document))

    for path, value in list(leaves(base)):
        add(path, "deleted", delete=True)
        if isinstance(value, dict):
            add((*path, "no_such_key"), "unknown_key", 1)
        if isinstance(value, bool):
            add(path, "retyped", "yes")
        elif isinstance(value, int | float):
            for how, new in (
                ("zero", 0),
                ("negative", -abs(value) - 1),
                ("huge", 1e30),
                ("nan", math.nan),
                ("inf", math.inf),
                ("-inf", -math.inf),
                ("retyped", "ten"),
            ):
                add(path, how, new)
        elif isinstance(value, str):
            if Path(value).is_absolute() and Path(value).exists():
                for how, new in files.paths.items():
                    add(path, f"path_{how}", new)
                add(path, "path_truncated", files.truncated(Path(value)))
            else:
                for how, new in (("empty", ""), ("unicode", "名前-é"), ("long", "x" * 10_000)):
                    add(path, how, new)
                add(path, "retyped", 3)
        elif isinstance(value, list):
            add(path, "empty_list", [])
            add(path, "retyped", "a list")
    rng.shuffle(found)
    yield from found


def _toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        if math.isnan(value):
            return "nan"
        if math.isinf(value):
            return "inf" if value > 0 else "-inf"
        return repr(value)
    if isinstance(value, int):
        return str(value)
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, list):
        return "[" + ", ".join(_toml_value(v) for v in value) + "]"
    if isinstance(value, dict):
        return (
            "{" + ", ".join(f"{json.dumps(k)} = {_toml_value(v)}" for k, v in value.items()) + "}"
        )
    raise TypeError(type(value).__name__)


def to_toml(document: dict[str, Any]) -> str:
    """The document as TOML: top-level scalars as keys, every table inline (valid TOML for
    any nesting, including NaN and infinities)."""
    return "".join(f"{json.dumps(k)} = {_toml_value(v)}\n" for k, v in document.items())


def run(mutant: Mutant, folder: Path, number: int, timeout_s: float) -> Outcome:
    path = folder / f"mutant_{number}.toml"
    path.write_text(to_toml(mutant.document), encoding="utf-8")
    command = [
        sys.executable,
        str(ROOT / "cli.py"),
        "solve",
        str(path),
        "--format",
        "json",
        "--time-limit",
        str(min(10.0, timeout_s / 2)),
    ]
    started = time.perf_counter()
    try:
        done = subprocess.run(
            command,
            capture_output=True,
            text=True,
            timeout=timeout_s,
            stdin=subprocess.DEVNULL,
            cwd=folder,
            check=False,
            env={**os.environ, "PYTHONPATH": str(ROOT)},
        )
    except subprocess.TimeoutExpired:
        return Outcome(mutant, None, time.perf_counter() - started, "(timed out)")
    lines = [line for line in done.stderr.splitlines() if line.strip()]
    last = "Traceback: " + lines[-1] if "Traceback" in done.stderr else (lines[-1] if lines else "")
    return Outcome(mutant, done.returncode, time.perf_counter() - started, last[:300])


def _shown(path: Path) -> str:
    """A scenario's path relative to the project when it is inside it."""
    return str(path.relative_to(ROOT)) if path.is_relative_to(ROOT) else str(path)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mutants", type=int, default=200, help="how many mutants in all")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--timeout-s", type=float, default=60.0, help="wall bound per mutant")
    parser.add_argument("--jobs", type=int, default=2, help="mutants run at once")
    parser.add_argument("--scenario", type=Path, action="append", help="default: all shipped")
    parser.add_argument("--csv", type=Path)
    parser.add_argument("--json", action="store_true", help="print the totals as JSON")
    args = parser.parse_args(argv)
    scenarios = (
        [p.resolve() for p in args.scenario]
        if args.scenario
        else sorted((ROOT / "scenarios").glob("*/*.toml"))
    )
    reference = ROOT.parent / "shared" / "reference"
    if not reference.is_dir():
        scenarios = [s for s in scenarios if "shared/reference" not in s.read_text()]
    rng = random.Random(args.seed)
    folder = Path(tempfile.mkdtemp(prefix="planner-fuzz-"))
    try:
        files = Files(folder)
        pools = [list(mutants(s, files, rng)) for s in scenarios]
        chosen: list[Mutant] = []
        while len(chosen) < args.mutants and any(pools):  # round robin over scenarios
            for pool in pools:
                if pool and len(chosen) < args.mutants:
                    chosen.append(pool.pop())
        with ThreadPoolExecutor(max_workers=args.jobs) as pool_executor:
            outcomes = list(
                pool_executor.map(
                    lambda item: run(item[1], folder, item[0], args.timeout_s), enumerate(chosen)
                )
            )
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    totals = Counter(o.verdict for o in outcomes)
    failures = [o for o in outcomes if o.verdict != "clean"]
    summary = {"mutants": len(outcomes), "scenarios": len(scenarios), **dict(totals)}
    per_kind: dict[str, Counter[str]] = {}
    for o in outcomes:  # scenarios/<kind>/<name>.toml
        per_kind.setdefault(o.mutant.scenario.parent.name, Counter())[o.verdict] += 1
    if args.json:
        print(
            json.dumps(
                {
                    **summary,
                    "per_kind": {k: dict(v) for k, v in sorted(per_kind.items())},
                    "failures": [
                        {
                            "scenario": _shown(o.mutant.scenario),
                            "key": ".".join(map(str, o.mutant.path)),
                            "how": o.mutant.how,
                            "exit": o.exit_code,
                            "verdict": o.verdict,
                            "message": o.last_line,
                        }
                        for o in failures
                    ],
                },
                indent=2,
            )
        )
    else:
        print(" ".join(f"{k}={v}" for k, v in summary.items()))
        for kind, counts in sorted(per_kind.items()):
            print(f"  {kind}: " + " ".join(f"{k}={v}" for k, v in sorted(counts.items())))
        for o in failures:
            print(
                f"{o.verdict}: {_shown(o.mutant.scenario)} "
                f"{'.'.join(map(str, o.mutant.path))} {o.mutant.how} -> exit {o.exit_code}: "
                f"{o.last_line}"
            )
    if args.csv:
        write_csv_atomic(
            args.csv,
            [
                {
                    "scenario": _shown(o.mutant.scenario),
                    "key": ".".join(map(str, o.mutant.path)),
                    "how": o.mutant.how,
                    "exit_code": o.exit_code,
                    "verdict": o.verdict,
                    "seconds": round(o.seconds, 3),
                    "message": o.last_line,
                }
                for o in outcomes
            ],
        )
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
