"""Independent verifier of a BATCH deployment: every constraint recomputed from the cost model.

For each interval the chosen (M, B, T) is re-scored from scratch: the Lambda share's
arrival process (the hour's MAP thinned by ``lambda_share``, ``arrivals.thinned``), the
buffer of that B and T alone (``cost_models.batch.buffer.buffer_outcome`` on
T / ``time_step_s`` steps, not the shared chain the view used), the service time s(k, M),
the percentile latency, the mean concurrency and the expected cost; each VM offer's
capacity under the SLO and its bill (``cost_models.batch.vm.VmOffer``), against the load
Lambda does not take. Nothing is read from the solver or the view's scores.

The objective: total expected cost (USD) in cost mode; in latency mode the request-weighted
mean over intervals of the percentile latency (ms), with the budget checked.
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass

import numpy as np

from cost_models.batch.arrivals import thinned
from cost_models.batch.aws_lambda import MEMORY_MAX_MB, MEMORY_MIN_MB
from cost_models.batch.buffer import buffer_outcome
from cost_models.batch.latency import cost_per_request_usd, latency_percentile_ms
from cost_models.batch.vm import SLO_SERVICE_FACTOR
from cost_models.errors import DataError
from cost_models.units import MS_PER_S, UNIT_MS, UNIT_USD
from formulations.batch.deployment import BatchDeployment, HourConfig
from formulations.batch.inputs import MAX_TIMEOUT_STEPS
from formulations.batch.view import BatchView, Hour, interval_budget_usd
from formulations.tolerances import geq, leq
from formulations.types import Shortfall, Verification

STEP_TOL = 1e-6  # a timeout within this many steps of a whole number of steps is whole
UNIT_CONCURRENCY = "concurrent executions"
UNIT_QPS = "requests/s"


@dataclass(frozen=True)
class HourFigures:
    """What one interval's configuration gives, recomputed from the cost model.

    ``latency_ms`` bounds the percentile of all requests: Lambda's percentile on its share
    and the VMs' SLO batch bound (2 s_v(b)) of the offers in use, whichever is larger (the
    mixture's percentile is at most the larger of its parts')."""

    latency_ms: float
    lambda_latency_ms: float  # Lambda's percentile on its own share (nan when off)
    cost_per_request_usd: float  # Lambda and VMs, per request of the interval
    cost_usd: float
    lambda_cost_usd: float
    vm_cost_usd: float
    concurrency: float  # mean concurrent Lambda executions
    mean_batch_size: float  # Lambda's (0 when off)
    vm_capacity_qps: float  # what the interval's VMs carry within the SLO
    vm_load_qps: float  # what Lambda leaves to them


def hour_figures(view: BatchView, hour: Hour, config: HourConfig) -> HourFigures:
    """Re-score one configuration under one interval's arrivals (unknown VM offers raise
    DataError naming them)."""
    share = config.lambda_share
    lambda_latency = math.nan
    lambda_cost = concurrency = mean_batch = 0.0
    key = config.lambda_key
    if key is not None and share > 0:
        memory_mb, batch_size, timeout_s = key
        arrivals = hour.arrivals if share == 1 else thinned(hour.arrivals, share)
        steps = round(timeout_s / view.inputs.time_step_s)
        outcome = buffer_outcome(arrivals, batch_size, timeout_s, max(steps, 1))
        memory = np.array([float(memory_mb)])
        service_ms = view.service.service_ms(memory, batch_size)
        lambda_latency = float(
            latency_percentile_ms(outcome, service_ms, view.quantile, view.cold)[0]
        )
        per_request = float(
            cost_per_request_usd(outcome, service_ms, memory, view.price_usd_per_gb_s)[0]
        )
        lambda_cost = per_request * hour.requests * share
        mean_service_s = float(service_ms[0] @ outcome.batch_size_probs) / MS_PER_S
        concurrency = share * hour.rate_qps / outcome.mean_batch_size * mean_service_s
        mean_batch = outcome.mean_batch_size
    vm_cost = vm_capacity = 0.0
    vm_bound_ms = 0.0
    offers = {o.name: o for o in view.hybrid.offers} if view.hybrid is not None else {}
    spec = view.inputs.hybrid
    interval_h = view.inputs.arrivals.duration_h
    for name, count in config.vms.items():
        if name not in offers:
            raise DataError(None, "vms", f"offers of the scenario ({', '.join(offers) or 'none'})")
        if count == 0:
            continue
        offer = offers[name]
        assert spec is not None  # offers exist only in a hybrid scenario
        vm_cost += count * offer.cost_usd(interval_h)
        vm_capacity += count * offer.capacity_qps(
            view.inputs.slo_limit_ms, spec.max_utilization, interval_h
        )
        index = offer.batch_index(view.inputs.slo_limit_ms)
        if index is not None:
            vm_bound_ms = max(vm_bound_ms, SLO_SERVICE_FACTOR * float(offer.service_ms[index]))
    total = lambda_cost + vm_cost
    latency = max(lambda_latency if share > 0 else 0.0, vm_bound_ms if share < 1 else 0.0)
    return HourFigures(
        latency_ms=latency,
        lambda_latency_ms=lambda_latency,
        cost_per_request_usd=total / hour.requests,
        cost_usd=total,
        lambda_cost_usd=lambda_cost,
        vm_cost_usd=vm_cost,
        concurrency=concurrency,
        mean_batch_size=mean_batch,
        vm_capacity_qps=vm_capacity,
        vm_load_qps=(1 - share) * hour.rate_qps,
    )


@dataclass
class Evaluation:
    """A deployment re-scored under a scenario: expected cost, the objective, violations,
    and the hours' shortfalls (each also a violation): ``Shortfall(what, required,
    available, unit)`` with the limit as ``required`` and what the plan achieves as
    ``available``."""

    cost_usd: float
    objective: float
    violations: list[str]
    shortfalls: list[Shortfall]


def _config_errors(view: BatchView, h: int, config: HourConfig) -> list[str]:
    """What makes an interval's configuration unusable before it can be scored."""
    inputs = view.inputs
    errors = []
    if config.lambda_key is not None:
        memory_mb, _, timeout_s = config.lambda_key
        if not MEMORY_MIN_MB <= memory_mb <= MEMORY_MAX_MB:
            errors.append(
                f"hour {h}: memory_mb {memory_mb} outside Lambda's "
                f"{MEMORY_MIN_MB}..{MEMORY_MAX_MB} MB"
            )
        steps = timeout_s / inputs.time_step_s
        if steps > MAX_TIMEOUT_STEPS:
            errors.append(
                f"hour {h}: timeout_s {timeout_s} is more than {MAX_TIMEOUT_STEPS} "
                f"steps of time_step_s {inputs.time_step_s}"
            )
        elif abs(steps - round(steps)) > STEP_TOL or round(steps) < 1:
            errors.append(
                f"hour {h}: timeout_s {timeout_s} is not a multiple of time_step_s "
                f"{inputs.time_step_s}"
            )
    offers = {o.name: o for o in view.hybrid.offers} if view.hybrid is not None else {}
    for name, count in config.vms.items():
        if name not in offers:
            errors.append(f"hour {h}: VM offer {name!r} is not in the scenario")
        elif count > offers[name].max_count:
            errors.append(f"hour {h}: {count} VMs of {name} > max_count {offers[name].max_count}")
    return errors


