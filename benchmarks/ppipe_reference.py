"""Run the PPipe formulation on PPipe's published planning instances and write a CSV.

    python benchmarks/ppipe_reference.py --set maf19 --csv out.csv [--mode compat|general]
        [--time-limit S] [--limit N]

Reads ``../shared/reference/ppipe/instances.json`` (relative to the project root) and the
chunk latency tables next to it; every instance of the set is planned one at a time with
HiGHS (one thread), then verified independently. Columns: ``instance`` (key in
instances.json), ``objective`` (min over models of throughput / weight, requests/s),
``throughput_<i>`` per model in instance order, ``np_objective``, ``dart_r_objective``,
``low_class_gpu_share``, ``build_s`` (design enumeration and model building), ``solve_s``
(the planning MILP only, not the baselines; wall clock), ``status``, ``gap``, and
``plan_cpu_s`` (process CPU time of the whole plan, baselines included: on a shared
machine it moves far less than wall-clock times). A summary (median and max solve time,
optimality count, PPipe / NP and PPipe / DART-r ratios) goes to stdout.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from formulations.ppipe import FORMULATION  # noqa: E402
from formulations.ppipe.inputs import PPipeInputs, instance_inputs, load_instances  # noqa: E402
from formulations.types import SolverSettings  # noqa: E402
from planner.backends import make_solver  # noqa: E402
from planner.plan import write_csv_atomic  # noqa: E402

REFERENCE = ROOT.parent / "shared" / "reference" / "ppipe"


# Same HiGHS setting as the shipped PPipe scenarios: restarts after root presolve double the
# median solve time on these design MILPs (maf21 0.90 s -> 0.42 s, identical optima).
HIGHS_OPTIONS = {"mip_allow_restart": False}


def run_instance(
    key: str, instance: dict[str, Any], mode: str, time_limit_s: float | None
) -> dict[str, Any]:
    raw = instance_inputs(instance, REFERENCE) | {"mode": mode, "compare_modes": False}
    inputs = PPipeInputs.model_validate(raw)
    solver = make_solver(
        SolverSettings(backend="highs", time_limit_s=time_limit_s, options=HIGHS_OPTIONS)
    )
    started = time.process_time()
    outcome = FORMULATION.plan(inputs, solver)
    plan_cpu_s = time.process_time() - started
    check = FORMULATION.verify(inputs, outcome.deployment)
    if not check.ok:
        raise SystemExit(f"{key}: plan failed verification: {check.violations}")
    row: dict[str, Any] = {"instance": key, "objective": outcome.objective.value}
    for index, model in enumerate(outcome.deployment.models):
        row[f"throughput_{index}"] = model.throughput_rps
    row.update(
        np_objective=outcome.baselines["np"]["objective_rps"],
        dart_r_objective=outcome.baselines["dart_r"]["objective_rps"],
        low_class_gpu_share=outcome.deployment.low_class_gpu_share,
        build_s=outcome.build_s,
        solve_s=outcome.result.solve_s,
        status=outcome.result.status.value,
        gap=outcome.result.gap,
        plan_cpu_s=plan_cpu_s,
    )
    return row


def summary(rows: list[dict[str, Any]]) -> str:
    times = [row["solve_s"] for row in rows]
    optimal = sum(row["status"] == "optimal" for row in rows)
    np_ratio = [row["objective"] / row["np_objective"] for row in rows if row["np_objective"]]
    dart = [row["objective"] / row["dart_r_objective"] for row in rows if row["dart_r_objective"]]
    gaps = [row["gap"] for row in rows if row["gap"] is not None]
    return (
        f"{len(rows)} instances, {optimal} proven optimal (max gap {max(gaps):.2e}); "
        f"solve_s median {statistics.median(times):.3f} max {max(times):.3f}; "
        f"build_s median {statistics.median(r['build_s'] for r in rows):.3f}; "
        f"plan_cpu_s median {statistics.median(r['plan_cpu_s'] for r in rows):.3f} "
        f"max {max(r['plan_cpu_s'] for r in rows):.3f}; "
        f"PPipe/NP median {statistics.median(np_ratio):.3f} "
        f"(min {min(np_ratio):.3f}, max {max(np_ratio):.3f}); "
        f"PPipe/DART-r median {statistics.median(dart):.3f}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--set", required=True, choices=["maf19", "maf21", "ablation"])
    parser.add_argument("--csv", required=True, type=Path)
    parser.add_argument("--mode", default="compat", choices=["compat", "general"])
    parser.add_argument(
        "--time-limit",
        type=float,
        default=None,
        help="seconds per MILP (default: none for maf sets, 60 for ablation)",
    )
    parser.add_argument("--limit", type=int, default=None, help="only the first N instances")
    args = parser.parse_args()
    if not (REFERENCE / "instances.json").exists():
        raise SystemExit(f"reference data not found at {REFERENCE}; nothing to run")
    time_limit = args.time_limit or (60.0 if args.set == "ablation" else None)
    instances = load_instances(REFERENCE / "instances.json")
    keys = [key for key, value in instances.items() if value["set"] == args.set][: args.limit]
    rows = []
    for key in keys:
        rows.append(run_instance(key, instances[key], args.mode, time_limit))
        row = rows[-1]
        print(
            f"{key}: {row['objective']:.2f} rps ({row['status']}, gap {row['gap']:.1e}), "
            f"NP {row['np_objective']:.2f}, solve {row['solve_s']:.3f} s",
            flush=True,
        )
        write_csv_atomic(args.csv, rows)
    print(summary(rows))


if __name__ == "__main__":
    main()
