"""Stash (ICDCS '23) as a MILP: the cheapest cloud GPU configuration that trains each job
before its deadline (or the earliest finish within a budget), from a stall model.

Sets
    J            jobs (``[[jobs]]``).
    C_j          configurations of job j: (instance type t, nodes n in 1..max_nodes,
                 market m in {on_demand, spot}) over the scenario's ``instance_types``.
    Q            vCPU quotas (group g in {P, G}, market m): AWS's per-family vCPU limits.

Parameters (per c in C_j, from :func:`cost_models.ddl.estimate.estimate`)
    h_c [h]      expected wall-clock hours: iterations x (compute + exposed all-reduce +
                 data stalls), plus the spot restart/checkpoint overhead for spot.
    k_c [USD]    n x price_usd_per_h(t, m) x h_c.
    v_c [vCPU]   n x vCPUs(t); counted in quota (group(t), m).
    D_j [h]      job deadline (``deadline_h``); B [USD] total budget (``budget_usd``);
    U_q [vCPU]   quota limit.

Variables
    x_c in {0, 1}  configuration c is used for its job;
    T >= 0 [h]     latest finish (min_time with more than one job only).

Constraints
    sum_{c in C_j} x_c = 1                                  for every job j
    sum_{c in C_j} h_c x_c <= D_j                           for every job with a deadline
    sum_j sum_{c in C_j, q(c) = q} v_c x_c <= U_q           for every quota q
    sum_j sum_{c in C_j} k_c x_c <= B                       (min_time only)
    T >= sum_{c in C_j} h_c x_c                             (min_time, |J| > 1)

Objective
    min_cost: minimise sum_j sum_c k_c x_c  [USD];
    min_time: minimise T [h] (one job: sum_c h_c x_c directly, so the model stays
    pure-binary).

Tie-break (lexicographic second stage): after the optimum z* of the objective above, the
row ``objective <= z* (1 + near_optimal_pct / 100) (+ 1e-7 relative round-off slack)`` is
added and the model re-solved for the other metric: min_cost then minimises total job-hours
sum_j sum_c h_c x_c, min_time the dollars sum_j sum_c k_c x_c. With the default
``near_optimal_pct = 0`` this only breaks ties (e.g. two configurations of equal cost); a
positive value trades that much of the objective for the other metric (a warning says so).
The reported status, bound and gap are the first stage's.

There is no big-M and no linearisation: the stall model is evaluated per enumerated
configuration and enters only as coefficients (Stash's "recommend from measurements",
with the measurements replaced by the model).

Pruning (exact): before building, a configuration is dropped when it violates on its own a
constraint that involves only itself: h_c > D_j, k_c > B (min_time; costs are
non-negative, so the budget row would force x_c = 0), or v_c > U_q. Such an x_c is 0 in
every feasible solution, so the optimum is unchanged.

The independent verifier (:mod:`formulations.ddl.verify`) re-evaluates the stall model for
each chosen configuration and re-checks every row above and the objective.
"""

from __future__ import annotations

import math
import time
from typing import ClassVar

from cost_models.ddl.estimate import Estimate
from formulations.ddl.candidates import (
    Candidate,
    all_candidates,
    alone_ok,
    baseline_summaries,
    baselines,
    candidates_by_job,
    dominant_stall,
    estimate_for,
    rank_key,
)
from formulations.ddl.inputs import Assignment, DdlDeployment, DdlInputs, JobSpec, Mode, within
from formulations.ddl.milp import build
from formulations.ddl.verify import verify
from formulations.types import (
    Formulation,
    InfeasibleError,
    MilpSolver,
    Objective,
    Outcome,
    Sense,
    Table,
    Verification,
    require_solution,
)

STALL_COLUMNS = [
    "iteration_s",
    "compute_pct",
    "fetch_pct",
    "prep_pct",
    "interconnect_pct",
    "network_pct",
]  # the shares follow Estimate.breakdown_s's order


def stall_row(e: Estimate) -> list[float]:
    """Iteration seconds and the five shares (%) of it, in :data:`STALL_COLUMNS` order,
    rounded for people (0.1 ms, 0.1 %)."""
    return [round(e.iteration_s, 4), *(round(e.pct(s), 1) for s in e.breakdown_s().values())]


