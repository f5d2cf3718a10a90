"""Plan every 10 s window of Proteus's published trace on the paper's cluster.

    python benchmarks/proteus_reference.py --trace zipf_exponential_300 --csv out.csv \
        [--demand-scale X] [--devices-per-type N] [--backend highs] [--max-windows N] \
        [--forecast ewma|oracle] [--steps]

Proteus's settings (``../shared/reference/proteus/settings.md``): each window is planned
on the EWMA of the windows before it (``--forecast ewma``, the default; com 1.6 on
zipf_exponential, 0.7 on the bursty trace, 20 samples) and judged on the demand that
arrives; ``--forecast oracle`` plans each window on its own mean demand. Windows are 10 s
(Proteus's re-plan interval) and each is re-planned; ``--steps`` uses Proteus's own time
base instead: 1 s windows (its steps) with its re-plan schedule (every 10 steps, 20 for
Proteus on the bursty trace; every 2 steps while any of the last 10 steps had more than 200
requests on the bursty trace; halved in steps 60-100; also at steps 5 and 20). Clipper-HA/LA
use Proteus's published static allocations and Sommelier its starting allocation and beta
1.5 (``formulations/proteus/baselines.py``).

Reads ../shared/reference/proteus/ (Proteus's published profile, variants and traces, not
part of this project; see ../shared/reference/README.md). Without it, prints one line
saying what is missing and where it comes from, writes nothing and exits with code 3
(``REFERENCE_ABSENT``, the benchmarks' code for "reference data absent").

One CSV row per window: the demand per family, the MILP's beta and
effective accuracy (Proteus's, on the planned demand), ``effective_accuracy_served`` (on the
actual demand, shed demand counting accuracy 0), ``shed_pct`` and ``replanned``, each
baseline's beta, accuracy, ``<baseline>_effective_accuracy_served`` and
``<baseline>_shed_pct`` (from the baselines' deployments the engine verified), and the
MILP's build and solve time (the whole beta loop; 0 in a window that keeps the last plan),
status and gap. The per-window times come from a second pass that calls the formulation's own
per-window step (``formulations.proteus.milp.solve_window``, warm-started as ``solve``
does) with the engine's solver wrapper: build time is the window's wall time minus the
time inside the solver. Prints a summary (median/max build+solve time per re-planned
window, median build share, windows where a baseline serves a higher effective accuracy
than the MILP) and the paper-vs-ours table to stderr.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import planner  # noqa: E402
from benchmarks._reference import REFERENCE_ABSENT, absent, reference_root  # noqa: E402
from formulations.proteus.deployment import ProteusDeployment, WindowPlan  # noqa: E402
from formulations.proteus.milp import candidates, solve_window  # noqa: E402
from formulations.proteus.view import ProteusView  # noqa: E402
from formulations.tolerances import leq  # noqa: E402
from planner.backends import make_solver  # noqa: E402
from planner.engine import TimedSolver, prepared_view  # noqa: E402
from planner.plan import write_csv_atomic  # noqa: E402

PROTEUS_DATA = "the profile, variants and traces published with Proteus (UMass-LIDS/Proteus)"
REFERENCE = reference_root() / "proteus"
FAMILIES = (
    "bert",
    "densenet",
    "efficientnet",
    "gpt2",
    "mobilenet",
    "resnest",
    "resnet",
    "t5",
    "yolo",
)
# The paper's cluster: device type -> accelerator name in Proteus's profile (the VPU was
# profiled as a CPU in Proteus's public code).
DEVICES = {
    "CPU": "onnxruntime_cpu",
    "GPU_AMPERE": "onnxruntime_gpu_ampere",
    "VPU": "onnxruntime_cpu",
    "GPU_PASCAL": "onnxruntime_gpu_pascal",
}
SLO_MS = 300.0
PAPER_DEVICES_PER_TYPE = 10
BASELINES = ("clipper_ha", "clipper_la", "sommelier", "infaas")
SHIPPED = ROOT / "scenarios" / "proteus" / "paper_cluster.toml"


# Proteus's per-trace settings (settings.md Sec. 2-3): EWMA com, base re-plan interval in
# steps, and whether the bursty-trace rule applies.
EWMA_COM = {"zipf_exponential_300": 1.6, "zipf_exponential_bursty_300": 0.7}
SOLVE_INTERVAL = {"zipf_exponential_300": 10, "zipf_exponential_bursty_300": 20}
STATIC = {
    "clipper_ha": "algorithms/clipper_solutions/clipper_highacc_optimized.txt",
    "clipper_la": {
        "zipf_exponential_300": "algorithms/clipper_solutions/clipper_lowacc_optimized.txt",
        "zipf_exponential_bursty_300": "algorithms/clipper_solutions/clipper_lowacc_bursty.txt",
    },
    "sommelier": "algorithms/sommelier_solutions/starting_optimized_new.txt",
}


def forecast_settings(trace: str, method: str, steps: bool) -> dict[str, Any]:
    """The scenario's ``[forecast]``: Proteus's for ``trace`` (module docstring)."""
    settings: dict[str, Any] = {"method": method, "com": EWMA_COM[trace], "history_windows": 20}
    if steps:
        settings.update(
            replan_every=SOLVE_INTERVAL[trace], extra_replans=[5, 20], tighten_windows=(60, 100)
        )
        if "bursty" in trace:
            settings.update(burst_replan_every=2, burst_total_qps=200.0, burst_lookback_windows=10)
    return settings


def scenario(
    trace: str,
    devices_per_type: int,
    demand_scale: float,
    backend: str,
    max_windows: int | None = None,
    forecast: str = "ewma",
    steps: bool = False,
) -> planner.Scenario:
    window: dict[str, float | int | str] = {"window_s": 1.0 if steps else 10.0, "statistic": "mean"}
    if max_windows is not None:
        window["max_windows"] = max_windows
    clipper_la = STATIC["clipper_la"]
    assert isinstance(clipper_la, dict)
    document = {
        "kind": "proteus",
        "name": f"proteus {trace} x{demand_scale:g} ({devices_per_type} devices/type)",
        "solver": {"backend": backend, "mip_gap": 1e-6},
        "profile": {
            "format": "proteus",
            "path": str(REFERENCE / "aggregate_profiled.csv"),
            "variants_dir": str(REFERENCE / "model_variants"),
        },
        "trace": window,
        "forecast": forecast_settings(trace, forecast, steps),
        "demand_scale": demand_scale,
        "devices": {d: {"count": devices_per_type, "profile_accel": a} for d, a in DEVICES.items()},
        "families": {
            f: {"slo_ms": SLO_MS, "trace": str(REFERENCE / "traces" / trace / f"{f}.txt")}
            for f in FAMILIES
        },
    }
    if devices_per_type == PAPER_DEVICES_PER_TYPE:  # the files are for the paper's cluster
        document["static_allocations"] = {
            "path": str(REFERENCE / "allocations_transcribed.csv"),
            "clipper_ha": STATIC["clipper_ha"],
            "clipper_la": clipper_la[trace],
            "sommelier": STATIC["sommelier"],
        }
    return planner.scenario_from_dict(document, base_dir=REFERENCE)


@dataclass(frozen=True)
class WindowTime:
    build_s: float
    solve_s: float
    status: str
    gap: float

    @property
    def build_share(self) -> float:
        total = self.build_s + self.solve_s
        return self.build_s / total if total > 0 else 0.0


def window_times(scenario: planner.Scenario) -> list[WindowTime]:
    """Build and solve seconds of every window of the MILP's plan (see module docstring);
    a window that keeps the last plan takes none."""
    view: ProteusView = prepared_view(scenario)
    solver = TimedSolver(make_solver(scenario.solver))
    usable = candidates(view)
    warm: dict[str, float] | None = None
    out: list[WindowTime] = []
    for w in range(view.windows):
        if w > 0 and not view.replans[w]:
            out.append(WindowTime(0.0, 0.0, out[-1].status, out[-1].gap))
            continue
        inside = solver.solve_s
        started = time.perf_counter()
        solution = solve_window(view, solver, w, usable, warm_start=warm)
        wall_s = time.perf_counter() - started
        warm = solution.result.values_by_name()
        solve_s = solver.solve_s - inside
        certificate = solution.certificate
        out.append(WindowTime(wall_s - solve_s, solve_s, certificate.status.value, certificate.gap))
    return out


def dominated(window: dict[str, float | str | None], name: str) -> bool:
    """A baseline dominates the MILP in a window: it serves a higher effective accuracy
    (shed demand counting accuracy 0), so serving less never looks better."""
    theirs = window[f"{name}_effective_accuracy_served"]
    if not isinstance(theirs, float):
        return False
    return not leq(theirs, float(str(window["effective_accuracy_served"])))


def scenario_arguments(parser: argparse.ArgumentParser, trace: str) -> None:
    """The options every benchmark on Proteus's cluster takes (this one and the replay)."""
    parser.add_argument(
        "--trace", default=trace, choices=["zipf_exponential_300", "zipf_exponential_bursty_300"]
    )
    parser.add_argument("--csv", type=Path, required=True)
    parser.add_argument("--demand-scale", type=float, default=1.0)
    parser.add_argument("--devices-per-type", type=int, default=PAPER_DEVICES_PER_TYPE)
    parser.add_argument("--max-windows", type=int, default=None)
    parser.add_argument("--forecast", choices=["ewma", "oracle"], default="ewma")
    parser.add_argument(
        "--steps", action="store_true", help="Proteus's 1 s steps and re-plan schedule"
    )


