"""Independent verifier of a ``ppipe`` deployment.

Recomputes, from the chunk latency tables of the cost model only (never from solver values
or the design enumeration): every stage's latency and throughput, every pipeline's chunk
coverage, GPU types (every name of its GPU-type sequence a scenario GPU; in general mode
the sequence is exactly the used types), MPS levels, batches and end-to-end latency against
its SLO, one pipeline per GPU-type sequence in compat mode, the GPU budget per type (with
the per-index rounding when that option is on), every reported total, and the objective
``min_d sum_p min_k n_k r_k / w_d``.
"""

from __future__ import annotations

import math
from collections import defaultdict
from dataclasses import dataclass
from fractions import Fraction

from cost_models.ppipe.tables import ChunkTable, batch_build_us
from formulations.ppipe.deployment import (
    PipelinePlan,
    PPipeDeployment,
    low_class_share,
    reserved_gpus,
)
from formulations.ppipe.inputs import ModelDemand, PPipeInputs
from formulations.ppipe.view import PPipeView
from formulations.tolerances import close, leq
from formulations.types import Verification


@dataclass
class PipelineEvaluation:
    """The cost model's numbers for one pipeline's decisions (cuts, GPU types, MPS levels,
    batches, instance counts), recomputed from the chunk table."""

    stage_latency_us: list[float]
    stage_throughput_qps: list[float]  # instances x per-instance throughput
    latency_us: float  # end to end, with transfers, batch building and the SLO reserve
    capacity_qps: float  # the slowest stage's throughput
    cells: dict[tuple[int, str], Fraction]  # (slot index, GPU type) -> physical GPUs


def evaluate_pipeline(
    inputs: PPipeInputs,
    mode: str,
    model: ModelDemand,
    table: ChunkTable,
    pipeline: PipelinePlan,
    where: str,
    out: list[str],
) -> PipelineEvaluation | None:
    """Recompute one pipeline from its decisions; structural violations (GPU types, chunk
    chain, MPS levels, batches) go to ``out``; None when it cannot be evaluated at all."""
    pools = {gpu.name: gpu for gpu in inputs.gpus}
    sequence, stages = pipeline.gpu_sequence, pipeline.stages
    if mode == "compat" and len(sequence) != inputs.max_partitions:
        out.append(f"{where}: compat pipelines have {inputs.max_partitions} GPU types")
    if mode == "general" and len(sequence) != len(stages):
        out.append(f"{where}: a general pipeline's GPU sequence lists its used types only")
    if any(name not in pools for name in sequence):
        out.append(f"{where}: GPU sequence {sequence} names a GPU type not in the scenario")
    if not stages or len(stages) > min(len(sequence), inputs.max_partitions):
        out.append(f"{where}: 1..{inputs.max_partitions} stages within its GPU sequence")
        return None
    evaluation = PipelineEvaluation(
        [],
        [],
        model.slo_reserve_us
        + batch_build_us(inputs.batch_build_factor, stages[0].batch, model.est_throughput_qps),
        math.inf,
        defaultdict(Fraction),
    )
    expected_start = 0
    for k, s in enumerate(stages):
        at = f"{where} stage {k}"
        pool = pools.get(s.gpu)
        if pool is None or s.gpu != sequence[k]:
            out.append(f"{at}: GPU {s.gpu} is not slot {k} of sequence {sequence}")
            return None
        if s.chunk_start != expected_start or not s.chunk_start < s.chunk_end <= table.chunks:
            out.append(
                f"{at}: chunks [{s.chunk_start}, {s.chunk_end}) do not continue the "
                f"chain at {expected_start} within {table.chunks} chunks"
            )
            return None
        expected_start = s.chunk_end
        if not 1 <= s.mps_level <= pool.max_mps_level or not table.has(s.gpu, s.mps_level, s.batch):
            out.append(f"{at}: MPS level {s.mps_level} / batch {s.batch} not allowed on {s.gpu}")
            return None
        if inputs.same_batch_across_partitions and s.batch != stages[0].batch:
            out.append(f"{at}: batch {s.batch} differs from the first stage's")
        stage_latency = table.stage_latency_us(
            s.gpu, s.mps_level, s.batch, s.chunk_start, s.chunk_end
        )
        rate = s.instances * table.instance_throughput_qps(
            s.gpu,
            s.mps_level,
            s.batch,
            s.chunk_start,
            s.chunk_end,
            inputs.bandwidth_gbit_per_s,
            pool.gpus_per_server,
        )
        evaluation.stage_latency_us.append(stage_latency)
        evaluation.stage_throughput_qps.append(rate)
        evaluation.latency_us += stage_latency
        if s.chunk_end < table.chunks:
            evaluation.latency_us += s.batch * table.cut_transfer_us(
                s.chunk_end, inputs.bandwidth_gbit_per_s
            )
        evaluation.capacity_qps = min(evaluation.capacity_qps, rate)
        evaluation.cells[(k, s.gpu)] += Fraction(s.instances, s.mps_level)
    if expected_start != table.chunks:
        out.append(f"{where}: stages end at chunk {expected_start}, not {table.chunks}")
    return evaluation


