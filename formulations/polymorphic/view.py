"""The cost-model view: every DNN's logical-accelerator candidates, per planner.

A candidate is a logical accelerator for one DNN: ``rows x cols`` PEs (multiples of the
tile), ``buffer_steps / buffer_share_steps`` of the buffer and
``bandwidth_steps / bandwidth_share_steps`` of the DRAM bandwidth; its throughput is
``batch x clock / cycles`` with the cycles of :mod:`cost_models.polymorphic.memory` (best
dataflow per layer, or for a fixed-dataflow design the best single dataflow for the whole
network). Candidates that another candidate of the same DNN dominates (no more rows,
columns, buffer or bandwidth, and at least the throughput) are dropped: in the strip
packing of :mod:`.milp` a smaller accelerator fits wherever a larger one does, so the
dropped ones are never needed for an optimum (with phases too: :mod:`.bounds`). The view
keeps these (``pareto``, whatever the objective) and the set :mod:`.bounds` reduces for the
scenario's objective and floors (``candidates``, what the MILP chooses from).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace

import numpy as np
import numpy.typing as npt

from cost_models.polymorphic.gemm import DATAFLOWS, Dataflow, Gemm
from cost_models.polymorphic.memory import best_dataflow_run, network_costs
from cost_models.polymorphic.networks import network
from cost_models.units import BYTES_PER_GB, BYTES_PER_MIB, HZ_PER_MHZ
from formulations.polymorphic.bounds import reduced
from formulations.polymorphic.inputs import ArraySpec, Phase, PolymorphicInputs


@dataclass(frozen=True)
class Design:
    """What a planner may choose: shapes on a grid, dataflows, reuse (ours and baselines)."""

    name: str
    shape_step: int  # PEs; shapes are multiples of this
    dataflows: tuple[Dataflow, ...]
    per_layer_dataflow: bool  # False: one dataflow for the whole network
    cross_layer_reuse: bool
    buffer_follows_area: bool  # True: the buffer share is the PE-area share (rounded up)


@dataclass(frozen=True)
class Candidate:
    rows: int
    cols: int
    buffer_steps: int
    bandwidth_steps: int
    cycles: float  # per pass of ``batch`` inferences
    dram_bytes: float  # per pass
    throughput_inferences_per_s: float


@dataclass(frozen=True)
class Run:
    """One pass of a DNN on one logical accelerator, recomputed from the cost model."""

    cycles: float
    compute_cycles: float
    stall_cycles: float
    dram_bytes: float
    dataflows: tuple[Dataflow, ...]  # per layer


def buffer_bytes(array: ArraySpec, steps: int | npt.NDArray[np.int64]) -> npt.NDArray[np.float64]:
    return np.asarray(
        array.buffer_mib * BYTES_PER_MIB * np.asarray(steps) / array.buffer_share_steps
    )


def bytes_per_cycle(
    array: ArraySpec, steps: int | npt.NDArray[np.int64]
) -> npt.NDArray[np.float64]:
    share = np.asarray(steps) / array.bandwidth_share_steps
    return np.asarray(array.dram_gb_per_s * BYTES_PER_GB * share / (array.clock_mhz * HZ_PER_MHZ))


def run(
    layers: Sequence[Gemm],
    array: ArraySpec,
    design: Design,
    rows: int | npt.NDArray[np.int64],
    cols: int | npt.NDArray[np.int64],
    buffer_steps: int | npt.NDArray[np.int64],
    bandwidth_steps: int | npt.NDArray[np.int64],
) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64], list[npt.NDArray[np.int8]]]:
    """(cycles, dram bytes, per layer the index into ``design.dataflows``) per pass."""
    costs = network_costs(
        layers,
        rows,
        cols,
        buffer_bytes(array, buffer_steps),
        bytes_per_cycle(array, bandwidth_steps),
        array.word_bytes,
        cross_layer_reuse=design.cross_layer_reuse,
        dataflows=design.dataflows,
    )
    if design.per_layer_dataflow:
        best = best_dataflow_run(costs, design.dataflows)
        return best.cycles, best.dram_bytes, best.dataflow_index
    runs = [best_dataflow_run(costs, (d,)) for d in design.dataflows]
    cycles = np.stack([np.broadcast_to(r.cycles, np.shape(runs[0].cycles)) for r in runs])
    pick = np.argmin(cycles, axis=0)
    dram = np.stack([np.broadcast_to(r.dram_bytes, pick.shape) for r in runs])
    index = [pick.astype(np.int8)] * len(layers)  # one dataflow for every layer
    chosen = np.take_along_axis(cycles, pick[None], 0)[0]
    return chosen, np.take_along_axis(dram, pick[None], 0)[0], index


def single_run(
    layers: Sequence[Gemm], array: ArraySpec, design: Design, candidate: Candidate
) -> Run:
    """The chosen candidate's pass, with its per-layer dataflows and stall breakdown."""
    cycles, dram, index = run(
        layers,
        array,
        design,
        candidate.rows,
        candidate.cols,
        candidate.buffer_steps,
        candidate.bandwidth_steps,
    )
    dataflows = tuple(design.dataflows[int(i)] for i in index)
    costs = network_costs(
        layers,
        candidate.rows,
        candidate.cols,
        buffer_bytes(array, candidate.buffer_steps),
        bytes_per_cycle(array, candidate.bandwidth_steps),
        array.word_bytes,
        cross_layer_reuse=design.cross_layer_reuse,
        dataflows=DATAFLOWS,
    )
    compute = sum(float(c.compute_cycles[d]) for c, d in zip(costs, dataflows, strict=True))
    return Run(float(cycles), compute, float(cycles) - compute, float(dram), dataflows)


