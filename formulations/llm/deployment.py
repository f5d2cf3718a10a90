"""The ``llm`` deployment (replicas per pool, slices per bucket and pool) and how it is
read off a solution."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from formulations.llm.view import Batching, LlmView


class PoolPlan(BaseModel):
    """Replicas of one pool: ``gpu/tp<tp>/<role>``, each on ``tp`` GPUs."""

    model_config = ConfigDict(extra="forbid")

    pool: str
    replicas: int = Field(strict=True, ge=0)


class SliceAssignment(BaseModel):
    """``slices`` of the bucket's ``slice_factor`` slices served by ``pool``."""

    model_config = ConfigDict(extra="forbid")

    bucket: str
    pool: str
    slices: int = Field(strict=True, ge=0)


class LlmDeployment(BaseModel):
    model_config = ConfigDict(extra="forbid")

    batching: Batching = Batching.CONTINUOUS
    slice_factor: int = Field(strict=True, ge=1)
    pools: list[PoolPlan]
    assignments: list[SliceAssignment]


def deployment_of(
    view: LlmView,
    replicas: dict[str, int],
    slices: dict[tuple[int, str], int],
    batching: Batching = Batching.CONTINUOUS,
) -> LlmDeployment:
    """The deployment with ``replicas`` per pool key and ``slices`` per (bucket index, pool
    key); pools without replicas are left out."""
    return LlmDeployment(
        batching=batching,
        slice_factor=view.slice_factor,
        pools=[
            PoolPlan(pool=p.key, replicas=replicas[p.key])
            for p in view.pools
            if replicas.get(p.key, 0) > 0
        ],
        assignments=[
            SliceAssignment(bucket=view.bucket_labels[b], pool=q, slices=c)
            for (b, q), c in sorted(slices.items())
            if c > 0
        ],
    )
