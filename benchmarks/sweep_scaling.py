"""Sweep throughput: Dask against a plain process pool, and 1 against 2 workers.

    python benchmarks/sweep_scaling.py [--points 1000] [--baselines] [--set KEY=VALUE]
                                       [--csv out.csv]

Sweeps ``scenarios/proteus/edge_cluster.toml`` over a joint Latin hypercube of the resnet
demand (500-5,000 queries/s) and the T4 and L4 device counts (0-6 and 0-4): ``--points``
points, solved three ways on the same points, with cluster start-up counted:

* ``dask x2``: :func:`planner.sweep` on a LocalCluster of 2 single-threaded processes;
* ``pool x2``: the same chunks of points (:func:`planner.sweeps.stream_rows`, chunk sizes
  from :func:`planner.sweeps.chunk_size`) in a ``concurrent.futures.ProcessPoolExecutor``
  of 2 processes;
* ``dask x1``: a LocalCluster of 1 process.

Prints, per run, wall seconds, points per second, the CPU seconds of the run (this
process and its reaped children: workers, scheduling and start-up) and the workers' mean
CPU seconds per point (``worker_cpu_s``: load-independent); then the Dask overhead (dask
x2 / pool x2), the speed-up (dask x1 / dask x2) and the 1-minute load average at the start
of each run. ``--set solver.options.mip_allow_restart=true`` (a TOML value) adds a fixed
override to every point, as a sweep file's ``set`` does (this one restores HiGHS's default,
which the Proteus model turns off). Targets (issue 13): 1,000 points in at most 60 s on 2
cores, overhead at most 10%, speed-up near 2. ``benchmarks/sweep_exactness.py`` checks
that these points keep the optimum of the code before the speed work.
"""

from __future__ import annotations

import argparse
import os
import resource
import sys
import tempfile
import time
import tomllib
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import planner  # noqa: E402
from planner.plan import write_csv_atomic  # noqa: E402
from planner.sweeps import load_sweep, stream_rows  # noqa: E402

SCENARIO = ROOT / "scenarios" / "proteus" / "edge_cluster.toml"
TARGET_S = 60.0  # issue 13: 1,000 points within a minute on 2 cores
SWEEP = """
scenario = "{scenario}"
combine = "zip"
seed = 0
baselines = {baselines}
set = {{ {settings} }}
[[axes]]
key = "families.resnet.demand_qps"
low = 500
high = 5000
samples = {points}
[[axes]]
key = "devices.T4.count"
low = 0
high = 6
samples = {points}
integer = true
[[axes]]
key = "devices.L4.count"
low = 0
high = 4
samples = {points}
integer = true
"""


@dataclass(frozen=True)
class Run:
    wall_s: float
    cpu_s: float  # this process and its reaped children (the workers), user + sys
    worker_cpu_s: float  # mean CPU seconds a worker spent per point
    load: float  # 1-minute load average at the start


def _cpu_s() -> float:
    own = resource.getrusage(resource.RUSAGE_SELF)
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def _timed(solve: Any, path: Path, workers: int) -> Run:
    load = os.getloadavg()[0]
    cpu = _cpu_s()
    started = time.perf_counter()
    worker_cpu_s = solve(path, workers)
    return Run(time.perf_counter() - started, _cpu_s() - cpu, worker_cpu_s, load)


def _pool(path: Path, workers: int) -> float:
    loaded = load_sweep(path)
    with ProcessPoolExecutor(workers) as pool:
        rows = [
            row for chunk in stream_rows(pool, loaded.base, loaded.tasks, workers) for row in chunk
        ]
    assert len(rows) == len(loaded.tasks)
    _no_failures(pd.DataFrame(rows), "pool")
    return sum(row["worker_cpu_s"] for row in rows) / len(rows)


def _dask(path: Path, workers: int) -> float:
    rows = planner.sweep(path, workers=workers)
    assert len(rows) == len(load_sweep(path).tasks)
    _no_failures(rows, "dask")
    return float(rows["worker_cpu_s"].mean())


def _no_failures(rows: pd.DataFrame, run: str) -> None:
    failed = rows[rows["exit_code"] != 0]
    if not failed.empty:
        first = failed.iloc[0]
        raise SystemExit(
            f"{run}: {len(failed)} points failed; point {first['point']}: {first['error']}"
        )


def _setting(text: str) -> str:
    """``KEY=VALUE`` as an entry of the sweep's ``set`` table (VALUE is TOML)."""
    key, sep, value = text.partition("=")
    if not sep:
        raise argparse.ArgumentTypeError(f"KEY=VALUE, got {text!r}")
    entry = f'"{key.strip()}" = {value.strip()}'
    try:
        tomllib.loads(f"set = {{ {entry} }}")
    except tomllib.TOMLDecodeError as exc:
        raise argparse.ArgumentTypeError(f"a TOML value after '=' ({exc})") from None
    return entry


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--points", type=int, default=1000)
    parser.add_argument("--baselines", action="store_true", help="Also solve the baselines.")
    parser.add_argument(
        "--set",
        dest="settings",
        type=_setting,
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="A fixed override of every point (repeatable).",
    )
    parser.add_argument("--csv", type=Path, help="Write the figures here.")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "sweep.toml"
        path.write_text(
            SWEEP.format(
                scenario=SCENARIO,
                points=args.points,
                baselines="true" if args.baselines else "false",
                settings=", ".join(args.settings),
            )
        )
        runs = {
            "dask x2": _timed(_dask, path, 2),
            "pool x2": _timed(_pool, path, 2),
            "dask x1": _timed(_dask, path, 1),
        }
    rows = [
        {
            "run": name,
            "points": args.points,
            "settings": "; ".join(args.settings),
            "wall_s": round(run.wall_s, 2),
            "points_per_s": round(args.points / run.wall_s, 2),
            "cpu_s": round(run.cpu_s, 2),
            "cpu_s_per_point": round(run.cpu_s / args.points, 4),
            "worker_cpu_s_per_point": round(run.worker_cpu_s, 4),
            "load_at_start": round(run.load, 2),
        }
        for name, run in runs.items()
    ]
    for row in rows:
        print(
            f"{row['run']}: {row['wall_s']:.1f} s, {row['points_per_s']:.1f} points/s, "
            f"CPU {row['cpu_s']:.1f} s ({row['cpu_s_per_point']:.3f} s/point; workers "
            f"{row['worker_cpu_s_per_point']:.3f} s/point), load {row['load_at_start']:.1f}"
        )
    overhead = runs["dask x2"].wall_s / runs["pool x2"].wall_s - 1
    cpu_overhead = runs["dask x2"].cpu_s / runs["pool x2"].cpu_s - 1
    speedup = runs["dask x1"].wall_s / runs["dask x2"].wall_s
    scaled = runs["dask x2"].wall_s * 1000 / args.points
    print(
        f"dask overhead against the pool: {overhead:+.1%} wall (target <= +10%), "
        f"{cpu_overhead:+.1%} CPU"
    )
    print(f"speed-up 1 -> 2 workers: {speedup:.2f}x (target near 2)")
    print(f"1,000 points on 2 workers: {scaled:.0f} s (target <= {TARGET_S:.0f} s)")
    print(f"load average (1 min) at the end: {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")
    if args.csv:
        write_csv_atomic(args.csv, rows)


if __name__ == "__main__":
    main()
