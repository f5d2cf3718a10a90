"""Exact reductions of the candidate sets given the scenario's objective and floors.

Each reduction removes candidates that no optimal plan needs, so the MILP of :mod:`.milp`
keeps its optimum while choosing among far fewer accelerators (on ``mixed_cnn_mlp_rnn``
ResNet-50 goes from 3,619 candidates to a few dozen):

1. **Floors.** A candidate whose throughput is below the DNN's smallest floor over the
   phases in which it runs meets no floor (reconfiguration only lowers throughput).
2. **Resources.** A candidate of DNN ``j`` that, together with the smallest candidates
   (PE area, buffer steps, bandwidth steps, each separately) meeting the other DNNs'
   floors of a phase, overruns the array's PEs, buffer or bandwidth fits no packing of
   that phase; it is dropped when it fits no phase in which ``j`` runs.
3. **Capped dominance (max-min only).** ``UB`` is an upper bound on the objective: per
   phase, the largest ``t`` such that every DNN has a candidate with
   ``throughput / weight >= t`` (and its floor) and the smallest such candidates fit the
   PE area, buffer and bandwidth *resource by resource* (a relaxation of the packing),
   minimised over the phases. A candidate's value is then capped at
   ``c_j = max_p UB w_pj / (1 - rho_p)`` (``rho_p``: the reconfiguration share of phase
   ``p``, :meth:`.inputs.PolymorphicInputs.reconfiguration_share`): a capped term still
   has effective normalised throughput ``>= UB``, reconfigured or not, so every plan's
   minimum (which is ``<= UB``) is unchanged. Dominance is then applied to the capped
   values: among candidates with throughput above the cap only the resource-minimal ones
   stay.

Dominance (fewer or equal rows, columns, buffer and bandwidth steps, at least the
throughput) stays exact with phases: replacing a dominated candidate by its dominator in
*every* phase keeps each packing feasible (a smaller rectangle fits where a larger one
did), raises throughput, and changes no accelerator that did not change before, because
the reconfiguration charge of a changed accelerator (any change of shape, buffer or
bandwidth share) is a fixed number of cycles (:mod:`.milp`): a pair of phases that used the
dominated candidate in both now uses the dominator in both, and a pair that differed
before was charged already.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING

import numpy as np
import numpy.typing as npt

from formulations.polymorphic.inputs import Objective, Phase, PolymorphicInputs

if TYPE_CHECKING:  # view.prepare calls reduced(): types only, no import cycle at run time
    from formulations.polymorphic.view import Candidate, Grid

FloatArray = npt.NDArray[np.float64]


def _resources(candidates: Sequence[Candidate]) -> npt.NDArray[np.float64]:
    """``[k, (PE area, buffer steps, bandwidth steps)]``."""
    return np.array(
        [[c.rows * c.cols, c.buffer_steps, c.bandwidth_steps] for c in candidates], dtype=float
    ).reshape(-1, 3)


def _rates(candidates: Sequence[Candidate]) -> FloatArray:
    return np.array([c.throughput_inferences_per_s for c in candidates], dtype=float)


def _capacity(inputs: PolymorphicInputs) -> FloatArray:
    array = inputs.array
    return np.array(
        [array.rows * array.cols, array.buffer_share_steps, array.bandwidth_share_steps],
        dtype=float,
    )


def _least(resources: FloatArray, meets: npt.NDArray[np.bool_]) -> FloatArray:
    """Per resource, the least that a candidate in ``meets`` needs (inf when none)."""
    if not meets.any():
        return np.full(3, np.inf)
    return np.asarray(resources[meets].min(axis=0))


def _phase_bound(
    phase: Phase, pareto: Mapping[str, Sequence[Candidate]], capacity: FloatArray
) -> float:
    """The largest candidate value ``t`` (throughput / weight) at which the least
    resources of every DNN's candidates meeting ``t`` and its floor fit ``capacity``,
    resource by resource (bisection: fitting is monotone in ``t``); -inf when none."""
    resources = {d.name: _resources(pareto[d.name]) for d in phase.dnns}
    rates = {d.name: _rates(pareto[d.name]) for d in phase.dnns}
    floored = {d.name: rates[d.name] >= d.min_throughput_inferences_per_s for d in phase.dnns}
    values = np.unique(
        np.concatenate([rates[d.name][floored[d.name]] / d.weight for d in phase.dnns])
    )

    def fits(t: float) -> bool:
        need = sum(
            (
                _least(resources[d.name], floored[d.name] & (rates[d.name] / d.weight >= t))
                for d in phase.dnns
            ),
            np.zeros(3),
        )
        return bool(np.all(need <= capacity))

    low, high = 0, len(values)  # values[:low] fit, values[high:] do not
    while low < high:
        mid = (low + high) // 2
        if fits(float(values[mid])):
            low = mid + 1
        else:
            high = mid
    return float(values[low - 1]) if low else -np.inf


def upper_bound(inputs: PolymorphicInputs, pareto: Mapping[str, Sequence[Candidate]]) -> float:
    """``UB`` of the module docstring (max-min normalised throughput, inferences/s): the
    smallest phase bound; -inf when some phase's floors cannot all be met even resource by
    resource."""
    capacity = _capacity(inputs)
    return min(_phase_bound(phase, pareto, capacity) for phase in inputs.phase_list())


def _fits_some_phase(
    inputs: PolymorphicInputs, dnn: str, grid: Grid, pareto: Mapping[str, Sequence[Candidate]]
) -> npt.NDArray[np.bool_]:
    """Grid entries of ``dnn`` that fit beside the other DNNs' least resources in at least
    one phase in which ``dnn`` runs (reduction 2)."""
    capacity = _capacity(inputs)
    own = np.stack(
        [grid.rows * grid.cols, grid.buffer_steps, grid.bandwidth_steps], axis=-1
    ).astype(float)
    fits = np.zeros(grid.rate.shape, dtype=bool)
    for phase in inputs.phase_list():
        if all(d.name != dnn for d in phase.dnns):
            continue
        others = sum(
            (
                _least(
                    _resources(pareto[d.name]),
                    _rates(pareto[d.name]) >= d.min_throughput_inferences_per_s,
                )
                for d in phase.dnns
                if d.name != dnn
            ),
            np.zeros(3),
        )
        fits |= np.all(own + others <= capacity, axis=-1)
    return fits


def reduced(
    inputs: PolymorphicInputs,
    grids: Mapping[str, Grid],
    pareto: Mapping[str, Sequence[Candidate]],
) -> dict[str, list[Candidate]]:
    """Every DNN's candidates after the reductions of the module docstring."""
    phases = inputs.phase_list()
    bound = (
        upper_bound(inputs, pareto) if inputs.objective is Objective.MAX_MIN_NORMALISED else None
    )
    out = {}
    for dnn in inputs.dnns:
        grid = grids[dnn.name]
        present = [(p, d) for p in phases for d in p.dnns if d.name == dnn.name]
        floor = min(d.min_throughput_inferences_per_s for _, d in present)
        value = np.where(
            (grid.rate >= floor) & _fits_some_phase(inputs, dnn.name, grid, pareto),
            grid.rate,
            -np.inf,
        )
        if bound is not None and np.isfinite(bound):
            cap = max(bound * d.weight / (1 - inputs.reconfiguration_share(p)) for p, d in present)
            value = np.minimum(value, cap)
        out[dnn.name] = grid.select(value)
    return out
