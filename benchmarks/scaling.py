"""How plan size and time grow with each kind's main size driver, and each kind's build share.

    python benchmarks/scaling.py --csv out.csv [--kinds pifs ppipe ...] [--max-factor 8]
        [--time-limit S]
    python benchmarks/scaling.py --shipped --csv out.csv [--kinds ...] [--time-limit S]

Scaling mode: for every registered kind (``planner.registry.KINDS``) one shipped scenario is
scaled by 1x, 2x, 4x, ... up to ``--max-factor`` in its main size driver, by transforming
its parsed TOML document (:data:`SCALERS`, each says what it scales) and validating it with
``planner.scenario_from_dict``. Every point is planned by the engine (``planner.solve``, the
scenario's own solver settings, its time limit capped at ``--time-limit``, default 120 s) in
a fresh subprocess, so that its peak memory is its own: ``peak_rss_mib`` is the subprocess's
peak resident set (``resource.getrusage(RUSAGE_SELF).ru_maxrss``, so it includes the
interpreter and the kind's imports, 80-160 MiB here). A point whose solver hit a limit (with
or without a plan), or whose subprocess outlived three times the limit plus 60 s and was
killed, is marked in ``limit`` (``time_limit`` / ``killed``); a scaled document the schema
refuses is marked ``refused`` with the reason. Columns: ``kind``, ``scenario``, ``factor``,
``driver`` (the scaled quantities at that factor), ``variables``, ``integers``,
``constraints`` (the largest model the plan solved), ``prepare_s``, ``build_s``,
``solve_s``, ``wall_s`` (from ``plan.timing``; ``wall_s`` is the sum of every stage,
baselines included), ``build_share`` (``build_s / wall_s``), ``peak_rss_mib``, ``cpu_s``
(the subprocess's user plus system CPU seconds, imports included: on a shared machine a
steadier figure than wall time), ``gap``,
``status``, ``termination``, ``limit``. The summary on stdout gives, per kind, the least-
squares slope of ``log wall_s`` on ``log factor`` over the points that finished within the
limit (the growth exponent; with a limited point left out it understates the growth, and the
summary says so).

Shipped mode (``--shipped``): every scenario file under ``scenarios/<kind>/`` at 1x, same
columns, and the summary names each kind's largest scenario (most variables) with its
build share: model building should stay under a quarter of wall time.

Without the reference data the scenarios that read it are refused at load (exit code 2 in
the subprocess); such points are marked ``refused`` with the loader's message.
"""

from __future__ import annotations

import argparse
import copy
import json
import math
import resource
import subprocess
import sys
import tomllib
from collections.abc import Callable
from itertools import pairwise
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import planner  # noqa: E402
from formulations.ppipe.inputs import instance_inputs, load_instances  # noqa: E402
from formulations.types import LimitError, PlannerError  # noqa: E402
from planner.plan import write_csv_atomic  # noqa: E402
from planner.registry import KINDS  # noqa: E402

SCENARIOS = ROOT / "scenarios"
DEFAULT_TIME_LIMIT_S = 120.0  # per point: the solver's limit, so that every run finishes
KILL_MARGIN_S = 60.0  # a subprocess is killed after 3 x the limit plus this margin
KIB_PER_MIB = 1024  # ru_maxrss is in KiB on Linux
AS_SHIPPED = 0  # the factor a point is given to run its scenario as shipped (no scaler)

Document = dict[str, Any]
Scaler = Callable[[Document, int, Path], tuple[Document, str]]


def _renamed(entries: list[Document], factor: int, key: str = "name") -> list[Document]:
    """``entries`` repeated ``factor`` times, copies named ``<name>_<i>`` (i = 2..factor)."""
    out = [copy.deepcopy(e) for e in entries]
    for copy_index in range(2, factor + 1):
        for entry in entries:
            twin = copy.deepcopy(entry)
            twin[key] = f"{entry[key]}_{copy_index}"
            out.append(twin)
    return out


def _scale_pifs(doc: Document, factor: int, base: Path) -> tuple[Document, str]:
    """Tables x f, with switch ports, host DRAM and reduction bandwidth x f so that the
    tables fit (ports capped at the schema's 64)."""
    doc["workload"]["synthetic_tables"] *= factor
    fabric = doc["fabric"]
    fabric["ports"] = min(64, fabric["ports"] * factor)
    fabric["host_capacity_gib"] *= factor
    fabric["reduction_gb_per_s"] *= factor
    return doc, f"tables={doc['workload']['synthetic_tables']} ports={fabric['ports']}"


