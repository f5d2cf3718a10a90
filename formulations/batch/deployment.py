"""The deployment of a BATCH plan: one Lambda configuration (M, B, T) per interval."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from formulations.batch.inputs import MAX_BATCH_SIZE
from formulations.model import VarBlock
from formulations.types import SolveResult


class HourConfig(BaseModel):
    """Lambda memory, the buffer's batch size and its timeout for one interval."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    memory_mb: int = Field(strict=True, ge=1)
    batch_size: int = Field(strict=True, ge=1, le=MAX_BATCH_SIZE)
    timeout_s: float = Field(strict=True, gt=0, allow_inf_nan=False)


class BatchDeployment(BaseModel):
    model_config = ConfigDict(extra="forbid")

    hours: list[HourConfig] = Field(min_length=1)


def read_deployment(
    x: VarBlock, result: SolveResult, configs: dict[int, HourConfig], hours: int
) -> BatchDeployment:
    """The configuration whose ``x[h, c]`` is 1 in each hour (the largest value wins)."""
    best: dict[int, tuple[float, int]] = {}
    for label, value in x.value_map(result).items():
        assert isinstance(label, tuple)  # labels of x are (hour, candidate) pairs
        h, c = int(label[0]), int(label[1])
        if h not in best or value > best[h][0]:
            best[h] = (value, c)
    return BatchDeployment(hours=[configs[best[h][1]] for h in range(hours)])
