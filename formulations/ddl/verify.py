"""Independent verifier of a ``ddl`` deployment: recomputes every requirement and the
objective from the stall model (:func:`cost_models.ddl.estimate.estimate`), never from the
solver's values nor from the candidate enumeration that built the MILP.

:func:`evaluate` re-evaluates each assignment's configuration under the scenario and sums
what the requirements count (cost, latest finish, vCPUs per quota); :func:`requirements`
lists the deadlines, budget and quotas those sums break, each as the amounts ``planner
check`` reports (:class:`formulations.types.Shortfall`) and as the verifier's message.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

from cost_models.cloud import INSTANCES
from cost_models.ddl.estimate import Estimate, Market, estimate
from cost_models.units import UNIT_H, UNIT_USD
from formulations.ddl.candidates import meets_limit
from formulations.ddl.deployment import Assignment, DdlDeployment
from formulations.ddl.inputs import Mode, QuotaGroup
from formulations.ddl.view import DdlView
from formulations.types import Shortfall, Verification

UNIT_VCPUS = "vCPUs"  # AWS counts instance quotas in vCPUs (EC2 User Guide, "quotas")


@dataclass
class Evaluation:
    """A deployment under a scenario: the stall-model estimate of every assignment that
    names a job and an allowed instance type, what they add up to, and every rule the
    assignments break on their own (names, counts, ranges)."""

    estimates: list[tuple[Assignment, Estimate]] = field(default_factory=list)
    total_cost_usd: float = 0.0
    latest_h: float = 0.0
    vcpus: Counter[tuple[QuotaGroup, Market]] = field(default_factory=Counter)
    violations: list[str] = field(default_factory=list)


def where(a: Assignment) -> str:
    return f"job {a.job} on {a.nodes} x {a.instance_type} ({a.market.value})"


def evaluate(view: DdlView, deployment: DdlDeployment) -> Evaluation:
    inputs = view.inputs
    out = Evaluation()
    counts = Counter(a.job for a in deployment.assignments)
    for name in view.specs:
        if counts[name] != 1:
            out.violations.append(f"job {name}: assigned {counts[name]} configurations, expected 1")
    for a in deployment.assignments:
        spec = view.specs.get(a.job)
        if spec is None:
            out.violations.append(f"{where(a)}: no such job in the scenario")
            continue
        if a.instance_type not in inputs.instance_types:
            out.violations.append(f"{where(a)}: instance type not allowed by instance_types")
            continue
        if not 1 <= a.nodes <= inputs.max_nodes:
            out.violations.append(f"{where(a)}: nodes outside 1..max_nodes = {inputs.max_nodes}")
            continue
        if a.market not in inputs.markets:
            out.violations.append(f"{where(a)}: market not allowed by markets")
        e = estimate(
            spec.job(),
            a.instance_type,
            a.nodes,
            a.market,
            view.platform,
            inputs.price_overrides(a.market),
        )
        out.estimates.append((a, e))
        out.total_cost_usd += e.cost_usd
        out.latest_h = max(out.latest_h, e.hours)
        out.vcpus[QuotaGroup.of(a.instance_type), a.market] += (
            a.nodes * INSTANCES[a.instance_type].vcpus
        )
    return out


def requirements(view: DdlView, evaluation: Evaluation) -> list[tuple[Shortfall, str]]:
    """What the evaluated configurations do not meet, with the amounts (for ``planner
    check``) and the verifier's message: per job the hours it needs against its deadline,
    the total cost against the budget (min_time), per quota the vCPUs held against the
    limit."""
    inputs = view.inputs
    out = []
    for a, e in evaluation.estimates:
        deadline_h = view.specs[a.job].deadline_h
        if deadline_h is not None and not meets_limit(e.hours, deadline_h):
            out.append(
                (
                    Shortfall(f"job {a.job} (deadline)", e.hours, deadline_h, UNIT_H),
                    f"{where(a)}: takes {e.hours:.4f} h > deadline {deadline_h} h",
                )
            )
    budget_usd = inputs.budget_usd
    total_usd = evaluation.total_cost_usd
    if (
        inputs.objective is Mode.MIN_TIME
        and budget_usd is not None
        and not meets_limit(total_usd, budget_usd)
    ):
        out.append(
            (
                Shortfall("budget", total_usd, budget_usd, UNIT_USD, resource=True),
                f"total cost ${total_usd:.2f} > budget ${budget_usd}",
            )
        )
    for q in inputs.quotas:
        used = evaluation.vcpus[q.group, q.market]
        if used > q.vcpus:
            name = f"quota {q.group.value}/{q.market.value}"
            out.append(
                (
                    Shortfall(name, used, q.vcpus, UNIT_VCPUS, resource=True),
                    f"{name}: {used} vCPUs used > {q.vcpus}",
                )
            )
    return out


def verify(view: DdlView, deployment: DdlDeployment) -> Verification:
    evaluation = evaluate(view, deployment)
    violations = evaluation.violations + [message for _, message in requirements(view, evaluation)]
    objective = (
        evaluation.total_cost_usd if view.inputs.objective is Mode.MIN_COST else evaluation.latest_h
    )
    return Verification(objective, violations)
