"""Placement policies the MILP is compared with, on the same inputs and cost model.

Each returns units per (bucket k, location l) (fractions, or whole pages in page mode) and
which tables are pooled in the switch, or ``None`` when its placement does not fit:

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

from formulations.pifs.inputs import Problem
from formulations.pifs.milp import Buckets


@dataclass(frozen=True)
class BaselinePlacement:
    units: np.ndarray  # (K, L)
    reduced: np.ndarray  # (tables,) bool


def _round_units(frac: np.ndarray, bk: Buckets, problem: Problem) -> np.ndarray:
    """Fractions to units; in page mode whole pages by largest remainder per bucket."""
    want = frac * bk.units[:, None]
    if problem.page_bytes is None:
        return want
    base = np.floor(want + 1e-9)
    left = (bk.units - base.sum(axis=1)).astype(int)
    n_k, n_l = frac.shape
    # largest remainder first; ties go round-robin (bucket k starts at location k mod L)
    rotation = (np.arange(n_l)[None, :] - np.arange(n_k)[:, None]) % n_l
    order = np.lexsort((rotation, -np.round(want - base, 9)), axis=1)
    rank = np.empty_like(order)
    np.put_along_axis(rank, order, np.broadcast_to(np.arange(n_l), (n_k, n_l)), axis=1)
    return base + (rank < left[:, None])


def _fits(units: np.ndarray, bk: Buckets, problem: Problem) -> bool:
    cap = np.array([loc.capacity_bytes for loc in problem.fabric.locations])
    return bool(np.all((bk.unit_bytes @ units) <= cap * (1 + 1e-9)))


def _interleaved(problem: Problem, bk: Buckets) -> np.ndarray | None:
    fabric = problem.fabric
    total = float(bk.unit_bytes @ bk.units)
    cxl = sum(p.capacity_bytes for p in fabric.ports)
    host_share = max(0.0, (total - cxl) / total) if total > 0 else 0.0
    frac = np.zeros((len(bk.table), len(fabric.locations)))
    frac[:, 0] = host_share
    frac[:, 1:] = (1 - host_share) / len(fabric.ports)
    units = _round_units(frac, bk, problem)
    return units if _fits(units, bk, problem) else None


def _all_reduced(problem: Problem) -> np.ndarray:
    return np.full(len(problem.workload.tables), problem.fabric.has_reduction)


def _multi_lookup_reduced(problem: Problem) -> np.ndarray:
    pooled = np.array([t.pooling > 1.0 for t in problem.workload.tables])
    return pooled & problem.fabric.has_reduction


def pond(problem: Problem, bk: Buckets) -> BaselinePlacement | None:
    units = _interleaved(problem, bk)
    none = np.zeros(len(problem.workload.tables), dtype=bool)
    return None if units is None else BaselinePlacement(units, none)


def beacon(problem: Problem, bk: Buckets) -> BaselinePlacement | None:
    units = _interleaved(problem, bk)
    return None if units is None else BaselinePlacement(units, _all_reduced(problem))


def pifs_heuristic(problem: Problem, bk: Buckets) -> BaselinePlacement | None:
    fabric, work = problem.fabric, problem.workload
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
    units = _round_units(frac, bk, problem)
    return BaselinePlacement(units, _all_reduced(problem)) if _fits(units, bk, problem) else None


def torchrec_greedy(problem: Problem, bk: Buckets) -> BaselinePlacement | None:
    fabric = problem.fabric
    n_t, n_l = len(problem.workload.tables), len(fabric.locations)
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
    return BaselinePlacement(units, _multi_lookup_reduced(problem))


BASELINES: dict[str, Callable[[Problem, Buckets], BaselinePlacement | None]] = {
    "pond": pond,
    "beacon": beacon,
    "pifs_heuristic": pifs_heuristic,
    "torchrec_greedy": torchrec_greedy,
}
