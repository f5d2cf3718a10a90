"""Polymorphic accelerators: the plan against each baseline, and ours next to the paper's.

    python benchmarks/polymorphic_throughput.py [--csv out.csv] [--time-limit 300]
        [--scenario PATH ...] [--no-extra]

Mixes: every ``scenarios/polymorphic/*.toml`` (CNN-heavy, mixed CNN + MLP + RNN, throughput
floors, a time-varying mix in phases) and, unless ``--no-extra``, two more on the same
array (``EXTRA_MIXES``: three CNNs, and a three-network CNN + MLP + RNN mix). One CSV row
per (mix, planner): status, objective, ``plan_advantage`` (plan / baseline; above 1 the
plan is better) with the paper's ratio next to it where one applies, throughput per DNN
(per phase and DNN for phased mixes, with the reconfiguration charge), PE utilisation and
DRAM traffic (time-averaged over phases), and seconds; the plan's row also carries its
ratio to every baseline. Then a paper-vs-ours table: the paper (Azizimazreah & Chen, IEEE
TC 71(3), 2022, abstract) reports 1.52x over "a state-of-the-art flexible dataflow
approach" and 1.63x over "a resource partitioning approach" on its own workloads and
simulator; our ratios are printed next to them with what differs.

The issue's speed target (4 DNNs on the 128 x 128 array solved to proven optimality in
under 10 s) is checked on the single-phase 4-DNN mixes (``meets_10s_target``: optimal and
the plan's prepare + build + solve under 10 s of wall time); ``plan_cpu_s`` is the CPU
time of the same steps (the machine is shared, so wall time overstates the work).
"""

from __future__ import annotations

import argparse
import sys
import time
import tomllib
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import planner  # noqa: E402
from formulations.polymorphic import FORMULATION  # noqa: E402
from formulations.polymorphic.baselines import monolithic  # noqa: E402
from formulations.polymorphic.deployment import PolymorphicDeployment  # noqa: E402
from formulations.polymorphic.formulation import solve_design, static_partition  # noqa: E402
from formulations.polymorphic.view import (  # noqa: E402
    MONOLITHIC,
    MULTI_CLP,
    PLANARIA,
    PolymorphicView,
)
from formulations.types import Sense, plan_advantage  # noqa: E402
from planner.backends import make_solver  # noqa: E402
from planner.engine import prepared_view  # noqa: E402
from planner.plan import write_csv_atomic  # noqa: E402
from planner.scenario import Scenario, load_scenario, scenario_from_dict  # noqa: E402

SCENARIOS = ROOT / "scenarios" / "polymorphic"
PAPER = {  # Azizimazreah & Chen, IEEE TC 71(3), 2022, abstract: throughput ratios
    MONOLITHIC: 1.52,  # "compared with state-of-the-art flexible dataflow approach"
    MULTI_CLP: 1.63,  # "... and resource partitioning approach"
}
TARGET_S = 10.0  # the issue: 4 DNNs on 128 x 128 to proven optimality in under 10 s
EXTRA_MIXES: dict[str, tuple[str, list[dict[str, Any]]]] = {
    "three_cnns": (
        "max_min_normalised",
        [
            {"name": "resnet50", "network": "resnet50"},
            {"name": "vgg16", "network": "vgg16"},
            {"name": "mobilenet_v2", "network": "mobilenet_v2"},
        ],
    ),
    "cnn_mlp_rnn_three": (
        "max_min_normalised",
        [
            {"name": "resnet50", "network": "resnet50"},
            {"name": "dlrm_mlp", "network": "dlrm_mlp", "batch": 64, "weight": 100.0},
            {"name": "gru", "network": "gru_1024", "batch": 4},
        ],
    ),
}
WHAT_DIFFERS = (
    "inputs: our mix on a TPU-v1-derived 128x128 array (docs/polymorphic.md), not the "
    "paper's workloads; baseline: our reconstruction named for what it is (the abstract "
    "does not name the paper's baselines); metric: our scenario objective from our "
    "analytical cost model, not the paper's simulated throughput"
)
PHASES_DIFFER = (
    "; phases and the reconfiguration charge are ours (the paper's abstract has no "
    "time-varying mix); the static partition is chosen once for the expected mix"
)


def extra_scenarios() -> list[Scenario]:
    """The extra mixes on the array of the shipped mixed scenario."""
    shipped = tomllib.loads((SCENARIOS / "mixed_cnn_mlp_rnn.toml").read_text())
    return [
        scenario_from_dict(
            {
                "kind": "polymorphic",
                "name": name,
                "objective": objective,
                "array": shipped["array"],
                "dnns": dnns,
            },
        )
        for name, (objective, dnns) in EXTRA_MIXES.items()
    ]


