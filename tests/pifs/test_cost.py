"""Golden numbers for the PIFS-Rec cost model (topology, hotness, workloads, busy time)."""

from __future__ import annotations

import math
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from cost_models.errors import DataError
from cost_models.pifs.busy import batch_cost
from cost_models.pifs.hotness import Bucket, read_locality_stats, zipf_buckets
from cost_models.pifs.topology import Expander, FabricSpec, build_fabric
from cost_models.pifs.workload import (
    CRITEO_KAGGLE_ROWS,
    META_MEAN_POOLING,
    PRESETS,
    EmbeddingTable,
    Workload,
    meta_like_tables,
)

REFERENCE = Path(__file__).resolve().parents[3] / "shared" / "reference" / "dlrm"
LOCALITY = REFERENCE / "meta_2022_locality_stats.txt"


def test_default_fabric_bandwidths_and_latencies() -> None:
    fabric = build_fabric(FabricSpec(expanders=(Expander(),) * 8, host_capacity_gib=2.0))
    # PCIe 5.0: 32 GT/s * 128/130 / 8 bits = 3.9385 GB/s per lane; x16 = 63.015 GB/s
    assert fabric.upstream_gb_per_s == pytest.approx(63.0154, rel=1e-5)
    # a port: min(x8 link 31.508 GB/s, 2 DDR5-4800 channels * 38.4 * 0.7 = 53.76 GB/s)
    assert fabric.ports[0].bandwidth_gb_per_s == pytest.approx(31.5077, rel=1e-5)
    # host: 8 channels * 38.4 GB/s * 0.7
    assert fabric.host.bandwidth_gb_per_s == pytest.approx(215.04)
    assert fabric.host.capacity_bytes == 2 * 2**30
    # 100 ns DRAM + 50 + 50 ns switch traversal + 90 ns expander
    assert fabric.ports[0].latency_ns == pytest.approx(290.0)
    assert fabric.host.latency_ns == pytest.approx(100.0)


def test_port_bandwidth_is_the_path_bottleneck() -> None:
    slow = Expander(channels=1, channel_gb_per_s=10.0, efficiency=1.0)
    fabric = build_fabric(FabricSpec(expanders=(slow,)))
    assert fabric.ports[0].bandwidth_gb_per_s == pytest.approx(10.0)
    narrow = Expander(port_lanes=4)
    assert build_fabric(FabricSpec(expanders=(narrow,))).ports[
        0
    ].bandwidth_gb_per_s == pytest.approx(4 * 32 * 128 / 130 / 8)


def test_fabric_needs_a_port() -> None:
    with pytest.raises(DataError, match=r"fabric\.ports"):
        build_fabric(FabricSpec(expanders=()))


def test_zipf_buckets_hand_computed() -> None:
    # 4 rows, s = 1, 2 buckets: ranks {1,2} and {3,4}; H(4) = 25/12, H(2) = 3/2
    hot, cold = zipf_buckets(4, 1.0, 2)
    assert (hot.row_share, cold.row_share) == (0.5, 0.5)
    assert hot.lookup_share == pytest.approx(1.5 / (25 / 12))
    assert cold.lookup_share == pytest.approx(1 - 18 / 25)


def test_zipf_uniform_when_exponent_is_zero_and_tail_approximation_is_tight() -> None:
    for b in zipf_buckets(1000, 0.0, 5):
        assert b.lookup_share == pytest.approx(b.row_share)
    rows, s = 1_000_000, 1.05
    exact = np.cumsum(np.arange(1, rows + 1, dtype=float) ** -s)
    buckets = zipf_buckets(rows, s, 8)
    assert sum(b.lookup_share for b in buckets) == pytest.approx(1.0)
    assert buckets[0].lookup_share == pytest.approx(
        exact[round(rows / 128) - 1] / exact[-1], rel=1e-9
    )


def test_locality_histogram_parses_the_meta_trace() -> None:
    if not LOCALITY.exists():
        pytest.skip(f"reference data not available at {LOCALITY}")
    stats = read_locality_stats(LOCALITY)
    assert len(stats.buckets) == 17
    assert stats.avg_col_size == pytest.approx(12.7)
    assert sum(b.row_share for b in stats.buckets) == pytest.approx(1.0)
    assert sum(b.lookup_share for b in stats.buckets) == pytest.approx(1.0)
    coldest = stats.buckets[-1]
    assert coldest.label == "(0,1]"
    # printed shares 0.342 and 0.027; lookups renormalised by their printed sum 1.002
    assert coldest.lookup_share == pytest.approx(0.027 / 1.002)
    hottest = stats.buckets[0]
    assert hottest.label == "(32768+"
    # row share printed as 0.000: estimated as 0.076 * 12.7 / 32768 before renormalising
    row_total = 0.076 * 12.7 / 32768 / hottest.row_share
    assert coldest.row_share * row_total == pytest.approx(0.342)


