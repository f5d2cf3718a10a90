"""The ``polymorphic`` formulation (Polymorphic Accelerators, Azizimazreah & Chen, IEEE TC
71(3), 2022): partition one PE array into logical accelerators for concurrent DNNs.

Modules: :mod:`.inputs` (schema, phases), :mod:`.view` (candidates per design),
:mod:`.bounds` (exact candidate reductions), :mod:`.milp` (strip-packing MILP over the
phases), :mod:`.deployment` (schema, reading a solution), :mod:`.verify`,
:mod:`.baselines`, :mod:`.tables`. Cost model: :mod:`cost_models.polymorphic`.
"""

from __future__ import annotations

import math
from typing import Any

from formulations.polymorphic.baselines import monolithic
from formulations.polymorphic.bounds import upper_bound
from formulations.polymorphic.deployment import PolymorphicDeployment, read_packing
from formulations.polymorphic.inputs import Objective, Phase, PolymorphicInputs
from formulations.polymorphic.milp import build
from formulations.polymorphic.tables import accelerator_table, dataflow_table
from formulations.polymorphic.verify import UNIT_INFERENCES_PER_S, effective, evaluate, verify
from formulations.polymorphic.view import (
    MONOLITHIC,
    MULTI_CLP,
    PLANARIA,
    POLYMORPHIC,
    PolymorphicView,
    for_mix,
    prepare,
)
from formulations.tolerances import FEAS_RTOL
from formulations.types import (
    BaselineRun,
    Certificate,
    Formulation,
    InputError,
    MilpSolver,
    NoSolution,
    ObjectiveSpec,
    Refit,
    Sense,
    Solution,
    SolveStatus,
    Table,
    Verification,
    require_solution,
    run_baseline,
)

# max-min: first solve with only the candidates worth at least these shares of the upper
# bound (bounds.upper_bound), asking for an objective at least that high; the last level
# (0) is the whole model. Each restricted model is small; on cnn_heavy the first feasible
# level cuts VGG-16 from 2,954 candidates to a few dozen (docs/BENCHMARKS.md).
LEVELS = (0.98, 0.9, 0.7, 0.0)
# columns of the largest MILP (one binary per phase, DNN and candidate left after the
# reductions, plus the packing's few per DNN): HiGHS keeps a few hundred bytes per column,
# and the shipped scenarios need at most ~6,000
MAX_MODEL_VARIABLES = 500_000


def check_model_size(view: PolymorphicView, design: str) -> None:
    """Refuse a scenario whose MILP would exceed MAX_MODEL_VARIABLES, naming the key that
    makes it large (``phases`` when several, else ``dnns``)."""
    kept = view.candidates[design]
    size = sum(len(kept[d.name]) + 4 * len(phase.dnns) for phase in view.phases for d in phase.dnns)
    if size <= MAX_MODEL_VARIABLES:
        return
    key = "phases" if len(view.phases) > 1 else "dnns"
    raise InputError(
        None,
        key,
        f"a MILP of at most {MAX_MODEL_VARIABLES:,} variables ({len(view.phases)} phases of "
        f"{max(len(p.dnns) for p in view.phases)} DNNs with their candidate accelerators "
        f"in {design}: ~{size:,})",
    )


def solve_design(
    view: PolymorphicView, design: str, solver: MilpSolver
) -> tuple[PolymorphicDeployment, Certificate]:
    """Pack ``design``'s candidates (the plan, or a partitioning baseline) optimally
    (:func:`solve_packing`). Under max-min, ties are then broken: a second MILP keeps
    every DNN at the optimal minimum (less the feasibility tolerance) and maximises the
    time-averaged sum of normalised throughputs (:meth:`.inputs.PolymorphicInputs.
    tie_break`), so DNNs above the bottleneck use the spare PEs, buffer and bandwidth
    instead of the least that reaches the minimum. The certificate is the first solve's
    (it proves the minimum); if the second finds nothing (a limit), the first plan
    stands."""
    deployment, certificate = solve_packing(view, design, solver)
    if view.inputs.objective is not Objective.MAX_MIN_NORMALISED:
        return deployment, certificate
    ties = for_mix(view, view.inputs.tie_break(certificate.objective * (1 - FEAS_RTOL)), design)
    try:
        spread, second = solve_packing(ties, design, solver)
    except NoSolution:
        return deployment, certificate
    both = Certificate.combine([certificate, second], certificate.objective, certificate.bound)
    return spread, both


