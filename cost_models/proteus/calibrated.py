"""Batch latency of a model variant from the calibrated performance model (issue 10).

The variant's work is a :class:`cost_models.perf.catalog.Workload`: the performance model's
own catalog entry when it has one (per-layer specs of ResNet-50/101 and VGG-16, BERT operator
by operator), BERT variants from their architecture (:data:`BERT_ARCHITECTURES`), and other
networks as their published totals (FLOPs, parameters, activation estimate of
:mod:`cost_models.proteus.variants`) spread over their weighted-layer count
(:data:`WEIGHTED_LAYERS`, conv + linear layers, each with its source). Latency is then
:func:`cost_models.perf.model.inference` with the committed calibration
(``cost_models/perf/calibration.json``) on the chosen runtime, with the calibration's
provenance and expected error: ``calibrated`` where the fit saw that device with that
runtime, else ``roofline`` (fitted parameters transferred to an unmeasured pair). When the
public reference data measured every requested batch of exactly that (model, device,
precision, runtime) (:func:`cost_models.perf.calibration.measured_point`, e.g. NVIDIA's
PyTorch ResNet-50 on a T4), the measurements are used instead, marked ``measured``; a partly
measured batch range keeps the model for every batch (no mix of sources along one curve).

Devices the performance model does not cover (VPUs: no process node, no measurements) and
variants without a layer count keep the uncalibrated roofline of
:func:`cost_models.proteus.latency.batch_latency_ms`, marked ``roofline`` with an unknown
expected error (None): nothing validated it.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType

from cost_models.devices import DeviceType, Precision
from cost_models.perf import calibration
from cost_models.perf.catalog import WORKLOADS, Workload, bert, uniform
from cost_models.perf.hardware import PROCESS_NODE_NM, Runtime
from cost_models.perf.model import inference
from cost_models.proteus.latency import batch_latency_ms
from cost_models.proteus.variants import BERT_ARCHITECTURES, BERT_SEQ_LEN, ModelVariant
from cost_models.units import MS_PER_S

_RESNET = "He et al. 2016 Table 1 (conv + fc) plus 3 projection shortcuts"
_DENSENET = "Huang et al. 2017 Table 1 (the name counts conv + fc layers)"
_MOBILENET_V1 = "Howard et al. 2017 Table 1 (1 + 13 depthwise + 13 pointwise conv + fc)"
# EfficientNet: blocks = sum of ceil(depth_coefficient x (1, 2, 2, 3, 3, 4, 1)) with the
# depth coefficients of tensorflow/tpu efficientnet_builder.py (b1 1.1, b2 1.2, b3 1.4, b5 2.2,
# b6 2.6, b7 3.1); layers = 5 per block (expand, depthwise, 2 SE, project) - 1 (the first
# block has no expansion) + stem, head conv and fc: 5 x blocks + 2 (b0: 82, b4: 162 as in
# the performance model's catalog).
_EFFICIENTNET = "tensorflow/tpu efficientnet_builder.py: {} blocks x 5 + 2"
# YOLOv5 v6.0+ (ultralytics/yolov5 models/yolov5{n,s,m,l,x}.yaml): Conv layers, C3 modules
# of 3 + 2 n convolutions (n = round(depth_multiple x repeats)), SPPF (2), Detect (3).
_YOLO = "ultralytics/yolov5 models/yolov5{}.yaml (v6.0+), conv layers counted: {}"

# Weighted layers (kernels a fusing runtime launches) of the variants the performance
# model's catalog lacks, with their sources.
WEIGHTED_LAYERS: dict[str, tuple[int, str]] = {
    "resnet18": (21, _RESNET),
    "resnet34": (37, _RESNET),
    "densenet161": (161, _DENSENET),
    "densenet169": (169, _DENSENET),
    "densenet201": (201, _DENSENET),
    "mobilenet_v1": (28, _MOBILENET_V1),
    "mobilenet_v1_x0_75": (28, _MOBILENET_V1),
    "mobilenet_v1_x0_5": (28, _MOBILENET_V1),
    "mobilenet_v1_x0_25": (28, _MOBILENET_V1),
    "mobilenet_v3_small": (
        54,
        "Howard et al. 2019 Table 2: stem + 11 bnecks x 3 - 1 + 9 SE x 2 + 3 head",
    ),
    "mobilenet_v3_large": (
        64,
        "Howard et al. 2019 Table 1: stem + 15 bnecks x 3 - 1 + 8 SE x 2 + 3 head",
    ),
    "efficientnet_b1": (117, _EFFICIENTNET.format(23)),
    "efficientnet_b2": (117, _EFFICIENTNET.format(23)),
    "efficientnet_b3": (132, _EFFICIENTNET.format(26)),
    "efficientnet_b5": (197, _EFFICIENTNET.format(39)),
    "efficientnet_b6": (227, _EFFICIENTNET.format(45)),
    "efficientnet_b7": (277, _EFFICIENTNET.format(55)),
    "yolov5n": (60, _YOLO.format("n", "33 backbone + 27 head")),
    "yolov5s": (60, _YOLO.format("s", "33 backbone + 27 head")),
    "yolov5m": (82, _YOLO.format("m", "47 backbone + 35 head")),
    "yolov5l": (104, _YOLO.format("l", "61 backbone + 43 head")),
    "yolov5x": (126, _YOLO.format("x", "75 backbone + 51 head")),
}

UNCALIBRATED_ROOFLINE = "uncalibrated roofline (cost_models/roofline.py)"
CALIBRATION_SOURCE = "calibrated performance model (cost_models/perf/calibration.json)"
MEASURED_SOURCE = "measured (shared/reference, read in place)"


@dataclass(frozen=True)
class Estimated:
    """Batch -> latency (ms) of one variant on one device, and where it came from
    (read-only: estimates are shared by every caller of a process, see
    :func:`estimated_latencies_ms`)."""

    latency_ms: Mapping[int, float]
    provenance: str  # "measured", "calibrated" or "roofline"
    # measured: spread of the duplicate listings; None: never validated (uncalibrated roofline)
    expected_error_pct: float | None
    source: str


def variant_workload(variant: ModelVariant, layers: int | None = None) -> Workload | None:
    """The performance model's work of ``variant`` (None when its layer count is unknown:
    neither in the catalogs nor given)."""
    if variant.name in BERT_ARCHITECTURES:
        depth, hidden, heads = BERT_ARCHITECTURES[variant.name]
        return bert(variant.name, depth, hidden, heads, BERT_SEQ_LEN, variant.source)
    if layers is None and variant.name in WORKLOADS:
        return WORKLOADS[variant.name]
    source = variant.source
    if layers is None and variant.name in WEIGHTED_LAYERS:
        layers, layers_source = WEIGHTED_LAYERS[variant.name]
        source = f"{source}; layers: {layers_source}"
    if layers is None:
        return None
    return uniform(
        variant.name,
        variant.gflops_per_sample,
        variant.params_millions,
        layers,
        variant.activation_mb_per_sample,
        variant.input_size,
        source,
    )


def modelled(device: DeviceType) -> bool:
    """Whether the performance model covers ``device`` (CPUs and GPUs; not VPUs)."""
    return device.kind == "cpu" or device.name in PROCESS_NODE_NM


def estimated_latencies_ms(
    variant: ModelVariant,
    device: DeviceType,
    batches: Iterable[int],
    precision: Precision = Precision.FP16,
    runtime: Runtime | None = None,
    layers: int | None = None,
) -> Estimated:
    """Latency of ``variant`` on ``device`` at every batch in ``batches``: the calibrated
    model (``runtime`` default: :func:`cost_models.perf.calibration.default_runtime`), or the
    uncalibrated roofline where the model cannot describe the pair (module docstring).

    The estimate is a pure function of its arguments and of the measured reference folder
    (:data:`cost_models.perf.calibration.REFERENCE`, part of the key; the calibration is the
    committed file, loaded once per process), so it is memoised per process
    (:data:`ESTIMATE_CACHE_SIZE` entries): a sweep's points share their devices and
    variants, and a Proteus point's ``prepare`` was almost all this model.
    """
    return _estimated(
        variant, device, tuple(batches), precision, runtime, layers, calibration.REFERENCE
    )


# (variant, device, batches, precision, runtime, layers, reference) entries
ESTIMATE_CACHE_SIZE = 4096


@functools.lru_cache(maxsize=ESTIMATE_CACHE_SIZE)
def _estimated(
    variant: ModelVariant,
    device: DeviceType,
    batches: tuple[int, ...],
    precision: Precision,
    runtime: Runtime | None,
    layers: int | None,
    reference: Path,
) -> Estimated:
    work = variant_workload(variant, layers)
    if work is None or not modelled(device):
        why = "no layer count" if work is None else f"{device.kind} not in the calibrated model"
        return Estimated(
            MappingProxyType({b: batch_latency_ms(variant, device, b, precision) for b in batches}),
            "roofline",
            None,
            f"{UNCALIBRATED_ROOFLINE}; {why}",
        )
    rt = runtime or calibration.default_runtime(device)
    measured = _measured(variant.name, device.name, batches, precision, rt, reference)
    if measured is not None:
        return measured
    cal = calibration.load()
    provenance = cal.provenance(device.name, rt)
    latency = {
        b: MS_PER_S * inference(work, device, b, precision, rt, cal.params).latency_s
        for b in batches
    }
    return Estimated(
        MappingProxyType(latency),
        provenance,
        cal.expected_error_pct(device.name, precision, "inference", provenance),
        f"{CALIBRATION_SOURCE}, {rt.value}",
    )


def _measured(
    model: str,
    device_name: str,
    batches: tuple[int, ...],
    precision: Precision,
    runtime: Runtime,
    reference: Path,
) -> Estimated | None:
    """The reference measurements of every batch in ``batches`` (None unless all exist)."""
    seq_len = BERT_SEQ_LEN if model in BERT_ARCHITECTURES else None
    found = [
        calibration.measured_point(
            calibration.Query(model, device_name, b, precision, runtime=runtime, seq_len=seq_len),
            reference,
        )
        for b in batches
    ]
    points = [m for m in found if m is not None]
    if not batches or len(points) < len(batches):
        return None
    return Estimated(
        MappingProxyType({b: m.latency_ms for b, m in zip(batches, points, strict=True)}),
        "measured",
        max(m.spread_pct for m in points),
        f"{MEASURED_SOURCE}: {_rows(s for m in points for s in m.sources)}",
    )


def _rows(sources: Iterable[str]) -> str:
    """``file:2, file:3`` as ``file rows 2, 3``."""
    rows: dict[str, list[str]] = {}
    for source in sources:
        file, _, row = source.rpartition(":")
        rows.setdefault(file, []).append(row)
    return "; ".join(f"{file} rows {', '.join(r)}" for file, r in rows.items())