@dataclass(frozen=True)
class Served:
    """What a deployment does with the actual demand over the whole trace."""

    shed_pct: float  # % of the demand
    accuracy_drop: float  # 100 - mean accuracy of the served queries, %
    effective_accuracy_served: float  # %, shed counting 0


def served(deployment: ProteusDeployment, accuracy: dict[str, float]) -> Served:
    demand = sum(sum(w.demand_qps.values()) for w in deployment.windows)
    shed = sum(sum(w.shed_qps.values()) for w in deployment.windows)
    done = sum(p.served_qps for w in deployment.windows for p in w.placements)
    quality = sum(
        accuracy.get(p.variant, 0.0) * p.served_qps
        for w in deployment.windows
        for p in w.placements
    )
    return Served(
        100.0 * shed / demand if demand > 0 else 0.0,
        100.0 - quality / done if done > 0 else 100.0,
        quality / demand if demand > 0 else 0.0,
    )


def ratio(numerator: float, denominator: float) -> str:
    return f"{numerator / denominator:.2f}x" if denominator > 0 else f"{numerator:.2f} / 0"


def paper_table(
    reference: dict[str, Served | None], shipped: dict[str, Served | None], setting: str
) -> list[str]:
    """The paper's headline next to ours: timeouts (here: demand shed by the plan's
    capacity) and accuracy drop of served queries, each baseline over Proteus's."""
    lines = [
        "| metric (baseline / Proteus) | paper (ASPLOS '24) | ours, paper inputs "
        f"({setting}) | ours, scenarios/proteus/paper_cluster.toml | what differs |",
        "| --- | --- | --- | --- | --- |",
    ]
    ours, theirs = reference["milp"], shipped.get("milp")
    missing = "no plan" if shipped else "not run"
    metrics = (
        (
            "shed",
            "SLO timeouts 2-10x",
            "fluid capacity model (what exceeds a placement's capacity is shed), not a "
            "queueing replay; see proteus_replay.py for timeouts",
        ),
        (
            "accuracy_drop",
            "accuracy drop up to 3x",
            "same definition (100 - mean normalised accuracy served); planned, not replayed",
        ),
    )
    for metric, paper, differs in metrics:
        for name in BASELINES:
            a, b = reference.get(name), shipped.get(name)
            field = "shed_pct" if metric == "shed" else metric
            here = ratio(getattr(a, field), getattr(ours, field)) if a and ours else "no plan"
            there = ratio(getattr(b, field), getattr(theirs, field)) if b and theirs else missing
            lines.append(f"| {metric} ({name}) | {paper} | {here} | {there} | {differs} |")
    return lines


