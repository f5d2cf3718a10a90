"""The PIFS-Rec placement MILP in array form (see the package docstring for the math)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace

import numpy as np

from cost_models.pifs.busy import HOLDS_EPS
from cost_models.pifs.topology import GIB
from formulations.pifs.inputs import CapacityInputs, PlacementInputs, Problem
from formulations.types import MatrixModel, Sense

MB = 1e6  # model unit for bytes moved per batch
US_PER_MB = 1e3  # MB / (GB/s) * 1e3 = microseconds
COLOCATE_MIN_SHARE = 1e-4  # a co-located table keeps >= this share of its bytes at a location
ROUND_EPS = 1e-6  # LP values above this count as 'used' when rounding


@dataclass(frozen=True)
class Buckets:
    """All (table, bucket) pairs flattened: index k, in table order."""

    table: np.ndarray  # table index of k
    bucket: np.ndarray  # bucket index within its table
    units: np.ndarray  # x[k, :] sums to this: 1 (fractions) or the bucket's pages
    unit_bytes: np.ndarray  # stored bytes per unit
    unit_lookup_bytes: np.ndarray  # lookup bytes per batch per unit

    @staticmethod
    def of(problem: Problem) -> Buckets:
        arrays = problem.workload.bucket_arrays
        table = arrays.table
        first = np.searchsorted(table, np.arange(len(problem.workload.tables)))
        bucket = np.arange(len(table)) - first[table]
        if problem.page_bytes is None:
            units = np.ones(len(table))
            unit_bytes = arrays.bytes
        else:
            units = np.array(
                [problem.pages(t, b) for t, b in zip(table, bucket, strict=True)], dtype=float
            )
            unit_bytes = np.full(len(table), problem.page_bytes)
        return Buckets(table, bucket, units, unit_bytes, arrays.lookup_bytes / units)


class _Arrays:
    """Columns and (row, column, value) triplets, turned into a CSR MatrixModel at the end."""

    def __init__(self) -> None:
        self.names: list[str] = []
        self.lower: list[np.ndarray] = []
        self.upper: list[np.ndarray] = []
        self.integer: list[np.ndarray] = []
        self.triplets: list[tuple[np.ndarray, np.ndarray, np.ndarray]] = []
        self.row_lower: list[np.ndarray] = []
        self.row_upper: list[np.ndarray] = []
        self.n_rows = 0

    def columns(
        self, names: list[str], lower: np.ndarray | float, upper: np.ndarray | float, integer: bool
    ) -> np.ndarray:
        start = len(self.names)
        n = len(names)
        self.names.extend(names)
        self.lower.append(np.broadcast_to(np.asarray(lower, dtype=float), (n,)).copy())
        self.upper.append(np.broadcast_to(np.asarray(upper, dtype=float), (n,)).copy())
        self.integer.append(np.full(n, integer))
        return np.arange(start, start + n)

    def rows(
        self,
        row: np.ndarray,
        col: np.ndarray,
        val: np.ndarray,
        lower: np.ndarray | float,
        upper: np.ndarray | float,
        n: int,
    ) -> None:
        """Add ``n`` rows; ``row`` holds local row ids 0..n-1 of each triplet."""
        self.triplets.append(
            (np.asarray(row) + self.n_rows, np.asarray(col), np.asarray(val, dtype=float))
        )
        self.row_lower.append(np.broadcast_to(np.asarray(lower, dtype=float), (n,)).copy())
        self.row_upper.append(np.broadcast_to(np.asarray(upper, dtype=float), (n,)).copy())
        self.n_rows += n

    def matrix(self, cost: dict[int, float], sense: Sense) -> MatrixModel:
        rows = np.concatenate([r for r, _, _ in self.triplets])
        cols = np.concatenate([c for _, c, _ in self.triplets])
        vals = np.concatenate([v for _, _, v in self.triplets])
        keep = vals != 0.0
        rows, cols, vals = rows[keep], cols[keep], vals[keep]
        order = np.argsort(rows, kind="stable")
        start = np.concatenate([[0], np.cumsum(np.bincount(rows, minlength=self.n_rows))])
        c = np.zeros(len(self.names))
        for j, value in cost.items():
            c[j] = value
        return MatrixModel(
            names=self.names,
            cost=c,
            col_lower=np.concatenate(self.lower),
            col_upper=np.concatenate(self.upper),
            integrality=np.concatenate(self.integer),
            a_start=start.astype(np.int64),
            a_index=cols[order].astype(np.int64),
            a_value=vals[order],
            row_lower=np.concatenate(self.row_lower),
            row_upper=np.concatenate(self.row_upper),
            sense=sense,
        )


@dataclass(frozen=True)
class Columns:
    """Column indices of every variable group (``None`` where the group is absent)."""

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
    model: MatrixModel
    cols: Columns
    buckets: Buckets


def _group_members(placement: PlacementInputs) -> list[str]:
    groups = [*placement.colocate, *placement.separate]
    return sorted({name for g in groups for name in g})


@dataclass(frozen=True)
class Pool:
    """The single port of a pooled problem stands for ``ports`` identical ports."""

    ports: int
    port_gb_per_s: float  # bandwidth of one of them
    latency_bound_us: float | None  # a known plan's latency (bounds T), for the port-count cut


def build_model(
    problem: Problem,
    placement: PlacementInputs,
    plan_mode: CapacityInputs | None,
    pool: Pool | None = None,
) -> BuiltModel:
    """Build the MILP of the package docstring as CSR arrays (pooled: see aggregate.py)."""
    fabric, work = problem.fabric, problem.workload
    bk = Buckets.of(problem)
    n_k, n_t = len(bk.table), len(work.tables)
    locs = fabric.locations
    n_l, n_p = len(locs), len(fabric.ports)
    page_mode = problem.page_bytes is not None
    a = _Arrays()

    x = a.columns(
        [f"x_{k}_{loc}" for k in range(n_k) for loc in range(n_l)],
        0.0,
        np.repeat(bk.units, n_l),
        page_mode,
    ).reshape(n_k, n_l)
    z = a.columns([f"z_{loc.name}" for loc in locs], 0.0, 1.0, True)
    busy = int(a.columns(["busy_us"], 0.0, np.inf, False)[0])
    chain = int(a.columns(["chain_us"], 0.0, np.inf, False)[0])

    # (1) every bucket fully placed
    a.rows(np.repeat(np.arange(n_k), n_l), x.ravel(), np.ones(n_k * n_l), bk.units, bk.units, n_k)
    # (2) capacity, and z_l = 1 for a used location (GiB)
    cap = np.array([loc.capacity_bytes for loc in locs]) / GIB
    a.rows(
        np.concatenate([np.repeat(np.arange(n_l), n_k), np.arange(n_l)]),
        np.concatenate([x.T.ravel(), z]),
        np.concatenate([np.tile(bk.unit_bytes / GIB, n_l), -cap]),
        -np.inf,
        0.0,
        n_l,
    )
    # (3) busy time of host DRAM and each port (us)
    bw = np.array([loc.bandwidth_gb_per_s for loc in locs])
    a.rows(
        np.concatenate([np.repeat(np.arange(n_l), n_k), np.arange(n_l)]),
        np.concatenate([x.T.ravel(), np.full(n_l, busy)]),
        np.concatenate(
            [(bk.unit_lookup_bytes / MB * US_PER_MB / bw[:, None]).ravel(), -np.ones(n_l)]
        ),
        -np.inf,
        0.0,
        n_l,
    )
    # per-table sums: total stored bytes and lookup MB of each table
    table_bytes = np.bincount(bk.table, bk.unit_bytes * bk.units, n_t)
    table_mb = np.bincount(bk.table, bk.unit_lookup_bytes * bk.units, n_t) / MB
    host_mb = bk.unit_lookup_bytes / MB  # coefficient of x[k, host] in R_t
    up_rate = US_PER_MB / fabric.upstream_gb_per_s
    cols_extra: dict[str, np.ndarray | int | None] = dict(y=None, r=None, u=None, s=None, rho=None)
    objective_reduction_us = 0.0
    if fabric.reduction_gb_per_s is not None:
        pooled_mb = np.array([t.pooled_bytes(work.batch_size) for t in work.tables]) / MB
        can_reduce = np.array([t.pooling > 1.0 for t in work.tables])
        y_max = n_p if pool is None else pool.ports  # sum_p y_tp, or y_t,pool: ports used
        y = a.columns(
            [f"y_{t}_{p}" for t in range(n_t) for p in range(n_p)],
            0.0,
            np.repeat(can_reduce, n_p) * float(y_max // n_p),
            True,
        ).reshape(n_t, n_p)
        r = a.columns([f"r_{t}" for t in range(n_t)], 0.0, can_reduce.astype(float), True)
        u = a.columns([f"u_{t}" for t in range(n_t)], 0.0, np.inf, False)
        s = a.columns([f"s_{t}" for t in range(n_t)], 0.0, np.inf, False)
        rho = int(a.columns(["rho"], 0.0, 1.0, True)[0])
        # (4) linking, per bucket: x[k,p] / n_k <= y[t,p] + (1 - r_t)
        a.rows(
            np.tile(np.arange(n_k * n_p), 3),
            np.concatenate([x[:, 1:].ravel(), y[bk.table].ravel(), np.repeat(r[bk.table], n_p)]),
            np.concatenate(
                [np.repeat(1.0 / bk.units, n_p), -np.ones(n_k * n_p), np.ones(n_k * n_p)]
            ),
            -np.inf,
            1.0,
            n_k * n_p,
        )
        # y only for reduced tables: sum_p y[t,p] <= P r_t
        a.rows(
            np.concatenate([np.repeat(np.arange(n_t), n_p), np.arange(n_t)]),
            np.concatenate([y.ravel(), r]),
            np.concatenate([np.ones(n_t * n_p), -y_max * np.ones(n_t)]),
            -np.inf,
            0.0,
            n_t,
        )
        if pool is not None and pool.latency_bound_us is not None:
            # port-count cut: a reduced table's CXL MB <= y_t,pool * (one port's MB in T_UB)
            port_mb = pool.port_gb_per_s * pool.latency_bound_us / US_PER_MB
            a.rows(
                np.concatenate([bk.table, np.arange(n_t), np.arange(n_t)]),
                np.concatenate([x[:, 1], y[:, 0], r]),
                np.concatenate([host_mb, -port_mb * np.ones(n_t), table_mb]),
                -np.inf,
                table_mb,
                n_t,
            )
        # (5) convex hull of {r=0: u >= R_t} or {r=1: s >= R_t}, R_t = M_t - host MB:
        # u_t + s_t >= R_t, u_t <= M_t (1 - r_t), s_t <= M_t r_t
        a.rows(
            np.concatenate([np.arange(n_t), np.arange(n_t), bk.table]),
            np.concatenate([u, s, x[:, 0]]),
            np.concatenate([np.ones(2 * n_t), host_mb]),
            table_mb,
            np.inf,
            n_t,
        )
        a.rows(
            np.tile(np.arange(n_t), 2),
            np.concatenate([u, r]),
            np.concatenate([np.ones(n_t), table_mb]),
            -np.inf,
            table_mb,
            n_t,
        )
        a.rows(
            np.tile(np.arange(n_t), 2),
            np.concatenate([s, r]),
            np.concatenate([np.ones(n_t), -table_mb]),
            -np.inf,
            0.0,
            n_t,
        )
        # (6) upstream link, (7) reduction engine, (8) switch buffer
        a.rows(
            np.zeros(n_t + n_t * n_p + 1, dtype=np.int64),
            np.concatenate([u, y.ravel(), [busy]]),
            np.concatenate([np.full(n_t, up_rate), np.repeat(pooled_mb * up_rate, n_p), [-1.0]]),
            -np.inf,
            0.0,
            1,
        )
        a.rows(
            np.zeros(n_t + 1, dtype=np.int64),
            np.concatenate([s, [busy]]),
            np.concatenate([np.full(n_t, US_PER_MB / fabric.reduction_gb_per_s), [-1.0]]),
            -np.inf,
            0.0,
            1,
        )
        row_bytes = np.array([t.row_bytes for t in work.tables], dtype=float)
        a.rows(
            np.zeros(n_t * n_p, dtype=np.int64),
            y.ravel(),
            np.repeat(problem.window_samples * row_bytes / 2**20, n_p),
            -np.inf,
            fabric.switch_buffer_bytes / 2**20,
            1,
        )
        # rho = 1 if any table is reduced
        a.rows(
            np.zeros(n_t + 1, dtype=np.int64),
            np.concatenate([r, [rho]]),
            np.concatenate([np.ones(n_t), [-float(n_t)]]),
            -np.inf,
            0.0,
            1,
        )
        objective_reduction_us = fabric.reduction_latency_ns / 1e3
        cols_extra = dict(y=y, r=r, u=u, s=s, rho=rho)
    else:
        # (6') upstream carries every CXL lookup: (M - host MB) * up_rate <= T
        a.rows(
            np.zeros(n_k + 1, dtype=np.int64),
            np.concatenate([x[:, 0], [busy]]),
            np.concatenate([-host_mb * up_rate, [-1.0]]),
            -np.inf,
            -table_mb.sum() * up_rate,
            1,
        )
    # (9) critical chain: c >= latency_l z_l
    lat_us = np.array([loc.latency_ns for loc in locs]) / 1e3
    a.rows(
        np.concatenate([np.arange(n_l), np.arange(n_l)]),
        np.concatenate([np.full(n_l, chain), z]),
        np.concatenate([np.ones(n_l), -lat_us]),
        0.0,
        np.inf,
        n_l,
    )
    # symmetry breaking on identical ports: used ports come first
    if n_p > 1:
        a.rows(
            np.repeat(np.arange(n_p - 1), 2),
            np.stack([z[1:-1], z[2:]], axis=1).ravel(),
            np.tile([1.0, -1.0], n_p - 1),
            0.0,
            np.inf,
            n_p - 1,
        )
    w = _group_rows(a, problem, placement, bk, x, table_bytes)
    latency_cost = {busy: 1.0, chain: 1.0}
    if cols_extra["rho"] is not None:
        latency_cost[int(cols_extra["rho"])] = objective_reduction_us
    if plan_mode is None:
        cost = latency_cost
    else:
        cost = {int(j): plan_mode.expander_price_usd for j in z[1:]}
        a.rows(
            np.zeros(len(latency_cost), dtype=np.int64),
            np.array(list(latency_cost)),
            np.array(list(latency_cost.values())),
            -np.inf,
            plan_mode.latency_target_us,
            1,
        )
    cols = Columns(x=x, z=z, busy=busy, chain=chain, w=w, **cols_extra)  # type: ignore[arg-type]
    return BuiltModel(a.matrix(cost, Sense.MINIMIZE), cols, bk)


def _group_rows(
    a: _Arrays,
    problem: Problem,
    placement: PlacementInputs,
    bk: Buckets,
    x: np.ndarray,
    table_bytes: np.ndarray,
) -> dict[int, np.ndarray]:
    """Presence binaries w[t,l] of grouped tables and the co-locate / separate rows."""
    page_mode = problem.page_bytes is not None
    names = [t.name for t in problem.workload.tables]
    index = {n: i for i, n in enumerate(names)}
    n_l = x.shape[1]
    w: dict[int, np.ndarray] = {}
    colocated = {n for g in placement.colocate for n in g}
    for name in _group_members(placement):
        t = index[name]
        w[t] = a.columns([f"w_{t}_{loc}" for loc in range(n_l)], 0.0, 1.0, True)
        ks = np.flatnonzero(bk.table == t)
        share = bk.unit_bytes[ks] / table_bytes[t]
        rows = np.repeat(np.arange(n_l), len(ks))
        # share of table t's bytes at l <= w[t,l]
        a.rows(
            np.concatenate([rows, np.arange(n_l)]),
            np.concatenate([x[ks].T.ravel(), w[t]]),
            np.concatenate([np.tile(share, n_l), -np.ones(n_l)]),
            -np.inf,
            0.0,
            n_l,
        )
        if name in colocated:
            # w[t,l] = 1 only if t keeps a real share there (a whole page in page mode)
            coef = np.ones(len(ks)) if page_mode else share
            floor = 1.0 if page_mode else COLOCATE_MIN_SHARE
            a.rows(
                np.concatenate([rows, np.arange(n_l)]),
                np.concatenate([x[ks].T.ravel(), w[t]]),
                np.concatenate([np.tile(coef, n_l), -floor * np.ones(n_l)]),
                0.0,
                np.inf,
                n_l,
            )
    for group in placement.colocate:
        first = w[index[group[0]]]
        for other in group[1:]:
            a.rows(
                np.tile(np.arange(n_l), 2),
                np.concatenate([first, w[index[other]]]),
                np.concatenate([np.ones(n_l), -np.ones(n_l)]),
                0.0,
                0.0,
                n_l,
            )
    for group in placement.separate:
        members = [w[index[n]] for n in group]
        a.rows(
            np.tile(np.arange(n_l), len(members)),
            np.concatenate(members),
            np.ones(n_l * len(members)),
            -np.inf,
            1.0,
            n_l,
        )
    return w


def split_by_table(bk: Buckets, per_bucket: np.ndarray, n_tables: int) -> list[np.ndarray]:
    """A (K x ...) array cut into one block of rows per table (buckets are in table order)."""
    return np.split(per_bucket, np.cumsum(np.bincount(bk.table, minlength=n_tables))[:-1])


def fractions_from_units(bk: Buckets, units: np.ndarray, n_tables: int) -> list[np.ndarray]:
    """Per table, (buckets x locations) fractions from a (K x L) array of units."""
    return split_by_table(bk, units / bk.units[:, None], n_tables)


def start_values(
    built: BuiltModel,
    problem: Problem,
    units: np.ndarray,
    reduced: Sequence[bool],
    ports_holding: np.ndarray | None = None,
) -> dict[str, float]:
    """Column values of a given placement (a MIP start for the solver).

    For a pooled model, ``ports_holding`` gives the per-port plan's port count per table.
    """
    cols, bk, names = built.cols, built.buckets, built.model.names
    fabric, work = problem.fabric, problem.workload
    n_t = len(work.tables)
    values = np.zeros(len(names))
    values[cols.x.ravel()] = units.ravel()
    holds = units > HOLDS_EPS
    used = np.zeros(units.shape[1], dtype=bool)
    used[:] = holds.any(axis=0)
    values[cols.z] = used
    lat = np.array([loc.latency_ns for loc in fabric.locations]) / 1e3
    values[cols.chain] = float(lat[used].max()) if used.any() else 0.0
    table_holds = np.zeros((n_t, units.shape[1]), dtype=bool)
    np.logical_or.at(table_holds, bk.table, holds)
    lookups = bk.unit_lookup_bytes[:, None] * units
    cxl_mb = np.bincount(bk.table, lookups[:, 1:].sum(axis=1), n_t) / MB
    red = np.asarray(reduced, dtype=bool)
    busy = [
        float(v)
        for v in lookups.sum(axis=0)
        / MB
        * US_PER_MB
        / np.array([loc.bandwidth_gb_per_s for loc in fabric.locations])
    ]
    up_rate = US_PER_MB / fabric.upstream_gb_per_s
    if cols.r is not None and cols.y is not None and cols.u is not None and cols.s is not None:
        pooled_mb = np.array([t.pooled_bytes(work.batch_size) for t in work.tables]) / MB
        y = (table_holds[:, 1:] if ports_holding is None else ports_holding[:, None]) * red[:, None]
        values[cols.y.ravel()] = y.ravel()
        values[cols.r] = red
        values[cols.u] = np.where(red, 0.0, cxl_mb)
        values[cols.s] = np.where(red, cxl_mb, 0.0)
        values[cols.rho] = float(red.any())
        busy.append(
            float((np.where(red, 0.0, cxl_mb).sum() + (pooled_mb[:, None] * y).sum()) * up_rate)
        )
        busy.append(float(cxl_mb[red].sum() * US_PER_MB / (fabric.reduction_gb_per_s or 1.0)))
    else:
        busy.append(float(cxl_mb.sum() * up_rate))
    values[cols.busy] = max(busy)
    for t, wt in cols.w.items():
        values[wt] = table_holds[t]
    return dict(zip(names, values.tolist(), strict=True))


def relaxation(model: MatrixModel) -> MatrixModel:
    """The LP relaxation (integrality dropped)."""
    return replace(model, integrality=np.zeros_like(model.integrality))


def lp_neighbourhood(built: BuiltModel, values: dict[str, float]) -> MatrixModel:
    """The MILP with every integer column the LP solution ``values`` left integral fixed.

    The integer columns with fractional LP values stay free (a relaxation-induced
    neighbourhood), and so do the presence columns y_t,. of a table whose r_t stays free
    (fixing them at their LP values would forbid rounding r_t up). The LP solution stays
    feasible for this sub-MILP's relaxation, and every integer solution of the sub-MILP is
    feasible for the full MILP.
    """
    model, cols = built.model, built.cols
    val = np.array([values.get(name, 0.0) for name in model.names])
    settled = model.integrality & (np.abs(val - np.round(val)) <= ROUND_EPS)
    if cols.r is not None and cols.y is not None:
        settled[cols.y[~settled[cols.r]]] = False
    lower, upper = model.col_lower.copy(), model.col_upper.copy()
    lower[settled] = upper[settled] = np.round(val[settled])
    return replace(model, col_lower=lower, col_upper=upper)
