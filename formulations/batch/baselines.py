"""Baselines of the BATCH formulation, each a deployment of the same schema.

* ``lambda_no_batching``: every request its own invocation (B = 1), the cheapest grid
  memory meeting the SLO each hour (BATCH's "no batching" comparison, SC '20 Sec. V).
* ``batch_released_rule``: BATCH's optimizer as released (``solver.py:
  solveOptimizationProblem`` and ``minimizeCost``): one batch size, B = 20
  (``batches = range(20, 20+1)``), an exhaustive search each hour over the scenario's
  memory sizes and timeouts, keeping candidates with latency below the SLO and ranking
  them by BATCH's cost rule, the cost of one batch of the percentile batch size
  (``getPercentileBatchSize`` then ``getCostRequest``). Latency comes from our buffer
  model (BATCH's ``latencyCdfDetService`` approximates the wait as uniform).
* ``per_hour_grid_search``: the whole grid (every B) searched each hour for the cheapest
  feasible configuration, ignoring ``max_config_changes`` (what BATCH's search gives when
  run hour by hour on our grid).
* ``best_fixed_config``: the single (M, B, T) with the lowest cost over the whole trace
  among those feasible in every hour (no reconfiguration at all).

Hybrid scenarios (``[hybrid]``) add two baselines with VMs:

* ``mark_like_greedy``: MArk's proactive provisioning (Zhang et al., ATC '19; code
  ``marcoszh/MArk-Project``): the demand forecast is the rate times ``Times = 1.2``
  (``modules/scheduler.py: Scheduler.schedule``, which plans for 1.2 x the recent
  maximum), each VM offer is (capacity, price per interval, launch overhead = 180 s of its
  price: ``instanceInfo.append([Capacity[i], prize_list[i], prize_list[i] * 180])``), and
  ``modules/proactive_controller.py: ProactiveController.fill/findCheap`` adds, over the
  span from the first to the last hour with unmet forecast, one VM of the offer with the
  lowest cost per request it serves there (cost over the span plus the launch overhead,
  divided by the sum of min(residual, capacity)), until no hour is short. What differs:
  MArk forecasts with an LSTM and re-plans every minute; here the hourly rate is known and
  the plan is made once; MArk has no instance quota, here an offer at ``max_count`` is
  skipped. Lambda takes what the VMs cannot (MArk's serverless spill-over for bursts):
  the smallest share on the split grid covering the rest, at the cheapest Lambda
  configuration feasible on that thinned MAP (BATCH's grid search on it).
* ``sagemaker_like_endpoint``: a SageMaker real-time endpoint, all requests on
  provisioned instances of one on-demand offer (the lowest price per peak request/s),
  scaled by target tracking on ``SageMakerVariantInvocationsPerInstance`` with AWS's
  recommended target ``MAX_RPS x SAFETY_FACTOR x 60`` invocations per minute,
  ``SAFETY_FACTOR = 0.5`` (docs.aws.amazon.com/sagemaker/latest/dg/
  endpoint-scaling-loadtest.html). Target tracking holds the metric at the target, so in
  a steady hour it runs ``ceil(rate / (MAX_RPS x 0.5))`` instances, within
  [1, ``max_count``] (an endpoint keeps at least one instance). MAX_RPS is the offer's peak
  rate under the SLO (``VmOffer.max_rps``). Prices are the EC2 catalog's (SageMaker's
  ``ml.*`` prices are higher: not modelled).
"""

from __future__ import annotations

import math

import numpy as np

from cost_models.batch.buffer import BufferModel, buffer_outcome
from cost_models.batch.grid import paper_cost_per_request_usd
from cost_models.batch.latency import cost_per_request_usd, latency_percentile_ms
from cost_models.errors import DataError
from cost_models.units import MS_PER_S
from formulations.batch.deployment import BatchDeployment, HourConfig
from formulations.batch.view import BatchView, HybridView
from formulations.types import InfeasibleError

