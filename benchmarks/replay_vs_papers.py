"""Our replay against the papers' own simulators, on the same plan and trace (issue 12).

    python benchmarks/replay_vs_papers.py --proteus-repo DIR [--trace zipf_exponential_300]
        [--max-windows N] [--csv out.csv]

Proteus (UMass-LIDS/Proteus, ``core/simulator.py`` ``Simulator``: pure Python, numpy and
pandas) is the one that runs here. ``DIR`` is a checkout of its repository (its licence
allows use for comparison only, so it is never copied into this project; fetch it yourself).
The plan is our MILP's for the paper's cluster (``benchmarks/proteus_reference.py``'s
scenario: 4 device types x 10, Proteus's profile and trace, 10 s windows). Each window, the
Proteus simulator gets the plan's devices (``Simulator.apply_predictor_dict``: one predictor
per device hosting a variant) and its routing as Proteus's canary routing tables
(``Executor.apply_routing_table``: per family, the share of each (device type, variant), the
plan's per-device shares summed; Proteus then picks a predictor of that pair at random), is
run with its accscale batching to the window's end (``simulate_until``). Requests are
``slo_timeouts``' succeeded + timeouts; late are the served requests of its latency log
(``logs/latency``) whose latency passed the family's SLO (300 ms in the trace). Its own
``slo_timeouts["late"]`` counts only those later than 1000 ms (``late_in_log``), printed as
``own_late_counter``. Ours replays the same plan and trace (``formulations/proteus/
simulate.py``, one run: the trace's arrivals replayed exactly) twice: with the plan's routing
(the share of a family the plan leaves unrouted is shed, as ``planner simulate`` does) and
with the shares normalised (``ReplaySettings.normalise_shares``: every request reaches a
device, as Proteus's ``random.choices`` over its routing weights does). Target: SLO
attainment within 2 points (the normalised run against Proteus's).

PPipe's simulator (JonnyKong/PPipe ``cluster-sim``) is Java built with Gradle and needs
Lombok, Tablesaw, Jackson, picocli, fastutil and org.json from Maven Central, which this
machine does not reach (no Gradle either); BatchMaker's simulator is not public. Neither is
compared (docs/BENCHMARKS.md).

Exit 3 without ``../shared/reference/proteus`` or the Proteus checkout (one line says which).
"""

from __future__ import annotations

import argparse
import contextlib
import logging
import os
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks._reference import REFERENCE_ABSENT, absent  # noqa: E402
from benchmarks.proteus_reference import FAMILIES, PROTEUS_DATA, REFERENCE, scenario  # noqa: E402
from formulations.proteus.deployment import ProteusDeployment  # noqa: E402
from formulations.proteus.simulate import BATCHING, PLAN, ReplaySettings, replay_plan  # noqa: E402
from formulations.proteus.view import ProteusView  # noqa: E402
from planner.engine import prepared_view  # noqa: E402
from planner.plan import write_csv_atomic  # noqa: E402

TARGET_POINTS = 2.0  # SLO attainment within this many percentage points
MS_PER_S = 1000.0


@contextlib.contextmanager
def _inside(folder: Path) -> Iterator[None]:
    """Proteus's simulator writes logs/ relative to the working folder."""
    previous = Path.cwd()
    for sub in ("latency", "per_predictor", "throughput", "throughput_per_model"):
        (folder / "logs" / sub).mkdir(parents=True, exist_ok=True)
    os.chdir(folder)
    try:
        yield
    finally:
        os.chdir(previous)


def proteus_simulator(
    repo: Path, trace: str, deployment: ProteusDeployment, windows: int
) -> dict[str, Any]:
    """Replay ``deployment`` in Proteus's own simulator; its counts."""
    import pandas as pd

    if not hasattr(pd.DataFrame, "applymap"):  # Proteus pins pandas 2.1, whose name it uses
        pd.DataFrame.applymap = pd.DataFrame.map  # type: ignore[attr-defined]
    sys.path.insert(0, str(repo))
    from core.simulator import Simulator  # type: ignore[import-not-found]

    with tempfile.TemporaryDirectory() as work, _inside(Path(work)):
        # the trace folder holds only the families' files (as Proteus's trace_path does)
        traces = Path(work) / "traces"
        traces.mkdir()
        for family in FAMILIES:
            (traces / f"{family}.txt").symlink_to(REFERENCE / "traces" / trace / f"{family}.txt")
        simulator = Simulator(
            job_sched_algo="canary_routing",
            logging_level=logging.ERROR,
            trace_path=str(traces),
            mode="debugging",
            max_acc_per_type=10,
            predictors_max=[10, 10, 10, 10],
            n_qos_levels=1,
            fixed_seed=10,
            batching=True,
            model_assignment="ilp",
            batching_algo="accscale",
            profiling_data=str(REFERENCE / "aggregate_profiled.csv"),
            allowed_variants_path=str(REFERENCE / "model_variants"),
        )
        families = [simulator.idx_to_executor[i] for i in sorted(simulator.idx_to_executor)]
        start = time.process_time()
        for w, window in enumerate(deployment.windows[:windows]):
            required: dict[tuple[str, str], int] = {}
            routing: dict[str, dict[tuple[str, str], float]] = {f: {} for f in families}
            for d in window.devices:
                if d.variant is None:
                    continue
                key = (d.variant, d.device_type)
                required[key] = required.get(key, 0) + 1
                if d.family is not None and d.share_of_family > 0:
                    table = routing[d.family]
                    table[(d.device_type, d.variant)] = (
                        table.get((d.device_type, d.variant), 0.0) + d.share_of_family
                    )
            simulator.apply_predictor_dict(required)
            for family in families:
                simulator.executors[family].apply_routing_table(routing[family])
            simulator.simulate_until(int((w + 1) * window_s(deployment) * MS_PER_S))
        if windows == len(deployment.windows):  # the whole trace: finish what is in flight
            simulator.simulate_until(-1)
        cpu_s = time.process_time() - start
        counts = simulator.slo_timeouts
        succeeded, timeouts = counts["succeeded"], counts["timeouts"]
        simulator.latency_logfile.flush()
        late = late_in_log(Path(simulator.latency_logfilename), simulator.slo_dict)
        return {
            "requests": succeeded + timeouts,
            "on_time": succeeded - late,
            "late": late,
            "dropped": timeouts,
            "own_late_counter": counts["late"],
            "cpu_s": cpu_s,
        }


