"""Scenario schema of the cellular-batching formulation (``kind = "cellular"``).

Keys (units in names; see ``docs/cellular.md``):

* ``slo_ms`` and ``percentile`` (``p50``, ``p90``, ``p95``, ``p99``): the latency SLO every
  length bucket must meet;
* ``precision`` (``fp32``, ``tf32``, ``fp16``): the math of the cells;
* ``max_batch_candidates``: the maximum batch sizes a cell type may get (per GPU type);
* ``scheduler``: ``round_robin`` (the next cell type with ready cells) or ``oldest_first``
  (the type whose oldest ready cell belongs to the oldest request; one cell type only, see
  ``docs/cellular.md``);
* ``tau_table``: optional CSV ``cell,gpu,batch_size,latency_us`` of measured cells;
* ``simulate_requests``: requests per replay of ``planner simulate``;
* ``[model]``: ``structure`` (``lstm``, ``seq2seq``, ``treelstm``), ``input_dim``,
  ``hidden``, ``layers``, ``vocab`` (output projection, 0 for none), ``target_ratio``
  (Seq2Seq target tokens per source token);
* ``[[gpus]]``: ``name`` (a GPU of ``cost_models.devices``), ``max_count``, optional
  ``price_usd_per_h``;
* ``[[traffic]]``: length buckets ``min_tokens``, ``max_tokens``, ``rate_qps``.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from cost_models.cellular.graphs import CELL_TYPES, Structure
from formulations.types import DataFile

MAX_CANDIDATE_BATCH = 1024  # cells: the largest maximum batch a scenario may offer


class ModelSpec(BaseModel):
    model_config = ConfigDict(extra="forbid")

    structure: Structure
    input_dim: int = Field(ge=1, le=65536)
    hidden: int = Field(ge=1, le=65536)
    layers: int = Field(1, ge=1, le=16)
    vocab: int = Field(0, ge=0, le=1_000_000)
    target_ratio: float = Field(1.0, gt=0, le=10, allow_inf_nan=False)


class GpuSpec(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str
    max_count: int = Field(ge=1, le=10_000)
    price_usd_per_h: float | None = Field(None, gt=0, allow_inf_nan=False)


class BucketSpec(BaseModel):
    model_config = ConfigDict(extra="forbid")

    min_tokens: int = Field(ge=1, le=4096)
    max_tokens: int = Field(ge=1, le=4096)
    rate_qps: float = Field(ge=0, allow_inf_nan=False)

    @model_validator(mode="after")
    def _ordered(self) -> BucketSpec:
        if self.max_tokens < self.min_tokens:
            raise ValueError("max_tokens >= min_tokens")
        return self

    @property
    def label(self) -> str:
        return f"{self.min_tokens}-{self.max_tokens} tokens"


class CellularInputs(BaseModel):
    model_config = ConfigDict(extra="forbid")

    slo_ms: float = Field(gt=0, allow_inf_nan=False)
    percentile: Literal["p50", "p90", "p95", "p99"] = "p99"
    precision: Literal["fp32", "tf32", "fp16"] = "fp32"
    max_batch_candidates: list[int] = Field(
        default_factory=lambda: [16, 32, 64, 128, 256], min_length=1
    )
    scheduler: Literal["round_robin", "oldest_first"] = "round_robin"
    tau_table: DataFile | None = None
    simulate_requests: int = Field(4000, ge=100, le=1_000_000)
    model: ModelSpec
    gpus: list[GpuSpec] = Field(min_length=1)
    traffic: list[BucketSpec] = Field(min_length=1)

    @model_validator(mode="after")
    def _consistent(self) -> CellularInputs:
        if any(not 1 <= b <= MAX_CANDIDATE_BATCH for b in self.max_batch_candidates):
            raise ValueError(f"max_batch_candidates between 1 and {MAX_CANDIDATE_BATCH}")
        if len(set(self.max_batch_candidates)) != len(self.max_batch_candidates):
            raise ValueError("max_batch_candidates without repeats")
        if len({g.name for g in self.gpus}) != len(self.gpus):
            raise ValueError("gpus: each GPU type once")
        if sum(b.rate_qps for b in self.traffic) <= 0:
            raise ValueError("traffic: a positive total rate_qps")
        if self.scheduler == "oldest_first" and len(CELL_TYPES[self.model.structure]) > 1:
            raise ValueError(
                "scheduler = round_robin for a model with several cell types (the latency "
                "model covers oldest_first for one cell type only)"
            )
        return self
