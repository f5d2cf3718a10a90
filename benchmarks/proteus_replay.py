"""Replay the MILP's plan and every baseline's on Proteus's published trace and cluster.

    python benchmarks/proteus_replay.py --trace zipf_exponential_bursty_300 \
        --demand-scale 4 --csv out.csv [--runs N] [--seed S] [--max-windows N]

The scenario is ``benchmarks/proteus_reference.py``'s (the paper's 4 device types x 10
devices, 9 families, SLO 300 ms, 10 s windows); each deployment is replayed with its
planner's batching (``formulations.proteus.simulate.BATCHING``). One CSV row per planner
(``milp``, ``clipper_ha``, ``clipper_la``, ``sommelier``, ``infaas``): requests, served,
late, dropped, timeout_pct (late + dropped), p99_latency_ms, effective_accuracy (of on-time
requests) and accuracy_drop (100 minus it); a baseline without a plan has blank figures.
Without ``../shared/reference/proteus/`` prints one line and exits with code 3.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import planner  # noqa: E402
from benchmarks._reference import absent  # noqa: E402
from benchmarks.proteus_reference import (  # noqa: E402
    PROTEUS_DATA,
    REFERENCE,
    REFERENCE_ABSENT,
    scenario,
    scenario_arguments,
)
from formulations.proteus.deployment import ProteusDeployment  # noqa: E402
from formulations.proteus.simulate import PLAN, SUMMARY_KEYS, replay_all, summary_rows  # noqa: E402
from formulations.proteus.view import ProteusView  # noqa: E402
from planner.engine import prepared_view  # noqa: E402
from planner.plan import write_csv_atomic  # noqa: E402


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    scenario_arguments(parser, "zipf_exponential_bursty_300")
    parser.add_argument("--runs", type=int, default=1)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    if absent(REFERENCE, PROTEUS_DATA):
        return REFERENCE_ABSENT
    case = scenario(
        args.trace,
        args.devices_per_type,
        args.demand_scale,
        "highs",
        args.max_windows,
        args.forecast,
        args.steps,
    )
    plan = planner.solve(case)
    assert isinstance(plan.deployment, ProteusDeployment)
    deployments: dict[str, ProteusDeployment | None] = {PLAN: plan.deployment}
    for b in plan.baselines:
        deployments[b.name] = b.deployment if isinstance(b.deployment, ProteusDeployment) else None
    view = prepared_view(case)
    assert isinstance(view, ProteusView)
    rows = summary_rows(replay_all(view, deployments, args.runs, args.seed), deployments)
    write_csv_atomic(args.csv, [{k: r.get(k) for k in SUMMARY_KEYS} for r in rows])
    for r in rows:
        print("  ".join(f"{k}={r.get(k)}" for k in SUMMARY_KEYS), file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
