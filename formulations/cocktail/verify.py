"""Independent verifier: recomputes every constraint and the cost of a deployment.

Reads only the cost-model data (latency, throughput, prices, spot risk, correctness matrix)
and the deployment; never the MILP, its candidates or the solver's values.
"""

from __future__ import annotations

import math
from collections import defaultdict

from formulations.cocktail.deployment import CocktailDeployment, IntervalPlan
from formulations.cocktail.view import CocktailView
from formulations.tolerances import close, leq
from formulations.types import Verification


def interval_cost_usd(view: CocktailView, deployment: CocktailDeployment) -> list[float]:
    """Cost of each interval: VM-hours at on-demand/spot prices plus billed start-up time of
    VMs added since the previous interval."""
    previous: dict[tuple[str, str], tuple[int, int]] = {}
    costs = []
    for plan in deployment.intervals:
        cost = 0.0
        current = {}
        for pool in plan.pools:
            i = view.instance_index.get(pool.instance_type)
            if i is None:
                continue
            od_prev, sp_prev = previous.get((pool.model, pool.instance_type), (0, 0))
            od_new, sp_new = max(0, pool.on_demand - od_prev), max(0, pool.spot - sp_prev)
            cost += view.interval_h * (
                pool.on_demand * view.on_demand_usd_per_h[i] + pool.spot * view.spot_usd_per_h[i]
            )
            cost += view.startup_h * (
                od_new * view.on_demand_usd_per_h[i] + sp_new * view.spot_usd_per_h[i]
            )
            current[(pool.model, pool.instance_type)] = (pool.on_demand, pool.spot)
        previous = current
        costs.append(float(cost))
    return costs


def cost_summary(view: CocktailView, deployment: CocktailDeployment) -> dict[str, float]:
    """Total cost, cost per hour and per 1k requests of a deployment."""
    total = sum(interval_cost_usd(view, deployment))
    requests = view.requests()
    return {
        "cost_usd": total,
        "cost_usd_per_h": total / (view.n_intervals * view.interval_h),
        "cost_usd_per_1k_requests": 1e3 * total / requests if requests > 0 else 0.0,
    }


def check_interval(view: CocktailView, t: int, plan: IntervalPlan) -> list[str]:
    """Violations of interval ``t``'s plan (every constraint but the change limit)."""
    out: list[str] = []
    model_idx, inst_idx = view.model_index, view.instance_index
    names = [c.name for c in plan.classes]
    expected = [c.name for c in view.classes]
    if names != expected:
        return [f"interval {t}: classes {names} differ from the scenario's {expected}"]
    served: dict[tuple[int, int], float] = defaultdict(float)
    for k, cls_plan in enumerate(plan.classes):
        cls = view.classes[k]
        where = f"interval {t}, class {cls.name!r}"
        members = cls_plan.members
        unknown = [m for m in members if m not in model_idx]
        if not members or unknown or len(set(members)) != len(members):
            out.append(f"{where}: ensemble {members} must be non-empty, distinct, known models")
            continue
        if len(members) > view.max_ensemble_size:
            out.append(
                f"{where}: ensemble of {len(members)} models exceeds max_ensemble_size "
                f"{view.max_ensemble_size}"
            )
        accuracy = view.correctness.accuracy([model_idx[m] for m in members])
        if accuracy < cls.accuracy_target:
            out.append(
                f"{where}: vote accuracy {accuracy:.4f} of {'+'.join(members)} is below "
                f"the target {cls.accuracy_target:.4f}"
            )
        routed: dict[str, float] = defaultdict(float)
        for route in cls_plan.routes:
            m, i = model_idx.get(route.model), inst_idx.get(route.instance_type)
            if m is None or i is None or route.model not in members:
                out.append(
                    f"{where}: route to {route.model} on {route.instance_type} is not "
                    "to an ensemble member on a listed instance type"
                )
                continue
            if not (math.isfinite(route.qps) and route.qps >= 0):
                out.append(f"{where}: route qps {route.qps} must be finite and >= 0")
                continue
            if view.latency_ms[m, i] > cls.slo_ms:
                out.append(
                    f"{where}: {route.model} on {route.instance_type} takes "
                    f"{view.latency_ms[m, i]:.2f} ms > SLO {cls.slo_ms:g} ms"
                )
            routed[route.model] += route.qps
            served[(m, i)] += route.qps
        load = float(view.planned_qps[k, t])
        for member in members:
            got = routed.get(member, 0.0)
            if not close(got, load):
                out.append(
                    f"{where}: {member} receives {got:.6g} req/s, not the class load "
                    f"{load:.6g} req/s"
                )
    seen = set()
    for pool in plan.pools:
        m, i = model_idx.get(pool.model), inst_idx.get(pool.instance_type)
        where = f"interval {t}, pool {pool.model} on {pool.instance_type}"
        if m is None or i is None or (m, i) in seen:
            out.append(f"{where}: unknown or duplicated pool")
            continue
        seen.add((m, i))
        if pool.on_demand < 0 or pool.spot < 0:
            out.append(f"{where}: VM counts must be >= 0")
    for (m, i), qps in served.items():
        where = f"interval {t}, pool {view.models[m]} on {view.instances[i]}"
        found = next(
            (
                p
                for p in plan.pools
                if (p.model, p.instance_type) == (view.models[m], view.instances[i])
            ),
            None,
        )
        od, sp = (found.on_demand, found.spot) if found is not None else (0, 0)
        od_qps = od * float(view.capacity_qps[m, i])
        capacity = od_qps + sp * view.spot_effective_qps(m, i)
        if not leq(qps, capacity):
            out.append(
                f"{where}: {qps:.6g} req/s exceed the risk-discounted capacity {capacity:.6g} req/s"
            )
        if not leq(view.min_on_demand_share * qps, od_qps):
            out.append(
                f"{where}: on-demand capacity {od_qps:.6g} req/s is below "
                f"{view.min_on_demand_share:g} of its load {qps:.6g} req/s"
            )
    return out


def _vm_changes(before: IntervalPlan, after: IntervalPlan) -> int:
    """VMs added plus VMs removed between two intervals, over every pool and both kinds."""
    counts = [
        {(p.model, p.instance_type): (p.on_demand, p.spot) for p in plan.pools}
        for plan in (before, after)
    ]
    return sum(
        abs(a - b)
        for key in counts[0].keys() | counts[1].keys()
        for a, b in zip(counts[0].get(key, (0, 0)), counts[1].get(key, (0, 0)), strict=True)
    )


def verify_deployment(view: CocktailView, deployment: CocktailDeployment) -> Verification:
    violations: list[str] = []
    if len(deployment.intervals) != view.n_intervals:
        violations.append(
            f"plan has {len(deployment.intervals)} intervals, the scenario {view.n_intervals}"
        )
    for t, plan in enumerate(deployment.intervals[: view.n_intervals]):
        violations += check_interval(view, t, plan)
        if t > 0 and view.max_vm_changes is not None:
            changes = _vm_changes(deployment.intervals[t - 1], plan)
            if changes > view.max_vm_changes:
                violations.append(
                    f"interval {t}: {changes} VMs added or removed, more than "
                    f"max_vm_changes {view.max_vm_changes}"
                )
    return Verification(sum(interval_cost_usd(view, deployment)), violations)
