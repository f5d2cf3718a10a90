"""Helpers of the pifs tests: random tiny instances, planning them through the engine, and
a brute-force optimum over every page assignment."""

from __future__ import annotations

import itertools
from pathlib import Path
from typing import Any

import numpy as np

import planner
from cost_models.pifs.busy import HOLDS_EPS, batch_cost
from formulations.pifs import FORMULATION
from formulations.pifs.inputs import PifsInputs
from formulations.pifs.view import PifsView
from planner.plan import Plan
from tests.conftest import ROOT, write_scenario

SCENARIOS = ROOT / "scenarios" / "pifs"
LOCALITY = ROOT.parent / "shared" / "reference" / "dlrm" / "meta_2022_locality_stats.txt"


def tiny(
    seed: int, *, pages: bool = True, engine: bool = True, n_tables: int = 2, ports: int = 2
) -> dict[str, Any]:
    """A random tiny instance whose bandwidths and capacities make trade-offs bind."""
    rng = np.random.default_rng(seed)
    tables: list[dict[str, Any]] = [
        {
            "name": f"t{i}",
            "rows": int(rng.integers(200, 2000)),
            "dim": int(rng.choice([4, 8])),
            "bytes_per_element": 4,
            "pooling": float(rng.choice([1.0, 3.0, 8.0])),
        }
        for i in range(n_tables)
    ]
    total = sum(t["rows"] * t["dim"] * 4 for t in tables)
    doc: dict[str, Any] = {
        "fabric": {
            "ports": ports,
            "host_capacity_gib": float(rng.uniform(0.2, 0.6)) * total / 2**30,
            "host_dram_gb_per_s": float(rng.uniform(10, 100)),
            "upstream_lanes": int(rng.choice([1, 2, 4])),
            "reduction_engine": engine,
            "reduction_gb_per_s": float(rng.uniform(5, 50)),
            "switch_buffer_mib": float(rng.choice([1.0, 40 / 2**20])),
            "expander": {
                "capacity_gib": float(rng.uniform(0.3, 0.9)) * total / 2**30,
                "channels": 1,
                "channel_gb_per_s": float(rng.uniform(5, 40)),
                "efficiency": 1.0,
            },
        },
        "workload": {"tables": tables, "batch_size": 64},
        "hotness": {"zipf_exponent": float(rng.uniform(0.6, 1.3)), "buckets": 2},
    }
    if pages:
        largest = max(t["rows"] * t["dim"] * 4 for t in tables) / 2
        doc["placement"] = {"page_kib": float(np.ceil(largest / 2 / 1024 + 1e-9))}
    return doc


def view_of(doc: dict[str, Any]) -> PifsView:
    return FORMULATION.prepare(PifsInputs.model_validate(doc))


def plan(
    folder: Path,
    doc: dict[str, Any],
    backend: str = "highs",
    mip_gap: float = 1e-7,
    baselines: bool = False,
) -> Plan:
    """Plan ``doc`` through the engine (which verifies the plan and cross-checks its
    objective with the verifier's)."""
    index = len(list(folder.glob("*.toml")))
    scenario = {
        "kind": "pifs",
        "name": "tiny",
        "solver": {"backend": backend, "mip_gap": mip_gap},
        **doc,
    }
    path = write_scenario(folder / f"s{index}.toml", scenario)
    return planner.solve(path, baselines=baselines)


def brute_force(view: PifsView) -> float:
    """Minimum latency over every page assignment and every reduction choice."""
    fabric, work = view.fabric, view.workload
    n_l = len(fabric.locations)
    page = view.page_bytes
    assert page is not None
    buckets = [(t, b) for t, tab in enumerate(work.tables) for b in range(len(tab.buckets))]
    options = []
    for t, b in buckets:
        n = view.pages(t, b)
        options.append([c for c in itertools.product(range(n + 1), repeat=n_l) if sum(c) == n])
    cap = np.array([loc.capacity_bytes for loc in fabric.locations])
    reductions = (
        list(itertools.product([False, True], repeat=len(work.tables)))
        if fabric.has_reduction
        else [(False,) * len(work.tables)]
    )
    names = {tab.name: i for i, tab in enumerate(work.tables)}
    best = np.inf
    for choice in itertools.product(*options):
        counts = np.array(choice, dtype=float)
        if np.any(counts.sum(axis=0) * page > cap * (1 + 1e-9)):
            continue
        fractions = [np.zeros((len(tab.buckets), n_l)) for tab in work.tables]
        for (t, b), c in zip(buckets, counts, strict=True):
            fractions[t][b] = c / view.pages(t, b)
        present = [set(np.flatnonzero((f > HOLDS_EPS).any(axis=0))) for f in fractions]
        if any(
            present[names[a]] & present[names[b]]
            for group in view.inputs.placement.separate
            for a, b in itertools.combinations(group, 2)
        ):
            continue
        for reduced in reductions:
            cost = batch_cost(fabric, work, fractions, reduced, view.window_samples)
            if cost.buffer_bytes <= fabric.switch_buffer_bytes * (1 + 1e-9):
                best = min(best, cost.latency_us)
    return float(best)
