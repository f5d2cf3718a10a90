"""``planner check`` for ``ppipe``: the committed pipelines re-evaluated under a changed scenario.

PPipe maximises throughput and has no demand to re-route, so a refit buys, moves and
re-plans nothing. It keeps, for every pipeline of every model, exactly the decisions a user
deploys: the GPU-type sequence, every stage's chunk range (the cuts), GPU type, MPS level,
batch and instance count (the pool sizes), and the plan's mode. It re-derives everything
else from the new scenario's chunk tables, bandwidth, SLO reserves, request-rate estimates,
weights and GPU counts: every stage's latency and throughput, every pipeline's end-to-end
latency and throughput (its slowest stage), every model's throughput, the GPUs used and
reserved per type (with the scenario's per-index rounding option), the low-class share and
the objective ``min_d throughput_d / weight_d``.

The committed plan *covers* the scenario when every committed pipeline still meets its
model's SLO and the reserved GPUs of every type fit the scenario's count. Otherwise each
shortfall is named: ``model <m> pipeline <p>`` (its end-to-end latency, required, against the
SLO, available, in us), ``gpu <g>`` (the GPUs the committed pools reserve, against the
scenario's count; 0 for a type the scenario no longer has), ``gpu <g> MPS level`` (a level
the scenario no longer allows on that type) and ``model <m>`` (a scenario model without a
committed pipeline). Pipelines of a model the scenario no longer lists are dropped (they
free their GPUs). What remains of the comparison with a fresh optimum is the objective:
``planner check`` compares the refitted plan's max-min weighted throughput with a fresh
solve's (:meth:`formulations.types.Formulation.shortfall`).
"""

from __future__ import annotations

from collections import defaultdict
from fractions import Fraction

from cost_models.units import UNIT_US
from formulations.ppipe.deployment import (
    GpuUse,
    ModelPlan,
    PipelinePlan,
    PPipeDeployment,
    StagePlan,
    low_class_share,
    reserved_gpus,
)
from formulations.ppipe.verify import evaluate_pipeline
from formulations.ppipe.view import PPipeView
from formulations.tolerances import leq
from formulations.types import Refit, Shortfall

UNIT_GPUS = "GPUs"
UNIT_MPS_LEVEL = "MPS level"
UNIT_PIPELINES = "pipelines"


def _reevaluated(
    view: PPipeView, mode: str, index: int, pipeline: PipelinePlan, where: str
) -> PipelinePlan | None:
    """``pipeline`` with every number recomputed under ``view``; None when its decisions
    do not fit the scenario's chunk tables or GPU types (the verifier then names why)."""
    evaluation = evaluate_pipeline(
        view.inputs, mode, view.inputs.models[index], view.tables[index], pipeline, where, []
    )
    if evaluation is None:
        return None
    stages = [
        stage.model_copy(update={"latency_us": latency, "throughput_qps": rate})
        for stage, latency, rate in zip(
            pipeline.stages,
            evaluation.stage_latency_us,
            evaluation.stage_throughput_qps,
            strict=True,
        )
    ]
    return pipeline.model_copy(
        update={
            "stages": stages,
            "latency_us": evaluation.latency_us,
            "throughput_qps": evaluation.capacity_qps,
        }
    )


def _mps_shortfalls(view: PPipeView, stages: list[StagePlan]) -> list[Shortfall]:
    levels = {gpu.name: gpu.max_mps_level for gpu in view.inputs.gpus}
    return [
        Shortfall(
            f"gpu {s.gpu} MPS level", float(s.mps_level), float(levels[s.gpu]), UNIT_MPS_LEVEL
        )
        for s in stages
        if s.gpu in levels and s.mps_level > levels[s.gpu]
    ]


def refit_deployment(view: PPipeView, deployment: PPipeDeployment) -> Refit[PPipeDeployment]:
    """The committed pipelines re-evaluated under ``view`` and every shortfall named (see
    the module docstring for what is kept and what "covers" means)."""
    inputs = view.inputs
    committed = {plan.model: plan for plan in deployment.models}
    shortfalls: list[Shortfall] = []
    cells: dict[tuple[int, int, str], Fraction] = defaultdict(Fraction)
    models: list[ModelPlan] = []
    for index, model in enumerate(inputs.models):
        plan = committed.get(model.name)
        pipelines = [] if plan is None else plan.pipelines
        if not pipelines:
            shortfalls.append(Shortfall(f"model {model.name}", 1.0, 0.0, UNIT_PIPELINES))
        kept: list[PipelinePlan] = []
        for p, pipeline in enumerate(pipelines):
            where = f"model {model.name} pipeline {p}"
            for k, stage in enumerate(pipeline.stages):
                cells[(index, k, stage.gpu)] += Fraction(stage.instances, stage.mps_level)
            refitted = _reevaluated(view, deployment.mode, index, pipeline, where)
            if refitted is None:
                shortfalls += _mps_shortfalls(view, pipeline.stages)
                kept.append(pipeline)
                continue
            if not leq(refitted.latency_us, model.slo_us):
                shortfalls.append(Shortfall(where, refitted.latency_us, model.slo_us, UNIT_US))
            kept.append(refitted)
        models.append(
            ModelPlan(
                model=model.name,
                weight=model.weight,
                throughput_qps=sum(p.throughput_qps for p in kept),
                pipelines=kept,
            )
        )
    counts = {gpu.name: gpu.count for gpu in inputs.gpus}
    per_type: dict[str, list[Fraction]] = defaultdict(list)
    for (_, _, name), value in cells.items():
        per_type[name].append(value)
    per_index = inputs.integer_gpus_per_partition_index
    for name, values in per_type.items():
        reserved = float(reserved_gpus(values, per_index))
        if not leq(reserved, counts.get(name, 0)):
            shortfalls.append(
                Shortfall(f"gpu {name}", reserved, counts.get(name, 0), UNIT_GPUS, resource=True)
            )
    gpus = [
        GpuUse(
            gpu=gpu.name,
            available=gpu.count,
            used=float(sum(per_type[gpu.name], Fraction(0))),
            reserved=float(reserved_gpus(per_type[gpu.name], per_index)),
            low_class=gpu.low_class,
        )
        for gpu in inputs.gpus
    ]
    result = PPipeDeployment(
        mode=deployment.mode,
        objective_qps=min(m.throughput_qps / m.weight for m in models),
        total_throughput_qps=sum(m.throughput_qps for m in models),
        models=models,
        gpus=gpus,
        low_class_gpu_share=low_class_share(gpus),
    )
    return Refit(result, shortfalls)
