"""BATCH cost model: MAP statistics and fit, buffer distributions, Lambda cost and latency.

Golden numbers are derived by hand in the comments.
"""

from __future__ import annotations

import numpy as np
import pytest

from cost_models.batch.arrivals import MAP, correlated_h2, fit_map2, poisson, sample_inter_arrivals
from cost_models.batch.aws_lambda import (
    PRICE_X86_USD_PER_GB_S,
    MeasuredTable,
    PerformanceModel,
    billed_ms,
    vcpus,
)
from cost_models.batch.buffer import buffer_outcome
from cost_models.batch.latency import ColdStart, cost_per_request_usd, latency_percentile_ms
from cost_models.batch.simulate import replay
from cost_models.errors import DataError

# A bursty MAP(2): H2 with p = 0.2 of mean 1/6 s and 0.8 of mean 1/60 s, correlation g = 0.6.
BURSTY = correlated_h2(0.2, 0.5 / 3, 0.05 / 3, 0.6)


def test_correlated_h2_statistics_by_hand() -> None:
    # mean = 0.2 / 6 + 0.8 / 60 = 0.046667 s -> rate 21.4286 /s.
    # E[X^2] = 2 (0.2 / 36 + 0.8 / 3600) = 0.0115556; SCV = 0.0115556 / 0.0021778 - 1 = 4.30612.
    # Var of the phase means = p (1-p) (1/6 - 1/60)^2 = 0.16 * 0.0225 = 0.0036;
    # Var(X) = 0.0115556 - 0.0021778 = 0.0093778; rho1 = 0.6 * 0.0036 / 0.0093778 = 0.230332.
    assert BURSTY.rate_qps == pytest.approx(21.428571, rel=1e-6)
    assert BURSTY.scv == pytest.approx(4.306122, rel=1e-6)
    assert BURSTY.lag1_autocorrelation == pytest.approx(0.230332, rel=1e-5)


def test_poisson_is_the_one_phase_map() -> None:
    arrivals = poisson(7.0)
    assert arrivals.phases == 1
    assert arrivals.rate_qps == pytest.approx(7.0)
    assert arrivals.scv == pytest.approx(1.0)
    assert arrivals.lag1_autocorrelation == pytest.approx(0.0, abs=1e-12)


def test_fit_recovers_a_known_map_from_seeded_samples() -> None:
    samples = sample_inter_arrivals(BURSTY, 200_000, np.random.default_rng(7))
    fit = fit_map2(samples)
    assert fit.method == "h2-3moment+lag1"
    assert not fit.third_moment_adjusted and not fit.lag1_clipped
    rates = np.sort(-np.diag(fit.map.d0))
    np.testing.assert_allclose(rates, [6.0, 60.0], rtol=0.05)
    # phase-1 (slow) stationary share after an arrival recovers p = 0.2
    slow = int(np.argmin(-np.diag(fit.map.d0)))
    assert fit.map.arrival_phase_stationary[slow] == pytest.approx(0.2, abs=0.02)
    # g from the diagonal of the phase-after-arrival matrix: P_ss = (1 - g) p + g
    after = fit.map.d1[slow, slow] / -fit.map.d0[slow, slow]
    p = fit.map.arrival_phase_stationary[slow]
    assert (after - p) / (1 - p) == pytest.approx(0.6, abs=0.05)
    assert fit.map.lag1_autocorrelation == pytest.approx(BURSTY.lag1_autocorrelation, abs=0.02)


def test_fit_of_poisson_samples_is_poisson() -> None:
    samples = np.random.default_rng(3).exponential(1 / 12.0, 50_000)
    fit = fit_map2(samples)
    assert fit.method == "poisson"
    assert fit.map.rate_qps == pytest.approx(12.0, rel=0.02)


