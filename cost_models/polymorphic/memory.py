"""DRAM traffic, stall cycles and cross-layer reuse of GEMM layers on a logical accelerator.

A logical accelerator is an ``R x C`` systolic array with a share of the on-chip buffer
(``buffer_bytes``) and a share of the DRAM bandwidth (``dram_bytes_per_cycle``). The model is
ours (analytical; SCALE-Sim instead replays address traces through double-buffered SRAMs):

* **DRAM traffic per dataflow and buffer size.** Operand roles follow
  :func:`cost_models.polymorphic.systolic.mapping`. The stationary operand crosses the DRAM
  interface once. The column operand's slice for one column fold (``min(C, S_c) x T``
  elements) is kept on chip across the inner row-fold loop when it fits in the buffer; then
  the operand crosses once, otherwise once per row fold (an input is re-read; an output's
  partial sums are written every row fold and read back for all but the first:
  ``2 x row folds - 1`` passes). The row operand is re-streamed every column fold; it crosses
  once when all of it fits in what the column slice leaves free, otherwise once per column
  fold. Inputs cross as their distinct elements (``Gemm.input_elems``), not as the im2col
  matrix. Weights shared by all repeats (RNN time steps) that fit in the buffer are pinned:
  read once for the layer, and the buffer left for the other operands shrinks by their size.
* **Stall cycles.** Transfers overlap compute (double buffering, an assumption); a layer
  whose DRAM bytes need more cycles than it computes stalls for the difference:
  ``stall = max(0, dram_bytes / dram_bytes_per_cycle - compute_cycles)``.
* **Cross-layer reuse.** When a layer's whole output fits in the buffer and the next layer
  reads exactly that output (``Gemm.reads_previous``), the output is not written to DRAM and
  the next layer does not read its input from DRAM: one output pass and one input pass are
  saved.

Every function broadcasts over numpy arrays of ``rows``, ``cols``, ``buffer_bytes`` and
``dram_bytes_per_cycle``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from cost_models.polymorphic.gemm import DATAFLOWS, Dataflow, Gemm
from cost_models.polymorphic.systolic import Shape, compute_cycles, folds, mapping

FloatArray = npt.NDArray[np.float64]
Amount = float | FloatArray


def _dram_size(gemm: Gemm, operand: str) -> int:
    return {"ifmap": gemm.input_elems, "filter": gemm.filter_elems, "ofmap": gemm.output_elems}[
        operand
    ]


def dram_elems(
    gemm: Gemm,
    rows: Shape,
    cols: Shape,
    dataflow: Dataflow,
    buffer_elems: Amount,
    *,
    input_on_chip: bool | npt.NDArray[np.bool_] = False,
    output_stays: bool | npt.NDArray[np.bool_] = False,
) -> FloatArray:
    """Elements crossing the DRAM interface for all repeats of ``gemm`` (see module doc)."""
    mp = mapping(gemm, dataflow)
    row_folds, col_folds = folds(gemm, rows, cols, dataflow)
    buffer = np.asarray(buffer_elems, dtype=np.float64)
    pinned = gemm.shared_filter & (gemm.filter_elems <= buffer)
    capacity = np.where(pinned, buffer - gemm.filter_elems, buffer)
    slice_elems = np.minimum(np.asarray(cols), mp.s_cols) * mp.t
    column_fits = slice_elems <= capacity
    row_fits = _dram_size(gemm, mp.row_operand) + np.where(column_fits, slice_elems, 0) <= capacity
    column_passes = np.where(
        column_fits, 1, 2 * row_folds - 1 if mp.column_operand == "ofmap" else row_folds
    )
    passes = {
        mp.stationary: np.ones_like(buffer),
        mp.row_operand: np.where(row_fits, 1, col_folds),
        mp.column_operand: column_passes,
    }
    per_repeat = {operand: _dram_size(gemm, operand) * passes[operand] for operand in passes}
    total = gemm.repeats * (
        per_repeat["ifmap"]
        - np.where(input_on_chip, gemm.input_elems, 0)
        + per_repeat["ofmap"]
        - np.where(output_stays, gemm.output_elems, 0)
    )
    filter_total = np.where(pinned, gemm.filter_elems, gemm.repeats * per_repeat["filter"])
    return np.asarray(total + filter_total, dtype=np.float64)


@dataclass(frozen=True)
class LayerCost:
    """One layer on one logical accelerator, per dataflow (arrays broadcast like the inputs;
    each keeps only the axes it depends on, and the stalls, which depend on every axis,
    are computed when asked for, so a network's costs stay small on a large grid)."""

    compute_cycles: dict[Dataflow, FloatArray]
    dram_bytes: dict[Dataflow, FloatArray]
    dram_bytes_per_cycle: Amount

    def stall_cycles(self, dataflow: Dataflow) -> FloatArray:
        return stall_cycles(
            self.compute_cycles[dataflow], self.dram_bytes[dataflow], self.dram_bytes_per_cycle
        )

    def cycles(self, dataflow: Dataflow) -> FloatArray:
        return self.compute_cycles[dataflow] + self.stall_cycles(dataflow)


def stall_cycles(compute: Amount, dram_bytes: Amount, dram_bytes_per_cycle: Amount) -> FloatArray:
    """Cycles lost waiting for DRAM when transfers overlap compute."""
    transfer = np.asarray(dram_bytes, dtype=np.float64) / np.asarray(dram_bytes_per_cycle)
    return np.maximum(0.0, transfer - np.asarray(compute, dtype=np.float64))


def reuse_flags(
    layers: Sequence[Gemm], buffer_bytes: Amount, word_bytes: int
) -> list[npt.NDArray[np.bool_]]:
    """Per layer: does its output stay on chip for the next layer (cross-layer reuse)?"""
    buffer = np.asarray(buffer_bytes, dtype=np.float64)
    flags = []
    for index, layer in enumerate(layers):
        follows = index + 1 < len(layers) and layers[index + 1].reads_previous
        fits = layer.repeats * layer.output_elems * word_bytes <= buffer
        flags.append(np.asarray(fits & follows))
    return flags


def network_costs(
    layers: Sequence[Gemm],
    rows: Shape,
    cols: Shape,
    buffer_bytes: Amount,
    dram_bytes_per_cycle: Amount,
    word_bytes: int,
    *,
    cross_layer_reuse: bool,
    dataflows: Sequence[Dataflow] = DATAFLOWS,
) -> list[LayerCost]:
    """Every layer's cycles, DRAM bytes and stalls under each allowed dataflow."""
    buffer_elems = np.asarray(buffer_bytes, dtype=np.float64) / word_bytes
    stays = (
        reuse_flags(layers, buffer_bytes, word_bytes)
        if cross_layer_reuse
        else [np.asarray(False)] * len(layers)
    )
    costs = []
    for index, layer in enumerate(layers):
        on_chip = stays[index - 1] if index > 0 else np.asarray(False)
        compute: dict[Dataflow, FloatArray] = {}
        dram: dict[Dataflow, FloatArray] = {}
        for dataflow in dataflows:
            compute[dataflow] = compute_cycles(layer, rows, cols, dataflow).astype(np.float64)
            dram[dataflow] = word_bytes * dram_elems(
                layer,
                rows,
                cols,
                dataflow,
                buffer_elems,
                input_on_chip=on_chip,
                output_stays=stays[index],
            )
        costs.append(LayerCost(compute, dram, dram_bytes_per_cycle))
    return costs


@dataclass(frozen=True)
class NetworkRun:
    """One inference of a network with the best allowed dataflow per layer."""

    cycles: FloatArray
    compute_cycles: FloatArray
    stall_cycles: FloatArray
    dram_bytes: FloatArray
    dataflow_index: list[npt.NDArray[np.int8]]  # per layer, index into ``dataflows``


def best_dataflow_run(
    costs: Sequence[LayerCost], dataflows: Sequence[Dataflow] = DATAFLOWS
) -> NetworkRun:
    """Pick, per layer, the dataflow with fewest cycles (ties: fewer DRAM bytes, then order).

    Exact for the network: layers are independent given the accelerator because the reuse
    flags do not depend on the dataflows chosen.
    """
    total = compute_sum = stall_sum = dram_sum = np.asarray(0.0)
    choices = []
    for cost in costs:
        cycles = np.stack([cost.cycles(d) for d in dataflows])
        dram = np.stack([np.broadcast_to(cost.dram_bytes[d], cycles.shape[1:]) for d in dataflows])
        # lexicographic: cycles first, then DRAM bytes (both exact in float64 at these sizes)
        best_cycles = cycles.min(axis=0)
        dram_masked = np.where(cycles == best_cycles, dram, np.inf)
        choice = np.argmin(dram_masked, axis=0)
        pick = np.take_along_axis
        compute = np.stack(
            [np.broadcast_to(cost.compute_cycles[d], cycles.shape[1:]) for d in dataflows]
        )
        total = total + best_cycles
        compute_sum = compute_sum + pick(compute, choice[None], 0)[0]
        stall_sum = stall_sum + pick(cycles - compute, choice[None], 0)[0]
        dram_sum = dram_sum + pick(dram, choice[None], 0)[0]
        choices.append(np.asarray(choice, dtype=np.int8))  # 3 dataflows: small on big grids
    return NetworkRun(total, compute_sum, stall_sum, dram_sum, choices)
