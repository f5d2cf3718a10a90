"""Tables of a ``ppipe`` deployment for people: pipeline stages, models, GPUs."""

from __future__ import annotations

from cost_models.units import PERCENT_PER_FRACTION
from formulations.ppipe.deployment import PPipeDeployment
from formulations.ppipe.inputs import PPipeInputs
from formulations.ppipe.view import rate_source
from formulations.types import Table


def deployment_tables(inputs: PPipeInputs, deployment: PPipeDeployment) -> list[Table]:
    """Pipeline stages (the primary table; the title names the mode), models with their SLO
    (the bottleneck marked), GPUs. A pipeline is labelled by the GPU types its stages run on
    (a compat pipeline's full type sequence may list a type no stage uses)."""
    slo_us = {m.name: m.slo_us for m in inputs.models}
    stages = Table(
        f"Pipeline stages ({deployment.mode} mode)",
        [
            "model",
            "pipeline",
            "gpus_used",
            "stage",
            "chunks",
            "gpu",
            "mps_level",
            "batch",
            "instances",
            "gpus",
            "stage_latency_us",
            "stage_throughput_qps",
            "pipeline_latency_us",
            "pipeline_throughput_qps",
            "rate_source",  # where the stage's chunk latencies came from (expected error)
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
                        pipeline.label,
                        k,
                        f"[{s.chunk_start}, {s.chunk_end})",
                        s.gpu,
                        s.mps_level,
                        s.batch,
                        s.instances,
                        round(s.gpus, 4),
                        round(s.latency_us, 1),
                        round(s.throughput_qps, 2),
                        round(pipeline.latency_us, 1),
                        round(pipeline.throughput_qps, 2),
                        rate_source(inputs, model.model, s.gpu).label,
                    ]
                )
    models = Table(
        "Models",
        [
            "model",
            "weight",
            "slo_us",
            "latency_us_max",
            "pipelines",
            "throughput_qps",
            "throughput_per_weight",
        ],
        [
            [
                m.model,
                m.weight,
                round(slo_us[m.model], 1),
                round(max((p.latency_us for p in m.pipelines), default=0.0), 1),
                len(m.pipelines),
                round(m.throughput_qps, 2),
                round(m.throughput_qps / m.weight, 2),
            ]
            for m in deployment.models
        ],
    )
    bottleneck = min(
        range(len(deployment.models)),
        key=lambda i: deployment.models[i].throughput_qps / deployment.models[i].weight,
    )
    models.marked_row = bottleneck
    models.marker = "the bottleneck: lowest throughput per weight (the objective)"
    gpus = Table(
        "GPUs",
        ["gpu", "low_class", "available", "used", "reserved", "reserved_pct"],
        [
            [
                g.gpu,
                g.low_class,
                g.available,
                round(g.used, 4),
                round(g.reserved, 4),
                round(PERCENT_PER_FRACTION * g.reserved / g.available, 2) if g.available else None,
            ]
            for g in deployment.gpus
        ],
    )
    return [stages, models, gpus]
