"""Golden numbers of the cellular cost model, and the analytic latency against the replay."""

from __future__ import annotations

import numpy as np
import pytest

from cost_models.cellular.cells import batch_us, lstm_cell, tree_cells
from cost_models.cellular.graphs import cells_per_type, stages
from cost_models.cellular.latency import Bucket, cellular_latency, mix_of, padded_us
from formulations.cellular.simulate import GpuSetup, replay_gpu


def test_lstm_cell_gemm_shapes_by_hand() -> None:
    # one layer, x = h = 1024: GEMM [1, 2048] x [2048, 4096] = 2 * 2048 * 4096 = 16,777,216
    # FLOPs and 8,388,608 weights; gates 10 FLOPs per unit = 10,240
    cell = lstm_cell("lstm", 1024, 1024, 1, 0)
    assert cell.kernels[0].flops == 16_777_216
    assert cell.kernels[0].weight_elements == 8_388_608
    assert cell.kernels[1].flops == 10_240
    assert cell.params_millions == pytest.approx(8.388608)
    # a 10,000-word projection adds 2 * 1024 * 10000 = 20,480,000 FLOPs and 10.24 M weights
    lm = lstm_cell("lstm", 1024, 1024, 1, 10_000)
    assert lm.kernels[2].flops == 20_480_000
    assert lm.params_millions == pytest.approx(8.388608 + 10.24)


def test_tree_cells_by_hand() -> None:
    leaf, node = tree_cells(300, 100)
    assert leaf.kernels[0].flops == 2 * 300 * 300  # [1, 300] x [300, 3 * 100]
    assert node.kernels[0].flops == 2 * 200 * 500  # [1, 200] x [200, 5 * 100]


def test_request_graphs() -> None:
    assert stages("lstm", 3) == [(0, 1)] * 3
    assert stages("seq2seq", 2, 1.5) == [(0, 1), (0, 1), (1, 1), (1, 1), (1, 1)]
    # 5 leaves: pairs 2 (+1 carried) -> 3 nodes: 1 pair (+1) -> 2: 1 pair -> root
    assert stages("treelstm", 5) == [(0, 5), (1, 2), (1, 1), (1, 1)]
    assert cells_per_type("treelstm", 5) == [5, 4]  # a binary tree: n - 1 internal nodes


def test_batches_above_the_table_split() -> None:
    tau = np.array([10.0, 12.0, 15.0])  # us at b = 1, 2, 3
    assert batch_us(tau, 7) == 15.0 + 15.0 + 10.0  # 3 + 3 + 1
    # graph batch of 2 LSTM requests padded to 4 tokens: 4 steps of tau(2)
    assert padded_us("lstm", 1.0, [tau], 2, 4) == 4 * 12.0


def test_idle_latency_is_the_chain_of_single_cells() -> None:
    # at zero load a request of n tokens runs n cells of batch 1: n * tau(1)
    tau = np.linspace(100.0, 500.0, 64)
    mix = mix_of("lstm", 1.0, [Bucket(10, 10, 1.0)], 1)
    out = cellular_latency(mix, [tau], [64], np.array([1e-9]), 0.99)
    assert out.latency_s[0, 0] == pytest.approx(10 * 100e-6, rel=1e-6)


# analytic p99 against the replay's, per load as a share of the saturation load: 15% at 30%,
# 35% at 80% (the mean-occupancy cycle ignores the batch-size fluctuation near saturation)
TOLERANCE = {0.3: 0.15, 0.8: 0.35}


@pytest.mark.parametrize("structure", ["lstm", "seq2seq"])
def test_analytic_percentile_matches_the_replay(structure: str) -> None:
    tau = 60.0 + 2.0 * np.arange(1, 33)  # us: a fixed cost and a per-cell slope
    types = 1 if structure == "lstm" else 2
    buckets = (Bucket(1, 10, 0.6), Bucket(11, 30, 0.4))
    mix = mix_of(structure, 1.0, buckets, types)
    taus = [tau] * types
    saturation = 32 / (float(tau[-1]) * 1e-6 * mix.cells.sum())
    for load, tolerance in TOLERANCE.items():
        rate = load * saturation
        analytic = cellular_latency(mix, taus, [32] * types, np.array([rate]), 0.99)
        setup = GpuSetup(structure, 1.0, buckets, tuple(taus), "cellular", (32,) * types)
        replay = replay_gpu(setup, rate, 6000, 7, 1.0)
        for k in range(2):
            assert analytic.latency_s[0, k] == pytest.approx(
                replay.percentile_s(0.99, k), rel=tolerance
            ), (structure, load, k)
