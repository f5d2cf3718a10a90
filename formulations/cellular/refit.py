"""``planner check`` for cellular: the committed pools (GPU type and maximum batches per
cell type) kept, at most their committed GPUs each, the changed traffic re-evaluated.

Sets and parameters
    P: the committed pools; for pool p: GPU type g(p), its committed GPUs m[p], the GPUs
    the scenario has of its type N[g(p)], the capacity r[p] of one GPU in its
    configuration at the scenario's length mix and SLO (requests/s, ``view.capacity``),
    price[g(p)] (USD/h); lambda: the scenario's total rate (requests/s).

1. Availability: a pool keeps u[p] = min(m[p], N[g(p)]) GPUs (a GPU the scenario no
   longer has cannot serve; N = 0 for a GPU type the scenario no longer lists). When
   sum_p r[p] u[p] < lambda, or a committed GPU type is no longer listed at all, the plan
   is short: every length bucket with traffic is named (its rate against the share of
   the kept capacity that its mix share gives it), and so is every GPU type with m[p] >
   N[g(p)] (required: the committed GPUs, available: N); the deployment judged is then
   the kept GPUs (u[p] per pool).
2. Otherwise the cheapest subset of the kept GPUs that serves the traffic:

       n[p] integer, 0 <= n[p] <= u[p]
       sum_p r[p] n[p] >= lambda
       minimise sum_p price[g(p)] n[p]   (USD/h)

   (pools left with n[p] = 0 are dropped), so a committed plan for more traffic than the
   scenario's is judged by the GPUs it needs, as a redeploy of the same pools would run.
   Capacity is where every bucket meets the SLO, and routing in proportion to capacity
   gives each GPU at most r[p], so the verifier then finds the latencies within the SLO.

Nothing is bought: no pool the plan does not have, no GPU beyond its count, the maximum
batches unchanged.
"""

from __future__ import annotations

from cost_models.units import UNIT_QPS
from formulations.cellular.deployment import CellularDeployment, Pool
from formulations.cellular.verify import batches, pool_problems
from formulations.cellular.view import CellularView
from formulations.model import Model, Sense, lin_sum
from formulations.types import MilpSolver, Refit, Shortfall, require_solution

UNIT_GPUS = "GPUs"


def refit(
    view: CellularView, deployment: CellularDeployment, solver: MilpSolver
) -> Refit[CellularDeployment]:
    pools = deployment.pools
    gpus = [p.gpu for p in pools]
    offered = [p for p in pools if p.gpu in view.max_count]
    if (
        not pools
        or len(set(gpus)) < len(gpus)
        or any(pool_problems(view, deployment.policy, _one(p)) for p in offered)
    ):
        return Refit(deployment)  # not a deployment of this scenario: the verifier says why
    kept = [min(p.count, view.max_count.get(p.gpu, 0)) for p in pools]
    capacity = [
        view.capacity(p.gpu, deployment.policy, batches(view, p)) if p in offered else 0.0
        for p in pools
    ]
    total_qps = sum(r * u for r, u in zip(capacity, kept, strict=True))
    if total_qps < view.total_rate_qps or len(offered) < len(pools):
        available = [
            Pool(gpu=p.gpu, count=u, max_batch=p.max_batch)
            for p, u in zip(pools, kept, strict=True)
            if u > 0
        ]
        return Refit(
            CellularDeployment(policy=deployment.policy, pools=available),
            _short(view, deployment, total_qps),
        )
    model = Model("cellular_refit", Sense.MINIMIZE)
    labels = list(range(len(pools)))
    n = model.add_variables(
        "n", labels, upper=kept, integer=True, cost=[view.price_usd_per_h[p.gpu] for p in pools]
    )
    model.add_constraint(
        "demand", lin_sum(capacity[i] * n[i] for i in labels) >= view.total_rate_qps
    )
    result = require_solution(solver.solve(model), context="refit")
    counts = [round(v) for v in model.var_blocks["n"].values(result)]
    chosen = [
        Pool(gpu=p.gpu, count=c, max_batch=p.max_batch)
        for p, c in zip(pools, counts, strict=True)
        if c > 0
    ]
    return Refit(CellularDeployment(policy=deployment.policy, pools=chosen))


def _one(pool: Pool) -> Pool:
    """``pool`` with one GPU: its problems other than availability."""
    return pool.model_copy(update={"count": 1})


def _short(view: CellularView, deployment: CellularDeployment, kept_qps: float) -> list[Shortfall]:
    out = [
        Shortfall(
            f"length bucket {label}",
            bucket.rate_qps,
            kept_qps * bucket.rate_qps / view.total_rate_qps,
            UNIT_QPS,
        )
        for label, bucket in zip(view.labels(), view.inputs.traffic, strict=True)
        if bucket.rate_qps > 0
    ]
    return out + [
        Shortfall(f"GPU type {p.gpu}", float(p.count), float(available), UNIT_GPUS, resource=True)
        for p in deployment.pools
        if p.count > (available := view.max_count.get(p.gpu, 0))
    ]
