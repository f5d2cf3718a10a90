"""The ``llm`` formulation: the cheapest GPU mix (types, TP degrees, counts) that serves
LLM traffic with continuous batching within TTFT and TPOT SLOs, Melange-style. The math
is in :mod:`formulations.llm.milp`.

Where each stage lives:

* ``inputs.py``: the scenario schema; ``view.py``: :func:`~formulations.llm.view.prepare`
  builds the buckets and the pools and their per-replica rates with :mod:`cost_models.llm`;
* ``milp.py``: the math docstring, the model and Melange's own model (a baseline);
* ``deployment.py``: the deployment schema and how it is read off a solution;
* ``verify.py``: the independent verifier; ``baselines.py``: the best single GPU type,
  request-level (static) batching and Melange's solver;
* ``tables.py``: pools, buckets, per-replica rates; ``simulate.py``: the seeded replay of
  continuous batching (``planner simulate``).
"""

from __future__ import annotations

from typing import Any

from cost_models.units import UNIT_USD_PER_H
from formulations.llm.baselines import baselines
from formulations.llm.deployment import LlmDeployment, deployment_of
from formulations.llm.inputs import LlmInputs
from formulations.llm.milp import build
from formulations.llm.refit import refit
from formulations.llm.simulate import PLAN, simulate_tables
from formulations.llm.tables import tables
from formulations.llm.verify import verify
from formulations.llm.view import Batching, LlmView, Role, prepare
from formulations.types import (
    BaselineRun,
    Certificate,
    Formulation,
    MilpSolver,
    ObjectiveSpec,
    Provenance,
    RateSource,
    Refit,
    Sense,
    SimulateOptions,
    Solution,
    Table,
    Verification,
    require_solution,
)


class LlmFormulation(Formulation[LlmInputs, LlmView, LlmDeployment]):
    kind = "llm"
    inputs_model = LlmInputs
    deployment_model = LlmDeployment
    objective = ObjectiveSpec("cost", UNIT_USD_PER_H, Sense.MINIMIZE)

    def prepare(self, inputs: LlmInputs) -> LlmView:
        return prepare(inputs)

    def solve(self, view: LlmView, solver: MilpSolver) -> Solution[LlmDeployment]:
        built = build(view)
        result = require_solution(solver.solve(built.model), context="plan")
        deployment = deployment_of(view, built.replicas(result), built.slices(result))
        cost = verify(view, deployment).objective_value
        return Solution(deployment, Certificate.of(result, cost))

    def verify(self, view: LlmView, deployment: LlmDeployment) -> Verification:
        return verify(view, deployment)

    def tables(self, view: LlmView, deployment: LlmDeployment) -> list[Table]:
        return tables(view, deployment)

    def rate_sources(self, view: LlmView) -> list[RateSource]:
        """Profiled rates (``max_rate_qps``, a Melange example) are measured; the others come
        from the iteration roofline with the calibrated FP16 efficiency, never validated
        against LLM serving measurements (expected error unknown)."""
        inputs = view.inputs
        if inputs.melange is not None:
            return [RateSource("all GPUs", Provenance.MEASURED, None, str(inputs.melange.path))]
        return [
            RateSource(g.name, Provenance.MEASURED, None, "scenario max_rate_qps (profiled)")
            if g.max_rate_qps is not None
            else RateSource(
                f"{g.name}, TP {', '.join(map(str, g.tp_degrees))}",
                Provenance.ROOFLINE,
                None,
                "iteration roofline (cost_models/llm/latency.py), FP16 efficiency from "
                "cost_models/perf/calibration.json",
            )
            for g in inputs.gpus
        ]

    def baselines(
        self, view: LlmView, solver: MilpSolver, solution: Solution[LlmDeployment]
    ) -> list[BaselineRun[LlmDeployment]]:
        return baselines(view, solver)

    def headline(self, view: LlmView, deployment: LlmDeployment) -> dict[str, Any]:
        gpus: dict[str, int] = {}
        for plan in deployment.pools:
            pool = view.pool(plan.pool)
            if pool is not None:
                gpus[pool.gpu] = gpus.get(pool.gpu, 0) + plan.replicas * pool.tp
        return {
            "cost_usd_per_h": verify(view, deployment).objective_value,
            "gpus": sum(gpus.values()),
            "mix": ", ".join(f"{count} x {g}" for g, count in sorted(gpus.items())),
            "batching": deployment.batching.value,
        }

    def refit(
        self, view: LlmView, deployment: LlmDeployment, solver: MilpSolver
    ) -> Refit[LlmDeployment]:
        """At most the committed replicas per pool; the new traffic's slices re-assigned
        over them, the replicas it does not need released (``refit.py``)."""
        return refit(view, deployment, solver)

    def explain_infeasible(self, view: LlmView, context: Any) -> str:
        unservable = []
        for b, label in enumerate(view.bucket_labels):
            caps = [
                view.cap(p.key, Batching.CONTINUOUS)
                for p in view.pools
                if p.role is not Role.DECODE
            ]
            if view.rate_qps[b] > 0 and all(c is None or c[b] <= 0 for c in caps):
                unservable.append(label)
        if unservable:
            slo = view.inputs.slo
            within = f" within TTFT {slo.ttft_ms:g} ms and TPOT {slo.tpot_ms:g} ms" if slo else ""
            return (
                f"no GPU type and TP degree serves bucket(s) {', '.join(unservable)}{within} "
                "(prompt too slow, or the KV cache too small for one request)"
            )
        limits = ", ".join(f"{g} <= {n}" for g, n in view.max_gpus.items() if n is not None)
        return (
            f"the available GPUs ({limits}) cannot serve {float(view.rate_qps.sum()):g} "
            "requests/s within the SLOs"
        )

    def simulate(
        self,
        view: LlmView,
        deployment: LlmDeployment,
        solver: MilpSolver,
        options: SimulateOptions,
    ) -> list[Table]:
        """Replay the plan's colocated pools and every continuous-batching baseline's on the
        replay core (see simulate.py), side by side: the common replay tables, then TTFT and
        TPOT per deployment and pool; honours the rate scale, the span and a trace file. A
        baseline without a plan, or batching whole requests (the core has no static-batching
        policy), is named as not replayed."""
        options.refuse_unsupported(self.kind, frozenset({"rate_scale", "duration_s", "trace"}))
        deployments = {PLAN: deployment}
        not_replayed: dict[str, str] = {}
        for run in baselines(view, solver):
            if run.deployment is None:
                not_replayed[run.name] = run.reason or "no plan"
            elif run.deployment.batching is not Batching.CONTINUOUS:
                not_replayed[run.name] = "request-level batching (no continuous batching)"
            else:
                deployments[run.name] = run.deployment
        return simulate_tables(view, deployments, options, not_replayed)
