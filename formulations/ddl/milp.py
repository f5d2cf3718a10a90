"""Stash (ICDCS '23) as a MILP: the cheapest cloud GPU configuration that trains each job
before its deadline (or the earliest finish within a budget), from a stall model.

Sets
    J            jobs (``[[jobs]]``).
    C_j          configurations of job j: (instance type t, nodes n in 1..max_nodes,
                 market m in {on_demand, spot}) over the scenario's ``instance_types``;
                 after the exact pruning below, the kept ones.
    Q            vCPU quotas (group g in {P, G}, market m): AWS's per-family vCPU limits.

Parameters (per c in C_j, from :func:`cost_models.ddl.estimate.estimate`)
    h_c [h]      expected wall-clock hours: iterations x (compute + exposed all-reduce +
                 data stalls), plus the spot restart/checkpoint overhead for spot.
    k_c [USD]    n x price_usd_per_h(t, m) x h_c.
    v_c [vCPU]   n x vCPUs(t); counted in quota (group(t), m).
    D_j [h]      job deadline (``deadline_h``); B [USD] total budget (``budget_usd``);
    U_q [vCPU]   quota limit.

Variables (model blocks)
    x[j, c] in {0, 1}      block ``x``, labels (job, instance type, nodes, market):
                           configuration c is used for job j;
    latest_finish_h >= 0   block ``latest_finish_h`` [h]: the latest finish T (min_time
                           with more than one job only).

Constraints (row blocks)
    one_config[j]:  sum_{c in C_j} x[j, c] = 1                         for every job j
    deadline[j]:    sum_{c in C_j} h_c x[j, c] <= D_j                  every job with a deadline
    quota[g, m]:    sum_j sum_{c in C_j, q(c) = (g, m)} v_c x[j, c] <= U_q   every quota q
                    that some kept configuration counts in
    budget:         sum_j sum_{c in C_j} k_c x[j, c] <= B              (min_time only)
    latest[j]:      latest_finish_h >= sum_{c in C_j} h_c x[j, c]      (min_time, |J| > 1)

Objective
    min_cost: minimise sum_j sum_c k_c x[j, c]  [USD];
    min_time: minimise latest_finish_h [h] (one job: sum_c h_c x[j, c] directly, so the
    model stays pure-binary and CP-SAT can solve it).

Tie-break (lexicographic second stage): after the optimum z* of the objective above, the
row ``near_optimal: objective <= z* (1 + near_optimal_pct / 100) + slack`` is added and the
model re-solved, warm-started from the first stage's solution, for the other metric:
min_cost then minimises total job-hours sum_j sum_c h_c x[j, c], min_time the dollars
sum_j sum_c k_c x[j, c]. ``slack = FEAS_ATOL + FEAS_RTOL |z*|`` (the shared feasibility
tolerance of :mod:`formulations.tolerances`) keeps the first stage's own solution feasible
despite solver round-off (HiGHS: 1e-7 primal feasibility). With the default
``near_optimal_pct = 0`` this only breaks ties (e.g. two configurations of equal cost); a
positive value trades up to that much of the objective for the other metric (a warning
says so). The plan's objective is the scenario's metric at the second stage's solution;
its bound is the first stage's bound, so its gap is the trade the user allowed.

There is no big-M and no linearisation: the stall model is evaluated per enumerated
configuration and enters only as coefficients (Stash's "recommend from measurements",
with the measurements replaced by the model). ``latest[j]`` is the standard epigraph of a
maximum: minimising T subject to T >= each job's hours gives T = the largest of them.

Pruning (exact): before building, a configuration is dropped when it violates on its own a
constraint that involves only itself: h_c > D_j, k_c > B (min_time; costs are
non-negative, so the budget row would force x = 0), or v_c > U_q. Such an x is 0 in every
feasible solution, so the optimum is unchanged (:func:`formulations.ddl.candidates.alone_ok`).

The independent verifier (:mod:`formulations.ddl.verify`) re-evaluates the stall model for
each chosen configuration and re-checks every row above and the objective.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from formulations.ddl.candidates import Candidate
from formulations.ddl.inputs import DdlInputs, Mode
from formulations.model import LinExpr, Model, VarBlock
from formulations.tolerances import FEAS_ATOL, FEAS_RTOL
from formulations.types import Sense


@dataclass
class DdlModel:
    model: Model
    x: VarBlock
    candidates: list[Candidate]  # candidate of each column of x, in column order
    columns_by_job: dict[str, np.ndarray]  # job -> its columns within x, scenario order
    primary: LinExpr  # the scenario's objective
    secondary: LinExpr  # the tie-break: job-hours (min_cost) or dollars (min_time)

    def second_stage(self, optimum: float, near_optimal_pct: float) -> None:
        """Keep the primary objective within ``near_optimal_pct`` % of ``optimum`` (row
        ``near_optimal``) and minimise the secondary one instead."""
        slack = FEAS_ATOL + FEAS_RTOL * abs(optimum)
        limit = optimum * (1 + near_optimal_pct / 100) + slack
        self.model.add_constraint("near_optimal", self.primary <= limit)
        self.model.set_objective(self.secondary)


def build(inputs: DdlInputs, kept: Mapping[str, Sequence[Candidate]]) -> DdlModel:
    """The first stage's model over the kept candidates (see the module docstring)."""
    model = Model("ddl", Sense.MINIMIZE)
    candidates = [c for spec in inputs.jobs for c in kept[spec.name]]
    x = model.add_variables(
        "x",
        [(c.job, *c.estimate.config) for c in candidates],
        upper=1,
        integer=True,
    )
    columns_by_job: dict[str, np.ndarray] = {}
    first = 0
    for spec in inputs.jobs:
        n = len(kept[spec.name])
        columns_by_job[spec.name] = np.arange(first, first + n)
        first += n
    hours = np.array([c.estimate.hours for c in candidates])
    cost = np.array([c.estimate.cost_usd for c in candidates])

    def weighted(weights: np.ndarray | float, cols: np.ndarray) -> LinExpr:
        """``sum_{k in cols} weights[k] x[k]`` (columns of ``x``)."""
        coefs = np.broadcast_to(weights, (len(candidates),))[cols]
        return LinExpr(dict(zip((x.start + cols).tolist(), coefs.tolist(), strict=True)))

    for spec in inputs.jobs:
        cols = columns_by_job[spec.name]
        model.add_constraint("one_config", weighted(1.0, cols) == 1, label=spec.name)
        if spec.deadline_h is not None:
            model.add_constraint(
                "deadline", weighted(hours, cols) <= spec.deadline_h, label=spec.name
            )
    every = np.arange(len(candidates))
    vcpus = np.array([c.vcpus for c in candidates], dtype=float)
    quota_keys = [c.quota_key for c in candidates]
    for quota in inputs.quotas:
        key = (quota.group, quota.market)
        cols = np.array([k for k in every if quota_keys[k] == key], dtype=np.int64)
        if cols.size:
            model.add_constraint(
                "quota",
                weighted(vcpus, cols) <= quota.vcpus,
                label=(quota.group.value, quota.market.value),
            )
    total_cost = weighted(cost, every)
    job_hours = weighted(hours, every)
    if inputs.objective is Mode.MIN_COST:
        primary, secondary = total_cost, job_hours
    else:
        assert inputs.budget_usd is not None  # DdlInputs requires it for min_time
        model.add_constraint("budget", total_cost <= inputs.budget_usd)
        secondary = total_cost
        if len(inputs.jobs) == 1:
            primary = job_hours
        else:
            primary = model.add_variable("latest_finish_h")
            for spec in inputs.jobs:
                model.add_constraint(
                    "latest",
                    primary >= weighted(hours, columns_by_job[spec.name]),
                    label=spec.name,
                )
    model.set_objective(primary)
    return DdlModel(model, x, candidates, columns_by_job, primary, secondary)
