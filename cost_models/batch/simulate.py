"""Monte Carlo replay of the BATCH buffer, to check the analytic model (``buffer``, ``latency``).

Arrivals are sampled from the MAP (``arrivals.sample_inter_arrivals``); a batch opens at
its first request and closes at the B-th request or T seconds after the first; every
request's latency is its wait plus its batch's service time (plus an independent cold
start per batch with the given probability). Lambda serves every batch at once.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from cost_models.batch.arrivals import MAP, FloatArray, sample_inter_arrivals
from cost_models.batch.latency import NO_COLD_START, ColdStart
from cost_models.units import MS_PER_S


@dataclass(frozen=True)
class Replay:
    """Per-request outcomes of one replay."""

    wait_s: FloatArray
    batch_size: NDArray[np.int64]  # size of each request's batch
    latency_ms: FloatArray
    batch_sizes: NDArray[np.int64]  # size of each released batch, in order


def replay(
    arrivals: MAP,
    batch_size: int,
    timeout_s: float,
    service_ms: FloatArray,
    requests: int,
    rng: np.random.Generator,
    cold: ColdStart = NO_COLD_START,
) -> Replay:
    """Replay ``requests`` arrivals through the buffer; ``service_ms[k-1]`` = s(k) at one M."""
    times = np.cumsum(sample_inter_arrivals(arrivals, requests, rng))
    wait = np.empty(requests)
    size = np.empty(requests, dtype=np.int64)
    sizes: list[int] = []
    first = 0
    while first < requests:
        window_end = np.searchsorted(times, times[first] + timeout_s, side="right")
        last = min(first + batch_size, window_end, requests)  # exclusive
        release = times[last - 1] if last - first == batch_size else times[first] + timeout_s
        wait[first:last] = release - times[first:last]
        size[first:last] = last - first
        sizes.append(last - first)
        first = last
    cold_extra = np.where(rng.random(len(sizes)) < cold.prob, cold.ms, 0.0)
    latency = wait * MS_PER_S + service_ms[size - 1] + np.repeat(cold_extra, sizes)
    return Replay(wait, size, latency, np.array(sizes, dtype=np.int64))
