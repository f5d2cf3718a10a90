"""``planner check`` for llm: the committed pools (GPU type, TP degree, role) and at most
their committed replicas, the changed traffic's slices re-assigned over them.

Two solves of the model of ``milp.py`` over the committed pools, with ``n[q] <=
committed[q]`` and the scenario's GPU availability:

1. the most traffic the committed replicas serve: slices may go unserved, replicas are
   free, ``minimise sum_b lam[b] / S short[b]`` (requests/s). A bucket with unserved
   slices is short (its rate against the rate of its served slices); a GPU type whose
   committed GPUs exceed what the scenario now has available is named too, when anything
   is short (required: the committed GPUs; available: the scenario's ``max_count``);
2. when every slice is served: the cheapest subset of the committed replicas that serves
   them (the model as stated, bounded by the committed replicas), so that a committed plan
   for more traffic than the scenario's is judged by the replicas it needs, not by those
   it could release (they are released, as a redeploy of the same pools would).

Nothing is bought: no pool the plan does not have, no replica beyond its count.
"""

from __future__ import annotations

from cost_models.units import UNIT_QPS
from formulations.llm.deployment import LlmDeployment, deployment_of
from formulations.llm.milp import build
from formulations.llm.view import LlmView
from formulations.types import MilpSolver, Refit, Shortfall, require_solution

UNIT_GPUS = "GPUs"


def refit(view: LlmView, deployment: LlmDeployment, solver: MilpSolver) -> Refit[LlmDeployment]:
    committed = {p.pool: p.replicas for p in deployment.pools if view.pool(p.pool) is not None}
    most = build(view, deployment.batching, most_replicas=committed, unserved=True)
    result = require_solution(solver.solve(most.model), context="refit")
    assert most.short is not None
    shortfalls = []
    for b, unserved in enumerate(most.short.values(result)):
        if round(unserved) > 0:
            required = float(view.rate_qps[b])
            served = required * (1 - round(unserved) / view.slice_factor)
            label = view.bucket_labels[b]
            shortfalls.append(Shortfall(f"bucket {label}", required, served, UNIT_QPS))
    if shortfalls:
        shortfalls += _gpus_short(view, committed)
        replicas = most.replicas(result)
        slices = most.slices(result)
        return Refit(deployment_of(view, replicas, slices, deployment.batching), shortfalls)
    cheapest = build(view, deployment.batching, most_replicas=committed)
    result = require_solution(solver.solve(cheapest.model), context="refit")
    replicas, slices = cheapest.replicas(result), cheapest.slices(result)
    return Refit(deployment_of(view, replicas, slices, deployment.batching))


def _gpus_short(view: LlmView, committed: dict[str, int]) -> list[Shortfall]:
    """GPU types of which the committed replicas use more GPUs than are available."""
    used: dict[str, int] = {}
    for key, replicas in committed.items():
        pool = view.pool(key)
        assert pool is not None
        used[pool.gpu] = used.get(pool.gpu, 0) + replicas * pool.tp
    return [
        Shortfall(f"GPU type {gpu}", float(count), float(limit), UNIT_GPUS, resource=True)
        for gpu, count in sorted(used.items())
        if (limit := view.max_gpus.get(gpu)) is not None and count > limit
    ]
