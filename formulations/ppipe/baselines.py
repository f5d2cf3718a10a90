"""The systems a ``ppipe`` plan is compared with, each a deployment on the scenario's inputs.

Every baseline's deployment is written in the scenario's mode (a compat plan gives each
design its own full-length GPU-type sequence of the scenario's ``max_partitions``, as
:func:`formulations.ppipe.milp.assign_sequences` does), so the engine verifies it with the
plan's verifier against the same GPU pools, SLOs and chunk tables:

* ``np``: PPipe's NP baseline (no partitioning, no MPS);
* ``dart_r``: PPipe's DART-r baseline (fixed one high-class + one low-class GPU units);
* ``general`` / ``compat``: this formulation in the other mode. The general plan of a
  compat scenario may run several pipelines per GPU-type sequence, which the scenario's
  compat rule forbids, so the verifier reports it ``infeasible`` (its objective is still
  shown: the general optimum is an upper bound on compat's); a compat plan is always a
  valid general plan, so the compat baseline of a general scenario is written in general
  mode.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from formulations.model import Model
from formulations.ppipe.deployment import PPipeDeployment, build_deployment
from formulations.ppipe.designs import Design
from formulations.ppipe.inputs import Mode, PPipeInputs
from formulations.ppipe.milp import Picked, pipelines, solve_designs
from formulations.ppipe.view import PPipeView, plan_designs
from formulations.types import (
    BaselineRun,
    MilpSolver,
    Sense,
    require_solution,
    run_baseline,
)

NP_SOURCE = (
    "PPipe (Kong et al., USENIX ATC '25), section 7 baseline NP: the planning MILP with one "
    "partition and MPS level 1 (public code milp_solver/run_ilp_v4_in_batch.py, "
    "get_baseline_multitask_plan)"
)
DART_R_SOURCE = (
    "PPipe (Kong et al., USENIX ATC '25), section 7 baseline DART-r: min(N_hi, N_lo) fixed "
    "units of one high- plus one low-class GPU and the larger pool's surplus serving whole "
    "models (public code milp_solver/run_ilp_v4_in_batch.py, get_multidnn_dart_plan; here "
    "units and surplus are split among models jointly by a small MILP, docs/ppipe.md)"
)
OTHER_MODE_SOURCE = (
    "this formulation in {mode} mode (compat = PPipe's MILP, general = several pipelines "
    "per GPU-type sequence, beyond PPipe; docs/ppipe.md)"
)
DART_R_NEEDS = "DART-r needs one high-class and one low-class GPU type"


def baseline_inputs(inputs: PPipeInputs, max_partitions: int) -> PPipeInputs:
    """The same cluster and models with MPS level 1 only and at most ``max_partitions``."""
    gpus = [gpu.model_copy(update={"max_mps_level": 1}) for gpu in inputs.gpus]
    return inputs.model_copy(update={"gpus": gpus, "max_partitions": max_partitions})


def _deployment(inputs: PPipeInputs, picked: Sequence[Picked]) -> PPipeDeployment:
    """A baseline's picked designs as a deployment in the scenario's mode."""
    return build_deployment(inputs, inputs.mode, pipelines(inputs, inputs.mode, picked))


def other_mode(view: PPipeView, solver: MilpSolver) -> PPipeDeployment:
    """The plan of the mode the scenario did not ask for, written in general mode (the
    general plan of a compat scenario, or the compat plan of a general one)."""
    inputs = view.inputs
    other: Mode = "general" if inputs.mode == "compat" else "compat"
    picked = solve_designs(inputs, view.designs, other, solver).picked
    return build_deployment(inputs, "general", pipelines(inputs, "general", picked))


def np_baseline(view: PPipeView, solver: MilpSolver) -> PPipeDeployment:
    """NP: the planning MILP with ``P = 1`` and MPS level 1 only (compat mode)."""
    np_inputs = baseline_inputs(view.inputs, 1)
    designs = plan_designs(np_inputs, view.tables)
    return _deployment(view.inputs, solve_designs(np_inputs, designs, "compat", solver).picked)


def dart_r_applies(inputs: PPipeInputs) -> bool:
    """DART-r needs exactly one high-class and one low-class GPU type."""
    classes = [gpu.low_class for gpu in inputs.gpus]
    return len(classes) == 2 and sum(classes) == 1


def dart_r(view: PPipeView, solver: MilpSolver) -> PPipeDeployment:
    """DART-r on designs enumerated with ``P = 2`` and MPS level 1 (it needs
    :func:`dart_r_applies`).

    A unit is one high-class GPU ``h`` plus one low-class GPU ``l``; it serves one model
    with the best of: a whole-model pipeline on each GPU, or a two-stage pipeline
    ``(h, l)`` or ``(l, h)``, each stage with one instance, at rate ``a_d`` requests/s. The
    surplus GPUs of the larger pool ``g+`` serve whole models, one instance each, at
    ``b_d``. The allocation MILP:

    Sets: models ``d``. Parameters: ``U = min(N_h, N_l)`` units, ``S = N_{g+} - U``
    surplus GPUs, rates ``a_d``, ``b_d`` (requests/s), weights ``w_d``.
    Variables: ``t >= 0``; ``u[d]`` integer in ``0 .. U``; ``s[d]`` integer in ``0 .. S``.
    Constraints: ``units``: ``sum_d u_d <= U``; ``surplus``: ``sum_d s_d <= S``;
    ``maxmin[d]``: ``w_d t <= a_d u_d + b_d s_d``. Objective: maximise ``t``.

    Model ``d``'s units run its best option's pipeline(s) with ``u_d`` instances per stage
    and its surplus a whole-model pipeline with ``s_d`` instances (merged with a unit's
    whole-model pipeline of the same design), so its throughput is ``a_d u_d + b_d s_d``.
    """
    inputs = view.inputs
    classes = [gpu.low_class for gpu in inputs.gpus]
    dart_inputs = baseline_inputs(inputs, 2)
    designs = plan_designs(dart_inputs, view.tables)
    high = classes.index(False)
    low = classes.index(True)
    units = min(inputs.gpus[high].count, inputs.gpus[low].count)
    surplus_gpu = max((high, low), key=lambda g: inputs.gpus[g].count)
    surplus = inputs.gpus[surplus_gpu].count - units

    def best(d: int, types: tuple[int, ...]) -> tuple[float, Design | None]:
        """The fastest design of model ``d`` on ``types`` at one instance per stage."""
        found = [e for e in designs if e.model == d and e.types == types]
        if not found:
            return 0.0, None
        top = max(found, key=lambda e: min(s.instance_qps for s in e.stages))
        return min(s.instance_qps for s in top.stages), top

    options: list[list[Design]] = []
    unit_qps, single_qps, single = [], [], []
    for d in range(len(inputs.models)):
        (rate_h, on_h), (rate_l, on_l) = best(d, (high,)), best(d, (low,))
        (rate_hl, on_hl), (rate_lh, on_lh) = best(d, (high, low)), best(d, (low, high))
        choices = [
            (rate_h + rate_l, [e for e in (on_h, on_l) if e is not None]),
            (rate_hl, [on_hl] if on_hl else []),
            (rate_lh, [on_lh] if on_lh else []),
        ]
        rate, chosen = max(choices, key=lambda c: c[0])
        unit_qps.append(rate)
        options.append(chosen)
        rate_s, on_s = best(d, (surplus_gpu,))
        single_qps.append(rate_s)
        single.append(on_s)

    model = Model("dart_r", Sense.MAXIMIZE)
    t = model.add_variable("t", cost=1.0)
    names = [m.name for m in inputs.models]
    u = model.add_variables("u", names, upper=units, integer=True)
    s = model.add_variables("s", names, upper=surplus, integer=True)
    ones = np.ones(len(names))
    zeros = np.zeros(len(names), dtype=np.int64)
    model.add_rows("units", 1, zeros, u.cols, ones, upper=units)
    model.add_rows("surplus", 1, zeros, s.cols, ones, upper=surplus)
    for d, demand in enumerate(inputs.models):
        model.add_constraint(
            "maxmin",
            demand.weight * t <= unit_qps[d] * u[demand.name] + single_qps[d] * s[demand.name],
            demand.name,
        )
    result = require_solution(solver.solve(model), "DART-r allocation")
    unit_counts = np.rint(u.values(result)).astype(int).tolist()
    surplus_counts = np.rint(s.values(result)).astype(int).tolist()
    picked: list[Picked] = []
    for d in range(len(inputs.models)):
        instances: dict[Design, int] = {}
        if unit_counts[d]:
            for design in options[d]:
                instances[design] = instances.get(design, 0) + unit_counts[d]
        on_s = single[d]
        if surplus_counts[d] and on_s is not None:
            instances[on_s] = instances.get(on_s, 0) + surplus_counts[d]
        picked.extend((e, (n,) * len(e.stages)) for e, n in instances.items())
    return _deployment(inputs, picked)


def baselines(view: PPipeView, solver: MilpSolver) -> list[BaselineRun[PPipeDeployment]]:
    """The other mode (when ``compare_modes``), NP and DART-r, in that order."""
    runs = []
    if view.inputs.compare_modes:
        other = "general" if view.inputs.mode == "compat" else "compat"
        runs.append(
            run_baseline(
                other, OTHER_MODE_SOURCE.format(mode=other), lambda: other_mode(view, solver)
            )
        )
    runs.append(run_baseline("np", NP_SOURCE, lambda: np_baseline(view, solver)))
    if dart_r_applies(view.inputs):
        runs.append(run_baseline("dart_r", DART_R_SOURCE, lambda: dart_r(view, solver)))
    else:
        runs.append(run_baseline("dart_r", DART_R_SOURCE, lambda: None, DART_R_NEEDS))
    return runs
