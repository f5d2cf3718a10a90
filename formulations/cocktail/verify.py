"""Independent verifier: recomputes every constraint and the cost of a deployment.

Reads only the cost-model data (latency, throughput, prices, spot risk, correctness matrix)
and the deployment; never the MILP, its candidates or the solver's values.
"""

from __future__ import annotations

import math
from collections import defaultdict

from formulations.cocktail.inputs import (
    SECONDS_PER_HOUR,
    CocktailData,
    CocktailDeployment,
    IntervalPlan,
)
from formulations.types import Verification

REL_TOL = 1e-6  # relative tolerance on load balances and capacities (solver feasibility)
ABS_TOL_QPS = 1e-6  # absolute tolerance, requests/s


def _close_enough(lhs: float, rhs: float) -> bool:
    """lhs <= rhs up to the tolerances."""
    return lhs <= rhs + ABS_TOL_QPS + REL_TOL * max(abs(lhs), abs(rhs))


def interval_cost_usd(data: CocktailData, deployment: CocktailDeployment) -> list[float]:
    """Cost of each interval: VM-hours at on-demand/spot prices plus billed start-up time of
    VMs added since the previous interval."""
    previous: dict[tuple[str, str], tuple[int, int]] = {}
    costs = []
    for plan in deployment.intervals:
        cost = 0.0
        current = {}
        for pool in plan.pools:
            i = data.instance_index.get(pool.instance_type)
            if i is None:
                continue
            od_prev, sp_prev = previous.get((pool.model, pool.instance_type), (0, 0))
            od_new, sp_new = max(0, pool.on_demand - od_prev), max(0, pool.spot - sp_prev)
            cost += data.interval_h * (
                pool.on_demand * data.on_demand_usd_per_h[i] + pool.spot * data.spot_usd_per_h[i]
            )
            cost += data.startup_h * (
                od_new * data.on_demand_usd_per_h[i] + sp_new * data.spot_usd_per_h[i]
            )
            current[(pool.model, pool.instance_type)] = (pool.on_demand, pool.spot)
        previous = current
        costs.append(float(cost))
    return costs


def requests_served(data: CocktailData) -> float:
    """Requests the plan serves over the horizon (planned load x interval length)."""
    return float(data.planned_qps.sum() * data.interval_h * SECONDS_PER_HOUR)


def _check_interval(data: CocktailData, t: int, plan: IntervalPlan) -> list[str]:
    out: list[str] = []
    model_idx, inst_idx = data.model_index, data.instance_index
    names = [c.name for c in plan.classes]
    expected = [c.name for c in data.classes]
    if names != expected:
        return [f"interval {t}: classes {names} differ from the scenario's {expected}"]
    served: dict[tuple[int, int], float] = defaultdict(float)
    for k, cls_plan in enumerate(plan.classes):
        cls = data.classes[k]
        where = f"interval {t}, class {cls.name!r}"
        members = cls_plan.members
        unknown = [m for m in members if m not in model_idx]
        if not members or unknown or len(set(members)) != len(members):
            out.append(f"{where}: ensemble {members} must be non-empty, distinct, known models")
            continue
        if len(members) > data.max_ensemble_size:
            out.append(
                f"{where}: ensemble of {len(members)} models exceeds max_ensemble_size "
                f"{data.max_ensemble_size}"
            )
        accuracy = data.correctness.accuracy([model_idx[m] for m in members])
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
            if data.latency_ms[m, i] > cls.slo_ms:
                out.append(
                    f"{where}: {route.model} on {route.instance_type} takes "
                    f"{data.latency_ms[m, i]:.2f} ms > SLO {cls.slo_ms:g} ms"
                )
            routed[route.model] += route.qps
            served[(m, i)] += route.qps
        load = float(data.planned_qps[k, t])
        for member in members:
            got = routed.get(member, 0.0)
            if not (_close_enough(got, load) and _close_enough(load, got)):
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
        where = f"interval {t}, pool {data.models[m]} on {data.instances[i]}"
        pool = next(
            (
                p
                for p in plan.pools
                if (p.model, p.instance_type) == (data.models[m], data.instances[i])
            ),
            None,
        )
        od, sp = (pool.on_demand, pool.spot) if pool is not None else (0, 0)
        od_qps = od * float(data.capacity_qps[m, i])
        capacity = od_qps + sp * data.spot_effective_qps(m, i)
        if not _close_enough(qps, capacity):
            out.append(
                f"{where}: {qps:.6g} req/s exceed the risk-discounted capacity {capacity:.6g} req/s"
            )
        if not _close_enough(data.min_on_demand_share * qps, od_qps):
            out.append(
                f"{where}: on-demand capacity {od_qps:.6g} req/s is below "
                f"{data.min_on_demand_share:g} of its load {qps:.6g} req/s"
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


def verify_deployment(data: CocktailData, deployment: CocktailDeployment) -> Verification:
    violations: list[str] = []
    if len(deployment.intervals) != data.n_intervals:
        violations.append(
            f"plan has {len(deployment.intervals)} intervals, the scenario {data.n_intervals}"
        )
    for t, plan in enumerate(deployment.intervals[: data.n_intervals]):
        violations += _check_interval(data, t, plan)
        if t > 0 and data.max_vm_changes is not None:
            changes = _vm_changes(deployment.intervals[t - 1], plan)
            if changes > data.max_vm_changes:
                violations.append(
                    f"interval {t}: {changes} VMs added or removed, more than "
                    f"max_vm_changes {data.max_vm_changes}"
                )
    return Verification(sum(interval_cost_usd(data, deployment)), violations)