def _scale_proteus(doc: Document, factor: int, base: Path) -> tuple[Document, str]:
    """Devices of every type x f and every family's demand x f (``demand_scale``); the
    families are the profile's nine, so their number cannot grow."""
    for device in doc["devices"].values():
        device["count"] *= factor
    doc["demand_scale"] = doc.get("demand_scale", 1.0) * factor
    devices = sum(d["count"] for d in doc["devices"].values())
    return doc, f"devices={devices} demand_scale={doc['demand_scale']:g}"


def _scale_ppipe(doc: Document, factor: int, base: Path) -> tuple[Document, str]:
    """GPUs of every type x f and DNNs x f: the instance's, then other published DNNs on
    the same GPU pair in instance order, each with its own SLO and rate (as many as
    published, at most the schema's 32), with the instance's weights repeated in turn (so
    1x is the shipped scenario)."""
    ref = doc.pop("published_instance")
    file = (base / ref["file"]).resolve()
    instances = load_instances(file)
    instance = instances[ref["key"]]
    per_dnn: dict[str, Any] = {}
    for other in instances.values():
        if other["gpus"] == instance["gpus"]:
            for dnn in other["dnns"]:
                per_dnn.setdefault(dnn, other["per_dnn"][dnn])
    dnns = list(instance["dnns"]) + [d for d in per_dnn if d not in instance["dnns"]]
    dnns = dnns[: min(32, len(instance["dnns"]) * factor)]
    weights = instance["workload_weights"]
    cycled = [weights[i % len(weights)] for i in range(len(dnns))]
    expanded = instance_inputs(
        {**instance, "dnns": dnns, "per_dnn": per_dnn, "workload_weights": cycled}, file.parent
    )
    for gpu in expanded["gpus"]:
        gpu["count"] *= factor
    doc.update(expanded)
    gpus = sum(g["count"] for g in expanded["gpus"])
    return doc, f"dnns={len(dnns)} gpus={gpus}"


def _scale_cocktail(doc: Document, factor: int, base: Path) -> tuple[Document, str]:
    """Planning intervals x f (the day's load repeated f times); the 12 models are
    Cocktail's whole zoo, so their number cannot grow."""
    for request_class in doc["classes"]:
        request_class["load"]["qps"] = list(request_class["load"]["qps"]) * factor
    intervals = len(doc["classes"][0]["load"]["qps"])
    return doc, f"intervals={intervals} models={len(doc['models'])}"


def _scale_ddl(doc: Document, factor: int, base: Path) -> tuple[Document, str]:
    """Jobs x f (copies renamed, same model and deadline) and every quota x f; the instance
    types are the catalog's, so their number cannot grow."""
    doc["jobs"] = _renamed(doc["jobs"], factor)
    for quota in doc.get("quotas", []):
        quota["vcpus"] *= factor
    return doc, f"jobs={len(doc['jobs'])}"


def _scale_batch(doc: Document, factor: int, base: Path) -> tuple[Document, str]:
    """Hours of arrivals x f (``duration_h``, capped at the schema's 24)."""
    arrivals = doc["arrivals"]
    arrivals["duration_h"] = min(24.0, arrivals.get("duration_h", 1.0) * factor)
    return doc, f"hours={arrivals['duration_h']:g}"


