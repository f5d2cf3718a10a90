"""Scenario inputs of the ``llm`` formulation: the validated TOML, minus the engine's keys.

Two ways to give the replicas' capacities:

* from the cost model: ``[model]`` (a catalog model), ``[slo]``, ``[workload]`` (bucket
  edges and shares) and ``[[gpus]]`` (catalog GPUs with their TP degrees and
  ``max_num_seqs``);
* profiled, as Melange takes them: ``[[gpus]]`` with ``max_rate_qps`` (requests/s per
  bucket, rows = input buckets) and a price, or ``[melange] path`` naming Melange's
  published example file, which gives both and the workload.
"""

from __future__ import annotations

import itertools
from typing import Annotated, Self

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from cost_models.llm.catalog import GPUS, MODELS
from cost_models.llm.latency import DEFAULT_GPU_MEMORY_UTILIZATION, DEFAULT_MAX_NUM_SEQS
from formulations.types import DataFile

FiniteNonNegative = Annotated[float, Field(ge=0, allow_inf_nan=False)]
SHARE_SUM_TOL = 1e-6  # shares must sum to 1 within this (absolute)
MAX_TP = 8  # one node: the interconnects of cost_models.perf.hardware hold at most 8 GPUs
# The MILP's size bound (formulations/llm/milp.py): pools x (1 + buckets) variables, one
# cost-model capacity search per (bucket, pool) pair; the shipped scenarios have at most 126.
MAX_MODEL_VARIABLES = 50_000