def test_poisson_batch_size_distribution_closed_form() -> None:
    # Poisson 20/s, T = 0.1 s: lam T = 2 arrivals expected after the first; B = 5.
    # P(K = k) = e^-2 2^(k-1) / (k-1)!: 0.135335, 0.270671, 0.270671, 0.180447 (k = 1..4),
    # and P(K = 5) = 1 - 0.857123 = 0.142877. E[K] = 2.924859.
    out = buffer_outcome(poisson(20.0), 5, 0.1)
    np.testing.assert_allclose(
        out.batch_size_probs, [0.135335, 0.270671, 0.270671, 0.180447, 0.142877], atol=2e-6
    )
    assert out.mean_batch_size == pytest.approx(2.924859, abs=2e-6)
    # request level: k P(K = k) / E[K] -> 0.046271 for k = 1, 0.244246 for k = 5.
    assert out.request_size_probs[0] == pytest.approx(0.046271, abs=2e-6)
    assert out.request_size_probs[4] == pytest.approx(0.244246, abs=2e-6)
    # requests' atoms carry exactly the request-level size distribution
    by_size = np.bincount(out.atom_size, weights=out.atom_mass, minlength=6)[1:]
    np.testing.assert_allclose(by_size, out.request_size_probs, atol=1e-9)


def test_batch_size_one_is_no_batching() -> None:
    out = buffer_outcome(BURSTY, 1, 0.3)
    np.testing.assert_allclose(out.batch_size_probs, [1.0])
    assert np.all(out.wait_s == 0.0)
    service = np.array([[250.0]])
    assert latency_percentile_ms(out, service, 0.99)[0] == 250.0
    # 250 ms at 2048 MB: 0.25 s * 2 GB * 0.0000166667 + 0.0000002 = 0.0000085333 USD.
    cost = cost_per_request_usd(out, service, np.array([2048.0]), PRICE_X86_USD_PER_GB_S)
    assert cost[0] == pytest.approx(0.25 * 2 * 0.0000166667 + 0.0000002, rel=1e-12)


def test_deterministic_timer_only_wait() -> None:
    # B larger than any realistic batch: every batch releases at T, the first request waits
    # exactly T and the others less; the max latency is T + s(K).
    out = buffer_outcome(poisson(2.0), 40, 0.05)
    assert out.wait_s.max() == pytest.approx(0.05)
    assert out.batch_size_probs[-1] < 1e-12


def test_performance_model_by_hand() -> None:
    model = PerformanceModel(
        fixed_ms=10.0, setup_ms=20.0, per_request_ms=100.0, parallel_fraction=0.5
    )
    # 1769 MB = 1 vCPU: slowdown 1 -> s(k) = 10 + 20 + 100 k.
    # 3538 MB = 2 vCPUs: slowdown 0.5 + 0.25 = 0.75 -> s(2) = 10 + 220 * 0.75 = 175.
    # 884.5 MB = 0.5 vCPU: slowdown 0.5/0.5 + 0.5/0.5 = 2 -> s(1) = 10 + 120 * 2 = 250.
    s = model.service_ms(np.array([1769.0, 3538.0, 884.5]), 2)
    np.testing.assert_allclose(s, [[130.0, 230.0], [100.0, 175.0], [250.0, 450.0]])
    assert vcpus(np.array([10240.0]))[0] == pytest.approx(10240 / 1769)


def test_cost_per_request_by_hand() -> None:
    # Poisson 20/s, B = 5, T = 0.1: P(K) from the closed-form test; s(k) = 100.5 k ms billed
    # as ceil -> 101, 201, 302, 402, 503 ms. At 1024 MB (1 GB):
    # E[batch cost] = sum_k P(K = k) (billed_k / 1000 * 0.0000166667 + 0.0000002)
    # = 0.0000166667 * 0.001 * (13.6688 + 54.4049 + 81.7426 + 72.5397 + 71.8671) + 0.0000002
    # = 0.0000166667 * 0.294223 + 0.0000002 = 0.0000051037; / 2.924859 = 0.00000174495 USD.
    out = buffer_outcome(poisson(20.0), 5, 0.1)
    service = np.array([[100.5 * k for k in range(1, 6)]])
    cost = cost_per_request_usd(out, service, np.array([1024.0]), PRICE_X86_USD_PER_GB_S)
    assert cost[0] == pytest.approx(0.00000174495, rel=1e-5)
    np.testing.assert_allclose(billed_ms(np.array([100.5, 201.0])), [101.0, 201.0])


