"""The ``ddl`` cost-model view: every job's enumerated configurations with their stall-model
estimates, computed once per scenario by :func:`prepare`."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from cost_models.ddl.estimate import Estimate, Market, Platform, estimate
from formulations.ddl.candidates import Candidate, alone_ok, enumerate_candidates
from formulations.ddl.deployment import Assignment
from formulations.ddl.inputs import DdlInputs, JobSpec, QuotaGroup


@dataclass(frozen=True)
class DdlView:
    """The inputs and what the stall model says about them."""

    inputs: DdlInputs
    platform: Platform
    specs: Mapping[str, JobSpec]  # job name -> its [[jobs]] entry, in scenario order
    candidates: Mapping[str, tuple[Candidate, ...]]  # every configuration of each job
    kept: Mapping[str, tuple[Candidate, ...]]  # those that pass every limit on their own
    quota_limits: Mapping[tuple[QuotaGroup, Market], int]  # vCPUs per (group, market)
    by_config: Mapping[tuple[str, str, int, Market], Candidate]  # (job, type, nodes, market)

    def estimate_of(self, a: Assignment) -> Estimate:
        """The stall-model estimate of an assignment: the enumerated one, or evaluated for a
        configuration outside the scenario's (a stored or mutated deployment)."""
        found = self.by_config.get((a.job, *a.config))
        if found is not None:
            return found.estimate
        spec = self.specs[a.job]
        return estimate(
            spec.job(),
            a.instance_type,
            a.nodes,
            a.market,
            self.platform,
            self.inputs.price_overrides(a.market),
        )


def prepare(inputs: DdlInputs) -> DdlView:
    platform = inputs.assumptions.platform()
    limits = inputs.quota_limits()
    candidates = {
        spec.name: tuple(enumerate_candidates(inputs, spec, platform)) for spec in inputs.jobs
    }
    specs = {spec.name: spec for spec in inputs.jobs}
    kept = {
        name: tuple(c for c in cands if alone_ok(inputs, specs[name], c, limits))
        for name, cands in candidates.items()
    }
    by_config = {(c.job, *c.estimate.config): c for cands in candidates.values() for c in cands}
    return DdlView(inputs, platform, specs, candidates, kept, limits, by_config)
