"""The BATCH formulation (``kind = "batch"``): serverless inference with adaptive batching.

Modules: ``inputs`` (schema), ``view`` (per-hour MAPs, the scored grid per Lambda share,
the VM offers, the exact candidate set), ``milp`` (math and model), ``deployment``,
``verify``, ``baselines``, ``tables``. The cost model is ``cost_models/batch/``.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy.typing import NDArray

from cost_models.batch.arrivals import thinned
from cost_models.batch.grid import latency_percentiles, score
from cost_models.batch.vm import SLO_SERVICE_FACTOR
from cost_models.units import UNIT_MS, UNIT_USD
from formulations.batch import baselines as base
from formulations.batch.deployment import BatchDeployment
from formulations.batch.inputs import BatchInputs
from formulations.batch.milp import solve_plan
from formulations.batch.simulate import PLAN, REPLAYED_BASELINES, lambda_only, simulate_tables
from formulations.batch.tables import USD_PER_MILLION, arrivals_table, plan_table
from formulations.batch.verify import count_changes, evaluate, hour_figures, verify
from formulations.batch.view import (
    BUDGET_TOL,
    BatchView,
    lambda_allowed,
    plan_cost_usd,
    prepare,
)
from formulations.model import Sense
from formulations.types import (
    BaselineRun,
    Formulation,
    InfeasibleError,
    InputError,
    MilpSolver,
    ObjectiveSpec,
    Refit,
    SimulateOptions,
    Solution,
    Table,
    Verification,
    run_baseline,
)

LAMBDA_COST = ObjectiveSpec("plan_cost", UNIT_USD, Sense.MINIMIZE)
LATENCY = ObjectiveSpec("mean_hourly_percentile_latency", UNIT_MS, Sense.MINIMIZE)


class BatchFormulation(Formulation[BatchInputs, BatchView, BatchDeployment]):
    kind = "batch"
    inputs_model = BatchInputs
    deployment_model = BatchDeployment
    objective = LAMBDA_COST

    def objective_of(self, view: BatchView) -> ObjectiveSpec:
        """The plan's cost (Lambda and VMs), or in latency mode the request-weighted mean of
        the hourly percentile latency."""
        return LAMBDA_COST if view.inputs.objective == "cost" else LATENCY

    def prepare(self, inputs: BatchInputs) -> BatchView:
        return prepare(inputs)

    def solve(self, view: BatchView, solver: MilpSolver) -> Solution[BatchDeployment]:
        if view.latency_ms is None:
            cost = plan_cost_usd(view)
            for h in range(len(view.hours)):
                if not np.isfinite(cost[h]).any():
                    raise InfeasibleError(self.explain_infeasible(view, h))
        else:
            _check_budget(view)
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
        p = view.inputs.percentile
        out: dict[str, float | int | str | None] = {
            "cost_per_million_usd": round(cost / requests * USD_PER_MILLION, 4),
            f"worst_latency_{p}_ms": round(max(f.latency_ms for f in figures), 1),
            f"mean_latency_{p}_ms": round(
                float(view.request_weights() @ [f.latency_ms for f in figures]), 1
            ),
            "config_changes": count_changes(deployment),
        }
        if view.hybrid is not None:
            out["vm_cost_usd"] = round(sum(f.vm_cost_usd for f in figures), 4)
            out["lambda_cost_usd"] = round(sum(f.lambda_cost_usd for f in figures), 4)
        return out

    def baselines(
        self, view: BatchView, solver: MilpSolver, solution: Solution[BatchDeployment]
    ) -> list[BaselineRun[BatchDeployment]]:
        runs = [
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
        if view.hybrid is not None:
            runs += [
                run_baseline(
                    "mark_like_greedy",
                    "MArk-Project proactive_controller.py fill/findCheap over 1.2 x the rate "
                    "(scheduler.py Times), launch overhead 180 s; Lambda takes the rest",
                    lambda: base.mark_like_greedy(view),
                ),
                run_baseline(
                    "sagemaker_like_endpoint",
                    "SageMaker target tracking on InvocationsPerInstance, target MAX_RPS x "
                    "0.5 x 60 (endpoint-scaling-loadtest), one on-demand type, no Lambda",
                    lambda: base.sagemaker_like_endpoint(view),
                ),
            ]
        return runs

    def refit(
        self, view: BatchView, deployment: BatchDeployment, solver: MilpSolver
    ) -> Refit[BatchDeployment]:
        """Keep every hour's decisions (``hours[h]``: the Lambda ``memory_mb``,
        ``batch_size``, ``timeout_s``, its ``lambda_share`` and the VM counts ``vms``: all
        the deployment holds, so nothing is re-derived) and re-score them under the
        scenario's arrivals, SLO and prices. It covers the scenario when every hour's
        percentile latency is within ``slo_ms``, Lambda's mean concurrency within
        ``max_concurrency``, the VMs carry the load Lambda does not take, and the cost is
        within the budget (latency mode); each that is not is a shortfall (the limit as
        required, what the plan achieves as available)."""
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
        if not lambda_only(deployment):
            raise InputError(
                None,
                "hybrid",
                "a Lambda-only plan: planner simulate does not replay provisioned VMs yet "
                "(the hybrid plan's Lambda share is checked analytically by the verifier)",
            )
        deployments = {PLAN: deployment}
        for name, make in REPLAYED_BASELINES.items():
            try:
                deployments[name] = make(view)
            except InfeasibleError:
                continue  # a baseline without a plan in this scenario
        return simulate_tables(view, deployments, options)

    def explain_infeasible(self, view: BatchView, context: Any) -> str:
        inputs = view.inputs
        if not isinstance(context, int):
            return (
                f"no plan changes configuration at most max_config_changes = "
                f"{inputs.max_config_changes} times while meeting the SLO every hour"
            )
        hour = view.hours[context]
        best = lowest_reachable(view, context)
        head = (
            f"hour {context} (rate {hour.rate_qps:.3g} requests/s): no "
            + ("plan of Lambda and VMs" if view.hybrid is not None else "grid configuration")
            + f" meets {inputs.percentile} <= {inputs.slo_limit_ms:g} ms"
        )
        if best is None:
            return (
                f"{head}; every grid configuration exceeds max_concurrency "
                f"{inputs.max_concurrency:g}"
            )
        latency_ms, how = best
        return f"{head}; the lowest reachable {inputs.percentile} is {latency_ms:.1f} ms ({how})"


def lowest_reachable(view: BatchView, h: int) -> tuple[float, str] | None:
    """The lowest percentile latency hour ``h`` can reach and how (None: no Lambda
    configuration within the concurrency quota and no VMs for the whole load): over every
    share on the split grid whose rest the VMs can carry, the larger of Lambda's lowest
    percentile on that share and the VMs' SLO batch bound."""
    inputs = view.inputs
    hour = view.hours[h]
    best: tuple[float, str] | None = None
    for k, share in enumerate(view.shares):
        if view.hybrid is not None and not _vms_can_carry(view, h, float(share)):
            continue
        if share == 0:
            candidate = (_vm_bound_ms(view), "all requests on VMs")
        else:
            arrivals = hour.arrivals if share == 1 else thinned(hour.arrivals, float(share))
            percentiles = latency_percentiles(
                arrivals, view.grid, view.service, view.quantile, inputs.time_step_s, view.cold
            )
            concurrency_ok = _concurrency(view, h, k) <= inputs.max_concurrency
            latency = np.where(concurrency_ok, percentiles.ravel(), np.inf)
            if not np.isfinite(latency).any():
                continue
            flat = int(np.argmin(latency))
            m, b, t = view.config(flat)
            value = float(latency[flat])
            where = f"memory {m} MB, batch {b}, timeout {t:g} s"
            if share < 1:
                value = max(value, _vm_bound_ms(view))
                where = f"Lambda share {share:g}: {where}; VMs the rest"
            candidate = (value, where)
        if best is None or candidate[0] < best[0]:
            best = candidate
    return best


