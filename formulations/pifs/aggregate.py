"""Port aggregation for large instances: an exact lower bound plus a certified plan.

With P identical ports the per-port MILP has K * (P + 1) placement columns (250k for 856
tables x 17 buckets x 16 ports) and its root LP alone takes minutes. Instead:

1. Relaxation A: the same MILP with the P ports merged into one "pool" port with P times
   the bandwidth and capacity and the same path latency, where y_t,pool in {0..P} counts
   the ports a reduced table uses (its pooled vectors and partial sums are charged
   y_t,pool times), plus the port-count cut: for a reduced table, its CXL lookup MB <=
   y_t,pool * bw_port * T_UB, with T_UB the latency of a known plan (the best baseline).
   A is a relaxation of the per-port model restricted to plans with latency <= T_UB
   (which holds the per-port optimum, since the known plan is one): map a per-port plan to
   A by summing its port columns (x_k,pool = sum_p x_kp), y_t,pool = sum_p y_tp and
   z_pool = max_p z_p. Then (2) holds because the pool's capacity is the sum of the
   ports'; (3) because the pool's load / (P bw) is the average port busy time, <= max_p
   busy_p <= T; (4) because with r_t = 0 its right side is >= 1 >= the CXL share, and with
   r_t = 1 any port share > 0 forces that y_tp = 1, so y_t,pool >= 1 >= the pool share;
   y_t,pool <= P r_t because each y_tp <= r_t; the upstream, engine and buffer rows are
   unchanged sums; (9) because every port has the pool's latency; the cut because each
   port a reduced table uses carries at most bw_port * T <= bw_port * T_UB of it. So any
   dual bound of A is a lower bound on the per-port optimum.
2. Disaggregation (:func:`disaggregate`): A's host placement and reduction choices are
   kept; its pool contents are split over the P ports with two limits per port, lookup
   bytes (what A's bottleneck busy time lets one port read, ``busy * bw_port``, at least
   1/P of the pool's, so no port's busy time exceeds A's bottleneck) and stored bytes (the
   port's capacity): each reduced table cut into as many equal pieces as A counts ports
   for it, each piece placed whole on a different port where it fits tightest, then every
   other table placed whole on the first port where it fits, both largest first (by the
   larger of the two shares of a port it takes; a port's fill is the larger of its two
   ratios).
   What fits nowhere whole is poured over the ports with the most room, each taking the
   share that fits in both limits, splitting a table's buckets in proportion. Only poured
   reduced tables can end up on more than one port, so only they add pooled vectors to the
   upstream link (and partial sums to the switch buffer).
3. Each round first prices A's seven coupling rows (:mod:`formulations.pifs.lagrange`: a
   Lagrangian bound of A with y integer, stronger than A's LP bound where a reduced table
   would pay a fraction of a port's pooled vectors) and fixes every table's choice (r_t,
   y_t) to the priced minimiser; A with those fixed (:func:`fixed_tables`, an LP with one
   [port_share] row per reduced table) gives the plan to split. The tables the prices
   leave indifferent (e.g. every table when the upstream link is priced at zero) are then
   decided by a primal rule, :func:`rounding_rule` (reduce a table when its pooled vectors
   are fewer MB than the rows it forwards, on as many ports as keep each within the busy
   time), applied to the last fixed LP's own solution and solved again with
   :func:`fixed_tables`: while the plan is not within ``mip_gap``, and once it is only while
   a repair improves it, at most ``REPAIRS`` times. If the plan is still not within
   ``mip_gap``, A is solved as an LP (its bound; the round keeps the larger), its choices
   rounded by the same rule and fixed (another plan); if that is not within ``mip_gap``
   either, the sub-MILP over the integer columns the LP left fractional gives
   another plan. If the best split plan beats T_UB but is not within ``mip_gap`` of the
   bound, A is rebuilt with T_UB = its latency (a tighter cut, still valid) and the round
   repeated, up to three rounds; then, if needed, all of A is solved as a MILP from the
   best plan.
4. The plan's latency is recomputed by the cost model; its gap to A's bound is the plan's
   gap, so the plan is within that gap of the per-port optimum. When the split
   adds no upstream bottleneck (the usual case: 856 tables, 16 ports) the plan meets the
   bound up to the chain-latency term.

With ``placement.aggregate_ports = "auto"`` (the default) this runs first for fractional
placement without co-location / separation groups or capacity planning (those need
per-port binaries); when its certified gap exceeds ``mip_gap`` the per-port MILP runs next,
started from this plan, and keeps the higher of the two bounds. ``"always"`` stops after
this step, ``"never"`` skips it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace

import numpy as np

from cost_models.pifs.busy import BYTES_PER_US_PER_GB_PER_S
from cost_models.pifs.topology import Location
from cost_models.units import BYTES_PER_MB, US_PER_MS
from formulations.model import MatrixModel
from formulations.pifs.lagrange import dual_bound
from formulations.pifs.milp import (
    BuiltModel,
    Pool,
    build_model,
    lp_neighbourhood,
    placement_from,
    start_values,
)
from formulations.pifs.verify import placement_check
from formulations.pifs.view import PifsView, Placement, cost
from formulations.tolerances import INTEGRALITY_TOL, NOISE, relative_gap
from formulations.types import Certificate, MilpSolver, SolveResult, require_solution

POOL_ROUNDS = 3  # modelling choice: pooled relaxations solved, each with a tighter cut
REPAIRS = 3  # modelling choice: rounding repairs of the Lagrangian plan per round, at most
_FILLED = 1e-12  # modelling choice: relative room below which a port counts as full


def pooled_view(view: PifsView) -> PifsView:
    """The same view with its identical ports merged into one pool port."""
    ports = view.fabric.ports
    first = ports[0]
    pool = Location(
        "cxl_pool",
        sum(p.capacity_bytes for p in ports),
        sum(p.bandwidth_gb_per_s for p in ports),
        first.latency_ns,
        True,
    )
    return replace(view, fabric=replace(view.fabric, ports=(pool,)))


def pool_units(units: np.ndarray) -> np.ndarray:
    """Per-port units (K x (1+P)) summed into (K x 2): host and pool."""
    return np.stack([units[:, 0], units[:, 1:].sum(axis=1)], axis=1)


def disaggregate(
    view: PifsView,
    pooled: np.ndarray,
    reduced: np.ndarray,
    ports_used: np.ndarray,
    busy_us: float,
) -> np.ndarray:
    """Split the pool column over the ports (see the module docstring, step 2).

    Two resources per port: lookup bytes, up to what ``busy_us`` (the pooled plan's
    bottleneck busy time) lets one port read (at least 1/P of the pool's lookups), and
    stored bytes, up to its capacity. A reduced table the pooled plan counts on k =
    ``ports_used[t]`` ports is cut into k equal pieces, each placed whole on a different
    port, where it fits tightest (best fit, which keeps room whole for the larger pieces);
    then each other table is placed whole on the first port where it fits (ports fill in
    order, so a plan leaves the last ports empty); both largest first (by the larger of
    the two shares of a port it takes; a port's fill is the larger of its two fill
    ratios). What fits nowhere whole is poured over the ports
    with the most room, each taking the share that fits in both resources (the last port
    takes the rest), so only those tables sit on more than one port: only poured reduced
    tables add pooled vectors to the upstream link (and partial sums to the buffer).
    """
    bk = view.buckets
    n_p = len(view.fabric.ports)
    n_t = bk.n_tables
    units = np.zeros((len(bk.table), 1 + n_p))
    units[:, 0] = pooled[:, 0]
    cxl = pooled[:, 1]
    members = bk.by_table(np.arange(len(bk.table)))
    load = np.bincount(bk.table, bk.unit_lookup_bytes * cxl, n_t)
    size = np.bincount(bk.table, bk.unit_bytes * cxl, n_t)
    on_cxl = np.bincount(bk.table, cxl, n_t) > 0
    port = view.fabric.ports[0]
    limit = np.array(
        [
            max(load.sum() / n_p, busy_us * port.bandwidth_gb_per_s * BYTES_PER_US_PER_GB_PER_S),
            port.capacity_bytes,
        ]
    )
    limit = np.where(limit > 0, limit, 1.0)  # an empty resource: every share fits
    fill = np.zeros((n_p, 2))  # lookup bytes and stored bytes on each port
    holds = np.zeros((n_t, n_p), dtype=bool)
    pieces = [
        (t, 1.0 / k)
        for t in np.flatnonzero(on_cxl & reduced).tolist()
        for k in [int(np.clip(ports_used[t], 1, n_p))]
        for _ in range(k)
    ]
    demand = np.stack([load, size], axis=1) / limit  # (tables, 2): a whole table's shares
    pieces.sort(key=lambda piece: -demand[piece[0]].max() * piece[1])
    poured: list[tuple[int, float]] = []
    room_tol = 1 + _FILLED

    def put(t: int, p: int, share: float) -> None:
        units[members[t], 1 + p] += cxl[members[t]] * share
        fill[p] += demand[t] * limit * share
        holds[t, p] = True

    # reduced pieces go where they fit tightest (best fit: room stays whole for the larger
    # pieces), the other tables to the first port where they fit
    largest = np.argsort(-demand.max(axis=1), kind="stable").tolist()
    others = [(t, 1.0, False) for t in largest if on_cxl[t] and not reduced[t]]
    for t, share, tightest in [*((t, s, True) for t, s in pieces), *others]:
        after = (fill / limit + demand[t] * share).max(axis=1)
        fits = ~holds[t] & (after <= room_tol)
        if fits.any():
            # best fit; or the first port where it fits (ports fill in order, as the
            # wrap-around rule fills them, so a plan leaves the last ports empty)
            best = (
                int(np.argmin(np.where(fits, -after, np.inf))) if tightest else int(np.argmax(fits))
            )
            put(t, best, share)
        else:
            poured.append((t, share))
    for t, left in poured:
        while left > 0:
            room = 1.0 - fill / limit  # (ports, 2)
            p = int(np.argmax(room.min(axis=1)))
            need = demand[t]
            fits = min((room[p, j] / need[j] for j in range(2) if need[j] > 0), default=left)
            share = left if room[p].min() <= _FILLED or fits >= left else max(fits, 0.0)
            if share <= 0:
                share = left
            put(t, p, share)
            left -= share
    return units


def rounding_rule(
    view: PifsView, built: BuiltModel, x_lp: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Table choices rounded from a solution ``x_lp`` of A or of its LP relaxation (step
    3): per table, reduced or not, and on how many ports (0 when not).

    ``x_lp``'s host shares give each table's CXL lookup MB R_t; a table whose R_t needs
    k_t = ceil(R_t / (bw_port * T_LP)) ports to keep every port within ``x_lp``'s
    bottleneck busy time T_LP is reduced when its pooled vectors (k_t * O_t) are fewer MB
    than the rows it would forward (R_t), and only if it may be reduced; while the partial
    sums of the reduced tables overfill the switch buffer, the table saving the fewest
    upstream MB per buffer byte is dropped. Every choice is feasible for the integers'
    domains, so :func:`fixed_tables` with them is a restriction of A."""
    cols, bk, work, fabric = built.cols, view.buckets, view.workload, view.fabric
    n_t = bk.n_tables
    if cols.r is None:
        return np.zeros(n_t, dtype=bool), np.zeros(n_t)
    n_p = len(fabric.ports)
    host_mb = np.bincount(bk.table, bk.unit_lookup_bytes * x_lp[cols.x[:, 0]], n_t)
    total_mb = np.bincount(bk.table, bk.unit_lookup_bytes * bk.units, n_t)
    cxl_mb = np.maximum(total_mb - host_mb, 0.0) / BYTES_PER_MB
    port_mb = fabric.ports[0].bandwidth_gb_per_s * x_lp[cols.busy] / US_PER_MS
    ports = np.clip(np.ceil(cxl_mb / max(port_mb, NOISE) - INTEGRALITY_TOL), 1, n_p)
    pooled_mb = np.array([t.pooled_bytes(work.batch_size) for t in work.tables])
    pooled_mb /= BYTES_PER_MB
    saving = cxl_mb - ports * pooled_mb  # upstream MB saved by reducing t
    reduce = (built.matrix.col_upper[cols.r] > 0.5) & (saving > 0)
    row_bytes = np.array([t.row_bytes for t in work.tables], dtype=float)
    buffer_bytes = view.window_samples * row_bytes * ports
    for t in np.argsort(saving / buffer_bytes, kind="stable"):
        if buffer_bytes[reduce].sum() <= fabric.switch_buffer_bytes:
            break
        reduce[t] = False
    return reduce, np.where(reduce, ports, 0.0)


def fixed_tables(
    view: PifsView, built: BuiltModel, reduced: np.ndarray, ports: np.ndarray
) -> MatrixModel:
    """A (built for the per-port ``view``'s ports pooled, with its port-count cut) with
    every table-level integer fixed: r_t = ``reduced[t]`` and y_t,pool = k_t = ``ports[t]``
    (the Lagrangian minimiser's choices, or :func:`rounding_rule`'s), rho = any r_t, z = 1;
    the LP that places the buckets for those choices.

    One row per reduced table is added, [port_share] sum_{k in t} Lk_k x_k,pool <= k_t *
    bw_port * T (MB; one port's lookups within the busy time T, for each of the k_t ports):
    a restriction (so its plans are plans of A) under which the split (step 2) can give each
    piece of a reduced table a port of its own without exceeding T.
    """
    cols, bk, fabric = built.cols, view.buckets, view.fabric
    matrix = built.matrix
    lower, upper = matrix.col_lower.copy(), matrix.col_upper.copy()
    lower[cols.z] = upper[cols.z] = 1.0
    row_start, row_index, row_value = [matrix.a_start], [matrix.a_index], [matrix.a_value]
    names = list(matrix.row_names)
    row_lower, row_upper = [matrix.row_lower], [matrix.row_upper]
    if cols.r is not None and cols.y is not None and cols.rho is not None:
        reduced = reduced & (upper[cols.r] > 0.5)
        lower[cols.r] = upper[cols.r] = reduced
        lower[cols.y[:, 0]] = upper[cols.y[:, 0]] = np.where(reduced, ports, 0)
        lower[cols.rho] = upper[cols.rho] = float(reduced.any())
        port_mb_per_us = fabric.ports[0].bandwidth_gb_per_s / US_PER_MS
        tables = np.flatnonzero(reduced)
        members = bk.by_table(np.arange(len(bk.table)))
        nnz = int(matrix.a_start[-1])
        for t in tables.tolist():
            ks = members[t]
            row_index.append(np.append(cols.x[ks, 1], cols.busy))
            row_value.append(
                np.append(bk.unit_lookup_bytes[ks] / BYTES_PER_MB, -ports[t] * port_mb_per_us)
            )
            nnz += len(ks) + 1
            row_start.append(np.array([nnz]))
            names.append(f"port_share[{view.workload.tables[t].name}]")
        row_lower.append(np.full(len(tables), -np.inf))
        row_upper.append(np.zeros(len(tables)))
    lp = np.zeros_like(matrix.integrality)
    return replace(
        matrix,
        col_lower=lower,
        col_upper=upper,
        integrality=lp,
        a_start=np.concatenate(row_start),
        a_index=np.concatenate(row_index),
        a_value=np.concatenate(row_value),
        row_lower=np.concatenate(row_lower),
        row_upper=np.concatenate(row_upper),
        row_names=names if len(matrix.row_names) == len(matrix.row_lower) else (),
    )


@dataclass(frozen=True)
class Pooled:
    """What the pooled rounds (step 3) found: the best admissible per-port plan (a split
    plan or the incumbent; ``None`` if there is none), its latency, the pooled bound, and
    the certificates of the solves."""

    placement: Placement | None
    latency_us: float
    bound_us: float
    parts: list[Certificate]
    message: str

    @property
    def gap(self) -> float:
        return math.inf if self.placement is None else relative_gap(self.latency_us, self.bound_us)


def solve_pooled(view: PifsView, solver: MilpSolver, incumbent: Placement | None) -> Pooled:
    """Relaxation A with pooled ports, then the split over the ports (steps 1-3 above).

    The Lagrangian bound (:func:`formulations.pifs.lagrange.dual_bound`) and the plan of
    its table choices (:func:`fixed_tables`) come first; when that plan is not within
    ``mip_gap``, A's LP relaxation gives another bound, its rounded choices and the
    sub-MILP over the integer columns the LP left fractional
    (:func:`formulations.pifs.milp.lp_neighbourhood`) more plans. While the best plan is
    not within ``mip_gap`` of the best bound but beats the latency T_UB of the port-count
    cut, A is rebuilt with T_UB = its latency (up to POOL_ROUNDS times). Then,
    if a plan is known but not within ``mip_gap``, all of A is solved as a MILP, started
    from the best plan. Split plans that break a per-port requirement (capacity, switch
    buffer) are dropped.
    """
    pooled = pooled_view(view)
    mip_gap = solver.settings.mip_gap
    # (latency, plan) of every admissible plan found, each latency computed once
    candidates = [] if incumbent is None else [(cost(view, incumbent).latency_us, incumbent)]
    parts: list[Certificate] = []
    bound = -math.inf

    def best() -> tuple[float, Placement | None]:
        return min(candidates, key=lambda c: c[0], default=(math.inf, None))

    def gap() -> float:
        return relative_gap(best()[0], bound)

    def add_split(built: BuiltModel, result: SolveResult) -> None:
        if not result.status.has_solution:
            return
        parts.append(Certificate.of(result))
        relaxed = placement_from(pooled, built.cols, result)
        busy = cost(pooled, relaxed).bottleneck_us
        y = built.cols.y
        used = np.zeros(view.buckets.n_tables) if y is None else np.round(result.x[y[:, 0]])
        units = disaggregate(view, relaxed.units, relaxed.reduced, used, busy)
        split = Placement(units, relaxed.reduced)
        checked = placement_check(view, split)
        if checked.ok:
            candidates.append((checked.objective_value, split))

    port_gb_per_s = view.fabric.ports[0].bandwidth_gb_per_s
    for _ in range(POOL_ROUNDS):
        t_ub = best()[0]
        pool = Pool(len(view.fabric.ports), port_gb_per_s, t_ub if math.isfinite(t_ub) else None)
        built = build_model(pooled, pool)
        priced = dual_bound(view, pool.latency_bound_us)
        bound = max(bound, priced.bound_us)
        choices = priced.choices
        decisive = solver.solve(fixed_tables(view, built, choices.reduced, choices.ports))
        add_split(built, decisive)
        # repairs: the rounding rule applied to the last fixed LP's own solution decides
        # the tables the prices left indifferent; once within mip_gap, only while the
        # fixed LP's value improves
        repairs, improved = 0, False
        while decisive.status.has_solution and repairs < REPAIRS and (gap() > mip_gap or improved):
            before = decisive.objective if decisive.objective is not None else math.inf
            rule = rounding_rule(view, built, decisive.x)
            decisive = solver.solve(fixed_tables(view, built, *rule))
            add_split(built, decisive)
            after = decisive.objective if decisive.objective is not None else math.inf
            improved = after < before * (1 - NOISE)
            repairs += 1
        if gap() <= mip_gap:
            break
        lp = require_solution(solver.solve(built.matrix.relaxation()))
        parts.append(Certificate.of(lp))
        assert lp.objective is not None
        bound = max(bound, lp.objective)
        add_split(built, solver.solve(fixed_tables(view, built, *rounding_rule(view, built, lp.x))))
        if gap() <= mip_gap:
            decisive = lp
            break
        decisive = solver.solve(lp_neighbourhood(built, lp.x))
        add_split(built, decisive)
        if gap() <= mip_gap or best()[0] >= t_ub:
            break
    chosen = best()[1]
    if chosen is not None and gap() > mip_gap:
        start = start_values(
            built,
            pooled,
            Placement(pool_units(chosen.units), chosen.reduced),
            cost(view, chosen).ports_holding,
        )
        decisive = require_solution(solver.solve(built.matrix, warm_start=start))
        add_split(built, decisive)
        if decisive.bound is not None:
            bound = max(bound, decisive.bound)
    latency_us, chosen = best()
    message = (
        "ports pooled: bound from the pooled relaxation, plan from its solution split over "
        f"the ports; latency recomputed by the cost model ({decisive.message})"
    )
    return Pooled(chosen, latency_us, bound, parts, message)
