"""The ``polymorphic`` MILP: logical accelerators packed in strips of the PE array.

The physical array of ``R x C`` PEs (``R_t = R / tile`` by ``C_t = C / tile`` tiles) is cut
into strips by parallel guillotine cuts, and each strip is cut the other way into logical
accelerators, one per DNN, each no wider than its strip (a two-stage guillotine packing).
The model below is written for **column strips** (vertical cuts first, then horizontal
cuts inside each strip); **row strips** are the same model with rows and columns swapped
(``orientation``), and :func:`formulations.polymorphic.formulation.solve_design` solves
both and keeps the better. Every DNN gets one logical accelerator, a buffer share and a
DRAM bandwidth share, and per layer a dataflow; the per-layer dataflows are chosen inside
each candidate (:mod:`.view`) because, given the accelerator, layers do not interact (the
cross-layer reuse rule depends only on the buffer share), so the best dataflow per layer is
exact.

How general the packing is: two disjoint rectangles are always separated by one vertical or
one horizontal line, and for three rectangles the first guillotine cut leaves one rectangle
on one side and two on the other, separated by a second cut; so with both orientations
every placement of up to three accelerators is covered (``tests/polymorphic`` checks this
against every placement on a 4 x 4 tile grid). From four accelerators on, packings that
need three stages of cuts (or a pinwheel, which no guillotine cut separates) are outside
the model.

Sets
----
* ``J``: the concurrent DNNs (``j``); ``S = {1 .. |J|}``: strips (``s``), at most one per
  DNN;
* ``K_j``: the non-dominated candidates of DNN ``j`` (``k``; see :mod:`.view`).

Parameters
----------
* ``r_k``, ``c_k``: rows and columns of candidate ``k``, in tiles;
* ``b_k``: its buffer share, in buffer steps (``1 / buffer_share_steps`` of the buffer);
  ``B``: buffer steps available;
* ``w_k``: its DRAM bandwidth share, in bandwidth steps; ``W``: bandwidth steps available;
* ``theta_k``: its throughput, inferences/s (cost model: batch x clock / cycles per pass);
* ``omega_j``: DNN ``j``'s weight (dimensionless); ``tau_j``: its minimum throughput,
  inferences/s (0 when none).

Variables
---------
* ``x[j,k]`` binary: DNN ``j`` runs on candidate ``k``;
* ``y[j,s]`` binary: DNN ``j``'s accelerator sits in strip ``s``; only ``s <= j`` exists
  (symmetry breaking: number each strip by its lowest-numbered DNN; distinct strips then
  have distinct numbers, so every packing has a representative);
* ``width[s]`` integer in ``0 .. C_t``: strip width, tiles;
* ``height[j,s]`` integer in ``0 .. R_t``: rows DNN ``j`` occupies in strip ``s``, tiles
  (integer so that the max-weighted model is pure integer, for CP-SAT; every optimum has
  integer heights ``r_j y[j,s]`` anyway);
* ``t >= 0`` (max-min objective only): the minimum normalised throughput, inferences/s.

Constraints
-----------
* ``one_candidate[j]``: ``sum_k x[j,k] = 1``;
* ``one_strip[j]``: ``sum_s y[j,s] = 1``;
* ``fits_strip[j,s]``: ``sum_k c_k x[j,k] - width[s] <= C_t (1 - y[j,s])``: an accelerator
  is no wider than its strip. Big-M ``C_t`` is valid: the left side is at most ``C_t``
  since ``c_k <= C_t`` and ``width[s] >= 0``;
* ``strip_widths``: ``sum_s width[s] <= C_t``;
* ``height_link[j,s]``: ``height[j,s] >= sum_k r_k x[j,k] - R_t (1 - y[j,s])``, the
  linearisation of ``height[j,s] = r_j y[j,s]`` from below (enough, since heights only
  appear in ``strip_height``'s ``<=``). Big-M ``R_t`` is valid: ``r_k <= R_t``, so with
  ``y = 0`` the right side is at most 0;
* ``strip_height[s]``: ``sum_j height[j,s] <= R_t``;
* ``pe_area``: ``sum_j sum_k r_k c_k x[j,k] <= R_t C_t`` (implied by the packing; it
  tightens the relaxation);
* ``buffer``: ``sum_j sum_k b_k x[j,k] <= B``;
* ``bandwidth``: ``sum_j sum_k w_k x[j,k] <= W``;
* ``min_throughput[j]`` (when ``tau_j > 0``): ``sum_k theta_k x[j,k] >= tau_j``;
* ``normalised[j]`` (max-min only): ``t <= sum_k (theta_k / omega_j) x[j,k]``;
* ``improves`` (the second orientation only, when the first has a plan): the objective
  ``>= z_1 + max(OBJECTIVE_RTOL |z_1|, OBJECTIVE_ATOL)``, with ``z_1`` the first
  orientation's objective; infeasible then proves that no packing of the second
  orientation beats ``z_1`` by more than that tolerance (it prunes the search, about
  halving the second solve on ``mixed_cnn_mlp_rnn``).

Objective
---------
``max_min_normalised``: maximise ``t`` = min over DNNs of throughput / weight
(inferences/s). ``max_weighted``: maximise ``sum_j omega_j sum_k theta_k x[j,k]``
(inferences/s).

Placement read off a solution: strips left to right in order of ``s``, each at column
offset = sum of earlier strip widths; inside a strip, accelerators top to bottom in DNN
order, each at row offset = sum of earlier heights (for row strips: strips top to bottom,
accelerators left to right).
"""

