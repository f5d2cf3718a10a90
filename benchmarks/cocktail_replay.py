"""Cocktail replay benchmark: every plan (MILP and baselines) served in the discrete-event
replay (``formulations/cocktail/replay.py``), one CSV row per (scenario, planner).

    python benchmarks/cocktail_replay.py --csv out.csv [--runs 1] [--seed 0]
        [--window-s 2] [--rate-scale 1] [scenario.toml ...]

Scenarios: every ``scenarios/cocktail/*.toml`` by default; one that reads
``../shared/reference`` (``cocktail_profile``) is skipped with one line when the reference is
absent. Columns: ``scenario``, ``planner``, ``requests`` (the observed requests the replay
stands for: a trace's arrivals, or rate x interval), ``p50_latency_ms``, ``p99_latency_ms``
(fork-join: the last ensemble member's completion), ``slo_attainment_pct``,
``targets_met_share`` (SLO and accuracy target met by the members on time) and
``cost_usd`` (the plan's verified cost).

After the CSV it prints the paper's latency claim next to ours: Cocktail's abstract reports
"2x reduction in latency" against the state-of-the-art serving frameworks it compares with
(InFaaS, Clipper); ours is the baselines' p50 and p99 over Cocktail's (the ``cocktail``
baseline) and over the MILP's, on the same replay.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import planner  # noqa: E402
from benchmarks._reference import DEFAULT, absent  # noqa: E402
from formulations.cocktail.deployment import CocktailDeployment  # noqa: E402
from formulations.cocktail.replay import replay_all  # noqa: E402
from planner.engine import prepared_view  # noqa: E402
from planner.plan import write_csv_atomic  # noqa: E402

COLUMNS = [
    "scenario",
    "planner",
    "requests",
    "p50_latency_ms",
    "p99_latency_ms",
    "slo_attainment_pct",
    "targets_met_share",
    "cost_usd",
]
PAPER_LATENCY_REDUCTION = 2.0  # Cocktail (NSDI '22) abstract: "2x reduction in latency"


def rows_of(
    scenario: planner.Scenario, runs: int, seed: int, window_s: float, scale: float
) -> list[dict[str, Any]]:
    plan = planner.solve(scenario)
    view = prepared_view(scenario)
    assert isinstance(plan.deployment, CocktailDeployment)
    deployments: dict[str, CocktailDeployment] = {"milp": plan.deployment}
    for b in plan.baselines:
        if isinstance(b.deployment, CocktailDeployment):
            deployments[b.name] = b.deployment
    report, outcomes = replay_all(view, deployments, runs, seed, window_s, scale)
    overall = {c.plan: c for c in report.classes if c.klass == "all"}
    return [
        {
            "scenario": scenario.name,
            "planner": name,
            "requests": overall[name].requests,
            "p50_latency_ms": overall[name].p50_latency_ms,
            "p99_latency_ms": overall[name].p99_latency_ms,
            "slo_attainment_pct": overall[name].slo_attainment_pct,
            "targets_met_share": round(outcome.targets_met_share(), 6),
            "cost_usd": round(outcome.cost_usd, 6),
        }
        for name, outcome in outcomes.items()
    ]


def _times(a: float | None, b: float | None) -> str:
    return "-" if a is None or b is None or b <= 0 else f"{a / b:.2f}"


def latency_table(rows: list[dict[str, Any]]) -> str:
    """The paper's latency claim next to ours (Markdown)."""
    lines = [
        "| scenario | baseline | p50 / Cocktail's | p99 / Cocktail's | p50 / MILP's | "
        "p99 / MILP's |",
        "| --- | --- | --- | --- | --- | --- |",
        f"| paper (abstract) | InFaaS, Clipper | {PAPER_LATENCY_REDUCTION:g} (which percentile "
        "not stated there) | | | |",
    ]
    for scenario in dict.fromkeys(r["scenario"] for r in rows):
        mine = {r["planner"]: r for r in rows if r["scenario"] == scenario}
        ref, milp = mine.get("cocktail", {}), mine["milp"]
        for name in ("infaas", "infaas_cocktail", "clipper_all_models"):
            if name not in mine:
                continue
            r = mine[name]
            lines.append(
                f"| {scenario} | {name} | "
                f"{_times(r['p50_latency_ms'], ref.get('p50_latency_ms'))} | "
                f"{_times(r['p99_latency_ms'], ref.get('p99_latency_ms'))} | "
                f"{_times(r['p50_latency_ms'], milp['p50_latency_ms'])} | "
                f"{_times(r['p99_latency_ms'], milp['p99_latency_ms'])} |"
            )
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("scenarios", nargs="*", type=Path)
    parser.add_argument("--csv", type=Path, required=True, help="output CSV (written atomically)")
    parser.add_argument("--runs", type=int, default=1, help="replays per plan")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--window-s", type=float, default=2.0, help="s replayed per interval")
    parser.add_argument("--rate-scale", type=float, default=1.0, help="arrival rate multiplier")
    args = parser.parse_args()
    paths = args.scenarios or sorted((ROOT / "scenarios" / "cocktail").glob("*.toml"))
    rows: list[dict[str, Any]] = []
    for path in paths:
        if "shared/reference" in path.read_text() and absent(
            DEFAULT, f"Cocktail's repository numbers that {path.name} reads (skipped)"
        ):
            continue
        rows += rows_of(
            planner.load_scenario(path), args.runs, args.seed, args.window_s, args.rate_scale
        )
        print(f"cocktail_replay: {path.name} done", file=sys.stderr)
    write_csv_atomic(args.csv, rows, COLUMNS)
    print(latency_table(rows))
    return 0


if __name__ == "__main__":
    sys.exit(main())
