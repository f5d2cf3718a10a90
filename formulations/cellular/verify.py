"""Independent verifier of a cellular-batching deployment, from the cost model alone.

For every pool: the GPU type and its availability, the maximum batches (one per cell type,
each one of the scenario's ``max_batch_candidates``; one graph batch size for graph
policies), the capacity recomputed
from the latency model; then the routing (traffic split in proportion to capacity), the
per-GPU load and every length bucket's latency quantile at that load against the SLO.
Nothing is read from the solver or from the view's candidates.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from cost_models.units import MS_PER_S
from formulations.cellular.deployment import CellularDeployment, Pool
from formulations.cellular.view import CellularView
from formulations.tolerances import leq
from formulations.types import Verification


@dataclass(frozen=True)
class PoolFigures:
    capacity_qps: float  # per GPU
    load_qps: float  # per GPU, after routing
    latency_ms: list[float]  # per bucket, the SLO percentile at the load


def pool_problems(view: CellularView, policy: str, pool: Pool) -> list[str]:
    """What makes a pool unusable before any latency is computed."""
    if pool.gpu not in view.max_count:
        return [f"pool {pool.gpu}: not a GPU type of the scenario ({', '.join(view.max_count)})"]
    out = []
    if pool.count > view.max_count[pool.gpu]:
        out.append(f"pool {pool.gpu}: {pool.count} GPUs > max_count {view.max_count[pool.gpu]}")
    if sorted(pool.max_batch) != sorted(view.cell_names):
        out.append(
            f"pool {pool.gpu}: max_batch names {sorted(pool.max_batch)}, the model's cell types "
            f"are {list(view.cell_names)}"
        )
        return out
    allowed = sorted(view.inputs.max_batch_candidates)
    for name, b in pool.max_batch.items():
        if b not in allowed:
            out.append(
                f"pool {pool.gpu}: max_batch {name} = {b} is not one of the scenario's "
                f"max_batch_candidates {allowed}"
            )
    if policy != "cellular" and len(set(pool.max_batch.values())) != 1:
        out.append(f"pool {pool.gpu}: graph batching needs one batch size for every cell type")
    return out


def batches(view: CellularView, pool: Pool) -> tuple[int, ...]:
    return tuple(pool.max_batch[name] for name in view.cell_names)


def figures(view: CellularView, deployment: CellularDeployment) -> list[PoolFigures]:
    """Capacity, routed load and bucket latencies of every (valid) pool."""
    capacities = [
        view.capacity(p.gpu, deployment.policy, batches(view, p)) for p in deployment.pools
    ]
    total = sum(p.count * c for p, c in zip(deployment.pools, capacities, strict=True))
    out = []
    for pool, capacity in zip(deployment.pools, capacities, strict=True):
        # routing in proportion to capacity; by GPU count when no pool has any
        gpus = sum(p.count for p in deployment.pools)
        load = view.total_rate_qps * (capacity / total if total > 0 else 1.0 / gpus)
        latency = view.latency_fn(pool.gpu, deployment.policy, batches(view, pool))
        at = latency(np.array([load]))[0]
        out.append(PoolFigures(capacity, float(load), [float(x) * MS_PER_S for x in at]))
    return out


def cost_usd_per_h(view: CellularView, deployment: CellularDeployment) -> float:
    return sum(view.price_usd_per_h.get(p.gpu, np.inf) * p.count for p in deployment.pools)


def verify(view: CellularView, deployment: CellularDeployment) -> Verification:
    violations: list[str] = []
    gpus = [p.gpu for p in deployment.pools]
    for gpu in sorted({g for g in gpus if gpus.count(g) > 1}):
        violations.append(
            f"GPU type {gpu} appears in {gpus.count(gpu)} pools (one configuration each)"
        )
    for pool in deployment.pools:
        violations += pool_problems(view, deployment.policy, pool)
    if not deployment.pools:
        violations.append("no GPU pools: the traffic is not served")
    if violations:
        return Verification(cost_usd_per_h(view, deployment), violations)
    pools = figures(view, deployment)
    capacity = sum(p.count * f.capacity_qps for p, f in zip(deployment.pools, pools, strict=True))
    if not leq(view.total_rate_qps, capacity):
        violations.append(
            f"traffic {view.total_rate_qps:.6g} requests/s > capacity {capacity:.6g} requests/s "
            f"of the pools within {view.inputs.percentile} <= {view.inputs.slo_ms:g} ms"
        )
    for pool, fig in zip(deployment.pools, pools, strict=True):
        for label, ms in zip(view.labels(), fig.latency_ms, strict=True):
            if not leq(ms, view.inputs.slo_ms):
                violations.append(
                    f"pool {pool.gpu}: bucket {label} {view.inputs.percentile} {ms:.2f} ms > SLO "
                    f"{view.inputs.slo_ms:g} ms at {fig.load_qps:.6g} requests/s per GPU"
                )
    return Verification(cost_usd_per_h(view, deployment), violations)
