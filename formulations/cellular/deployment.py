"""The deployment of a cellular-batching plan: GPU pools, each with its maximum batches."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field


class Pool(BaseModel):
    """``count`` GPUs of one type, each with a maximum batch per cell type (graph batching:
    the same value for every cell type, the graph batch size G)."""

    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)

    gpu: str
    count: int = Field(ge=1)
    max_batch: dict[str, int]


class CellularDeployment(BaseModel):
    """Strict types (a stored plan is input to ``planner check``: no "3" or true for 3)."""

    model_config = ConfigDict(extra="forbid", strict=True)

    policy: Literal["cellular", "graph", "graph_bucketed"]
    pools: list[Pool]