def _explain(inputs: DdlInputs, per_job: dict[str, list[Candidate]]) -> str:
    """Which requirement fails: a job's deadline (with its fastest achievable time), the
    budget (with the cheapest plan's cost), or the quotas shared by the jobs."""
    reasons = []
    cheapest_total = 0.0
    for spec in inputs.jobs:
        cands = per_job[spec.name]
        fastest = min(cands, key=lambda c: c.estimate.hours)
        if not any(within(c.estimate.hours, spec.deadline_h) for c in cands):
            reasons.append(
                f"job {spec.name}: deadline {spec.deadline_h:g} h cannot be met; the fastest "
                f"configuration, {fastest.label}, takes {fastest.estimate.hours:.2f} h "
                f"({dominant_stall(fastest.estimate)})"
            )
            continue
        ok = [c for c in cands if alone_ok(inputs, spec, c)]
        if not ok:
            timely = [c for c in cands if within(c.estimate.hours, spec.deadline_h)]
            cheapest = min(timely, key=lambda c: c.estimate.cost_usd)
            smallest = min(timely, key=lambda c: c.vcpus)
            reasons.append(
                f"job {spec.name}: the cheapest configuration that meets its deadline, "
                f"{cheapest.label}, costs ${cheapest.estimate.cost_usd:.2f}, above the "
                f"${inputs.budget_usd:g} budget"
                if inputs.objective is Mode.MIN_TIME
                and not within(cheapest.estimate.cost_usd, inputs.budget_usd)
                else f"job {spec.name}: every configuration that meets its deadline exceeds "
                f"a vCPU quota on its own (the smallest, {smallest.label}, needs "
                f"{smallest.vcpus} vCPUs of the {smallest.quota_key[0].value}/"
                f"{smallest.quota_key[1].value} quota)"
            )
            continue
        cheapest_total += min(c.estimate.cost_usd for c in ok)
    if reasons:
        return "; ".join(reasons)
    if inputs.objective is Mode.MIN_TIME and not within(cheapest_total, inputs.budget_usd):
        return f"budget ${inputs.budget_usd:g} is below the cheapest plan, ${cheapest_total:.2f}"
    limits = ", ".join(
        f"{q.group.value}/{q.market.value} <= {q.vcpus} vCPUs" for q in inputs.quotas
    )
    return f"the jobs cannot run side by side within the vCPU quotas ({limits})"


def _verdict(inputs: DdlInputs, spec: JobSpec, c: Candidate, *, better: bool, tie: bool) -> str:
    """Why a candidate other than the recommendation was not chosen."""
    e = c.estimate
    if not within(e.hours, spec.deadline_h):
        return (
            f"rejected: {e.hours:.2f} h misses the {spec.deadline_h:g} h deadline "
            f"({dominant_stall(e)})"
        )
    if inputs.objective is Mode.MIN_TIME and not within(e.cost_usd, inputs.budget_usd):
        return f"rejected: ${e.cost_usd:.2f} exceeds the ${inputs.budget_usd:g} budget"
    if not alone_ok(inputs, spec, c):
        return f"rejected: {c.vcpus} vCPUs exceed the {c.quota_key[0].value} quota"
    if tie:
        return "as good as the recommendation (tie)"
    if better:
        return "rejected: the other jobs' share of the quotas or budget leaves no room"
    return "feasible, worse"


