"""Execution units and interconnects of the devices in :mod:`cost_models.devices`.

Which math path a precision takes on a device (the efficiency it reaches is fitted per path,
see :mod:`cost_models.perf.model`), and the GPU-to-GPU link a data-parallel job all-reduces
over inside one node.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from cost_models.devices import DeviceType, Precision
from cost_models.errors import DataError


class Runtime(StrEnum):
    PYTORCH = "pytorch"  # eager mode: one host dispatch per operator
    TENSORRT = "tensorrt"  # fused engine, one launch per fused layer
    TENSORFLOW = "tensorflow"  # TensorFlow 2 (Keras models, tf.function graphs)
    TENSORFLOW1 = "tensorflow1"  # TensorFlow 1 graph sessions (NGC TF1 containers)
    ONNXRUNTIME = "onnxruntime"
    KERAS = "keras"  # Keras on CPU, one dispatch per Keras layer


class Unit(StrEnum):
    CUDA_FP32 = "cuda_fp32"  # FP32 (and FP16/INT8 without tensor cores) on CUDA cores
    TENSOR_TF32 = "tensor_tf32"
    TENSOR_FP16 = "tensor_fp16"  # also INT8 (same fitted efficiency, see docs)
    CPU = "cpu"  # AVX-512 SIMD


# Architectures whose FP16 peak in the catalog is a tensor-core rate (Volta and later).
_TENSOR_CORE_ARCHS = frozenset({"volta", "turing", "ampere", "ada", "hopper"})

# Process node of each GPU die, nm (the energy a FLOP costs scales with it, see model.py).
# Sources: NVIDIA architecture whitepapers: Kepler GK210 TSMC 28 nm; Pascal GP104 (P4) and
# GP100 (P100) TSMC 16 nm FinFET; Volta GV100 and Turing TU104 (T4) TSMC 12 nm FFN; Ampere
# GA100 (A100) TSMC 7 nm (N7) and GA102 (A10G) Samsung 8 nm; Ada AD104 (L4) and Hopper GH100
# TSMC 4N (a 5 nm-class process, counted as 5 nm).
PROCESS_NODE_NM: dict[str, float] = {
    "K80": 28.0,
    "P4": 16.0,
    "P100": 16.0,
    "V100": 12.0,
    "T4": 12.0,
    "A10G": 8.0,
    "A100": 7.0,
    "L4": 5.0,
    "H100": 5.0,
}


@dataclass(frozen=True)
class Clock:
    base_mhz: float
    boost_mhz: float

    @property
    def base_over_boost(self) -> float:
        return self.base_mhz / self.boost_mhz


# Base and boost clocks of each GPU, MHz. The catalog's peak TFLOPS are at the boost clock; a
# board held at its power limit runs between the two (see model.py, clock_exponent). Sources:
# TechPowerUp GPU database entry of each board (K80 GK210 560 / 875, P4 886 / 1114, P100 PCIe
# 1126 / 1303, V100 SXM2 1312 / 1530, T4 585 / 1590, A10 885 / 1695 (AWS's A10G taken as the
# A10), L4 795 / 2040, A100 SXM4 1095 / 1410, H100 SXM5 1590 / 1980); the boost clocks match
# NVIDIA's whitepapers (V100 1530, A100 1410, H100 SXM5 1980) and datasheets (T4 1590).
CLOCKS: dict[str, Clock] = {
    "K80": Clock(560.0, 875.0),
    "P4": Clock(886.0, 1114.0),
    "P100": Clock(1126.0, 1303.0),
    "V100": Clock(1312.0, 1530.0),
    "T4": Clock(585.0, 1590.0),
    "A10G": Clock(885.0, 1695.0),
    "L4": Clock(795.0, 2040.0),
    "A100": Clock(1095.0, 1410.0),
    "H100": Clock(1590.0, 1980.0),
}


def base_over_boost(device: DeviceType) -> float:
    """Base / boost clock of ``device`` (1 for CPUs, whose peak is at the all-core turbo)."""
    clock = CLOCKS.get(device.name)
    return 1.0 if clock is None else clock.base_over_boost


def unit(device: DeviceType, precision: Precision) -> Unit:
    """The math path ``precision`` takes on ``device``."""
    if device.kind == "cpu":
        return Unit.CPU
    if precision is Precision.TF32 and device.tf32_tflops > device.fp32_tflops:
        return Unit.TENSOR_TF32
    if precision in (Precision.FP16, Precision.INT8) and device.architecture in _TENSOR_CORE_ARCHS:
        return Unit.TENSOR_FP16
    return Unit.CUDA_FP32


@dataclass(frozen=True)
class Interconnect:
    name: str
    bandwidth_gb_per_s: float  # per GPU, per direction, GB/s (1e9 bytes/s)
    max_gpus: int  # GPUs one node of this kind holds
    source: str


_PCIE3 = 15.75  # PCIe 3.0 x16: 8 GT/s x 16 lanes x 128/130 encoding / 8 = 15.75 GB/s per direction
_PCIE4 = 31.5  # PCIe 4.0 x16: twice PCIe 3.0
INTERCONNECTS: dict[str, Interconnect] = {
    "K80": Interconnect(
        "PCIe 3.0 x16", _PCIE3, 16, "AWS p2.16xlarge: 16 K80 GPUs (8 boards) on PCIe 3.0"
    ),
    "P4": Interconnect("PCIe 3.0 x16", _PCIE3, 8, "NVIDIA Tesla P4 datasheet: PCIe 3.0 x16"),
    "P100": Interconnect("PCIe 3.0 x16", _PCIE3, 8, "NVIDIA P100 PCIe datasheet: PCIe 3.0 x16"),
    "T4": Interconnect(
        "PCIe 3.0 x16", _PCIE3, 8, "NVIDIA T4 datasheet: PCIe 3.0 x16; AWS g4dn.metal: 8 T4"
    ),
    "A10G": Interconnect(
        "PCIe 4.0 x16", _PCIE4, 8, "NVIDIA A10 datasheet: PCIe 4.0 x16; AWS g5.48xlarge: 8 A10G"
    ),
    "L4": Interconnect(
        "PCIe 4.0 x16", _PCIE4, 8, "NVIDIA L4 datasheet: PCIe 4.0 x16; AWS g6.48xlarge: 8 L4"
    ),
    "V100": Interconnect(
        "NVLink 2 (hybrid cube-mesh; NVSwitch in DGX-2)",
        150.0,
        16,
        "NVIDIA V100 SXM2 datasheet: NVLink 300 GB/s (6 links x 25 GB/s x 2 directions); "
        "DGX-1 / p3.16xlarge: 8 GPUs, DGX-2: 16 GPUs on NVSwitch",
    ),
    "A100": Interconnect(
        "NVLink 3 + NVSwitch",
        300.0,
        8,
        "NVIDIA A100 SXM4 datasheet: NVLink 600 GB/s (12 links x 25 GB/s x 2); DGX A100 / "
        "p4d.24xlarge: 8 GPUs on NVSwitch",
    ),
    "H100": Interconnect(
        "NVLink 4 + NVSwitch",
        450.0,
        8,
        "NVIDIA H100 SXM5 datasheet: NVLink 900 GB/s (18 links x 25 GB/s x 2); DGX H100 / "
        "p5.48xlarge: 8 GPUs on NVSwitch",
    ),
}


def interconnect(device: DeviceType, gpus: int) -> Interconnect:
    """The link ``gpus`` GPUs of ``device`` all-reduce over inside one node."""
    link = INTERCONNECTS.get(device.name)
    if link is None:
        raise DataError(None, "gpus", f"1 for {device.name} (no multi-device node known)")
    if gpus > link.max_gpus:
        raise DataError(
            None,
            "gpus",
            f"at most {link.max_gpus} {device.name} GPUs (one node; multi-node jobs are not "
            f"modelled), got {gpus}",
        )
    return link
