"""Replay PPipe, NP and DART-r plans of PPipe's published instances and write a CSV.

    python benchmarks/ppipe_replay.py --set maf19 --csv out.csv [--limit N] [--requests N]
        [--seed S] [--reference DIR]

Every instance of the set is planned by the engine (``planner.solve``, baselines included,
as ``benchmarks/ppipe_reference.py`` does), then each of the plan (``ppipe``), ``np`` and
``dart_r`` is replayed by ``formulations/ppipe/simulate.py``: Poisson arrivals with
reservation-based batching, the goodput rate at 99% SLO attainment (every model) found by
bisection. One row per (instance, planner): ``planned_qps`` (the deployment's objective),
``rate_qps_at_99``, ``goodput_qps_at_99`` (on-time requests/s at that rate, all models) and
``low_class_utilisation_pct`` (busy share of the low-class GPUs at that rate). The median
PPipe / NP and PPipe / DART-r ratios go to stdout.

Without the reference data it prints one line saying what is missing and exits with code 3.
"""

from __future__ import annotations

import argparse
import statistics
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import planner  # noqa: E402
from benchmarks._reference import absent  # noqa: E402
from benchmarks.ppipe_reference import PPIPE_DATA, REFERENCE, REFERENCE_ABSENT, scenario  # noqa: E402
from formulations.ppipe.deployment import PPipeDeployment  # noqa: E402
from formulations.ppipe.inputs import load_instances  # noqa: E402
from formulations.ppipe.simulate import REPLAYED_BASELINES, simulate_plans  # noqa: E402
from planner.engine import prepared_view  # noqa: E402
from planner.plan import write_csv_atomic  # noqa: E402

COLUMNS = [
    "instance",
    "planner",
    "planned_qps",
    "rate_qps_at_99",
    "goodput_qps_at_99",
    "low_class_utilisation_pct",
]


def run_instance(key: str, reference: Path, requests: int, seed: int) -> list[dict[str, Any]]:
    """The replayed rows of one instance (a baseline without a plan gives empty values)."""
    chosen = scenario(key, "compat", None, reference)
    plan = planner.solve(chosen)
    deployments: dict[str, PPipeDeployment] = {}
    for name, stored in [("ppipe", plan.deployment)] + [
        (b, plan.baseline(b).deployment) for b in REPLAYED_BASELINES
    ]:
        if isinstance(stored, PPipeDeployment):
            deployments[name] = stored
    _, summary = simulate_plans(prepared_view(chosen), deployments, 1, seed, requests)
    return [
        {
            "instance": key,
            "planner": g.plan,
            "planned_qps": g.planned_qps,
            "rate_qps_at_99": g.rate_qps,
            "goodput_qps_at_99": g.goodput_qps,
            "low_class_utilisation_pct": g.low_class_utilisation_pct,
        }
        for g in summary
    ]


def ratios(rows: list[dict[str, Any]], column: str, other: str) -> list[float]:
    by = {(r["instance"], r["planner"]): r[column] for r in rows}
    return [
        by[(key, "ppipe")] / by[(key, other)]
        for key in {r["instance"] for r in rows}
        if by.get((key, "ppipe")) and by.get((key, other))
    ]


def summary(rows: list[dict[str, Any]]) -> str:
    parts = []
    for column in ("goodput_qps_at_99", "low_class_utilisation_pct"):
        for other in REPLAYED_BASELINES:
            found = ratios(rows, column, other)
            if found:
                parts.append(
                    f"{column} ppipe/{other}: median {statistics.median(found):.3f} "
                    f"(min {min(found):.3f}, max {max(found):.3f}, {len(found)} instances)"
                )
    return "; ".join(parts) or "no instance replayed"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--set", required=True, choices=["maf19", "maf21", "ablation"])
    parser.add_argument("--csv", required=True, type=Path)
    parser.add_argument("--limit", type=int, default=None, help="only the first N instances")
    parser.add_argument("--requests", type=int, default=20_000, help="requests per replay")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--reference", type=Path, default=REFERENCE, help="PPipe's folder (instances.json)"
    )
    args = parser.parse_args()
    reference: Path = args.reference.resolve()
    if absent(reference / "instances.json", PPIPE_DATA):
        return REFERENCE_ABSENT
    instances = load_instances(reference / "instances.json")
    keys = [key for key, value in instances.items() if value["set"] == args.set][: args.limit]
    rows: list[dict[str, Any]] = []
    for key in keys:
        rows.extend(run_instance(key, reference, args.requests, args.seed))
        write_csv_atomic(args.csv, rows, COLUMNS)
    print(summary(rows))
    return 0


if __name__ == "__main__":
    sys.exit(main())
