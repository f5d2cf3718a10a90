"""Stash's stall definitions in the ddl benchmark, on a hand-computed grid cell."""

from __future__ import annotations

import importlib.util
from dataclasses import replace
from types import ModuleType

import pytest

from cost_models.ddl.estimate import ComputeRate, Estimate, Market
from tests.conftest import ROOT


def _benchmark() -> ModuleType:
    spec = importlib.util.spec_from_file_location(
        "ddl_stalls", ROOT / "benchmarks" / "ddl_stalls.py"
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _estimate(
    instance_type: str, nodes: int, gpus: int, compute: float, ic: float, net: float
) -> Estimate:
    """An estimate with the given per-iteration compute and stalls (seconds) and a data
    stall that synthetic data would not have."""
    return Estimate(
        instance_type=instance_type,
        nodes=nodes,
        market=Market.ON_DEMAND,
        gpus=gpus,
        iterations=100,
        iteration_s=compute + ic + net + 0.5,
        compute_s=compute,
        fetch_stall_s=0.5,
        prep_stall_s=0.0,
        interconnect_stall_s=ic,
        network_stall_s=net,
        train_h=1.0,
        spot_overhead_h=0.0,
        hours=1.0,
        price_usd_per_h=1.0,
        cost_usd=1.0,
        naive_hours=1.0,
        rate=ComputeRate(compute, 64, "calibrated", 20.0),
    )


def test_stash_stalls_hand_computed() -> None:
    bench = _benchmark()
    single = _estimate("p3.2xlarge", 1, 1, 0.100, 0.0, 0.0)
    quad = _estimate("p3.8xlarge", 1, 4, 0.102, 0.030, 0.0)  # a slightly slower step
    eight = _estimate("p3.16xlarge", 1, 8, 0.102, 0.040, 0.0)
    two = _estimate("p3.8xlarge", 2, 8, 0.102, 0.030, 0.300)
    k80 = _estimate("p2.xlarge", 1, 1, 0.500, 0.0, 0.0)
    board = _estimate("p2.8xlarge", 1, 8, 0.500, 0.100, 0.0)
    stalls = {
        e.config[:2]: (stall, pct)
        for e, stall, pct in bench.stash_stalls([single, quad, eight, two, k80, board])
    }
    # interconnect stall = multi-GPU minus single-GPU time, synthetic data (no fetch stall)
    assert stalls["p3.8xlarge", 1][0] == pytest.approx(0.132 - 0.100)
    assert stalls["p3.8xlarge", 1][1] == pytest.approx(100 * 0.032 / 0.132)
    assert stalls["p3.16xlarge", 1][0] == pytest.approx(0.142 - 0.100)
    assert stalls["p2.8xlarge", 1][0] == pytest.approx(0.600 - 0.500)  # against p2.xlarge
    # network stall = 2 x p3.8xlarge minus 1 x p3.16xlarge
    assert stalls["p3.8xlarge", 2][0] == pytest.approx(0.432 - 0.142)
    assert stalls["p3.8xlarge", 2][1] == pytest.approx(100 * 0.290 / 0.432)
    assert ("p3.2xlarge", 1) not in stalls and ("p2.xlarge", 1) not in stalls
    # the data stall of a real pipeline does not enter either definition
    slower_disk = replace(quad, fetch_stall_s=5.0, iteration_s=quad.iteration_s + 4.5)
    again = {e.config[:2]: s for e, s, _ in bench.stash_stalls([single, slower_disk])}
    assert again["p3.8xlarge", 1] == pytest.approx(0.032)


def test_stash_grid_is_p2_p3_amp_and_batches_32_to_80() -> None:
    bench = _benchmark()
    grid = bench.stash_grid()
    batches = {int(name.rsplit("-b", 1)[1]) for name in grid}
    assert min(batches) == 32 and max(batches) == 80
    types = {e.instance_type for ests in grid.values() for e in ests}
    assert types == {
        "p2.xlarge",
        "p2.8xlarge",
        "p2.16xlarge",
        "p3.2xlarge",
        "p3.8xlarge",
        "p3.16xlarge",
    }
    for ests in grid.values():
        assert all(e.prep_stall_s == 0.0 for e in ests)  # DALI-like: no CPU prep stage
        assert sum(1 for e in ests if e.nodes == 2) == 1
