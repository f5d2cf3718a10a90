"""Analytic latency percentiles of cellular and graph batching on one GPU, and its capacity.

Requests arrive as a Poisson stream of rate ``lambda`` (requests/s) at one GPU; a request
belongs to length bucket k with probability ``p_k`` and has a token count uniform in the
bucket's range. All times are in seconds inside this module.

Cellular batching (BatchMaker, EuroSys '18, Sec. 4): one queue of ready cells per cell
type; the GPU runs the type whose oldest ready cell belongs to the oldest request, up to
that type's maximum batch ``B_t`` cells, oldest requests first. The approximation:

1. *Rounds (a polling / vacation view).* A request in a stage of type t with m cells
   waits, per step, for one batch of its own type and one batch of every other type that
   has ready cells (the other types are the "vacations" of its queue). With ``N_t`` the
   other requests' ready cells of type t, taken Poisson with mean ``b_t`` (PASTA and an
   M/G/inf view of the cells in service), one step lasts

       D_{t,m} = E[tau_t(min(B_t, m + N_t))] + sum_{t' != t} E[tau_t'(min(B_t', N_t')); N_t' >= 1]

   and the stage lasts ``ceil(m / B_t) D_{t,m}``.
2. *Little's law closes the loop:* ``b_t = lambda sum_k p_k sum_{stages of type t} m x
   duration``; the map b -> b' is increasing, so iterating from b = 0 reaches the least
   fixed point; it diverges past ``B_t`` when the GPU cannot keep up.
3. *Slots.* Only the ``B_t`` oldest ready cells of a type run, and an admitted request is
   never overtaken (it is older than every later arrival), so each type is an M/M/c queue
   with c = ``B_t`` slots and offered load ``b_t``: the wait for a slot exceeds x with
   probability ``ErlangC(c, b_t) exp(-(c - b_t) x / h_t)`` (``h_t``: mean stage duration
   per cell); its p-quantile is added once per type the request visits (an upper bound of
   the quantile of the sum).
4. *Residual.* An arrival first waits for the round in progress: ``p x`` the mean round.

   latency_k(p) = p R + sum_{stages of a request at the bucket's p-quantile length} duration
                  + sum_t W_t(p)

The mean occupancy is used for the cycle (its fluctuation over a request's life averages
out over the steps of a long chain); the replay (``formulations/cellular/simulate.py``)
measures the error, documented in ``docs/cellular.md``.

Graph batching (the baseline: TensorFlow/MXNet serving a whole unrolled graph per batch,
BatchMaker Sec. 2.2): the GPU takes up to G waiting requests when it frees and runs the
graph padded to the longest request of the batch. In steady state a batch holds the
requests that arrived during the previous one: the smallest b with ``lambda g(b) <= b``,
``g(b)`` the expected padded duration of b requests (unstable when no b <= G works).
latency_k(p) = p g(b) (the batch in progress) + padded duration of b requests whose longest
is the larger of the bucket's p-quantile length and the p-quantile of the others' maximum.
With length bucketing every bucket has its own queue, batches are padded to the bucket's
upper length, and a batch of bucket k waits one round of the buckets' batches, each bucket
present with probability min(1, lambda_k T):
``T = sum_k min(1, lambda_k T) g_k(clip(lambda_k T, 1, G))``, iterated down from the longest
single batch; latency_k(p) = p T + g_k(min(G, lambda_k T + 1)).
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray
from scipy import stats

from cost_models.cellular.cells import batch_us
from cost_models.cellular.graphs import Structure, stages
from cost_models.units import US_PER_S

FIXED_POINT_ITERATIONS = 400  # iterations of the occupancy map before calling a load unstable
FIXED_POINT_RTOL = 1e-9  # relative change of the occupancy at which the iteration has converged
CAPACITY_GRID = 24  # loads evaluated per refinement round when searching the capacity
CAPACITY_ROUNDS = 4  # refinement rounds: relative resolution CAPACITY_GRID ** -CAPACITY_ROUNDS


@dataclass(frozen=True)
class Bucket:
    lo_tokens: int
    hi_tokens: int
    share: float  # of the requests

    def quantile_tokens(self, quantile: float) -> int:
        """The ``quantile`` of a token count uniform on lo..hi."""
        span = self.hi_tokens - self.lo_tokens + 1
        return self.lo_tokens + min(span - 1, math.ceil(quantile * span) - 1)

    def tokens(self) -> range:
        return range(self.lo_tokens, self.hi_tokens + 1)


@dataclass(frozen=True)
class Mix:
    """The request mix one GPU serves: structure, buckets, and stage kinds."""

    structure: Structure
    target_ratio: float
    buckets: tuple[Bucket, ...]
    types: int
    kinds: tuple[tuple[int, int], ...]  # distinct (cell type, cells) stages
    weight: NDArray[np.float64]  # (kinds,): mean stages of each kind per request
    cells: NDArray[np.float64]  # (types,): mean cells of each type per request

    def quantile_counts(self, quantile: float) -> NDArray[np.float64]:
        """(buckets, kinds): stages of each kind of a request at its bucket's quantile length."""
        out = np.zeros((len(self.buckets), len(self.kinds)))
        index = {k: i for i, k in enumerate(self.kinds)}
        for b, bucket in enumerate(self.buckets):
            for stage in stages(
                self.structure, bucket.quantile_tokens(quantile), self.target_ratio
            ):
                out[b, index[stage]] += 1
        return out

    def visits(self) -> NDArray[np.bool_]:
        """(buckets, types): whether a bucket's requests run cells of a type."""
        out = np.zeros((len(self.buckets), self.types), dtype=bool)
        for b, bucket in enumerate(self.buckets):
            for kind, _ in stages(self.structure, bucket.hi_tokens, self.target_ratio):
                out[b, kind] = True
        return out