def _served_by_planner(plan: planner.Plan, view: ProteusView) -> dict[str, Served | None]:
    assert isinstance(plan.deployment, ProteusDeployment)
    out: dict[str, Served | None] = {"milp": served(plan.deployment, view.accuracy)}
    for b in plan.baselines:
        out[b.name] = (
            served(b.deployment, view.accuracy)
            if isinstance(b.deployment, ProteusDeployment)
            else None
        )
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    scenario_arguments(parser, "zipf_exponential_300")
    parser.add_argument("--backend", default="highs")
    parser.add_argument(
        "--no-shipped", action="store_true", help="skip the shipped paper_cluster.toml run"
    )
    args = parser.parse_args(argv)
    if absent(REFERENCE, PROTEUS_DATA):
        return REFERENCE_ABSENT
    case = scenario(
        args.trace,
        args.devices_per_type,
        args.demand_scale,
        args.backend,
        args.max_windows,
        args.forecast,
        args.steps,
    )
    plan = planner.solve(case)
    baselines: dict[str, ProteusDeployment | None] = {
        b.name: b.deployment if isinstance(b.deployment, ProteusDeployment) else None
        for b in plan.baselines
    }
    deployment = plan.deployment
    assert isinstance(deployment, ProteusDeployment)
    times = window_times(case)
    rows = []
    for i, (w, timed) in enumerate(zip(deployment.windows, times, strict=True)):
        row: dict[str, float | str | None] = {"window_start_s": w.window_start_s}
        row.update({f"demand_qps_{f}": w.demand_qps[f] for f in FAMILIES})
        row.update(
            {
                "beta": w.beta,
                "effective_accuracy": w.effective_accuracy,
                "effective_accuracy_served": w.effective_accuracy_served,
                "shed_pct": _shed_pct(w),
                "replanned": str(w.replanned).lower(),
            }
        )
        for name in BASELINES:
            theirs = baselines.get(name)
            mine = theirs.windows[i] if theirs else None
            row[f"{name}_beta"] = mine.beta if mine else None
            row[f"{name}_accuracy"] = mine.effective_accuracy if mine else None
            row[f"{name}_effective_accuracy_served"] = (
                mine.effective_accuracy_served if mine else None
            )
            row[f"{name}_shed_pct"] = _shed_pct(mine) if mine else None
        row.update(
            {
                "build_s": timed.build_s,
                "solve_s": timed.solve_s,
                "build_share": timed.build_share,
                "status": timed.status,
                "gap": timed.gap,
            }
        )
        rows.append(row)
    write_csv_atomic(args.csv, rows)
    planned = [t for t, w in zip(times, deployment.windows, strict=True) if w.replanned]
    solve = [t.build_s + t.solve_s for t in planned]
    beaten = {n: sum(dominated(r, n) for r in rows) for n in BASELINES}
    view: ProteusView = prepared_view(case)
    reference = _served_by_planner(plan, view)
    setting = f"{args.trace} x{args.demand_scale:g}, {args.forecast}" + (
        ", 1 s steps" if args.steps else ", 10 s windows"
    )
    print(
        f"{len(rows)} windows ({len(planned)} re-planned), trace {args.trace}, demand "
        f"x{args.demand_scale:g}, {args.devices_per_type} devices/type, forecast "
        f"{args.forecast}: build+solve per re-plan median {statistics.median(solve):.4f} s, "
        f"max {max(solve):.4f} s; median build share "
        f"{statistics.median(t.build_share for t in planned):.3f}; "
        f"statuses {sorted({t.status for t in planned})}; min beta "
        f"{min(w.beta for w in deployment.windows):g}; mean accuracy "
        f"{statistics.mean(w.effective_accuracy for w in deployment.windows):.3f}; "
        f"served {plan.headline['effective_accuracy_served']:.3f}; shed "
        f"{plan.headline['shed_pct']:.2f}%; windows where a baseline serves a higher "
        f"effective accuracy: {beaten}",
        file=sys.stderr,
    )
    for name, figures in reference.items():
        print(f"  {name}: {figures}", file=sys.stderr)
    shipped: dict[str, Served | None] = {}
    if not args.no_shipped:
        shipped_plan = planner.solve(SHIPPED)
        shipped = _served_by_planner(shipped_plan, prepared_view(planner.load_scenario(SHIPPED)))
    for line in paper_table(reference, shipped, setting):
        print(line, file=sys.stderr)
    return 0


def _shed_pct(window: WindowPlan) -> float:
    demand = sum(window.demand_qps.values())
    return 100.0 * sum(window.shed_qps.values()) / demand if demand > 0 else 0.0


if __name__ == "__main__":
    sys.exit(main())
