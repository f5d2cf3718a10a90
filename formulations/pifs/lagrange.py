"""A Lagrangian lower bound for the pooled-port model, and the table choices it prices.

Relaxation A (:mod:`formulations.pifs.aggregate`) has two locations, l = host and the
pool of the P identical ports. Its integer choices are per table (pooled near memory or
not, r_t; on how many ports, y_t) and only seven rows couple the tables:

    i   row (activity <= rhs)                                     price   unit of price
    ch  sum_k S_k h_k / GiB <= cap_host z_host                    l_ch    us per GiB
    cp  sum_k S_k (1 - h_k) / GiB <= cap_pool z_pool              l_cp    us per GiB
    bh  sum_k m_k h_k * US_PER_MS / bw_host <= T                  l_bh    1 (us per us)
    bp  sum_k m_k (1 - h_k) * US_PER_MS / bw_pool <= T            l_bp    1
    up  up_rate * (sum_{r_t=0} R_t + sum_{r_t=1} O_t y_t) <= T    l_up    1
    en  en_rate * sum_{r_t=1} R_t <= T                            l_en    1
    bf  sum_{r_t=1} buf_t y_t <= buffer                           l_bf    us per MiB

Sets and parameters: tables t, buckets k of t; h_k in [0, 1] the host share of bucket k
(1 - h_k in the pool); S_k stored bytes; m_k lookup MB per batch; R_t = sum_{k in t}
m_k (1 - h_k) the table's CXL lookup MB; O_t = batch * row_bytes_t (MB) one pooled vector
per sample; buf_t = window * row_bytes_t (MiB) one partial sum per window sample;
up_rate = US_PER_MS / bw_up and en_rate = US_PER_MS / bw_red (us per MB); cap (GiB), bw
(GB/s), buffer (MiB); lat_l (us) path latency, lat_red (us) the engine's latency.

Per-table constraints kept in the subproblem: a table pooled near memory (r_t = 1, only
when its pooling factor exceeds 1 and the switch has an engine) with rows in the pool
holds them on 1 <= y_t <= P ports (integer), and with a known plan of latency T_UB its
CXL lookups fit in those ports' bandwidth within T_UB: R_t <= y_t * bw_port * T_UB (the
port-count cut); r_t = 0 sends R_t upstream. Every such constraint holds for the per-port
image of a per-port plan with latency <= T_UB (aggregate.py, step 1, and milp.py's
presence rows (4): a reduced table with a share on a port has y_tp = 1), so this
Lagrangian relaxes the per-port MILP restricted to plans at least as good as the known
one, which holds the per-port optimum.

Objective: T + c + lat_red * rho, c >= lat_l z_l, rho = 1 if any r_t = 1.

Dual function, for prices l >= 0 with l_bh + l_bp + l_up + l_en <= 1:

    L(l) = min over z in {host+pool, host only, pool only}, rho in {0, 1} of
           max_{z_l = 1} lat_l + lat_red rho - l_ch cap_host z_host - l_cp cap_pool z_pool
           - l_bf buffer + sum_t min over the table's options of its priced cost.

T drops out (its coefficient 1 - l_bh - l_bp - l_up - l_en >= 0, so T = 0 minimises).
Table t's priced cost with the host price a_k = l_ch S_k / GiB + l_bh m_k US_PER_MS /
bw_host and the pool price b_k = l_cp S_k / GiB + l_bp m_k US_PER_MS / bw_pool of each
bucket is:

* r_t = 0: sum_k min(a_k, b_k + l_up up_rate m_k): every bucket at its cheaper location;
* r_t = 1 on y ports: sum_k a_k + (l_up up_rate O_t + l_bf buf_t) y + phi_t(y bw_port
  T_UB), where phi_t(C) is the fractional knapsack min sum_k (1 - h_k) d_k subject to
  sum_k m_k (1 - h_k) <= C with d_k = b_k + l_en en_rate m_k - a_k: buckets with d_k < 0
  move to the pool in increasing d_k / m_k until C is used up. phi_t is convex and
  piecewise linear in C, so the priced cost is convex in y and its integer minimum is at
  the floor or the ceiling of the continuous one (where the next bucket's saving per MB,
  -d_k / m_k, falls below the price of a port's pooled vectors per MB of its bandwidth).

Weak duality (the proof that every evaluation is a valid bound): for any feasible point
of the restricted problem and any admissible prices, each priced row adds
l_i * (activity - rhs) <= 0, and the T term (1 - sum of time prices) T >= 0 is dropped
from an objective it only increased; so the point's objective is >= its priced cost >=
L(l), the minimum of the priced cost over a superset of the feasible points. Hence
L(l) <= the per-port optimum for every admissible l: the bound reported is the largest
L evaluated, however the prices were found.

Prices: Kelley's cutting planes with a box trust region. L is concave and the activities
at a minimiser are a supergradient g_j, so L(l) <= c_j + g_j . l for every evaluated
point j (c_j the price-free part: chain and engine latency). The master LP over the
seven prices (``scipy.optimize.linprog``, HiGHS) maximises theta <= c_j + g_j . l within
a box around the best prices (halved after a step that does not improve, doubled after
one that does); it stops when the cut model promises less than ``rtol`` relative over
the whole price box, or after ``max_iterations``. The price box (each capacity price up to
the largest lookup time per GiB of any bucket, the buffer price up to the largest
upstream-and-engine time per MiB of a partial sum, both x ``_BOX_SLACK``) only limits the
search, never the bound.

The minimiser at the best prices is a plan of the relaxation per table: ``reduced`` (r_t)
and ``ports`` (y_t). Its continuous parts need not be feasible together (the coupling
rows were priced, not imposed): :func:`formulations.pifs.aggregate.fixed_tables` keeps
only the table choices and solves the remaining LP.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy.optimize import linprog

from cost_models.units import BYTES_PER_GIB, BYTES_PER_MB, BYTES_PER_MIB, NS_PER_US, US_PER_MS
from formulations.pifs.view import PifsView

CH, CP, BH, BP, UP, EN, BF = range(7)  # the priced rows, in the docstring's order
TIME_ROWS = (BH, BP, UP, EN)  # rows priced in us per us of busy time (bounded by T)
MAX_ITERATIONS = 400  # modelling choice: Kelley iterations at most
RTOL = 1e-7  # modelling choice: the cut model's promised relative improvement to stop at
_BOX_SLACK = 4.0  # modelling choice: the price box is this times the largest useful price
_START_RADIUS = 0.25  # trust region's first half-width, a share of each price's box
_MIN_RADIUS = 1e-9  # below this share of the box the trust region stops shrinking
_NULL = 0.0  # a step improving the best bound by at most this (relative) is a null step


@dataclass(frozen=True)
class Choices:
    """The relaxation's minimiser at some prices: per table, pooled near memory and on how
    many ports; per bucket, its host share; and what it makes of each priced row."""

    reduced: np.ndarray  # (tables,) bool
    ports: np.ndarray  # (tables,) int, 0 when not reduced
    host_share: np.ndarray  # (K,)
    constant_us: float  # chain + engine latency of the chosen case, minus priced rhs
    activity: np.ndarray  # (7,): each priced row's activity minus its rhs


@dataclass(frozen=True)
class Bound:
    """The best Lagrangian bound found, its prices and the choices they price."""

    bound_us: float
    prices: np.ndarray
    choices: Choices
    iterations: int


class _Tables:
    """The pooled relaxation's data, one padded row per table (buckets past a table's own
    count are zero)."""

    def __init__(self, view: PifsView, latency_bound_us: float | None) -> None:
        fabric, work, bk = view.fabric, view.workload, view.buckets
        n_t = bk.n_tables
        counts = np.bincount(bk.table, minlength=n_t)
        self.width = int(counts.max())
        self.slot = (bk.table, bk.bucket)  # where bucket k sits in the padded arrays
        self.stored_gib = self._padded(bk.unit_bytes * bk.units / BYTES_PER_GIB, n_t)
        self.lookup_mb = self._padded(bk.unit_lookup_bytes * bk.units / BYTES_PER_MB, n_t)
        ports = fabric.ports
        self.n_ports = len(ports)
        host = fabric.host
        pool_gb_per_s = sum(p.bandwidth_gb_per_s for p in ports)
        self.host_us_per_mb = US_PER_MS / host.bandwidth_gb_per_s
        self.pool_us_per_mb = US_PER_MS / pool_gb_per_s
        self.up_us_per_mb = US_PER_MS / fabric.upstream_gb_per_s
        engine_gb_per_s = fabric.reduction_gb_per_s
        self.engine = engine_gb_per_s is not None
        self.en_us_per_mb = 0.0 if engine_gb_per_s is None else US_PER_MS / engine_gb_per_s
        self.capacity_gib = (
            np.array([host.capacity_bytes, sum(p.capacity_bytes for p in ports)]) / BYTES_PER_GIB
        )
        self.buffer_mib = fabric.switch_buffer_bytes / BYTES_PER_MIB
        self.latency_us = np.array([host.latency_ns, ports[0].latency_ns]) / NS_PER_US
        self.engine_latency_us = fabric.reduction_latency_ns / NS_PER_US if self.engine else 0.0
        row_bytes = np.array([t.row_bytes for t in work.tables], dtype=float)
        self.pooled_mb = row_bytes * work.batch_size / BYTES_PER_MB
        self.partial_mib = view.window_samples * row_bytes / BYTES_PER_MIB
        pooling = np.array([t.pooling for t in work.tables])
        self.can_reduce = (pooling > 1.0) & self.engine
        self.table_mb = self.lookup_mb.sum(axis=1)
        # one port's MB within T_UB (the port-count cut); without a known plan, no cut
        self.port_mb = (
            math.inf
            if latency_bound_us is None or not math.isfinite(latency_bound_us)
            else ports[0].bandwidth_gb_per_s * latency_bound_us / US_PER_MS
        )
        # the price box: a GiB or a MiB of partial sums is worth at most the time it moves
        time_us_per_mb = (
            self.host_us_per_mb + self.pool_us_per_mb + self.up_us_per_mb + self.en_us_per_mb
        )
        stored = self.stored_gib > 0
        density = np.where(stored, self.lookup_mb / np.where(stored, self.stored_gib, 1.0), 0.0)
        capacity_price = _BOX_SLACK * float(density.max()) * time_us_per_mb
        buffer_price = _BOX_SLACK * float(
            np.max((self.pooled_mb + self.table_mb) * time_us_per_mb / self.partial_mib)
        )
        self.box = np.array([capacity_price, capacity_price, 1, 1, 1, 1, buffer_price])

    def _padded(self, per_bucket: np.ndarray, n_t: int) -> np.ndarray:
        out = np.zeros((n_t, self.width))
        out[self.slot] = per_bucket
        return out

    def choose(self, prices: np.ndarray) -> Choices:
        """The minimiser of the priced relaxation (module docstring) at ``prices``."""
        lam = prices
        a = lam[CH] * self.stored_gib + lam[BH] * self.host_us_per_mb * self.lookup_mb
        b = lam[CP] * self.stored_gib + lam[BP] * self.pool_us_per_mb * self.lookup_mb
        all_host = a.sum(axis=1)
        # r = 0: every bucket at its cheaper location
        d_up = b + lam[UP] * self.up_us_per_mb * self.lookup_mb - a
        forward = all_host + np.minimum(d_up, 0.0).sum(axis=1)
        # r = 1 on y ports: the fractional knapsack of the buckets worth moving to the pool
        d_red = b + lam[EN] * self.en_us_per_mb * self.lookup_mb - a
        per_port = lam[UP] * self.up_us_per_mb * self.pooled_mb + lam[BF] * self.partial_mib
        knap = _Knapsack(d_red, self.lookup_mb)
        if math.isinf(self.port_mb):
            ports = np.ones(len(a))
        else:
            # continuous optimum: every bucket saving more per MB than a port's MB costs
            worth = knap.ratio < -(per_port / self.port_mb)[:, None]
            ideal = (knap.mb_sorted * worth).sum(axis=1) / self.port_mb
            low = np.clip(np.floor(ideal), 1, self.n_ports)
            high = np.clip(np.ceil(ideal), 1, self.n_ports)
            cost_low = per_port * low + knap.value(low * self.port_mb)
            cost_high = per_port * high + knap.value(high * self.port_mb)
            ports = np.where(cost_high < cost_low, high, low)
        capacity = ports * self.port_mb
        reduce_cost = all_host + per_port * ports + knap.value(capacity)
        reduce_cost = np.where(self.can_reduce, reduce_cost, math.inf)
        # pool only: every bucket in the pool, reduced on as many ports as its MB need
        pool_forward = (b + lam[UP] * self.up_us_per_mb * self.lookup_mb).sum(axis=1)
        pool_ports = np.maximum(1.0, np.ceil(self.table_mb / self.port_mb))
        pool_reduce = np.where(
            self.can_reduce & (pool_ports <= self.n_ports),
            (b + lam[EN] * self.en_us_per_mb * self.lookup_mb).sum(axis=1)
            + per_port * np.minimum(pool_ports, self.n_ports),
            math.inf,
        )
        cap_ch, cap_cp = lam[CH] * self.capacity_gib[0], lam[CP] * self.capacity_gib[1]
        lat_both = float(self.latency_us.max())
        cases = {
            ("both", 0): lat_both - cap_ch - cap_cp + forward.sum(),
            ("host", 0): self.latency_us[0] - cap_ch + all_host.sum(),
            ("pool", 0): self.latency_us[1] - cap_cp + pool_forward.sum(),
        }
        if self.engine:
            lat_red = self.engine_latency_us
            cases[("both", 1)] = (
                lat_both + lat_red - cap_ch - cap_cp + np.minimum(forward, reduce_cost).sum()
            )
            cases[("pool", 1)] = (
                self.latency_us[1] + lat_red - cap_cp + np.minimum(pool_forward, pool_reduce).sum()
            )
        where, rho = min(cases, key=lambda case: cases[case])
        n_t = len(a)
        host = np.zeros_like(a)
        reduced = np.zeros(n_t, dtype=bool)
        used = np.zeros(n_t)
        if where == "host":
            host[:] = 1.0
        elif where == "pool":
            if rho:
                reduced = pool_reduce < pool_forward
                used = np.where(reduced, pool_ports, 0.0)
        else:
            host = (d_up >= 0).astype(float)
            if rho:
                reduced = reduce_cost < forward
                host[reduced] = 1.0 - knap.pool_share(capacity)[reduced]
                used = np.where(reduced, ports, 0.0)
        z = np.array([where != "pool", where != "host"], dtype=float)
        pool = 1.0 - host
        cxl_mb = (pool * self.lookup_mb).sum(axis=1)
        activity = np.zeros(7)
        activity[CH] = float((host * self.stored_gib).sum()) - self.capacity_gib[0] * z[0]
        activity[CP] = float((pool * self.stored_gib).sum()) - self.capacity_gib[1] * z[1]
        activity[BH] = float((host * self.lookup_mb).sum()) * self.host_us_per_mb
        activity[BP] = float(cxl_mb.sum()) * self.pool_us_per_mb
        activity[UP] = self.up_us_per_mb * float(
            cxl_mb[~reduced].sum() + (self.pooled_mb * used).sum()
        )
        activity[EN] = self.en_us_per_mb * float(cxl_mb[reduced].sum())
        activity[BF] = float((self.partial_mib * used).sum()) - self.buffer_mib
        constant = float(self.latency_us[z > 0].max()) + (self.engine_latency_us if rho else 0.0)
        return Choices(reduced, used.astype(np.int64), host[self.slot], constant, activity)


class _Knapsack:
    """Per table (row), the fractional knapsack min sum (1 - h_k) d_k subject to
    sum m_k (1 - h_k) <= C over the buckets with d_k < 0, most negative d_k / m_k first."""

    def __init__(self, d: np.ndarray, mb: np.ndarray) -> None:
        worth = d < 0
        with np.errstate(divide="ignore", invalid="ignore"):
            ratio = np.where(
                worth, np.where(mb > 0, d / np.where(mb > 0, mb, 1.0), -np.inf), np.inf
            )
        self.order = np.argsort(ratio, axis=1, kind="stable")
        self.ratio = np.take_along_axis(ratio, self.order, axis=1)
        self.mb_sorted = np.take_along_axis(np.where(worth, mb, 0.0), self.order, axis=1)
        self.d_sorted = np.take_along_axis(np.where(worth, d, 0.0), self.order, axis=1)
        zero = np.zeros((len(d), 1))
        self.cum_mb = np.hstack([zero, np.cumsum(self.mb_sorted, axis=1)])
        self.cum_d = np.hstack([zero, np.cumsum(self.d_sorted, axis=1)])

    def _cut(self, capacity: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Per row: buckets taken whole, the share of the next one, and its index."""
        whole = (self.cum_mb[:, 1:] <= capacity[:, None]).sum(axis=1)
        nxt = np.minimum(whole, self.mb_sorted.shape[1] - 1)
        mb_next = np.take_along_axis(self.mb_sorted, nxt[:, None], axis=1)[:, 0]
        room = capacity - np.take_along_axis(self.cum_mb, whole[:, None], axis=1)[:, 0]
        partial = np.where(
            (whole < self.mb_sorted.shape[1]) & (mb_next > 0),
            np.clip(room / np.where(mb_next > 0, mb_next, 1.0), 0.0, 1.0),
            0.0,
        )
        return whole, partial, nxt

    def value(self, capacity: np.ndarray) -> np.ndarray:
        whole, partial, nxt = self._cut(capacity)
        taken = np.take_along_axis(self.cum_d, whole[:, None], axis=1)[:, 0]
        step = np.take_along_axis(self.d_sorted, nxt[:, None], axis=1)[:, 0]
        return taken + partial * step

    def pool_share(self, capacity: np.ndarray) -> np.ndarray:
        """(rows, buckets): the share of each bucket moved to the pool, in bucket order."""
        whole, partial, nxt = self._cut(capacity)
        n, width = self.mb_sorted.shape
        sorted_share = (np.arange(width)[None, :] < whole[:, None]).astype(float)
        rows = np.arange(n)
        sorted_share[rows, nxt] = np.where(nxt >= whole, partial, sorted_share[rows, nxt])
        sorted_share *= self.ratio < np.inf  # only the buckets worth moving
        share = np.empty_like(sorted_share)
        np.put_along_axis(share, self.order, sorted_share, axis=1)
        return share