def _concurrency(view: BatchView, h: int, k: int) -> NDArray[np.float64]:
    """Mean Lambda concurrency of every grid configuration at share index k."""
    share = float(view.shares[k])
    if share == 1:
        return np.asarray(view.scores[h].concurrency.ravel(), dtype=np.float64)
    arrivals = thinned(view.hours[h].arrivals, share)
    inputs = view.inputs
    s = score(
        arrivals,
        view.grid,
        view.service,
        inputs.slo_limit_ms,
        view.price_usd_per_gb_s,
        inputs.time_step_s,
        view.cold,
    )
    return np.asarray(s.concurrency.ravel(), dtype=np.float64)


def _vms_can_carry(view: BatchView, h: int, share: float) -> bool:
    hybrid = view.hybrid
    assert hybrid is not None
    capacity = float(hybrid.capacity_qps @ hybrid.max_counts)
    return (1 - share) * view.hours[h].rate_qps <= capacity * (1 + 1e-9)


def _vm_bound_ms(view: BatchView) -> float:
    """The smallest SLO batch bound 2 s_v(b) of the usable VM offers (inf without any)."""
    hybrid = view.hybrid
    if hybrid is None:
        return float("inf")
    bounds = [
        SLO_SERVICE_FACTOR * float(o.service_ms[i])
        for o in hybrid.offers
        if o.max_count > 0 and (i := o.batch_index(view.inputs.slo_limit_ms)) is not None
    ]
    return min(bounds, default=float("inf"))


def _check_budget(view: BatchView) -> None:
    """Latency mode: raise InfeasibleError naming the hour (or the trace) whose budget no
    configuration meets, with the lowest cost reachable."""
    inputs = view.inputs
    allowed = lambda_allowed(view)[:, -1, :]
    cheapest = np.where(view.feasible, view.hourly_cost_usd, np.inf).min(axis=1)
    for h in range(len(view.hours)):
        if not allowed[h].any():
            limit = (
                f"costs at most budget_usd_per_h {inputs.budget_usd_per_h:g}"
                if inputs.budget_usd_per_h is not None
                else "is allowed"
            )
            raise InfeasibleError(
                f"hour {h}: no grid configuration {limit} within the limits; the cheapest "
                f"costs {cheapest[h]:.4f} USD"
            )
    if inputs.budget_usd is not None and cheapest.sum() > inputs.budget_usd * (1 + BUDGET_TOL):
        raise InfeasibleError(
            f"budget_usd {inputs.budget_usd:g}: the cheapest plan within the limits costs "
            f"{cheapest.sum():.4f} USD"
        )