def evaluate(view: BatchView, deployment: BatchDeployment) -> Evaluation:
    """Every hour's configuration re-scored from the cost model, against the SLO, the
    concurrency limit, the VM capacity, the budget and the change limit."""
    inputs = view.inputs
    violations: list[str] = []
    shortfalls: list[Shortfall] = []
    if len(deployment.hours) != len(view.hours):
        violations.append(
            f"deployment has {len(deployment.hours)} intervals, the scenario {len(view.hours)}"
        )
        return Evaluation(math.inf, math.inf, violations, shortfalls)
    total = 0.0
    weighted_latency = 0.0
    weights = view.request_weights()
    for h, (hour, config) in enumerate(zip(view.hours, deployment.hours, strict=True)):
        errors = _config_errors(view, h, config)
        if errors:
            violations += errors
            weighted_latency = math.inf
            continue
        try:
            figures = hour_figures(view, hour, config)
        except DataError as exc:  # a measured table without this memory or batch size
            violations.append(f"hour {h}: {exc}")
            weighted_latency = math.inf
            continue
        total += figures.cost_usd
        weighted_latency += weights[h] * figures.latency_ms
        _hour_limits(view, h, figures, violations, shortfalls)
    changes = count_changes(deployment)
    if inputs.max_config_changes is not None and changes > inputs.max_config_changes:
        violations.append(
            f"{changes} configuration changes > max_config_changes {inputs.max_config_changes}"
        )
    if inputs.budget_usd is not None and not leq(total, inputs.budget_usd):
        violations.append(f"cost {total:.4f} USD > budget_usd {inputs.budget_usd:g}")
        shortfalls.append(Shortfall("budget", inputs.budget_usd, total, UNIT_USD, resource=True))
    objective = total if inputs.objective == "cost" else weighted_latency
    return Evaluation(total, objective, violations, shortfalls)


