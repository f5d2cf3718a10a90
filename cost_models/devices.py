"""Device catalog: accelerators and CPUs with peak compute, memory and price.

Every constant carries its unit in the field name and its public source. Peak compute is
dense (no structured sparsity). ``tf32_tflops`` and ``fp16_tflops`` are tensor-core rates;
devices without such a path (Volta has FP16 but no TF32 tensor cores; Pascal and Kepler
have neither) repeat the rate their CUDA cores reach for that precision, so the latency
model can always ask for the best path a precision has on a device.

``int8_tops`` is the dense INT8 tensor-core (or DP4A) rate in TOPS; devices with no INT8 path
faster than their FP16 one leave it unset and INT8 runs at the FP16 rate.

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
    INT8 = "int8"


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
    int8_tops: float | None = None  # dense INT8 rate, TOPS (None: no path beyond FP16's)

    def peak_tflops(self, precision: Precision) -> float:
        return {
            Precision.FP32: self.fp32_tflops,
            Precision.TF32: self.tf32_tflops,
            Precision.FP16: self.fp16_tflops,
            Precision.INT8: self.fp16_tflops if self.int8_tops is None else self.int8_tops,
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
            int8_tops=22.0,  # P4 datasheet: 22 INT8 TOPS
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
            int8_tops=130.0,  # T4 datasheet: 130 INT8 TOPS
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
            int8_tops=250.0,  # A10 datasheet: 250 INT8 TOPS dense
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
            int8_tops=242.5,  # L4 datasheet: 485 INT8 TOPS with sparsity, 242.5 dense
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
            int8_tops=624.0,  # A100 datasheet: 624 INT8 TOPS dense
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
            int8_tops=1978.9,  # H100 SXM5 datasheet: 3958 INT8 TOPS with sparsity, 1978.9 dense
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


# --- AWS CPU instances (c5 compute-optimised, m5 general-purpose) ---------------------------
# One vCPU is one hyper-thread, so an instance has vcpus / 2 physical cores. Peak FP32 =
# cores x all-core turbo x 64 FLOP/cycle (2 AVX-512 FMA units x 16 lanes x 2). AWS publishes
# neither the memory bandwidth nor the power of a slice of a host; both are the instance's
# core share of its socket (ASSUMPTION): c5 = Xeon Platinum 8275CL (24 cores, 6 x DDR4-2933 =
# 140.8 GB/s, 240 W TDP), m5 = Xeon Platinum 8175M (24 cores, 6 x DDR4-2666 = 128 GB/s, 240 W).
_AVX512_FLOP_PER_CYCLE = 64  # FP32 FLOP per core per cycle with two AVX-512 FMA units
_SOCKET_CORES = 24
_C5 = (
    "AWS EC2 C5 page: 2nd gen Xeon Scalable (Cascade Lake 8275CL), sustained all-core turbo "
    "3.6 GHz; 8275CL: 24 cores, 6 x DDR4-2933, 240 W"
)
_M5 = (
    "AWS EC2 M5 page: Xeon Platinum 8175M, all-core turbo 3.1 GHz; 8175M: 24 cores, "
    "6 x DDR4-2666, 240 W"
)


def _aws_cpu(name: str, vcpus: int, memory_gib: float, price_usd_per_h: float) -> DeviceType:
    c5 = name.startswith("c5")
    cores = vcpus // 2
    turbo_ghz = 3.6 if c5 else 3.1
    socket_bandwidth_gb_per_s = 140.8 if c5 else 128.0
    tflops = cores * turbo_ghz * _AVX512_FLOP_PER_CYCLE / 1e3
    return DeviceType(
        name,
        "cpu",
        "cascadelake" if c5 else "skylake",
        tflops,
        tflops,
        tflops,
        socket_bandwidth_gb_per_s * cores / _SOCKET_CORES,
        memory_gib,
        240.0 * cores / _SOCKET_CORES,
        price_usd_per_h,
        f"{_C5 if c5 else _M5}; {vcpus} vCPU, {memory_gib:g} GiB; price ${price_usd_per_h}/h, "
        f"{_AWS}",
    )


# name, vCPUs, memory GiB, on-demand $/h (AWS EC2 on-demand price list, us-east-1, 2024)
_AWS_CPUS: tuple[tuple[str, int, float, float], ...] = (
    ("c5.large", 2, 4.0, 0.085),
    ("c5.xlarge", 4, 8.0, 0.17),
    ("c5.2xlarge", 8, 16.0, 0.34),
    ("c5.4xlarge", 16, 32.0, 0.68),
    ("c5.9xlarge", 36, 72.0, 1.53),
    ("m5.large", 2, 8.0, 0.096),
    ("m5.xlarge", 4, 16.0, 0.192),
    ("m5.2xlarge", 8, 32.0, 0.384),
    ("m5.4xlarge", 16, 64.0, 0.768),
)
DEVICES.update({row[0]: _aws_cpu(*row) for row in _AWS_CPUS})


def device(name: str) -> DeviceType:
    """Look a device type up by name; unknown names raise :class:`DataError`."""
    try:
        return DEVICES[name]
    except KeyError:
        raise DataError(
            None, "device", f"one of {', '.join(sorted(DEVICES))} (got {name!r})"
        ) from None
