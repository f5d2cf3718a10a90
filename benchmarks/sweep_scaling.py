"""Sweep throughput: Dask against a plain process pool, and 1 against 2 workers.

    python benchmarks/sweep_scaling.py [--points 1000] [--baselines] [--csv out.csv]

Sweeps ``scenarios/proteus/edge_cluster.toml`` over a joint Latin hypercube of the resnet
demand (500-5,000 queries/s) and the T4 and L4 device counts (0-6 and 0-4): ``--points``
points, solved three ways on the same points, with cluster start-up counted:

* ``dask x2``: :func:`planner.sweep` on a LocalCluster of 2 single-threaded processes;
* ``pool x2``: the same point function (:func:`planner.sweeps.run_point`) in a
  ``concurrent.futures.ProcessPoolExecutor`` of 2 processes;
* ``dask x1``: a LocalCluster of 1 process.

Prints wall seconds and points per second for each, the Dask overhead (dask x2 / pool x2)
and the speed-up (dask x1 / dask x2). Targets (issue 13): 1,000 points in at most 60 s on
2 cores, overhead at most 10%, speed-up near 2.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import planner  # noqa: E402
from planner.plan import write_csv_atomic  # noqa: E402
from planner.sweeps import load_sweep, run_point  # noqa: E402

SCENARIO = ROOT / "scenarios" / "proteus" / "edge_cluster.toml"
TARGET_S = 60.0  # issue 13: 1,000 points within a minute on 2 cores
SWEEP = """
scenario = "{scenario}"
combine = "zip"
seed = 0
baselines = {baselines}
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


def _pool(path: Path, workers: int) -> float:
    started = time.perf_counter()
    tasks = load_sweep(path).tasks
    with ProcessPoolExecutor(workers) as pool:
        rows = list(pool.map(run_point, tasks, chunksize=1))
    assert len(rows) == len(tasks)
    return time.perf_counter() - started


def _dask(path: Path, workers: int) -> float:
    started = time.perf_counter()
    rows = planner.sweep(path, workers=workers)
    assert len(rows) == len(load_sweep(path).tasks)
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--points", type=int, default=1000)
    parser.add_argument("--baselines", action="store_true", help="Also solve the baselines.")
    parser.add_argument("--csv", type=Path, help="Write the figures here.")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "sweep.toml"
        path.write_text(
            SWEEP.format(
                scenario=SCENARIO,
                points=args.points,
                baselines="true" if args.baselines else "false",
            )
        )
        load = os.getloadavg()[0]
        runs = {
            "dask x2": _dask(path, 2),
            "pool x2": _pool(path, 2),
            "dask x1": _dask(path, 1),
        }
    rows = [
        {
            "run": name,
            "points": args.points,
            "wall_s": round(s, 2),
            "points_per_s": round(args.points / s, 2),
        }
        for name, s in runs.items()
    ]
    for row in rows:
        print(f"{row['run']}: {row['wall_s']:.1f} s, {row['points_per_s']:.1f} points/s")
    overhead = runs["dask x2"] / runs["pool x2"] - 1
    speedup = runs["dask x1"] / runs["dask x2"]
    scaled = runs["dask x2"] * 1000 / args.points
    print(f"dask overhead against the pool: {overhead:+.1%} (target <= +10%)")
    print(f"speed-up 1 -> 2 workers: {speedup:.2f}x (target near 2)")
    print(f"1,000 points on 2 workers: {scaled:.0f} s (target <= {TARGET_S:.0f} s)")
    print(f"load average at the start: {load:.1f} on {os.cpu_count()} cores")
    if args.csv:
        write_csv_atomic(args.csv, rows)


if __name__ == "__main__":
    main()
