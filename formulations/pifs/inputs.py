"""The scenario schema of the ``pifs`` formulation (every key with its unit)."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from cost_models.pifs import topology as topo
from cost_models.pifs.workload import PRESETS, TableShape, meta_like_tables
from formulations.types import DataPath

_STRICT = ConfigDict(extra="forbid")


class ExpanderInputs(BaseModel):
    """One CXL memory expander (all ports carry identical expanders)."""

    model_config = _STRICT
    capacity_gib: float = Field(topo.DEFAULT_EXPANDER_CAPACITY_GIB, gt=0)
    channels: int = Field(topo.DEFAULT_EXPANDER_CHANNELS, ge=1, le=16)
    channel_gb_per_s: float = Field(topo.DDR5_4800_GB_PER_S_PER_CHANNEL, gt=0)
    efficiency: float = Field(topo.DRAM_EFFICIENCY, gt=0, le=1)
    latency_ns: float = Field(topo.DEFAULT_EXPANDER_LATENCY_NS, ge=0)
    port_lanes: Literal[1, 2, 4, 8, 16] = topo.DEFAULT_PORT_LANES


class FabricInputs(BaseModel):
    model_config = _STRICT
    ports: int = Field(8, ge=1, le=64, description="downstream switch ports, one expander each")
    expander: ExpanderInputs = ExpanderInputs()
    host_dram_gb_per_s: float = Field(topo.DEFAULT_HOST_DRAM_GB_PER_S, gt=0)
    host_capacity_gib: float = Field(0.0, ge=0, description="host DRAM budget for embeddings")
    host_latency_ns: float = Field(topo.DEFAULT_HOST_LATENCY_NS, ge=0)
    upstream_lanes: Literal[1, 2, 4, 8, 16] = topo.DEFAULT_UPSTREAM_LANES
    switch_hop_ns: float = Field(topo.DEFAULT_SWITCH_HOP_NS, ge=0)
    reduction_engine: bool = True
    reduction_gb_per_s: float = Field(topo.DEFAULT_REDUCTION_GB_PER_S, gt=0)
    reduction_latency_ns: float = Field(topo.DEFAULT_REDUCTION_LATENCY_NS, ge=0)
    switch_buffer_mib: float = Field(topo.DEFAULT_SWITCH_BUFFER_MIB, ge=0)
    reduction_window_samples: int = Field(
        1, ge=1, description="samples whose partial sums the switch buffer holds at once"
    )


class TableInputs(BaseModel):
    model_config = _STRICT
    name: str = Field(min_length=1)
    rows: int = Field(ge=1)
    dim: int = Field(ge=1)
    bytes_per_element: int = Field(4, ge=1, le=8)
    pooling: float = Field(gt=0, description="lookups per sample")


class WorkloadInputs(BaseModel):
    """Exactly one of ``preset``, ``tables`` or ``synthetic_tables``."""

    model_config = _STRICT
    preset: Literal["rm1", "rm2", "rm3", "criteo_kaggle", "criteo_terabyte"] | None = None
    tables: list[TableInputs] | None = None
    synthetic_tables: int | None = Field(None, ge=1, le=10_000)
    seed: int = Field(0, ge=0)
    batch_size: int = Field(ge=1)
    batches_per_s: float | None = Field(None, gt=0)

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
    histogram: DataPath | None = None

    @model_validator(mode="after")
    def _one_source(self) -> HotnessInputs:
        if (self.zipf_exponent is None) == (self.histogram is None):
            raise ValueError("exactly one of zipf_exponent or histogram")
        return self


class PlacementInputs(BaseModel):
    model_config = _STRICT
    page_kib: float | None = Field(None, gt=0, description="place whole pages of this size")
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
    latency_target_us: float = Field(gt=0)
    expander_price_usd: float = Field(gt=0)


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
                if unknown or len(group) < 2:
                    raise ValueError(
                        f"placement.{key}[{i}] to list two or more names of tables "
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
