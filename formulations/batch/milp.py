"""The BATCH planning MILP: per interval of a trace, one Lambda configuration (M, B, T),
optionally beside provisioned VMs (MArk-style hybrid), at the lowest cost within the
latency SLO, or (the dual) at the lowest latency within a cost budget.

BATCH (Ali et al., SC '20) picks, per hour, the memory M, batch size B and timeout T of
a Lambda function behind a batching buffer for the lowest cost whose latency percentile
meets the SLO, by exhaustive search over a grid (``solver.py: solveOptimizationProblem``).
This MILP does the same over a whole trace at once, and adds what a grid search per hour
cannot: a limit on how often the configuration changes between consecutive hours, and
VMs that carry part of the load.

Sets
    H            intervals (hours) h = 0 .. |H| - 1
    S            the split grid: Lambda's share phi_s in {0, 1/n, ..., 1} of the requests
                 (``hybrid.lambda_share_step`` = 1/n; Lambda alone: S = {1})
    C            candidate Lambda configurations c = (M, B, T) (flat grid indices), plus
                 OFF (Lambda serves nothing; only with phi_s = 0)
    V            VM offers v (instance type x market: on-demand or spot)
    F            feasible triples (h, s, c): c = OFF with phi_s = 0, or phi_s > 0 and the
                 percentile latency of c under hour h's *thinned* MAP (below) is within the
                 SLO and its mean concurrency within ``max_concurrency``

Parameters
    L[h, s, c]   USD: requests of hour h x phi_s x expected Lambda cost per request of c on
                 the thinned MAP (``cost_models.batch.latency.cost_per_request_usd``)
    lam_h        requests/s of hour h
    cap_v        requests/s one VM of v carries within the SLO (``cost_models.batch.vm``:
                 MArk's capacity rule, utilisation cap, spot availability)
    p_v          USD: expected bill of one VM of v over one interval
    N[h, v]      min(max_count_v, ceil(lam_h / cap_v)): VMs of v per hour, at most
    K            ``max_config_changes`` (changes of the Lambda configuration; optional)

Variables
    x[h, s, c]   binary, (h, s, c) in F: hour h routes phi_s of its requests to Lambda
                 configuration c
    n[h, v]      integer in [0, N[h, v]]: VMs of offer v in hour h (hybrid only)
    w[h, c]      continuous in [0, 1], h >= 1, only with K: hour h switches to c

Constraints
    one[h]       sum_{s, c} x[h, s, c] = 1                                   every h
    cover[h]     sum_v cap_v n[h, v] >= lam_h sum_{s, c} (1 - phi_s) x[h, s, c]   hybrid
    switch[h,c]  w[h, c] >= sum_s x[h, s, c] - sum_s x[h-1, s, c]           h >= 1, with K
    changes      sum_{h >= 1, c} w[h, c] <= K                                       with K
    budget       sum L[h, 1, c] x[h, 1, c] <= ``budget_usd``         latency mode, per trace

Objective
    cost mode:    minimise sum L[h, s, c] x[h, s, c] + sum p_v n[h, v]   (USD)
    latency mode: minimise sum_h r_h lat[h, c] x[h, 1, c]  (ms: the request-weighted mean of
                  the hourly percentile latency, r_h = hour h's share of the requests);
                  with ``budget_usd_per_h``, F keeps only L[h, 1, c] <= the budget.
                  Latency mode plans Lambda alone (S = {1}).

The split and its linearisation. Requests are routed to Lambda independently with
probability phi (a weighted load balancer), so Lambda sees the Bernoulli thinning of the
hour's MAP (d0, d1): the MAP (d0 + (1 - phi) d1, phi d1) (``arrivals.thinned``), whose
buffer, percentile latency and cost are computed on their own; the VMs see the rest,
(1 - phi) lam_h. The coupling of Lambda's latency and cost with phi is nonlinear (a matrix
exponential of a phi-dependent generator), so phi is restricted to the grid S and chosen
jointly with c by the binaries x: every product phi_s x[h, s, c] is a constant times a
binary, the cover row is linear, and the linearisation is exact on the grid: there is no
big-M. The only bound, N[h, v], is valid: ceil(lam_h / cap_v) VMs of one offer carry the
whole load alone, so a cheaper plan never holds more (prices are positive). The SLO holds
for all requests: if Lambda's requests meet the q-percentile SLO (F) and the VMs' do
(``cap_v``), the mixture meets it, since phi F_L(slo) + (1 - phi) F_V(slo) >= q.

No big-M elsewhere. ``w`` need not be integer: for integral x, the smallest w meeting
``switch`` is ``max(0, z[h,c] - z[h-1,c])`` (z = sum_s x), which is 1 for exactly one c when
hour h changes its Lambda configuration and 0 otherwise, so ``sum_c w[h, c]`` counts
changes exactly and a larger w only tightens ``changes``. VM counts and shares may change
every hour freely (VMs are provisioned per interval; the share is a routing weight).

Why the candidate set is exact (``view.plan_candidates``). The full grid (e.g. BATCH's
28 memory sizes x 49 timeouts x 20 batch sizes = 27,440 per hour) is scored by the cost
model, but the MILP only gets configurations some optimal plan may use. Let
P[h, c] = min over s of (L[h, s, c] + Vmin[h, s]) over feasible s, where Vmin[h, s] is the
cheapest integer VM mix covering (1 - phi_s) lam_h (``vm.cheapest_cover``, an exact
enumeration; 0 without VMs); once c is fixed, the hour's share and VMs are its own choice,
so P is the cost of hour h with configuration c.

* without K, hours are independent; each hour's cheapest c under P is optimal;
* with K, a plan is a sequence of runs of consecutive hours with one configuration each.
  Replacing a run's configuration by the one with the lowest total P over that run
  among those feasible in all its hours keeps every hour feasible, does not increase the
  cost, and does not increase the number of changes (two neighbouring runs may merge).
  So some optimal plan uses only run-optimal configurations, at most |H|(|H| + 1) / 2 of
  them, and restricting C to those (every share kept) loses nothing;
* latency mode with ``budget_usd_per_h``: the same argument with r_h lat[h, c] in place of
  P, over the configurations within each hour's budget;
* latency mode with ``budget_usd`` (a sum over hours, like the objective): replacing a
  run's configuration by one at most as costly and at most as slow summed over the run
  keeps the budget and the objective, so the Pareto front of (run cost, run latency) of
  every run (of every hour without K) suffices.
"""

