"""Analytical batch latency of a model variant on a device, and throughput under a budget.

Latency of one batch of ``b`` samples (roofline of :mod:`cost_models.roofline`):

    flops  = b * gflops_per_sample * 1e9
    bytes  = param_bytes(precision) + b * activation_bytes(precision)
             (weights are read once per batch, activations once per sample)
    latency_ms = 1e3 * (max(flops / (peak_flops(precision) * compute_efficiency),
                            bytes / (bandwidth * memory_efficiency)) + overhead_s)

Capacity under a latency budget (Proteus's rule, generic over where latencies come from):
the largest batch ``B`` whose latency fits the budget (``<=``, or ``<`` with
``strict=True`` as Proteus does), serving ``B * 1000 / latency_ms(B)`` queries per second
(floored to an integer with ``floor=True``, as Proteus does). Batches that do not fit are
skipped even when a larger one fits (profiles are not always monotone); a variant with no
fitting batch has no capacity (``None``) and cannot be placed on that device.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from cost_models.devices import DeviceType, Precision
from cost_models.errors import DataError
from cost_models.proteus.variants import ModelVariant
from cost_models.roofline import RooflineParams, roofline_time_s
from cost_models.units import MS_PER_S

DEFAULT_BATCHES: tuple[int, ...] = (1, 2, 4, 8, 16)
DEFAULT_ROOFLINE = RooflineParams()  # the roofline module's calibration defaults


@dataclass(frozen=True)
class Capacity:
    batch: int  # largest batch meeting the budget
    latency_ms: float  # latency of that batch
    qps: float  # sustained queries per second at that batch


def batch_latency_ms(
    variant: ModelVariant,
    device: DeviceType,
    batch: int,
    precision: Precision = Precision.FP16,
    params: RooflineParams = DEFAULT_ROOFLINE,
) -> float:
    """Roofline latency (ms) of one batch of ``batch`` samples of ``variant`` on ``device``."""
    if batch < 1:
        raise DataError(None, "batch", f"a batch size >= 1 (got {batch})")
    flops = batch * variant.gflops_per_sample * 1e9
    bytes_moved = variant.param_bytes(precision) + batch * variant.activation_bytes(precision)
    return MS_PER_S * roofline_time_s(flops, bytes_moved, device, precision, params)


def capacity(
    latency_ms_by_batch: Mapping[int, float],
    budget_ms: float,
    *,
    floor: bool = False,
    strict: bool = False,
) -> Capacity | None:
    """Throughput at the largest batch whose latency meets ``budget_ms`` (None if none does).

    ``strict`` requires latency < budget instead of <=; ``floor`` rounds qps down to an
    integer. Batches must be >= 1 and latencies > 0 (else :class:`DataError`).
    """
    if not budget_ms > 0:
        raise DataError(None, "budget_ms", f"a positive latency budget (got {budget_ms})")
    for batch, latency_ms in latency_ms_by_batch.items():
        if batch < 1 or not latency_ms > 0:
            raise DataError(
                None,
                f"batch {batch}",
                f"batch >= 1 with a positive latency in ms (got {latency_ms})",
            )
    fitting = [
        batch
        for batch, latency_ms in latency_ms_by_batch.items()
        if (latency_ms < budget_ms if strict else latency_ms <= budget_ms)
    ]
    if not fitting:
        return None
    batch = max(fitting)
    latency_ms = latency_ms_by_batch[batch]
    qps = batch * MS_PER_S / latency_ms
    return Capacity(batch, latency_ms, float(math.floor(qps)) if floor else qps)


def analytical_capacity(
    variant: ModelVariant,
    device: DeviceType,
    budget_ms: float,
    batches: Iterable[int] = DEFAULT_BATCHES,
    precision: Precision = Precision.FP16,
    params: RooflineParams = DEFAULT_ROOFLINE,
    *,
    floor: bool = False,
    strict: bool = False,
) -> Capacity | None:
    """:func:`capacity` over the roofline latencies of ``batches``."""
    latencies = {b: batch_latency_ms(variant, device, b, precision, params) for b in batches}
    return capacity(latencies, budget_ms, floor=floor, strict=strict)
