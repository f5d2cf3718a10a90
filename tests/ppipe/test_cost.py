"""Golden numbers of the PPipe cost model, and the pre-partitioning DP against brute force."""

from __future__ import annotations

from itertools import combinations
from pathlib import Path

import networkx as nx
import numpy as np
import pytest

from cost_models.errors import DataError
from cost_models.ppipe.calibrated import analytical_table, group_latency_us, layer_latency_us
from cost_models.ppipe.layers import CNN_SPECS, layer_graph
from cost_models.ppipe.prepartition import BOUND_SCHEDULE, chunk_bounds, contract, cut_costs
from cost_models.ppipe.tables import (
    ChunkTable,
    batch_build_us,
    load_published_table,
    transfer_time_us,
)
from tests.conftest import REFERENCE

PPIPE_REFERENCE = REFERENCE / "ppipe"


def test_layer_specs_match_published_model_sizes() -> None:
    # torchvision model zoo: VGG-16 has 138,357,544 parameters and 15.47 GMAC at 224x224;
    # ResNet-50 4.09 GMAC, ResNet-101 7.80 GMAC (BN folded, so ResNet params differ slightly).
    vgg = CNN_SPECS["vgg16"]
    assert sum(layer.weight_bytes for layer in vgg.layers) / 4 == 138_357_544
    assert vgg.macs / 1e9 == pytest.approx(15.47, abs=0.01)
    assert CNN_SPECS["resnet50"].macs / 1e9 == pytest.approx(4.09, abs=0.01)
    assert CNN_SPECS["resnet101"].macs / 1e9 == pytest.approx(7.80, abs=0.01)


def test_calibrated_layer_latency_scales_with_the_mps_slice() -> None:
    # ResNet-50 conv1 alone: a level-2 MPS slice has half the GPU, so the busy part of its
    # latency doubles while the per-call part (split by layer count) does not
    spec = CNN_SPECS["resnet50"]
    one = layer_latency_us(spec, "V100", 1, 1)[0]
    two = layer_latency_us(spec, "V100", 2, 1)[0]
    assert one < two < 2 * one
    assert layer_latency_us(spec, "V100", 1, 8)[0] > one  # more work per call


def test_l4_beats_v100_on_big_batches_in_tf32() -> None:
    # PPipe's profiles: an L4 is about 20% faster than a V100 for FP32 CNNs (TF32 cores)
    spec = CNN_SPECS["resnet50_backbone_1333x800"]
    l4 = layer_latency_us(spec, "L4", 1, 8).sum()
    v100 = layer_latency_us(spec, "V100", 1, 8).sum()
    assert l4 < v100
    assert layer_latency_us(spec, "T4", 1, 8).sum() > v100


def test_transfer_and_batch_build_golden() -> None:
    # 13,107,200 bytes (atss cut 0) through 10 Gbit/s: 13,107,200 * 8 / 1e10 s = 10,485.76 us
    assert transfer_time_us(13_107_200, 10) == pytest.approx(10_485.76)
    # 1.3 * 1e6 * (4 - 1) / 2000 requests/s = 1950 us
    assert batch_build_us(1.3, 4, 2000.0) == pytest.approx(1950.0)


def _table() -> ChunkTable:
    latency = {
        ("HI", 1): np.array([[0.5, 0.8], [2000.0, 3000.0], [4000.0, 7000.0]]),
        ("HI", 2): np.array([[10.0], [3500.0], [7000.0]]),
    }
    return ChunkTable("toy", latency, [1_250_000, 250_000])


def test_stage_latency_and_throughput_golden() -> None:
    table = _table()
    # chunk 0 is clipped to 1 us: 1 + 2000 = 2001 us
    assert table.stage_latency_us("HI", 1, 1, 0, 2) == pytest.approx(2001.0)
    # batch 2 on chunks [1, 3): 3000 + 7000 = 10,000 us -> compute 2e6 / 1e4 = 200 qps;
    # cut at 1 is 1.25 MB -> 1000 us at 10 Gbit/s; NIC shared by 1 slice x 4 GPUs:
    # 1e6 / (1000 * 4) = 250 qps; output side: no cut (1 us) -> 250,000 qps. min = 200.
    assert table.instance_throughput_qps("HI", 1, 2, 1, 3, 10, 4) == pytest.approx(200.0)
    # level 2, batch 1, chunks [1, 2): compute 1e6 / 3500 = 285.7 qps; NIC in 1e6 /
    # (1000 * 2 * 4) = 125 qps; NIC out (cut at 2: 200 us) 1e6 / (200 * 8) = 625 qps -> 125
    assert table.instance_throughput_qps("HI", 2, 1, 1, 2, 10, 4) == pytest.approx(125.0)


