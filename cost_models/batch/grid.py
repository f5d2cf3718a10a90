"""Score every (M, B, T) candidate of a grid for one arrival process (one hour).

One ``buffer.BufferModel`` per arrival process serves every (B, T); all memory sizes
share each buffer, since memory only changes the service time s(k, M). Per candidate this gives
the percentile latency (ms), the expected Lambda cost per request (USD), and the mean
number of concurrent executions (Little's law: batches/s x mean service time).

BATCH's released optimizer (``solver.py: solveOptimizationProblem``) prices a candidate at
its percentile batch size (``getPercentileBatchSize`` then ``getCostRequest``);
``paper_cost_per_request_usd`` reproduces that rule so the benchmark can show both.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Protocol

import numpy as np
from numpy.typing import NDArray

from cost_models.batch.arrivals import MAP, FloatArray
from cost_models.batch.aws_lambda import cost_per_batch_usd
from cost_models.batch.buffer import BufferModel, BufferOutcome
from cost_models.batch.latency import (
    NO_COLD_START,
    ColdStart,
    cost_per_request_usd,
    latency_cdf,
    latency_percentile_ms,
)
from cost_models.units import MS_PER_S


class ServiceModel(Protocol):
    def service_ms(self, memory_mb: FloatArray, batch_size: int) -> FloatArray: ...


@dataclass(frozen=True)
class Grid:
    """Candidate memory sizes (MB), batch sizes and timeouts (s)."""

    memory_mb: FloatArray
    batch_sizes: NDArray[np.int64]
    timeouts_s: FloatArray

    @property
    def shape(self) -> tuple[int, int, int]:
        return (len(self.memory_mb), len(self.batch_sizes), len(self.timeouts_s))


@dataclass(frozen=True)
class Scores:
    """Per-candidate figures, arrays of shape (memories, batch sizes, timeouts)."""

    within_slo: FloatArray  # share of requests with latency <= the SLO
    cost_per_request_usd: FloatArray
    concurrency: FloatArray  # mean concurrent Lambda executions


def _outcomes(
    arrivals: MAP, grid: Grid, service: ServiceModel, time_step_s: float
) -> Iterator[tuple[int, int, BufferOutcome, FloatArray]]:
    """(b, t, buffer outcome, s(k, M) for every grid memory) for every (B, T) of the grid."""
    max_steps = round(float(grid.timeouts_s.max()) / time_step_s)
    buffers = BufferModel(arrivals, int(grid.batch_sizes.max()), time_step_s, max_steps)
    for b, batch in enumerate(grid.batch_sizes):
        service_ms = service.service_ms(grid.memory_mb, int(batch))
        for t, timeout_s in enumerate(grid.timeouts_s):
            yield b, t, buffers.outcome(int(batch), float(timeout_s)), service_ms


def score(
    arrivals: MAP,
    grid: Grid,
    service: ServiceModel,
    slo_ms: float,
    price_usd_per_gb_s: float,
    time_step_s: float,
    cold: ColdStart = NO_COLD_START,
) -> Scores:
    """Share within the SLO, cost and concurrency of every candidate (timeouts: whole steps)."""
    within = np.empty(grid.shape)
    cost = np.empty(grid.shape)
    concurrency = np.empty(grid.shape)
    rate = arrivals.rate_qps
    for b, t, outcome, service_ms in _outcomes(arrivals, grid, service, time_step_s):
        within[:, b, t] = latency_cdf(outcome, service_ms, slo_ms, cold)
        cost[:, b, t] = cost_per_request_usd(
            outcome, service_ms, grid.memory_mb, price_usd_per_gb_s
        )
        mean_service_s = service_ms @ outcome.batch_size_probs / MS_PER_S
        concurrency[:, b, t] = rate / outcome.mean_batch_size * mean_service_s
    return Scores(within, cost, concurrency)


def latency_percentiles(
    arrivals: MAP,
    grid: Grid,
    service: ServiceModel,
    quantile: float,
    time_step_s: float,
    cold: ColdStart = NO_COLD_START,
) -> FloatArray:
    """The percentile latency (ms) of every candidate, shape (memories, batch sizes, timeouts)."""
    latency = np.empty(grid.shape)
    for b, t, outcome, service_ms in _outcomes(arrivals, grid, service, time_step_s):
        latency[:, b, t] = latency_percentile_ms(outcome, service_ms, quantile, cold)
    return latency


def paper_cost_per_request_usd(
    outcome: BufferOutcome,
    service_ms: FloatArray,
    memory_mb: FloatArray,
    quantile: float,
    price_usd_per_gb_s: float,
) -> FloatArray:
    """BATCH's rule: the cost of one batch of the percentile batch size, per request."""
    cum = np.cumsum(outcome.batch_size_probs)
    k = int(np.argmax(cum >= quantile - 1e-12)) + 1
    per_batch = cost_per_batch_usd(service_ms[:, k - 1 : k], memory_mb, price_usd_per_gb_s)
    return per_batch[:, 0] / k