def mix_of(structure: Structure, target_ratio: float, buckets: Sequence[Bucket], types: int) -> Mix:
    counts: dict[tuple[int, int], float] = {}
    for bucket in buckets:
        lengths = bucket.tokens()
        for tokens in lengths:
            for stage in stages(structure, tokens, target_ratio):
                counts[stage] = counts.get(stage, 0.0) + bucket.share / len(lengths)
    kinds = tuple(sorted(counts))
    weight = np.array([counts[k] for k in kinds])
    cells = np.zeros(types)
    for (kind, m), w in zip(kinds, weight, strict=True):
        cells[kind] += w * m
    return Mix(structure, target_ratio, tuple(buckets), types, kinds, weight, cells)


def _poisson_terms(
    tau_s: NDArray[np.float64], batch: int, mean: NDArray[np.float64], shift: int
) -> NDArray[np.float64]:
    """E[tau(min(batch, shift + N))] (shift >= 1) or E[tau(min(batch, N)); N >= 1] (shift 0),
    N ~ Poisson(mean), for every entry of ``mean``."""
    if shift >= batch:
        return np.full(mean.shape, tau_s[batch - 1])
    n = np.arange(batch - shift)
    pmf = stats.poisson.pmf(n[None, :], mean[:, None])
    values = np.concatenate(([0.0], tau_s))[shift + n]  # tau(0) = 0
    tail = stats.poisson.sf(batch - shift - 1, mean)
    return pmf @ values + tail * tau_s[batch - 1]


@dataclass(frozen=True)
class CellularLatency:
    """Per load: stability, occupancy and each bucket's latency quantile (s)."""

    stable: NDArray[np.bool_]  # (loads,)
    occupancy: NDArray[np.float64]  # (loads, types): mean ready cells b_t
    latency_s: NDArray[np.float64]  # (loads, buckets); inf where unstable


