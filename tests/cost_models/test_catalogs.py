"""Invariants and golden numbers of the shared device and cloud catalogs."""

from __future__ import annotations

import pytest

from cost_models.cloud import INSTANCES, InterruptionBand, instance
from cost_models.devices import DEVICES, Precision, device
from cost_models.errors import DataError
from cost_models.roofline import RooflineParams, roofline_time_s


def test_every_device_is_sourced_and_consistent() -> None:
    for d in DEVICES.values():
        assert d.source and d.price_usd_per_h > 0 and d.memory_bandwidth_gb_per_s > 0
        # A faster path for a lower precision, never a slower one.
        assert d.fp32_tflops <= d.tf32_tflops <= d.fp16_tflops, d.name


def test_tf32_tensor_cores_only_from_ampere_on() -> None:
    for d in DEVICES.values():
        has_tf32 = d.architecture in {"ampere", "ada", "hopper"}
        assert (d.tf32_tflops > d.fp32_tflops) == has_tf32, d.name


def test_roofline_golden_numbers() -> None:
    params = RooflineParams(compute_efficiency=0.5, memory_efficiency=0.75, overhead_s=0.0)
    # 8.2 GFLOP (ResNet-50 batch 2) on a V100 at FP32: 8.2e9 / (15.7e12 * 0.5) = 1.0446 ms.
    assert roofline_time_s(8.2e9, 1e6, device("V100"), Precision.TF32, params) == (
        pytest.approx(8.2e9 / 7.85e12)
    )
    # Same work on an L4 takes the TF32 tensor path: 8.2e9 / (60e12 * 0.5) = 0.2733 ms.
    assert roofline_time_s(8.2e9, 1e6, device("L4"), Precision.TF32, params) == (
        pytest.approx(8.2e9 / 30e12)
    )
    # Memory-bound: 300 MB through a T4 at 320 GB/s * 0.75 = 1.25 ms.
    assert roofline_time_s(1e6, 3e8, device("T4"), Precision.FP16, params) == (
        pytest.approx(3e8 / 240e9)
    )


def test_instances_reference_known_gpus_and_discount_spot() -> None:
    for i in INSTANCES.values():
        assert i.gpu is None or i.gpu in DEVICES
        assert (i.gpu is None) == (i.gpus == 0)
        assert 0 < i.spot_usd_per_h < i.on_demand_usd_per_h
    assert instance("p3.16xlarge").gpus == 8 and instance("p3.16xlarge").gpu == "V100"


def test_interruption_bands() -> None:
    rates = [b.monthly_rate for b in InterruptionBand]
    assert rates == sorted(rates)
    assert InterruptionBand.UNDER_5.hourly_rate == pytest.approx(0.025 / 730)


def test_unknown_names_raise_data_errors() -> None:
    with pytest.raises(DataError, match="Z80"):
        device("Z80")
    with pytest.raises(DataError, match=r"x9\.huge"):
        instance("x9.huge")
