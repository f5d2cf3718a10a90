"""Precision-aware roofline: the time one piece of work takes on one device.

    time_s = max(flops / (peak_flops(precision) * compute_efficiency),
                 bytes / (memory_bandwidth * memory_efficiency)) + overhead_s

``peak_flops`` is the device's dense rate for the requested precision from
:mod:`cost_models.devices` (tensor cores where the architecture has them for that
precision, CUDA cores otherwise). With ``Precision.TF32`` an FP32 network runs on TF32
tensor cores on Ampere/Ada/Hopper and on FP32 CUDA cores on Volta/Turing/Pascal/Kepler,
which is why an L4 beats a V100 on FP32 CNNs in TensorRT despite its lower bandwidth.

Efficiencies are calibration assumptions, not measurements: the defaults below are typical
achieved fractions of peak for large convolution/GEMM kernels and streaming memory reads.
Measured profiles override this model wherever they are given.
"""

from __future__ import annotations

from dataclasses import dataclass

from cost_models.devices import DeviceType, Precision

# Achieved fraction of peak FLOP/s on large conv/GEMM kernels (assumption; cuDNN/TensorRT
# typically reach 40-70% of tensor-core peak and 60-80% of CUDA-core peak).
DEFAULT_COMPUTE_EFFICIENCY = 0.5
# Achieved fraction of peak DRAM bandwidth for streaming reads (assumption; STREAM-like
# kernels reach 70-90% on NVIDIA GPUs).
DEFAULT_MEMORY_EFFICIENCY = 0.75
# Fixed per-invocation overhead: kernel launch and framework dispatch, seconds (assumption;
# TensorRT/ONNX Runtime GPU inference of one small model ~ 0.1-0.5 ms end to end).
DEFAULT_OVERHEAD_S = 2e-4


@dataclass(frozen=True)
class RooflineParams:
    compute_efficiency: float = DEFAULT_COMPUTE_EFFICIENCY
    memory_efficiency: float = DEFAULT_MEMORY_EFFICIENCY
    overhead_s: float = DEFAULT_OVERHEAD_S


def compute_time_s(
    flops: float,
    device: DeviceType,
    precision: Precision,
    params: RooflineParams = RooflineParams(),
) -> float:
    """Seconds to execute ``flops`` floating-point operations at achieved peak."""
    return flops / (device.peak_tflops(precision) * 1e12 * params.compute_efficiency)


def memory_time_s(
    bytes_moved: float, device: DeviceType, params: RooflineParams = RooflineParams()
) -> float:
    """Seconds to move ``bytes_moved`` bytes through device memory at achieved bandwidth."""
    return bytes_moved / (device.memory_bandwidth_gb_per_s * 1e9 * params.memory_efficiency)


def roofline_time_s(
    flops: float,
    bytes_moved: float,
    device: DeviceType,
    precision: Precision,
    params: RooflineParams = RooflineParams(),
    *,
    include_overhead: bool = True,
) -> float:
    """Roofline time of one unit of work (compute- or memory-bound, whichever is slower)."""
    busy_s = max(
        compute_time_s(flops, device, precision, params), memory_time_s(bytes_moved, device, params)
    )
    return busy_s + (params.overhead_s if include_overhead else 0.0)
