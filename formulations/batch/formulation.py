"""The BATCH formulation (``kind = "batch"``): serverless inference with adaptive batching.

Modules: ``inputs`` (schema), ``view`` (per-hour MAPs, the scored grid, the exact
candidate set), ``milp`` (math and model), ``deployment``, ``verify``, ``baselines``,
``tables``. The cost model is ``cost_models/batch/``.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from cost_models.batch.grid import latency_percentiles
from cost_models.units import UNIT_USD
from formulations.batch import baselines as base
from formulations.batch.deployment import BatchDeployment
from formulations.batch.inputs import BatchInputs
from formulations.batch.milp import solve_plan
from formulations.batch.simulate import PLAN, REPLAYED_BASELINES, simulate_tables
from formulations.batch.tables import USD_PER_MILLION, arrivals_table, plan_table
from formulations.batch.verify import count_changes, evaluate, hour_figures, verify
from formulations.batch.view import BatchView, prepare
from formulations.model import Sense
from formulations.types import (
    BaselineRun,
    Formulation,
    InfeasibleError,
    MilpSolver,
    ObjectiveSpec,
    Refit,
    SimulateOptions,
    Solution,
    Table,
    Verification,
    run_baseline,
)


class BatchFormulation(Formulation[BatchInputs, BatchView, BatchDeployment]):
    kind = "batch"
    inputs_model = BatchInputs
    deployment_model = BatchDeployment
    objective = ObjectiveSpec("lambda_cost", UNIT_USD, Sense.MINIMIZE)

    def prepare(self, inputs: BatchInputs) -> BatchView:
        return prepare(inputs)

    def solve(self, view: BatchView, solver: MilpSolver) -> Solution[BatchDeployment]:
        for h in range(len(view.hours)):
            if not view.feasible[h].any():
                raise InfeasibleError(self.explain_infeasible(view, h))
        return solve_plan(view, solver, view.inputs.max_config_changes)

    def verify(self, view: BatchView, deployment: BatchDeployment) -> Verification:
        return verify(view, deployment)

    def tables(self, view: BatchView, deployment: BatchDeployment) -> list[Table]:
        return [plan_table(view, deployment), arrivals_table(view)]

    def headline(
        self, view: BatchView, deployment: BatchDeployment
    ) -> dict[str, float | int | str | None]:
        figures = [
            hour_figures(view, h, c) for h, c in zip(view.hours, deployment.hours, strict=True)
        ]
        requests = sum(h.requests for h in view.hours)
        cost = sum(f.cost_usd for f in figures)
        return {
            "cost_per_million_usd": round(cost / requests * USD_PER_MILLION, 4),
            f"worst_latency_{view.inputs.percentile}_ms": round(
                max(f.latency_ms for f in figures), 1
            ),
            "config_changes": count_changes(deployment),
        }

    def baselines(
        self, view: BatchView, solver: MilpSolver, solution: Solution[BatchDeployment]
    ) -> list[BaselineRun[BatchDeployment]]:
        return [
            run_baseline(
                "lambda_no_batching",
                "B = 1, cheapest grid memory meeting the SLO each hour (BATCH SC '20 Sec. V)",
                lambda: base.no_batching(view),
            ),
            run_baseline(
                "batch_released_rule",
                "BATCH solver.py solveOptimizationProblem/minimizeCost: B = 20, grid over M "
                "and T, priced at the percentile batch size (getCostRequest)",
                lambda: base.batch_released_rule(view),
            ),
            run_baseline(
                "per_hour_grid_search",
                "cheapest feasible grid configuration each hour, no change limit",
                lambda: base.per_hour_grid_search(view),
            ),
            run_baseline(
                "best_fixed_config",
                "one (M, B, T) for the whole trace, cheapest feasible in every hour",
                lambda: base.best_fixed_config(view),
            ),
        ]

    def refit(
        self, view: BatchView, deployment: BatchDeployment, solver: MilpSolver
    ) -> Refit[BatchDeployment]:
        """Keep every hour's configuration (``hours[h].memory_mb``, ``batch_size``,
        ``timeout_s``: all the deployment holds, so nothing is re-derived) and re-score it
        under the scenario's arrivals, SLO and prices. It covers the scenario when every
        hour's percentile latency is within ``slo_ms`` and its mean concurrency within
        ``max_concurrency``; each hour that is not is a shortfall (the limit as required,
        what the configuration achieves as available)."""
        return Refit(deployment, evaluate(view, deployment).shortfalls)

    # ------------------------------------------------------------------ replay (issue 12)
    def simulate(
        self,
        view: BatchView,
        deployment: BatchDeployment,
        solver: MilpSolver,
        options: SimulateOptions,
    ) -> list[Table]:
        """Replay the plan and every baseline through the buffer on the replay core
        (``formulations/batch/simulate.py``): the common tables, then the analytic against
        the replayed latency percentile per interval; honours the rate scale, the span and
        a trace file."""
        options.refuse_unsupported(self.kind, frozenset({"rate_scale", "duration_s", "trace"}))
        deployments = {PLAN: deployment}
        for name, make in REPLAYED_BASELINES.items():
            try:
                deployments[name] = make(view)
            except InfeasibleError:
                continue  # a baseline without a plan in this scenario
        return simulate_tables(view, deployments, options)

    def explain_infeasible(self, view: BatchView, context: Any) -> str:
        inputs = view.inputs
        if isinstance(context, int):
            hour = view.hours[context]
            ok_concurrency = view.scores[context].concurrency <= inputs.max_concurrency
            percentiles = latency_percentiles(
                hour.arrivals, view.grid, view.service, view.quantile, inputs.time_step_s, view.cold
            )
            latency = np.where(ok_concurrency, percentiles, np.inf)
            if not np.isfinite(latency).any():
                return (
                    f"hour {context}: every grid configuration exceeds max_concurrency "
                    f"{inputs.max_concurrency:g}"
                )
            flat = int(np.argmin(latency))
            m, b, t = view.config(flat)
            return (
                f"hour {context} (rate {view.hours[context].rate_qps:.3g} requests/s): no grid "
                f"configuration meets {inputs.percentile} <= {inputs.slo_ms:g} ms; the lowest "
                f"reachable {inputs.percentile} is {latency.ravel()[flat]:.1f} ms "
                f"(memory {m} MB, batch {b}, timeout {t:g} s)"
            )
        return (
            f"no plan changes configuration at most max_config_changes = "
            f"{inputs.max_config_changes} times while meeting the SLO every hour"
        )
