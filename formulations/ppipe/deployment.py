"""The ``ppipe`` deployment (a plan people and ``planner check`` read), and how it is read off
the designs a solve picked.

Rates are requests/s (``*_qps``), latencies microseconds, GPU counts physical GPUs.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Iterable, Sequence
from fractions import Fraction

from pydantic import BaseModel, ConfigDict

from formulations.ppipe.inputs import Mode, PPipeInputs
from formulations.ppipe.milp import Chosen


class StagePlan(BaseModel):
    model_config = ConfigDict(extra="forbid")

    chunk_start: int
    chunk_end: int  # exclusive
    gpu: str
    mps_level: int
    batch: int
    instances: int  # MPS slices
    gpus: float  # physical GPUs = instances / mps_level
    latency_us: float  # one batch through the stage
    throughput_qps: float  # instances x per-instance throughput


class PipelinePlan(BaseModel):
    model_config = ConfigDict(extra="forbid")

    gpu_sequence: list[str]  # compat: the pipeline's full type sequence; general: used types
    stages: list[StagePlan]
    latency_us: float  # end to end, with transfers, batch building and the SLO reserve
    throughput_qps: float


class ModelPlan(BaseModel):
    model_config = ConfigDict(extra="forbid")

    model: str
    weight: float
    throughput_qps: float
    pipelines: list[PipelinePlan]


class GpuUse(BaseModel):
    model_config = ConfigDict(extra="forbid")

    gpu: str
    available: int
    used: float  # sum of instances / mps_level
    reserved: float  # physical GPUs held (per-index rounding up when that option is on)
    low_class: bool


class PPipeDeployment(BaseModel):
    model_config = ConfigDict(extra="forbid")

    mode: Mode
    objective_qps: float  # min over models of throughput / weight
    total_throughput_qps: float  # sum over models
    models: list[ModelPlan]
    gpus: list[GpuUse]
    low_class_gpu_share: float | None  # reserved low-class GPUs / available low-class GPUs


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
