"""The deployment of a BATCH plan: per interval, the Lambda configuration (M, B, T), the
share of requests Lambda serves, and the provisioned VMs carrying the rest (hybrid)."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field, model_validator

from formulations.batch.inputs import MAX_BATCH_SIZE, MAX_VMS_PER_OFFER
from formulations.model import VarBlock
from formulations.types import SolveResult

LambdaKey = tuple[int, int, float] | None  # (memory_mb, batch_size, timeout_s); None: off


class HourConfig(BaseModel):
    """One interval: Lambda memory, the buffer's batch size and timeout (absent when Lambda
    serves nothing), Lambda's share of the requests, and VM counts per offer
    (``instance_type:market``)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    memory_mb: int | None = Field(None, strict=True, ge=1)
    batch_size: int | None = Field(None, strict=True, ge=1, le=MAX_BATCH_SIZE)
    timeout_s: float | None = Field(None, strict=True, gt=0, allow_inf_nan=False)
    lambda_share: float = Field(1.0, ge=0, le=1, allow_inf_nan=False)
    vms: dict[str, int] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _consistent(self) -> HourConfig:
        given = [v is not None for v in (self.memory_mb, self.batch_size, self.timeout_s)]
        if self.lambda_share > 0 and not all(given):
            raise ValueError("memory_mb, batch_size and timeout_s: required when lambda_share > 0")
        if self.lambda_share == 0 and any(given):
            raise ValueError("lambda_share = 0: no memory_mb, batch_size or timeout_s")
        for name, count in self.vms.items():
            if isinstance(count, bool) or not 0 <= count <= MAX_VMS_PER_OFFER:
                raise ValueError(f"vms[{name}]: a count 0..{MAX_VMS_PER_OFFER}")
        return self

    @property
    def lambda_key(self) -> LambdaKey:
        """The Lambda configuration, what ``max_config_changes`` counts changes of."""
        if self.memory_mb is None or self.batch_size is None or self.timeout_s is None:
            return None
        return (self.memory_mb, self.batch_size, self.timeout_s)


class BatchDeployment(BaseModel):
    model_config = ConfigDict(extra="forbid")

    hours: list[HourConfig] = Field(min_length=1)


def read_deployment(
    x: VarBlock,
    n: VarBlock | None,
    result: SolveResult,
    configs: dict[int, tuple[int, int, float] | None],
    shares: list[float],
    offers: list[str],
    hours: int,
) -> BatchDeployment:
    """Per hour, the (share, configuration) whose ``x[h, s, c]`` is largest, and the VM
    counts ``n[h, v]`` rounded to integers."""
    best: dict[int, tuple[float, int, int]] = {}
    for label, value in x.value_map(result).items():
        assert isinstance(label, tuple)  # labels of x are (hour, share, candidate)
        h, s, c = (int(v) for v in label)
        if h not in best or value > best[h][0]:
            best[h] = (value, s, c)
    counts: dict[int, dict[str, int]] = {h: {} for h in range(hours)}
    if n is not None:
        for label, value in n.value_map(result).items():
            assert isinstance(label, tuple)  # (hour, offer index)
            h, v = int(label[0]), int(label[1])
            if round(value) > 0:
                counts[h][offers[v]] = round(value)
    out = []
    for h in range(hours):
        _, s, c = best[h]
        key = configs[c]
        m, b, t = key if key is not None else (None, None, None)
        out.append(
            HourConfig(
                memory_mb=m, batch_size=b, timeout_s=t, lambda_share=shares[s], vms=counts[h]
            )
        )
    return BatchDeployment(hours=out)