def _row(
    mix: str,
    who: str,
    view: PolymorphicView,
    deployment: PolymorphicDeployment,
    plan_value: float,
    solve_s: float,
    status: str,
) -> dict[str, Any]:
    verification = FORMULATION.verify(view, deployment)
    headline = FORMULATION.headline(view, deployment)
    suffix = "_inferences_per_s"
    rates = "; ".join(
        f"{key.removesuffix(suffix)}={value}"
        for key, value in headline.items()
        if key.endswith(suffix)
    )
    advantage = plan_advantage(Sense.MAXIMIZE, plan_value, verification.objective_value)
    return {
        "mix": mix,
        "dnns": len(view.inputs.dnns),
        "phases": len(view.inputs.phases),
        "objective_kind": view.inputs.objective.value,
        "planner": who,
        "status": status if verification.ok else "infeasible: " + verification.violations[0],
        "objective": round(verification.objective_value, 4),
        "plan_advantage": None if advantage is None else round(advantage, 4),
        "paper_ratio": PAPER.get(who),
        "throughput_inferences_per_s": rates,
        "pe_utilisation_pct": headline["pe_utilisation_pct"],
        "dram_gb_per_s": headline["dram_gb_per_s"],
        "solve_s": round(solve_s, 3),
    }


def bench(scenario: Scenario) -> list[dict[str, Any]]:
    mix = scenario.path.stem if scenario.path else scenario.name
    cpu = time.process_time()
    plan = planner.solve(scenario, baselines=False)
    plan_cpu_s = time.process_time() - cpu
    assert isinstance(plan.deployment, PolymorphicDeployment)
    view = prepared_view(scenario)
    timing = plan.timing
    plan_wall_s = timing.prepare_s + timing.build_s + timing.solve_s
    rows = [
        _row(
            mix,
            "plan",
            view,
            plan.deployment,
            plan.objective.value,
            plan_wall_s,
            f"{plan.status.value} (gap {plan.gap:.2g})",
        )
    ]
    rows[0]["plan_cpu_s"] = round(plan_cpu_s, 3)
    rows[0]["meets_10s_target"] = (
        plan.status.value == "optimal" and plan_wall_s < TARGET_S
        if len(view.inputs.dnns) == 4 and not view.inputs.phases
        else None
    )
    solver = make_solver(scenario.solver)
    builders: dict[str, Callable[[], tuple[PolymorphicDeployment, str]]] = {
        MONOLITHIC: lambda: (monolithic(view), "closed form"),
        MULTI_CLP: lambda: (static_partition(view, MULTI_CLP, solver), "optimal packing"),
        PLANARIA: lambda: _partition(view, PLANARIA, solver),
    }
    for name, build in builders.items():
        start = time.perf_counter()
        deployment, status = build()
        seconds = time.perf_counter() - start
        rows.append(_row(mix, name, view, deployment, plan.objective.value, seconds, status))
        rows[0][f"vs_{name}"] = rows[-1]["plan_advantage"]
    return rows


def _partition(
    view: PolymorphicView, design: str, solver: Any
) -> tuple[PolymorphicDeployment, str]:
    deployment, certificate = solve_design(view, design, solver)
    return deployment, f"{certificate.status.value} (gap {certificate.gap:.2g})"


def paper_table(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    out = []
    for row in rows:
        if row["planner"] in PAPER:
            out.append(
                {
                    "mix": row["mix"],
                    "versus": row["planner"],
                    "paper_x": PAPER[row["planner"]],
                    "ours_x": row["plan_advantage"],
                    "what_differs": WHAT_DIFFERS + (PHASES_DIFFER if row["phases"] else ""),
                }
            )
    return out


def _print(rows: list[dict[str, Any]], columns: list[str]) -> None:
    widths = {c: max(len(c), *(len(str(r.get(c))) for r in rows)) for c in columns}
    print("  ".join(c.ljust(widths[c]) for c in columns))
    for row in rows:
        print("  ".join(str(row.get(c)).ljust(widths[c]) for c in columns))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--csv", type=Path, help="write one row per (mix, planner) here")
    parser.add_argument("--scenario", type=Path, nargs="*", help="default: every shipped one")
    parser.add_argument("--no-extra", action="store_true", help="skip EXTRA_MIXES")
    parser.add_argument(
        "--time-limit", type=float, default=None, help="solver seconds per MILP (default none)"
    )
    args = parser.parse_args()
    paths = args.scenario or sorted(SCENARIOS.glob("*.toml"))
    scenarios = [load_scenario(p) for p in paths]
    if not args.no_extra:
        scenarios += extra_scenarios()
    rows: list[dict[str, Any]] = []
    for scenario in scenarios:
        if args.time_limit is not None:
            scenario = scenario.with_solver(time_limit_s=args.time_limit)
        rows += bench(scenario)
        print(f"done: {scenario.name}", file=sys.stderr, flush=True)
    _print(
        rows,
        [
            "mix",
            "planner",
            "status",
            "objective",
            "plan_advantage",
            "pe_utilisation_pct",
            "dram_gb_per_s",
            "solve_s",
            "plan_cpu_s",
            "meets_10s_target",
        ],
    )
    print()
    _print(paper_table(rows), ["mix", "versus", "paper_x", "ours_x", "what_differs"])
    if args.csv:
        write_csv_atomic(args.csv, rows)


if __name__ == "__main__":
    main()
