"""GPU-mix planning for LLM serving (Melange, Griggs et al. 2024, Sec. 5) as a MILP.

Melange splits every request-length bucket into ``S`` equal slices (the slice factor) and
assigns each slice to one GPU type; a GPU type's replicas must carry the load of its
slices. This model adds a tensor-parallel degree and a role per pool, the ``max_num_seqs``
limit (inside the per-replica rates), GPU availability, and optionally separate prefill
and decode pools joined by a KV-transfer bandwidth constraint.

Sets
    B               request-length buckets (input-length bucket x output-length bucket)
    Q               pools q = (GPU type g(q), TP degree tp(q), role r(q)); roles: both
                    (colocated continuous batching), prefill, decode (with
                    allow_disaggregation); Q_both, Q_pre, Q_dec by role
    G               GPU types
    E = {(b, q) : cap[b, q] > 0}   the bucket-pool pairs a replica can serve at all

Parameters
    lam[b]          request rate of bucket b, requests/s (total rate x share)
    S               slice factor (slices per bucket), each slice carries lam[b] / S
    cap[b, q]       highest rate one replica of q sustains on bucket b within the TTFT and
                    TPOT SLOs and its max_num_seqs, requests/s (cost_models.llm.capacity)
    price[q]        tp(q) x the GPU's price, USD/h per replica
    kv[b]           KV bytes of one prompt of bucket b moved from prefill to decode, GB
    link            KV-transfer bandwidth of one replica, GB/s
    avail[g]        GPUs of type g available (rows only where the scenario limits it)

Variables
    n[q]            integer >= 0: replicas of pool q (uses tp(q) GPUs each)
    k[b, q]         integer in 0..S, for (b, q) in E: slices of bucket b served by pool q

Constraints
    cover[b]        sum_{q in Q_both u Q_pre} k[b, q] = S     every slice is served once
    pair[b]         sum_{q in Q_pre} k[b, q] - sum_{q in Q_dec} k[b, q] = 0
                    (only with disaggregation: a slice prefilled in a prefill pool is
                    decoded in a decode pool)
    load[q]         sum_b lam[b] / (S cap[b, q]) k[b, q] <= n[q]
                    (Melange's C2: the slices' shares of a replica's capacity add up)
    kv_out[q]       q in Q_pre: sum_b lam[b] kv[b] / S k[b, q] <= link n[q]
    kv_in[q]        q in Q_dec: the same, received
    avail[g]        sum_{q : g(q) = g} tp(q) n[q] <= avail[g]

Objective
    minimise sum_q price[q] n[q]          (USD/h)

Slices of one bucket are interchangeable, so Melange's binaries x[s, g] (slice s on GPU
type g) are counted instead: k[b, q] = sum_s x[s, q] over the slices s of b. Any x gives
such a k, and any k gives an x (assign the slices of b to pools in order), with the same
load on every pool, so both models have the same optimum; counting removes the S!
symmetric copies of each solution. There is no big-M and no linearisation: every row is
linear in the decisions as stated. Upper bounds: ``n[q] <= ceil(sum_b lam[b] / cap[b, q])``
over the buckets q can serve (the load row then holds for any k), tightened by
``avail[g] / tp(q)``.

``planner check`` (``refit.py``) solves this model over the committed pools with
``n[q] <= committed[q]``, first with ``short[b]`` in 0..S added to ``cover[b]`` and the
objective ``minimise sum_b lam[b] / S short[b]`` (requests/s unserved; replicas free), and,
when every slice is served, once more as stated (the cheapest subset of the committed
replicas).

Melange's own model (the ``melange`` baseline, melange/solver.py ``MelangeSolver.run``):
binary x[s, g] per slice and GPU type, ``sum_g x[s, g] = 1``, ``sum_s x[s, g] lam_s /
cap[s, g] <= y[g]``, integer y[g], minimise ``sum_g cost[g] y[g]``; TP 1 and colocated
pools only (built by :func:`build_melange`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import cast

from cost_models.units import BYTES_PER_GB
from formulations.llm.view import Batching, LlmView, Pool, Role
from formulations.model import Model, Sense, VarBlock, lin_sum
from formulations.types import SolveResult


@dataclass
class LlmModel:
    model: Model
    pools: tuple[Pool, ...]
    n: VarBlock
    k: VarBlock
    short: VarBlock | None = None  # refit only: slices left unserved per bucket

    def replicas(self, result: SolveResult) -> dict[str, int]:
        return {str(key): round(v) for key, v in self.n.value_map(result).items()}

    def slices(self, result: SolveResult) -> dict[tuple[int, str], int]:
        counts: dict[tuple[int, str], int] = {}
        for label, v in zip(self.k.labels, self.k.values(result), strict=True):
            b, q = cast(tuple[int, str], label)
            if round(v) > 0:
                counts[b, q] = round(v)
        return counts


def build(
    view: LlmView,
    batching: Batching = Batching.CONTINUOUS,
    pools: tuple[Pool, ...] | None = None,
    most_replicas: dict[str, int] | None = None,
    unserved: bool = False,
) -> LlmModel:
    """The model over ``pools`` (default: every pool of the view with a rate table for
    ``batching``). ``most_replicas`` (refit) bounds n[q] by the committed replicas (0 for a
    pool not committed); ``unserved`` lets slices go unserved at a cost of their rate
    (short[b] in cover[b]) and makes replicas free, so the optimum serves as much as the
    replicas allowed can."""
    chosen = tuple(p for p in (pools or view.pools) if view.cap(p.key, batching) is not None)
    S = view.slice_factor
    n_buckets = len(view.bucket_labels)
    model = Model("llm", Sense.MINIMIZE)
    caps = {p.key: view.cap(p.key, batching) for p in chosen}
    edges = [(b, p.key) for p in chosen for b in range(n_buckets) if caps[p.key][b] > 0]  # type: ignore[index]
    upper = []
    for p in chosen:
        cap = caps[p.key]
        assert cap is not None
        served = sum(view.rate_qps[b] / cap[b] for b in range(n_buckets) if cap[b] > 0)
        bound = math.ceil(served - 1e-9)
        limit = view.max_gpus.get(p.gpu)
        if limit is not None:
            bound = min(bound, limit // p.tp)
        if most_replicas is not None:
            bound = min(bound, most_replicas.get(p.key, 0))
        upper.append(bound)
    cost = [0.0 if unserved else p.replica_price_usd_per_h for p in chosen]
    n = model.add_variables("n", [p.key for p in chosen], upper=upper, integer=True, cost=cost)
    k = model.add_variables("k", edges, upper=S, integer=True)
    short = None
    if unserved:
        short = model.add_variables(
            "short",
            range(n_buckets),
            upper=S,
            integer=True,
            cost=[view.slice_rate_qps(b) for b in range(n_buckets)],
        )
    by_bucket: dict[int, list[str]] = {}
    for b, q in edges:
        by_bucket.setdefault(b, []).append(q)
    role = {p.key: p.role for p in chosen}
    for b in range(n_buckets):
        first = [q for q in by_bucket.get(b, []) if role[q] is not Role.DECODE]
        served = lin_sum(k[b, q] for q in first)
        if short is not None:
            served += short[b]
        model.add_constraint("cover", served == S, label=b)
    if any(p.role is Role.PREFILL for p in chosen):
        for b in range(n_buckets):
            qs = by_bucket.get(b, [])
            pre = lin_sum(k[b, q] for q in qs if role[q] is Role.PREFILL)
            dec = lin_sum(k[b, q] for q in qs if role[q] is Role.DECODE)
            model.add_constraint("pair", pre - dec == 0, label=b)
    kv = view.kv_bytes_per_request
    link_gb_per_s = view.kv_link_bytes_per_s / BYTES_PER_GB
    for p in chosen:
        cap = caps[p.key]
        assert cap is not None
        mine = [b for b, q in edges if q == p.key]
        load = lin_sum(view.slice_rate_qps(b) / cap[b] * k[b, p.key] for b in mine)
        model.add_constraint("load", load - n[p.key] <= 0, label=p.key)
        if p.role is not Role.BOTH:
            assert kv is not None
            moved = lin_sum(
                view.slice_rate_qps(b) * kv[b] / BYTES_PER_GB * k[b, p.key] for b in mine
            )
            block = "kv_out" if p.role is Role.PREFILL else "kv_in"
            model.add_constraint(block, moved - link_gb_per_s * n[p.key] <= 0, label=p.key)
    for g, limit in view.max_gpus.items():
        mine_pools = [p for p in chosen if p.gpu == g]
        if limit is not None and mine_pools:
            model.add_constraint(
                "avail", lin_sum(p.tp * n[p.key] for p in mine_pools) <= limit, label=g
            )
    return LlmModel(model, chosen, n, k, short)


@dataclass
class MelangeModel:
    model: Model
    pools: tuple[Pool, ...]
    y: VarBlock
    x: VarBlock

    def replicas(self, result: SolveResult) -> dict[str, int]:
        return {str(key): round(v) for key, v in self.y.value_map(result).items()}

    def slices(self, result: SolveResult) -> dict[tuple[int, str], int]:
        counts: dict[tuple[int, str], int] = {}
        for label, v in zip(self.x.labels, self.x.values(result), strict=True):
            b, _s, q = cast(tuple[int, int, str], label)
            if round(v) > 0:
                counts[b, q] = counts.get((b, q), 0) + 1
        return counts


def build_melange(view: LlmView) -> MelangeModel:
    """Melange's model as its solver.py writes it: one binary per slice and GPU type (TP 1,
    colocated pools), no availability limits."""
    pools = tuple(p for p in view.pools if p.tp == 1 and p.role is Role.BOTH)
    S = view.slice_factor
    n_buckets = len(view.bucket_labels)
    caps = {p.key: view.cap(p.key, Batching.CONTINUOUS) for p in pools}
    model = Model("melange", Sense.MINIMIZE)
    y = model.add_variables(
        "y", [p.key for p in pools], integer=True, cost=[p.price_usd_per_h for p in pools]
    )
    labels = [
        (b, s, p.key)
        for b in range(n_buckets)
        for s in range(S)
        for p in pools
        if caps[p.key][b] > 0  # type: ignore[index]
    ]
    x = model.add_variables("x", labels, upper=1, integer=True)
    for b in range(n_buckets):
        for s in range(S):
            model.add_constraint(
                "C1",
                lin_sum(x[b, s, p.key] for p in pools if (b, s, p.key) in x) == 1,
                label=(b, s),
            )
    for p in pools:
        cap = caps[p.key]
        assert cap is not None
        load = lin_sum(
            view.slice_rate_qps(b) / cap[b] * x[b, s, p.key] for b, s, q in labels if q == p.key
        )
        model.add_constraint("C2", load - y[p.key] <= 0, label=p.key)
    return MelangeModel(model, pools, y, x)
