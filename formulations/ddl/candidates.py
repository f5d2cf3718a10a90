"""Enumerated configurations of a job with their stall-model estimates, and the rules that
concern one configuration alone (limits, ranking, the dominant stall)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from cost_models.cloud import INSTANCES
from cost_models.ddl.estimate import Estimate, Market, Platform, estimate
from formulations.ddl.inputs import DdlInputs, JobSpec, Mode, QuotaGroup
from formulations.tolerances import leq


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


def meets_limit(value: float, limit: float | None) -> bool:
    """An optional limit (deadline, budget): none always holds, else ``value <= limit`` up
    to the shared feasibility tolerance (:func:`formulations.tolerances.leq`)."""
    return limit is None or leq(value, limit)


def enumerate_candidates(inputs: DdlInputs, spec: JobSpec, platform: Platform) -> list[Candidate]:
    """Every configuration of ``spec``: instance types x 1..max_nodes x markets."""
    job = spec.job()
    return [
        Candidate(
            spec.name,
            estimate(job, name, nodes, market, platform, inputs.price_overrides(market)),
        )
        for name in inputs.instance_types
        for nodes in range(1, inputs.max_nodes + 1)
        for market in inputs.markets
    ]


def alone_ok(
    inputs: DdlInputs,
    spec: JobSpec,
    candidate: Candidate,
    limits: Mapping[tuple[QuotaGroup, Market], int],
) -> bool:
    """Whether the configuration satisfies every requirement that concerns it alone: the
    job's deadline, the budget (min_time), and each quota (its own vCPUs fit)."""
    limit = limits.get(candidate.quota_key)
    return (
        meets_limit(candidate.estimate.hours, spec.deadline_h)
        and (
            inputs.objective is Mode.MIN_COST
            or meets_limit(candidate.estimate.cost_usd, inputs.budget_usd)
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
