"""Golden numbers of the polymorphic cost model, each derived by hand in its comment."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from cost_models.errors import DataError
from cost_models.polymorphic.gemm import Dataflow, Gemm, conv_gemm, rnn_gemm
from cost_models.polymorphic.memory import (
    best_dataflow_run,
    dram_elems,
    network_costs,
    stall_cycles,
)
from cost_models.polymorphic.networks import NETWORKS, network, resnet50
from cost_models.polymorphic.systolic import compute_cycles, utilisation
from cost_models.ppipe.layers import CNN_SPECS

OS, WS, IS = Dataflow.OUTPUT_STATIONARY, Dataflow.WEIGHT_STATIONARY, Dataflow.INPUT_STATIONARY
SMALL = Gemm("small", m=10, k=7, n=5)


def test_compute_cycles_by_hand() -> None:
    # OS: S_r = M = 10, S_c = N = 5, T = K = 7 on 4 x 3: ceil(10/4) * ceil(5/3) = 3 * 2 = 6
    # folds of T + R + C - 2 = 7 + 4 + 3 - 2 = 12 cycles -> 72
    assert int(compute_cycles(SMALL, 4, 3, OS)) == 72
    # WS: S_r = K = 7, S_c = N = 5, T = M = 10: 2 * 2 = 4 folds of 2*4 + 3 + 10 - 2 = 19 -> 76
    assert int(compute_cycles(SMALL, 4, 3, WS)) == 76
    # IS: S_r = K = 7, S_c = M = 10, T = N = 5: 2 * 4 = 8 folds of 8 + 3 + 5 - 2 = 14 -> 112
    assert int(compute_cycles(SMALL, 4, 3, IS)) == 112


def test_resnet50_conv1_on_128x128_weight_stationary() -> None:
    # conv1: 7x7/2 on 3x224x224, pad 3 -> 112x112 output: M = 12544, K = 147, N = 64.
    # WS: S_r = 147 -> 2 folds, S_c = 64 -> 1 fold, T = 12544:
    # 2 * (2*128 + 128 + 12544 - 2) = 2 * 12926 = 25852 cycles
    conv1 = resnet50(1)[0]
    assert (conv1.m, conv1.k, conv1.n) == (12544, 147, 64)
    assert int(compute_cycles(conv1, 128, 128, WS)) == 25852
    # utilisation = MACs / (PEs * cycles) = 12544*147*64 / (16384 * 25852)
    assert float(utilisation(conv1, 128, 128, WS)) == pytest.approx(
        12544 * 147 * 64 / (16384 * 25852)
    )


def test_dram_traffic_by_hand_weight_stationary() -> None:
    # WS on 4 x 3: filter (stationary) 35 once; ifmap (row operand) 70, col folds = 2;
    # ofmap (column operand) 50, slice = min(3, 5) * T = 3 * 10 = 30, row folds = 2.
    # buffer 1000: everything fits -> 35 + 70 + 50 = 155
    assert float(dram_elems(SMALL, 4, 3, WS, 1000)) == 155
    # buffer 40: slice 30 fits; ifmap 70 + 30 > 40 -> 2 passes -> 35 + 140 + 50 = 225
    assert float(dram_elems(SMALL, 4, 3, WS, 40)) == 225
    # buffer 20: slice does not fit -> partial sums 2*2 - 1 = 3 passes -> 35 + 140 + 150 = 325
    assert float(dram_elems(SMALL, 4, 3, WS, 20)) == 325


def test_dram_traffic_by_hand_output_stationary() -> None:
    # OS: ofmap 50 once; ifmap (row) 70 x 2 column folds; filter (column) slice 3 * 7 = 21,
    # 3 row folds. buffer 20: slice misses -> 50 + 140 + 35*3 = 295; buffer 21: 50+140+35 = 225
    assert float(dram_elems(SMALL, 4, 3, OS, 20)) == 295
    assert float(dram_elems(SMALL, 4, 3, OS, 21)) == 225


def test_stall_cycles_by_hand() -> None:
    # 225 bytes at 2 bytes/cycle = 112.5 transfer cycles against 76 compute -> 36.5 stall
    assert float(stall_cycles(76, 225, 2.0)) == 36.5
    assert float(stall_cycles(76, 100, 2.0)) == 0.0


def test_cross_layer_reuse_saves_one_write_and_one_read() -> None:
    # L1 = small (output 50 elements), L2 = (10 x 5)(5 x 3) reads L1's output.
    # WS, buffer 1000 bytes, 1 byte per word: L1 155 -> 105 (no output write);
    # L2: filter 15 + ifmap 50 + ofmap 30 = 95 -> 45 (input already on chip). Saving 100.
    layers = (SMALL, Gemm("next", m=10, k=5, n=3, reads_previous=True))
    kwargs = {
        "rows": 4,
        "cols": 3,
        "buffer_bytes": 1000.0,
        "dram_bytes_per_cycle": 1.0,
        "word_bytes": 1,
        "dataflows": (WS,),
    }
    without = network_costs(layers, cross_layer_reuse=False, **kwargs)  # type: ignore[arg-type]
    with_reuse = network_costs(layers, cross_layer_reuse=True, **kwargs)  # type: ignore[arg-type]
    assert [float(c.dram_bytes[WS]) for c in without] == [155, 95]
    assert [float(c.dram_bytes[WS]) for c in with_reuse] == [105, 45]
    # a 40-byte buffer cannot hold L1's 50-byte output: no saving
    kwargs["buffer_bytes"] = 40.0
    small_buffer = network_costs(layers, cross_layer_reuse=True, **kwargs)  # type: ignore[arg-type]
    assert float(small_buffer[0].dram_bytes[WS]) == 225


def test_rnn_weights_pinned_across_time_steps() -> None:
    # batch 2, input 3, hidden 4, 4 gates, 5 steps: M = 2, K = 7, N = 16, 5 repeats.
    cell = rnn_gemm("cell", batch=2, input_size=3, hidden=4, gates=4, steps=5)
    assert (cell.m, cell.k, cell.n, cell.repeats) == (2, 7, 16, 5)
    # WS on 4 x 4: 2 * 4 folds of 2*4 + 4 + 2 - 2 = 12 cycles, 5 steps -> 480
    assert int(compute_cycles(cell, 4, 4, WS)) == 480
    # buffer 200: weights 112 pinned (88 left); per step ifmap 14 + ofmap 32 (slice 4*2 = 8
    # and 14 + 8 fit) -> 5 * 46 + 112 = 342
    assert float(dram_elems(cell, 4, 4, WS, 200)) == 342
    # buffer 100: weights do not fit -> read every step: 5 * (112 + 14 + 32) = 790
    assert float(dram_elems(cell, 4, 4, WS, 100)) == 790


def test_best_dataflow_run_takes_the_fastest_per_layer() -> None:
    # unlimited buffer and bandwidth: OS 72 < WS 76 < IS 112 cycles for SMALL
    costs = network_costs((SMALL,), 4, 3, 1e9, 1e9, 1, cross_layer_reuse=False)
    run = best_dataflow_run(costs)
    assert float(run.cycles) == 72
    assert int(run.dataflow_index[0]) == 0  # Dataflow order: os, ws, is
    # broadcasting over array shapes gives the same numbers element-wise
    rows = np.array([4, 8])
    grid = best_dataflow_run(network_costs((SMALL,), rows, 3, 1e9, 1e9, 1, cross_layer_reuse=False))
    assert float(grid.cycles[0]) == 72
    # 8 x 3: OS ceil(10/8) * 2 = 4 folds of 7 + 8 + 3 - 2 = 16 -> 64; WS ceil(7/8) *
    # ceil(5/3) = 2 folds of 2*8 + 3 + 10 - 2 = 27 -> 54; IS 1 * 4 folds of 16+3+5-2 -> 88
    assert float(grid.cycles[1]) == 54
    assert int(grid.dataflow_index[0][1]) == 1


def test_conv_lowering_counts_distinct_inputs() -> None:
    # 3x3/1 "same" conv on 8 x 6x6: M = 36, K = 72, N = 4; distinct inputs 8*36 = 288 < 36*72
    gemm, shape = conv_gemm(
        "c", batch=1, in_channels=8, height=6, width=6, out_channels=4, kernel=3
    )
    assert (gemm.m, gemm.k, gemm.n, gemm.input_elems, shape) == (36, 72, 4, 288, (4, 6, 6))
    # depthwise: 8 groups of (36 x 9)(9 x 1)
    depthwise, _ = conv_gemm(
        "d", batch=2, in_channels=8, height=6, width=6, out_channels=8, kernel=3, groups=8
    )
    assert (depthwise.m, depthwise.k, depthwise.n, depthwise.repeats) == (72, 9, 1, 8)


@pytest.mark.parametrize("name", ["resnet50", "vgg16"])
def test_network_macs_match_the_project_layer_specs(name: str) -> None:
    ours = {layer.name: layer.macs for layer in network(name, 1)}
    theirs = {
        layer.name: layer.flops / 2 for layer in CNN_SPECS[name].layers if layer.weight_bytes > 0
    }
    assert ours == theirs


def test_public_network_totals() -> None:
    # MobileNetV2: torchvision lists 300.8 M MACs (0.30 GFLOPS)
    assert sum(g.macs for g in network("mobilenet_v2", 1)) == pytest.approx(300.8e6, rel=1e-3)
    # DLRM MLPs: 13*512 + 512*256 + 256*128 + 479*1024 + 1024*1024 + 1024*512 + 512*256
    # + 256*1 = 2,365,184 MACs per sample
    assert sum(g.macs for g in network("dlrm_mlp", 1)) == 2_365_184
    # GNMT LSTM layer: (1 x 2048)(2048 x 4096) per step, 50 steps, 8 layers
    assert sum(g.macs for g in network("lstm_gnmt", 1)) == 8 * 50 * 2048 * 4096
    # batch scales M
    assert sum(g.macs for g in network("resnet50", 4)) == 4 * sum(
        g.macs for g in network("resnet50", 1)
    )


def test_chained_layers_read_exactly_the_previous_output() -> None:
    for name in NETWORKS:
        layers = network(name, 2)
        for previous, layer in itertools.pairwise(layers):
            if layer.reads_previous:
                assert previous.repeats * previous.output_elems >= layer.repeats * (
                    layer.input_elems
                ), (name, layer.name)


def test_bad_inputs_raise_data_errors() -> None:
    with pytest.raises(DataError, match=r"bad\.k: expected an integer >= 1 \(got 0\)"):
        Gemm("bad", m=3, k=0, n=2)
    with pytest.raises(DataError, match="network: expected one of resnet50"):
        network("alexnet", 1)
    with pytest.raises(DataError, match="batch: expected an integer >= 1"):
        network("vgg16", 0)
    with pytest.raises(DataError, match="channels divide"):
        conv_gemm(
            "g", batch=1, in_channels=6, height=4, width=4, out_channels=4, kernel=1, groups=4
        )
