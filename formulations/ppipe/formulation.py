"""The ``ppipe`` formulation: the stages wired to the modules of the package.

Modules: :mod:`.inputs` (scenario schema, PPipe's published instances), :mod:`.view` (chunk
tables and designs, once per scenario), :mod:`.designs` (enumeration of SLO-feasible
pipeline designs and exact dominance pruning, with the stage latency and throughput
parameters), :mod:`.milp` (the math and the model builder, the solve strategy),
:mod:`.deployment`, :mod:`.verify`, :mod:`.baselines` (the other mode, NP, DART-r),
:mod:`.tables`, :mod:`.refit` (``planner check``: the committed pipelines re-evaluated),
:mod:`.simulate` (``planner simulate``: the replay with reservation-based batching).
"""

from __future__ import annotations

from typing import Any, ClassVar

from cost_models.units import PERCENT_PER_FRACTION, UNIT_QPS
from formulations.ppipe.baselines import baselines
from formulations.ppipe.deployment import PPipeDeployment, build_deployment
from formulations.ppipe.inputs import PPipeInputs
from formulations.ppipe.milp import pipelines, solve_designs
from formulations.ppipe.refit import refit_deployment
from formulations.ppipe.simulate import REPLAYED_BASELINES, goodput_table, simulate_plans
from formulations.ppipe.tables import deployment_tables
from formulations.ppipe.verify import verify_deployment
from formulations.ppipe.view import PPipeView, no_design_message, prepare, rate_source
from formulations.types import (
    BaselineRun,
    Formulation,
    InfeasibleError,
    MilpSolver,
    ObjectiveSpec,
    RateSource,
    Refit,
    Sense,
    SimulateOptions,
    Solution,
    Table,
    Verification,
)


class PPipeFormulation(Formulation[PPipeInputs, PPipeView, PPipeDeployment]):
    kind: ClassVar[str] = "ppipe"
    inputs_model: ClassVar[type[PPipeInputs]] = PPipeInputs
    deployment_model: ClassVar[type[PPipeDeployment]] = PPipeDeployment
    objective: ClassVar[ObjectiveSpec] = ObjectiveSpec(
        "min over models of throughput / weight", UNIT_QPS, Sense.MAXIMIZE
    )

    def prepare(self, inputs: PPipeInputs) -> PPipeView:
        return prepare(inputs)

    def solve(self, view: PPipeView, solver: MilpSolver) -> Solution[PPipeDeployment]:
        message = no_design_message(view.inputs, view.designs)
        if message:
            raise InfeasibleError(message)
        inputs = view.inputs
        solved = solve_designs(inputs, view.designs, inputs.mode, solver)
        chosen = pipelines(inputs, inputs.mode, solved.picked)
        deployment = build_deployment(inputs, inputs.mode, chosen)
        return Solution(deployment, solved.certificate(deployment.objective_qps))

    def verify(self, view: PPipeView, deployment: PPipeDeployment) -> Verification:
        return verify_deployment(view, deployment)

    def tables(self, view: PPipeView, deployment: PPipeDeployment) -> list[Table]:
        return deployment_tables(view.inputs, deployment)

    def rate_sources(self, view: PPipeView) -> list[RateSource]:
        """Chunk latencies of every (model, GPU type): published tables or calibrated."""
        inputs = view.inputs
        return [rate_source(inputs, m.name, g.name) for m in inputs.models for g in inputs.gpus]

    def baselines(
        self, view: PPipeView, solver: MilpSolver, solution: Solution[PPipeDeployment]
    ) -> list[BaselineRun[PPipeDeployment]]:
        return baselines(view, solver)

    def headline(
        self, view: PPipeView, deployment: PPipeDeployment
    ) -> dict[str, float | int | str | None]:
        numbers: dict[str, float | int | str | None] = {
            f"throughput_qps.{m.model}": m.throughput_qps for m in deployment.models
        }
        numbers["total_throughput_qps"] = deployment.total_throughput_qps
        numbers["pipelines"] = sum(len(m.pipelines) for m in deployment.models)
        share = deployment.low_class_gpu_share
        numbers["low_class_gpu_pct"] = None if share is None else PERCENT_PER_FRACTION * share
        return numbers

    def refit(
        self, view: PPipeView, deployment: PPipeDeployment, solver: MilpSolver
    ) -> Refit[PPipeDeployment]:
        return refit_deployment(view, deployment)

    def simulate(
        self,
        view: PPipeView,
        deployment: PPipeDeployment,
        solver: MilpSolver,
        options: SimulateOptions,
    ) -> list[Table]:
        """Replay the plan, NP and DART-r at each one's goodput rate at 99% SLO attainment
        (see simulate.py): the common replay tables (docs/replay.md), then the goodputs;
        honours the rate scale, the span and a trace file (in the common tables)."""
        options.refuse_unsupported(self.kind, frozenset({"rate_scale", "duration_s", "trace"}))
        runs, seed = options.runs, options.seed
        deployments = {"ppipe": deployment}
        for run in baselines(view, solver):
            if run.name in REPLAYED_BASELINES and run.deployment is not None:
                deployments[run.name] = run.deployment
        report, summary = simulate_plans(view, deployments, runs, seed, options=options)
        return [*report.tables(), goodput_table(summary)]

    def explain_infeasible(self, view: PPipeView, context: Any) -> str:
        return (
            no_design_message(view.inputs, view.designs)
            or "the GPU budget admits no plan (a formulation bug)"
        )
