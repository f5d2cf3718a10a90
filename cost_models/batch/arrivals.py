"""Markovian arrival processes (MAPs): validation, statistics, sampling and fitting.

A MAP with m phases is a pair of m x m rate matrices (per second): ``d0`` holds the phase
changes without an arrival (off-diagonal >= 0, negative diagonal), ``d1 >= 0`` the
transitions that emit an arrival; ``d0 + d1`` is a generator (rows sum to 0). Poisson at
rate lam is the one-phase MAP ``d0 = [[-lam]], d1 = [[lam]]``.

Fitting (``fit_map2``) is moment matching, the standard closed-form route for MAP(2)
(e.g. Heindl, Telek & Horvath's MAP(2) moment fitting; Bobbio, Horvath & Telek 2005):

1. the marginal is a two-phase hyperexponential H2(p, r1, r2) (mean times r1, r2 in s)
   matching the first three moments of the inter-arrival times exactly. With
   ``a_n = E[X^n] / n!`` the sequence ``a_n = p r1^n + (1-p) r2^n`` obeys
   ``a_{n+2} = s a_{n+1} - t a_n`` with ``s = r1 + r2``, ``t = r1 r2``, so
   ``s = (a3 - a1 a2) / (a2 - a1^2)``, ``t = s a1 - a2`` and r1, r2 are the roots of
   ``x^2 - s x + t``. H2 needs SCV > 1 and ``E[X^3] > 1.5 E[X^2]^2 / E[X]``; a third
   moment outside that range is moved to the nearest reachable value (reported);
2. the phase after an arrival is drawn from ``P = (1 - g) 1 pi + g I`` with
   ``pi = (p, 1 - p)``: the marginal stays H2 and the lag-k autocorrelation is
   ``rho_k = g^k Var(r_J) / Var(X)``, so g matches the sample lag-1 autocorrelation
   (clipped to the range where P stays a stochastic matrix).

SCV <= 1 + ``POISSON_SCV_TOL`` is fitted as Poisson (a MAP(2) of this family cannot have
SCV < 1; BATCH's traces are bursty, SCV > 1).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from cost_models.errors import DataError

FloatArray = NDArray[np.float64]

GENERATOR_TOL = 1e-6  # |row sum of d0 + d1| / max |d0| allowed (MAPs published to 6 digits)
POISSON_SCV_TOL = 0.02  # SCV within this of 1 (or below) is fitted as Poisson
H2_M3_MARGIN = 1.001  # third moment kept this factor above the H2 lower bound


@dataclass(frozen=True)
class MAP:
    """A Markovian arrival process; rates per second."""

    d0: FloatArray
    d1: FloatArray

    def __post_init__(self) -> None:
        validate_map(self.d0, self.d1, None, "map")

    @property
    def phases(self) -> int:
        return int(self.d0.shape[0])

    @property
    def phase_stationary(self) -> FloatArray:
        """Stationary distribution of the phase process (generator d0 + d1), time-average."""
        return _stationary_generator(self.d0 + self.d1)

    @property
    def arrival_phase_stationary(self) -> FloatArray:
        """Phase just after an arrival, in steady state (embedded chain (-d0)^-1 d1)."""
        embedded = np.asarray(np.linalg.solve(-self.d0, self.d1), dtype=np.float64)
        return stationary_of_stochastic(embedded)

    @property
    def rate_qps(self) -> float:
        return float(self.phase_stationary @ self.d1.sum(axis=1))

    def moment_s(self, n: int) -> float:
        """E[X^n] of the stationary inter-arrival time X, in s^n."""
        inv = np.linalg.inv(-self.d0)
        vec = np.linalg.matrix_power(inv, n).sum(axis=1)
        return float(np.prod(np.arange(1, n + 1)) * self.arrival_phase_stationary @ vec)

    @property
    def scv(self) -> float:
        m1 = self.moment_s(1)
        return self.moment_s(2) / m1**2 - 1.0

    @property
    def lag1_autocorrelation(self) -> float:
        inv = np.linalg.inv(-self.d0)
        one = np.ones(self.phases)
        m1 = self.moment_s(1)
        var = self.moment_s(2) - m1**2
        joint = self.arrival_phase_stationary @ inv @ inv @ self.d1 @ inv @ one
        return float((joint - m1**2) / var)


def validate_map(d0: FloatArray, d1: FloatArray, file: str | None, key: str) -> None:
    """Raise DataError naming ``file`` and ``key`` unless (d0, d1) is a MAP."""
    if d0.ndim != 2 or d0.shape[0] != d0.shape[1] or d0.shape != d1.shape or d0.size == 0:
        raise DataError(file, key, f"square d0 and d1 of one shape, got {d0.shape}, {d1.shape}")
    if not (np.all(np.isfinite(d0)) and np.all(np.isfinite(d1))):
        raise DataError(file, key, "finite rates")
    off = d0 - np.diag(np.diag(d0))
    if np.any(off < 0) or np.any(d1 < 0):
        raise DataError(file, key, "d1 >= 0 and off-diagonal d0 >= 0 (rates per second)")
    if np.any(np.abs((d0 + d1).sum(axis=1)) > GENERATOR_TOL * max(1.0, float(np.abs(d0).max()))):
        raise DataError(file, key, "rows of d0 + d1 summing to 0 (a generator)")
    if float(d1.sum()) <= 0:
        raise DataError(file, key, "some arrival rate in d1 > 0")
    try:
        np.linalg.inv(d0)
    except np.linalg.LinAlgError:
        raise DataError(file, key, "non-singular d0 (every phase eventually emits)") from None


def poisson(rate_qps: float) -> MAP:
    """Poisson arrivals as the one-phase MAP."""
    if not rate_qps > 0:
        raise DataError(None, "rate_qps", f"a positive rate, got {rate_qps}")
    return MAP(np.array([[-rate_qps]]), np.array([[rate_qps]]))


def thinned(arrivals: MAP, share: float) -> MAP:
    """The arrivals a Bernoulli split sends one way with probability ``share`` (0 < share <= 1).

    Every arrival of ``arrivals`` is routed independently, with probability ``share``, to
    this stream. An arrival transition kept (rate ``share d1``) emits; one sent elsewhere
    (rate ``(1 - share) d1``) only changes the phase, so the split stream is again a MAP:
    ``d0' = d0 + (1 - share) d1``, ``d1' = share d1`` (same phases, generator unchanged, rate
    ``share`` times the rate). Poisson at rate lam thins to Poisson at ``share lam``.
    """
    if not 0 < share <= 1:
        raise DataError(None, "lambda_share", f"a share in (0, 1], got {share}")
    return MAP(arrivals.d0 + (1.0 - share) * arrivals.d1, share * arrivals.d1)


def correlated_h2(p: float, mean1_s: float, mean2_s: float, gamma: float) -> MAP:
    """The MAP(2) of the module docstring: H2(p, mean1_s, mean2_s) marginal, correlation g."""
    pi = np.array([p, 1.0 - p])
    rates = np.array([1.0 / mean1_s, 1.0 / mean2_s])
    after = (1.0 - gamma) * np.outer(np.ones(2), pi) + gamma * np.eye(2)
    return MAP(-np.diag(rates), np.diag(rates) @ after)


def h2_balanced(rate_qps: float, scv: float, lag1_autocorrelation: float = 0.0) -> MAP:
    """A MAP(2) with the given rate, SCV (> 1) and lag-1 autocorrelation: balanced-means H2.

    Balanced means (each phase carries half the mean, the standard two-moment H2 fit):
    ``p = (1 + sqrt((scv - 1) / (scv + 1))) / 2``, mean times ``r1 = m / (2 p)`` and
    ``r2 = m / (2 (1 - p))``; then g = rho1 Var(X) / Var(r_J) (module docstring).
    """
    if not rate_qps > 0:
        raise DataError(None, "rate_qps", f"a positive rate, got {rate_qps}")
    if not scv > 1:
        raise DataError(None, "scv", f"a squared coefficient of variation > 1, got {scv}")
    mean_s = 1.0 / rate_qps
    p = 0.5 * (1.0 + np.sqrt((scv - 1.0) / (scv + 1.0)))
    r1, r2 = mean_s / (2.0 * p), mean_s / (2.0 * (1.0 - p))
    gamma = lag1_autocorrelation * scv * mean_s**2 / (p * (1.0 - p) * (r1 - r2) ** 2)
    low, high = _gamma_range(p)
    if not low <= gamma <= high:
        reach = (low * p * (1 - p) * (r1 - r2) ** 2 / (scv * mean_s**2), 1.0)
        raise DataError(
            None,
            "lag1_autocorrelation",
            f"a value in [{reach[0]:.3g}, {reach[1]:.3g}) for SCV {scv:g}, got "
            f"{lag1_autocorrelation}",
        )
    return correlated_h2(float(p), float(r1), float(r2), float(gamma))


def _gamma_range(p: float) -> tuple[float, float]:
    """g for which (1 - g) 1 pi + g I stays stochastic; the upper end stays below 1."""
    low = -min(p / (1.0 - p), (1.0 - p) / p)
    return low, 1.0 - 1e-9


@dataclass(frozen=True)
class MapFit:
    """A fitted MAP and what the fit matched."""

    map: MAP
    method: str  # "poisson" or "h2-3moment+lag1"
    third_moment_adjusted: bool  # the sample E[X^3] was outside H2's reachable range
    lag1_clipped: bool  # the sample lag-1 autocorrelation was outside the family's range


def fit_map2(inter_arrivals_s: FloatArray) -> MapFit:
    """Fit a MAP(2) to inter-arrival times (s) by three moments and lag-1 autocorrelation."""
    x = np.asarray(inter_arrivals_s, dtype=float)
    if x.ndim != 1 or x.size < 3 or np.any(~np.isfinite(x)) or np.any(x < 0) or x.sum() <= 0:
        raise DataError(None, "inter_arrivals_s", "at least 3 finite non-negative times")
    m1, m2, m3 = (float(np.mean(x**n)) for n in (1, 2, 3))
    scv = m2 / m1**2 - 1.0
    if scv <= 1.0 + POISSON_SCV_TOL:
        return MapFit(poisson(1.0 / m1), "poisson", False, False)
    m3_low = 1.5 * m2**2 / m1 * H2_M3_MARGIN
    adjusted = m3 < m3_low
    m3 = max(m3, m3_low)
    a1, a2, a3 = m1, m2 / 2.0, m3 / 6.0
    s = (a3 - a1 * a2) / (a2 - a1**2)
    t = s * a1 - a2
    disc = np.sqrt(max(s * s - 4.0 * t, 0.0))
    r1, r2 = (s + disc) / 2.0, (s - disc) / 2.0
    p = (a1 - r2) / (r1 - r2)
    xc = x - m1
    rho1 = float(np.mean(xc[:-1] * xc[1:]) / np.mean(xc**2))
    var_means = p * (1 - p) * (r1 - r2) ** 2
    gamma_wanted = rho1 * (m2 - m1**2) / var_means
    low, high = _gamma_range(p)
    gamma = min(max(gamma_wanted, low), high)
    fitted = correlated_h2(p, r1, r2, gamma)
    return MapFit(fitted, "h2-3moment+lag1", adjusted, gamma != gamma_wanted)


def sample_inter_arrivals(arrivals: MAP, count: int, rng: np.random.Generator) -> FloatArray:
    """``count`` consecutive stationary inter-arrival times (s) of ``arrivals``."""
    m = arrivals.phases
    exit_rate = -np.diag(arrivals.d0)
    # Jump probabilities from phase i: to j without arrival (d0 off-diagonal), with one (d1).
    jumps = np.hstack([arrivals.d0 - np.diag(np.diag(arrivals.d0)), arrivals.d1])
    jumps = jumps / exit_rate[:, None]
    cum = np.cumsum(jumps, axis=1)
    phase = int(rng.choice(m, p=arrivals.arrival_phase_stationary))
    out = np.empty(count)
    for n in range(count):
        elapsed = 0.0
        while True:
            elapsed += rng.exponential(1.0 / exit_rate[phase])
            target = int(np.searchsorted(cum[phase], rng.random() * cum[phase, -1]))
            phase = target % m
            if target >= m:
                break
        out[n] = elapsed
    return out


def _stationary_generator(gen: FloatArray) -> FloatArray:
    """pi with pi gen = 0 and sum pi = 1 (one balance equation replaced by the sum)."""
    m = gen.shape[0]
    a = gen.T.copy()
    a[-1, :] = 1.0
    b = np.zeros(m)
    b[-1] = 1.0
    return np.asarray(np.linalg.solve(a, b), dtype=np.float64)


def stationary_of_stochastic(mat: FloatArray) -> FloatArray:
    """Stationary distribution of a stochastic matrix."""
    return _stationary_generator(mat - np.eye(mat.shape[0]))