def cellular_latency(
    mix: Mix,
    tau_us: Sequence[NDArray[np.float64]],
    max_batch: Sequence[int],
    rate_qps: NDArray[np.float64],
    quantile: float,
) -> CellularLatency:
    """The module docstring's approximation, at every per-GPU load in ``rate_qps``."""
    tau_s = [
        np.asarray(t[:b], dtype=float) / US_PER_S for t, b in zip(tau_us, max_batch, strict=True)
    ]
    lam = np.asarray(rate_qps, dtype=float)
    types = mix.types
    batches = np.array(max_batch, dtype=float)
    rounds = np.array([math.ceil(m / max_batch[t]) for t, m in mix.kinds], dtype=float)
    cells = np.array([m for _, m in mix.kinds], dtype=float)
    b = np.zeros((len(lam), types))
    converged = np.zeros(len(lam), dtype=bool)
    duration = np.zeros((len(lam), len(mix.kinds)))
    other = np.zeros((len(lam), types))
    for _ in range(FIXED_POINT_ITERATIONS):
        other = np.stack(
            [_poisson_terms(tau_s[t], max_batch[t], b[:, t], 0) for t in range(types)], axis=1
        )
        for i, (t, m) in enumerate(mix.kinds):
            own = _poisson_terms(tau_s[t], max_batch[t], b[:, t], m)
            duration[:, i] = rounds[i] * (own + other.sum(axis=1) - other[:, t])
        new = np.zeros_like(b)
        for i, (t, _) in enumerate(mix.kinds):
            new[:, t] += lam * mix.weight[i] * cells[i] * duration[:, i]
        converged = np.all(np.abs(new - b) <= FIXED_POINT_RTOL * np.maximum(new, 1e-12), axis=1)
        diverged = np.any(new >= batches, axis=1)
        b = np.where(diverged[:, None], b, new)
        if np.all(converged | diverged):
            break
    stable = converged & np.all(b < batches, axis=1)
    # slot waits (M/M/c with c = B_t): ErlangC from Erlang B = pmf(c; a) / cdf(c; a)
    wait_q = np.zeros((len(lam), types))
    for t in range(types):
        c, a = batches[t], np.minimum(b[:, t], batches[t] * (1 - 1e-12))
        erlang_b = stats.poisson.pmf(c, a) / np.maximum(stats.poisson.cdf(c, a), 1e-300)
        erlang_c = c * erlang_b / (c - a * (1 - erlang_b))
        arrivals = lam * mix.cells[t]
        hold = np.divide(a, arrivals, out=np.zeros_like(a), where=arrivals > 0)
        with np.errstate(divide="ignore"):
            log_term = np.log(np.maximum(erlang_c, 1e-300) / (1 - quantile))
        wait_q[:, t] = np.where(log_term > 0, hold / (c - a) * log_term, 0.0)
    counts = mix.quantile_counts(quantile)  # (buckets, kinds)
    service = duration @ counts.T  # (loads, buckets)
    residual = quantile * other.sum(axis=1)
    waits = wait_q @ mix.visits().T.astype(float)
    latency = residual[:, None] + service + waits
    return CellularLatency(stable, b, np.where(stable[:, None], latency, np.inf))


def padded_us(
    structure: Structure,
    target_ratio: float,
    tau_us: Sequence[NDArray[np.float64]],
    requests: int,
    tokens: int,
) -> float:
    """Duration (us) of one graph batch of ``requests`` requests padded to ``tokens`` tokens."""
    return sum(
        count * batch_us(tau_us[kind], requests * cells)
        for (kind, cells), count in Counter(stages(structure, tokens, target_ratio)).items()
    )


def _max_tokens_pmf(mix: Mix, requests: int) -> tuple[NDArray[np.int64], NDArray[np.float64]]:
    """Support and pmf of the longest token count among ``requests`` requests of the mix."""
    hi = max(bk.hi_tokens for bk in mix.buckets)
    pmf = np.zeros(hi + 1)
    for bucket in mix.buckets:
        lengths = np.arange(bucket.lo_tokens, bucket.hi_tokens + 1)
        pmf[lengths] += bucket.share / len(lengths)
    cdf = np.cumsum(pmf) ** requests
    support = np.nonzero(pmf)[0]
    return support, np.diff(np.concatenate(([0.0], cdf)))[support]