BATCH_RELEASED_BATCH_SIZE = 20  # solver.py: solveOptimizationProblem, batches = [20]
MARK_OVERPROVISION = 1.2  # MArk modules/scheduler.py: Times = 1.2
MARK_LAUNCH_OVERHEAD_S = 180.0  # MArk modules/scheduler.py: launch cost = price x 180 s
SAGEMAKER_SAFETY_FACTOR = 0.5  # AWS SageMaker docs, endpoint-scaling-loadtest.html
SAGEMAKER_MIN_INSTANCES = 1  # an endpoint variant runs at least one instance
SECONDS_PER_HOUR = 3600.0


def no_batching(view: BatchView) -> BatchDeployment:
    memory = view.grid.memory_mb
    timeout_s = float(view.grid.timeouts_s.min())
    service_ms = view.service.service_ms(memory, 1)
    configs = []
    for h, hour in enumerate(view.hours):
        outcome = buffer_outcome(hour.arrivals, 1, timeout_s)
        latency = latency_percentile_ms(outcome, service_ms, view.quantile, view.cold)
        concurrency = hour.rate_qps * service_ms[:, 0] / MS_PER_S
        ok = (latency <= view.inputs.slo_limit_ms) & (concurrency <= view.inputs.max_concurrency)
        if not ok.any():
            raise InfeasibleError(
                f"hour {h}: no memory size meets {view.inputs.percentile} <= "
                f"{view.inputs.slo_limit_ms:g} ms without batching (best {latency.min():.1f} ms)"
            )
        per_request = cost_per_request_usd(outcome, service_ms, memory, view.price_usd_per_gb_s)
        cost = np.where(ok, per_request, np.inf)
        m = int(np.argmin(cost))
        configs.append(HourConfig(memory_mb=int(memory[m]), batch_size=1, timeout_s=timeout_s))
    return BatchDeployment(hours=configs)


def batch_released_rule(view: BatchView) -> BatchDeployment:
    memory = view.grid.memory_mb
    batch = BATCH_RELEASED_BATCH_SIZE
    try:
        service_ms = view.service.service_ms(memory, batch)
    except DataError as exc:
        raise InfeasibleError(
            f"B = {batch} needs service times up to batch {batch}: {exc}"
        ) from None
    max_steps = round(float(view.grid.timeouts_s.max()) / view.inputs.time_step_s)
    configs = []
    for h, hour in enumerate(view.hours):
        buffers = BufferModel(hour.arrivals, batch, view.inputs.time_step_s, max_steps)
        best: tuple[float, int, float] | None = None
        for timeout_s in view.grid.timeouts_s:
            outcome = buffers.outcome(batch, float(timeout_s))
            latency = latency_percentile_ms(outcome, service_ms, view.quantile, view.cold)
            cost = paper_cost_per_request_usd(
                outcome, service_ms, memory, view.quantile, view.price_usd_per_gb_s
            )
            cost = np.where(latency < view.inputs.slo_limit_ms, cost, np.inf)
            m = int(np.argmin(cost))
            if np.isfinite(cost[m]) and (best is None or cost[m] < best[0]):
                best = (float(cost[m]), m, float(timeout_s))
        if best is None:
            raise InfeasibleError(
                f"hour {h}: no (M, T) with B = {batch} meets {view.inputs.percentile} <= "
                f"{view.inputs.slo_limit_ms:g} ms"
            )
        configs.append(
            HourConfig(memory_mb=int(memory[best[1]]), batch_size=batch, timeout_s=best[2])
        )
    return BatchDeployment(hours=configs)


def per_hour_grid_search(view: BatchView) -> BatchDeployment:
    configs = []
    for h in range(len(view.hours)):
        cost = np.where(view.feasible[h], view.hourly_cost_usd[h], np.inf)
        if not np.isfinite(cost).any():
            raise InfeasibleError(f"hour {h}: no grid configuration meets the SLO")
        configs.append(_config(view, int(np.argmin(cost))))
    return BatchDeployment(hours=configs)


def best_fixed_config(view: BatchView) -> BatchDeployment:
    total = np.where(view.feasible.all(axis=0), view.hourly_cost_usd.sum(axis=0), np.inf)
    if not np.isfinite(total).any():
        raise InfeasibleError("no single grid configuration meets the SLO in every hour")
    return BatchDeployment(hours=[_config(view, int(np.argmin(total)))] * len(view.hours))


def _config(view: BatchView, flat: int) -> HourConfig:
    m, b, t = view.config(flat)
    return HourConfig(memory_mb=m, batch_size=b, timeout_s=t)