def solve_packing(
    view: PolymorphicView, design: str, solver: MilpSolver
) -> tuple[PolymorphicDeployment, Certificate]:
    """Pack ``design``'s candidates optimally over every phase in one MILP (:mod:`.milp`,
    both strip orientations in the model).

    Under max-min the MILP is first restricted to the candidates whose normalised
    throughput reaches ``level x UB`` and asked for an objective of at least that much
    (rows ``at_least``); a plan found so is optimal for the whole model, since every
    plan using an excluded candidate scores below the level. An infeasible level moves
    on to the next, down to the unrestricted model."""
    check_model_size(view, design)
    inputs = view.inputs
    kept = view.candidates[design]
    bound = upper_bound(inputs, view.pareto[design])
    levels = (
        LEVELS
        if inputs.objective is Objective.MAX_MIN_NORMALISED and math.isfinite(bound) and bound > 0
        else (0.0,)
    )
    for level in levels:
        floor = level * bound if level > 0 else None
        candidates = [
            {
                d.name: [
                    c
                    for c in kept[d.name]
                    if floor is None or c.throughput_inferences_per_s / d.weight >= floor
                ]
                for d in phase.dnns
            }
            for phase in view.phases
        ]
        if floor is not None and any(not c for mix in candidates for c in mix.values()):
            continue
        packing = build(
            inputs.array,
            view.phases,
            candidates,
            inputs.objective,
            view.designs[design].shape_step,
            [inputs.reconfiguration_share(phase) for phase in view.phases],
            at_least=floor,
        )
        result = solver.solve(packing.model)
        if floor is not None and result.status is SolveStatus.INFEASIBLE:
            continue
        result = require_solution(result, context=design)
        deployment = read_packing(view, design, packing, candidates, result)
        return deployment, Certificate.of(result)
    raise AssertionError("the last level is the whole model")  # pragma: no cover


def static_partition(
    view: PolymorphicView, design: str, solver: MilpSolver
) -> PolymorphicDeployment:
    """``design``'s partition chosen once for the expected mix
    (:meth:`.inputs.PolymorphicInputs.expected_mix`) and kept in every phase: each DNN's
    accelerator stays where it is (idle while its DNN is absent), so it is never
    reconfigured."""
    inputs = view.inputs
    if not inputs.phases:
        return solve_design(view, design, solver)[0]
    once = solve_design(for_mix(view, inputs.expected_mix(), design), design, solver)[0]
    own = {a.dnn: a for a in once.accelerators}
    return PolymorphicDeployment(
        design=design,
        accelerators=[
            own[d.name].model_copy(update={"phase": phase.name})
            for phase in view.phases
            for d in phase.dnns
        ],
    )


