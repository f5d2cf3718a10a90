"""Independent verifier of a ``ddl`` deployment: recomputes every requirement and the
objective from the stall model (:func:`cost_models.ddl.estimate.estimate`), never from the
solver's values nor from the candidate enumeration that built the MILP."""

from __future__ import annotations

from collections import Counter

from cost_models.cloud import INSTANCES
from cost_models.ddl.estimate import estimate
from formulations.ddl.candidates import meets_limit
from formulations.ddl.deployment import DdlDeployment
from formulations.ddl.inputs import Mode, QuotaGroup
from formulations.ddl.view import DdlView
from formulations.types import Verification


def verify(view: DdlView, deployment: DdlDeployment) -> Verification:
    inputs = view.inputs
    violations: list[str] = []
    specs = {spec.name: spec for spec in inputs.jobs}
    counts = Counter(a.job for a in deployment.assignments)
    for name in specs:
        if counts[name] != 1:
            violations.append(f"job {name}: assigned {counts[name]} configurations, expected 1")
    platform = inputs.assumptions.platform()
    total_cost, latest_h = 0.0, 0.0
    vcpus: Counter[tuple[QuotaGroup, str]] = Counter()
    for a in deployment.assignments:
        where = f"job {a.job} on {a.nodes} x {a.instance_type} ({a.market.value})"
        spec = specs.get(a.job)
        if spec is None:
            violations.append(f"{where}: no such job in the scenario")
            continue
        if a.instance_type not in inputs.instance_types:
            violations.append(f"{where}: instance type not allowed by instance_types")
            continue
        if not 1 <= a.nodes <= inputs.max_nodes:
            violations.append(f"{where}: nodes outside 1..max_nodes = {inputs.max_nodes}")
        if a.market not in inputs.markets:
            violations.append(f"{where}: market not allowed by markets")
        e = estimate(
            spec.job(),
            a.instance_type,
            a.nodes,
            a.market,
            platform,
            inputs.price_overrides(a.market),
        )
        if not meets_limit(e.hours, spec.deadline_h):
            violations.append(f"{where}: takes {e.hours:.4f} h > deadline {spec.deadline_h} h")
        total_cost += e.cost_usd
        latest_h = max(latest_h, e.hours)
        vcpus[QuotaGroup.of(a.instance_type), a.market] += (
            a.nodes * INSTANCES[a.instance_type].vcpus
        )
    if inputs.objective is Mode.MIN_TIME and not meets_limit(total_cost, inputs.budget_usd):
        violations.append(f"total cost ${total_cost:.2f} > budget ${inputs.budget_usd}")
    for q in inputs.quotas:
        used = vcpus[q.group, q.market]
        if used > q.vcpus:
            violations.append(
                f"quota {q.group.value}/{q.market.value}: {used} vCPUs used > {q.vcpus}"
            )
    objective = total_cost if inputs.objective is Mode.MIN_COST else latest_h
    return Verification(objective, violations)