from __future__ import annotations

import enum
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from formulations.model import LinExpr, Model, VarBlock, lin_sum
from formulations.polymorphic.inputs import ArraySpec, DnnSpec, Objective
from formulations.polymorphic.view import Candidate
from formulations.types import Sense


class Orientation(enum.StrEnum):
    """Which way the first guillotine cuts run (module docstring)."""

    COLUMN_STRIPS = "column_strips"  # vertical cuts first: strips side by side
    ROW_STRIPS = "row_strips"  # horizontal cuts first: strips one above the other


ORIENTATIONS = tuple(Orientation)


@dataclass
class PackingModel:
    model: Model
    orientation: Orientation
    x: dict[str, VarBlock]  # DNN name -> block over candidate index
    y: VarBlock  # (j, s)
    width: VarBlock  # s: the strip's extent across the strips, tiles
    objective: LinExpr


def build(
    array: ArraySpec,
    dnns: Sequence[DnnSpec],
    candidates: Mapping[str, Sequence[Candidate]],
    objective: Objective,
    shape_step: int,
    orientation: Orientation = Orientation.COLUMN_STRIPS,
    better_than: float | None = None,
) -> PackingModel:
    """The model of the module docstring; shapes in units of ``shape_step`` PEs. For row
    strips, "width" runs along the array's rows and "height" along its columns."""
    rows_t, cols_t = array.rows // shape_step, array.cols // shape_step
    column_strips = orientation is Orientation.COLUMN_STRIPS
    # across: the extent strips divide among themselves; along: the extent each strip stacks
    across_t, along_t = (cols_t, rows_t) if column_strips else (rows_t, cols_t)
    model = Model(f"polymorphic_{orientation.value}", Sense.MAXIMIZE)
    x: dict[str, VarBlock] = {}
    for j, dnn in enumerate(dnns):
        x[dnn.name] = model.add_variables(
            f"x_{j}", len(candidates[dnn.name]), upper=1.0, integer=True
        )
    pairs = [(j, s) for j in range(len(dnns)) for s in range(j + 1)]
    strips = range(len(dnns))
    y = model.add_variables("y", pairs, upper=1.0, integer=True)
    width = model.add_variables("width", list(strips), upper=across_t, integer=True)
    height = model.add_variables("height", pairs, upper=along_t, integer=True)

    def chosen(dnn: DnnSpec, value: list[float]) -> LinExpr:
        return lin_sum(v * x[dnn.name][k] for k, v in enumerate(value))

    across_of, along_of = {}, {}
    for j, dnn in enumerate(dnns):
        kept = candidates[dnn.name]
        model.add_constraint(
            "one_candidate", lin_sum(x[dnn.name][k] for k in range(len(kept))) == 1, label=dnn.name
        )
        model.add_constraint(
            "one_strip", lin_sum(y[j, s] for s in range(j + 1)) == 1, label=dnn.name
        )
        rows_of = [c.rows / shape_step for c in kept]
        cols_of = [c.cols / shape_step for c in kept]
        across_of[j] = chosen(dnn, cols_of if column_strips else rows_of)
        along_of[j] = chosen(dnn, rows_of if column_strips else cols_of)
    for j, s in pairs:
        model.add_constraint(
            "fits_strip", across_of[j] - width[s] + across_t * y[j, s] <= across_t, label=(j, s)
        )
        model.add_constraint(
            "height_link",
            height[j, s] - along_of[j] - along_t * y[j, s] >= -along_t,
            label=(j, s),
        )
    model.add_constraint("strip_widths", lin_sum(width[s] for s in strips) <= across_t)
    for s in strips:
        model.add_constraint(
            "strip_height", lin_sum(height[j, s] for j in range(s, len(dnns))) <= along_t, label=s
        )
    model.add_constraint(
        "pe_area",
        lin_sum(
            chosen(dnn, [c.rows * c.cols / shape_step**2 for c in candidates[dnn.name]])
            for dnn in dnns
        )
        <= rows_t * cols_t,
    )
    model.add_constraint(
        "buffer",
        lin_sum(chosen(d, [float(c.buffer_steps) for c in candidates[d.name]]) for d in dnns)
        <= array.buffer_share_steps,
    )
    model.add_constraint(
        "bandwidth",
        lin_sum(chosen(d, [float(c.bandwidth_steps) for c in candidates[d.name]]) for d in dnns)
        <= array.bandwidth_share_steps,
    )
    rate = {
        d.name: chosen(d, [c.throughput_inferences_per_s for c in candidates[d.name]]) for d in dnns
    }
    for dnn in dnns:
        if dnn.min_throughput_inferences_per_s > 0:
            model.add_constraint(
                "min_throughput",
                rate[dnn.name] >= dnn.min_throughput_inferences_per_s,
                label=dnn.name,
            )
    if objective is Objective.MAX_MIN_NORMALISED:
        t = model.add_variable("t")
        for dnn in dnns:
            model.add_constraint("normalised", t - rate[dnn.name] / dnn.weight <= 0, label=dnn.name)
        goal = t
    else:
        goal = lin_sum(rate[d.name] * d.weight for d in dnns)
    model.set_objective(goal)
    if better_than is not None:
        model.add_constraint("improves", goal >= better_than)
    return PackingModel(model, orientation, x, y, width, goal)
