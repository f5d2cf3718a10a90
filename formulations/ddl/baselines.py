"""The configurations a user would pick without the stall model, as deployments.

Each baseline applies one rule to every job on its own, over all of the job's enumerated
configurations (not only those the MILP keeps), and runs each job on what the rule picks;
the engine verifies the resulting deployment with the plan's verifier (deadlines, budget,
the shared vCPU quotas) and scores it. These are the three baselines of the ``ddl`` issue,
which restate Stash's findings (Sharma et al., "Stash: A Comprehensive Stall-Centric
Characterization of Public Cloud VMs for Distributed Deep Learning", ICDCS 2023) as rules;
no public code is followed.

* ``most_expensive``: one on-demand node of the allowed type with the highest $/h (any
  market's single node when on-demand is not allowed);
* ``fastest_single_node``: the single node (on-demand, as above) with the shortest time;
* ``naive_cheapest``: the configuration with the lowest $/h (nodes x price) whose
  stall-free time (compute only, perfect scaling) meets the deadline;
* ``naive_fastest`` (min_time mode, job without a deadline, instead): the configuration
  with the shortest stall-free time whose stall-free cost fits the (whole) budget.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from cost_models.ddl.estimate import Market
from formulations.ddl.candidates import Candidate, meets_limit
from formulations.ddl.deployment import DdlDeployment, deployment_of
from formulations.ddl.inputs import DdlInputs, JobSpec
from formulations.ddl.view import DdlView
from formulations.types import BaselineRun, InfeasibleError, run_baseline

STASH = "Stash (Sharma et al., ICDCS 2023)"
SOURCES = {
    "most_expensive": f"{STASH} finds the most expensive instance is not always the fastest; "
    "rule (ddl issue): one on-demand node of the allowed type with the highest USD/h, per job",
    "fastest_single_node": f"{STASH} finds instances joined over the network up to 5x slower "
    "than one bigger instance; rule (ddl issue): the fastest single on-demand node, per job",
    "naive_cheapest": f"{STASH} finds stalls decide what training costs; rule (ddl issue), "
    "ignoring stalls: the lowest USD/h configuration whose stall-free time (compute only, "
    "perfect scaling) meets the deadline, per job",
    "naive_fastest": f"{STASH} finds stalls decide what training costs; rule (ddl issue), "
    "ignoring stalls: the shortest stall-free time whose stall-free cost fits the budget, "
    "per job",
}
NAIVE_MIXED = "naive"  # min_time with deadlines on some jobs only: each job's naive rule


def _single_nodes(candidates: Sequence[Candidate]) -> list[Candidate]:
    ones = [c for c in candidates if c.estimate.nodes == 1]
    return [c for c in ones if c.estimate.market is Market.ON_DEMAND] or ones


def most_expensive(candidates: Sequence[Candidate]) -> Candidate:
    return max(
        _single_nodes(candidates),
        key=lambda c: (c.estimate.price_usd_per_h, -c.estimate.hours),
    )


def fastest_single_node(candidates: Sequence[Candidate]) -> Candidate:
    return min(_single_nodes(candidates), key=lambda c: (c.estimate.hours, c.estimate.cost_usd))


def naive_rule(spec: JobSpec) -> str:
    """The naive baseline's name for ``spec``: by deadline, or fastest within the budget."""
    return "naive_cheapest" if spec.deadline_h is not None else "naive_fastest"


def naive(inputs: DdlInputs, spec: JobSpec, candidates: Sequence[Candidate]) -> Candidate | None:
    """What one would pick ignoring stalls (:func:`naive_rule`), or None when no
    configuration meets the limits even stall-free."""
    if spec.deadline_h is not None:
        deadline_h = spec.deadline_h
        timely = [c for c in candidates if meets_limit(c.estimate.naive_hours, deadline_h)]
        return min(
            timely,
            key=lambda c: (c.estimate.nodes * c.estimate.price_usd_per_h, c.estimate.naive_hours),
            default=None,
        )
    affordable = [
        c
        for c in candidates
        if meets_limit(
            c.estimate.nodes * c.estimate.price_usd_per_h * c.estimate.naive_hours,
            inputs.budget_usd,
        )
    ]
    return min(
        affordable, key=lambda c: (c.estimate.naive_hours, c.estimate.cost_usd), default=None
    )


def per_job(view: DdlView, spec: JobSpec) -> dict[str, Candidate]:
    """Every baseline's pick for one job (the naive one only where it exists)."""
    candidates = view.candidates[spec.name]
    out = {
        "most_expensive": most_expensive(candidates),
        "fastest_single_node": fastest_single_node(candidates),
    }
    pick = naive(view.inputs, spec, candidates)
    if pick is not None:
        out[naive_rule(spec)] = pick
    return out


def _naive_deployment(view: DdlView) -> DdlDeployment:
    picks = []
    for spec in view.inputs.jobs:
        pick = naive(view.inputs, spec, view.candidates[spec.name])
        if pick is None:
            raise InfeasibleError(
                f"job {spec.name}: no configuration meets the limits even when ignoring "
                "stalls, so there is no naive baseline"
            )
        picks.append(pick)
    return deployment_of(picks)


def _every_job(view: DdlView, rule: Callable[[Sequence[Candidate]], Candidate]) -> DdlDeployment:
    return deployment_of(rule(view.candidates[spec.name]) for spec in view.inputs.jobs)


def baselines(view: DdlView) -> list[BaselineRun[DdlDeployment]]:
    rules = {naive_rule(spec) for spec in view.inputs.jobs}
    naive_name = rules.pop() if len(rules) == 1 else NAIVE_MIXED
    naive_source = (
        SOURCES[naive_name]
        if naive_name in SOURCES
        else f"{SOURCES['naive_cheapest']} (jobs with a deadline); "
        f"{SOURCES['naive_fastest']} (jobs without)"
    )
    return [
        run_baseline(
            "most_expensive",
            SOURCES["most_expensive"],
            lambda: _every_job(view, most_expensive),
        ),
        run_baseline(
            "fastest_single_node",
            SOURCES["fastest_single_node"],
            lambda: _every_job(view, fastest_single_node),
        ),
        run_baseline(naive_name, naive_source, lambda: _naive_deployment(view)),
    ]
