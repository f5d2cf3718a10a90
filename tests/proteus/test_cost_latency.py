"""Golden numbers for the analytical latency model and the capacity rule."""

from __future__ import annotations

import pytest

from cost_models.devices import DEVICES, Precision
from cost_models.errors import DataError
from cost_models.perf import calibration
from cost_models.proteus.latency import Capacity, analytical_capacity, batch_latency_ms, capacity
from cost_models.proteus.variants import VARIANTS
from cost_models.roofline import RooflineParams

R50 = VARIANTS["resnet50"]  # 8.18 GFLOPs, 25.6 M params, 44.4565 MB activations (FP16)


def test_resnet50_t4_fp16_batch1_is_memory_bound() -> None:
    # T4: 65 TFLOP/s FP16 tensor x 0.5 = 32.5 TFLOP/s; 320 GB/s x 0.75 = 240 GB/s.
    compute_ms = 8.18e9 / 32.5e12 * 1e3  # 0.25169 ms
    memory_ms = (51.2e6 + 44.4565e6) / 240e9 * 1e3  # 0.39857 ms
    assert memory_ms > compute_ms
    expected = memory_ms + 0.2  # + 0.2 ms fixed overhead
    assert expected == pytest.approx(0.59857, abs=1e-4)
    assert batch_latency_ms(R50, DEVICES["T4"], 1) == pytest.approx(expected, rel=1e-5)


def test_resnet50_t4_fp16_batch8_is_compute_bound() -> None:
    compute_ms = 8 * 8.18e9 / 32.5e12 * 1e3  # 2.01354 ms
    memory_ms = (51.2e6 + 8 * 44.4565e6) / 240e9 * 1e3  # 1.69522 ms
    assert compute_ms > memory_ms
    assert batch_latency_ms(R50, DEVICES["T4"], 8) == pytest.approx(2.21354, abs=1e-4)


def test_bert_base_cpu_fp32() -> None:
    # CPU16: 3.07 TFLOP/s x 0.5; FP32 (4 B): weights 437.9 MB, activations 56.62 MB x 2.
    bert = VARIANTS["bert_base"]
    flops = 4 * bert.gflops_per_sample * 1e9
    compute_ms = flops / (3.07e12 * 0.5) * 1e3  # 58.23 ms
    memory_ms = (
        (bert.params_millions * 4e6 + 4 * 2 * bert.activation_mb_per_sample * 1e6)
        / (140.8e9 * 0.75)
        * 1e3
    )  # 8.44 ms
    assert compute_ms == pytest.approx(58.23, abs=0.01)
    latency = batch_latency_ms(bert, DEVICES["CPU16"], 4, Precision.FP32)
    assert latency == pytest.approx(compute_ms + 0.2, rel=1e-9)
    assert memory_ms < compute_ms


def test_params_are_used() -> None:
    slow = RooflineParams(compute_efficiency=0.25, memory_efficiency=0.75, overhead_s=1e-3)
    # batch 8 compute-bound: 2 x 2.01354 ms + 1 ms.
    assert batch_latency_ms(R50, DEVICES["T4"], 8, params=slow) == pytest.approx(5.02708, abs=1e-4)


def test_batch_must_be_positive() -> None:
    with pytest.raises(DataError, match="batch"):
        batch_latency_ms(R50, DEVICES["T4"], 0)


PROFILE = {1: 10.0, 2: 15.0, 4: 25.0, 8: 50.0}


def test_capacity_largest_fitting_batch() -> None:
    assert capacity(PROFILE, 30.0) == Capacity(4, 25.0, 160.0)
    assert capacity(PROFILE, 1000.0) == Capacity(8, 50.0, 160.0)


def test_capacity_boundary_strict_and_inclusive() -> None:
    assert capacity(PROFILE, 25.0) == Capacity(4, 25.0, 160.0)
    assert capacity(PROFILE, 25.0, strict=True) == Capacity(2, 15.0, 2000.0 / 15.0)
    assert capacity(PROFILE, 10.0, strict=True) is None
    assert capacity(PROFILE, 9.99) is None


def test_capacity_floor() -> None:
    cap = capacity({1: 3.0}, 5.0, floor=True)
    assert cap == Capacity(1, 3.0, 333.0)
    unfloored = capacity({1: 3.0}, 5.0)
    assert unfloored is not None and unfloored.qps == pytest.approx(333.333333)


def test_capacity_skips_non_monotone_batches() -> None:
    # batch 4 is slower than 8 (as in some measured profiles): 8 is still the largest fit.
    assert capacity({1: 5.0, 4: 40.0, 8: 30.0}, 35.0) == Capacity(8, 30.0, 8000.0 / 30.0)


@pytest.mark.parametrize("bad", [{0: 1.0}, {1: 0.0}, {2: -3.0}, {1: float("nan")}])
def test_capacity_rejects_bad_profiles(bad: dict[int, float]) -> None:
    with pytest.raises(DataError):
        capacity(bad, 10.0)


def test_capacity_rejects_bad_budget() -> None:
    with pytest.raises(DataError, match="budget_ms"):
        capacity(PROFILE, 0.0)


def test_analytical_capacity() -> None:
    # Latencies on T4: b1 0.599, b2 0.903, b4 1.407, b8 2.214, b16 4.227 ms.
    cap = analytical_capacity(R50, DEVICES["T4"], 2.5)
    assert cap is not None and cap.batch == 8
    assert cap.qps == pytest.approx(8000 / 2.21354, rel=1e-4)
    assert analytical_capacity(R50, DEVICES["T4"], 0.5) is None
    only_small = analytical_capacity(R50, DEVICES["T4"], 100.0, batches=(1, 2))
    assert only_small is not None and only_small.batch == 2


def test_calibrated_estimates_are_memoised_and_read_only() -> None:
    """The calibrated estimate is pure, so it is memoised per process (a sweep's points
    share it); the shared latencies cannot be changed by one caller."""
    from cost_models.proteus import calibrated

    args = (VARIANTS["resnet50"], DEVICES["T4"], [1, 2, 4, 8], Precision.FP16)
    first = calibrated.estimated_latencies_ms(*args)
    hits = calibrated._estimated.cache_info().hits
    again = calibrated.estimated_latencies_ms(*args)
    assert again is first and calibrated._estimated.cache_info().hits == hits + 1
    assert (
        calibrated._estimated.__wrapped__(
            args[0], args[1], tuple(args[2]), args[3], None, None, calibration.REFERENCE
        )
        == first
    )
    with pytest.raises(TypeError):
        first.latency_ms[1] = 0.0  # type: ignore[index]
