"""Cellular vs graph batching on the planned GPUs of every ``scenarios/cellular`` scenario.

    python benchmarks/cellular_latency.py --csv out.csv [--runs 3]

One row per (scenario, policy): ``p50_ms`` and ``p99_ms`` of all requests in the seeded
replay at the scenario's traffic, ``throughput_qps`` (the issue's ``throughput_rps``: the
highest total rate the same GPUs serve with every length bucket within the SLO, from the
analytic model), ``gpus`` and ``cost_usd_per_h``. Then BatchMaker's headline next to ours.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import cast

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import planner  # noqa: E402
from formulations.cellular.baselines import graph_baseline  # noqa: E402
from formulations.cellular.deployment import CellularDeployment  # noqa: E402
from formulations.cellular.formulation import replay  # noqa: E402
from formulations.cellular.verify import cost_usd_per_h, figures  # noqa: E402
from planner.plan import write_csv_atomic  # noqa: E402

# BatchMaker (EuroSys '18) abstract/introduction, as we read them: against TensorFlow and
# MXNet graph batching, latency 17.5-90% lower and throughput 25-400% higher (V100).
PAPER = {"latency_reduction_pct": "17.5-90", "throughput_gain_pct": "25-400"}
COLUMNS = ["scenario", "policy", "p50_ms", "p99_ms", "throughput_qps", "gpus", "cost_usd_per_h"]


Row = dict[str, str | int | float]


def rows(runs: int) -> list[Row]:
    out: list[Row] = []
    for path in sorted((ROOT / "scenarios" / "cellular").glob("*.toml")):
        scenario = planner.load_scenario(path)
        plan = planner.solve(path, baselines=False)
        view = scenario.formulation.prepare(scenario.inputs)
        planned = cast(CellularDeployment, plan.deployment)
        deployments = {
            "cellular": planned,
            "graph": graph_baseline(view, planned, "graph"),
            "graph_bucketed": graph_baseline(view, planned, "graph_bucketed"),
        }
        for policy, dep in deployments.items():
            stats, _, _ = replay(view, dep, runs, 0)
            capacity = sum(
                p.count * f.capacity_qps for p, f in zip(dep.pools, figures(view, dep), strict=True)
            )
            out.append(
                {
                    "scenario": path.stem,
                    "policy": policy,
                    "p50_ms": round(1000 * stats.percentile_s(0.5), 2),
                    "p99_ms": round(1000 * stats.percentile_s(0.99), 2),
                    "throughput_qps": round(capacity, 1),
                    "gpus": sum(p.count for p in dep.pools),
                    "cost_usd_per_h": round(cost_usd_per_h(view, dep), 4),
                }
            )
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--csv", type=Path, required=True)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    table = rows(args.runs)
    write_csv_atomic(args.csv, table, COLUMNS)
    print(",".join(COLUMNS))
    for row in table:
        print(",".join(str(row[c]) for c in COLUMNS))
    print("\npaper (BatchMaker vs TF/MXNet) vs ours (cellular vs graph batching, same GPUs)")
    print("scenario,latency_reduction_pct (p99),throughput_gain_pct,paper_latency,paper_gain")
    for name in sorted({str(r["scenario"]) for r in table}):
        mine = {str(r["policy"]): r for r in table if r["scenario"] == name}
        cell, graph = mine["cellular"], mine["graph"]
        cut = 100 * (1 - float(cell["p99_ms"]) / float(graph["p99_ms"]))
        gain = 100 * (float(cell["throughput_qps"]) / max(float(graph["throughput_qps"]), 1e-9) - 1)
        print(
            f"{name},{cut:.1f},{gain:.0f},"
            f"{PAPER['latency_reduction_pct']},{PAPER['throughput_gain_pct']}"
        )


if __name__ == "__main__":
    main()
