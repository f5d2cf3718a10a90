"""PIFS-Rec placement: MILP batch latency against the baselines, and solve times.

    python benchmarks/pifs_latency.py --csv out.csv [--repeats 3] [--scenario PATH ...]

One row per scenario (default: every ``scenarios/pifs/*.toml`` in latency mode): the
MILP's batch latency, each baseline's, the ratios to the Pond-like and BEACON-like
baselines next to the paper's (PIFS-Rec, MICRO '24: 3.89x over Pond, 2.03x over BEACON),
median and max build/solve times over the repeats (the engine's ``timing.build_s`` and
``timing.solve_s``), status and certified gap. The CSV is
written atomically (``planner.plan.write_csv_atomic``).

Without its reference data (a scenario's ``hotness.histogram``, e.g. Meta's
``locality_stats.txt`` under ``../shared/reference/dlrm/``) it prints one line saying what
is missing and where it comes from, writes nothing, and exits with code 3, the project's
code for "reference data absent" in benchmarks.
"""

from __future__ import annotations

import argparse
import math
import statistics
import sys
import tomllib
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import planner  # noqa: E402
from planner.engine import prepared_view  # noqa: E402
from planner.plan import write_csv_atomic  # noqa: E402
from planner.scenario import load_scenario  # noqa: E402

BASELINES = ("pond", "beacon", "pifs_heuristic", "torchrec_greedy")
PAPER_POND_OVER_PIFS = 3.89  # PIFS-Rec (MICRO '24) abstract: latency vs Pond
PAPER_BEACON_OVER_PIFS = 2.03  # PIFS-Rec (MICRO '24) abstract: latency vs BEACON
NO_REFERENCE_DATA = 3  # exit code of a benchmark whose reference data is absent
COLUMNS = [
    "scenario",
    "milp_latency_us",
    *(f"{b}_latency_us" for b in BASELINES),
    "pond_over_milp",
    "beacon_over_milp",
    "paper_pond_over_pifs",
    "paper_beacon_over_pifs",
    "milp_not_slower_than_baselines",
    "build_s",
    "solve_s",
    "build_s_max",
    "solve_s_max",
    "status",
    "gap",
    "tables",
    "buckets",
    "ports",
    "per_port_columns",
    "model_columns",
]


def bench(path: Path, repeats: int) -> dict[str, Any]:
    scenario = load_scenario(path)
    plans = [planner.solve(scenario) for _ in range(repeats)]
    plan = plans[-1]
    milp = plan.objective.value
    row: dict[str, Any] = {"scenario": path.stem, "milp_latency_us": round(milp, 4)}
    scored = {b.name: b for b in plan.baselines}
    for name in BASELINES:
        objective = scored[name].objective if name in scored else None
        row[f"{name}_latency_us"] = round(math.nan if objective is None else objective, 4)
    row["pond_over_milp"] = round(row["pond_latency_us"] / milp, 4)
    row["beacon_over_milp"] = round(row["beacon_latency_us"] / milp, 4)
    row["paper_pond_over_pifs"] = PAPER_POND_OVER_PIFS
    row["paper_beacon_over_pifs"] = PAPER_BEACON_OVER_PIFS
    feasible = [b.objective for b in plan.baselines if b.status == "feasible" and b.objective]
    row["milp_not_slower_than_baselines"] = all(milp <= v * (1 + 1e-9) for v in feasible)
    build = [p.timing.build_s for p in plans]
    solve = [p.timing.solve_s for p in plans]
    row.update(
        build_s=round(statistics.median(build), 3),
        solve_s=round(statistics.median(solve), 3),
        build_s_max=round(max(build), 3),
        solve_s_max=round(max(solve), 3),
        status=plan.status.value,
        gap=plan.gap,
    )
    view = prepared_view(scenario)
    n_buckets = len(view.buckets.table)
    n_ports = len(view.fabric.ports)
    row.update(
        tables=view.buckets.n_tables,
        buckets=n_buckets,
        ports=n_ports,
        per_port_columns=n_buckets * (n_ports + 1),
        model_columns=plan.certificate.size.variables,
    )
    return row


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--csv", type=Path, required=True, help="output CSV file")
    parser.add_argument("--repeats", type=int, default=3, help="solves per scenario")
    parser.add_argument(
        "--scenario",
        type=Path,
        action="append",
        help="scenario file (repeatable; default: scenarios/pifs/*.toml without capacity planning)",
    )
    args = parser.parse_args()
    paths = args.scenario or sorted(
        p
        for p in (ROOT / "scenarios" / "pifs").glob("*.toml")
        if "capacity_planning" not in tomllib.loads(p.read_text())
    )
    for path in paths:
        histogram = tomllib.loads(path.read_text()).get("hotness", {}).get("histogram")
        if histogram is not None and not (path.parent / histogram).is_file():
            print(
                f"pifs_latency: reference data missing: {(path.parent / histogram).resolve()} "
                f"(hotness histogram of {path.name}; Meta's locality_stats.txt from "
                "facebookresearch/dlrm_datasets, kept in ../shared/reference/dlrm/)",
                file=sys.stderr,
            )
            raise SystemExit(NO_REFERENCE_DATA)
    rows = []
    for path in paths:
        row = bench(path, max(1, args.repeats))
        rows.append(row)
        print(
            f"{row['scenario']}: milp {row['milp_latency_us']} us, pond/milp "
            f"{row['pond_over_milp']}, beacon/milp {row['beacon_over_milp']}, "
            f"solve {row['solve_s']} s (max {row['solve_s_max']}), gap {row['gap']}",
            flush=True,
        )
    write_csv_atomic(args.csv, rows, COLUMNS)


if __name__ == "__main__":
    main()