def _master(
    cuts_g: np.ndarray,
    cuts_c: np.ndarray,
    lower: np.ndarray,
    upper: np.ndarray,
) -> tuple[np.ndarray, float] | None:
    """max theta subject to theta <= c_j + g_j . l for every cut, the time prices summing
    to at most 1, ``lower <= l <= upper``: the next prices and the cut model's value."""
    n_cuts = len(cuts_c)
    objective = np.zeros(8)
    objective[7] = -1.0
    a_ub = np.zeros((n_cuts + 1, 8))
    a_ub[:n_cuts, :7] = -cuts_g
    a_ub[:n_cuts, 7] = 1.0
    a_ub[n_cuts, list(TIME_ROWS)] = 1.0
    b_ub = np.concatenate([cuts_c, [1.0]])
    bounds: list[tuple[float | None, float | None]] = [
        (float(lo), float(hi)) for lo, hi in zip(lower, upper, strict=True)
    ]
    bounds.append((None, None))
    done = linprog(objective, A_ub=a_ub, b_ub=b_ub, bounds=bounds, method="highs")
    if done.status != 0:
        return None
    return done.x[:7], float(-done.fun)


def dual_bound(
    view: PifsView,
    latency_bound_us: float | None,
    max_iterations: int = MAX_ITERATIONS,
    rtol: float = RTOL,
) -> Bound:
    """The best Lagrangian bound Kelley's method finds (module docstring) for ``view``'s
    ports pooled, with the port-count cut of a known plan's latency ``latency_bound_us``
    (None: no cut)."""
    data = _Tables(view, latency_bound_us)
    box = data.box
    prices = np.zeros(7)
    prices[list(TIME_ROWS)] = 1.0 / len(TIME_ROWS)
    radius = _START_RADIUS
    cuts_g: list[np.ndarray] = []
    cuts_c: list[float] = []
    best_value, best_prices, best_choices = -math.inf, prices, None
    iterations = 0
    while iterations < max_iterations:
        iterations += 1
        choices = data.choose(prices)
        value = choices.constant_us + float(prices @ choices.activity)
        cuts_g.append(choices.activity)
        cuts_c.append(choices.constant_us)
        if value > best_value + _NULL * abs(best_value) or best_choices is None:
            if best_choices is not None:
                radius = min(1.0, 2 * radius)
            best_value, best_prices, best_choices = value, prices, choices
        else:
            radius = max(_MIN_RADIUS, radius / 2)
        g, c = np.array(cuts_g), np.array(cuts_c)
        whole = _master(g, c, np.zeros(7), box)
        if whole is None or whole[1] - best_value <= rtol * max(abs(best_value), 1.0):
            break
        local = _master(
            g,
            c,
            np.maximum(0.0, best_prices - radius * box),
            np.minimum(box, best_prices + radius * box),
        )
        prices = whole[0] if local is None else local[0]
    assert best_choices is not None
    return Bound(best_value, best_prices, best_choices, iterations)