def test_locality_histogram_rejects_malformed_files(tmp_path: Path) -> None:
    bad = tmp_path / "bad.txt"
    bad.write_text(
        "Avg # of indices: 10\nAvg # of unique cols: 5\nAvg col size: 2\n"
        "Histogram\n(0, 1]: 0.5\n(1, 2]: 0.5\nRatio\n(0, 1]: 0.5\n"
    )
    with pytest.raises(DataError, match="same bins"):
        read_locality_stats(bad)
    bad.write_text("Histogram\n(0, 1]: 1.0\nRatio\n(0, 1]: 1.0\n")
    with pytest.raises(DataError, match="avg_indices"):
        read_locality_stats(bad)
    with pytest.raises(DataError, match="readable"):
        read_locality_stats(tmp_path / "missing.txt")


def test_public_workload_configs() -> None:
    rm1 = PRESETS["rm1"]()
    assert len(rm1) == 8 and {t.rows for t in rm1} == {4_000_000}
    assert {(t.dim, t.pooling) for t in rm1} == {(32, 80.0)}
    assert len(PRESETS["rm2"]()) == 32 and len(PRESETS["rm3"]()) == 10
    # the Criteo Kaggle cardinalities add up to 33,762,577 rows (DLRM's published total)
    assert sum(CRITEO_KAGGLE_ROWS) == 33_762_577
    assert len(PRESETS["criteo_terabyte"]()) == 26
    meta = meta_like_tables(856, seed=1)
    assert len(meta) == 856
    assert np.mean([t.pooling for t in meta]) == pytest.approx(META_MEAN_POOLING, rel=1e-3)
    assert abs(META_MEAN_POOLING - 13.605) < 1e-3


def _one_table_problem(expander: Expander | None = None) -> tuple:
    table = EmbeddingTable(
        "t",
        rows=1000,
        dim=4,
        bytes_per_element=4,
        pooling=10.0,
        buckets=(Bucket("hot", 0.1, 0.5), Bucket("cold", 0.9, 0.5)),
    )
    slow = expander or Expander(channels=1, channel_gb_per_s=10.0, efficiency=1.0)
    fabric = build_fabric(
        FabricSpec(
            expanders=(slow, slow),
            host_dram_gb_per_s=100.0,
            host_capacity_gib=1.0,
            reduction_gb_per_s=20.0,
        )
    )
    # hot bucket on the host, cold bucket split evenly over both ports
    fractions = [np.array([[1.0, 0.0, 0.0], [0.0, 0.5, 0.5]])]
    return fabric, Workload((table,), batch_size=100), fractions


def test_batch_cost_hand_computed_with_switch_reduction() -> None:
    fabric, work, fractions = _one_table_problem()
    cost = batch_cost(fabric, work, fractions, [True])
    # row 16 B; bytes 1000*0.1*16 = 1600 on host, 14400 on CXL (7200 per port)
    np.testing.assert_allclose(cost.location_bytes, [1600.0, 7200.0, 7200.0])
    # lookups 100 * 10 * 0.5 * 16 = 8000 B per bucket; host 8000 B / 100 GB/s = 0.08 us
    np.testing.assert_allclose(cost.location_busy_us, [0.08, 0.4, 0.4])
    # one pooled 16 B vector per sample and port: 100 * 16 * 2 = 3200 B upstream
    assert cost.upstream_bytes == pytest.approx(3200.0)
    assert cost.upstream_busy_us == pytest.approx(3200 / 63015.38, rel=1e-5)
    assert cost.reduction_busy_us == pytest.approx(8000 / 20e3)
    assert cost.buffer_bytes == pytest.approx(32.0)
    # 290 ns to an expander + 50 ns reduction engine; bottleneck 0.4 us
    assert cost.chain_us == pytest.approx(0.34)
    assert cost.latency_us == pytest.approx(0.74)
    assert cost.throughput_samples_per_s(100) == pytest.approx(100 / 0.74e-6)


