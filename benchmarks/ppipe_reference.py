"""Run the PPipe formulation on PPipe's published planning instances and write a CSV.

    python benchmarks/ppipe_reference.py --set maf19 --csv out.csv [--mode compat|general]
        [--time-limit S] [--limit N] [--reference DIR]

Reads ``ppipe/instances.json`` under the reference folder (``../shared/reference`` or
``$PLANNER_REFERENCE``, see ``benchmarks/_reference.py``; PPipe's folder with
``--reference``) and the chunk latency tables next to it; every instance of the set is
planned one at a time by the engine (``planner.solve``, HiGHS on one thread), which
verifies the plan and every baseline independently. Columns: ``instance`` (key in
instances.json), ``objective`` (min over models of throughput / weight, requests/s),
``throughput_qps_<i>`` per model in instance order, ``np_objective`` and
``dart_r_objective`` (the engine's verified baseline objectives; empty unless feasible),
``dart_r_authors_objective`` (the authors' published DART-r plan of the instance, its
planned throughput from ``dart_r_published_plans.csv``; empty for the ablation set, which
has none) and ``dart_r_authors_within_ppipe`` (the check that their plan's objective is at
most our PPipe optimum: every DART-r plan is a plan of PPipe's MILP, so a published
objective above our optimum would mean our cost model serves less than theirs),
``low_class_gpu_pct`` (reserved over available low-class GPUs, %), ``prepare_s`` (chunk
tables and design enumeration), ``build_s`` (model building: the engine's solve stage
minus the solver), ``solve_s`` (the planning solves only, not the baselines; wall clock),
``status``, ``termination``, ``gap``, and
``plan_cpu_s`` (process CPU time of the whole plan, baselines included: on a shared
machine it moves far less than wall-clock times). A summary (median and max solve time,
optimality count, PPipe / NP and PPipe / DART-r ratios, ours and the authors') and the
paper-vs-ours table go to stdout.

Without the reference data it prints one line saying what is missing and where it comes
from, and exits with code 3 (the project's code for "reference data absent" in benchmarks).
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

import planner  # noqa: E402
from benchmarks._reference import REFERENCE_ABSENT, absent, reference_root  # noqa: E402
from formulations.ppipe.baselines import PublishedDartR, published_dart_r  # noqa: E402
from formulations.ppipe.deployment import PPipeDeployment  # noqa: E402
from formulations.ppipe.inputs import load_instances  # noqa: E402
from formulations.tolerances import leq  # noqa: E402
from planner.plan import Plan, write_csv_atomic  # noqa: E402

PPIPE_DATA = "PPipe's published planning instances and chunk tables"
REFERENCE = reference_root() / "ppipe"
DART_R_PLANS = "dart_r_published_plans.csv"
# PPipe paper (USENIX ATC '25) planned-throughput ratios, as issue 11 quotes them.
PAPER_PPIPE_OVER_DART_R = "1.39-1.40"


# Same HiGHS settings as the shipped PPipe scenarios: restarts after root presolve double the
# median solve time on these design MILPs (maf21 0.90 s -> 0.42 s), and presolve itself
# costs more than it saves (median MILP 0.20 -> 0.08 CPU s); identical optima.
HIGHS_OPTIONS = {"mip_allow_restart": False, "presolve": "off"}


def scenario(
    key: str, mode: str, time_limit_s: float | None, reference: Path = REFERENCE
) -> planner.Scenario:
    """The scenario of published instance ``key`` in ``mode``, without the other mode."""
    solver: dict[str, Any] = {"backend": "highs", "options": HIGHS_OPTIONS}
    if time_limit_s is not None:
        solver["time_limit_s"] = time_limit_s
    document = {
        "kind": "ppipe",
        "name": key,
        "mode": mode,
        "compare_modes": False,
        "published_instance": {"file": str(reference / "instances.json"), "key": key},
        "solver": solver,
    }
    return planner.scenario_from_dict(document, reference)


def _baseline_objective(plan: Plan, name: str) -> float | None:
    """A baseline's objective when the engine found it feasible, else None."""
    baseline = plan.baseline(name)
    return baseline.objective if baseline.status == "feasible" else None


def run_instance(
    key: str,
    mode: str,
    time_limit_s: float | None,
    reference: Path = REFERENCE,
    authors: PublishedDartR | None = None,
) -> dict[str, Any]:
    started = time.process_time()
    plan = planner.solve(scenario(key, mode, time_limit_s, reference))
    plan_cpu_s = time.process_time() - started
    deployment = plan.deployment
    assert isinstance(deployment, PPipeDeployment)
    row: dict[str, Any] = {"instance": key, "objective": plan.objective.value}
    for index, model in enumerate(deployment.models):
        row[f"throughput_qps_{index}"] = model.throughput_qps
    row.update(
        np_objective=_baseline_objective(plan, "np"),
        dart_r_objective=_baseline_objective(plan, "dart_r"),
        dart_r_authors_objective=authors.objective if authors else None,
        dart_r_authors_within_ppipe=(
            str(leq(authors.objective, plan.objective.value)).lower() if authors else None
        ),
        low_class_gpu_pct=plan.headline["low_class_gpu_pct"],
        prepare_s=plan.timing.prepare_s,
        build_s=plan.timing.build_s,
        solve_s=plan.timing.solve_s,
        status=plan.status.value,
        termination=plan.certificate.termination.value,
        gap=plan.gap,
        plan_cpu_s=plan_cpu_s,
    )
    return row


