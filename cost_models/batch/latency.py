"""Request latency percentile and expected cost per request of a (M, B, T) configuration.

Latency of a request = its wait in the buffer + its batch's service time s(k, M)
(+ ``cold_start_ms`` with probability ``cold_start_prob``, an independent cold start of the
function that serves it). The percentile is read off the request-level distribution of
``buffer.BufferOutcome`` (exact to within dt/2 of the buffer's time grid).

Expected cost per request = E[cost of one batch] / E[K]
= sum_k P(K = k) (billed s(k, M) * M / 1024 * price_per_GB_s + price_per_request) / E[K].
BATCH's ``solver.py: getCostRequest`` instead prices the percentile batch size
(``getPercentileBatchSize``); the expectation is what a bill of many batches converges to.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from cost_models.batch.arrivals import FloatArray
from cost_models.batch.aws_lambda import cost_per_batch_usd
from cost_models.batch.buffer import BufferOutcome
from cost_models.errors import DataError
from cost_models.units import MS_PER_S

PERCENTILES = {"p50": 0.50, "p90": 0.90, "p95": 0.95, "p99": 0.99}


@dataclass(frozen=True)
class ColdStart:
    """Probability that a batch meets a cold function and the extra latency then (ms)."""

    prob: float = 0.0
    ms: float = 0.0

    def __post_init__(self) -> None:
        if not 0 <= self.prob <= 1:
            raise DataError(None, "cold_start_prob", f"0..1, got {self.prob}")
        if not self.ms >= 0:
            raise DataError(None, "cold_start_ms", f"a non-negative time in ms, got {self.ms}")


NO_COLD_START = ColdStart()


def latency_percentile_ms(
    outcome: BufferOutcome,
    service_ms: FloatArray,
    quantile: float,
    cold: ColdStart = NO_COLD_START,
) -> FloatArray:
    """Percentile latency (ms) for each row of ``service_ms`` (memories x batch sizes 1..B)."""
    if not 0 < quantile < 1:
        raise DataError(None, "percentile", f"a quantile strictly between 0 and 1, got {quantile}")
    lat = outcome.wait_s[None, :] * MS_PER_S + service_ms[:, outcome.atom_size - 1]
    mass = outcome.atom_mass
    if cold.prob > 0:
        lat = np.hstack([lat, lat + cold.ms])
        mass = np.concatenate([mass * (1 - cold.prob), mass * cold.prob])
    order = np.argsort(lat, axis=1)
    lat_sorted = np.take_along_axis(lat, order, axis=1)
    cum = np.cumsum(mass[order], axis=1)
    idx = np.argmax(cum >= quantile * cum[:, -1:] - 1e-12, axis=1)
    return lat_sorted[np.arange(lat.shape[0]), idx]


def latency_cdf(
    outcome: BufferOutcome,
    service_ms: FloatArray,
    latency_ms: float,
    cold: ColdStart = NO_COLD_START,
) -> FloatArray:
    """P(request latency <= ``latency_ms``) for each row of ``service_ms``.

    A configuration meets a percentile SLO q at x exactly when this is >= q (the
    percentile is the smallest latency whose CDF reaches q), without sorting the atoms.
    """
    wait_ms = outcome.wait_s[None, :] * MS_PER_S
    lat = wait_ms + service_ms[:, outcome.atom_size - 1]
    within = (lat <= latency_ms) @ outcome.atom_mass
    if cold.prob > 0:
        within = (1 - cold.prob) * within + cold.prob * (
            (lat + cold.ms <= latency_ms) @ outcome.atom_mass
        )
    return np.asarray(within, dtype=np.float64)


def cost_per_request_usd(
    outcome: BufferOutcome,
    service_ms: FloatArray,
    memory_mb: FloatArray,
    price_usd_per_gb_s: float,
) -> FloatArray:
    """Expected Lambda cost per request (USD) for each memory size."""
    per_batch = cost_per_batch_usd(service_ms, memory_mb, price_usd_per_gb_s)
    return per_batch @ outcome.batch_size_probs / outcome.mean_batch_size