class ModelSpec(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(description=f"one of {', '.join(MODELS)}")

    @field_validator("name")
    @classmethod
    def _known(cls, value: str) -> str:
        if value not in MODELS:
            raise ValueError(f"one of {', '.join(MODELS)}")
        return value


class SloSpec(BaseModel):
    model_config = ConfigDict(extra="forbid")

    ttft_ms: float = Field(gt=0, allow_inf_nan=False, description="mean time to first token")
    tpot_ms: float = Field(gt=0, allow_inf_nan=False, description="mean time per output token")


def _edges(value: list[int]) -> list[int]:
    if len(value) < 2 or value[0] < 1 or any(b <= a for a, b in itertools.pairwise(value)):
        raise ValueError("at least two strictly increasing token counts, the first >= 1")
    return value


class WorkloadSpec(BaseModel):
    """Traffic: a total rate and its shares per (input-length, output-length) bucket."""

    model_config = ConfigDict(extra="forbid")

    total_rate_qps: float = Field(gt=0, allow_inf_nan=False)
    input_edges_tokens: list[int] | None = None
    output_edges_tokens: list[int] | None = None
    shares: list[list[FiniteNonNegative]]

    @field_validator("input_edges_tokens", "output_edges_tokens")
    @classmethod
    def _check_edges(cls, value: list[int] | None) -> list[int] | None:
        return None if value is None else _edges(value)

    @model_validator(mode="after")
    def _shape(self) -> Self:
        rows = len(self.shares)
        cols = {len(r) for r in self.shares}
        if rows == 0 or len(cols) != 1 or 0 in cols:
            raise ValueError("shares: a non-empty rectangular matrix (rows = input buckets)")
        total = sum(map(sum, self.shares))
        if abs(total - 1.0) > SHARE_SUM_TOL:
            raise ValueError(f"shares: summing to 1 (they sum to {total:.9g})")
        (n_cols,) = cols
        if self.input_edges_tokens is not None and len(self.input_edges_tokens) != rows + 1:
            raise ValueError(f"input_edges_tokens: {rows + 1} edges for {rows} share rows")
        if self.output_edges_tokens is not None and len(self.output_edges_tokens) != n_cols + 1:
            raise ValueError(f"output_edges_tokens: {n_cols + 1} edges for {n_cols} share columns")
        return self


class GpuSpec(BaseModel):
    """One GPU type the plan may rent: ``[[gpus]]``."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1)
    tp_degrees: list[int] = Field(default_factory=lambda: [1])
    max_num_seqs: int = Field(DEFAULT_MAX_NUM_SEQS, ge=1, le=4096)
    max_count: int | None = Field(None, ge=0, description="GPUs of this type available")
    price_usd_per_h: float | None = Field(None, gt=0, allow_inf_nan=False)
    max_rate_qps: list[list[FiniteNonNegative]] | None = Field(
        None, description="profiled highest rate of one GPU per bucket (Melange's tputs)"
    )

    @field_validator("tp_degrees")
    @classmethod
    def _tp(cls, value: list[int]) -> list[int]:
        if not value or len(set(value)) != len(value) or any(p not in (1, 2, 4, 8) for p in value):
            raise ValueError("distinct tensor-parallel degrees from 1, 2, 4, 8")
        return sorted(value)

    @model_validator(mode="after")
    def _catalog_or_profile(self) -> Self:
        if self.max_rate_qps is None and self.name not in GPUS:
            raise ValueError(
                f"name: one of {', '.join(GPUS)}, or a profiled GPU with max_rate_qps "
                f"(got {self.name!r})"
            )
        if self.max_rate_qps is not None:
            if self.price_usd_per_h is None:
                raise ValueError("price_usd_per_h: required with max_rate_qps")
            if self.tp_degrees != [1]:
                raise ValueError("tp_degrees: [1] with max_rate_qps (a profile is one GPU)")
        return self


class CostModelSpec(BaseModel):
    """Overrides of the latency model's assumptions (``cost_models.llm.latency``)."""

    model_config = ConfigDict(extra="forbid")

    compute_efficiency: float | None = Field(None, gt=0, le=1, allow_inf_nan=False)
    memory_efficiency: float | None = Field(None, gt=0, le=1, allow_inf_nan=False)
    iteration_overhead_ms: float | None = Field(None, ge=0, allow_inf_nan=False)
    gpu_memory_utilization: float = Field(
        DEFAULT_GPU_MEMORY_UTILIZATION, gt=0, le=1, allow_inf_nan=False
    )


class MelangeSpec(BaseModel):
    model_config = ConfigDict(extra="forbid")

    path: DataFile


class LlmInputs(BaseModel):
    model_config = ConfigDict(extra="forbid")

    slice_factor: int = Field(4, ge=1, le=64, description="slices per bucket (Melange)")
    allow_disaggregation: bool = Field(
        False, description="also offer separate prefill and decode pools"
    )
    kv_link_gbit_per_s: float = Field(
        100.0, gt=0, allow_inf_nan=False, description="network of one replica for KV transfer"
    )
    model: ModelSpec | None = None
    slo: SloSpec | None = None
    workload: WorkloadSpec | None = None
    gpus: list[GpuSpec] = Field(default_factory=list)
    cost_model: CostModelSpec = Field(default_factory=CostModelSpec)
    melange: MelangeSpec | None = None

    @model_validator(mode="after")
    def _complete(self) -> Self:
        if self.melange is not None:
            if self.workload is not None or self.gpus:
                raise ValueError("melange: the example gives the workload and GPUs; drop them")
            return self
        if self.workload is None or not self.gpus:
            raise ValueError("workload and gpus: both required (or a melange example)")
        names = [g.name for g in self.gpus]
        if len(set(names)) != len(names):
            raise ValueError("gpus: each GPU type once")
        shape = (len(self.workload.shares), len(self.workload.shares[0]))
        profiled = [g for g in self.gpus if g.max_rate_qps is not None]
        for g in profiled:
            assert g.max_rate_qps is not None
            if (len(g.max_rate_qps), len({len(r) for r in g.max_rate_qps})) != (shape[0], 1) or (
                len(g.max_rate_qps[0]) != shape[1]
            ):
                raise ValueError(f"gpus {g.name}: max_rate_qps of the shares' shape {shape}")
        if len(profiled) < len(self.gpus):
            missing = [
                key
                for key, value in (
                    ("model", self.model),
                    ("slo", self.slo),
                    ("workload.input_edges_tokens", self.workload.input_edges_tokens),
                    ("workload.output_edges_tokens", self.workload.output_edges_tokens),
                )
                if value is None
            ]
            if missing:
                raise ValueError(
                    f"{', '.join(missing)}: required for GPUs without max_rate_qps "
                    "(the cost model needs them)"
                )
        if profiled and self.allow_disaggregation:
            raise ValueError("allow_disaggregation: needs the cost model, not profiled rates")
        self._check_size(shape[0] * shape[1])
        return self

    def _check_size(self, buckets: int) -> None:
        """Refuse a model beyond :data:`MAX_MODEL_VARIABLES`, naming what makes it large."""
        roles = 3 if self.allow_disaggregation else 1
        pools = sum(len(g.tp_degrees) * roles for g in self.gpus)
        variables = pools * (1 + buckets)
        if variables > MAX_MODEL_VARIABLES:
            key = "workload.shares" if buckets >= pools else "gpus"
            raise ValueError(
                f"{key}: a model of at most {MAX_MODEL_VARIABLES:,} variables (pools x "
                f"(1 + buckets); {buckets:,} buckets of workload.shares and {pools:,} pools "
                f"of gpus (tp_degrees, allow_disaggregation) give {variables:,})"
            )
