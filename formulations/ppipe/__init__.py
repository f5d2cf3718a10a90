"""PPipe: pool-based pipeline parallelism of CNN inference over heterogeneous GPU pools.

Reproduces the planning MILP of PPipe (Kong et al., USENIX ATC '25) on any backend. The
math is stated in :mod:`formulations.ppipe.milp` (sets, parameters, variables, constraints,
objective, big-M values) and :mod:`formulations.ppipe.designs` (the stage latency and
throughput parameters, the up-front enumeration of SLO-feasible designs and the proof that
dropping dominated designs is exact). Parameters and units: chunk latencies ``lat`` in us
(:mod:`cost_models.ppipe.tables`), cut sizes in bytes, NIC bandwidth ``bw_gbps`` in Gbit/s,
SLO and reserve in us, throughputs in requests/s, GPU counts per type.

``plan`` enumerates and prunes designs per model, solves the chosen mode ("compat" =
PPipe's MILP, "general" = several pipelines per type sequence), then the other mode (if
``compare_modes``) and the NP and DART-r baselines, and returns the deployment; ``verify``
recomputes everything from the chunk tables (:mod:`formulations.ppipe.verify`).
"""

from __future__ import annotations

import time
from typing import Any, ClassVar

from formulations.ppipe.deployment import PPipeDeployment, build_deployment, deployment_tables
from formulations.ppipe.designs import Design, enumerate_designs, prune_dominated
from formulations.ppipe.inputs import PPipeInputs, chunk_tables
from formulations.ppipe.milp import dart_r, model_rps, solve_designs
from formulations.ppipe.verify import verify_deployment
from formulations.types import (
    Formulation,
    InfeasibleError,
    MilpSolver,
    Objective,
    Outcome,
    Sense,
    Table,
    Verification,
)


def plan_designs(inputs: PPipeInputs, max_partitions: int | None = None) -> list[Design]:
    """Every model's SLO-feasible, non-dominated designs."""
    designs: list[Design] = []
    for index, table in enumerate(chunk_tables(inputs)):
        designs.extend(prune_dominated(enumerate_designs(inputs, index, table, max_partitions)))
    return designs


def _no_design_message(inputs: PPipeInputs, designs: list[Design]) -> str | None:
    served = {d.model for d in designs if all(inputs.gpus[g].count > 0 for g in d.types)}
    missing = [m for i, m in enumerate(inputs.models) if i not in served]
    if not missing:
        return None
    model = missing[0]
    return (
        f"model {model.name}: no pipeline of at most {inputs.max_partitions} stages on "
        f"the available GPUs ({', '.join(g.name for g in inputs.gpus if g.count)}) meets "
        f"slo_us = {model.slo_us:.0f} with slo_reserve_us = {model.slo_reserve_us:.0f}"
    )


def baseline_inputs(inputs: PPipeInputs, max_partitions: int) -> PPipeInputs:
    """The same cluster and models with MPS level 1 only and at most ``max_partitions``."""
    gpus = [gpu.model_copy(update={"max_mps_level": 1}) for gpu in inputs.gpus]
    return inputs.model_copy(update={"gpus": gpus, "max_partitions": max_partitions})


def _headline(
    inputs: PPipeInputs, rates: list[float], reference: float, objective: float | None = None
) -> dict[str, Any]:
    """A baseline's headline numbers; its objective is min over models of rate / weight."""
    if objective is None:
        objective = min(r / m.weight for r, m in zip(rates, inputs.models, strict=True))
    numbers: dict[str, Any] = {"objective_rps": objective}
    numbers.update(
        {f"throughput_rps.{m.name}": r for m, r in zip(inputs.models, rates, strict=True)}
    )
    numbers["planned_over_this"] = reference / objective if objective > 0 else None
    return numbers


class PPipeFormulation(Formulation[PPipeInputs, PPipeDeployment]):
    kind: ClassVar[str] = "ppipe"
    inputs_model: ClassVar[type[PPipeInputs]] = PPipeInputs
    deployment_model: ClassVar[type[PPipeDeployment]] = PPipeDeployment

    def plan(self, inputs: PPipeInputs, solver: MilpSolver) -> Outcome[PPipeDeployment]:
        started = time.perf_counter()
        designs = plan_designs(inputs)
        message = _no_design_message(inputs, designs)
        if message:
            raise InfeasibleError(message)
        enumerate_s = time.perf_counter() - started
        solved = solve_designs(
            inputs,
            designs,
            inputs.mode,
            solver,
            "the GPU budget admits no plan (a formulation bug)",
        )
        deployment = build_deployment(inputs, inputs.mode, solved.chosen)
        build_s, solve_s = enumerate_s + solved.build_s, solved.result.solve_s
        baselines: dict[str, dict[str, Any]] = {}
        warnings: list[str] = []
        reference = deployment.objective_rps
        if inputs.compare_modes:
            other = "general" if inputs.mode == "compat" else "compat"
            alt = solve_designs(inputs, designs, other, solver, "infeasible")
            baselines[other] = _headline(inputs, model_rps(inputs, alt.chosen), reference)
            baselines[other]["gap"] = alt.result.gap
            build_s, solve_s = build_s + alt.build_s, solve_s + alt.result.solve_s
        np_inputs = baseline_inputs(inputs, 1)
        np_solved = solve_designs(
            np_inputs, plan_designs(np_inputs), "compat", solver, "infeasible"
        )
        baselines["np"] = _headline(inputs, model_rps(inputs, np_solved.chosen), reference)
        solve_s += np_solved.result.solve_s
        classes = [gpu.low_class for gpu in inputs.gpus]
        if len(classes) == 2 and sum(classes) == 1:
            dart_inputs = baseline_inputs(inputs, 2)
            objective, rates, result = dart_r(dart_inputs, plan_designs(dart_inputs), solver)
            baselines["dart_r"] = _headline(inputs, rates, reference, objective)
            solve_s += result.solve_s
        else:
            warnings.append(
                "DART-r baseline skipped: it needs one high-class and one low-class GPU type"
            )
        return Outcome(
            deployment=deployment,
            objective=Objective(
                "min over models of throughput / weight",
                "requests/s",
                Sense.MAXIMIZE,
                deployment.objective_rps,
            ),
            result=solved.result,
            build_s=build_s,
            solve_s=solve_s,
            baselines=baselines,
            warnings=warnings,
        )

    def verify(self, inputs: PPipeInputs, deployment: PPipeDeployment) -> Verification:
        return verify_deployment(inputs, deployment)

    def tables(self, inputs: PPipeInputs, deployment: PPipeDeployment) -> list[Table]:
        return deployment_tables(deployment)


FORMULATION = PPipeFormulation()
