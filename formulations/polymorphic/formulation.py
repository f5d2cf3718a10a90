"""The ``polymorphic`` formulation (Polymorphic Accelerators, Azizimazreah & Chen, IEEE TC
71(3), 2022): partition one PE array into logical accelerators for concurrent DNNs.

Modules: :mod:`.inputs` (schema), :mod:`.view` (candidates per design), :mod:`.milp`
(strip-packing MILP), :mod:`.deployment` (schema, reading a solution), :mod:`.verify`,
:mod:`.baselines`, :mod:`.tables`. Cost model: :mod:`cost_models.polymorphic`.
"""

from __future__ import annotations

from typing import Any

from formulations.polymorphic.baselines import monolithic
from formulations.polymorphic.deployment import PolymorphicDeployment, read_packing
from formulations.polymorphic.inputs import PolymorphicInputs
from formulations.polymorphic.milp import build
from formulations.polymorphic.tables import accelerator_table, dataflow_table
from formulations.polymorphic.verify import measure, verify
from formulations.polymorphic.view import (
    MONOLITHIC,
    MULTI_CLP,
    PLANARIA,
    POLYMORPHIC,
    PolymorphicView,
    prepare,
)
from formulations.types import (
    BaselineRun,
    Certificate,
    Formulation,
    MilpSolver,
    ObjectiveSpec,
    Sense,
    Solution,
    Table,
    Verification,
    require_solution,
    run_baseline,
)

UNIT_INFERENCES_PER_S = "inferences/s"


def solve_design(
    view: PolymorphicView, design: str, solver: MilpSolver
) -> tuple[PolymorphicDeployment, Certificate]:
    """Pack ``design``'s candidates (the plan, or a partitioning baseline) optimally."""
    candidates = view.candidates[design]
    packing = build(
        view.inputs.array,
        view.inputs.dnns,
        candidates,
        view.inputs.objective,
        view.designs[design].shape_step,
    )
    result = require_solution(solver.solve(packing.model), context=design)
    return read_packing(view, design, packing, candidates, result), Certificate.of(result)


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
        array = view.inputs.array
        measured = {a.dnn: measure(view, deployment.design, a) for a in deployment.accelerators}
        busy = sum(
            a.time_share * a.rows * a.cols * measured[a.dnn].compute_cycles / measured[a.dnn].cycles
            for a in deployment.accelerators
        )
        out: dict[str, float | int | str | None] = {
            f"{name}_inferences_per_s": round(m.throughput_inferences_per_s, 3)
            for name, m in measured.items()
        }
        out["pe_utilisation_pct"] = round(100 * busy / (array.rows * array.cols), 2)
        out["dram_gb_per_s"] = round(sum(m.dram_gb_per_s for m in measured.values()), 3)
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
                lambda: solve_design(view, MULTI_CLP, solver)[0],
            ),
            run_baseline(
                PLANARIA,
                "fission into fixed pods, weight stationary (Planaria, Ghodrati et al. MICRO 2020)",
                lambda: solve_design(view, PLANARIA, solver)[0],
            ),
        ]

    def explain_infeasible(self, view: PolymorphicView, context: Any) -> str:
        best = {
            d.name: max(c.throughput_inferences_per_s for c in view.candidates[context][d.name])
            for d in view.inputs.dnns
        }
        short = [
            f"{d.name} needs {d.min_throughput_inferences_per_s:g} inferences/s, at most "
            f"{best[d.name]:.6g} on the whole array"
            for d in view.inputs.dnns
            if d.min_throughput_inferences_per_s > best[d.name]
        ]
        return "; ".join(short) or (
            "the minimum throughputs cannot all be met at once on the shared array, buffer "
            "and bandwidth"
        )
