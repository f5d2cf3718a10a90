"""The scenario schema of the ``pifs`` formulation (every key with its unit).

Every number is finite (``allow_inf_nan=False``) and within a documented sanity range (the
``MAX_*`` / ``MIN_*`` bounds below: not physical limits, but far beyond any real fabric or
DLRM, so that a typo such as ``rows = 1e30`` is refused by name instead of planned). The
size of the model a scenario makes is bounded too (:data:`MAX_PLACEMENT_COLUMNS`, checked
in :func:`formulations.pifs.view.prepare`, which names the key that makes it large).
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from cost_models.pifs import topology as topo
from cost_models.pifs.workload import PRESETS, TableShape, meta_like_tables
from formulations.types import DataFile

_STRICT = ConfigDict(extra="forbid", allow_inf_nan=False)

# sanity bounds of scenario numbers (modelling choices, far beyond real systems)
MAX_GIB = 2.0**20  # capacities: 1 PiB per location
MIN_CAPACITY_GIB = 2.0**-30  # an expander holds at least one byte
MIN_GB_PER_S = 1e-3  # bandwidths: at least 1 MB/s (busy times stay finite and scaled)
MAX_GB_PER_S = 1e6  # bandwidths: 1 PB/s
MAX_NS = 1e9  # latencies: one second
MAX_ROWS = 10**12  # rows per table (the largest public DLRM tables have ~1e10)
MAX_DIM = 65_536  # elements per embedding row
MAX_POOLING = 1e6  # lookups per sample and table
MAX_BATCH = 2**24  # samples per batch
MAX_RATE = 1e9  # batches per second
MAX_MIB = 2.0**20  # switch buffer: 1 TiB
MAX_PAGE_KIB = 2.0**30  # page size: 1 TiB
MAX_US = 1e9  # latency target: 1000 s
MAX_USD = 1e9  # price of one expander
MAX_SEED = 2**32 - 1  # seeds of the synthetic generator
MAX_PORTS = 64  # downstream ports of one switch (bounds the per-port model)


class ExpanderInputs(BaseModel):
    """One CXL memory expander (all ports carry identical expanders)."""

    model_config = _STRICT
    capacity_gib: float = Field(topo.DEFAULT_EXPANDER_CAPACITY_GIB, ge=MIN_CAPACITY_GIB, le=MAX_GIB)
    channels: int = Field(topo.DEFAULT_EXPANDER_CHANNELS, ge=1, le=16)
    channel_gb_per_s: float = Field(
        topo.DDR5_4800_GB_PER_S_PER_CHANNEL, ge=MIN_GB_PER_S, le=MAX_GB_PER_S
    )
    efficiency: float = Field(topo.DRAM_EFFICIENCY, ge=1e-3, le=1)
    latency_ns: float = Field(topo.DEFAULT_EXPANDER_LATENCY_NS, ge=0, le=MAX_NS)
    port_lanes: Literal[1, 2, 4, 8, 16] = topo.DEFAULT_PORT_LANES


class FabricInputs(BaseModel):
    model_config = _STRICT
    ports: int = Field(
        8, ge=1, le=MAX_PORTS, description="downstream switch ports, one expander each"
    )
    expander: ExpanderInputs = ExpanderInputs()
    host_dram_gb_per_s: float = Field(
        topo.DEFAULT_HOST_DRAM_GB_PER_S, ge=MIN_GB_PER_S, le=MAX_GB_PER_S
    )
    host_capacity_gib: float = Field(
        0.0, ge=0, le=MAX_GIB, description="host DRAM budget for embeddings"
    )
    host_latency_ns: float = Field(topo.DEFAULT_HOST_LATENCY_NS, ge=0, le=MAX_NS)
    upstream_lanes: Literal[1, 2, 4, 8, 16] = topo.DEFAULT_UPSTREAM_LANES
    switch_hop_ns: float = Field(topo.DEFAULT_SWITCH_HOP_NS, ge=0, le=MAX_NS)
    reduction_engine: bool = True
    reduction_gb_per_s: float = Field(
        topo.DEFAULT_REDUCTION_GB_PER_S, ge=MIN_GB_PER_S, le=MAX_GB_PER_S
    )
    reduction_latency_ns: float = Field(topo.DEFAULT_REDUCTION_LATENCY_NS, ge=0, le=MAX_NS)
    switch_buffer_mib: float = Field(topo.DEFAULT_SWITCH_BUFFER_MIB, ge=0, le=MAX_MIB)
    reduction_window_samples: int = Field(
        1,
        ge=1,
        le=MAX_BATCH,
        description="samples whose partial sums the switch buffer holds at once",
    )


class TableInputs(BaseModel):
    model_config = _STRICT
    name: str = Field(min_length=1)
    rows: int = Field(ge=1, le=MAX_ROWS)
    dim: int = Field(ge=1, le=MAX_DIM)
    bytes_per_element: int = Field(4, ge=1, le=8)
    pooling: float = Field(gt=0, le=MAX_POOLING, description="lookups per sample")


class WorkloadInputs(BaseModel):
    """Exactly one of ``preset``, ``tables`` or ``synthetic_tables``."""

    model_config = _STRICT
    preset: Literal["rm1", "rm2", "rm3", "criteo_kaggle", "criteo_terabyte"] | None = None
    tables: list[TableInputs] | None = None
    synthetic_tables: int | None = Field(None, ge=1, le=10_000)
    seed: int = Field(0, ge=0, le=MAX_SEED)
    batch_size: int = Field(ge=1, le=MAX_BATCH)
    batches_per_s: float | None = Field(None, gt=0, le=MAX_RATE)

    @model_validator(mode="after")
    def _one_source(self) -> WorkloadInputs:
        given = [k for k in ("preset", "tables", "synthetic_tables") if getattr(self, k)]
        if len(given) != 1:
            raise ValueError("exactly one of preset, tables or synthetic_tables")
        if self.tables is not None:
            names = [t.name for t in self.tables]
            dup = sorted({n for n in names if names.count(n) > 1})
            if dup:
                raise ValueError(f"distinct table names (repeated: {', '.join(dup)})")
        return self


class HotnessInputs(BaseModel):
    """Exactly one of ``zipf_exponent`` or ``histogram`` (a locality_stats.txt file)."""

    model_config = _STRICT
    zipf_exponent: float | None = Field(None, ge=0, le=3)
    buckets: int = Field(8, ge=1, le=32, description="buckets per table for zipf_exponent")
    histogram: DataFile | None = None

    @model_validator(mode="after")
    def _one_source(self) -> HotnessInputs:
        if (self.zipf_exponent is None) == (self.histogram is None):
            raise ValueError("exactly one of zipf_exponent or histogram")
        return self


class PlacementInputs(BaseModel):
    model_config = _STRICT
    page_kib: float | None = Field(
        None, gt=0, le=MAX_PAGE_KIB, description="place whole pages of this size"
    )
    colocate: list[list[str]] = Field(default_factory=list)
    separate: list[list[str]] = Field(default_factory=list)
    aggregate_ports: Literal["auto", "always", "never"] = Field(
        "auto", description="solve with identical ports merged (bound) + wrap-around split"
    )

    @model_validator(mode="after")
    def _aggregation_allowed(self) -> PlacementInputs:
        if self.aggregate_ports == "always" and (self.page_kib or self.colocate or self.separate):
            raise ValueError(
                "aggregate_ports = 'always' only without page_kib, colocate and separate"
            )
        return self


class CapacityInputs(BaseModel):
    """Capacity-planning mode: buy the fewest expanders that meet a latency target."""

    model_config = _STRICT
    latency_target_us: float = Field(gt=0, le=MAX_US)
    expander_price_usd: float = Field(gt=0, le=MAX_USD)


class PifsInputs(BaseModel):
    model_config = _STRICT
    fabric: FabricInputs = FabricInputs()
    workload: WorkloadInputs
    hotness: HotnessInputs
    placement: PlacementInputs = PlacementInputs()
    capacity_planning: CapacityInputs | None = None

    @model_validator(mode="after")
    def _groups_name_tables(self) -> PifsInputs:
        if self.capacity_planning is not None and self.placement.aggregate_ports == "always":
            raise ValueError("placement.aggregate_ports = 'always' cannot plan capacity")
        names = {t.name for t in table_shapes(self.workload)}
        for key in ("colocate", "separate"):
            for i, group in enumerate(getattr(self.placement, key)):
                unknown = [n for n in group if n not in names]
                if unknown or len(set(group)) < 2 or len(set(group)) < len(group):
                    raise ValueError(
                        f"placement.{key}[{i}] to list two or more distinct names of tables "
                        f"in the workload (got {unknown or group})"
                    )
        return self


def table_shapes(w: WorkloadInputs) -> list[TableShape]:
    """The workload's tables before hotness is attached."""
    if w.preset is not None:
        return PRESETS[w.preset]()
    if w.tables is not None:
        return [TableShape(t.name, t.rows, t.dim, t.bytes_per_element, t.pooling) for t in w.tables]
    assert w.synthetic_tables is not None
    return meta_like_tables(w.synthetic_tables, w.seed)