def throughput(
    array: ArraySpec, batch: int, cycles: float | npt.NDArray[np.float64]
) -> npt.NDArray[np.float64]:
    return np.asarray(batch * array.clock_mhz * HZ_PER_MHZ / np.asarray(cycles))


def _non_dominated(values: npt.NDArray[np.float64]) -> npt.NDArray[np.bool_]:
    """Entries strictly better than every entry with no more of any resource (all axes
    ordered by increasing resource)."""
    best = values.copy()
    for axis in range(values.ndim):
        best = np.maximum.accumulate(best, axis=axis)
    below = np.full(values.shape, -np.inf)
    for axis in range(values.ndim):
        shifted = np.full(values.shape, -np.inf)
        index = [slice(None)] * values.ndim
        source = [slice(None)] * values.ndim
        index[axis], source[axis] = slice(1, None), slice(None, -1)
        shifted[tuple(index)] = best[tuple(source)]
        below = np.maximum(below, shifted)
    return np.asarray(values > below)


@dataclass(frozen=True)
class Grid:
    """Every (rows, cols, buffer steps, bandwidth steps) of one DNN on a design's grid,
    with its cycles, DRAM bytes and throughput per pass (arrays of one shape)."""

    rows: npt.NDArray[np.int64]
    cols: npt.NDArray[np.int64]
    buffer_steps: npt.NDArray[np.int64]
    bandwidth_steps: npt.NDArray[np.int64]
    cycles: npt.NDArray[np.float64]
    dram_bytes: npt.NDArray[np.float64]
    rate: npt.NDArray[np.float64]  # inferences/s

    def select(self, value: npt.NDArray[np.float64]) -> list[Candidate]:
        """The entries that ``value`` (the rate, capped or masked to -inf) keeps
        non-dominated."""
        keep = _non_dominated(value) & np.isfinite(value)
        return [
            Candidate(int(rr), int(cc), int(bb), int(ww), float(cy), float(dr), float(th))
            for rr, cc, bb, ww, cy, dr, th in zip(
                self.rows[keep],
                self.cols[keep],
                self.buffer_steps[keep],
                self.bandwidth_steps[keep],
                self.cycles[keep],
                self.dram_bytes[keep],
                self.rate[keep],
                strict=True,
            )
        ]


