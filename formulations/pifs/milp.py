"""The PIFS-Rec placement MILP, built with :class:`formulations.model.Model`.

Block names (in brackets) are the variable and row blocks of the built model; labels are
given as ready-made strings (``x[rm1_t0:3,port2]``), which keeps naming ~264k columns and
~251k rows cheap.

Sets: tables t; hotness buckets b of t (flattened as k = (t, b), labelled ``t:b``);
locations l = host (host DRAM) and port0..port{P-1} (downstream switch ports, one CXL
memory expander each).

Parameters (from :mod:`cost_models.pifs` via :mod:`formulations.pifs.view`): n_k units of
bucket k (1 when placing fractions; its whole pages ceil(bytes / page_bytes) with
``page_kib``); S_k stored bytes per unit (bucket bytes, or page_bytes); Lk_k lookup bytes
per batch per unit; S_t = sum_k S_k n_k and M_t = sum_k Lk_k n_k (MB) per table;
O_t = batch * row_bytes_t (MB) pooled output per port; cap_l (GiB), bw_l (GB/s; a port's
is the bottleneck of its link and its expander's DRAM), lat_l (us, host-to-memory path
latency), bw_up (upstream link, GB/s), bw_red (reduction engine, GB/s), lat_red (us),
buffer (MiB), window (samples). Busy times are in us: MB / (GB/s) = ms, times US_PER_MS.

Variables: [x] x_kl in [0, n_k] (continuous; integer pages in page mode); [T] T >= 0 busy
bound (us); [c] c >= 0 chain latency (us); [z] z_l in {0,1} location used; with a reduction
engine: [r] r_t in {0,1} table pooled in the switch, [y] y_tp in {0,1} reduced table t
holds rows on port p, [u] u_t >= 0 (MB the upstream link carries for non-reduced t), [s]
s_t >= 0 (MB the reduction engine reads for reduced t), [rho] rho in {0,1} any table
reduced; for tables named in co-locate / separate groups, [w] w_tl in {0,1} table t
present at l.

Constraints:
(1) [placed] sum_l x_kl = n_k (every bucket fully placed);
(2) [capacity] sum_k S_k x_kl <= cap_l z_l (GiB; z_l = 1 if l holds anything);
(3) [busy] sum_k Lk_k x_kl / bw_l <= T for l = host and every port;
(4) [presence] x_kp / n_k <= y_tp + (1 - r_t) for every bucket k of t: a reduced table's
    presence on p (a share is <= 1, so the big-M of 1 is tight; one row per bucket rather
    than one per table keeps the LP from paying a fraction of O_t for a table that is
    mostly on the host); and [reduced_only] sum_p y_tp <= P r_t (y only for reduced tables);
(5) R_t = M_t - sum_{k in t} Lk_k x_k,host is t's CXL lookup MB; its rows cross the
    upstream link (u_t) or go through the reduction engine (s_t): [hull_cover]
    u_t + s_t >= R_t, [hull_upstream] u_t <= M_t (1 - r_t), [hull_engine] s_t <= M_t r_t
    (big-M = M_t, the largest R_t can be, since x_k,host >= 0; for fixed R_t this is the
    convex hull of the two cases);
(6) [upstream] (sum_t u_t + sum_{t,p} O_t y_tp) / bw_up <= T (without an engine:
    (sum_t R_t) / bw_up <= T);
(7) [engine] sum_t s_t / bw_red <= T;
(8) [buffer] sum_{t,p} window * row_bytes_t * y_tp <= buffer (MiB); [any_reduced]
    sum_t r_t <= |T| rho;
(9) [chain] c >= lat_l z_l (us);
[share_at] sum_{k in t} S_k x_kl / S_t <= w_tl and, for co-located tables, [share_floor]
sum_{k in t} S_k x_kl / S_t >= COLOCATE_MIN_SHARE w_tl (>= one page in page mode: a
co-located table keeps a real share wherever it is counted present); [colocate]
w_tl = w_t'l within a group; [separate] sum_{t in group} w_tl <= 1 for every l.

Objective: minimise T + c + lat_red * rho (batch latency, us). Capacity-planning mode:
minimise price * sum_p z_p (USD) subject to [latency_target] T + c + lat_red * rho <=
target.

Linearisations: the product r_t * (CXL lookups) is split into u_t and s_t with big-M =
M_t (above; a disjunctive hull rather than two big-M lower bounds, for a tighter LP); the
product r_t * presence is folded into (4) with big-M 1 (a share); the max over resources
is T; the max over used locations is c.

Exact pruning and symmetry breaking (each keeps every optimum):
* a table with pooling factor <= 1 is never reduced (r_t fixed to 0): its CXL lookups
  B * L * share * row_bytes <= B * row_bytes <= O_t * (ports holding it), so pooling in
  the switch never lowers the upstream traffic and only adds engine load, buffer use and
  latency;
* [port_order] the ports are identical (same expander, link and latency), so permuting
  ports maps feasible plans to feasible plans of equal cost; we require z_1 >= z_2 >= ...
  >= z_P (sort used ports first), which every orbit satisfies for some permutation.

Pooled ports (:mod:`formulations.pifs.aggregate`): the same model with the P ports merged
into one pool port, y_t,pool in {0..P} and the [port_count_cut] row, a relaxation proved
there. With the cut (a known plan's latency T_UB), the pooled model leaves the presence
rows (4) out: dropping rows keeps it a relaxation, and at integer points the cut implies
them (a reduced table with CXL lookups has R_t > 0, so y_t,pool >= R_t / (bw_port T_UB)
> 0, hence y_t,pool >= 1 >= its pool share); its LP bound moves by ~3e-7 relative on
meta856_16port while the LP is solved 3-7x faster (degenerate per-bucket rows). Its
Lagrangian bound (:mod:`formulations.pifs.lagrange`) prices the seven rows that couple the
tables and keeps the rest, y integer included, per table.

The rows are added as numpy triplets (:meth:`formulations.model.Model.add_rows`); the
856-table x 17-bucket x 16-port per-port model has ~264k columns.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace

import numpy as np

from cost_models.pifs.busy import HOLDS_EPS, table_sums
from cost_models.units import BYTES_PER_GIB, BYTES_PER_MB, BYTES_PER_MIB, NS_PER_US, US_PER_MS
from formulations.model import Label, MatrixModel, Model, Sense
from formulations.pifs.view import PifsView, Placement
from formulations.tolerances import INTEGRALITY_TOL, NOISE
from formulations.types import SolveResult

# modelling choice: a co-located table keeps >= this share of its bytes where it is present
COLOCATE_MIN_SHARE = 1e-4


@dataclass(frozen=True)
class Columns:
    """Column indices of every variable block (``None`` where the block is absent)."""

    x: np.ndarray  # (K, L): units of bucket k at location l
    z: np.ndarray  # (L,): location used
    busy: int  # T, us
    chain: int  # c, us
    y: np.ndarray | None  # (tables, P): reduced table t has rows on port p
    r: np.ndarray | None  # (tables,): table pooled in the switch
    u: np.ndarray | None  # (tables,): raw upstream MB of a non-reduced table
    s: np.ndarray | None  # (tables,): MB the reduction engine reads for a reduced table
    rho: int | None  # any table reduced
    w: dict[int, np.ndarray]  # grouped table -> (L,) presence


@dataclass(frozen=True)
class BuiltModel:
    """The built model (solved as is) and where each block's columns are."""

    matrix: MatrixModel
    cols: Columns


