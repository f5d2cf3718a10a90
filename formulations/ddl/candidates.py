"""Enumerated configurations of each job with their stall-model estimates, and baselines."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from cost_models.cloud import INSTANCES
from cost_models.ddl.estimate import Estimate, Market, estimate
from formulations.ddl.inputs import DdlInputs, JobSpec, Mode, QuotaGroup, within


@dataclass(frozen=True)
class Candidate:
    """One configuration (instance type, nodes, market) of one job."""

    job: str
    estimate: Estimate

    @property
    def label(self) -> str:
        e = self.estimate
        return f"{e.nodes} x {e.instance_type} ({e.market.value})"

    @property
    def vcpus(self) -> int:
        return self.estimate.nodes * INSTANCES[self.estimate.instance_type].vcpus

    @property
    def quota_key(self) -> tuple[QuotaGroup, Market]:
        return QuotaGroup.of(self.estimate.instance_type), self.estimate.market


def estimate_for(
    inputs: DdlInputs, spec: JobSpec, instance_type: str, nodes: int, market: Market
) -> Estimate:
    return estimate(
        spec.job(),
        instance_type,
        nodes,
        market,
        inputs.assumptions.platform(),
        inputs.price_overrides(market),
    )


def all_candidates(inputs: DdlInputs, spec: JobSpec) -> list[Candidate]:
    """Every configuration of ``spec``: instance types x 1..max_nodes x markets (cached per
    inputs by :func:`candidates_by_job`)."""
    return candidates_by_job(inputs)[spec.name]


def candidates_by_job(inputs: DdlInputs) -> dict[str, list[Candidate]]:
    """Every job's candidates, evaluated once per inputs object and content (see
    ``DdlInputs._candidates``)."""
    key = inputs.model_dump_json()
    if inputs._candidates is None or inputs._candidates[0] != key:
        platform = inputs.assumptions.platform()
        inputs._candidates = (
            key,
            {
                spec.name: [
                    Candidate(
                        spec.name,
                        estimate(
                            spec.job(),
                            name,
                            nodes,
                            market,
                            platform,
                            inputs.price_overrides(market),
                        ),
                    )
                    for name in inputs.instance_types
                    for nodes in range(1, inputs.max_nodes + 1)
                    for market in inputs.markets
                ]
                for spec in inputs.jobs
            },
        )
    return inputs._candidates[1]


def alone_ok(inputs: DdlInputs, spec: JobSpec, candidate: Candidate) -> bool:
    """Whether the configuration satisfies every requirement that concerns it alone: the
    job's deadline, the budget (min_time), and each quota (its own vCPUs fit)."""
    limit = inputs.quota_limits().get(candidate.quota_key)
    return (
        within(candidate.estimate.hours, spec.deadline_h)
        and (
            inputs.objective is Mode.MIN_COST
            or within(candidate.estimate.cost_usd, inputs.budget_usd)
        )
        and (limit is None or candidate.vcpus <= limit)
    )


def rank_key(inputs: DdlInputs, candidate: Candidate) -> tuple[float, float]:
    """Order of candidates for people: by the objective's metric, then the other one."""
    e = candidate.estimate
    return (e.cost_usd, e.hours) if inputs.objective is Mode.MIN_COST else (e.hours, e.cost_usd)


def dominant_stall(e: Estimate) -> str:
    stalls = {k: s for k, s in e.breakdown_s().items() if k != "compute"}
    name = max(stalls, key=lambda k: stalls[k])
    if stalls[name] <= 0:
        return "no stall: compute-bound"
    return f"largest stall: {name} {e.pct(stalls[name]):.0f}%"


def _summary(e: Estimate, deadline_h: float | None) -> dict[str, Any]:
    return {
        "instance_type": e.instance_type,
        "nodes": e.nodes,
        "market": e.market.value,
        "hours": e.hours,
        "cost_usd": e.cost_usd,
        "meets_deadline": deadline_h is None or within(e.hours, deadline_h),
    }


def baselines(inputs: DdlInputs, spec: JobSpec, candidates: list[Candidate]) -> dict[str, Estimate]:
    """The issue's three baselines for one job, where they exist.

    * ``most_expensive``: one on-demand node of the allowed type with the highest $/h;
    * ``fastest_single_node``: the single node (on-demand) with the shortest time;
    * ``naive_cheapest``: the configuration with the lowest $/h (nodes x price) whose
      stall-free time (compute only, perfect scaling) meets the deadline;
    * ``naive_fastest`` (min_time mode, job without a deadline, instead): the configuration
      with the shortest stall-free time whose stall-free cost fits the budget.
    """
    ests = [c.estimate for c in candidates]
    single = [e for e in ests if e.nodes == 1 and e.market is Market.ON_DEMAND] or [
        e for e in ests if e.nodes == 1
    ]
    out = {
        "most_expensive": max(single, key=lambda e: (e.price_usd_per_h, -e.hours)),
        "fastest_single_node": min(single, key=lambda e: (e.hours, e.cost_usd)),
    }
    if spec.deadline_h is not None:
        naive = [e for e in ests if within(e.naive_hours, spec.deadline_h)]
        if naive:
            out["naive_cheapest"] = min(
                naive, key=lambda e: (e.nodes * e.price_usd_per_h, e.naive_hours)
            )
    else:
        naive = [
            e
            for e in ests
            if within(e.nodes * e.price_usd_per_h * e.naive_hours, inputs.budget_usd)
        ]
        if naive:
            out["naive_fastest"] = min(naive, key=lambda e: (e.naive_hours, e.cost_usd))
    return out


def baseline_summaries(
    inputs: DdlInputs, per_job: dict[str, dict[str, Estimate]]
) -> dict[str, dict[str, Any]]:
    """``Outcome.baselines`` from :func:`baselines` per job: one flat dict per (job,
    baseline); keys are the baseline names for a single job, ``<job>:<baseline>`` otherwise."""
    out: dict[str, dict[str, Any]] = {}
    for spec in inputs.jobs:
        for name, e in per_job[spec.name].items():
            key = name if len(inputs.jobs) == 1 else f"{spec.name}:{name}"
            out[key] = _summary(e, spec.deadline_h)
    return out