def _check_pipeline(
    inputs: PPipeInputs,
    mode: str,
    model: ModelDemand,
    table: ChunkTable,
    pipeline: PipelinePlan,
    where: str,
    out: list[str],
    per_index: dict[tuple[int, str], Fraction],
) -> float:
    """Violations of one pipeline go to ``out``; returns its recomputed throughput."""
    evaluation = evaluate_pipeline(inputs, mode, model, table, pipeline, where, out)
    if evaluation is None:
        return 0.0
    for k, s in enumerate(pipeline.stages):
        at = f"{where} stage {k}"
        stage_latency = evaluation.stage_latency_us[k]
        rate = evaluation.stage_throughput_qps[k]
        if not close(stage_latency, s.latency_us):
            out.append(f"{at}: latency {s.latency_us} us, recomputed {stage_latency} us")
        if not close(rate, s.throughput_qps):
            out.append(
                f"{at}: throughput {s.throughput_qps} requests/s, recomputed {rate} requests/s"
            )
        if not close(s.gpus, s.instances / s.mps_level):
            out.append(f"{at}: {s.gpus} GPUs, but {s.instances} instances / level {s.mps_level}")
    for cell, value in evaluation.cells.items():
        per_index[cell] += value
    latency, capacity = evaluation.latency_us, evaluation.capacity_qps
    if not leq(latency, model.slo_us):
        out.append(f"{where}: latency {latency:.1f} us exceeds the SLO {model.slo_us:.1f} us")
    if not close(latency, pipeline.latency_us):
        out.append(f"{where}: latency {pipeline.latency_us} us, recomputed {latency} us")
    if not leq(pipeline.throughput_qps, capacity):
        out.append(
            f"{where}: throughput {pipeline.throughput_qps} requests/s exceeds its slowest "
            f"stage's {capacity} requests/s"
        )
    return capacity


def verify_deployment(view: PPipeView, deployment: PPipeDeployment) -> Verification:
    """Every violation of ``deployment`` against the scenario, and its objective."""
    inputs, tables = view.inputs, view.tables
    out: list[str] = []
    if deployment.mode != inputs.mode:
        out.append(f"mode: plan is {deployment.mode}, scenario asks for {inputs.mode}")
    if [m.model for m in deployment.models] != [m.name for m in inputs.models]:
        out.append("models: one entry per scenario model, in scenario order")
        return Verification(0.0, out)
    per_index: dict[tuple[int, int, str], Fraction] = defaultdict(Fraction)
    objective = math.inf
    for d, (model, plan, table) in enumerate(
        zip(inputs.models, deployment.models, tables, strict=True)
    ):
        cells: dict[tuple[int, str], Fraction] = defaultdict(Fraction)
        total = 0.0
        for p, pipeline in enumerate(plan.pipelines):
            total += _check_pipeline(
                inputs,
                deployment.mode,
                model,
                table,
                pipeline,
                f"{model.name} pipeline {p}",
                out,
                cells,
            )
        for (k, name), value in cells.items():
            per_index[(d, k, name)] += value
        if deployment.mode == "compat":
            sequences = [tuple(p.gpu_sequence) for p in plan.pipelines]
            if len(set(sequences)) != len(sequences):
                out.append(f"{model.name}: compat mode allows one pipeline per GPU sequence")
        if not close(sum(p.throughput_qps for p in plan.pipelines), plan.throughput_qps):
            out.append(
                f"{model.name}: throughput {plan.throughput_qps} requests/s is not the sum "
                "of its pipelines'"
            )
        if plan.weight != model.weight:
            out.append(f"{model.name}: weight {plan.weight}, scenario says {model.weight}")
        objective = min(objective, total / model.weight)
    if [g.gpu for g in deployment.gpus] != [g.name for g in inputs.gpus]:
        out.append("gpus: one entry per scenario GPU type, in scenario order")
        return Verification(objective, out)
    for gpu, use in zip(inputs.gpus, deployment.gpus, strict=True):
        exact = [v for (_, _, g), v in per_index.items() if g == gpu.name]
        used = float(sum(exact, Fraction(0)))
        reserved = float(reserved_gpus(exact, inputs.integer_gpus_per_partition_index))
        if not leq(reserved, gpu.count):
            out.append(f"gpus.{gpu.name}: {reserved} GPUs needed, {gpu.count} available")
        if not (
            close(use.used, used)
            and close(use.reserved, reserved)
            and use.available == gpu.count
            and use.low_class == gpu.low_class
        ):
            out.append(
                f"gpus.{gpu.name}: reported use differs from the recomputed "
                f"{used} used / {reserved} reserved of {gpu.count}"
            )
    share = low_class_share(deployment.gpus)
    if share != deployment.low_class_gpu_share:
        out.append(f"low_class_gpu_share: {deployment.low_class_gpu_share}, recomputed {share}")
    if not close(sum(m.throughput_qps for m in deployment.models), deployment.total_throughput_qps):
        out.append(
            f"total_throughput_qps: {deployment.total_throughput_qps} is not the sum over models"
        )
    if not close(objective, deployment.objective_qps):
        out.append(f"objective_qps: {deployment.objective_qps}, recomputed {objective}")
    return Verification(objective, out)
