"""Exactness of the sweep speed-ups: the same optimum, point by point, as an earlier commit.

    python benchmarks/sweep_exactness.py [--points 200] [--against REV] [--rounds 4]
                                         [--csv out.csv]

Solves the points of ``benchmarks/sweep_scaling.py`` (its joint Latin hypercube over
``scenarios/proteus/edge_cluster.toml``, no baselines) with this tree's code and with the
code of git revision ``--against`` (default :data:`BEFORE`, the last commit before the
speed work of issue 13: the per-process latency cache, the shared device classes of the
Proteus MILP and its HiGHS options), each point in both, and compares them: the status,
and the objective within the scenario's relative ``mip_gap`` (both solves prove their
optimum to that gap, so a larger difference is a wrong optimum). It also counts the points
whose headline numbers differ at the same objective (ties: another optimal deployment),
and gives each side's mean CPU seconds per point (``worker_cpu_s``; the two sides run in
alternating rounds of the points, one process per round, so load changes hit both).

Exit 0 when every point matches, 1 otherwise (the mismatches are listed).
"""

from __future__ import annotations

import argparse
import itertools
import json
import math
import os
import subprocess
import sys
import tarfile
import tempfile
import tomllib
from io import BytesIO
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
BEFORE = "592a618"  # the last commit before issue 13's sweep speed work
SCENARIO = ROOT / "scenarios" / "proteus" / "edge_cluster.toml"


def _export(revision: str, folder: Path) -> Path:
    """The tree of ``revision`` (its Python packages) written under ``folder``."""
    archive = subprocess.run(
        ["git", "-C", str(ROOT), "archive", revision, "planner", "formulations", "cost_models"],
        check=True,
        capture_output=True,
    ).stdout
    with tarfile.open(fileobj=BytesIO(archive)) as tar:
        tar.extractall(folder, filter="data")
    return folder


def _solve(tree: Path, sweep: Path, first: int, last: int) -> list[dict[str, Any]]:
    """Points ``first`` to ``last`` (excluded) of ``sweep`` solved in a fresh process with
    the planner of ``tree`` (its stdout: one JSON row per point)."""
    env = {**os.environ, "PYTHONPATH": str(tree)}
    out = subprocess.run(
        [sys.executable, __file__, "--worker", str(sweep), str(first), str(last)],
        check=True,
        capture_output=True,
        text=True,
        env=env,
        cwd=tree,
    ).stdout
    return [json.loads(line) for line in out.splitlines() if line.startswith("{")]


def _worker(sweep: Path, first: int, last: int) -> None:
    """In the child: solve the points and print their rows (whichever planner is first on
    ``PYTHONPATH``)."""
    from planner.sweeps import load_sweep, run_point

    loaded = load_sweep(sweep)
    for task in loaded.tasks[first:last]:
        row = run_point(loaded.base, task)
        keep = {
            k: v
            for k, v in row.items()
            if k in ("point", "status", "objective", "exit_code", "error", "worker_cpu_s")
            or k.startswith("headline.")
        }
        print(json.dumps(keep, default=str), flush=True)


def _close(a: float | None, b: float | None, gap: float) -> bool:
    if a is None or b is None:
        return a is b
    return abs(a - b) <= gap * max(1.0, abs(a), abs(b))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--points", type=int, default=200)
    parser.add_argument("--against", default=BEFORE, help="git revision to compare with")
    parser.add_argument("--rounds", type=int, default=4, help="alternating rounds per side")
    parser.add_argument("--csv", type=Path, help="write the per-point comparison here")
    parser.add_argument("--worker", nargs=3, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        _worker(Path(args.worker[0]), int(args.worker[1]), int(args.worker[2]))
        return 0
    sys.path.insert(0, str(ROOT))  # this tree's planner, in this process only
    from benchmarks.sweep_scaling import SWEEP
    from planner.plan import write_csv_atomic

    gap = float(tomllib.loads(SCENARIO.read_text())["solver"]["mip_gap"])
    load = os.getloadavg()[0]
    with tempfile.TemporaryDirectory() as folder:
        sweep = Path(folder) / "sweep.toml"
        sweep.write_text(
            SWEEP.format(scenario=SCENARIO, points=args.points, baselines="false", settings="")
        )
        old_tree = _export(args.against, Path(folder) / "old")
        bounds = [round(args.points * i / args.rounds) for i in range(args.rounds + 1)]
        old: list[dict[str, Any]] = []
        new: list[dict[str, Any]] = []
        for i, (first, last) in enumerate(itertools.pairwise(bounds)):
            sides = [(old, old_tree), (new, ROOT)]
            for rows, tree in sides if i % 2 == 0 else sides[::-1]:
                rows.extend(_solve(tree, sweep, first, last))
    if len(old) != args.points or len(new) != args.points:
        print(f"expected {args.points} rows per side, got {len(old)} and {len(new)}")
        return 1
    mismatches: list[str] = []
    ties = 0
    worst = 0.0
    table: list[dict[str, Any]] = []
    for a, b in zip(old, new, strict=True):
        same = a["status"] == b["status"] and _close(a["objective"], b["objective"], gap)
        if a["objective"] is not None and b["objective"] is not None:
            worst = max(worst, abs(a["objective"] - b["objective"]))
        headline = sorted(k for k in a if k.startswith("headline."))
        tied = same and any(
            isinstance(a[k], float) and not _close(a[k], b.get(k), 1e-9) for k in headline
        )
        ties += tied
        if not same:
            mismatches.append(
                f"point {a['point']}: {a['status']} {a['objective']} ({args.against}) vs "
                f"{b['status']} {b['objective']} (this tree) {b['error']}"
            )
        table.append(
            {
                "point": a["point"],
                "status_before": a["status"],
                "status_after": b["status"],
                "objective_before": a["objective"],
                "objective_after": b["objective"],
                "same_optimum": same,
                "tied_deployment_differs": tied,
                "cpu_s_before": a["worker_cpu_s"],
                "cpu_s_after": b["worker_cpu_s"],
            }
        )
    cpu_old = sum(r["worker_cpu_s"] for r in old) / len(old)
    cpu_new = sum(r["worker_cpu_s"] for r in new) / len(new)
    print(
        f"{args.points - len(mismatches)}/{args.points} points with the same optimum "
        f"(status, objective within mip_gap {gap:g}); largest objective difference "
        f"{worst:.3g}; {ties} with another tied deployment (headline numbers differ)"
    )
    print(
        f"CPU per point: {cpu_old * 1000:.1f} ms ({args.against}) -> {cpu_new * 1000:.1f} ms "
        f"(this tree); load average (1 min) {load:.1f} at the start, "
        f"{os.getloadavg()[0]:.1f} at the end"
    )
    for line in mismatches:
        print(line)
    if args.csv:
        write_csv_atomic(args.csv, table)
    return 0 if not mismatches and not math.isnan(worst) else 1


if __name__ == "__main__":
    sys.exit(main())