def _max_tokens_quantile(mix: Mix, requests: int, quantile: float) -> int:
    support, pmf = _max_tokens_pmf(mix, requests)
    index = min(len(support) - 1, int(np.searchsorted(np.cumsum(pmf), quantile)))
    return int(support[index])


def graph_latency(
    mix: Mix,
    tau_us: Sequence[NDArray[np.float64]],
    graph_batch: int,
    rate_qps: NDArray[np.float64],
    quantile: float,
    bucketed: bool,
) -> NDArray[np.float64]:
    """(loads, buckets) latency quantile (s) of graph batching (inf where unstable)."""
    lam = np.asarray(rate_qps, dtype=float)
    nb = len(mix.buckets)
    out = np.full((len(lam), nb), np.inf)
    s, r = mix.structure, mix.target_ratio
    if not bucketed:
        g = np.zeros(graph_batch)
        for size in range(1, graph_batch + 1):
            support, pmf = _max_tokens_pmf(mix, size)
            g[size - 1] = (
                sum(
                    p * padded_us(s, r, tau_us, size, int(t))
                    for t, p in zip(support, pmf, strict=True)
                )
                / US_PER_S
            )
        sizes = np.arange(1, graph_batch + 1)
        for i, rate in enumerate(lam):
            ok = np.nonzero(rate * g <= sizes)[0]
            if not len(ok):
                continue
            size = int(sizes[ok[0]])
            together = min(graph_batch, size + 1)
            others = _max_tokens_quantile(mix, together - 1, quantile) if together > 1 else 0
            for k, bucket in enumerate(mix.buckets):
                longest = max(bucket.quantile_tokens(quantile), others)
                own = padded_us(s, r, tau_us, together, longest) / US_PER_S
                out[i, k] = quantile * g[size - 1] + own
        return out
    per_bucket = np.array(
        [
            [
                padded_us(s, r, tau_us, size, bk.hi_tokens) / US_PER_S
                for size in range(1, graph_batch + 1)
            ]
            for bk in mix.buckets
        ]
    )  # (buckets, G)
    grid = np.arange(1, graph_batch + 1, dtype=float)
    shares = np.array([bk.share for bk in mix.buckets])
    for i, rate in enumerate(lam):
        rates = rate * shares
        cycle = float(per_bucket[rates > 0, 0].max())
        stable = False
        for _ in range(FIXED_POINT_ITERATIONS):
            batch = np.clip(rates * cycle, 1.0, None)
            if np.any(batch > graph_batch):
                break
            new = sum(
                min(1.0, rates[k] * cycle) * float(np.interp(batch[k], grid, per_bucket[k]))
                for k in range(nb)
                if rates[k] > 0
            )
            if abs(new - cycle) <= FIXED_POINT_RTOL * max(new, 1e-12):
                stable = True
                cycle = new
                break
            cycle = new
        if not stable:
            continue
        for k in range(nb):
            size = min(float(graph_batch), rates[k] * cycle + 1.0)
            out[i, k] = quantile * cycle + float(np.interp(size, grid, per_bucket[k]))
    return out


def capacity_qps(
    latency: Callable[[NDArray[np.float64]], NDArray[np.float64]],
    slo_s: float,
    upper_qps: float,
) -> float:
    """The largest per-GPU load (requests/s) below which every evaluated load meets the SLO:
    a grid search refined ``CAPACITY_ROUNDS`` times between the last load that meets it and
    the first that does not. ``latency(rates) -> (loads, buckets)`` seconds."""
    lo, hi = 0.0, upper_qps
    if not np.all(latency(np.array([upper_qps * 1e-9])) <= slo_s):
        return 0.0
    for _ in range(CAPACITY_ROUNDS):
        grid = np.linspace(lo, hi, CAPACITY_GRID + 1)[1:]
        ok = np.all(latency(grid) <= slo_s, axis=1)
        bad = np.nonzero(~ok)[0]
        if not len(bad):
            return float(hi)
        first = int(bad[0])
        lo, hi = (float(grid[first - 1]) if first else lo), float(grid[first])
    return lo
