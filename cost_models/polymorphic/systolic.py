"""Compute cycles and buffer accesses of one GEMM on an ``R x C`` systolic array.

SCALE-Sim's compute model (Samajdar et al., "A Systematic Methodology for Characterizing
Scalability of DNN Accelerators using SCALE-Sim", ISPASS 2020, section III; the ``scalesim``
package, ``scalesim/compute/systolic_compute_{os,ws,is}.py``) maps the GEMM's three
dimensions onto the array's rows (``S_r``), columns (``S_c``) and time (``T``):

============  =====  =====  =====  =================================
dataflow      S_r    S_c    T      stays in the PEs
============  =====  =====  =====  =================================
output (os)   M      N      K      the M x N output tile
weight (ws)   K      N      M      the K x N weight tile
input (is)    K      M      N      the K x M (transposed) input tile
============  =====  =====  =====  =================================

The work is cut into ``ceil(S_r / R) x ceil(S_c / C)`` folds, run one after the other; every
fold costs the same number of cycles whatever its occupancy (SCALE-Sim pads partial folds
with idle PEs):

* output stationary: ``T + R + C - 2`` per fold (operands stream in skewed over ``R + C - 1``
  cycles plus ``T - 1`` for the reduction; the result drains as the next fold fills);
* weight and input stationary: ``2R + C + T - 2`` per fold (``R`` cycles to preload the
  stationary tile, then ``T`` streamed rows skewed across ``R + C - 1`` PEs, minus one).

These are the lengths of SCALE-Sim's demand matrices (``get_demand_matrices()``), i.e. its
cycle count without memory stalls; ``tests/polymorphic/test_scalesim_agreement.py`` checks
them exactly. Every function takes scalar or numpy-array ``rows``/``cols`` and broadcasts.

Buffer (SRAM) accesses per operand, which follow from the same loop nest (column folds in
the outer loop, row folds inside, as in SCALE-Sim): the stationary ``S_r x S_c`` operand is
touched once; the ``S_r x T`` "row operand" is streamed again for every column fold; the
``S_c x T`` "column operand" is streamed (or, for outputs, written as partial sums) again for
every row fold.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from cost_models.polymorphic.gemm import Dataflow, Gemm

IntArray = npt.NDArray[np.int64]
Shape = int | IntArray


@dataclass(frozen=True)
class Mapping:
    """The GEMM's spatio-temporal dimensions under a dataflow (see the module table)."""

    s_rows: int
    s_cols: int
    t: int
    stationary: str  # "ifmap", "filter" or "ofmap"
    row_operand: str  # operand indexed by (S_r, T): re-streamed every column fold
    column_operand: str  # operand indexed by (S_c, T): re-streamed every row fold


def mapping(gemm: Gemm, dataflow: Dataflow) -> Mapping:
    m, k, n = gemm.m, gemm.k, gemm.n
    if dataflow is Dataflow.OUTPUT_STATIONARY:
        return Mapping(m, n, k, "ofmap", "ifmap", "filter")
    if dataflow is Dataflow.WEIGHT_STATIONARY:
        return Mapping(k, n, m, "filter", "ifmap", "ofmap")
    return Mapping(k, m, n, "ifmap", "filter", "ofmap")


def _ceil_div(a: Shape, b: Shape) -> IntArray:
    return np.asarray(-(-np.asarray(a, dtype=np.int64) // np.asarray(b, dtype=np.int64)))


def folds(gemm: Gemm, rows: Shape, cols: Shape, dataflow: Dataflow) -> tuple[IntArray, IntArray]:
    """``(ceil(S_r / R), ceil(S_c / C))``: row folds and column folds of one repeat."""
    mp = mapping(gemm, dataflow)
    return _ceil_div(mp.s_rows, rows), _ceil_div(mp.s_cols, cols)


def cycles_per_fold(gemm: Gemm, rows: Shape, cols: Shape, dataflow: Dataflow) -> IntArray:
    t = mapping(gemm, dataflow).t
    r = np.asarray(rows, dtype=np.int64)
    c = np.asarray(cols, dtype=np.int64)
    if dataflow is Dataflow.OUTPUT_STATIONARY:
        return np.asarray(t + r + c - 2)
    return np.asarray(2 * r + c + t - 2)


def compute_cycles(gemm: Gemm, rows: Shape, cols: Shape, dataflow: Dataflow) -> IntArray:
    """Cycles of all repeats of ``gemm`` on an ``rows x cols`` array, without stalls."""
    row_folds, col_folds = folds(gemm, rows, cols, dataflow)
    return np.asarray(
        gemm.repeats * row_folds * col_folds * cycles_per_fold(gemm, rows, cols, dataflow)
    )


def utilisation(
    gemm: Gemm, rows: Shape, cols: Shape, dataflow: Dataflow
) -> npt.NDArray[np.float64]:
    """Share of PE-cycles doing a useful multiply-accumulate (0..1)."""
    pe_cycles = compute_cycles(gemm, rows, cols, dataflow) * np.asarray(rows) * np.asarray(cols)
    return np.asarray(gemm.macs / pe_cycles, dtype=np.float64)


def operand_elems(gemm: Gemm, operand: str) -> int:
    """Elements of one repeat's operand as streamed into the array (im2col for inputs)."""
    return {"ifmap": gemm.m * gemm.k, "filter": gemm.filter_elems, "ofmap": gemm.output_elems}[
        operand
    ]


def buffer_accesses(
    gemm: Gemm, rows: Shape, cols: Shape, dataflow: Dataflow
) -> dict[str, IntArray]:
    """SRAM reads of ``ifmap`` and ``filter`` and writes of ``ofmap`` (elements, all repeats).

    Equal to SCALE-Sim's ``get_ifmap_requests()``, ``get_filter_requests()`` and, for weight
    and input stationary, ``get_ofmap_requests()``; for output stationary SCALE-Sim also adds
    ``R + C`` per fold to its ofmap count, which we do not (each output is written once).
    """
    mp = mapping(gemm, dataflow)
    row_folds, col_folds = folds(gemm, rows, cols, dataflow)
    factor = {
        mp.stationary: np.ones_like(row_folds),
        mp.row_operand: col_folds,
        mp.column_operand: row_folds,
    }
    return {
        operand: np.asarray(gemm.repeats * operand_elems(gemm, operand) * factor[operand])
        for operand in ("ifmap", "filter", "ofmap")
    }
