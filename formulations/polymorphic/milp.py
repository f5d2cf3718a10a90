"""The ``polymorphic`` MILP: logical accelerators packed in strips of the PE array, per phase.

In every phase the physical array of ``R x C`` PEs (``R_t = R / tile`` by ``C_t = C / tile``
tiles) is cut into strips by parallel guillotine cuts, and each strip is cut the other way
into logical accelerators, one per DNN of the phase, each no wider than its strip (a
two-stage guillotine packing). A binary per phase chooses the orientation: **column
strips** (vertical cuts first, then horizontal cuts inside each strip) or **row strips**
(the same with rows and columns swapped). Every DNN gets one logical accelerator, a buffer
share and a DRAM bandwidth share, and per layer a dataflow; the per-layer dataflows are
chosen inside each candidate (:mod:`.view`) because, given the accelerator, layers do not
interact (the cross-layer reuse rule depends only on the buffer share), so the best
dataflow per layer is exact and the MILP chooses shapes and shares only.

How general the packing is: two disjoint rectangles are always separated by one vertical or
one horizontal line, and for three rectangles the first guillotine cut leaves one rectangle
on one side and two on the other, separated by a second cut; so with both orientations
every placement of up to three accelerators is covered (``tests/polymorphic`` checks this
against every placement on a 4 x 4 tile grid). From four accelerators on, packings that
need three stages of cuts (or a pinwheel, which no guillotine cut separates) are outside
the model.

Sets
----
* ``P``: phases (``p``; one phase of every DNN when the scenario has none); ``J_p``: the
  DNNs running in phase ``p`` (``j``, numbered ``0 .. |J_p| - 1``); ``S_p = {0 .. |J_p| - 1}``:
  strips (``s``), at most one per DNN; ``O = {col, row}``: orientations (``q``);
* ``K_pj``: DNN ``j``'s candidates in phase ``p`` (``k``): those left by :mod:`.bounds`'
  exact reductions, restricted when the solve asks for an objective of at least ``z_0``
  (row ``at_least``) to those with ``theta_k / omega_pj >= z_0`` under max-min (any
  other one caps the objective below ``z_0``);
* ``B_p``: the pairs ``(j, p)`` where ``j`` ran before (``prev(j, p)``: the last earlier
  phase with ``j``, wrapping round when the phases are cyclic).

Parameters
----------
* ``r_k``, ``c_k``: rows and columns of candidate ``k``, in tiles;
* ``b_k``: its buffer share, in buffer steps; ``B``: buffer steps available;
* ``w_k``: its DRAM bandwidth share, in bandwidth steps; ``W``: bandwidth steps available;
* ``theta_k``: its throughput, inferences/s (cost model: batch x clock / cycles per pass);
  ``Theta_pj = max_k theta_k``;
* ``omega_pj``: DNN ``j``'s weight in phase ``p`` (dimensionless); ``tau_pj``: its minimum
  throughput there, inferences/s (0 when none);
* ``d_p``: phase duration, s; ``D = sum_p d_p``;
* ``rho_p = T_re / (f d_p)``: the share of phase ``p`` that a reconfigured accelerator
  loses, with ``T_re`` the scenario's ``reconfiguration_cycles`` and ``f`` the clock (Hz);
  ``< 1`` by validation.

Variables
---------
* ``x[p,j,k]`` binary: DNN ``j`` runs on candidate ``k`` of ``K_pj`` in phase ``p``;
* ``o[p]`` binary: phase ``p`` uses column strips (1) or row strips (0);
* ``y[p,q,j,s]`` binary: DNN ``j``'s accelerator sits in strip ``s`` of orientation ``q``;
  only ``s <= j`` exists (symmetry breaking: number each strip by its lowest-numbered
  DNN; distinct strips then have distinct numbers, so every packing has a representative);
* ``width[p,q,s]`` integer in ``0 .. A_q`` (``A_col = C_t``, ``A_row = R_t``): the strip's
  extent across the strips, tiles;
* ``height[p,q,j,s]`` integer in ``0 .. L_q`` (``L_col = R_t``, ``L_row = C_t``): the extent
  DNN ``j`` occupies along strip ``s``, tiles (integer so that the unphased max-weighted
  model is pure integer, for CP-SAT; every optimum has integer heights anyway);
* ``z[p,j]`` binary, ``(j, p)`` in ``B_p``: DNN ``j``'s accelerator changed (shape, buffer
  share or bandwidth share) since ``prev(j, p)``;
* ``u[p,j] >= 0``, ``(j, p)`` in ``B_p``, inferences/s: ``theta_pj z[p,j]`` (the throughput
  a reconfiguration interrupts);
* ``t >= 0`` (max-min objective only): the minimum normalised throughput, inferences/s.

Write ``theta_pj = sum_k theta_k x[p,j,k]`` and likewise ``r_pj``, ``c_pj``, ``b_pj``;
``across_pjq`` is ``c_pj`` for column strips and ``r_pj`` for row strips, ``along_pjq`` the
other. The effective throughput is ``eff_pj = theta_pj - rho_p u[p,j]`` (``theta_pj`` when
``(j, p)`` is not in ``B_p``).

Constraints
-----------
* ``one_candidate[p,j]``: ``sum_k x[p,j,k] = 1``;
* ``one_strip[p,q,j]``: ``sum_s y[p,col,j,s] = o[p]`` and ``sum_s y[p,row,j,s] = 1 - o[p]``:
  every DNN of a phase sits in exactly one strip of the phase's orientation;
* ``fits_strip[p,q,j,s]``: ``across_pjq - width[p,q,s] <= A_q (1 - y[p,q,j,s])``: an
  accelerator is no wider than its strip. Big-M ``A_q`` is valid: the left side is at most
  ``A_q`` since ``across <= A_q`` and ``width >= 0``;
* ``strip_widths[p,q]``: ``sum_s width[p,q,s] <= A_q``;
* ``column_only[p]`` (``o[p] = 1`` when ``|J_p| <= 2``): one or two rectangles are always
  side by side in two column strips or stacked in one (symmetry breaking between the
  orientations; breaking the other symmetry, every DNN in its own row strip being all of
  them in one column strip, made ``tight_throughput_targets`` 1.8x slower, so it is left);
* ``height_link[p,q,j,s]``: ``height[p,q,j,s] >= along_pjq - L_q (1 - y[p,q,j,s])``, the
  linearisation of ``height = along y`` from below (enough, since heights only appear in
  ``strip_height``'s ``<=``). Big-M ``L_q`` is valid: ``along <= L_q``, so with ``y = 0``
  the right side is at most 0;
* ``strip_height[p,q,s]``: ``sum_j height[p,q,j,s] <= L_q``;
* ``pe_area[p]``: ``sum_j sum_k r_k c_k x[p,j,k] <= R_t C_t`` (implied by the packing; it
  tightens the relaxation);
* ``buffer[p]``: ``sum_j b_pj <= B``; ``bandwidth[p]``: ``sum_j w_pj <= W``;
* ``changed[p,j,a,+-]`` for ``(j, p)`` in ``B_p`` and ``a`` in (rows, cols, buffer,
  bandwidth): ``+-(a_pj - a_prev(j,p),j) <= M_a z[p,j]``, the linearisation of "the
  accelerator changed" (``z = 1`` whenever the two differ; the objective never gains from
  ``z = 1`` otherwise). Big-M from the array: ``M_rows = R_t``, ``M_cols = C_t``,
  ``M_buffer = B``, ``M_bandwidth = W``, since ``1 <= a <= M_a`` makes ``|a - a'| < M_a``;
  with integer ``a`` any change is ``>= 1``, so the constraint forces ``z >= 1 / M_a``,
  hence ``z = 1``;
* ``interrupted[p,j]`` for ``(j, p)`` in ``B_p``: ``u[p,j] >= theta_pj - Theta_pj (1 - z[p,j])``,
  the linearisation of ``u = theta_pj z`` from below (``u`` only lowers the objective, so
  it sits on its lower bound: ``theta_pj`` when ``z = 1``, 0 when ``z = 0``). Big-M
  ``Theta_pj`` is valid since ``theta_pj <= Theta_pj``;
* ``at_least`` (when asked): the objective ``>= z_0``;
* ``min_throughput[p,j]`` (when ``tau_pj > 0``): ``eff_pj >= tau_pj``;
* ``normalised[p,j]`` (max-min only): ``t <= eff_pj / omega_pj``;

Reconfiguration model
---------------------
Assumption (no published figure: the paper's full text was not available): a logical
accelerator whose shape, buffer share or bandwidth share differs from the one its DNN had
the last time it ran is idle for ``T_re`` cycles on entering the phase (the array's
interconnect and buffer partition are re-written and its buffer share refilled from DRAM;
the shipped scenario takes ``T_re`` as the time to refill the whole buffer at the full DRAM
bandwidth), so it loses the share ``rho_p`` of the phase's throughput. A DNN's first
appearance in a non-cyclic sequence is not charged (every planner pays it alike), nor is a
DNN that runs in one phase only. The bandwidth share counts as part of the configuration
(the buffer banks' DRAM channels are re-assigned); this also keeps :mod:`.bounds`'
dominance exact, since a fixed charge per change makes any candidate replaced by a
dominating one in every phase change no more often. A rectangle that only moves, keeping
shape and shares, is not charged (its configuration is kept; the packing per phase places
it anew), which slightly favours re-partitioning.

Objective
---------
``max_min_normalised``: maximise ``t`` = min over phases and their DNNs of effective
throughput / weight (inferences/s). ``max_weighted``: maximise the time-averaged
``sum_p (d_p / D) sum_j omega_pj eff_pj`` (inferences/s). With one phase these are the
unphased objectives (``d_p = D``, no reconfiguration).

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
from formulations.polymorphic.inputs import ArraySpec, Objective, Phase
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
    x: dict[tuple[int, str], VarBlock]  # (phase, DNN name) -> block over candidate index
    column_strips: VarBlock  # o[p]
    y: dict[Orientation, VarBlock]  # (p, j, s)
    width: dict[Orientation, VarBlock]  # (p, s): the strip's extent across the strips, tiles
    objective: LinExpr


def build(
    array: ArraySpec,
    phases: Sequence[Phase],
    candidates: Sequence[Mapping[str, Sequence[Candidate]]],
    objective: Objective,
    shape_step: int,
    reconfiguration_share: Sequence[float],
    at_least: float | None = None,
) -> PackingModel:
    """The model of the module docstring; ``candidates[p]``: each DNN's candidates in
    phase ``p`` (``K_pj``); shapes in units of ``shape_step`` PEs;
    ``reconfiguration_share[p]`` is ``rho_p``; ``at_least``: the ``at_least`` row."""
    rows_t, cols_t = array.rows // shape_step, array.cols // shape_step
    # across: the extent strips divide among themselves; along: the extent each strip stacks
    extent = {
        Orientation.COLUMN_STRIPS: (cols_t, rows_t),
        Orientation.ROW_STRIPS: (rows_t, cols_t),
    }
    model = Model("polymorphic", Sense.MAXIMIZE)
    x = {
        (p, dnn.name): model.add_variables(
            f"x_{p}_{j}", len(candidates[p][dnn.name]), upper=1.0, integer=True
        )
        for p, phase in enumerate(phases)
        for j, dnn in enumerate(phase.dnns)
    }

    for (p, name), block in x.items():
        model.add_constraint(
            "one_candidate", lin_sum(block[k] for k in range(len(block))) == 1, label=(p, name)
        )

    def chosen(p: int, name: str, value: Sequence[float]) -> LinExpr:
        block = x[p, name]
        return lin_sum(v * block[k] for k, v in enumerate(value))

    def attribute(p: int, name: str, what: str) -> LinExpr:
        kept = candidates[p][name]
        value = {
            "rows": [c.rows / shape_step for c in kept],
            "cols": [c.cols / shape_step for c in kept],
            "buffer": [float(c.buffer_steps) for c in kept],
            "bandwidth": [float(c.bandwidth_steps) for c in kept],
            "area": [c.rows * c.cols / shape_step**2 for c in kept],
            "rate": [c.throughput_inferences_per_s for c in kept],
        }[what]
        return chosen(p, name, value)

    labels = [
        (p, j, s)
        for p, phase in enumerate(phases)
        for j in range(len(phase.dnns))
        for s in range(j + 1)
    ]
    strips = [(p, s) for p, phase in enumerate(phases) for s in range(len(phase.dnns))]
    o = model.add_variables("o", list(range(len(phases))), upper=1.0, integer=True)
    for p, phase in enumerate(phases):
        if len(phase.dnns) <= 2:
            model.add_constraint("column_only", o[p] == 1, label=p)
    y: dict[Orientation, VarBlock] = {}
    width: dict[Orientation, VarBlock] = {}
    for q in ORIENTATIONS:
        across_t, along_t = extent[q]
        y[q] = model.add_variables(f"y_{q.value}", labels, upper=1.0, integer=True)
        width[q] = model.add_variables(f"width_{q.value}", strips, upper=across_t, integer=True)
        height = model.add_variables(f"height_{q.value}", labels, upper=along_t, integer=True)
        across_what, along_what = (
            ("cols", "rows") if q is Orientation.COLUMN_STRIPS else ("rows", "cols")
        )
        for p, phase in enumerate(phases):
            used = o[p] if q is Orientation.COLUMN_STRIPS else 1 - o[p]
            for j, dnn in enumerate(phase.dnns):
                model.add_constraint(
                    "one_strip",
                    lin_sum(y[q][p, j, s] for s in range(j + 1)) - used == 0,
                    label=(p, q.value, dnn.name),
                )
                across = attribute(p, dnn.name, across_what)
                along = attribute(p, dnn.name, along_what)
                for s in range(j + 1):
                    model.add_constraint(
                        "fits_strip",
                        across - width[q][p, s] + across_t * y[q][p, j, s] <= across_t,
                        label=(p, q.value, j, s),
                    )
                    model.add_constraint(
                        "height_link",
                        height[p, j, s] - along - along_t * y[q][p, j, s] >= -along_t,
                        label=(p, q.value, j, s),
                    )
            count = len(phase.dnns)
            model.add_constraint(
                "strip_widths",
                lin_sum(width[q][p, s] for s in range(count)) <= across_t,
                label=(p, q.value),
            )
            for s in range(count):
                model.add_constraint(
                    "strip_height",
                    lin_sum(height[p, j, s] for j in range(s, count)) <= along_t,
                    label=(p, q.value, s),
                )
    for p, phase in enumerate(phases):
        for what, capacity in (
            ("pe_area", rows_t * cols_t),
            ("buffer", array.buffer_share_steps),
            ("bandwidth", array.bandwidth_share_steps),
        ):
            key = "area" if what == "pe_area" else what
            model.add_constraint(
                what, lin_sum(attribute(p, d.name, key) for d in phase.dnns) <= capacity, label=p
            )
    limits = {
        "rows": rows_t,
        "cols": cols_t,
        "buffer": array.buffer_share_steps,
        "bandwidth": array.bandwidth_share_steps,
    }
    effective: dict[tuple[int, str], LinExpr] = {}
    changes = [
        (p, d.name, phase.previous[d.name])
        for p, phase in enumerate(phases)
        for d in phase.dnns
        if d.name in phase.previous
    ]
    z = model.add_variables("z", [(p, n) for p, n, _ in changes], upper=1.0, integer=True)
    u = model.add_variables("u", [(p, n) for p, n, _ in changes])
    for p, phase in enumerate(phases):
        for dnn in phase.dnns:
            effective[p, dnn.name] = attribute(p, dnn.name, "rate")
    for p, name, before in changes:
        for what, big_m in limits.items():
            delta = attribute(p, name, what) - attribute(before, name, what)
            model.add_constraint(
                "changed", delta - big_m * z[p, name] <= 0, label=(p, name, what, "+")
            )
            model.add_constraint(
                "changed", -delta - big_m * z[p, name] <= 0, label=(p, name, what, "-")
            )
        top = max((c.throughput_inferences_per_s for c in candidates[p][name]), default=0.0)
        model.add_constraint(
            "interrupted",
            u[p, name] - effective[p, name] - top * z[p, name] >= -top,
            label=(p, name),
        )
        effective[p, name] = effective[p, name] - reconfiguration_share[p] * u[p, name]
    for p, phase in enumerate(phases):
        for dnn in phase.dnns:
            if dnn.min_throughput_inferences_per_s > 0:
                model.add_constraint(
                    "min_throughput",
                    effective[p, dnn.name] >= dnn.min_throughput_inferences_per_s,
                    label=(p, dnn.name),
                )
    if objective is Objective.MAX_MIN_NORMALISED:
        t = model.add_variable("t")
        for p, phase in enumerate(phases):
            for dnn in phase.dnns:
                model.add_constraint(
                    "normalised",
                    t - effective[p, dnn.name] / dnn.weight <= 0,
                    label=(p, dnn.name),
                )
        goal = t
    else:
        total_s = sum(phase.duration_s for phase in phases)
        goal = lin_sum(
            effective[p, d.name] * (d.weight * phase.duration_s / total_s)
            for p, phase in enumerate(phases)
            for d in phase.dnns
        )
    model.set_objective(goal)
    if at_least is not None:
        model.add_constraint("at_least", goal >= at_least)
    return PackingModel(model, x, o, y, width, goal)