def test_stage_tables_equal_the_stages_summed_chunk_by_chunk() -> None:
    # every [batch, start, end] entry is bit-identical to summing the stage's clipped chunks
    # in order and taking min(compute, NIC in, NIC out) of it (what design enumeration reads)
    rng = np.random.default_rng(7)
    chunks, batches, bandwidth, per_server = 5, 3, 10.0, 4
    cut_bytes = rng.integers(1, 2_000_000, chunks - 1).tolist()
    latency = {("HI", 2): rng.uniform(0.2, 5000.0, (chunks, batches))}
    table = ChunkTable("random", latency, cut_bytes)
    stage_us = table.stage_latencies_us("HI", 2)
    qps = table.instance_throughputs_qps("HI", 2, bandwidth, per_server)
    assert stage_us.shape == qps.shape == (batches, chunks, chunks)
    nic_us = [1.0, *(transfer_time_us(float(c), bandwidth) for c in cut_bytes), 1.0]
    for b in range(1, batches + 1):
        for start in range(chunks):
            for end in range(start + 1, chunks + 1):
                column = latency[("HI", 2)][start:end, b - 1].tolist()
                expected_us = sum(max(x, 1.0) for x in column)
                assert stage_us[b - 1, start, end - 1] == expected_us
                compute = 1e6 * b / expected_us
                nic_in, nic_out = (1e6 / (nic_us[c] * 2 * per_server) for c in (start, end))
                assert qps[b - 1, start, end - 1] == min(compute, nic_out, nic_in)


def _random_dag(rng: np.random.Generator, layers: int) -> nx.DiGraph:
    graph = nx.DiGraph()
    for v in range(layers):
        graph.add_node(f"l{v}", out_bytes=float(rng.integers(1, 1000)))
        if v:
            graph.add_edge(f"l{v - 1}", f"l{v}")
        if v >= 3 and rng.random() < 0.4:
            graph.add_edge(f"l{v - int(rng.integers(2, 4))}", f"l{v}")
    return graph


@pytest.mark.parametrize("seed", range(6))
def test_prepartition_is_contiguous_bounded_and_optimal(seed: int) -> None:
    rng = np.random.default_rng(seed)
    layers, chunks = int(rng.integers(7, 10)), int(rng.integers(2, 5))
    graph = _random_dag(rng, layers)
    order = [f"l{v}" for v in range(layers)]
    runtimes = {gpu: rng.uniform(1, 10, layers) for gpu in ("HI", "LO")}
    result = contract(graph, order, runtimes, chunks)
    assert result.chunk_of_layer[0] == 0 and result.chunk_of_layer[-1] == chunks - 1
    assert all(
        b - a in (0, 1)
        for a, b in zip(result.chunk_of_layer, result.chunk_of_layer[1:], strict=False)
    )
    bounds = chunk_bounds(result.chunk_of_layer)
    lb, ub = result.bounds
    for times in runtimes.values():
        shares = np.add.reduceat(times, bounds[:-1]) / times.sum() * chunks
        assert np.all(shares >= lb - 1e-9) and np.all(shares <= ub + 1e-9)
    # brute force over every set of cut positions, at the bounds the DP settled on, and no
    # tighter level of the schedule admits a partition
    cost = cut_costs(graph, order)
    level = BOUND_SCHEDULE.index(result.bounds)
    for tighter_lb, tighter_ub in BOUND_SCHEDULE[: level + 1]:
        best = np.inf
        for cuts in combinations(range(1, layers), chunks - 1):
            edges = np.array([0, *cuts, layers])
            ok = all(
                np.all((s >= tighter_lb - 1e-12) & (s <= tighter_ub + 1e-12))
                for s in (
                    np.add.reduceat(t, edges[:-1]) / t.sum() * chunks for t in runtimes.values()
                )
            )
            if ok:
                best = min(best, sum(cost[c] for c in cuts))
        if (tighter_lb, tighter_ub) != result.bounds:
            assert best == np.inf
        else:
            assert sum(result.cut_bytes) == pytest.approx(best)


