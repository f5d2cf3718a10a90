"""Device catalog: accelerators and CPUs with peak compute, memory and price.

Every constant carries its unit in the field name and its public source. Peak compute is
dense (no structured sparsity). ``tf32_tflops`` and ``fp16_tflops`` are tensor-core rates;
devices without such a path (Volta has FP16 but no TF32 tensor cores; Pascal and Kepler
have neither) repeat the rate their CUDA cores reach for that precision, so the latency
model can always ask for the best path a precision has on a device.

Prices are on-demand list prices per device-hour (cloud instance price divided by the
devices it holds), us-east-1 / us-central1, as published by the provider; override them
in a scenario when your contract differs.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from cost_models.errors import DataError


class Precision(StrEnum):
    FP32 = "fp32"
    TF32 = "tf32"
    FP16 = "fp16"


@dataclass(frozen=True)
class DeviceType:
    name: str
    kind: str  # "gpu", "cpu" or "vpu"
    architecture: str
    fp32_tflops: float  # dense FP32 on CUDA cores / SIMD units, TFLOP/s
    tf32_tflops: float  # dense TF32 tensor-core rate (= fp32_tflops without TF32 cores)
    fp16_tflops: float  # dense FP16 tensor-core rate (= FP16 CUDA-core rate without them)
    memory_bandwidth_gb_per_s: float  # peak DRAM/HBM bandwidth, GB/s (1e9 bytes/s)
    memory_gib: float
    power_w: float  # board TDP, W
    price_usd_per_h: float  # on-demand, per device
    source: str

    def peak_tflops(self, precision: Precision) -> float:
        return {
            Precision.FP32: self.fp32_tflops,
            Precision.TF32: self.tf32_tflops,
            Precision.FP16: self.fp16_tflops,
        }[precision]


_AWS = "AWS EC2 on-demand price list, us-east-1, 2024"
_GCP = "Google Cloud GPU pricing, us-central1, 2024"

DEVICES: dict[str, DeviceType] = {
    d.name: d
    for d in (
        # One GK210 die (AWS p2 exposes each die as one GPU): half a K80 board.
        DeviceType(
            "K80",
            "gpu",
            "kepler",
            4.37,
            4.37,
            4.37,
            240.0,
            12.0,
            150.0,
            0.90,
            "NVIDIA Tesla K80 datasheet (8.73 TFLOPS FP32 boost, 480 GB/s, 24 GB, 300 W per "
            f"2-GPU board); price: p2.xlarge $0.90/h, {_AWS}",
        ),
        DeviceType(
            "P4",
            "gpu",
            "pascal",
            5.5,
            5.5,
            5.5,
            192.0,
            8.0,
            75.0,
            0.60,
            f"NVIDIA Tesla P4 datasheet (5.5 TFLOPS FP32, 192 GB/s, 8 GB, 75 W); price: {_GCP}",
        ),
        DeviceType(
            "P100",
            "gpu",
            "pascal",
            9.3,
            9.3,
            18.7,
            732.0,
            16.0,
            250.0,
            1.46,
            "NVIDIA Tesla P100 PCIe datasheet (9.3 FP32 / 18.7 FP16 TFLOPS, 732 GB/s, 16 GB, "
            f"250 W); price: {_GCP}",
        ),
        DeviceType(
            "V100",
            "gpu",
            "volta",
            15.7,
            15.7,
            125.0,
            900.0,
            16.0,
            300.0,
            3.06,
            "NVIDIA V100 SXM2 datasheet (15.7 FP32, 125 FP16 tensor TFLOPS, 900 GB/s, 16 GB, "
            f"300 W); price: p3.2xlarge $3.06/h, {_AWS}",
        ),
        DeviceType(
            "T4",
            "gpu",
            "turing",
            8.1,
            8.1,
            65.0,
            320.0,
            16.0,
            70.0,
            0.526,
            "NVIDIA T4 datasheet (8.1 FP32, 65 FP16 tensor TFLOPS, 320 GB/s, 16 GB, 70 W); "
            f"price: g4dn.xlarge $0.526/h, {_AWS}",
        ),
        DeviceType(
            "A10G",
            "gpu",
            "ampere",
            31.2,
            62.5,
            125.0,
            600.0,
            24.0,
            150.0,
            1.006,
            "NVIDIA A10 datasheet (31.2 FP32, 62.5 TF32, 125 FP16 tensor TFLOPS dense, "
            f"600 GB/s, 24 GB, 150 W; A10G is AWS's variant); price: g5.xlarge $1.006/h, {_AWS}",
        ),
        DeviceType(
            "L4",
            "gpu",
            "ada",
            30.3,
            60.0,
            121.0,
            300.0,
            24.0,
            72.0,
            0.8048,
            "NVIDIA L4 datasheet (30.3 FP32, 60 TF32, 121 FP16 tensor TFLOPS dense, 300 GB/s, "
            f"24 GB, 72 W); price: g6.xlarge $0.8048/h, {_AWS}",
        ),
        DeviceType(
            "A100",
            "gpu",
            "ampere",
            19.5,
            156.0,
            312.0,
            1555.0,
            40.0,
            400.0,
            4.097,
            "NVIDIA A100 SXM4 40GB datasheet (19.5 FP32, 156 TF32, 312 FP16 tensor TFLOPS "
            f"dense, 1555 GB/s, 400 W); price: p4d.24xlarge $32.7726/h / 8, {_AWS}",
        ),
        DeviceType(
            "H100",
            "gpu",
            "hopper",
            67.0,
            494.7,
            989.4,
            3350.0,
            80.0,
            700.0,
            12.29,
            "NVIDIA H100 SXM5 datasheet (67 FP32, 494.7 TF32, 989.4 FP16 tensor TFLOPS dense, "
            f"3.35 TB/s, 80 GB, 700 W); price: p5.48xlarge $98.32/h / 8, {_AWS}",
        ),
        # 16 Cascade Lake cores x 3.0 GHz x 64 FP32 FLOP/cycle (2 AVX-512 FMA units) =
        # 3.07 TFLOP/s; 6 channels DDR4-2933 = 140.8 GB/s. Price: c5.4xlarge (16 vCPU = 8
        # cores) is $0.68/h, so 16 cores ~ c5.9xlarge-class $1.53/h.
        DeviceType(
            "CPU16",
            "cpu",
            "cascadelake",
            3.07,
            3.07,
            3.07,
            140.8,
            64.0,
            205.0,
            1.53,
            "Intel Xeon Platinum 8275CL product brief (3.0 GHz all-core turbo, 2 AVX-512 FMA "
            f"units, 6 x DDR4-2933); price: c5.9xlarge $1.53/h, {_AWS}",
        ),
        # Intel Movidius Myriad X: "over 1 TOPS" of DNN compute at FP16; LPDDR4 at 8.5 GB/s.
        DeviceType(
            "MYRIADX",
            "vpu",
            "myriadx",
            0.25,
            0.25,
            1.0,
            8.5,
            0.5,
            2.0,
            0.05,
            "Intel Movidius Myriad X VPU product brief (>1 TOPS DNN, 16 SHAVE cores, 2 W, "
            "LPDDR4 4 Gb in-package); price: NCS2 $69 amortised over 2 years ~ $0.004/h, "
            "rounded up to $0.05/h with its host share",
        ),
    )
}


def device(name: str) -> DeviceType:
    """Look a device type up by name; unknown names raise :class:`DataError`."""
    try:
        return DEVICES[name]
    except KeyError:
        raise DataError(
            None, "device", f"one of {', '.join(sorted(DEVICES))} (got {name!r})"
        ) from None