class DdlFormulation(Formulation[DdlInputs, DdlDeployment]):
    kind: ClassVar[str] = "ddl"
    inputs_model: ClassVar[type[DdlInputs]] = DdlInputs
    deployment_model: ClassVar[type[DdlDeployment]] = DdlDeployment

    def plan(self, inputs: DdlInputs, solver: MilpSolver) -> Outcome[DdlDeployment]:
        start = time.perf_counter()
        per_job = candidates_by_job(inputs)
        kept = {
            spec.name: [c for c in per_job[spec.name] if alone_ok(inputs, spec, c)]
            for spec in inputs.jobs
        }
        if not all(kept.values()):  # some job has no configuration that fits on its own
            raise InfeasibleError(_explain(inputs, per_job))
        model = build(inputs, kept)
        build_s = time.perf_counter() - start
        result = require_solution(solver.solve(model.problem), lambda: _explain(inputs, per_job))
        model.second_stage(result.objective, inputs.near_optimal_pct)
        tie_break = solver.solve(model.problem, warm_start=result.values)
        final = tie_break if tie_break.status.has_solution else result
        assignments = []
        for spec in inputs.jobs:
            chosen, _ = max(model.choice[spec.name], key=lambda pair: final.value(pair[1]))
            e = chosen.estimate
            assignments.append(
                Assignment(
                    job=spec.name, instance_type=e.instance_type, nodes=e.nodes, market=e.market
                )
            )
        deployment = DdlDeployment(assignments=assignments)
        value = model.objective_at(inputs.objective, final)  # the engine re-checks it
        if inputs.objective is Mode.MIN_COST:
            objective = Objective("total cost", "USD", Sense.MINIMIZE, value)
        else:
            objective = Objective("latest finish", "h", Sense.MINIMIZE, value)
        per_baseline = {s.name: baselines(inputs, s, per_job[s.name]) for s in inputs.jobs}
        return Outcome(
            deployment=deployment,
            objective=objective,
            result=result,
            build_s=build_s,
            solve_s=result.solve_s + tie_break.solve_s,
            baselines=baseline_summaries(inputs, per_baseline),
            warnings=[
                f"job {name}: no configuration meets the limits even when ignoring "
                "stalls, so there is no naive baseline"
                for name, found in per_baseline.items()
                if len(found) < 3
            ]
            + (
                [
                    f"near_optimal_pct = {inputs.near_optimal_pct:g}: the plan may be up to that "
                    f"much worse than the optimum {result.objective:.6g}, in exchange for a "
                    f"better {'time' if inputs.objective is Mode.MIN_COST else 'cost'}"
                ]
                if inputs.near_optimal_pct > 0
                else []
            ),
        )

    def verify(self, inputs: DdlInputs, deployment: DdlDeployment) -> Verification:
        return verify(inputs, deployment)

    def tables(self, inputs: DdlInputs, deployment: DdlDeployment) -> list[Table]:
        chosen = {a.job: a for a in deployment.assignments}
        rows = []
        for spec in inputs.jobs:
            a = chosen[spec.name]
            e = estimate_for(inputs, spec, a.instance_type, a.nodes, a.market)
            rows.append(
                [
                    spec.name,
                    spec.model,
                    a.instance_type,
                    a.nodes,
                    a.market.value,
                    e.gpus,
                    e.hours,
                    e.cost_usd,
                    spec.deadline_h,
                    *stall_row(e),
                ]
            )
        tables = [
            Table(
                "Recommended configuration per job",
                [
                    "job",
                    "model",
                    "instance_type",
                    "nodes",
                    "market",
                    "gpus",
                    "hours",
                    "cost_usd",
                    "deadline_h",
                    *STALL_COLUMNS,
                ],
                rows,
            )
        ]
        for spec in inputs.jobs:
            tables.append(self._candidates_table(inputs, spec, chosen[spec.name]))
            tables.append(self._baselines_table(inputs, spec, chosen[spec.name]))
        return tables

    @staticmethod
    def _candidates_table(inputs: DdlInputs, spec: JobSpec, a: Assignment) -> Table:
        """Ranked candidates around the recommendation: every better-ranked one (why it was
        rejected), the recommendation, and up to ``top_candidates`` after it."""
        cands = sorted(all_candidates(inputs, spec), key=lambda c: rank_key(inputs, c))
        pick = next(i for i, c in enumerate(cands) if c.estimate.config == a.config)
        rows = []
        for rank, c in enumerate(cands[: pick + inputs.top_candidates + 1], 1):
            e = c.estimate
            verdict = (
                "recommended"
                if rank - 1 == pick
                else _verdict(
                    inputs,
                    spec,
                    c,
                    better=rank - 1 < pick,
                    tie=math.isclose(
                        rank_key(inputs, c)[0], rank_key(inputs, cands[pick])[0], rel_tol=1e-9
                    ),
                )
            )
            rows.append(
                [
                    rank,
                    e.instance_type,
                    e.nodes,
                    e.market.value,
                    e.gpus,
                    e.hours,
                    e.cost_usd,
                    *stall_row(e),
                    verdict,
                ]
            )
        return Table(
            f"Candidates for job {spec.name}, ranked by "
            f"{'cost' if inputs.objective is Mode.MIN_COST else 'time'}",
            [
                "rank",
                "instance_type",
                "nodes",
                "market",
                "gpus",
                "hours",
                "cost_usd",
                *STALL_COLUMNS,
                "verdict",
            ],
            rows,
            marked_row=pick,
        )

    @staticmethod
    def _baselines_table(inputs: DdlInputs, spec: JobSpec, a: Assignment) -> Table:
        mine = estimate_for(inputs, spec, a.instance_type, a.nodes, a.market)
        rows = []
        for name, e in baselines(inputs, spec, all_candidates(inputs, spec)).items():
            rows.append(
                [
                    name,
                    e.instance_type,
                    e.nodes,
                    e.market.value,
                    e.hours,
                    e.cost_usd,
                    within(e.hours, spec.deadline_h),
                    e.cost_usd / mine.cost_usd,
                    e.hours / mine.hours,
                    *stall_row(e),
                ]
            )
        return Table(
            f"Baselines for job {spec.name}",
            [
                "baseline",
                "instance_type",
                "nodes",
                "market",
                "hours",
                "cost_usd",
                "meets_deadline",
                "cost_vs_recommended",
                "hours_vs_recommended",
                *STALL_COLUMNS,
            ],
            rows,
        )


FORMULATION = DdlFormulation()
