"""Scenario schema of the ``polymorphic`` formulation (validated TOML)."""

from __future__ import annotations

from enum import StrEnum
from typing import Self

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationInfo,
    field_validator,
    model_validator,
)

from cost_models.polymorphic.networks import NETWORKS

MAX_ARRAY_SIDE = 4096  # PEs per array side (4,096 x 4,096 is 256 TPU v1 arrays of 256 x 256)
MAX_SHARE_STEPS = 64  # buffer or bandwidth shares in 1/steps


class Objective(StrEnum):
    MAX_MIN_NORMALISED = "max_min_normalised"  # max over plans of min_j throughput_j / weight_j
    MAX_WEIGHTED = "max_weighted"  # max sum_j weight_j * throughput_j


class ArraySpec(BaseModel):
    """``[array]``: the physical PE array, its buffer and its DRAM interface."""

    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)

    rows: int = Field(gt=0, le=MAX_ARRAY_SIDE, description="PE rows")
    cols: int = Field(gt=0, le=MAX_ARRAY_SIDE, description="PE columns")
    tile: int = Field(gt=0, description="logical accelerators are multiples of tile x tile PEs")
    clock_mhz: float = Field(gt=0, le=10_000, allow_inf_nan=False)
    word_bytes: int = Field(1, gt=0, le=8, description="bytes per operand (1 = int8)")
    buffer_mib: float = Field(
        gt=0, allow_inf_nan=False, description="on-chip buffer shared by all accelerators"
    )
    buffer_share_steps: int = Field(
        8, gt=0, le=MAX_SHARE_STEPS, description="buffer shares in 1/steps"
    )
    dram_gb_per_s: float = Field(
        gt=0, allow_inf_nan=False, description="DRAM bandwidth, 1e9 bytes/s"
    )
    bandwidth_share_steps: int = Field(
        8, gt=0, le=MAX_SHARE_STEPS, description="DRAM shares in 1/steps"
    )

    @model_validator(mode="after")
    def _tile_divides(self) -> Self:
        if self.rows % self.tile or self.cols % self.tile:
            raise ValueError(
                f"tile ({self.tile}) must divide rows ({self.rows}) and cols ({self.cols})"
            )
        return self


class DnnSpec(BaseModel):
    """``[[dnns]]``: one network that runs concurrently with the others."""

    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)

    name: str = Field(min_length=1)
    network: str = Field(description=f"one of {', '.join(NETWORKS)}")
    batch: int = Field(1, gt=0, le=4096, description="inferences per pass")
    weight: float = Field(
        1.0, gt=0, allow_inf_nan=False, description="throughput is normalised by this weight"
    )
    min_throughput_inferences_per_s: float = Field(0.0, ge=0, allow_inf_nan=False)

    @field_validator("network")
    @classmethod
    def _known_network(cls, value: str) -> str:
        if value not in NETWORKS:
            raise ValueError(f"one of {', '.join(NETWORKS)}")
        return value


class PolymorphicInputs(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)

    objective: Objective = Objective.MAX_MIN_NORMALISED
    cross_layer_reuse: bool = True
    array: ArraySpec
    # Planaria's fission granularity: its 128 x 128 array splits into 16 pods of 32 x 32
    # (Ghodrati et al., MICRO 2020, section 4); PEs, a multiple of the tile.
    pod: int = Field(32, gt=0)
    dnns: list[DnnSpec] = Field(min_length=1, max_length=16)

    @field_validator("dnns")
    @classmethod
    def _unique_names(cls, value: list[DnnSpec]) -> list[DnnSpec]:
        names = [dnn.name for dnn in value]
        if len(set(names)) != len(names):
            raise ValueError(f"distinct DNN names (got {names})")
        return value

    @field_validator("pod")
    @classmethod
    def _pod_on_grid(cls, value: int, info: ValidationInfo) -> int:
        array = info.data.get("array")
        if array is not None and (value % array.tile or array.rows % value or array.cols % value):
            raise ValueError(
                f"a multiple of the tile ({array.tile}) dividing rows ({array.rows}) and cols "
                f"({array.cols}) (got {value})"
            )
        return value
