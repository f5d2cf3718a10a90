"""AWS Lambda: memory limits, CPU share, service time of a batch, and price per request.

Sources (read 2025-06; prices for us-east-1, x86 first-tier and Arm first-tier):

* https://aws.amazon.com/lambda/pricing/ : $0.0000166667 per GB-s (x86),
  $0.0000133334 per GB-s (Arm), $0.20 per 1M requests; duration billed in 1 ms units.
* https://docs.aws.amazon.com/lambda/latest/dg/configuration-memory.html : memory
  128 MB to 10,240 MB in 1 MB steps; CPU is allocated in proportion to memory, "at 1,769 MB,
  a function has the equivalent of one vCPU", up to 6 vCPUs (at 10,240 MB).

Service time of a batch of k requests at memory M, when no measured table is given:

    s(k, M) = fixed_ms + (setup_ms + k * per_request_ms) * slowdown(M)
    slowdown(M) = (1 - f) / min(c, 1) + f / c,   c = min(M / 1769, 6) vCPUs

``per_request_ms`` and ``setup_ms`` are the compute at exactly one vCPU; below one vCPU
Lambda throttles the whole function to a share c of a core, above one the parallel
fraction f of the work spreads over c cores (Amdahl). ``fixed_ms`` does not scale with CPU
(runtime and network overhead). The parameters are calibrated per model in a scenario.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from cost_models.batch.arrivals import FloatArray
from cost_models.errors import DataError
from cost_models.units import MS_PER_S

PRICE_X86_USD_PER_GB_S = 0.0000166667  # aws.amazon.com/lambda/pricing (x86, first tier)
PRICE_ARM_USD_PER_GB_S = 0.0000133334  # aws.amazon.com/lambda/pricing (Arm, first tier)
PRICE_USD_PER_REQUEST = 0.20 / 1e6  # aws.amazon.com/lambda/pricing ($0.20 per 1M requests)
BILLING_MS = 1.0  # duration rounded up to 1 ms (aws.amazon.com/lambda/pricing)
MEMORY_MIN_MB = 128  # docs.aws.amazon.com/lambda/latest/dg/configuration-memory.html
MEMORY_MAX_MB = 10240  # same page
MB_PER_VCPU = 1769.0  # same page: one vCPU at 1,769 MB
MAX_VCPUS = 6.0  # same page: up to 6 vCPUs
MB_PER_GB = 1024.0  # Lambda bills GB-s with GB = 1024 MB (pricing page examples)

PRICE_USD_PER_GB_S = {"x86": PRICE_X86_USD_PER_GB_S, "arm": PRICE_ARM_USD_PER_GB_S}


def vcpus(memory_mb: FloatArray) -> FloatArray:
    """Lambda's CPU share (vCPUs) at each memory size."""
    return np.minimum(np.asarray(memory_mb, dtype=float) / MB_PER_VCPU, MAX_VCPUS)


@dataclass(frozen=True)
class PerformanceModel:
    """Service time of a batch from Lambda's CPU share (module docstring)."""

    fixed_ms: float
    setup_ms: float
    per_request_ms: float
    parallel_fraction: float

    def __post_init__(self) -> None:
        for key in ("fixed_ms", "setup_ms", "per_request_ms"):
            if not getattr(self, key) >= 0:
                raise DataError(None, key, f"a non-negative time in ms, got {getattr(self, key)}")
        if not 0 <= self.parallel_fraction <= 1:
            raise DataError(None, "parallel_fraction", f"0..1, got {self.parallel_fraction}")

    def service_ms(self, memory_mb: FloatArray, batch_size: int) -> FloatArray:
        """s(k, M) in ms, shape (len(memory_mb), batch_size), k = 1..batch_size."""
        c = vcpus(memory_mb)[:, None]
        f = self.parallel_fraction
        slowdown = (1.0 - f) / np.minimum(c, 1.0) + f / c
        k = np.arange(1, batch_size + 1)[None, :]
        return self.fixed_ms + (self.setup_ms + k * self.per_request_ms) * slowdown


@dataclass(frozen=True)
class MeasuredTable:
    """Measured s(k, M) in ms at listed memory sizes and batch sizes 1..max."""

    memory_mb: FloatArray  # ascending
    service_ms_table: FloatArray  # (len(memory_mb), max batch size)

    def service_ms(self, memory_mb: FloatArray, batch_size: int) -> FloatArray:
        """Rows of the table for exactly the listed memory sizes (no interpolation)."""
        wanted = np.asarray(memory_mb, dtype=float)
        rows = np.searchsorted(self.memory_mb, wanted)
        rows = np.minimum(rows, len(self.memory_mb) - 1)
        if np.any(self.memory_mb[rows] != wanted):
            raise DataError(None, "memory_mb", "memory sizes listed in the measured table")
        if batch_size > self.service_ms_table.shape[1]:
            raise DataError(None, "batch_sizes", "batch sizes covered by the measured table")
        return self.service_ms_table[rows, :batch_size]


def billed_ms(service_ms: FloatArray) -> FloatArray:
    """Lambda duration billed: rounded up to the billing unit."""
    return np.ceil(np.asarray(service_ms) / BILLING_MS - 1e-9) * BILLING_MS


def cost_per_batch_usd(
    service_ms: FloatArray, memory_mb: FloatArray, price_usd_per_gb_s: float
) -> FloatArray:
    """One invocation: billed GB-s times price plus the per-request (invocation) price."""
    gb = np.asarray(memory_mb, dtype=float)[:, None] / MB_PER_GB
    return billed_ms(service_ms) / MS_PER_S * gb * price_usd_per_gb_s + PRICE_USD_PER_REQUEST
