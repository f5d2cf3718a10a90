"""PPipe's analytical mode on the calibrated performance model (issue 10).

Chunk latencies of a layer spec (:data:`cost_models.ppipe.layers.CNN_SPECS`) come from the
calibrated model of :mod:`cost_models.perf.model` on TensorRT at TF32 (the runtime and
precision of PPipe's published tables, which the model was fitted to;
``cost_models/perf/calibration.json``). Every layer is one kernel (as in the performance
model's catalog). For a chunk ``c`` (a set ``K_c`` of the ``L`` layers) at batch ``b`` on an
MPS slice of level ``m`` (``1/m`` of the GPU's compute and bandwidth, an assumption):

    device_c = sum_{k in K_c} max(compute_k(b), power_k(b), memory_k(b))   (model.py)
    host_c   = |K_c| * dispatch_s[tensorrt]
    lat_c    = max(host_c, m * device_c) + call_s[tensorrt] * |K_c| / L

so that at ``m = 1`` the chunks of a model whose layers are all bound alike sum to the
calibrated whole-model latency (the quantity the fit saw: each published table's column sum):
the fixed per-call cost is shared by the chunks in proportion to their layers. The
pre-partition (:func:`cost_models.ppipe.layers.prepartition`) reads the batch-1, whole-GPU
latency of every layer alone (``|K_c| = 1``).

Provenance per GPU type: ``calibrated`` where the fit saw TensorRT measurements of that GPU
(PPipe's L4, P4, T4 and V100 tables), else ``roofline``, with the calibration's expected
error (:meth:`cost_models.perf.calibration.Calibration.expected_error_pct`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from cost_models.devices import Precision, device
from cost_models.perf import calibration
from cost_models.perf.catalog import Workload, from_layers
from cost_models.perf.hardware import Runtime
from cost_models.perf.model import Case, compile_cases, evaluate
from cost_models.ppipe.layers import CnnSpec, prepartition
from cost_models.ppipe.prepartition import chunk_bounds
from cost_models.ppipe.tables import MAX_BATCH_BY_MPS, ChunkTable
from cost_models.units import US_PER_S

RUNTIME = Runtime.TENSORRT
PRECISION = Precision.TF32  # FP32 networks: TF32 tensor cores on Ampere/Ada, FP32 CUDA cores else
SOURCE = "calibrated performance model (cost_models/perf/calibration.json), TensorRT TF32"


@dataclass(frozen=True)
class GpuRate:
    """Where one GPU type's chunk latencies came from."""

    provenance: str  # "calibrated" or "roofline"
    expected_error_pct: float


def gpu_rate(gpu: str) -> GpuRate:
    cal = calibration.load()
    provenance = cal.provenance(gpu, RUNTIME)
    return GpuRate(provenance, cal.expected_error_pct(gpu, PRECISION, "inference", provenance))


def _workload(spec: CnnSpec) -> Workload:
    # Parameters only enter training (optimizer traffic); inference ignores them.
    return from_layers(spec, 0.0, f"layer spec {spec.name} (cost_models/ppipe/layers.py)")


def group_latency_us(
    spec: CnnSpec, groups: Sequence[Sequence[int]], gpu: str, mps: int, batch: int
) -> np.ndarray:
    """Latency (us) of each group of layer indices of ``spec`` (module docstring's ``lat_c``)
    on one level-``mps`` slice of ``gpu`` at ``batch``."""
    work = _workload(spec)
    dev = device(gpu)
    cases = [
        Case(
            Workload(
                work.name,
                work.kind,
                work.input_size,
                0.0,
                tuple(work.kernels[i] for i in g),
                work.source,
            ),
            dev,
            batch,
            PRECISION,
            RUNTIME,
        )
        for g in groups
    ]
    params = calibration.load().params
    times = evaluate(compile_cases(cases), params)
    share = np.array([len(g) for g in groups]) / work.layers
    busy = times.compute_s + times.memory_s
    latency_s = np.maximum(times.host_s, mps * busy) + params[f"call_s_{RUNTIME.value}"] * share
    return latency_s * US_PER_S


def layer_latency_us(spec: CnnSpec, gpu: str, mps: int, batch: int) -> np.ndarray:
    """Latency (us) of every layer of ``spec`` run alone on one level-``mps`` slice."""
    return group_latency_us(spec, [[i] for i in range(len(spec.layers))], gpu, mps, batch)


def analytical_table(
    spec: CnnSpec, gpus: Sequence[str], max_mps: dict[str, int], chunks: int
) -> ChunkTable:
    """Pre-partition ``spec`` into ``chunks`` chunks (batch-1, whole-GPU layer latencies of
    every GPU type) and tabulate the calibrated chunk latencies at every MPS level and batch."""
    runtimes = {gpu: layer_latency_us(spec, gpu, 1, 1) for gpu in gpus}
    partition = prepartition(spec, runtimes, chunks)
    bounds = chunk_bounds(partition.chunk_of_layer)
    groups = [list(range(bounds[c], bounds[c + 1])) for c in range(len(bounds) - 1)]
    latency: dict[tuple[str, int], np.ndarray] = {}
    for gpu in gpus:
        for mps in range(1, max_mps[gpu] + 1):
            columns = [
                group_latency_us(spec, groups, gpu, mps, batch)
                for batch in range(1, MAX_BATCH_BY_MPS[mps] + 1)
            ]
            latency[(gpu, mps)] = np.column_stack(columns)
    return ChunkTable(spec.name, latency, partition.cut_bytes)
