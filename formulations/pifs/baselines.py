"""Placement policies the MILP is compared with, on the same inputs and cost model.

Each returns units per (bucket k, location l) (fractions, or whole pages in page mode) and
which tables are pooled in the switch (``torchrec_greedy``: ``None`` when a whole table
fits at no location); the engine verifies each with the plan's verifier, so a placement
that overfills a location is reported as infeasible:

* ``pond``: Pond-like CXL memory pooling: every table interleaved evenly over all
  expanders (host DRAM only takes the same share of every bucket when the expanders are
  too small); the host does all pooling;
* ``beacon``: BEACON-like near-data processing: the same interleaving, every table pooled
  near memory (in the switch), no hotness-aware placement;
* ``pifs_heuristic``: PIFS-Rec-like: the densest buckets (lookups per byte) fill the host
  DRAM budget, remaining hot buckets (lookup share above row share) are spread evenly
  ("round-robin pages") over all ports, each table's cold buckets go to one home port
  (round-robin over tables), every table pooled in the switch;
* ``torchrec_greedy``: TorchRec-like greedy sharding: whole tables, heaviest (lookup bytes)
  first, each to the location whose busy time after adding it is smallest among those
  with room; tables with more than one lookup per sample are pooled in the switch.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from formulations.pifs.deployment import PifsDeployment, to_deployment
from formulations.pifs.view import Buckets, PifsView, Placement
from formulations.types import BaselineRun, run_baseline

# modelling choice of the page rounding: a share within this of a whole page counts as one
_WHOLE_PAGE = 1e-9


def _round_units(frac: np.ndarray, bk: Buckets, view: PifsView) -> np.ndarray:
    """Fractions to units; in page mode whole pages by largest remainder per bucket."""
    want = frac * bk.units[:, None]
    if view.page_bytes is None:
        return want
    base = np.floor(want + _WHOLE_PAGE)
    left = (bk.units - base.sum(axis=1)).astype(int)
    n_k, n_l = frac.shape
    # largest remainder first; ties go round-robin (bucket k starts at location k mod L)
    rotation = (np.arange(n_l)[None, :] - np.arange(n_k)[:, None]) % n_l
    order = np.lexsort((rotation, -np.round(want - base, 9)), axis=1)
    rank = np.empty_like(order)
    np.put_along_axis(rank, order, np.broadcast_to(np.arange(n_l), (n_k, n_l)), axis=1)
    return base + (rank < left[:, None])


def _interleaved(view: PifsView, bk: Buckets) -> np.ndarray:
    fabric = view.fabric
    total = float(bk.unit_bytes @ bk.units)
    cxl = sum(p.capacity_bytes for p in fabric.ports)
    host_share = max(0.0, (total - cxl) / total) if total > 0 else 0.0
    frac = np.zeros((len(bk.table), len(fabric.locations)))
    frac[:, 0] = host_share
    frac[:, 1:] = (1 - host_share) / len(fabric.ports)
    return _round_units(frac, bk, view)


def _all_reduced(view: PifsView) -> np.ndarray:
    return np.full(len(view.workload.tables), view.fabric.has_reduction)


def _multi_lookup_reduced(view: PifsView) -> np.ndarray:
    pooled = np.array([t.pooling > 1.0 for t in view.workload.tables])
    return pooled & view.fabric.has_reduction


def pond(view: PifsView, bk: Buckets) -> Placement:
    none = np.zeros(len(view.workload.tables), dtype=bool)
    return Placement(_interleaved(view, bk), none)


def beacon(view: PifsView, bk: Buckets) -> Placement:
    return Placement(_interleaved(view, bk), _all_reduced(view))


def pifs_heuristic(view: PifsView, bk: Buckets) -> Placement:
    fabric, work = view.fabric, view.workload
    n_k, n_l, n_p = len(bk.table), len(fabric.locations), len(fabric.ports)
    frac = np.zeros((n_k, n_l))
    left = fabric.host.capacity_bytes
    density = bk.unit_lookup_bytes / bk.unit_bytes
    for k in np.argsort(-density, kind="stable"):
        size = bk.unit_bytes[k] * bk.units[k]
        take = min(1.0, left / size) if size > 0 else 1.0
        if take <= 0:
            break
        frac[k, 0] = take
        left -= take * size
    share = np.array([work.tables[t].buckets[b] for t, b in zip(bk.table, bk.bucket, strict=True)])
    hot = np.array([b.lookup_share > b.row_share for b in share])
    rest = 1.0 - frac[:, 0]
    frac[hot, 1:] = rest[hot, None] / n_p
    home = 1 + bk.table % n_p
    frac[~hot, home[~hot]] = rest[~hot]
    return Placement(_round_units(frac, bk, view), _all_reduced(view))


def torchrec_greedy(view: PifsView, bk: Buckets) -> Placement | None:
    fabric = view.fabric
    n_t, n_l = len(view.workload.tables), len(fabric.locations)
    size = np.bincount(bk.table, bk.unit_bytes * bk.units, n_t)
    load = np.bincount(bk.table, bk.unit_lookup_bytes * bk.units, n_t)
    bw = np.array([loc.bandwidth_gb_per_s for loc in fabric.locations])
    room = np.array([loc.capacity_bytes for loc in fabric.locations])
    busy = np.zeros(n_l)
    units = np.zeros((len(bk.table), n_l))
    for t in np.argsort(-load, kind="stable"):
        after = np.where(room >= size[t], busy + load[t] / bw, np.inf)
        loc = int(np.argmin(after))
        if not np.isfinite(after[loc]):
            return None
        busy[loc] = after[loc]
        room[loc] -= size[t]
        mine = bk.table == t
        units[mine, loc] = bk.units[mine]
    return Placement(units, _multi_lookup_reduced(view))


@dataclass(frozen=True)
class Baseline:
    name: str
    source: str
    policy: Callable[[PifsView, Buckets], Placement | None]
    no_plan: str = ""  # why the policy may find no placement


BASELINES = (
    Baseline(
        "pond",
        "Li et al., Pond: CXL-Based Memory Pooling Systems for Cloud Platforms, ASPLOS '23 "
        "(memory pooled over CXL expanders, the host computes); no public code of the "
        "placement: named for what it is, Pond-like interleaving over all expanders",
        pond,
    ),
    Baseline(
        "beacon",
        "Huangfu et al., BEACON: Scalable Near-Data-Processing Accelerators for Genome "
        "Analysis near Memory Pool with the CXL Support, MICRO '22 (processing next to the "
        "pooled memory); no public code: named for what it is, BEACON-like interleaving "
        "with every table pooled near memory",
        beacon,
    ),
    Baseline(
        "pifs_heuristic",
        "Huo et al., PIFS-Rec: Process-In-Fabric-Switch for Large-Scale Recommendation System "
        "Inferences, MICRO '24 (arXiv 2409.16633): hotness detection, hot pages spread over "
        "the ports, pooling in the switch; no public code: a PIFS-Rec-like heuristic",
        pifs_heuristic,
    ),
    Baseline(
        "torchrec_greedy",
        "pytorch/torchrec, torchrec/distributed/planner/partitioners.py, "
        "GreedyPerfPartitioner (whole tables, heaviest first, to the least-loaded device "
        "with room); TorchRec-like table-wise sharding",
        torchrec_greedy,
        "a whole table fits at no location with room left",
    ),
)


def placements(view: PifsView) -> dict[str, Placement | None]:
    """Every baseline's placement (``None``: the policy found none)."""
    return {b.name: b.policy(view, view.buckets) for b in BASELINES}


def baseline_runs(view: PifsView) -> list[BaselineRun[PifsDeployment]]:
    """The baselines as deployments of the plan's schema; in capacity-planning mode they
    buy every expander (they place over all ports)."""
    bought = None if view.inputs.capacity_planning is None else len(view.fabric.ports)

    def run(baseline: Baseline) -> BaselineRun[PifsDeployment]:
        placement = baseline.policy(view, view.buckets)
        if placement is None:
            return run_baseline(baseline.name, baseline.source, lambda: None, baseline.no_plan)
        found = placement
        return run_baseline(
            baseline.name, baseline.source, lambda: to_deployment(view, found, bought)
        )

    return [run(baseline) for baseline in BASELINES]
