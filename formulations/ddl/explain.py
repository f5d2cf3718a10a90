"""Why a ``ddl`` scenario has no plan, and why a candidate was not recommended (computed
from the inputs and the stall model, for the user)."""

from __future__ import annotations

from formulations.ddl.candidates import Candidate, alone_ok, dominant_stall, meets_limit
from formulations.ddl.inputs import JobSpec, Mode
from formulations.ddl.view import DdlView


def explain(view: DdlView) -> str:
    """Which requirement fails: a job's deadline (with its fastest achievable time), the
    budget (with the cheapest plan's cost), or the quotas shared by the jobs."""
    inputs = view.inputs
    reasons = []
    cheapest_total = 0.0
    for spec in inputs.jobs:
        cands = view.candidates[spec.name]
        fastest = min(cands, key=lambda c: c.estimate.hours)
        if not any(meets_limit(c.estimate.hours, spec.deadline_h) for c in cands):
            reasons.append(
                f"job {spec.name}: deadline {spec.deadline_h:g} h cannot be met; the fastest "
                f"configuration, {fastest.label}, takes {fastest.estimate.hours:.2f} h "
                f"({dominant_stall(fastest.estimate)})"
            )
            continue
        ok = view.kept[spec.name]
        if not ok:
            timely = [c for c in cands if meets_limit(c.estimate.hours, spec.deadline_h)]
            cheapest = min(timely, key=lambda c: c.estimate.cost_usd)
            smallest = min(timely, key=lambda c: c.vcpus)
            timely_text = " that meets its deadline" if spec.deadline_h is not None else ""
            reasons.append(
                f"job {spec.name}: the cheapest configuration{timely_text}, "
                f"{cheapest.label}, costs ${cheapest.estimate.cost_usd:.2f}, above the "
                f"${inputs.budget_usd:g} budget"
                if inputs.objective is Mode.MIN_TIME
                and not meets_limit(cheapest.estimate.cost_usd, inputs.budget_usd)
                else f"job {spec.name}: every configuration{timely_text} exceeds "
                f"a vCPU quota on its own (the smallest, {smallest.label}, needs "
                f"{smallest.vcpus} vCPUs of the {smallest.quota_key[0].value}/"
                f"{smallest.quota_key[1].value} quota)"
            )
            continue
        cheapest_total += min(c.estimate.cost_usd for c in ok)
    if reasons:
        return "; ".join(reasons)
    if inputs.objective is Mode.MIN_TIME and not meets_limit(cheapest_total, inputs.budget_usd):
        return f"budget ${inputs.budget_usd:g} is below the cheapest plan, ${cheapest_total:.2f}"
    limits = ", ".join(
        f"{q.group.value}/{q.market.value} <= {q.vcpus} vCPUs" for q in inputs.quotas
    )
    return f"the jobs cannot run side by side within the vCPU quotas ({limits})"


def verdict(
    view: DdlView, spec: JobSpec, c: Candidate, pick: Candidate, *, better: bool, tie: bool
) -> str:
    """Why a candidate other than the recommendation ``pick`` was not chosen."""
    inputs = view.inputs
    e = c.estimate
    if not meets_limit(e.hours, spec.deadline_h):
        return (
            f"rejected: {e.hours:.2f} h misses the {spec.deadline_h:g} h deadline "
            f"({dominant_stall(e)})"
        )
    if inputs.objective is Mode.MIN_TIME and not meets_limit(e.cost_usd, inputs.budget_usd):
        return f"rejected: ${e.cost_usd:.2f} exceeds the ${inputs.budget_usd:g} budget"
    if not alone_ok(inputs, spec, c, view.quota_limits):
        return f"rejected: {c.vcpus} vCPUs exceed the {c.quota_key[0].value} quota"
    if tie:
        return "as good as the recommendation (tie)"
    if better:
        p = pick.estimate
        if inputs.near_optimal_pct > 0:
            if inputs.objective is Mode.MIN_TIME and p.cost_usd < e.cost_usd:
                return (
                    f"not chosen: the recommendation is within near_optimal_pct = "
                    f"{inputs.near_optimal_pct:g}% of the fastest and cheaper "
                    f"(${p.cost_usd:.2f} against ${e.cost_usd:.2f})"
                )
            if inputs.objective is Mode.MIN_COST and p.hours < e.hours:
                return (
                    f"not chosen: the recommendation is within near_optimal_pct = "
                    f"{inputs.near_optimal_pct:g}% of the cheapest and faster "
                    f"({p.hours:.3g} h against {e.hours:.3g} h)"
                )
        return "rejected: the other jobs' share of the quotas or budget leaves no room"
    return "feasible, worse"
