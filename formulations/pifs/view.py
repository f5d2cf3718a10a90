"""The cost-model view of a ``pifs`` scenario, computed once by :func:`prepare`.

The view holds the validated inputs and what the cost model derives from them: the fabric
(host DRAM, ports, upstream link, reduction engine), the workload with its hotness
buckets, the page size in page mode, and every (table, bucket) pair flattened
(:class:`Buckets`). A :class:`Placement` is a deployment in array form: units of every
bucket at every location and the tables pooled in the switch; :func:`cost` scores one with
:func:`cost_models.pifs.busy.batch_cost`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from cost_models.pifs.busy import BatchCost, ReductionSite, batch_cost
from cost_models.pifs.hotness import Bucket, read_locality_stats, zipf_buckets
from cost_models.pifs.topology import Expander, Fabric, FabricSpec, build_fabric
from cost_models.pifs.workload import TableShape, Workload, with_hotness
from cost_models.units import BYTES_PER_KIB
from formulations.pifs.inputs import PifsInputs, table_shapes
from formulations.types import InputError

# resource limits (modelling choices, documented in docs/pifs.md): the per-port model has
# one placement column per (hotness bucket, location); 856 tables x 17 buckets x 17
# locations (meta856_16port) is 247,384, solved in seconds through the pooled ports
MAX_PLACEMENT_COLUMNS = 400_000
# whole pages per bucket: one page of the largest bucket stays a share well above the
# presence threshold HOLDS_EPS (1e-9) and page counts stay exact integers for the solver
MAX_PAGES_PER_BUCKET = 2**24


@dataclass(frozen=True)
class Buckets:
    """All (table, bucket) pairs flattened: index k, in table order."""

    n_tables: int
    table: np.ndarray  # table index of k
    bucket: np.ndarray  # bucket index within its table
    units: np.ndarray  # x[k, :] sums to this: 1 (fractions) or the bucket's pages
    unit_bytes: np.ndarray  # stored bytes per unit
    unit_lookup_bytes: np.ndarray  # lookup bytes per batch per unit

    @staticmethod
    def of(workload: Workload, page_bytes: float | None) -> Buckets:
        arrays = workload.bucket_arrays
        table = arrays.table
        n_tables = len(workload.tables)
        first = np.searchsorted(table, np.arange(n_tables))
        bucket = np.arange(len(table)) - first[table]
        if page_bytes is None:
            units = np.ones(len(table))
            unit_bytes = arrays.bytes
        else:
            units = np.maximum(1.0, np.ceil(arrays.bytes / page_bytes))
            unit_bytes = np.full(len(table), page_bytes)
        return Buckets(n_tables, table, bucket, units, unit_bytes, arrays.lookup_bytes / units)

    def by_table(self, per_bucket: np.ndarray) -> list[np.ndarray]:
        """A (K x ...) array cut into one block of rows per table."""
        counts = np.bincount(self.table, minlength=self.n_tables)
        return np.split(per_bucket, np.cumsum(counts)[:-1])

    def fractions(self, units: np.ndarray) -> list[np.ndarray]:
        """Per table, (buckets x locations) fractions from a (K x L) array of units."""
        return self.by_table(units / self.units[:, None])


@dataclass(frozen=True)
class Placement:
    """A deployment in array form: ``units[k, l]`` of bucket k at location l (fractions,
    or whole pages in page mode), ``reduced[t]``, table t pooled near memory, and where
    (``site``, :mod:`cost_models.pifs.busy`: the planner's own plans pool at the ports)."""

    units: np.ndarray  # (K, L)
    reduced: np.ndarray  # (tables,) bool
    site: ReductionSite = "port"


@dataclass(frozen=True)
class PifsView:
    """The inputs and their cost model: fabric, workload, page size, flattened buckets."""

    inputs: PifsInputs
    fabric: Fabric
    workload: Workload
    page_bytes: float | None
    window_samples: int
    buckets: Buckets

    def pages(self, t: int, b: int) -> int:
        """Whole pages bucket b of table t occupies (page mode only)."""
        assert self.page_bytes is not None
        return max(1, math.ceil(self.workload.tables[t].bucket_bytes(b) / self.page_bytes))

    @property
    def location_names(self) -> list[str]:
        return [loc.name for loc in self.fabric.locations]


def cost(view: PifsView, placement: Placement) -> BatchCost:
    """Bytes and busy times of one batch under ``placement``."""
    # batch_cost stacks the per-table blocks; pass the flattened (K x L) fractions as one
    fractions = placement.units / view.buckets.units[:, None]
    return batch_cost(
        view.fabric,
        view.workload,
        [fractions],
        placement.reduced,
        view.window_samples,
        placement.site,
    )


def pools_ports(inputs: PifsInputs) -> bool:
    """Whether to solve with pooled ports first (see aggregate.py): ``aggregate_ports``
    "always", or "auto" for fractional placement without co-location / separation groups
    or capacity planning on more than one port."""
    placement = inputs.placement
    if placement.aggregate_ports != "auto":
        return placement.aggregate_ports == "always"
    simple = not (
        placement.page_kib or placement.colocate or placement.separate or inputs.capacity_planning
    )
    return simple and inputs.fabric.ports > 1


def per_port_columns(view: PifsView) -> int:
    """Placement columns of the per-port MILP (buckets x locations)."""
    return len(view.buckets.table) * len(view.fabric.locations)


def prepare(inputs: PifsInputs) -> PifsView:
    """The cost-model view of validated inputs."""
    f, h = inputs.fabric, inputs.hotness
    histogram = () if h.histogram is None else read_locality_stats(h.histogram).buckets
    exponent = h.zipf_exponent

    def buckets_for(shape: TableShape) -> tuple[Bucket, ...]:
        if exponent is None:
            return histogram
        return zipf_buckets(shape.rows, exponent, h.buckets)

    shapes = table_shapes(inputs.workload)
    per_table = len(histogram) if exponent is None else h.buckets
    # the pooled model has two locations (host, pool); past the limit the per-port MILP
    # is not built and the pooled plan keeps its certified gap (strategy.py)
    locations = 2 if pools_ports(inputs) else f.ports + 1
    columns = len(shapes) * per_table * locations
    if columns > MAX_PLACEMENT_COLUMNS:
        source = next(
            k for k in ("preset", "tables", "synthetic_tables") if getattr(inputs.workload, k)
        )
        raise InputError(
            None,
            f"workload.{source}",
            f"a model of at most {MAX_PLACEMENT_COLUMNS:,} placement columns (tables x "
            f"hotness buckets x locations; {len(shapes):,} x {per_table} x {locations} = "
            f"{columns:,}): fewer tables, hotness buckets or fabric.ports",
        )
    tables = with_hotness(shapes, buckets_for)
    e = f.expander
    expander = Expander(
        capacity_gib=e.capacity_gib,
        channels=e.channels,
        channel_gb_per_s=e.channel_gb_per_s,
        efficiency=e.efficiency,
        latency_ns=e.latency_ns,
        port_lanes=e.port_lanes,
    )
    spec = FabricSpec(
        expanders=(expander,) * f.ports,
        host_dram_gb_per_s=f.host_dram_gb_per_s,
        host_capacity_gib=f.host_capacity_gib,
        host_latency_ns=f.host_latency_ns,
        upstream_lanes=f.upstream_lanes,
        switch_hop_ns=f.switch_hop_ns,
        reduction_gb_per_s=f.reduction_gb_per_s if f.reduction_engine else None,
        reduction_latency_ns=f.reduction_latency_ns,
        switch_buffer_mib=f.switch_buffer_mib,
    )
    page = inputs.placement.page_kib
    page_bytes = None if page is None else page * BYTES_PER_KIB
    workload = Workload(tables, inputs.workload.batch_size, inputs.workload.batches_per_s)
    buckets = Buckets.of(workload, page_bytes)
    if page_bytes is not None and buckets.units.max() > MAX_PAGES_PER_BUCKET:
        k = int(np.argmax(buckets.units))
        raise InputError(
            None,
            "placement.page_kib",
            f"pages of a size that cuts each hotness bucket into at most "
            f"{MAX_PAGES_PER_BUCKET:,} pages (table {tables[buckets.table[k]].name} bucket "
            f"{tables[buckets.table[k]].buckets[buckets.bucket[k]].label} would need "
            f"{buckets.units[k]:.4g})",
            page,
        )
    return PifsView(
        inputs=inputs,
        fabric=build_fabric(spec),
        workload=workload,
        page_bytes=page_bytes,
        window_samples=f.reduction_window_samples,
        buckets=buckets,
    )
