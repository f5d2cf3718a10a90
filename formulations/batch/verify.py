"""Independent verifier of a BATCH deployment: every constraint recomputed from the cost model.

For each interval the chosen (M, B, T) is re-scored from scratch: the buffer of that B and
T alone (``cost_models.batch.buffer.buffer_outcome`` on T / ``time_step_s`` steps, not the
shared chain the view used), the service time s(k, M), the percentile latency, the mean
concurrency and the expected cost. Nothing is read from the solver or the view's scores.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass

import numpy as np

from cost_models.batch.aws_lambda import MEMORY_MAX_MB, MEMORY_MIN_MB
from cost_models.batch.buffer import buffer_outcome
from cost_models.batch.latency import cost_per_request_usd, latency_percentile_ms
from cost_models.errors import DataError
from cost_models.units import MS_PER_S, UNIT_MS
from formulations.batch.deployment import BatchDeployment, HourConfig
from formulations.batch.inputs import MAX_TIMEOUT_STEPS
from formulations.batch.view import BatchView, Hour
from formulations.tolerances import leq
from formulations.types import Shortfall, Verification

STEP_TOL = 1e-6  # a timeout within this many steps of a whole number of steps is whole


@dataclass(frozen=True)
class HourFigures:
    """What one interval's configuration gives, recomputed from the cost model."""

    latency_ms: float  # the SLO percentile
    cost_per_request_usd: float
    cost_usd: float
    concurrency: float
    mean_batch_size: float


def hour_figures(view: BatchView, hour: Hour, config: HourConfig) -> HourFigures:
    """Re-score one configuration under one interval's arrivals."""
    steps = round(config.timeout_s / view.inputs.time_step_s)
    outcome = buffer_outcome(hour.arrivals, config.batch_size, config.timeout_s, max(steps, 1))
    memory = np.array([float(config.memory_mb)])
    service_ms = view.service.service_ms(memory, config.batch_size)
    latency = float(latency_percentile_ms(outcome, service_ms, view.quantile, view.cold)[0])
    per_request = float(
        cost_per_request_usd(outcome, service_ms, memory, view.price_usd_per_gb_s)[0]
    )
    mean_service_s = float(service_ms[0] @ outcome.batch_size_probs) / MS_PER_S
    concurrency = hour.rate_qps / outcome.mean_batch_size * mean_service_s
    return HourFigures(
        latency, per_request, per_request * hour.requests, concurrency, outcome.mean_batch_size
    )


UNIT_CONCURRENCY = "concurrent executions"


@dataclass
class Evaluation:
    """A deployment re-scored under a scenario: expected cost, violations, and the hours'
    shortfalls (each also a violation): ``Shortfall(what, required, available, unit)`` with
    the limit as ``required`` and what the configuration achieves as ``available``."""

    cost_usd: float
    violations: list[str]
    shortfalls: list[Shortfall]


def evaluate(view: BatchView, deployment: BatchDeployment) -> Evaluation:
    """Every hour's configuration re-scored from the cost model, against the SLO, the
    concurrency limit and the change limit."""
    inputs = view.inputs
    violations: list[str] = []
    shortfalls: list[Shortfall] = []
    if len(deployment.hours) != len(view.hours):
        violations.append(
            f"deployment has {len(deployment.hours)} intervals, the scenario {len(view.hours)}"
        )
        return Evaluation(float("inf"), violations, shortfalls)
    total = 0.0
    for h, (hour, config) in enumerate(zip(view.hours, deployment.hours, strict=True)):
        if not MEMORY_MIN_MB <= config.memory_mb <= MEMORY_MAX_MB:
            violations.append(
                f"hour {h}: memory_mb {config.memory_mb} outside Lambda's "
                f"{MEMORY_MIN_MB}..{MEMORY_MAX_MB} MB"
            )
            continue
        steps = config.timeout_s / inputs.time_step_s
        if steps > MAX_TIMEOUT_STEPS:
            violations.append(
                f"hour {h}: timeout_s {config.timeout_s} is more than {MAX_TIMEOUT_STEPS} "
                f"steps of time_step_s {inputs.time_step_s}"
            )
            continue
        if abs(steps - round(steps)) > STEP_TOL or round(steps) < 1:
            violations.append(
                f"hour {h}: timeout_s {config.timeout_s} is not a multiple of time_step_s "
                f"{inputs.time_step_s}"
            )
            continue
        try:
            figures = hour_figures(view, hour, config)
        except DataError as exc:  # a measured table without this memory or batch size
            violations.append(f"hour {h}: {exc}")
            continue
        total += figures.cost_usd
        if not leq(figures.latency_ms, inputs.slo_ms):
            violations.append(
                f"hour {h}: {inputs.percentile} latency {figures.latency_ms:.1f} ms > SLO "
                f"{inputs.slo_ms:g} ms"
            )
            shortfalls.append(
                Shortfall(
                    f"hour {h} {inputs.percentile} latency",
                    inputs.slo_ms,
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
                )
            )
    changes = count_changes(deployment)
    if inputs.max_config_changes is not None and changes > inputs.max_config_changes:
        violations.append(
            f"{changes} configuration changes > max_config_changes {inputs.max_config_changes}"
        )
    return Evaluation(total, violations, shortfalls)


def verify(view: BatchView, deployment: BatchDeployment) -> Verification:
    evaluation = evaluate(view, deployment)
    return Verification(evaluation.cost_usd, evaluation.violations)


def count_changes(deployment: BatchDeployment) -> int:
    """Intervals whose configuration differs from the previous interval's."""
    hours = deployment.hours
    return sum(1 for a, b in itertools.pairwise(hours) if a != b)
