"""Our compute cycles and buffer accesses against SCALE-Sim's compute model, exactly.

SCALE-Sim (``scalesim`` on PyPI, MIT) is driven in memory, without config or topology
files: a ``scale_config`` with the array shape and dataflow, operand address matrices
(``M x K`` ifmap, ``K x N`` filter, ``M x N`` ofmap; distinct addresses), and its
``systolic_compute_{os,ws,is}`` classes. Its cycle count without memory stalls is the
number of rows of its demand matrices.

Convention differences (documented in docs/polymorphic.md):
* for output stationary SCALE-Sim adds ``R + C`` per fold to its ofmap write count; we
  count each output once (``M x N``);
* SCALE-Sim's convolution reader has no padding and batch 1; our lowering takes both, so
  the convolution test below uses ``padding=0`` and batch 1.
"""

from __future__ import annotations

import random

import numpy as np
import pytest

from cost_models.polymorphic.gemm import Dataflow, Gemm, conv_gemm
from cost_models.polymorphic.systolic import buffer_accesses, compute_cycles, folds

scale_config = pytest.importorskip("scalesim.scale_config").scale_config
compute_modules = {
    Dataflow.OUTPUT_STATIONARY: pytest.importorskip("scalesim.compute.systolic_compute_os"),
    Dataflow.WEIGHT_STATIONARY: pytest.importorskip("scalesim.compute.systolic_compute_ws"),
    Dataflow.INPUT_STATIONARY: pytest.importorskip("scalesim.compute.systolic_compute_is"),
}

SEED = 20240517
CASES = 30


def _config(rows: int, cols: int, dataflow: Dataflow) -> object:
    config = scale_config()
    config.set_arr_dims(rows, cols)
    config.set_dataflow(dataflow.value)
    config.force_valid()
    return config


def _scalesim(
    ifmap: np.ndarray, filt: np.ndarray, ofmap: np.ndarray, rows: int, cols: int, df: Dataflow
) -> tuple[int, int, int, int]:
    module = compute_modules[df]
    compute = getattr(module, f"systolic_compute_{df.value}")()
    compute.set_params(
        config_obj=_config(rows, cols, df),
        ifmap_op_mat=ifmap,
        filter_op_mat=filt,
        ofmap_op_mat=ofmap,
    )
    ifmap_demand, filter_demand, ofmap_demand = compute.get_demand_matrices()
    assert ifmap_demand.shape[0] == filter_demand.shape[0] == ofmap_demand.shape[0]
    return (
        ofmap_demand.shape[0],
        compute.get_ifmap_requests(),
        compute.get_filter_requests(),
        compute.get_ofmap_requests(),
    )


def _gemm_operands(m: int, k: int, n: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    return (
        np.arange(m * k).reshape(m, k),
        np.arange(k * n).reshape(k, n) + 10_000_000,
        np.arange(m * n).reshape(m, n) + 20_000_000,
    )


def _random_cases() -> list[tuple[int, int, int, int, int, Dataflow]]:
    rng = random.Random(SEED)
    cases = []
    for index in range(CASES):
        m, k, n = (rng.randint(1, 200) for _ in range(3))
        rows, cols = rng.choice((2, 4, 8, 16, 32)), rng.choice((2, 4, 8, 16, 32))
        cases.append((m, k, n, rows, cols, tuple(Dataflow)[index % 3]))
    return cases


@pytest.mark.parametrize(("m", "k", "n", "rows", "cols", "dataflow"), _random_cases())
def test_cycles_and_accesses_match_scalesim(
    m: int, k: int, n: int, rows: int, cols: int, dataflow: Dataflow
) -> None:
    cycles, ifmap_reads, filter_reads, ofmap_writes = _scalesim(
        *_gemm_operands(m, k, n), rows, cols, dataflow
    )
    gemm = Gemm("random", m, k, n)
    assert int(compute_cycles(gemm, rows, cols, dataflow)) == cycles
    ours = buffer_accesses(gemm, rows, cols, dataflow)
    assert int(ours["ifmap"]) == ifmap_reads
    assert int(ours["filter"]) == filter_reads
    if dataflow is Dataflow.OUTPUT_STATIONARY:
        row_folds, col_folds = folds(gemm, rows, cols, dataflow)
        extra = int(row_folds * col_folds) * (rows + cols)  # SCALE-Sim's per-fold addition
        assert int(ours["ofmap"]) + extra == ofmap_writes
    else:
        assert int(ours["ofmap"]) == ofmap_writes


def test_random_cases_cover_every_dataflow_and_partial_folds() -> None:
    cases = _random_cases()
    assert len(cases) >= 20
    assert {case[-1] for case in cases} == set(Dataflow)
    assert any(m % rows or n % cols for m, _, n, rows, cols, _ in cases)


@pytest.mark.parametrize("dataflow", list(Dataflow))
def test_convolution_lowering_matches_scalesim_operand_matrices(dataflow: Dataflow) -> None:
    """SCALE-Sim's own im2col of a strided 3x3 convolution gives our GEMM shape and cycles."""
    topology_utils = pytest.importorskip("scalesim.topology_utils")
    layout_utils = pytest.importorskip("scalesim.layout_utils")
    operand_matrix = pytest.importorskip("scalesim.compute.operand_matrix")
    topology = topology_utils.topologies()
    # name, ifmap h, ifmap w, filter h, filter w, channels, filters, stride h, stride w, N:M
    topology.load_layer_params_from_list("c", ["c", 15, 15, 3, 3, 16, 24, 2, 2, 1, 1])
    topology.topo_calc_hyperparams()
    config = _config(8, 4, dataflow)
    matrices = operand_matrix.operand_matrix()
    matrices.set_params(
        config_obj=config,
        topoutil_obj=topology,
        layoututil_obj=layout_utils.layouts(),
        layer_id=0,
    )
    matrices.create_operand_matrices()
    ifmap = matrices.get_ifmap_matrix()[1]
    filt = matrices.get_filter_matrix()[1]
    ofmap = matrices.get_ofmap_matrix()[1]
    gemm, _ = conv_gemm(
        "c",
        batch=1,
        in_channels=16,
        height=15,
        width=15,
        out_channels=24,
        kernel=3,
        stride=2,
        padding=0,
    )
    assert (gemm.m, gemm.k, gemm.n) == (ifmap.shape[0], ifmap.shape[1], filt.shape[1])
    cycles = _scalesim(ifmap, filt, ofmap, 8, 4, dataflow)[0]
    assert int(compute_cycles(gemm, 8, 4, dataflow)) == cycles
