"""The ``ppipe`` deployment (a plan people and ``planner check`` read), and how it is read off
the designs a solve picked.

Rates are requests/s (``*_qps``), latencies microseconds, GPU counts physical GPUs.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Iterable, Sequence
from fractions import Fraction
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field

from formulations.ppipe.inputs import Mode, PPipeInputs
from formulations.ppipe.milp import Chosen

# Every deployment field is validated strictly (no string or boolean for a number), finite
# and in range: a stored plan is input to ``planner check`` (issue 18 item 6).
_STRICT = ConfigDict(extra="forbid", strict=True)
Name = Annotated[str, Field(min_length=1)]
NonNegative = Annotated[float, Field(ge=0, allow_inf_nan=False)]


class StagePlan(BaseModel):
    model_config = _STRICT

    chunk_start: int = Field(ge=0)
    chunk_end: int = Field(ge=1)  # exclusive
    gpu: Name
    mps_level: int = Field(ge=1)
    batch: int = Field(ge=1)
    instances: int = Field(ge=1)  # MPS slices
    gpus: NonNegative  # physical GPUs = instances / mps_level
    latency_us: NonNegative  # one batch through the stage
    throughput_qps: NonNegative  # instances x per-instance throughput


class PipelinePlan(BaseModel):
    model_config = _STRICT

    # compat: the pipeline's full type sequence; general: its used types
    gpu_sequence: list[Name] = Field(min_length=1)
    stages: list[StagePlan] = Field(min_length=1)
    latency_us: NonNegative  # end to end, with transfers, batch building and the SLO reserve
    throughput_qps: NonNegative

    @property
    def label(self) -> str:
        """The GPU types the pipeline runs on, stage by stage (e.g. ``L4 -> T4``, ``T4``)."""
        return " -> ".join(s.gpu for s in self.stages)


class ModelPlan(BaseModel):
    model_config = _STRICT

    model: Name
    weight: float = Field(gt=0, allow_inf_nan=False)
    throughput_qps: NonNegative
    pipelines: list[PipelinePlan]


class GpuUse(BaseModel):
    model_config = _STRICT

    gpu: Name
    available: int = Field(ge=0)
    used: NonNegative  # sum of instances / mps_level
    reserved: NonNegative  # physical GPUs held (per-index rounding up when that option is on)
    low_class: bool


class PPipeDeployment(BaseModel):
    model_config = _STRICT

    mode: Mode
    objective_qps: NonNegative  # min over models of throughput / weight
    total_throughput_qps: NonNegative  # sum over models
    models: list[ModelPlan] = Field(min_length=1)
    gpus: list[GpuUse] = Field(min_length=1)
    # reserved low-class GPUs / available low-class GPUs
    low_class_gpu_share: Annotated[float, Field(ge=0, allow_inf_nan=False)] | None


def pipeline_qps(chosen: Chosen) -> float:
    """Throughput of a chosen pipeline: its slowest slot (instances x per-instance rate)."""
    return min(
        n * s.instance_qps for n, s in zip(chosen.instances, chosen.design.stages, strict=True)
    )


def reserved_gpus(cells: Iterable[Fraction], per_index: bool) -> Fraction:
    """Physical GPUs of one type held by slot-index cells of exact GPU use: each cell
    rounded up with integer_gpus_per_partition_index, else their sum."""
    values = list(cells)
    if per_index:
        return Fraction(sum(math.ceil(v) for v in values))
    return sum(values, Fraction(0))


def build_deployment(inputs: PPipeInputs, mode: Mode, chosen: Sequence[Chosen]) -> PPipeDeployment:
    """The deployment of chosen pipelines (numbers from the enumerated designs)."""
    names = [gpu.name for gpu in inputs.gpus]
    pipelines: list[list[PipelinePlan]] = [[] for _ in inputs.models]
    per_index: dict[tuple[int, int, str], Fraction] = defaultdict(Fraction)
    for c in chosen:
        stages = []
        for k, (stage, n) in enumerate(zip(c.design.stages, c.instances, strict=True)):
            stages.append(
                StagePlan(
                    chunk_start=stage.start,
                    chunk_end=stage.end,
                    gpu=names[stage.gpu],
                    mps_level=stage.mps,
                    batch=stage.batch,
                    instances=n,
                    gpus=n / stage.mps,
                    latency_us=stage.latency_us,
                    throughput_qps=n * stage.instance_qps,
                )
            )
            per_index[(c.design.model, k, names[stage.gpu])] += Fraction(n, stage.mps)
        pipelines[c.design.model].append(
            PipelinePlan(
                gpu_sequence=[names[g] for g in c.sequence],
                stages=stages,
                latency_us=c.design.latency_us,
                throughput_qps=pipeline_qps(c),
            )
        )
    models = [
        ModelPlan(
            model=m.name,
            weight=m.weight,
            pipelines=p,
            throughput_qps=sum(x.throughput_qps for x in p),
        )
        for m, p in zip(inputs.models, pipelines, strict=True)
    ]
    gpus = []
    for gpu in inputs.gpus:
        cells = [v for (_, _, g), v in per_index.items() if g == gpu.name]
        gpus.append(
            GpuUse(
                gpu=gpu.name,
                available=gpu.count,
                used=float(sum(cells, Fraction(0))),
                reserved=float(reserved_gpus(cells, inputs.integer_gpus_per_partition_index)),
                low_class=gpu.low_class,
            )
        )
    return PPipeDeployment(
        mode=mode,
        models=models,
        gpus=gpus,
        low_class_gpu_share=low_class_share(gpus),
        objective_qps=min(m.throughput_qps / m.weight for m in models),
        total_throughput_qps=sum(m.throughput_qps for m in models),
    )


def low_class_share(gpus: Sequence[GpuUse]) -> float | None:
    """Reserved low-class GPUs over available low-class GPUs (None without low-class GPUs)."""
    available = sum(g.available for g in gpus if g.low_class)
    if not available:
        return None
    return sum(g.reserved for g in gpus if g.low_class) / available
