"""Plan every 10 s window of Proteus's published trace on the paper's cluster.

    python benchmarks/proteus_reference.py --trace zipf_exponential_300 --csv out.csv \
        [--demand-scale X] [--devices-per-type N] [--backend highs] [--max-windows N]

Reads ../shared/reference/proteus/ (Proteus's published profile, variants and traces, not
part of this project; see ../shared/reference/README.md). Without it, prints one line
saying what is missing and where it comes from, writes nothing and exits with code 3
(``REFERENCE_ABSENT``, the benchmarks' code for "reference data absent").

One CSV row per window: the demand per family, the MILP's beta and
effective accuracy, each baseline's beta and accuracy (from the baselines' deployments the
engine verified), and the MILP's build and solve time (the whole beta loop), status and
gap. The per-window times come from a second pass that calls the formulation's own
per-window step (``formulations.proteus.milp.solve_window``, warm-started as ``solve``
does) with the engine's solver wrapper: build time is the window's wall time minus the
time inside the solver. Prints a summary (median/max build+solve time per window, median
build share, windows where a baseline dominates the MILP) to stderr.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import planner
from formulations.proteus.deployment import ProteusDeployment
from formulations.proteus.milp import candidates, solve_window
from formulations.proteus.view import ProteusView
from formulations.tolerances import close, leq
from planner.backends import make_solver
from planner.engine import TimedSolver, prepared_view
from planner.plan import write_csv_atomic

ROOT = Path(__file__).resolve().parent.parent
REFERENCE = ROOT.parent / "shared" / "reference" / "proteus"
REFERENCE_ABSENT = 3  # exit code of every benchmark run without its reference data
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
BASELINES = ("clipper_ha", "clipper_la", "sommelier", "infaas")


def scenario(
    trace: str,
    devices_per_type: int,
    demand_scale: float,
    backend: str,
    max_windows: int | None = None,
) -> planner.Scenario:
    window: dict[str, float | int | str] = {"window_s": 10.0, "statistic": "mean"}
    if max_windows is not None:
        window["max_windows"] = max_windows
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
        "demand_scale": demand_scale,
        "devices": {d: {"count": devices_per_type, "profile_accel": a} for d, a in DEVICES.items()},
        "families": {
            f: {"slo_ms": SLO_MS, "trace": str(REFERENCE / "traces" / trace / f"{f}.txt")}
            for f in FAMILIES
        },
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
        return self.build_s / (self.build_s + self.solve_s)


def window_times(scenario: planner.Scenario) -> list[WindowTime]:
    """Build and solve seconds of every window of the MILP's plan (see module docstring)."""
    view: ProteusView = prepared_view(scenario)
    solver = TimedSolver(make_solver(scenario.solver))
    usable = candidates(view)
    warm: dict[str, float] | None = None
    out = []
    for w in range(view.windows):
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
    """A baseline dominates the MILP: a higher beta, or the same beta and higher accuracy."""
    beta, accuracy = window[f"{name}_beta"], window[f"{name}_accuracy"]
    if not isinstance(beta, float) or not isinstance(accuracy, float):
        return False
    own_beta, own_accuracy = float(str(window["beta"])), float(str(window["effective_accuracy"]))
    if not leq(beta, own_beta):
        return True
    return close(beta, own_beta) and not leq(accuracy, own_accuracy)


def scenario_arguments(parser: argparse.ArgumentParser, trace: str) -> None:
    """The options every benchmark on Proteus's cluster takes (this one and the replay)."""
    parser.add_argument(
        "--trace", default=trace, choices=["zipf_exponential_300", "zipf_exponential_bursty_300"]
    )
    parser.add_argument("--csv", type=Path, required=True)
    parser.add_argument("--demand-scale", type=float, default=1.0)
    parser.add_argument("--devices-per-type", type=int, default=10)
    parser.add_argument("--max-windows", type=int, default=None)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    scenario_arguments(parser, "zipf_exponential_300")
    parser.add_argument("--backend", default="highs")
    args = parser.parse_args(argv)
    if not REFERENCE.is_dir():
        print(
            f"skipped: Proteus reference data not found at {REFERENCE} (the profile, variants "
            "and traces published with Proteus, UMass-LIDS/Proteus; see "
            "../shared/reference/README.md)",
            file=sys.stderr,
        )
        return REFERENCE_ABSENT
    case = scenario(
        args.trace, args.devices_per_type, args.demand_scale, args.backend, args.max_windows
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
        row.update({"beta": w.beta, "effective_accuracy": w.effective_accuracy})
        for name in BASELINES:
            theirs = baselines.get(name)
            row[f"{name}_beta"] = theirs.windows[i].beta if theirs else None
            row[f"{name}_accuracy"] = theirs.windows[i].effective_accuracy if theirs else None
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
    solve = [t.build_s + t.solve_s for t in times]
    beaten = {n: sum(dominated(r, n) for r in rows) for n in BASELINES}
    print(
        f"{len(rows)} windows, trace {args.trace}, demand x{args.demand_scale:g}, "
        f"{args.devices_per_type} devices/type: build+solve per window median "
        f"{statistics.median(solve):.4f} s, max {max(solve):.4f} s; median build share "
        f"{statistics.median(t.build_share for t in times):.3f}; "
        f"statuses {sorted({t.status for t in times})}; min beta "
        f"{min(w.beta for w in deployment.windows):g}; mean accuracy "
        f"{statistics.mean(w.effective_accuracy for w in deployment.windows):.3f}; "
        f"windows where a baseline dominates: {beaten}",
        file=sys.stderr,
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