def test_cold_start_shifts_the_tail() -> None:
    out = buffer_outcome(poisson(20.0), 5, 0.1)
    service = np.array([[50.0 + 10 * k for k in range(1, 6)]])
    warm = latency_percentile_ms(out, service, 0.95)[0]
    always = latency_percentile_ms(out, service, 0.95, ColdStart(prob=1.0, ms=300.0))[0]
    assert always == pytest.approx(warm + 300.0)


# Analytic vs Monte Carlo: tolerance 3% of the simulated percentile (observed <= 0.5% at
# 100k requests; the model's grid error is <= T / 240 and the replay's sampling error of a
# p99 at 100k requests is about 1%).
MC_CASES = [
    (poisson(20.0), 5, 0.1),
    (poisson(20.0), 20, 0.5),
    (poisson(80.0), 10, 0.05),
    (BURSTY, 5, 0.1),
    (BURSTY, 20, 0.5),
    (BURSTY, 10, 0.05),
]


@pytest.mark.parametrize(("arrivals", "batch", "timeout_s"), MC_CASES)
@pytest.mark.parametrize("quantile", [0.5, 0.9, 0.95, 0.99])
def test_analytic_percentile_matches_monte_carlo(
    arrivals: MAP, batch: int, timeout_s: float, quantile: float
) -> None:
    # Service short against T (10 + 5 k ms) so that the wait, not s(k), sets the tail.
    service = np.array([[10.0 + 5.0 * k for k in range(1, batch + 1)]])
    out = buffer_outcome(arrivals, batch, timeout_s)
    sim = replay(arrivals, batch, timeout_s, service[0], 100_000, np.random.default_rng(11))
    analytic = latency_percentile_ms(out, service, quantile)[0]
    simulated = float(np.quantile(sim.latency_ms, quantile))
    assert analytic == pytest.approx(simulated, rel=0.03)
    assert out.mean_batch_size == pytest.approx(sim.batch_sizes.mean(), rel=0.02)


def test_measured_table_rows_and_errors() -> None:
    table = MeasuredTable(np.array([1024.0, 2048.0]), np.array([[100.0, 180.0], [60.0, 100.0]]))
    np.testing.assert_allclose(table.service_ms(np.array([2048.0]), 2), [[60.0, 100.0]])
    with pytest.raises(DataError, match="memory_mb"):
        table.service_ms(np.array([1536.0]), 2)
    with pytest.raises(DataError, match="batch_sizes"):
        table.service_ms(np.array([1024.0]), 3)


@pytest.mark.parametrize(
    ("d0", "d1", "message"),
    [
        ([[-1.0, 0.0]], [[1.0, 0.0]], "square"),
        ([[-1.0]], [[-1.0]], "d1 >= 0"),
        ([[-1.0]], [[2.0]], "summing to 0"),
        ([[0.0]], [[0.0]], "arrival rate"),
    ],
)
def test_bad_map_is_named(d0: list[list[float]], d1: list[list[float]], message: str) -> None:
    with pytest.raises(DataError, match=message):
        MAP(np.array(d0), np.array(d1))


def test_bad_buffer_and_fit_inputs() -> None:
    with pytest.raises(DataError, match="batch_size"):
        buffer_outcome(poisson(1.0), 0, 0.1)
    with pytest.raises(DataError, match="timeout_s"):
        buffer_outcome(poisson(1.0), 2, 0.0)
    with pytest.raises(DataError, match="inter_arrivals_s"):
        fit_map2(np.array([1.0, -1.0, 2.0]))
    with pytest.raises(DataError, match="percentile"):
        latency_percentile_ms(buffer_outcome(poisson(1.0), 2, 0.1), np.array([[1.0, 2.0]]), 1.0)
    with pytest.raises(DataError, match="parallel_fraction"):
        PerformanceModel(0.0, 0.0, 1.0, 1.5)
