"""The core against queueing theory, the sketch against numpy, memory and seeds.

Mean waits: M/M/1 and M/D/1 (Pollaczek-Khinchine) at utilisation 0.7 and M/M/4 against
Erlang C, over 200,000 requests (the million-request check, within 2%, is in
``benchmarks/replay_speed.py``). The tolerance is three standard errors of the mean from
Whitt's asymptotic variance of the M/M/1 queue length (W. Whitt, "Planning queueing
simulations", Management Science 35(11), 1989: relative variance 2(1 + rho) / (rho (1 - rho)^2)
per unit of simulated time in mean service times), 4.1% here; M/D/1 and M/M/c vary less.
"""

from __future__ import annotations

import math
import tracemalloc

import numpy as np
import pytest

from formulations.replay.arrivals import Mix, poisson
from formulations.replay.core import Simulation, Station, seeded
from formulations.replay.policies import ExponentialService, FixedBatch, ProfileService, Service
from formulations.replay.stats import LogHistogram, Recorder

RHO = 0.7  # utilisation of every golden test
REQUESTS = 200_000


def tolerance(requests: int, rho: float = RHO) -> float:
    """Three standard errors (relative) of an M/M/1 mean over ``requests`` arrivals."""
    simulated = requests / rho  # in mean service times
    return 3 * math.sqrt(2 * (1 + rho) / (rho * (1 - rho) ** 2) / simulated)


def mean_wait_s(service: Service, rate_qps: float, workers: int, requests: int, seed: int) -> float:
    rng = seeded(seed)
    recorder = Recorder(1, warmup_requests=requests // 20)
    station = Station("server", FixedBatch(service), workers)
    Simulation([station], recorder, [math.inf]).run(poisson(rate_qps, requests, rng))
    counts = recorder.classes[0]
    return counts.wait_sum_s / counts.served


def erlang_c_wait_s(rate_qps: float, mean_s: float, workers: int) -> float:
    """Mean wait in M/M/c (Erlang C)."""
    a = rate_qps * mean_s  # offered load in Erlangs
    rho = a / workers
    below = sum(a**k / math.factorial(k) for k in range(workers))
    top = a**workers / math.factorial(workers) / (1 - rho)
    return top / (below + top) * mean_s / (workers * (1 - rho))


def test_mm1_mean_wait() -> None:
    wait = mean_wait_s(ExponentialService(1.0, seeded(11)), RHO, 1, REQUESTS, 1)
    assert wait == pytest.approx(RHO / (1 - RHO), rel=tolerance(REQUESTS))  # 2.333 s


def test_md1_mean_wait() -> None:
    wait = mean_wait_s(ProfileService([1.0]), RHO, 1, REQUESTS, 2)
    assert wait == pytest.approx(RHO / (2 * (1 - RHO)), rel=tolerance(REQUESTS))  # 1.167 s


def test_mmc_mean_wait_against_erlang_c() -> None:
    workers = 4
    wait = mean_wait_s(ExponentialService(1.0, seeded(13)), RHO * workers, workers, REQUESTS, 3)
    expected = erlang_c_wait_s(RHO * workers, 1.0, workers)  # 0.3 s
    assert wait == pytest.approx(expected, rel=tolerance(REQUESTS))


def test_erlang_c_by_hand() -> None:
    # one server: Erlang C is M/M/1, P(wait) = rho and Wq = rho / (1 - rho)
    assert erlang_c_wait_s(0.5, 1.0, 1) == pytest.approx(1.0)
    # two servers, a = 1: C = (1/2 * 2) / (1 + 1 + 1) = 1/3; Wq = C / (2 - 1) = 1/3
    assert erlang_c_wait_s(1.0, 1.0, 2) == pytest.approx(1 / 3)


@pytest.mark.parametrize("quantile", [0.5, 0.9, 0.95, 0.99, 0.999])
def test_sketch_against_numpy_percentiles(quantile: float) -> None:
    values = np.random.default_rng(5).lognormal(np.log(0.02), 1.5, 200_000)
    sketch = LogHistogram()
    for part in np.array_split(values, 7):  # streamed in pieces, as the recorder does
        sketch.add(part)
    exact = float(np.percentile(values, 100 * quantile, method="inverted_cdf"))
    assert sketch.quantile_s(quantile) == pytest.approx(exact, rel=0.0059)  # half a bin


def test_sketches_merge_exactly() -> None:
    values = np.random.default_rng(6).exponential(1.0, 10_000)
    whole, a, b = LogHistogram(), LogHistogram(), LogHistogram()
    whole.add(values)
    a.add(values[:3000])
    b.add(values[3000:])
    a.merge(b)
    assert np.array_equal(a.counts, whole.counts)


def _peak_bytes(requests: int) -> int:
    tracemalloc.start()
    mean_wait_s(ExponentialService(1.0, seeded(1)), RHO, 1, requests, 1)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return peak


def test_memory_does_not_grow_with_requests() -> None:
    small, large = _peak_bytes(20_000), _peak_bytes(200_000)
    assert large < 1.25 * small, (small, large)


def test_a_seed_reproduces_a_run_and_another_seed_differs() -> None:
    def run(seed: int) -> tuple[float, list[float]]:
        rng = seeded(seed)
        recorder = Recorder(2)
        station = Station("s", FixedBatch(ExponentialService(1.0, rng), 4, 0.5))
        chunks = poisson(2.0, 20_000, rng, Mix((0.3, 0.7)))
        Simulation([station], recorder, [3.0, 5.0]).run(chunks)
        c = recorder.classes
        return c[0].latency_sum_s + c[1].late, c[1].histogram.counts.tolist()

    assert run(4) == run(4)
    assert run(4) != run(5)
