"""Per-resource busy time of one batch for a given placement (the PIFS-Rec cost model).

A placement gives, for each table t and bucket b, the fraction ``f[t][b, l]`` of the
bucket's rows at each location l (0 = host DRAM, 1..P = the expanders behind the switch's
downstream ports) and whether table t is pooled in the switch (``reduced[t]``).

Bytes moved per batch and the busy time they cause (bytes / bandwidth; 1 GB/s moves 1e3 bytes/us):

* host DRAM and port p: the lookup bytes of the rows stored there. A port's bandwidth is
  the bottleneck of its x8 link and its expander's DRAM (the path switch -> memory);
* upstream link (switch -> host): every looked-up CXL row of a table pooled on the host
  crosses it; a table pooled near memory sends pooled vectors instead, how many depends
  on where it is pooled (``site``, below);
* the switch's reduction engine: what it sums for the reduced tables;
* the switch buffer: the partial sums the engine holds for the reduction window.

Where reduced tables are pooled (``site``):

* ``"port"`` (PIFS-Rec: "near-data processing through downstream ports of the fabric
  switch", arXiv 2409.16633 abstract; what the planner plans): each downstream port's
  unit pools the rows of its own expander; one pooled ``row_bytes`` vector per (sample,
  table, port holding any of the table) crosses the upstream link (a conservative count:
  every sample is assumed to touch every such port), the engine reads every CXL row of the
  table and the buffer holds one partial sum per (window sample, table, port holding it);
* ``"switch"`` (BEACON-S: near-data processing in the CXL switch, Huangfu et al., MICRO
  '22): the switch sums across its ports, so one pooled vector per (sample, table) crosses
  the upstream link, or the table's CXL rows if they are fewer (a table with less than
  one CXL lookup per sample: forwarding beats pooling); the engine reads every CXL row;
  the buffer holds one accumulator per (window sample, table);
* ``"memory"`` (BEACON-D: near-data processing next to the memory devices, same paper):
  each expander sums its own rows, so its port link carries one partial sum per (sample,
  table), or the rows if they are fewer (min(lookup bytes there, batch x row_bytes): an
  upper bound on the expected partial sums, since a sample touches a port at most as
  often as it looks rows up there), while its DRAM still reads every row (a port is busy
  for the slower of the two: DRAM bytes at the expander's rate, link bytes at the link's);
  the switch adds the partial sums (the engine reads them) and sends one vector per
  (sample, table) upstream as for ``"switch"``; the buffer holds one accumulator per
  (window sample, table). That the switch adds the partial sums is our assumption, the
  most favourable one to this site.

Batch latency = the slowest resource's busy time (resources work in parallel on a
pipelined batch) + the critical lookup chain: the longest host-to-memory path latency over
locations holding any rows, plus the reduction engine's latency if any table is reduced.
Throughput = batch size / batch latency.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal, get_args

import numpy as np

from cost_models.pifs.topology import Fabric
from cost_models.pifs.workload import Workload
from cost_models.units import BYTES_PER_GB, NS_PER_US, US_PER_S

HOLDS_EPS = 1e-9  # modelling choice: fractions at or below this count as "holds nothing"
BYTES_PER_US_PER_GB_PER_S = BYTES_PER_GB / US_PER_S  # 1 GB/s moves 1e3 bytes per us
ReductionSite = Literal["port", "switch", "memory"]  # where reduced tables are pooled
REDUCTION_SITES: tuple[ReductionSite, ...] = get_args(ReductionSite)


@dataclass(frozen=True)
class BatchCost:
    """Bytes and busy times of one batch."""

    location_bytes: np.ndarray  # stored bytes per location (host, ports...)
    location_lookup_bytes: np.ndarray  # bytes read per batch per location
    location_busy_us: np.ndarray
    upstream_bytes: float
    upstream_busy_us: float
    reduction_bytes: float
    reduction_busy_us: float
    buffer_bytes: float
    ports_holding: np.ndarray  # per table: number of ports holding any of its rows
    chain_us: float

    @property
    def busy_us(self) -> dict[str, float]:
        names = ["host_dram", *(f"port{p}" for p in range(len(self.location_busy_us) - 1))]
        out = dict(zip(names, map(float, self.location_busy_us), strict=True))
        out["upstream_link"] = self.upstream_busy_us
        out["reduction_engine"] = self.reduction_busy_us
        return out

    @property
    def bottleneck_us(self) -> float:
        return max(self.busy_us.values())

    @property
    def latency_us(self) -> float:
        return self.bottleneck_us + self.chain_us

    def throughput_samples_per_s(self, batch_size: int) -> float:
        return batch_size / (self.latency_us / US_PER_S)


def table_sums(
    table: np.ndarray, n_tables: int, per_bucket: np.ndarray, ufunc: np.ufunc = np.add
) -> np.ndarray:
    """Per table, ``per_bucket``'s rows (buckets x ...) reduced over its buckets with
    ``ufunc`` (a sum; ``np.logical_or``: any); ``table`` (each bucket's table) is
    non-decreasing, so each table's buckets are one slice (``ufunc.reduceat``; a table
    without buckets reduces to 0)."""
    out = np.zeros((n_tables, *per_bucket.shape[1:]), dtype=per_bucket.dtype)
    if len(table) == 0:
        return out
    starts = np.flatnonzero(np.r_[True, table[1:] != table[:-1]])
    out[table[starts]] = ufunc.reduceat(per_bucket, starts, axis=0)
    return out


def batch_cost(
    fabric: Fabric,
    workload: Workload,
    fractions: Sequence[np.ndarray],
    reduced: Sequence[bool] | np.ndarray,
    reduction_window_samples: int = 1,
    site: ReductionSite = "port",
) -> BatchCost:
    """Busy times of one batch for ``fractions[t]`` (buckets x locations) and ``reduced``,
    reduced tables pooled at ``site`` (module docstring).

    ``fractions`` are stacked in table order, so one array of every bucket's row
    (the flattened (buckets x locations) fractions) is accepted as well."""
    arrays = workload.bucket_arrays
    n_t = len(workload.tables)
    blocks = [np.asarray(ft, dtype=float) for ft in fractions]
    f = blocks[0] if len(blocks) == 1 else np.concatenate(blocks)  # (buckets, locations)
    stored = arrays.bytes @ f
    # lookup bytes of table t at location l, and whether t has rows at l
    per_table = table_sums(arrays.table, n_t, arrays.lookup_bytes[:, None] * f)
    looked = per_table.sum(axis=0)
    holds = table_sums(arrays.table, n_t, f > HOLDS_EPS, np.logical_or)
    used = holds.any(axis=0)
    holding = np.count_nonzero(holds[:, 1:], axis=1)
    cxl_lookup_bytes = per_table[:, 1:].sum(axis=1)
    red = np.asarray(reduced, dtype=bool)
    row_bytes = np.array([t.row_bytes for t in workload.tables], dtype=float)
    pooled = np.array([t.pooled_bytes(workload.batch_size) for t in workload.tables])
    if site == "port":  # one pooled vector per port holding the table
        sent = pooled * holding
        partial = holding
    else:  # one per sample and table, never more than the rows themselves
        sent = np.minimum(pooled, cxl_lookup_bytes)
        partial = np.minimum(holding, 1)
    upstream = float(np.sum(np.where(red, sent, cxl_lookup_bytes)))
    reduction = float(cxl_lookup_bytes[red].sum())
    buffer = float((reduction_window_samples * row_bytes * partial)[red].sum())
    bandwidth = np.array([loc.bandwidth_gb_per_s for loc in fabric.locations])
    busy = looked / (bandwidth * BYTES_PER_US_PER_GB_PER_S)
    if site == "memory" and red.any():
        # expanders pool their own rows: the port link carries partial sums (at most the
        # rows themselves), the expander's DRAM reads every row
        device, link = fabric.port_device_and_link_gb_per_s()
        on_port = per_table[:, 1:]
        partials = np.minimum(on_port, pooled[:, None])
        link_bytes = np.where(red[:, None], partials, on_port).sum(axis=0)
        busy[1:] = np.maximum(looked[1:] / device, link_bytes / link) / BYTES_PER_US_PER_GB_PER_S
        reduction = float(partials[red].sum())
    latency = np.array([loc.latency_ns for loc in fabric.locations])
    chain_ns = float(latency[used].max()) if used.any() else 0.0
    if red.any():
        chain_ns += fabric.reduction_latency_ns
    reduction_rate = fabric.reduction_gb_per_s or np.inf
    return BatchCost(
        location_bytes=stored,
        location_lookup_bytes=looked,
        location_busy_us=busy,
        upstream_bytes=upstream,
        upstream_busy_us=upstream / (fabric.upstream_gb_per_s * BYTES_PER_US_PER_GB_PER_S),
        reduction_bytes=reduction,
        reduction_busy_us=reduction / (reduction_rate * BYTES_PER_US_PER_GB_PER_S),
        buffer_bytes=buffer,
        ports_holding=holding,
        chain_us=chain_ns / NS_PER_US,
    )
