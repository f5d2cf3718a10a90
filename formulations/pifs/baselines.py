"""Placement policies the MILP is compared with, on the same inputs and cost model.

Each returns units per (bucket k, location l) (fractions, or whole pages in page mode),
which tables are pooled near memory and where (``torchrec_greedy``: ``None`` when a whole
table fits at no location); the engine verifies each with the plan's verifier, so a
placement that overfills a location is reported as infeasible. None of Pond, BEACON or
PIFS-Rec publishes its placement code; each policy below is named for the system whose
behaviour it follows, with what it follows cited:

* ``pond``: Pond's all-pool configuration (``L0`` in Pond's scripts: no local DRAM):
  every table interleaved evenly over all expanders (host DRAM only takes the same share
  of every bucket when the expanders are too small); the host does all pooling;
* ``pond_local_first``: Pond as a VM gets its memory: host DRAM (the scenario's budget)
  first, in allocation order (tables as listed), without regard to hotness, the rest from
  the pool, interleaved over the expanders; the host pools. Pond's local/pool splits are
  run this way (MoatLab/Pond, ``cpu2017/run-cpu2017.sh`` ``run_one_exp``: a memory eater
  pins all but the split's share of node 0, the workload's first-touch allocations fill
  local DRAM and then fall back to the CPU-less CXL node); a table that straddles the
  boundary has the same host share of every bucket (hot rows are not at low addresses);
* ``pond_hot_first``: the same pool with host DRAM given to the hottest rows first
  (buckets by lookups per byte): an idealised Pond, with oracle hotness at bucket
  granularity (Pond itself only predicts how much of a VM's memory stays untouched and
  backs that part with pool memory, ASPLOS '23 section 4);
* ``beacon``: BEACON-D-like near-data processing (Huangfu et al., MICRO '22: accelerators
  next to the memory devices): the ``pond`` interleaving, every table pooled in the
  expanders, partial sums on the port links, no hotness-aware placement (reduction site
  ``memory``, :mod:`cost_models.pifs.busy`);
* ``beacon_switch``: BEACON-S-like (the same paper's accelerator in the CXL switch): the
  same interleaving, every table pooled in the switch across ports, one pooled vector per
  sample and table upstream (reduction site ``switch``);
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

from formulations.pifs.deployment import PifsDeployment, in_memory
from formulations.pifs.view import Buckets, PifsView, Placement
from formulations.types import BaselineRun, run_baseline

# modelling choice of the page rounding: a share within this of a whole page counts as one
_WHOLE_PAGE = 1e-9


def _round_units(frac: np.ndarray, bk: Buckets, view: PifsView) -> np.ndarray:
    """Fractions to units; in page mode whole pages by largest remainder per bucket."""
    if view.page_bytes is None:
        return frac  # one unit per bucket
    want = frac * bk.units[:, None]
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
    """Every bucket interleaved evenly over the expanders (host DRAM takes the same share
    of every bucket only when the expanders are too small)."""
    total = float(bk.unit_bytes @ bk.units)
    cxl = sum(p.capacity_bytes for p in view.fabric.ports)
    host_share = max(0.0, (total - cxl) / total) if total > 0 else 0.0
    return _pooled_rest(view, bk, np.full(len(bk.table), host_share))


def _all_reduced(view: PifsView) -> np.ndarray:
    return np.full(len(view.workload.tables), view.fabric.has_reduction)


def _multi_lookup_reduced(view: PifsView) -> np.ndarray:
    pooled = np.array([t.pooling > 1.0 for t in view.workload.tables])
    return pooled & view.fabric.has_reduction


def _host_first(view: PifsView, size_bytes: np.ndarray, order: np.ndarray) -> np.ndarray:
    """Host share of each item (bucket or table) of ``size_bytes`` when the items fill the
    host DRAM budget in ``order``: whole while they fit, the one that reaches the budget
    with the part that fits (whole pages of it in page mode), the rest not at all."""
    ordered = size_bytes[order]
    room = view.fabric.host.capacity_bytes - (np.cumsum(ordered) - ordered)  # left ahead
    if view.page_bytes is not None:
        room = np.floor(room / view.page_bytes + _WHOLE_PAGE) * view.page_bytes
    share = np.where(room > 0, 1.0, 0.0)
    stored = ordered > 0
    share[stored] = np.clip(room[stored] / ordered[stored], 0.0, 1.0)
    host = np.empty(len(order))
    host[order] = share
    return host


def _pooled_rest(view: PifsView, bk: Buckets, host: np.ndarray) -> np.ndarray:
    """Units with ``host`` shares on host DRAM and the rest interleaved over the ports."""
    frac = np.empty((len(bk.table), len(view.fabric.locations)))
    frac[:, 0] = host
    frac[:, 1:] = (1.0 - host[:, None]) / len(view.fabric.ports)
    return _round_units(frac, bk, view)


def _none_reduced(view: PifsView) -> np.ndarray:
    return np.zeros(len(view.workload.tables), dtype=bool)


def pond(view: PifsView, bk: Buckets) -> Placement:
    return Placement(_interleaved(view, bk), _none_reduced(view))


def pond_local_first(view: PifsView, bk: Buckets) -> Placement:
    """Host DRAM filled in allocation order, one table after the other, each table's
    buckets alike (a straddling table's host share is the same for all its buckets)."""
    n_t = bk.n_tables
    size = np.bincount(bk.table, bk.unit_bytes * bk.units, n_t)
    table_share = _host_first(view, size, np.arange(n_t))
    return Placement(_pooled_rest(view, bk, table_share[bk.table]), _none_reduced(view))


def _hot_first_on_host(view: PifsView, bk: Buckets) -> np.ndarray:
    """Host share of each bucket when the densest (lookups per stored byte) fill host
    DRAM first (ties: listing order)."""
    order = np.argsort(-(bk.unit_lookup_bytes / bk.unit_bytes), kind="stable")
    return _host_first(view, bk.unit_bytes * bk.units, order)


def pond_hot_first(view: PifsView, bk: Buckets) -> Placement:
    host = _hot_first_on_host(view, bk)
    return Placement(_pooled_rest(view, bk, host), _none_reduced(view))


def beacon(view: PifsView, bk: Buckets) -> Placement:
    return Placement(_interleaved(view, bk), _all_reduced(view), "memory")


def beacon_switch(view: PifsView, bk: Buckets) -> Placement:
    return Placement(_interleaved(view, bk), _all_reduced(view), "switch")


def pifs_heuristic(view: PifsView, bk: Buckets) -> Placement:
    fabric, work = view.fabric, view.workload
    n_k, n_l, n_p = len(bk.table), len(fabric.locations), len(fabric.ports)
    frac = np.zeros((n_k, n_l))
    frac[:, 0] = _hot_first_on_host(view, bk)
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
    members = bk.by_table(np.arange(len(bk.table)))
    for t in np.argsort(-load, kind="stable"):
        after = np.where(room >= size[t], busy + load[t] / bw, np.inf)
        loc = int(np.argmin(after))
        if not np.isfinite(after[loc]):
            return None
        busy[loc] = after[loc]
        room[loc] -= size[t]
        units[members[t], loc] = bk.units[members[t]]
    return Placement(units, _multi_lookup_reduced(view))


@dataclass(frozen=True)
class Baseline:
    name: str
    source: str
    policy: Callable[[PifsView, Buckets], Placement | None]
    no_plan: str = ""  # why the policy may find no placement


_POND = "Li et al., Pond: CXL-Based Memory Pooling Systems for Cloud Platforms, ASPLOS '23"
_BEACON = (
    "Huangfu et al., BEACON: Scalable Near-Data-Processing Accelerators for Genome "
    "Analysis near Memory Pool with the CXL Support, MICRO '22"
)
BASELINES = (
    Baseline(
        "pond",
        f"{_POND}; its all-pool configuration (L0 in MoatLab/Pond cpu2017/run-cpu2017.sh "
        "run_one_exp: numactl --membind to the CXL node), interleaved over all expanders, "
        "the host pools; no host DRAM unless the expanders are full",
        pond,
    ),
    Baseline(
        "pond_local_first",
        f"{_POND}; a VM's memory local first, then the pool (MoatLab/Pond "
        "cpu2017/run-cpu2017.sh run_one_exp: local/CXL splits by first-touch fallback), "
        "tables in allocation order with no regard to hotness, the pool interleaved, the "
        "host pools",
        pond_local_first,
    ),
    Baseline(
        "pond_hot_first",
        f"{_POND}, idealised: host DRAM to the hottest buckets first (oracle hotness; Pond "
        "itself only sizes the pool share from predicted untouched memory, section 4), the "
        "rest interleaved over the pool, the host pools",
        pond_hot_first,
    ),
    Baseline(
        "beacon",
        f"{_BEACON}: BEACON-D (accelerators next to the memory devices); no public code: "
        "interleaving over all expanders, every table pooled in the expanders, partial "
        "sums on the port links, added in the switch (reduction site memory)",
        beacon,
    ),
    Baseline(
        "beacon_switch",
        f"{_BEACON}: BEACON-S (the accelerator in the CXL switch); no public code: "
        "interleaving over all expanders, every table pooled in the switch across ports, "
        "one pooled vector per sample and table upstream (reduction site switch)",
        beacon_switch,
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
    """The baselines as deployments of the plan's schema, held as arrays
    (:func:`formulations.pifs.deployment.in_memory`); in capacity-planning mode they buy
    every expander (they place over all ports)."""
    bought = None if view.inputs.capacity_planning is None else len(view.fabric.ports)

    def run(baseline: Baseline) -> BaselineRun[PifsDeployment]:
        placement = baseline.policy(view, view.buckets)
        if placement is None:
            return run_baseline(baseline.name, baseline.source, lambda: None, baseline.no_plan)
        found = placement
        return run_baseline(baseline.name, baseline.source, lambda: in_memory(view, found, bought))

    return [run(baseline) for baseline in BASELINES]