def _ratios(rows: list[dict[str, Any]], column: str) -> list[float]:
    return [row["objective"] / row[column] for row in rows if row.get(column)]


def _span(values: list[float]) -> str:
    if not values:
        return "-"
    return f"{statistics.median(values):.3f} ({min(values):.3f}-{max(values):.3f})"


def summary(rows: list[dict[str, Any]]) -> str:
    times = [row["solve_s"] for row in rows]
    optimal = sum(row["status"] == "optimal" for row in rows)
    np_ratio = _ratios(rows, "np_objective")
    gaps = [row["gap"] for row in rows]
    return (
        f"{len(rows)} instances, {optimal} proven optimal (max gap {max(gaps):.2e}); "
        f"solve_s median {statistics.median(times):.3f} max {max(times):.3f}; "
        f"prepare_s median {statistics.median(r['prepare_s'] for r in rows):.3f}; "
        f"build_s median {statistics.median(r['build_s'] for r in rows):.4f}; "
        f"plan_cpu_s median {statistics.median(r['plan_cpu_s'] for r in rows):.3f} "
        f"max {max(r['plan_cpu_s'] for r in rows):.3f}; "
        f"PPipe/NP median {statistics.median(np_ratio):.3f} "
        f"(min {min(np_ratio):.3f}, max {max(np_ratio):.3f}); "
        f"PPipe/DART-r (ours) median {_span(_ratios(rows, 'dart_r_objective'))}; "
        f"PPipe/DART-r (authors') median {_span(_ratios(rows, 'dart_r_authors_objective'))}"
    )


def paper_table(rows: list[dict[str, Any]], name: str) -> list[str]:
    """PPipe / DART-r: the paper's, ours with the authors' DART-r plans, ours with our
    DART-r, each a ratio of planned throughputs on the paper's instances."""
    authors = _ratios(rows, "dart_r_authors_objective")
    ours = _ratios(rows, "dart_r_objective")
    stronger = [
        row["dart_r_objective"] / row["dart_r_authors_objective"]
        for row in rows
        if row.get("dart_r_objective") and row.get("dart_r_authors_objective")
    ]
    outside = sum(row.get("dart_r_authors_within_ppipe") == "false" for row in rows)
    return [
        f"| {name}: planned throughput ratio | paper | ours, paper inputs | what differs |",
        "| --- | --- | --- | --- |",
        f"| PPipe / DART-r (authors' DART-r plans) | {PAPER_PPIPE_OVER_DART_R} | "
        f"{_span(authors)} | same instances and plans; PPipe plan ours (equal to the "
        "authors' on all 72) |",
        f"| PPipe / DART-r (our DART-r) | {PAPER_PPIPE_OVER_DART_R} | {_span(ours)} | our "
        "DART-r splits units and surplus GPUs among models with a joint MILP; theirs "
        "splits GPUs from the NP plan first |",
        f"| our DART-r / authors' DART-r | - | {_span(stronger)} | how much stronger ours "
        f"is; authors' plans above our PPipe optimum: {outside} |",
    ]


def main() -> int:
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
    parser.add_argument(
        "--reference", type=Path, default=REFERENCE, help="PPipe's folder (instances.json)"
    )
    args = parser.parse_args()
    reference: Path = args.reference.resolve()
    if absent(reference / "instances.json", PPIPE_DATA):
        return REFERENCE_ABSENT
    time_limit = args.time_limit or (60.0 if args.set == "ablation" else None)
    instances = load_instances(reference / "instances.json")
    keys = [key for key, value in instances.items() if value["set"] == args.set][: args.limit]
    plans = reference / DART_R_PLANS
    authors = published_dart_r(plans, instances) if plans.is_file() else {}
    if not plans.is_file():
        print(f"no {plans}: the authors' DART-r column stays empty", file=sys.stderr)
    rows = []
    for key in keys:
        rows.append(run_instance(key, args.mode, time_limit, reference, authors.get(key)))
        row = rows[-1]
        print(
            f"{key}: {row['objective']:.2f} requests/s ({row['status']}, "
            f"gap {row['gap']:.1e}), NP {row['np_objective']}, solve {row['solve_s']:.3f} s",
            flush=True,
        )
        write_csv_atomic(args.csv, rows)
    print(summary(rows))
    for line in paper_table(rows, args.set):
        print(line)
    return 0


if __name__ == "__main__":
    sys.exit(main())
