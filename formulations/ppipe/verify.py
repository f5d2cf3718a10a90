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

from cost_models.ppipe.tables import ChunkTable, batch_build_us
from formulations.ppipe.deployment import PipelinePlan, PPipeDeployment, low_class_share
from formulations.ppipe.inputs import ModelDemand, PPipeInputs, chunk_tables
from formulations.types import Verification

REL_TOL = 1e-6


def _close(a: float, b: float) -> bool:
    return math.isclose(a, b, rel_tol=REL_TOL, abs_tol=1e-6)


def _check_pipeline(
    inputs: PPipeInputs,
    mode: str,
    model: ModelDemand,
    table: ChunkTable,
    pipeline: PipelinePlan,
    where: str,
    out: list[str],
    per_index: dict[tuple[int, str], float],
) -> float:
    """Violations of one pipeline go to ``out``; returns its recomputed throughput."""
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
        return 0.0
    capacity = math.inf
    latency = model.slo_reserve_us + batch_build_us(
        inputs.batch_build_factor, stages[0].batch, model.est_throughput_rps
    )
    expected_start = 0
    for k, s in enumerate(stages):
        at = f"{where} stage {k}"
        pool = pools.get(s.gpu)
        if pool is None or s.gpu != sequence[k]:
            out.append(f"{at}: GPU {s.gpu} is not slot {k} of sequence {sequence}")
            return 0.0
        if s.chunk_start != expected_start or not s.chunk_start < s.chunk_end <= table.chunks:
            out.append(
                f"{at}: chunks [{s.chunk_start}, {s.chunk_end}) do not continue the "
                f"chain at {expected_start} within {table.chunks} chunks"
            )
            return 0.0
        expected_start = s.chunk_end
        if not 1 <= s.mps_level <= pool.max_mps_level or not table.has(s.gpu, s.mps_level, s.batch):
            out.append(f"{at}: MPS level {s.mps_level} / batch {s.batch} not allowed on {s.gpu}")
            return 0.0
        if inputs.same_batch_across_partitions and s.batch != stages[0].batch:
            out.append(f"{at}: batch {s.batch} differs from the first stage's")
        if s.instances < 1:
            out.append(f"{at}: at least one instance (got {s.instances})")
        stage_latency = table.stage_latency_us(
            s.gpu, s.mps_level, s.batch, s.chunk_start, s.chunk_end
        )
        rate = s.instances * table.instance_throughput_rps(
            s.gpu,
            s.mps_level,
            s.batch,
            s.chunk_start,
            s.chunk_end,
            inputs.bw_gbps,
            pool.gpus_per_server,
        )
        if not _close(stage_latency, s.latency_us):
            out.append(f"{at}: latency {s.latency_us} us, recomputed {stage_latency} us")
        if not _close(rate, s.throughput_rps):
            out.append(f"{at}: throughput {s.throughput_rps} rps, recomputed {rate} rps")
        if not _close(s.gpus, s.instances / s.mps_level):
            out.append(f"{at}: {s.gpus} GPUs, but {s.instances} instances / level {s.mps_level}")
        latency += stage_latency
        if s.chunk_end < table.chunks:
            latency += s.batch * table.cut_transfer_us(s.chunk_end, inputs.bw_gbps)
        capacity = min(capacity, rate)
        per_index[(k, s.gpu)] += s.instances / s.mps_level
    if expected_start != table.chunks:
        out.append(f"{where}: stages end at chunk {expected_start}, not {table.chunks}")
    if latency > model.slo_us * (1 + REL_TOL):
        out.append(f"{where}: latency {latency:.1f} us exceeds the SLO {model.slo_us:.1f} us")
    if not _close(latency, pipeline.latency_us):
        out.append(f"{where}: latency {pipeline.latency_us} us, recomputed {latency} us")
    if pipeline.throughput_rps > capacity * (1 + REL_TOL) + 1e-6:
        out.append(
            f"{where}: throughput {pipeline.throughput_rps} rps exceeds its slowest "
            f"stage's {capacity} rps"
        )
    return capacity


def verify_deployment(inputs: PPipeInputs, deployment: PPipeDeployment) -> Verification:
    out: list[str] = []
    tables = chunk_tables(inputs)
    if deployment.mode != inputs.mode:
        out.append(f"mode: plan is {deployment.mode}, scenario asks for {inputs.mode}")
    if [m.model for m in deployment.models] != [m.name for m in inputs.models]:
        out.append("models: one entry per scenario model, in scenario order")
        return Verification(0.0, out)
    per_index: dict[tuple[int, int, str], float] = defaultdict(float)
    objective = math.inf
    for d, (model, plan, table) in enumerate(
        zip(inputs.models, deployment.models, tables, strict=True)
    ):
        cells: dict[tuple[int, str], float] = defaultdict(float)
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
        for (k, gpu), value in cells.items():
            per_index[(d, k, gpu)] += value
        if deployment.mode == "compat":
            sequences = [tuple(p.gpu_sequence) for p in plan.pipelines]
            if len(set(sequences)) != len(sequences):
                out.append(f"{model.name}: compat mode allows one pipeline per GPU sequence")
        if not _close(sum(p.throughput_rps for p in plan.pipelines), plan.throughput_rps):
            out.append(
                f"{model.name}: throughput {plan.throughput_rps} rps is not the sum "
                "of its pipelines'"
            )
        if plan.weight != model.weight:
            out.append(f"{model.name}: weight {plan.weight}, scenario says {model.weight}")
        objective = min(objective, total / model.weight)
    if [g.gpu for g in deployment.gpus] != [g.name for g in inputs.gpus]:
        out.append("gpus: one entry per scenario GPU type, in scenario order")
        return Verification(objective, out)
    for gpu, use in zip(inputs.gpus, deployment.gpus, strict=True):
        cells = [v for (_, _, g), v in per_index.items() if g == gpu.name]
        used = sum(cells)
        reserved = (
            sum(math.ceil(v - 1e-9) for v in cells)
            if inputs.integer_gpus_per_partition_index
            else used
        )
        if reserved > gpu.count + 1e-9:
            out.append(f"gpus.{gpu.name}: {reserved} GPUs needed, {gpu.count} available")
        if not (
            _close(use.used, used)
            and _close(use.reserved, reserved)
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
    if not _close(
        sum(m.throughput_rps for m in deployment.models), deployment.total_throughput_rps
    ):
        out.append(
            f"total_throughput_rps: {deployment.total_throughput_rps} is not the sum over models"
        )
    if not _close(objective, deployment.objective_rps):
        out.append(f"objective_rps: {deployment.objective_rps}, recomputed {objective}")
    return Verification(objective, out)