def test_batch_cost_hand_computed_without_switch_reduction() -> None:
    fabric, work, fractions = _one_table_problem()
    cost = batch_cost(fabric, work, fractions, [False])
    assert cost.upstream_bytes == pytest.approx(8000.0)  # every CXL row crosses
    assert cost.reduction_busy_us == 0.0 and cost.buffer_bytes == 0.0
    assert cost.chain_us == pytest.approx(0.29)
    assert cost.latency_us == pytest.approx(0.69)
    assert math.isclose(cost.busy_us["upstream_link"], 8000 / 63015.38, rel_tol=1e-5)


def test_batch_cost_hand_computed_with_one_table_reduced_and_one_not() -> None:
    fabric, work, fractions = _one_table_problem()
    table = work.tables[0]
    other = EmbeddingTable(
        "u", table.rows, table.dim, table.bytes_per_element, table.pooling, table.buckets
    )
    # u: both buckets on port 0 only, so it is held by one port
    two = Workload((table, other), batch_size=100)
    cost = batch_cost(fabric, two, [fractions[0], np.array([[0.0, 1.0, 0.0]] * 2)], [True, False])
    # t as before (1600 / 7200 / 7200 B); u's 16000 B all on port 0
    np.testing.assert_allclose(cost.location_bytes, [1600.0, 23200.0, 7200.0])
    # upstream: t's pooled vectors from 2 ports (3200 B) + every CXL row of u (16000 B)
    assert cost.upstream_bytes == pytest.approx(3200.0 + 16000.0)
    assert cost.reduction_bytes == pytest.approx(8000.0)  # only t's CXL rows
    assert cost.buffer_bytes == pytest.approx(32.0)  # t's partial sums on 2 ports
    np.testing.assert_array_equal(cost.ports_holding, [2, 1])


def _fast_expander_problem() -> tuple:
    """The one-table problem with expanders whose DRAM (80 GB/s) outruns their x8 link
    (31.5 GB/s), so pooling next to memory shortens the port's busy time."""
    return _one_table_problem(Expander(channels=2, channel_gb_per_s=40.0, efficiency=1.0))


def test_batch_cost_hand_computed_pooled_across_ports_in_the_switch() -> None:
    fabric, work, fractions = _one_table_problem()
    cost = batch_cost(fabric, work, fractions, [True], site="switch")
    # one pooled 16 B vector per sample and table (not per port): 100 * 16 = 1600 B
    assert cost.upstream_bytes == pytest.approx(1600.0)
    assert cost.reduction_bytes == pytest.approx(8000.0)  # every CXL row is summed
    assert cost.buffer_bytes == pytest.approx(16.0)  # one accumulator per sample
    np.testing.assert_allclose(cost.location_busy_us, [0.08, 0.4, 0.4])
    assert cost.latency_us == pytest.approx(0.74)
    # with less than one CXL lookup per sample the rows are sent, not a pooled vector
    sparse = Workload((replace(work.tables[0], pooling=0.1),), batch_size=100)
    assert batch_cost(fabric, sparse, fractions, [True], site="switch").upstream_bytes == (
        pytest.approx(80.0)
    )


def test_batch_cost_hand_computed_pooled_in_the_expanders() -> None:
    fabric, work, fractions = _fast_expander_problem()
    link_us = 1e-3 / (8 * 32 * 128 / 130 / 8)  # us per byte on an x8 PCIe 5.0 link
    rows = batch_cost(fabric, work, fractions, [True])
    # pooled at the ports, the link carries the 4000 B of rows: 4000 B over 31.5 GB/s
    assert rows.location_busy_us[1] == pytest.approx(4000 * link_us)
    near = batch_cost(fabric, work, fractions, [True], site="memory")
    # in the expanders: DRAM reads 4000 B at 80 GB/s (0.05 us), the link carries one
    # 16 B partial sum per sample (1600 B, 0.0508 us): the slower of the two
    assert near.location_busy_us[1] == pytest.approx(1600 * link_us)
    assert near.location_busy_us[1] > 4000 / 80e3
    assert near.reduction_bytes == pytest.approx(3200.0)  # the switch adds 2 x 1600 B
    assert near.upstream_bytes == pytest.approx(1600.0)
    assert near.buffer_bytes == pytest.approx(16.0)
    # a table pooled on the host leaves every site's cost alone
    np.testing.assert_allclose(
        batch_cost(fabric, work, fractions, [False], site="memory").location_busy_us,
        batch_cost(fabric, work, fractions, [False]).location_busy_us,
    )
