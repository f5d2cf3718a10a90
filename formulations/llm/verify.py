"""The independent verifier of an ``llm`` deployment: every constraint of
:mod:`formulations.llm.milp` and the cost, recomputed from the cost-model view."""

from __future__ import annotations

from dataclasses import dataclass

from formulations.llm.deployment import LlmDeployment
from formulations.llm.view import LlmView, Role
from formulations.tolerances import leq
from formulations.types import Verification


@dataclass(frozen=True)
class PoolUse:
    """What a deployment asks of one pool: replicas, load (replicas' worth of capacity),
    rate served (requests/s) and KV bytes per second moved."""

    replicas: int
    load: float
    rate_qps: float
    kv_bytes_per_s: float


def cost_usd_per_h(view: LlmView, deployment: LlmDeployment) -> float:
    total = 0.0
    for plan in deployment.pools:
        pool = view.pool(plan.pool)
        if pool is not None:
            total += plan.replicas * pool.replica_price_usd_per_h
    return total


def pool_uses(view: LlmView, deployment: LlmDeployment) -> tuple[dict[str, PoolUse], list[str]]:
    """Per pool key its use, and the violations met computing it (unknown names, slices a
    pool cannot serve)."""
    violations: list[str] = []
    index = {label: b for b, label in enumerate(view.bucket_labels)}
    replicas = {p.pool: p.replicas for p in deployment.pools}
    load: dict[str, float] = {}
    rate: dict[str, float] = {}
    moved: dict[str, float] = {}
    for a in deployment.assignments:
        pool = view.pool(a.pool)
        b = index.get(a.bucket)
        if pool is None or b is None:
            what = f"pool {a.pool}" if pool is None else f"bucket {a.bucket!r}"
            violations.append(f"assignment {a.bucket} -> {a.pool}: unknown {what}")
            continue
        cap = view.cap(pool.key, deployment.batching)
        slice_qps = view.slice_rate_qps(b) * a.slices
        if cap is None or (cap[b] <= 0 and slice_qps > 0):
            violations.append(
                f"bucket {a.bucket}: pool {a.pool} cannot serve it within the SLOs "
                f"({deployment.batching.value} batching)"
            )
            continue
        if slice_qps > 0:
            load[a.pool] = load.get(a.pool, 0.0) + slice_qps / cap[b]
        rate[a.pool] = rate.get(a.pool, 0.0) + slice_qps
        if pool.role is not Role.BOTH and view.kv_bytes_per_request is not None:
            moved[a.pool] = moved.get(a.pool, 0.0) + slice_qps * view.kv_bytes_per_request[b]
    keys = set(replicas) | set(load)
    uses = {
        key: PoolUse(
            replicas.get(key, 0), load.get(key, 0.0), rate.get(key, 0.0), moved.get(key, 0.0)
        )
        for key in keys
    }
    return uses, violations


def verify(view: LlmView, deployment: LlmDeployment) -> Verification:
    violations: list[str] = []
    S = view.slice_factor
    if deployment.slice_factor != S:
        violations.append(
            f"slice_factor: the deployment has {deployment.slice_factor}, the scenario {S}"
        )
    for plan in deployment.pools:
        pool = view.pool(plan.pool)
        if pool is None:
            violations.append(f"pool {plan.pool}: not a pool of the scenario")
        elif view.cap(pool.key, deployment.batching) is None:
            violations.append(f"pool {plan.pool}: no {deployment.batching.value}-batching rates")
    if len({p.pool for p in deployment.pools}) != len(deployment.pools):
        violations.append("pools: a pool is listed twice")
    uses, found = pool_uses(view, deployment)
    violations += found
    # cover and pair: every slice served once; prefilled slices decoded
    first: dict[str, int] = {}
    prefilled: dict[str, int] = {}
    decoded: dict[str, int] = {}
    for a in deployment.assignments:
        pool = view.pool(a.pool)
        if pool is None:
            continue
        if pool.role is Role.DECODE:
            decoded[a.bucket] = decoded.get(a.bucket, 0) + a.slices
        else:
            first[a.bucket] = first.get(a.bucket, 0) + a.slices
        if pool.role is Role.PREFILL:
            prefilled[a.bucket] = prefilled.get(a.bucket, 0) + a.slices
    for label in view.bucket_labels:
        if first.get(label, 0) != S:
            violations.append(
                f"cover: bucket {label} has {first.get(label, 0)} of {S} slices served"
            )
        if prefilled.get(label, 0) != decoded.get(label, 0):
            violations.append(
                f"pair: bucket {label} has {prefilled.get(label, 0)} slices prefilled apart but "
                f"{decoded.get(label, 0)} decoded apart"
            )
    for key, use in sorted(uses.items()):
        if not leq(use.load, use.replicas):
            violations.append(
                f"load: pool {key} needs {use.load:.6g} replicas for {use.rate_qps:.6g} "
                f"requests/s but has {use.replicas}"
            )
        if use.kv_bytes_per_s > 0 and not leq(
            use.kv_bytes_per_s, use.replicas * view.kv_link_bytes_per_s
        ):
            violations.append(
                f"kv: pool {key} moves {use.kv_bytes_per_s / 1e9:.6g} GB/s of KV cache over "
                f"{use.replicas} x {view.kv_link_bytes_per_s / 1e9:.6g} GB/s links"
            )
    gpus: dict[str, int] = {}
    for plan in deployment.pools:
        pool = view.pool(plan.pool)
        if pool is not None:
            gpus[pool.gpu] = gpus.get(pool.gpu, 0) + pool.tp * plan.replicas
    for g, used in sorted(gpus.items()):
        limit = view.max_gpus.get(g)
        if limit is not None and used > limit:
            violations.append(f"avail: {used} {g} GPUs planned, {limit} available")
    return Verification(cost_usd_per_h(view, deployment), violations)
