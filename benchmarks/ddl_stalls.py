"""Stash's findings from the ddl stall model, and the planner on the ddl scenarios.

    python benchmarks/ddl_stalls.py --csv out.csv [--repeats 5]

Writes one CSV row per (scenario, configuration): every configuration of every job of every
``scenarios/ddl/*.toml`` file (``role`` = ``recommended``, the baseline name(s) it equals,
joined by ``+``, or ``candidate``), plus a sweep in the spirit of Stash's measurement grid
(``sweep/<model>-b<batch>-<precision>``: each model x per-GPU batch {8, 32} x precision
{tf32 (FP32 CUDA cores before Ampere), fp16}, every instance type, 1 or 2 nodes,
on-demand, 10 epochs, no deadline: empty ``meets_deadline``). Prints the planner's solve
times (median / max over ``--repeats``), the recommendation against each baseline, and the
three findings:

1. the largest interconnect share of iteration time on a PCIe-only multi-GPU instance;
2. the slowdown of 2 x p3.8xlarge (10 Gbit/s between nodes) against 1 x p3.16xlarge (the same
   8 V100s on NVLink) for VGG-11;
3. pairs of single-node on-demand configurations where the pricier instance is slower.

It reads no reference data (everything comes from the stall model, ``cost_models/ddl``, and
the shipped scenarios), so it never exits with code 3, the benchmarks' code for reference
data that is absent.
"""

from __future__ import annotations

import argparse
import csv
import io
import statistics
import sys
import textwrap
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import planner  # noqa: E402
from cost_models.cloud import instance  # noqa: E402
from cost_models.ddl.estimate import Estimate, Job, Market, estimate  # noqa: E402
from cost_models.ddl.topology import TOPOLOGY_INSTANCES, topology  # noqa: E402
from cost_models.ddl.workloads import MODELS  # noqa: E402
from cost_models.devices import Precision  # noqa: E402
from formulations.ddl.baselines import per_job  # noqa: E402
from formulations.ddl.candidates import meets_limit  # noqa: E402
from formulations.ddl.deployment import DdlDeployment  # noqa: E402
from formulations.ddl.view import DdlView  # noqa: E402
from planner.engine import prepared_view  # noqa: E402
from planner.plan import write_atomic  # noqa: E402

Row = dict[str, Any]
WIDTH = 100  # columns: what is printed fits a 100-column terminal (issue 19)

COLUMNS = [
    "scenario",
    "model",
    "instance_type",
    "nodes",
    "market",
    "role",
    "iteration_s",
    "compute_pct",
    "fetch_pct",
    "prep_pct",
    "interconnect_pct",
    "network_pct",
    "hours",
    "cost_usd",
    "meets_deadline",
]
SWEEP_EPOCHS = 10
SWEEP_BATCHES = (8, 32)
SWEEP_PRECISIONS = (Precision.TF32, Precision.FP16)  # TF32: PyTorch's cuDNN default


def _row(scenario: str, model: str, e: Estimate, role: str, meets: bool | None) -> Row:
    return {
        "scenario": scenario,
        "model": model,
        "instance_type": e.instance_type,
        "nodes": e.nodes,
        "market": e.market.value,
        "role": role,
        "iteration_s": e.iteration_s,
        **{f"{cause}_pct": e.pct(s) for cause, s in e.breakdown_s().items()},
        "hours": e.hours,
        "cost_usd": e.cost_usd,
        "meets_deadline": "" if meets is None else meets,
    }


def scenario_rows(
    path: Path, repeats: int
) -> tuple[list[Row], list[float], list[float], list[str]]:
    """Rows of one scenario file, the planner's wall times (whole ``planner.solve`` of a
    freshly loaded scenario, so the stall-model enumeration counts), its MILP solve times
    (both stages), and each job's baselines against the recommendation."""
    walls, solves = [], []
    for _ in range(repeats):
        scenario = planner.load_scenario(path)
        start = time.perf_counter()
        plan = planner.solve(scenario)
        walls.append(time.perf_counter() - start)
        solves.append(plan.timing.solve_s)
    view: DdlView = prepared_view(scenario)
    inputs = view.inputs
    assert isinstance(plan.deployment, DdlDeployment)
    chosen = {a.job: a.config for a in plan.deployment.assignments}
    rows, notes = [], []
    for spec in inputs.jobs:
        name = path.stem if len(inputs.jobs) == 1 else f"{path.stem}/{spec.name}"
        cands = view.candidates[spec.name]
        base = {label: c.estimate for label, c in per_job(view, spec).items()}
        mine = next(c.estimate for c in cands if c.estimate.config == chosen[spec.name])
        for label, e in base.items():
            notes.append(
                f"{name}: {label} {e.nodes} x {e.instance_type} ({e.market.value}) "
                f"{e.hours:.2f} h ${e.cost_usd:.2f} = {e.cost_usd / mine.cost_usd:.2f}x "
                f"the cost, {e.hours / mine.hours:.2f}x the time of the "
                f"recommendation ({mine.nodes} x {mine.instance_type} "
                f"{mine.market.value}, {mine.hours:.2f} h ${mine.cost_usd:.2f}); "
                f"meets deadline: {meets_limit(e.hours, spec.deadline_h)}"
            )
        for c in cands:
            e = c.estimate
            roles = [label for label, b in base.items() if b.config == e.config]
            role = "recommended" if e.config == chosen[spec.name] else "+".join(roles)
            rows.append(
                _row(
                    name,
                    spec.model,
                    e,
                    role or "candidate",
                    meets_limit(e.hours, spec.deadline_h) if spec.deadline_h else None,
                )
            )
    return rows, walls, solves, notes