def late_in_log(path: Path, slo_ms: dict[str, float]) -> int:
    """Served requests of Proteus's latency log (``family,arrival_ms,end_ms,latency_ms``
    per line, ``Simulator.process_end_event``) whose latency passed their family's SLO.

    Proteus's own ``slo_timeouts["late"]`` compares the latency to the END_REQUEST event's
    deadline, which ``generate_end_request_event`` never sets, so it is ``Event``'s default
    of 1000 ms (``core/common.py``), not the trace's 300 ms: it counts only requests later
    than 1 s. The log gives each served request's latency, checked here against the SLO."""
    late = 0
    with path.open() as log:
        for line in log:
            family, _, _, latency_ms = line.rstrip("\n").split(",")
            late += float(latency_ms) > slo_ms[family]
    return late


def window_s(deployment: ProteusDeployment) -> float:
    windows = deployment.windows
    return windows[1].window_start_s - windows[0].window_start_s if len(windows) > 1 else 10.0


def ours(view: ProteusView, deployment: ProteusDeployment, normalise: bool) -> dict[str, Any]:
    start = time.process_time()
    settings = ReplaySettings(normalise_shares=normalise)
    total = replay_plan(view, deployment, BATCHING[PLAN], 1, 0, settings).total
    return {
        "requests": total.requests,
        "on_time": total.on_time,
        "late": total.late,
        "dropped": total.dropped,
        "own_late_counter": None,
        "cpu_s": time.process_time() - start,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--proteus-repo", type=Path, required=True)
    parser.add_argument(
        "--trace",
        default="zipf_exponential_300",
        choices=["zipf_exponential_300", "zipf_exponential_bursty_300"],
    )
    parser.add_argument("--max-windows", type=int, default=None)
    parser.add_argument("--csv", type=Path, default=None)
    args = parser.parse_args(argv)
    if absent(REFERENCE, PROTEUS_DATA) or absent(
        args.proteus_repo / "core" / "simulator.py",
        "a checkout of the Proteus repository (UMass-LIDS/Proteus) given as --proteus-repo",
    ):
        return REFERENCE_ABSENT
    case = scenario(args.trace, 10, 1.0, "highs", args.max_windows)
    import planner

    plan = planner.solve(case, baselines=False)
    deployment = plan.deployment
    assert isinstance(deployment, ProteusDeployment)
    view = prepared_view(case)
    assert isinstance(view, ProteusView)
    rows = []
    for name, counts in (
        ("ours, the plan's routing (unrouted shed)", ours(view, deployment, False)),
        ("ours, routing normalised as Proteus's", ours(view, deployment, True)),
        (
            "Proteus core/simulator.py",
            proteus_simulator(args.proteus_repo, args.trace, deployment, len(deployment.windows)),
        ),
    ):
        attainment = 100 * counts["on_time"] / counts["requests"] if counts["requests"] else None
        rows.append({"simulator": name, **counts, "slo_attainment_pct": attainment})
    gap = abs(rows[1]["slo_attainment_pct"] - rows[2]["slo_attainment_pct"])
    for row in rows:
        print(
            f"{row['simulator']:42s} requests {row['requests']:>7} late {row['late']:>6} "
            f"dropped {row['dropped']:>6} attainment {row['slo_attainment_pct']:.2f}% "
            f"({row['cpu_s']:.1f} CPU s)"
        )
    verdict = "within" if gap <= TARGET_POINTS else "NOT within"
    print(
        f"normalised routing vs Proteus's simulator: {gap:.2f} points, {verdict} the "
        f"{TARGET_POINTS:g}-point target"
    )
    if args.csv is not None:
        write_csv_atomic(args.csv, rows)
    return 0


if __name__ == "__main__":
    sys.exit(main())
