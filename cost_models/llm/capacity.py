"""The highest request rate one replica sustains per request-length bucket within SLOs.

A bucket is served at mean prompt length ``I`` and mean output length ``O`` tokens; the
SLOs bound the *mean* TTFT and the *mean* TPOT (Melange, Griggs et al. 2024, Sec. 6.1,
plans on the mean TPOT; the replay reports the share of requests within each SLO too).

Continuous batching (Orca, OSDI '22; vLLM's scheduler: prompts first, one prompt per
prefill iteration here, decode of every running sequence otherwise), at rate ``lam``:

    tau_p = prefill(I)                       rho_p = lam tau_p        (prefill busy share)
    decoding sequences, Little's law:        B = lam O TPOT,   TPOT = tau_d(B) / (1 - rho_p)
        with tau_d(B) = max_i (a_i + b_i B) at the decode context C (latency.decode_lines),
        the fixed point is B = max_i k a_i / (1 - k b_i), k = lam O / (1 - rho_p), if k b_i < 1
    TTFT = tau_p + R / (1 - rho_p),  R = lam tau_p^2 / 2 + (1 - rho_p)(1 - e^-B) tau_d / 2

The decode context C is the time average of a running sequence's context: a sequence with
output o is in the batch for o iterations at mean context I + o/2, so the average weights o
by its length, C = I + E[o^2] / (2 E[o]) = I + O/2 + Var(o) / (2 O); with outputs uniform in
the bucket's edges [lo, hi], Var(o) = (hi - lo)^2 / 12 (C = I + O/2 when lo = hi). The plain
I + O/2 understates it (tests/llm's small scenario, bucket in 1-250 / out 1-200: 176 against
192 tokens, 193 measured in a 20,000-s replay), which made TPOT-bound capacities ~3.6%
optimistic.

TTFT's queueing term is the M/G/1 non-preemptive priority waiting time (Cobham 1954):
prompts are the high-priority class with deterministic service ``tau_p``; a decode iteration
in progress (probability ``(1 - rho_p)(1 - e^-B)``, the number of decoding sequences taken
as Poisson with mean ``B``) delays a prompt by its mean residual ``tau_d / 2``. Feasible
rates: ``rho_p < 1``, ``TTFT <= slo``, ``TPOT <= slo``, ``B + 3 sqrt(B) <= max_batch(I +
O)`` (the Poisson occupancy's 99.9th percentile within the KV cache for every sequence's
full length, capped at ``max_num_seqs``). Every condition only
tightens as ``lam`` grows, so the highest rate is found by bisection.

Request-level (static) batching (FasterTransformer-style serving, Orca Sec. 2's baseline):
``b`` requests are prefilled together, padded to the longest, and decoded until the longest
output ends; no request joins a running batch. With lengths uniform in a bucket's edges
``[lo, hi]`` the longest of ``b`` is ``lo + (hi - lo) b / (b + 1)``. Cycle ``T(b) =
prefill(b prompts of I_max) + O_max tau_d(b)``, rate ``b / T(b)``, TPOT ``= tau_d(b)``,
TTFT ``= (b - 1) / (2 lam) + prefill`` (mean wait for the batch to fill; queueing left out,
which favours the baseline). The best ``b`` within the SLOs and memory is kept.

Disaggregated pools (DistServe, OSDI '24): a prefill-only replica is an M/D/1 queue,
``TTFT = tau_p + transfer + lam tau_p^2 / (2 (1 - lam tau_p))``, so its highest rate is
``2 w / (tau_p^2 + 2 w tau_p)`` with ``w = slo - tau_p - transfer``; a decode-only replica
runs ``B = min(max_batch, max B with tau_d(B) <= slo)`` sequences at ``lam = B / (O
tau_d(B))``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from cost_models.llm.latency import Replica

BISECTION_STEPS = 60  # halvings of [0, 1 / tau_p]: a relative precision of 2^-60
# The KV cache and max_num_seqs must hold B + 3 sqrt(B) sequences: the 99.9th percentile
# of the Poisson number of decoding sequences (normal approximation), so that the batch
# limit is rarely hit (at the limit itself the queue of waiting prompts grows without bound).
OCCUPANCY_SIGMAS = 3.0


@dataclass(frozen=True)
class Buckets:
    """Request-length buckets: mean and edge lengths in tokens, one entry per bucket."""

    input_tokens: np.ndarray
    output_tokens: np.ndarray
    input_min_tokens: np.ndarray
    input_max_tokens: np.ndarray
    output_min_tokens: np.ndarray
    output_max_tokens: np.ndarray


@dataclass(frozen=True)
class State:
    """Predicted steady state of one replica at a rate (arrays, one entry per bucket)."""

    feasible: np.ndarray
    batch: np.ndarray
    ttft_s: np.ndarray
    tpot_s: np.ndarray


@dataclass(frozen=True)
class Rates:
    """Per bucket: the highest sustainable rate and the state at that rate."""

    rate_qps: np.ndarray
    batch: np.ndarray
    ttft_s: np.ndarray
    tpot_s: np.ndarray


def decode_context_tokens(buckets: Buckets) -> np.ndarray:
    """Time-averaged context of a decoding sequence per bucket (module docstring: C)."""
    o = buckets.output_tokens
    variance = (buckets.output_max_tokens - buckets.output_min_tokens) ** 2 / 12.0
    return buckets.input_tokens + o / 2 + variance / (2.0 * o)


def continuous_state(
    replica: Replica,
    input_tokens: np.ndarray,
    output_tokens: np.ndarray,
    rate_qps: np.ndarray,
    ttft_slo_s: float,
    tpot_slo_s: float,
    max_num_seqs: int,
    context_tokens: np.ndarray | None = None,
) -> State:
    """The continuous-batching steady state at ``rate_qps`` (see the module docstring);
    ``context_tokens``: the decode context C (default I + O/2, outputs of one length)."""
    lam = np.asarray(rate_qps, dtype=float)
    tau_p = replica.prompt_s(input_tokens)
    rho_p = lam * tau_p
    with np.errstate(divide="ignore", invalid="ignore"):
        k = np.where(rho_p < 1, lam * output_tokens / (1 - rho_p), np.inf)
        context = input_tokens + output_tokens / 2 if context_tokens is None else context_tokens
        lines = replica.decode_lines(context)
        fixed = [np.where(k * b < 1, k * a / (1 - k * b), np.inf) for a, b in lines]
        batch = np.maximum.reduce(fixed)
        tau_d = np.maximum.reduce([a + b * batch for a, b in lines])
        tpot = tau_d / (1 - rho_p)
        residual = lam * tau_p**2 / 2 + (1 - rho_p) * (1 - np.exp(-batch)) * tau_d / 2
        ttft = tau_p + residual / (1 - rho_p)
    occupancy = batch + OCCUPANCY_SIGMAS * np.sqrt(np.maximum(batch, 0.0))
    fits = occupancy <= replica.max_batch(input_tokens + output_tokens, max_num_seqs)
    feasible = (rho_p < 1) & np.isfinite(batch) & (tpot <= tpot_slo_s) & (ttft <= ttft_slo_s)
    return State(feasible & fits, batch, ttft, tpot)


def continuous_rates(
    replica: Replica,
    buckets: Buckets,
    ttft_slo_s: float,
    tpot_slo_s: float,
    max_num_seqs: int,
) -> Rates:
    """Per bucket, the highest rate with mean TTFT and TPOT within their SLOs (bisection)."""
    i, o = buckets.input_tokens, buckets.output_tokens
    lo = np.zeros_like(i, dtype=float)
    hi = 1.0 / replica.prompt_s(i)

    context = decode_context_tokens(buckets)

    def state(rate: np.ndarray) -> State:
        return continuous_state(replica, i, o, rate, ttft_slo_s, tpot_slo_s, max_num_seqs, context)

    # a bucket none of whose rates is feasible (SLO below the bare latency, no memory)
    possible = state(np.full_like(lo, 1e-12)).feasible
    for _ in range(BISECTION_STEPS):
        mid = (lo + hi) / 2
        ok = state(mid).feasible
        lo = np.where(ok, mid, lo)
        hi = np.where(ok, hi, mid)
    rate = np.where(possible, lo, 0.0)
    at = state(rate)
    return Rates(rate, at.batch, at.ttft_s, at.tpot_s)


def static_rates(
    replica: Replica,
    buckets: Buckets,
    ttft_slo_s: float,
    tpot_slo_s: float,
    max_num_seqs: int,
) -> Rates:
    """Per bucket, the highest rate of request-level (static) batching within the SLOs."""
    n = len(buckets.input_tokens)
    best = Rates(np.zeros(n), np.zeros(n), np.full(n, np.inf), np.full(n, np.inf))
    for b in range(1, max_num_seqs + 1):
        share = b / (b + 1)
        i_max = (
            buckets.input_min_tokens + (buckets.input_max_tokens - buckets.input_min_tokens) * share
        )
        o_max = (
            buckets.output_min_tokens
            + (buckets.output_max_tokens - buckets.output_min_tokens) * share
        )
        fits = b <= replica.max_batch(i_max + o_max, max_num_seqs)
        if not fits.any():
            break
        prefill = replica.prefill_s(b * i_max, b * i_max**2, b)
        tau_d = replica.decode_s(b, i_max + o_max / 2)
        rate = b / (prefill + o_max * tau_d)
        ttft = (b - 1) / (2 * rate) + prefill
        better = fits & (tau_d <= tpot_slo_s) & (ttft <= ttft_slo_s) & (rate > best.rate_qps)
        best = Rates(
            np.where(better, rate, best.rate_qps),
            np.where(better, float(b), best.batch),
            np.where(better, ttft, best.ttft_s),
            np.where(better, tau_d, best.tpot_s),
        )
    return best


def prefill_only_rates(
    replica: Replica, buckets: Buckets, ttft_slo_s: float, transfer_s: np.ndarray
) -> Rates:
    """Per bucket, the highest rate of a prefill-only replica (M/D/1) within the TTFT SLO,
    ``transfer_s`` being the KV transfer to the decode pool."""
    tau_p = replica.prompt_s(buckets.input_tokens)
    slack = ttft_slo_s - tau_p - transfer_s
    rate = np.where(slack > 0, 2 * slack / (tau_p**2 + 2 * slack * tau_p), 0.0)
    ttft = np.where(slack > 0, ttft_slo_s, tau_p + transfer_s)
    return Rates(rate, np.ones_like(rate), ttft, np.zeros_like(rate))


def decode_only_rates(
    replica: Replica, buckets: Buckets, tpot_slo_s: float, max_num_seqs: int
) -> Rates:
    """Per bucket, the highest rate of a decode-only replica within the TPOT SLO."""
    i, o = buckets.input_tokens, buckets.output_tokens
    context = decode_context_tokens(buckets)
    lines = replica.decode_lines(context)
    within_slo = np.minimum.reduce([(tpot_slo_s - a) / b for a, b in lines])
    batch = np.floor(np.minimum(within_slo, replica.max_batch(i + o, max_num_seqs)))
    batch = np.maximum(batch, 0.0)
    tau_d = replica.decode_s(batch, context)
    rate = np.where(batch >= 1, batch / (o * tau_d), 0.0)
    return Rates(rate, batch, np.zeros_like(rate), tau_d)
