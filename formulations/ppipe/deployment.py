"""The ``ppipe`` deployment (a plan people and ``planner check`` read) and its tables."""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Sequence

from pydantic import BaseModel, ConfigDict

from formulations.ppipe.inputs import Mode, PPipeInputs
from formulations.ppipe.milp import Chosen, pipeline_rps
from formulations.types import Table


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
    throughput_rps: float  # instances x per-instance throughput


class PipelinePlan(BaseModel):
    model_config = ConfigDict(extra="forbid")

    gpu_sequence: list[str]  # compat: the pipeline's full type sequence; general: used types
    stages: list[StagePlan]
    latency_us: float  # end to end, with transfers, batch building and the SLO reserve
    throughput_rps: float


class ModelPlan(BaseModel):
    model_config = ConfigDict(extra="forbid")

    model: str
    weight: float
    throughput_rps: float
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
    objective_rps: float  # min over models of throughput / weight
    total_throughput_rps: float  # sum over models
    models: list[ModelPlan]
    gpus: list[GpuUse]
    low_class_gpu_share: float | None  # reserved low-class GPUs / available low-class GPUs


def build_deployment(inputs: PPipeInputs, mode: Mode, chosen: Sequence[Chosen]) -> PPipeDeployment:
    """The deployment of a solved plan (numbers from the enumerated designs)."""
    names = [gpu.name for gpu in inputs.gpus]
    pipelines: list[list[PipelinePlan]] = [[] for _ in inputs.models]
    per_index: dict[tuple[int, int, str], float] = defaultdict(float)
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
                    throughput_rps=n * stage.instance_rps,
                )
            )
            per_index[(c.design.model, k, names[stage.gpu])] += n / stage.mps
        pipelines[c.design.model].append(
            PipelinePlan(
                gpu_sequence=[names[g] for g in c.sequence],
                stages=stages,
                latency_us=c.design.latency_us,
                throughput_rps=pipeline_rps(c),
            )
        )
    models = [
        ModelPlan(
            model=m.name,
            weight=m.weight,
            pipelines=p,
            throughput_rps=sum(x.throughput_rps for x in p),
        )
        for m, p in zip(inputs.models, pipelines, strict=True)
    ]
    gpus = []
    for gpu in inputs.gpus:
        cells = [v for (_, _, g), v in per_index.items() if g == gpu.name]
        reserved = (
            sum(math.ceil(v - 1e-9) for v in cells)
            if inputs.integer_gpus_per_partition_index
            else sum(cells)
        )
        gpus.append(
            GpuUse(
                gpu=gpu.name,
                available=gpu.count,
                used=sum(cells),
                reserved=reserved,
                low_class=gpu.low_class,
            )
        )
    return PPipeDeployment(
        mode=mode,
        models=models,
        gpus=gpus,
        low_class_gpu_share=low_class_share(gpus),
        objective_rps=min(m.throughput_rps / m.weight for m in models),
        total_throughput_rps=sum(m.throughput_rps for m in models),
    )


def low_class_share(gpus: Sequence[GpuUse]) -> float | None:
    """Reserved low-class GPUs over available low-class GPUs (None without low-class GPUs)."""
    available = sum(g.available for g in gpus if g.low_class)
    if not available:
        return None
    return sum(g.reserved for g in gpus if g.low_class) / available


def deployment_tables(deployment: PPipeDeployment) -> list[Table]:
    stages = Table(
        "Pipeline stages",
        [
            "model",
            "pipeline",
            "gpu_sequence",
            "stage",
            "chunks",
            "gpu",
            "mps_level",
            "batch",
            "instances",
            "gpus",
            "stage_latency_us",
            "stage_throughput_rps",
            "pipeline_latency_us",
            "pipeline_throughput_rps",
        ],
        [],
    )
    for model in deployment.models:
        for p, pipeline in enumerate(model.pipelines):
            for k, s in enumerate(pipeline.stages):
                stages.rows.append(
                    [
                        model.model,
                        p,
                        "-".join(pipeline.gpu_sequence),
                        k,
                        f"[{s.chunk_start}, {s.chunk_end})",
                        s.gpu,
                        s.mps_level,
                        s.batch,
                        s.instances,
                        round(s.gpus, 4),
                        round(s.latency_us, 1),
                        round(s.throughput_rps, 2),
                        round(pipeline.latency_us, 1),
                        round(pipeline.throughput_rps, 2),
                    ]
                )
    models = Table(
        "Models",
        ["model", "weight", "pipelines", "throughput_rps", "throughput_per_weight"],
        [
            [
                m.model,
                m.weight,
                len(m.pipelines),
                round(m.throughput_rps, 2),
                round(m.throughput_rps / m.weight, 2),
            ]
            for m in deployment.models
        ],
    )
    bottleneck = min(
        range(len(deployment.models)),
        key=lambda i: deployment.models[i].throughput_rps / deployment.models[i].weight,
    )
    models.marked_row = bottleneck
    gpus = Table(
        "GPUs",
        ["gpu", "low_class", "available", "used", "reserved", "share_used"],
        [
            [
                g.gpu,
                g.low_class,
                g.available,
                round(g.used, 4),
                round(g.reserved, 4),
                round(g.reserved / g.available, 4) if g.available else None,
            ]
            for g in deployment.gpus
        ],
    )
    return [stages, models, gpus]