def test_cut_costs_count_skip_connections_once() -> None:
    graph = nx.DiGraph()
    for name, size in (("a", 10.0), ("b", 20.0), ("c", 30.0), ("d", 40.0)):
        graph.add_node(name, out_bytes=size)
    graph.add_edges_from([("a", "b"), ("b", "c"), ("c", "d"), ("a", "c"), ("a", "d")])
    # cut before b: a (10); before c: a + b (30); before d: a + c (40)
    assert list(cut_costs(graph, ["a", "b", "c", "d"])) == [0, 10, 30, 40, 0]
    with pytest.raises(DataError):
        cut_costs(graph, ["b", "a", "c", "d"])


def test_analytical_table_covers_every_layer() -> None:
    spec = CNN_SPECS["resnet50"]
    table = analytical_table(spec, ["L4", "T4"], {"L4": 2, "T4": 1}, 10)
    assert table.chunks == 10 and table.max_batch("L4", 2) == 4 and table.max_batch("T4", 1) == 8
    # the chunks together cover every layer once: one group of all layers costs what the
    # chunks' busy times add up to plus one call's fixed cost (the table splits it by layers)
    whole = group_latency_us(spec, [list(range(len(spec.layers)))], "T4", 1, 3)[0]
    assert table.latency_us[("T4", 1)][:, 2].sum() == pytest.approx(whole, rel=1e-9)


def test_published_loader_reads_and_rejects(tmp_path: Path) -> None:
    (tmp_path / "block_latency_us").mkdir()
    (tmp_path / "cut_bytes").mkdir()
    (tmp_path / "cut_bytes" / "m.csv").write_text("100\n200\n")
    (tmp_path / "block_latency_us" / "m-HI-1.csv").write_text("1,2\n3,4\n5,6\n")
    table = load_published_table(tmp_path, "m", ["HI"], {"HI": 1})
    assert table.chunks == 3 and table.stage_latency_us("HI", 1, 2, 0, 3) == 12.0
    (tmp_path / "block_latency_us" / "m-HI-1.csv").write_text("1,2\n3,x\n5,6\n")
    with pytest.raises(DataError, match="line 2"):
        load_published_table(tmp_path, "m", ["HI"], {"HI": 1})
    (tmp_path / "block_latency_us" / "m-HI-1.csv").write_text("1,2\n3,4\n")
    with pytest.raises(DataError, match="3 chunks"):
        load_published_table(tmp_path, "m", ["HI"], {"HI": 1})
    (tmp_path / "block_latency_us" / "m-HI-1.csv").write_text("1,2\n3,4\n5,6\n")
    with pytest.raises(DataError, match="MPS level 2"):
        load_published_table(tmp_path, "m", ["HI"], {"HI": 2})


@pytest.mark.skipif(not PPIPE_REFERENCE.exists(), reason="shared/reference/ppipe is absent")
def test_published_atss_table() -> None:
    table = load_published_table(
        PPIPE_REFERENCE, "atss_r101_fpn_1x_coco", ["L4", "T4"], {"L4": 4, "T4": 4}
    )
    assert table.chunks == 9 and table.cut_bytes[0] == 13_107_200
    assert table.max_batch("L4", 1) == 8 and table.max_batch("T4", 4) == 2


def test_layer_graph_follows_the_spec_and_has_no_cycle() -> None:
    # the cost model's layer DAG (built in layers.py, consumed by prepartition.py's contract)
    spec = CNN_SPECS["resnet50"]
    graph = layer_graph(spec)
    assert graph.number_of_nodes() == len(spec.layers)
    assert nx.is_directed_acyclic_graph(graph)
    # every residual add reads two tensors
    adds = [layer for layer in spec.layers if layer.name.endswith(".add")]
    assert adds and all(graph.in_degree(layer.name) == 2 for layer in adds)