from __future__ import annotations

from collections import defaultdict

import numpy as np

from cost_models.batch.vm import count_bounds
from formulations.batch.deployment import BatchDeployment, read_deployment
from formulations.batch.view import BatchView, lambda_allowed
from formulations.model import LinExpr, Model, Sense, VarBlock, lin_sum
from formulations.types import Certificate, MilpSolver, Solution, require_solution


def _triples(view: BatchView) -> list[tuple[int, int, int]]:
    """F restricted to the candidates: (hour, share index, candidate)."""
    off = view.off
    allowed = lambda_allowed(view)
    out = []
    for h in range(len(view.hours)):
        for s, share in enumerate(view.shares):
            if share == 0:
                if off in view.candidates and view.hybrid is not None:
                    out.append((h, s, off))
                continue
            lambda_ok = allowed[h, s]
            out.extend((h, s, int(c)) for c in view.candidates if c != off and lambda_ok[c])
    return out


def build(
    view: BatchView, max_changes: int | None
) -> tuple[Model, VarBlock, VarBlock | None, dict[int, tuple[int, int, float] | None]]:
    """The model over ``view.candidates``: its blocks x and n, and each candidate's
    Lambda configuration (None for OFF)."""
    model = Model("batch", Sense.MINIMIZE)
    n_hours = len(view.hours)
    configs: dict[int, tuple[int, int, float] | None] = {
        int(c): (None if c == view.off else view.config(int(c))) for c in view.candidates
    }
    triples = _triples(view)
    if view.latency_ms is None:
        objective = [view.lambda_cost_usd[h, s, c] if c != view.off else 0.0 for h, s, c in triples]
    else:
        weights = view.request_weights()
        objective = [weights[h] * view.latency_ms[h, c] for h, _, c in triples]
    x = model.add_variables("x", triples, upper=1.0, integer=True, cost=np.array(objective))
    by_hour: list[list[tuple[int, int, int]]] = [[] for _ in range(n_hours)]
    for triple in triples:
        by_hour[triple[0]].append(triple)
    for h in range(n_hours):
        model.add_constraint("one", lin_sum(x[t] for t in by_hour[h]) == 1, label=h)
    n = None
    hybrid = view.hybrid
    if hybrid is not None:
        n_labels = [(h, v) for h in range(n_hours) for v in range(len(hybrid.offers))]
        upper = np.concatenate(
            [
                count_bounds(hybrid.capacity_qps, hybrid.max_counts, hour.rate_qps)
                for hour in view.hours
            ]
        )
        n = model.add_variables(
            "n",
            n_labels,
            upper=upper.astype(float),
            integer=True,
            cost=np.tile(hybrid.vm_cost_usd, n_hours),
        )
        for h, hour in enumerate(view.hours):
            capacity = lin_sum(
                n[h, v] * float(hybrid.capacity_qps[v]) for v in range(len(hybrid.offers))
            )
            load = lin_sum(
                x[t] * float((1 - view.shares[t[1]]) * hour.rate_qps) for t in by_hour[h]
            )
            model.add_constraint("cover", capacity - load >= 0, label=h)
    if view.latency_ms is not None and view.inputs.budget_usd is not None:
        spend = lin_sum(x[t] * float(view.lambda_cost_usd[t]) for t in triples)
        model.add_constraint("budget", spend <= view.inputs.budget_usd)
    if max_changes is not None and n_hours > 1:
        _change_limit(model, x, by_hour, [int(c) for c in view.candidates], max_changes)
    return model, x, n, configs


def _change_limit(
    model: Model,
    x: VarBlock,
    by_hour: list[list[tuple[int, int, int]]],
    candidates: list[int],
    max_changes: int,
) -> None:
    """Rows ``switch`` and ``changes`` of the module docstring."""

    per_config: list[dict[int, list[tuple[int, int, int]]]] = []
    for triples in by_hour:
        groups: dict[int, list[tuple[int, int, int]]] = defaultdict(list)
        for t in triples:
            groups[t[2]].append(t)
        per_config.append(groups)

    def uses(h: int, c: int) -> LinExpr:
        return lin_sum(x[t] for t in per_config[h].get(c, []))

    labels = [(h, c) for h in range(1, len(by_hour)) for c in candidates]
    w = model.add_variables("w", labels, upper=1.0)
    for h, c in labels:
        model.add_constraint("switch", w[h, c] - uses(h, c) + uses(h - 1, c) >= 0, label=(h, c))
    model.add_constraint("changes", lin_sum(w[label] for label in labels) <= max_changes)


def solve_plan(
    view: BatchView, solver: MilpSolver, max_changes: int | None
) -> Solution[BatchDeployment]:
    """Solve the MILP; the deployment is read off x and n."""
    model, x, n, configs = build(view, max_changes)
    result = require_solution(solver.solve(model), context="changes")
    offers = view.hybrid.names if view.hybrid is not None else []
    deployment = read_deployment(
        x, n, result, configs, [float(s) for s in view.shares], offers, len(view.hours)
    )
    return Solution(deployment, Certificate.of(result))