def _scale_polymorphic(doc: Document, factor: int, base: Path) -> tuple[Document, str]:
    """DNNs x f (copies renamed; the schema allows 16), PE array area x f (rows and columns
    x sqrt f, rounded down to whole tiles), and buffer, DRAM bandwidth and their share steps
    x f (steps capped at the schema's 64; every DNN needs at least one step of each)."""
    doc["dnns"] = _renamed(doc["dnns"], factor)
    array = doc["array"]
    array["buffer_mib"] *= factor
    array["dram_gb_per_s"] *= factor
    for key in ("buffer_share_steps", "bandwidth_share_steps"):
        array[key] = min(64, array[key] * factor)
    side = math.sqrt(factor)
    for key in ("rows", "cols"):
        array[key] = max(array["tile"], int(array[key] * side) // array["tile"] * array["tile"])
    return doc, f"dnns={len(doc['dnns'])} array={array['rows']}x{array['cols']}"


def _split_edges(edges: list[int], factor: int) -> list[int]:
    """Every bucket [a, b) of ``edges`` cut into ``factor`` near-equal integer buckets
    (fewer when it is too narrow)."""
    out = [edges[0]]
    for low, high in pairwise(edges):
        inner = np.linspace(low, high, factor + 1)[1:-1].round().astype(int).tolist()
        out += [*sorted({e for e in inner if low < e < high}), high]
    return out


def _scale_llm(doc: Document, factor: int, base: Path) -> tuple[Document, str]:
    """Input-length buckets x f (each cut in f, its share split evenly) and total rate x f;
    the GPU types are the catalog's four, so their number cannot grow."""
    workload = doc["workload"]
    edges = workload["input_edges_tokens"]
    split = _split_edges(edges, factor)
    shares = []
    for (low, high), row in zip(pairwise(edges), workload["shares"], strict=True):
        parts = [e for e in split if low <= e <= high]
        pieces = len(parts) - 1
        shares += [[s / pieces for s in row]] * pieces
    workload["input_edges_tokens"] = split
    workload["shares"] = shares
    workload["total_rate_qps"] *= factor
    buckets = len(shares) * len(shares[0])
    return doc, f"buckets={buckets} rate_qps={workload['total_rate_qps']:g}"


def _scale_cellular(doc: Document, factor: int, base: Path) -> tuple[Document, str]:
    """Length buckets x f (each cut in f where wide enough, its rate split evenly), total
    rate x f and every GPU type's max_count x f."""
    buckets = []
    for bucket in doc["traffic"]:
        low, high = bucket["min_tokens"], bucket["max_tokens"]
        edges = _split_edges([low, high + 1], factor)
        for start, stop in pairwise(edges):
            rate = bucket["rate_qps"] * factor / (len(edges) - 1)
            buckets.append({"min_tokens": start, "max_tokens": stop - 1, "rate_qps": rate})
    doc["traffic"] = buckets
    for gpu in doc["gpus"]:
        gpu["max_count"] *= factor
    return doc, f"buckets={len(buckets)} gpus_max={sum(g['max_count'] for g in doc['gpus'])}"


# kind -> (shipped scenario scaled, scaler)
SCALERS: dict[str, tuple[str, Scaler]] = {
    "proteus": ("paper_cluster.toml", _scale_proteus),
    "ppipe": ("maf19_l4_t4.toml", _scale_ppipe),
    "cocktail": ("imagenet_day.toml", _scale_cocktail),
    "pifs": ("meta856_16port.toml", _scale_pifs),
    "ddl": ("shared_quota.toml", _scale_ddl),
    "batch": ("poisson_hour.toml", _scale_batch),
    "polymorphic": ("mixed_cnn_mlp_rnn.toml", _scale_polymorphic),
    "llm": ("chat_llama2_7b.toml", _scale_llm),
    "cellular": ("lstm_ptb.toml", _scale_cellular),
}


def scaled_document(path: Path, kind: str, factor: int) -> tuple[Document, str]:
    """The scenario at ``path`` scaled ``factor`` times by its kind's scaler."""
    with path.open("rb") as handle:
        document = tomllib.load(handle)
    return SCALERS[kind][1](document, factor, path.parent)


def run_point(path: Path, kind: str, factor: int, time_limit_s: float) -> dict[str, Any]:
    """Plan one point in this process (the subprocess's job) and return its row;
    ``factor = AS_SHIPPED`` plans the file as shipped."""
    row: dict[str, Any] = {"kind": kind, "scenario": path.name, "factor": factor}
    try:
        if factor == AS_SHIPPED:
            row["factor"] = 1
            with path.open("rb") as handle:
                document, row["driver"] = tomllib.load(handle), "as shipped"
        else:
            document, row["driver"] = scaled_document(path, kind, factor)
        solver = document.setdefault("solver", {})
        solver["time_limit_s"] = min(solver.get("time_limit_s", time_limit_s), time_limit_s)
        scenario = planner.scenario_from_dict(document, path.parent, str(path))
        plan = planner.solve(scenario)
    except LimitError as error:
        row.update(limit="time_limit", status="no_solution", termination=str(error)[:300])
        return row
    except (PlannerError, KeyError, ValueError) as error:
        row["limit"] = "refused"
        row["status"] = f"{type(error).__name__}: {error}".replace("\n", " ")[:300]
        return row
    size = plan.certificate.size
    timing = plan.timing
    row.update(
        variables=size.variables,
        integers=size.integers,
        constraints=size.constraints,
        prepare_s=timing.prepare_s,
        build_s=timing.build_s,
        solve_s=timing.solve_s,
        wall_s=timing.wall_s,
        build_share=timing.build_s / timing.wall_s if timing.wall_s > 0 else None,
        gap=plan.gap,
        status=plan.status.value,
        termination=plan.termination.value,
        limit="time_limit" if plan.termination.is_limit else "",
    )
    return row


def measure(path: Path, kind: str, factor: int, time_limit_s: float) -> dict[str, Any]:
    """Run one point in a fresh subprocess (its own peak memory) and return its row."""
    shown = max(factor, 1)
    command = [
        sys.executable,
        __file__,
        "--point",
        str(path),
        kind,
        str(factor),
        "--time-limit",
        str(time_limit_s),
    ]
    try:
        done = subprocess.run(
            command,
            capture_output=True,
            text=True,
            timeout=3 * time_limit_s + KILL_MARGIN_S,
            check=False,
        )
    except subprocess.TimeoutExpired:
        return {"kind": kind, "scenario": path.name, "factor": shown, "limit": "killed"}
    lines = done.stdout.strip().splitlines()
    if done.returncode != 0 or not lines:
        message = (done.stderr.strip().splitlines() or ["no output"])[-1]
        return {
            "kind": kind,
            "scenario": path.name,
            "factor": shown,
            "limit": "refused",
            "status": f"exit {done.returncode}: {message}"[:300],
        }
    row: dict[str, Any] = json.loads(lines[-1])
    return row


def growth_exponent(rows: list[dict[str, Any]]) -> float | None:
    """Least-squares slope of log wall_s on log factor over the rows that finished within
    the limit (None with fewer than two)."""
    points = [(r["factor"], r["wall_s"]) for r in rows if not r.get("limit") and r.get("wall_s")]
    if len(points) < 2:
        return None
    x = np.log([p[0] for p in points])
    y = np.log([p[1] for p in points])
    slope, _ = np.polyfit(x, y, 1)
    return float(slope)


def summary(rows: list[dict[str, Any]], shipped: bool) -> str:
    lines = []
    for kind in dict.fromkeys(r["kind"] for r in rows):
        mine = [r for r in rows if r["kind"] == kind]
        if shipped:
            solved = [r for r in mine if r.get("variables") is not None]
            if not solved:
                lines.append(f"{kind}: no scenario planned")
                continue
            largest = max(solved, key=lambda r: (r["variables"], r["constraints"]))
            share = largest["build_share"]
            verdict = "ok" if share is not None and share < 0.25 else "OVER a quarter"
            lines.append(
                f"{kind}: largest {largest['scenario']} ({largest['variables']:,} variables): "
                f"build {largest['build_s']:.3f} s of wall {largest['wall_s']:.3f} s "
                f"= {share:.1%} ({verdict})"
            )
            continue
        exponent = growth_exponent(mine)
        limited = [str(r["factor"]) for r in mine if r.get("limit")]
        text = f"{kind}: wall-time exponent " + (
            f"{exponent:.2f}" if exponent is not None else "n/a"
        )
        if limited:
            text += f" (left out, {'/'.join(limited)}x: limit or refused; understates growth)"
        lines.append(text)
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--csv", type=Path)
    parser.add_argument("--kinds", nargs="+", choices=list(KINDS), default=list(KINDS))
    parser.add_argument("--max-factor", type=int, default=8, help="largest factor (power of 2)")
    parser.add_argument("--time-limit", type=float, default=DEFAULT_TIME_LIMIT_S)
    parser.add_argument("--shipped", action="store_true", help="every shipped scenario at 1x")
    parser.add_argument("--point", nargs=3, metavar=("PATH", "KIND", "FACTOR"), help="internal")
    args = parser.parse_args()
    if args.point:
        path, kind, factor = Path(args.point[0]), args.point[1], int(args.point[2])
        row = run_point(path, kind, factor, args.time_limit)
        usage = resource.getrusage(resource.RUSAGE_SELF)
        row["peak_rss_mib"] = usage.ru_maxrss / KIB_PER_MIB
        row["cpu_s"] = usage.ru_utime + usage.ru_stime
        print(json.dumps(row))
        return 0
    if args.csv is None:
        parser.error("--csv is required")
    factors = [2**i for i in range(int(math.log2(args.max_factor)) + 1)]
    jobs: list[tuple[Path, str, int]] = []
    for kind in args.kinds:
        if args.shipped:
            jobs += [(p, kind, AS_SHIPPED) for p in sorted((SCENARIOS / kind).glob("*.toml"))]
        else:
            jobs += [(SCENARIOS / kind / SCALERS[kind][0], kind, f) for f in factors]
    rows = []
    for path, kind, factor in jobs:
        row = measure(path, kind, factor, args.time_limit)
        rows.append(row)
        print(
            f"{kind} {path.name} {row['factor']}x {row.get('driver', '')}: "
            f"wall {row.get('wall_s', math.nan):.2f} s, cpu {row.get('cpu_s', math.nan):.2f} s, "
            f"build {row.get('build_s', 0):.3f} s, gap {row.get('gap')}, "
            f"{row.get('variables')} vars, {row.get('limit') or row.get('status')}",
            flush=True,
        )
        write_csv_atomic(args.csv, rows)
    print(summary(rows, args.shipped))
    return 0


if __name__ == "__main__":
    sys.exit(main())