def mark_like_greedy(view: BatchView) -> BatchDeployment:
    hybrid = _hybrid_of(view)
    interval_h = view.inputs.arrivals.duration_h
    n_hours, n_offers = len(view.hours), len(hybrid.offers)
    residual = np.array([h.rate_qps * MARK_OVERPROVISION for h in view.hours])
    counts = np.zeros((n_hours, n_offers), dtype=np.int64)
    per_interval = hybrid.vm_cost_usd
    overhead = np.array(
        [o.price_usd_per_h * MARK_LAUNCH_OVERHEAD_S / SECONDS_PER_HOUR for o in hybrid.offers]
    )
    while (residual > 0).any():
        short = np.flatnonzero(residual > 0)
        span = np.arange(short[0], short[-1] + 1)
        best: tuple[float, int] | None = None
        for v in range(n_offers):
            capacity = float(hybrid.capacity_qps[v])
            if capacity <= 0 or (counts[span, v] >= hybrid.max_counts[v]).any():
                continue
            served = np.minimum(np.maximum(residual[span], 0.0), capacity).sum()
            per_request = (per_interval[v] * len(span) + overhead[v]) / served
            if best is None or per_request <= best[0]:  # findCheap keeps the last of ties
                best = (per_request, v)
        if best is None:  # every offer at its quota: the rest spills over to Lambda
            break
        counts[span, best[1]] += 1
        residual[span] -= hybrid.capacity_qps[best[1]]
    return _with_lambda_spill(view, hybrid, counts, interval_h)


def _with_lambda_spill(
    view: BatchView, hybrid: HybridView, counts: np.ndarray, interval_h: float
) -> BatchDeployment:
    """Lambda takes the smallest grid share the VMs leave, at its cheapest feasible
    configuration on that share's thinned MAP."""
    configs = []
    for h, hour in enumerate(view.hours):
        capacity = float(counts[h] @ hybrid.capacity_qps)
        needed = max(0.0, 1.0 - capacity / hour.rate_qps)
        vms = {hybrid.names[v]: int(c) for v, c in enumerate(counts[h]) if c > 0}
        chosen = None
        for k, share in enumerate(view.shares):
            if share < needed - 1e-12:
                continue
            if share == 0:
                chosen = HourConfig(lambda_share=0.0, vms=vms)
                break
            cost = np.where(view.lambda_feasible[h, k], view.lambda_cost_usd[h, k], np.inf)
            if np.isfinite(cost).any():
                m, b, t = view.config(int(np.argmin(cost)))
                chosen = HourConfig(
                    memory_mb=m, batch_size=b, timeout_s=t, lambda_share=float(share), vms=vms
                )
                break
        if chosen is None:
            raise InfeasibleError(
                f"hour {h}: the VMs leave {needed:.0%} of the requests and no Lambda "
                "configuration meets the SLO on that share or more"
            )
        configs.append(chosen)
    return BatchDeployment(hours=configs)


def sagemaker_like_endpoint(view: BatchView) -> BatchDeployment:
    hybrid = _hybrid_of(view)
    slo_ms = view.inputs.slo_limit_ms
    on_demand = [
        (o.price_usd_per_h / o.max_rps(slo_ms), v)
        for v, o in enumerate(hybrid.offers)
        if o.market == "on_demand" and o.max_rps(slo_ms) > 0 and o.max_count > 0
    ]
    if not on_demand:
        raise InfeasibleError("no on-demand VM offer serves a batch within the SLO")
    _, v = min(on_demand)
    offer = hybrid.offers[v]
    target_rps = offer.max_rps(slo_ms) * SAGEMAKER_SAFETY_FACTOR
    configs = []
    for hour in view.hours:
        wanted = math.ceil(hour.rate_qps / target_rps * (1 - 1e-12))
        count = min(max(wanted, SAGEMAKER_MIN_INSTANCES), offer.max_count)
        configs.append(HourConfig(lambda_share=0.0, vms={offer.name: count}))
    return BatchDeployment(hours=configs)


def _hybrid_of(view: BatchView) -> HybridView:
    if view.hybrid is None:
        raise InfeasibleError("no VM offers in the scenario ([hybrid])")
    return view.hybrid