@dataclass(frozen=True)
class Pool:
    """The single port of a pooled model stands for ``ports`` identical ports."""

    ports: int
    port_gb_per_s: float  # bandwidth of one of them
    latency_bound_us: float | None  # a known plan's latency (bounds T), for the port-count cut


class _Rows:
    """Row blocks from triplets, with zero coefficients dropped."""

    def __init__(self, model: Model) -> None:
        self.model = model

    def add(
        self,
        block: str,
        labels: Sequence[Label],
        row: np.ndarray,
        col: np.ndarray,
        value: np.ndarray,
        lower: float | np.ndarray,
        upper: float | np.ndarray,
    ) -> None:
        value = np.asarray(value, dtype=float)
        keep = value != 0.0
        self.model.add_rows(
            block, labels, np.asarray(row)[keep], np.asarray(col)[keep], value[keep], lower, upper
        )


def _bucket_labels(view: PifsView) -> list[str]:
    names = [t.name for t in view.workload.tables]
    bk = view.buckets
    return [f"{names[t]}:{b}" for t, b in zip(bk.table.tolist(), bk.bucket.tolist(), strict=True)]


def build_model(view: PifsView, pool: Pool | None = None) -> BuiltModel:
    """The MILP of the module docstring (pooled: see :mod:`formulations.pifs.aggregate`)."""
    fabric, work, bk = view.fabric, view.workload, view.buckets
    plan_mode = view.inputs.capacity_planning
    n_k, n_t = len(bk.table), len(work.tables)
    locs = fabric.locations
    loc_names = [loc.name for loc in locs]
    table_names = [t.name for t in work.tables]
    port_names = loc_names[1:]
    n_l, n_p = len(locs), len(fabric.ports)
    page_mode = view.page_bytes is not None
    k_labels = _bucket_labels(view)
    model = Model("pifs", Sense.MINIMIZE)
    rows = _Rows(model)

    x_labels = [f"{k},{loc}" for k in k_labels for loc in loc_names]
    x = (
        model.add_variables(
            "x",
            x_labels,
            upper=np.repeat(bk.units, n_l),
            integer=page_mode,
        )
        .cols.reshape(n_k, n_l)
        .copy()
    )
    latency_cost = 1.0 if plan_mode is None else 0.0  # objective: latency, or ...
    port_price = 0.0 if plan_mode is None else plan_mode.expander_price_usd  # ... expanders
    z = model.add_variables(
        "z", loc_names, upper=1.0, integer=True, cost=[0.0] + [port_price] * n_p
    ).cols
    busy = int(model.add_variables("T", (None,), cost=latency_cost).cols[0])
    chain = int(model.add_variables("c", (None,), cost=latency_cost).cols[0])

    # (1) every bucket fully placed
    rows.add(
        "placed",
        k_labels,
        np.repeat(np.arange(n_k), n_l),
        x.ravel(),
        np.ones(n_k * n_l),
        bk.units,
        bk.units,
    )
    # (2) capacity, and z_l = 1 for a used location (GiB)
    cap = np.array([loc.capacity_bytes for loc in locs]) / BYTES_PER_GIB
    rows.add(
        "capacity",
        loc_names,
        np.concatenate([np.repeat(np.arange(n_l), n_k), np.arange(n_l)]),
        np.concatenate([x.T.ravel(), z]),
        np.concatenate([np.tile(bk.unit_bytes / BYTES_PER_GIB, n_l), -cap]),
        -np.inf,
        0.0,
    )
    # (3) busy time of host DRAM and each port (us)
    bw = np.array([loc.bandwidth_gb_per_s for loc in locs])
    rows.add(
        "busy",
        loc_names,
        np.concatenate([np.repeat(np.arange(n_l), n_k), np.arange(n_l)]),
        np.concatenate([x.T.ravel(), np.full(n_l, busy)]),
        np.concatenate(
            [
                (bk.unit_lookup_bytes / BYTES_PER_MB * US_PER_MS / bw[:, None]).ravel(),
                -np.ones(n_l),
            ]
        ),
        -np.inf,
        0.0,
    )
    # per-table sums: total stored bytes and lookup MB of each table
    table_bytes = np.bincount(bk.table, bk.unit_bytes * bk.units, n_t)
    table_mb = np.bincount(bk.table, bk.unit_lookup_bytes * bk.units, n_t) / BYTES_PER_MB
    host_mb = bk.unit_lookup_bytes / BYTES_PER_MB  # coefficient of x[k, host] in R_t
    up_rate = US_PER_MS / fabric.upstream_gb_per_s
    y = r = u = s = None
    rho: int | None = None
    if fabric.reduction_gb_per_s is not None:
        pooled_mb = np.array([t.pooled_bytes(work.batch_size) for t in work.tables]) / BYTES_PER_MB
        can_reduce = np.array([t.pooling > 1.0 for t in work.tables])
        y_max = n_p if pool is None else pool.ports  # sum_p y_tp, or y_t,pool: ports used
        y = (
            model.add_variables(
                "y",
                [f"{t},{p}" for t in table_names for p in port_names],
                upper=np.repeat(can_reduce, n_p) * float(y_max // n_p),
                integer=True,
            )
            .cols.reshape(n_t, n_p)
            .copy()
        )
        r = model.add_variables("r", table_names, upper=can_reduce.astype(float), integer=True).cols
        u = model.add_variables("u", table_names).cols
        s = model.add_variables("s", table_names).cols
        rho_us = fabric.reduction_latency_ns / NS_PER_US
        rho = int(
            model.add_variables(
                "rho", (None,), upper=1.0, integer=True, cost=latency_cost * rho_us
            ).cols[0]
        )
        cut = pool is not None and pool.latency_bound_us is not None
        if not cut:  # the pooled model with its port-count cut leaves (4) out, see aggregate.py
            # (4) linking, per bucket: x[k,p] / n_k <= y[t,p] + (1 - r_t)
            rows.add(
                "presence",
                [label for i, label in enumerate(x_labels) if i % n_l],  # x's port labels
                np.tile(np.arange(n_k * n_p), 3),
                np.concatenate(
                    [x[:, 1:].ravel(), y[bk.table].ravel(), np.repeat(r[bk.table], n_p)]
                ),
                np.concatenate(
                    [np.repeat(1.0 / bk.units, n_p), -np.ones(n_k * n_p), np.ones(n_k * n_p)]
                ),
                -np.inf,
                1.0,
            )
        # y only for reduced tables: sum_p y[t,p] <= P r_t
        rows.add(
            "reduced_only",
            table_names,
            np.concatenate([np.repeat(np.arange(n_t), n_p), np.arange(n_t)]),
            np.concatenate([y.ravel(), r]),
            np.concatenate([np.ones(n_t * n_p), -y_max * np.ones(n_t)]),
            -np.inf,
            0.0,
        )
        if cut:
            assert pool is not None and pool.latency_bound_us is not None
            # port-count cut: a reduced table's CXL MB <= y_t,pool * (one port's MB in T_UB)
            port_mb = pool.port_gb_per_s * pool.latency_bound_us / US_PER_MS
            rows.add(
                "port_count_cut",
                table_names,
                np.concatenate([bk.table, np.arange(n_t), np.arange(n_t)]),
                np.concatenate([x[:, 1], y[:, 0], r]),
                np.concatenate([host_mb, -port_mb * np.ones(n_t), table_mb]),
                -np.inf,
                table_mb,
            )
        # (5) convex hull of {r=0: u >= R_t} or {r=1: s >= R_t}, R_t = M_t - host MB:
        # u_t + s_t >= R_t, u_t <= M_t (1 - r_t), s_t <= M_t r_t
        rows.add(
            "hull_cover",
            table_names,
            np.concatenate([np.arange(n_t), np.arange(n_t), bk.table]),
            np.concatenate([u, s, x[:, 0]]),
            np.concatenate([np.ones(2 * n_t), host_mb]),
            table_mb,
            np.inf,
        )
        rows.add(
            "hull_upstream",
            table_names,
            np.tile(np.arange(n_t), 2),
            np.concatenate([u, r]),
            np.concatenate([np.ones(n_t), table_mb]),
            -np.inf,
            table_mb,
        )
        rows.add(
            "hull_engine",
            table_names,
            np.tile(np.arange(n_t), 2),
            np.concatenate([s, r]),
            np.concatenate([np.ones(n_t), -table_mb]),
            -np.inf,
            0.0,
        )
        # (6) upstream link, (7) reduction engine, (8) switch buffer
        rows.add(
            "upstream",
            [None],
            np.zeros(n_t + n_t * n_p + 1, dtype=np.int64),
            np.concatenate([u, y.ravel(), [busy]]),
            np.concatenate([np.full(n_t, up_rate), np.repeat(pooled_mb * up_rate, n_p), [-1.0]]),
            -np.inf,
            0.0,
        )
        rows.add(
            "engine",
            [None],
            np.zeros(n_t + 1, dtype=np.int64),
            np.concatenate([s, [busy]]),
            np.concatenate([np.full(n_t, US_PER_MS / fabric.reduction_gb_per_s), [-1.0]]),
            -np.inf,
            0.0,
        )
        row_bytes = np.array([t.row_bytes for t in work.tables], dtype=float)
        rows.add(
            "buffer",
            [None],
            np.zeros(n_t * n_p, dtype=np.int64),
            y.ravel(),
            np.repeat(view.window_samples * row_bytes / BYTES_PER_MIB, n_p),
            -np.inf,
            fabric.switch_buffer_bytes / BYTES_PER_MIB,
        )
        # rho = 1 if any table is reduced
        rows.add(
            "any_reduced",
            [None],
            np.zeros(n_t + 1, dtype=np.int64),
            np.concatenate([r, [rho]]),
            np.concatenate([np.ones(n_t), [-float(n_t)]]),
            -np.inf,
            0.0,
        )
    else:
        # (6') upstream carries every CXL lookup: (M - host MB) * up_rate <= T
        rows.add(
            "upstream",
            [None],
            np.zeros(n_k + 1, dtype=np.int64),
            np.concatenate([x[:, 0], [busy]]),
            np.concatenate([-host_mb * up_rate, [-1.0]]),
            -np.inf,
            -table_mb.sum() * up_rate,
        )
    # (9) critical chain: c >= latency_l z_l
    lat_us = np.array([loc.latency_ns for loc in locs]) / NS_PER_US
    rows.add(
        "chain",
        loc_names,
        np.concatenate([np.arange(n_l), np.arange(n_l)]),
        np.concatenate([np.full(n_l, chain), z]),
        np.concatenate([np.ones(n_l), -lat_us]),
        0.0,
        np.inf,
    )
    # symmetry breaking on identical ports: used ports come first
    if n_p > 1:
        rows.add(
            "port_order",
            port_names[1:],
            np.repeat(np.arange(n_p - 1), 2),
            np.stack([z[1:-1], z[2:]], axis=1).ravel(),
            np.tile([1.0, -1.0], n_p - 1),
            0.0,
            np.inf,
        )
    w = _group_rows(model, rows, view, x, table_bytes)
    if plan_mode is not None:
        latency = {busy: 1.0, chain: 1.0}
        if rho is not None:
            latency[rho] = fabric.reduction_latency_ns / NS_PER_US
        rows.add(
            "latency_target",
            [None],
            np.zeros(len(latency), dtype=np.int64),
            np.array(list(latency)),
            np.array(list(latency.values())),
            -np.inf,
            plan_mode.latency_target_us,
        )
    matrix = model.build()
    cols = Columns(x=x, z=z, busy=busy, chain=chain, y=y, r=r, u=u, s=s, rho=rho, w=w)
    return BuiltModel(matrix, cols)


def _group_rows(
    model: Model, rows: _Rows, view: PifsView, x: np.ndarray, table_bytes: np.ndarray
) -> dict[int, np.ndarray]:
    """Presence binaries w[t,l] of grouped tables and the co-locate / separate rows."""
    placement = view.inputs.placement
    bk = view.buckets
    page_mode = view.page_bytes is not None
    names = [t.name for t in view.workload.tables]
    loc_names = view.location_names
    index = {n: i for i, n in enumerate(names)}
    n_l = x.shape[1]
    colocated = {n for g in placement.colocate for n in g}
    members = sorted({name for g in [*placement.colocate, *placement.separate] for name in g})
    if not members:
        return {}
    block = model.add_variables(
        "w", [(name, loc) for name in members for loc in loc_names], upper=1.0, integer=True
    )
    w = {index[name]: block.cols[i * n_l : (i + 1) * n_l] for i, name in enumerate(members)}
    for name in members:
        t = index[name]
        ks = np.flatnonzero(bk.table == t)
        share = bk.unit_bytes[ks] / table_bytes[t]
        local = np.repeat(np.arange(n_l), len(ks))
        labels = [(name, loc) for loc in loc_names]
        # share of table t's bytes at l <= w[t,l]
        rows.add(
            "share_at",
            labels,
            np.concatenate([local, np.arange(n_l)]),
            np.concatenate([x[ks].T.ravel(), w[t]]),
            np.concatenate([np.tile(share, n_l), -np.ones(n_l)]),
            -np.inf,
            0.0,
        )
        if name in colocated:
            # w[t,l] = 1 only if t keeps a real share there (a whole page in page mode)
            coef = np.ones(len(ks)) if page_mode else share
            floor = 1.0 if page_mode else COLOCATE_MIN_SHARE
            rows.add(
                "share_floor",
                labels,
                np.concatenate([local, np.arange(n_l)]),
                np.concatenate([x[ks].T.ravel(), w[t]]),
                np.concatenate([np.tile(coef, n_l), -floor * np.ones(n_l)]),
                0.0,
                np.inf,
            )
    for g, group in enumerate(placement.colocate):
        first = w[index[group[0]]]
        for other in group[1:]:
            rows.add(
                "colocate",
                [(g, other, loc) for loc in loc_names],
                np.tile(np.arange(n_l), 2),
                np.concatenate([first, w[index[other]]]),
                np.concatenate([np.ones(n_l), -np.ones(n_l)]),
                0.0,
                0.0,
            )
    for g, group in enumerate(placement.separate):
        present = [w[index[n]] for n in group]
        rows.add(
            "separate",
            [(g, loc) for loc in loc_names],
            np.tile(np.arange(n_l), len(present)),
            np.concatenate(present),
            np.ones(n_l * len(present)),
            -np.inf,
            1.0,
        )
    return w


def placement_from(view: PifsView, cols: Columns, result: SolveResult) -> Placement:
    """The placement in a solver solution (fractions below NOISE dropped, pages rounded).

    A reduced table keeps no rows on a port whose presence y_tp rounds to 0: within the
    solver's integrality tolerance, (4) lets a share up to ~1e-6 sit on such a port for
    free, which the cost model (any share above HOLDS_EPS holds the table) would charge a
    pooled vector per sample for (issue 11: with a x1 upstream link that made the plan
    worth more than the solver's objective)."""
    units = result.x[cols.x].copy()
    if cols.r is None:
        reduced = np.zeros(view.buckets.n_tables, dtype=bool)
    else:
        reduced = result.x[cols.r] > 0.5
    if cols.y is not None:
        absent = reduced[:, None] & (np.round(result.x[cols.y]) == 0)  # (tables, ports)
        units[:, 1:][absent[view.buckets.table]] = 0.0
    if view.page_bytes is None:
        units = np.where(units > NOISE, units, 0.0)
        units /= units.sum(axis=1, keepdims=True)
    else:
        units = np.round(units)
    return Placement(units, reduced)


def start_values(
    built: BuiltModel,
    view: PifsView,
    placement: Placement,
    ports_holding: np.ndarray | None = None,
) -> np.ndarray:
    """Column values of a given placement (a MIP start for the solver), one per column.

    For a pooled model, ``ports_holding`` gives the per-port plan's port count per table.
    """
    cols, bk = built.cols, view.buckets
    units = placement.units
    fabric, work = view.fabric, view.workload
    n_t = len(work.tables)
    values = np.zeros(len(built.matrix.names))
    values[cols.x.ravel()] = units.ravel()
    holds = units > HOLDS_EPS
    used = holds.any(axis=0)
    values[cols.z] = used
    lat = np.array([loc.latency_ns for loc in fabric.locations]) / NS_PER_US
    values[cols.chain] = float(lat[used].max()) if used.any() else 0.0
    table_holds = table_sums(bk.table, n_t, holds, np.logical_or)
    lookups = bk.unit_lookup_bytes[:, None] * units
    cxl_mb = np.bincount(bk.table, lookups[:, 1:].sum(axis=1), n_t) / BYTES_PER_MB
    red = np.asarray(placement.reduced, dtype=bool)
    busy = [
        float(v)
        for v in lookups.sum(axis=0)
        / BYTES_PER_MB
        * US_PER_MS
        / np.array([loc.bandwidth_gb_per_s for loc in fabric.locations])
    ]
    up_rate = US_PER_MS / fabric.upstream_gb_per_s
    if cols.r is not None and cols.y is not None and cols.u is not None and cols.s is not None:
        pooled_mb = np.array([t.pooled_bytes(work.batch_size) for t in work.tables]) / BYTES_PER_MB
        y = (table_holds[:, 1:] if ports_holding is None else ports_holding[:, None]) * red[:, None]
        values[cols.y.ravel()] = y.ravel()
        values[cols.r] = red
        values[cols.u] = np.where(red, 0.0, cxl_mb)
        values[cols.s] = np.where(red, cxl_mb, 0.0)
        values[cols.rho] = float(red.any())
        busy.append(
            float((np.where(red, 0.0, cxl_mb).sum() + (pooled_mb[:, None] * y).sum()) * up_rate)
        )
        busy.append(float(cxl_mb[red].sum() * US_PER_MS / (fabric.reduction_gb_per_s or 1.0)))
    else:
        busy.append(float(cxl_mb.sum() * up_rate))
    values[cols.busy] = max(busy)
    for t, wt in cols.w.items():
        values[wt] = table_holds[t]
    return values


def lp_neighbourhood(built: BuiltModel, x_lp: np.ndarray) -> MatrixModel:
    """The MILP with every integer column the LP solution ``x_lp`` left integral fixed.

    The integer columns with fractional LP values stay free (a relaxation-induced
    neighbourhood), and a table's r_t and presence columns y_t,. stay free together when
    any of them is fractional (fixing y at its LP values would forbid rounding r_t up;
    fixing r_t = 1 would force a fractional y_t up to a whole port's pooled vectors, where
    not reducing the table may be cheaper). The LP solution stays
    feasible for this sub-MILP's relaxation, and every integer solution of the sub-MILP is
    feasible for the full MILP.
    """
    model, cols = built.matrix, built.cols
    settled = model.integrality & (np.abs(x_lp - np.round(x_lp)) <= INTEGRALITY_TOL)
    if cols.r is not None and cols.y is not None:
        table_settled = settled[cols.r] & settled[cols.y].all(axis=1)
        settled[cols.r[~table_settled]] = False
        settled[cols.y[~table_settled]] = False
    lower, upper = model.col_lower.copy(), model.col_upper.copy()
    lower[settled] = upper[settled] = np.round(x_lp[settled])
    return replace(model, col_lower=lower, col_upper=upper)