def grid(layers: Sequence[Gemm], array: ArraySpec, design: Design, batch: int) -> Grid:
    """The cost model on every shape and share. The axes are passed as open (broadcast)
    arrays, so cycles that depend on the shape alone are computed once per shape, not
    once per shape and share."""
    rows = np.arange(design.shape_step, array.rows + 1, design.shape_step)
    cols = np.arange(design.shape_step, array.cols + 1, design.shape_step)
    bandwidth = np.arange(1, array.bandwidth_share_steps + 1)
    if design.buffer_follows_area:
        r, c, w = rows[:, None, None], cols[None, :, None], bandwidth[None, None, :]
        b = -(-(r * c * array.buffer_share_steps) // (array.rows * array.cols))
    else:
        buffer = np.arange(1, array.buffer_share_steps + 1)
        r, c = rows[:, None, None, None], cols[None, :, None, None]
        b, w = buffer[None, None, :, None], bandwidth[None, None, None, :]
    cycles, dram, _ = run(layers, array, design, r, c, b, w)
    full = np.broadcast_arrays(r, c, b, w, cycles, dram)
    r, c, b, w = (np.ascontiguousarray(a) for a in full[:4])
    cycles, dram = (np.ascontiguousarray(a, dtype=np.float64) for a in full[4:])
    return Grid(r, c, b, w, cycles, dram, throughput(array, batch, cycles))


POLYMORPHIC = "polymorphic"
MULTI_CLP = "multi_clp_static_partition"
PLANARIA = "planaria_pod_fission"
MONOLITHIC = "monolithic_flexible_dataflow"


def designs(inputs: PolymorphicInputs) -> dict[str, Design]:
    """The plan's rules and each baseline's (see :mod:`.baselines` for the sources)."""
    array, reuse = inputs.array, inputs.cross_layer_reuse
    return {
        POLYMORPHIC: Design(POLYMORPHIC, array.tile, DATAFLOWS, True, reuse, False),
        MULTI_CLP: Design(MULTI_CLP, array.tile, DATAFLOWS, False, False, False),
        PLANARIA: Design(PLANARIA, inputs.pod, (Dataflow.WEIGHT_STATIONARY,), True, reuse, True),
        MONOLITHIC: Design(MONOLITHIC, array.rows, DATAFLOWS, True, reuse, False),
    }


@dataclass(frozen=True)
class PolymorphicView:
    inputs: PolymorphicInputs
    layers: dict[str, tuple[Gemm, ...]]  # DNN name -> GEMM layers (its batch applied)
    designs: dict[str, Design]
    grids: dict[str, dict[str, Grid]]  # design -> DNN -> every shape and share
    # design -> DNN -> non-dominated candidates, whatever the objective and floors
    pareto: dict[str, dict[str, list[Candidate]]]
    # design -> DNN -> the candidates the MILP chooses from (:mod:`.bounds`' reductions)
    candidates: dict[str, dict[str, list[Candidate]]]
    phases: list[Phase]


def prepare(inputs: PolymorphicInputs) -> PolymorphicView:
    layers = {d.name: network(d.network, d.batch) for d in inputs.dnns}
    rules = designs(inputs)
    grids, pareto, candidates = {}, {}, {}
    for name, design in rules.items():
        if name == MONOLITHIC:
            continue
        grids[name] = {
            d.name: grid(layers[d.name], inputs.array, design, d.batch) for d in inputs.dnns
        }
        pareto[name] = {n: g.select(g.rate) for n, g in grids[name].items()}
        candidates[name] = reduced(inputs, grids[name], pareto[name])
    return PolymorphicView(inputs, layers, rules, grids, pareto, candidates, inputs.phase_list())


def for_mix(view: PolymorphicView, inputs: PolymorphicInputs, design: str) -> PolymorphicView:
    """``view`` with another mix of the same DNNs on the same array (``design``'s
    candidates reduced for it; the grids are reused)."""
    return replace(
        view,
        inputs=inputs,
        candidates={design: reduced(inputs, view.grids[design], view.pareto[design])},
        phases=inputs.phase_list(),
    )