def sweep() -> dict[str, list[Estimate]]:
    out: dict[str, list[Estimate]] = {}
    for model in MODELS.values():
        for batch in SWEEP_BATCHES:
            for precision in SWEEP_PRECISIONS:
                job = Job(model, SWEEP_EPOCHS, batch, precision)
                out[f"sweep/{model.name}-b{batch}-{precision.value}"] = [
                    estimate(job, t, n, Market.ON_DEMAND)
                    for t in TOPOLOGY_INSTANCES
                    for n in (1, 2)
                ]
    return out


def _pcie_only(instance_type: str) -> bool:
    graph = topology(instance_type)
    return not any(link.startswith("nvlink") for _, _, link in graph.edges(data="link"))


def findings(sweeps: dict[str, list[Estimate]], rows: list[Row]) -> list[str]:
    lines = []
    pcie = [
        (name, e)
        for name, ests in sweeps.items()
        for e in ests
        if e.nodes == 1 and e.gpus > 1 and _pcie_only(e.instance_type)
    ]
    name, e = max(pcie, key=lambda p: p[1].pct(p[1].interconnect_stall_s))
    lines.append(
        f"1. interconnect share on PCIe-only multi-GPU instances: up to "
        f"{e.pct(e.interconnect_stall_s):.1f}% ({name}, {e.instance_type})"
    )
    for name, ests in sweeps.items():
        if "vgg11" not in name:
            continue
        by_key = {(x.instance_type, x.nodes): x for x in ests}
        one, two = by_key["p3.16xlarge", 1], by_key["p3.8xlarge", 2]
        lines.append(
            f"2. {name}: 2 x p3.8xlarge {two.iteration_s * 1e3:.0f} ms/iteration "
            f"(network {two.pct(two.network_stall_s):.0f}%) vs 1 x p3.16xlarge "
            f"{one.iteration_s * 1e3:.0f} ms: {two.iteration_s / one.iteration_s:.1f}x"
        )
    groups: dict[str, list[Row]] = {}
    for row in rows:
        if row["nodes"] == 1 and row["market"] == "on_demand":
            groups.setdefault(row["scenario"], []).append(row)
    pairs = 0
    for scenario, group in groups.items():
        price = {
            r["instance_type"]: instance(r["instance_type"]).on_demand_usd_per_h for r in group
        }
        pairs += sum(
            1
            for a in group
            for b in group
            if price[a["instance_type"]] > price[b["instance_type"]]
            and a["hours"] > b["hours"] * 1.001
        )
        priciest = max(group, key=lambda r: price[r["instance_type"]])
        fastest = min(group, key=lambda r: r["hours"])
        if fastest["hours"] < priciest["hours"] * 0.999:
            lines.append(
                f"3. {scenario}: the priciest instance, {priciest['instance_type']} "
                f"(${price[priciest['instance_type']]:.2f}/h), takes {priciest['hours']:.2f} h "
                f"(prep {priciest['prep_pct']:.0f}%, fetch {priciest['fetch_pct']:.0f}%, "
                f"interconnect {priciest['interconnect_pct']:.0f}%); "
                f"{fastest['instance_type']} (${price[fastest['instance_type']]:.2f}/h) "
                f"takes {fastest['hours']:.2f} h"
            )
    lines.append(
        f"3. pairs of single on-demand instances where the pricier one is slower: "
        f"{pairs} over {len(groups)} scenarios"
    )
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--csv", type=Path, required=True, help="output CSV path")
    parser.add_argument("--repeats", type=int, default=5, help="solves per scenario")
    parser.add_argument("--scenarios", type=Path, default=ROOT / "scenarios" / "ddl")
    args = parser.parse_args()

    rows: list[Row] = []
    print("scenario                       solve() median_s  max_s  MILP median_s  max_s")
    for path in sorted(args.scenarios.glob("*.toml")):
        scenario_r, walls, solves, notes = scenario_rows(path, args.repeats)
        rows += scenario_r
        print(
            f"{path.stem:30s} {statistics.median(walls):16.3f} {max(walls):6.3f} "
            f"{statistics.median(solves):14.4f} {max(solves):6.4f}"
        )
        for note in notes:
            print(textwrap.fill(note, WIDTH, initial_indent="    ", subsequent_indent="      "))
    sweeps = sweep()
    for name, ests in sweeps.items():
        model = name.split("/")[1].split("-b")[0]
        rows += [_row(name, model, e, "candidate", None) for e in ests]
    for line in findings(sweeps, rows):
        print(textwrap.fill(line, WIDTH, subsequent_indent="   "))
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=COLUMNS)
    writer.writeheader()
    writer.writerows(rows)
    write_atomic(args.csv, buffer.getvalue())
    print(f"wrote {len(rows)} rows to {args.csv}")


if __name__ == "__main__":
    main()