class PolymorphicFormulation(
    Formulation[PolymorphicInputs, PolymorphicView, PolymorphicDeployment]
):
    kind = "polymorphic"
    inputs_model = PolymorphicInputs
    deployment_model = PolymorphicDeployment
    objective = ObjectiveSpec("throughput", UNIT_INFERENCES_PER_S, Sense.MAXIMIZE)

    def prepare(self, inputs: PolymorphicInputs) -> PolymorphicView:
        return prepare(inputs)

    def solve(self, view: PolymorphicView, solver: MilpSolver) -> Solution[PolymorphicDeployment]:
        deployment, certificate = solve_design(view, POLYMORPHIC, solver)
        return Solution(deployment, certificate)

    def verify(self, view: PolymorphicView, deployment: PolymorphicDeployment) -> Verification:
        return verify(view, deployment)

    def tables(self, view: PolymorphicView, deployment: PolymorphicDeployment) -> list[Table]:
        return [accelerator_table(view, deployment), dataflow_table(deployment)]

    def headline(
        self, view: PolymorphicView, deployment: PolymorphicDeployment
    ) -> dict[str, float | int | str | None]:
        """Per (phase, DNN) the effective throughput; PE utilisation (busy PE-cycles over
        all PE-cycles) and DRAM traffic, time-averaged over the phases."""
        array = view.inputs.array
        rates = effective(view, deployment)
        at = {(a.phase, a.dnn): a for a in deployment.accelerators}
        total_s = sum(p.duration_s for p in view.phases)
        busy = dram = 0.0
        out: dict[str, float | int | str | None] = {}
        for phase in view.phases:
            share = phase.duration_s / total_s
            for dnn in phase.dnns:
                m = rates.get((phase.name, dnn.name))
                key = dnn.name if phase.name is None else f"{dnn.name}_{phase.name}"
                out[f"{key}_inferences_per_s"] = (
                    0.0 if m is None else round(m.throughput_inferences_per_s, 3)
                )
                if m is None:
                    continue
                a = at[phase.name, dnn.name]
                busy += share * a.time_share * a.rows * a.cols * m.compute_cycles / m.cycles
                dram += share * m.dram_gb_per_s
        out["pe_utilisation_pct"] = round(100 * busy / (array.rows * array.cols), 2)
        out["dram_gb_per_s"] = round(dram, 3)
        return out

    def baselines(
        self, view: PolymorphicView, solver: MilpSolver, solution: Solution[PolymorphicDeployment]
    ) -> list[BaselineRun[PolymorphicDeployment]]:
        return [
            run_baseline(
                MONOLITHIC,
                "one flexible-dataflow array, time-multiplexed "
                "(FlexFlow-like, Lu et al. HPCA 2017)",
                lambda: monolithic(view),
            ),
            run_baseline(
                MULTI_CLP,
                "static partition, one dataflow per processor, no "
                "cross-layer reuse (Multi-CLP, Shen et al. ISCA 2017)",
                lambda: static_partition(view, MULTI_CLP, solver),
            ),
            run_baseline(
                PLANARIA,
                "fission into fixed pods, weight stationary (Planaria, Ghodrati et al. MICRO 2020)",
                lambda: solve_design(view, PLANARIA, solver)[0],
            ),
        ]

    def refit(
        self, view: PolymorphicView, deployment: PolymorphicDeployment, solver: MilpSolver
    ) -> Refit[PolymorphicDeployment]:
        """Keep the partition as committed (``design``, ``time_multiplexed`` and every
        accelerator's rectangle, ``buffer_steps``, ``bandwidth_steps``, ``time_share`` and
        per-layer ``dataflows``: all the deployment holds, so nothing is re-derived) and
        re-measure each DNN's throughput under the scenario's array, networks and batches.
        It covers the scenario when every DNN meets ``min_throughput_inferences_per_s``
        (and the partition still fits the array); each DNN below its floor is a shortfall
        (floor required, throughput available)."""
        return Refit(deployment, evaluate(view, deployment).shortfalls)

    def explain_infeasible(self, view: PolymorphicView, context: Any) -> str:
        """Per phase: the floors no accelerator meets alone; else the resource (PE area,
        buffer, bandwidth) that the smallest accelerators meeting every floor overrun
        together; else (one phase) the packing, or (several) the packings with the
        reconfiguration charges between phases."""
        for phase in view.phases:
            reason = _phase_infeasible(view, context, phase)
            if reason:
                return reason if phase.name is None else f"in phase {phase.name}: {reason}"
        return (
            "each phase's throughput floors fit the PE area, buffer and bandwidth, but no "
            "strip packings of the phases meet all of them, given the reconfiguration "
            f"charges between phases ({view.inputs.reconfiguration_cycles} cycles lost by "
            "each accelerator that changes)"
        )


def _phase_infeasible(view: PolymorphicView, context: str, phase: Phase) -> str | None:
    """Why one phase's floors cannot be met on their own (None when a packing may exist:
    the phase alone is then not shown infeasible by these tests)."""
    array = view.inputs.array
    floors = {d.name: d.min_throughput_inferences_per_s for d in phase.dnns}
    meeting = {
        name: [c for c in view.pareto[context][name] if c.throughput_inferences_per_s >= floor]
        for name, floor in floors.items()
    }
    best = {
        name: max(c.throughput_inferences_per_s for c in view.pareto[context][name])
        for name in floors
    }
    alone = [
        f"{name} needs {floor:g} inferences/s, at most {best[name]:.6g} on the whole "
        f"array in {context}"
        for name, floor in floors.items()
        if not meeting[name]
    ]
    if alone:
        return "; ".join(alone)
    floored = ", ".join(f"{n} {f:g}/s" for n, f in floors.items() if f > 0)
    needs = {
        "PEs": (
            sum(min(c.rows * c.cols for c in m) for m in meeting.values()),
            array.rows * array.cols,
        ),
        "buffer steps": (
            sum(min(c.buffer_steps for c in m) for m in meeting.values()),
            array.buffer_share_steps,
        ),
        "bandwidth steps": (
            sum(min(c.bandwidth_steps for c in m) for m in meeting.values()),
            array.bandwidth_share_steps,
        ),
    }
    over = [
        f"at least {need} {what} together, {have} available"
        for what, (need, have) in needs.items()
        if need > have
    ]
    if over:
        return f"the throughput floors ({floored}) need " + "; ".join(over)
    if len(view.phases) > 1:
        return None
    return (
        f"the throughput floors ({floored}) each fit alone and within the PE area, buffer "
        f"and bandwidth, but no strip packing of the {array.rows}x{array.cols} array holds "
        "accelerators meeting all of them at once"
    )