def _hour_limits(
    view: BatchView,
    h: int,
    figures: HourFigures,
    violations: list[str],
    shortfalls: list[Shortfall],
) -> None:
    """The SLO, concurrency, VM capacity and per-hour budget of one interval."""
    inputs = view.inputs
    if not leq(figures.latency_ms, inputs.slo_limit_ms):
        violations.append(
            f"hour {h}: {inputs.percentile} latency {figures.latency_ms:.1f} ms > SLO "
            f"{inputs.slo_limit_ms:g} ms"
        )
        shortfalls.append(
            Shortfall(
                f"hour {h} {inputs.percentile} latency",
                inputs.slo_limit_ms,
                figures.latency_ms,
                UNIT_MS,
            )
        )
    if not leq(figures.concurrency, inputs.max_concurrency):
        violations.append(
            f"hour {h}: {figures.concurrency:.1f} concurrent executions > "
            f"max_concurrency {inputs.max_concurrency:g}"
        )
        shortfalls.append(
            Shortfall(
                f"hour {h} concurrency",
                inputs.max_concurrency,
                figures.concurrency,
                UNIT_CONCURRENCY,
                resource=True,
            )
        )
    if not geq(figures.vm_capacity_qps, figures.vm_load_qps):
        violations.append(
            f"hour {h}: VMs carry {figures.vm_capacity_qps:.2f} requests/s within the SLO, "
            f"{figures.vm_load_qps:.2f} requests/s are not routed to Lambda"
        )
        shortfalls.append(
            Shortfall(
                f"hour {h} VM capacity", figures.vm_load_qps, figures.vm_capacity_qps, UNIT_QPS
            )
        )
    budget = interval_budget_usd(inputs)
    if budget is not None and not leq(figures.cost_usd, budget):
        violations.append(
            f"hour {h}: cost {figures.cost_usd:.4f} USD > budget_usd_per_h "
            f"{inputs.budget_usd_per_h:g} x {inputs.arrivals.duration_h:g} h"
        )
        shortfalls.append(
            Shortfall(f"hour {h} budget", budget, figures.cost_usd, UNIT_USD, resource=True)
        )


def verify(view: BatchView, deployment: BatchDeployment) -> Verification:
    evaluation = evaluate(view, deployment)
    return Verification(evaluation.objective, evaluation.violations)


def count_changes(deployment: BatchDeployment) -> int:
    """Intervals whose Lambda configuration differs from the previous interval's."""
    hours = deployment.hours
    return sum(1 for a, b in itertools.pairwise(hours) if a.lambda_key != b.lambda_key)
