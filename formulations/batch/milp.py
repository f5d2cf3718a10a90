"""The BATCH planning MILP: one Lambda configuration (M, B, T) per interval of a trace.

BATCH (Ali et al., SC '20) picks, per hour, the memory M, batch size B and timeout T of
a Lambda function behind a batching buffer for the lowest cost whose latency percentile
meets the SLO, by exhaustive search over a grid (``solver.py: solveOptimizationProblem``).
This MILP does the same over a whole trace at once, and adds what a grid search per hour
cannot: a limit on how often the configuration changes between consecutive hours.

Sets
    H            intervals (hours) h = 0 .. |H| - 1
    C            candidate configurations c = (M, B, T) (flat indices into the grid)
    F            feasible pairs (h, c): the percentile latency of c under hour h's MAP is
                 within the SLO and its mean concurrency within ``max_concurrency``

Parameters
    cost[h, c]   USD: expected requests of hour h x expected Lambda cost per request of c
                 (``cost_models.batch.latency.cost_per_request_usd``)
    K            ``max_config_changes`` (changes between consecutive hours; optional)

Variables
    x[h, c]      binary, (h, c) in F: hour h runs configuration c
    s[h, c]      continuous in [0, 1], h >= 1, only with K: hour h switches to c

Constraints
    one[h]       sum_c x[h, c] = 1                                       for every h
    switch[h,c]  s[h, c] >= x[h, c] - x[h-1, c]  (x = 0 outside F)         h >= 1, with K
    changes      sum_{h >= 1, c} s[h, c] <= K                                     with K

Objective
    minimise sum_{(h, c) in F} cost[h, c] x[h, c]   (USD over the trace)

No big-M. ``s`` need not be integer: for integral x, the smallest s meeting ``switch`` is
``max(0, x[h,c] - x[h-1,c])``, which is 1 for exactly one c when hour h changes
configuration and 0 for all c otherwise, so ``sum_c s[h, c]`` counts changes exactly and a
larger s only tightens ``changes``.

Why the candidate set is exact (``view.segment_candidates``). The full grid (e.g. BATCH's
28 memory sizes x 49 timeouts x 20 batch sizes = 27,440 per hour) is scored by the cost
model, but the MILP only gets configurations some optimal plan may use:

* without K, hours are independent; each hour's cheapest feasible configuration is
  optimal and the MILP is a check of that choice;
* with K, a plan is a sequence of runs of consecutive hours with one configuration each.
  Replacing a run's configuration by the one with the lowest total cost over that run
  among those feasible in all its hours keeps every hour feasible, does not increase the
  cost, and does not increase the number of changes (two neighbouring runs may merge).
  So some optimal plan uses only run-optimal configurations, at most |H|(|H| + 1) / 2 of
  them, and restricting C to those loses nothing.
"""

from __future__ import annotations

import numpy as np

from formulations.batch.deployment import BatchDeployment, HourConfig, read_deployment
from formulations.batch.view import BatchView
from formulations.model import Model, Sense, VarBlock, lin_sum
from formulations.types import Certificate, MilpSolver, Solution, require_solution


def build(
    view: BatchView, max_changes: int | None
) -> tuple[Model, VarBlock, dict[int, HourConfig]]:
    """The model over ``view.candidates``, its block x, and each candidate's configuration."""
    model = Model("batch", Sense.MINIMIZE)
    n_hours = len(view.hours)
    configs = {
        int(c): HourConfig(memory_mb=m, batch_size=b, timeout_s=t)
        for c in view.candidates
        for m, b, t in [view.config(int(c))]
    }
    pairs = [(h, int(c)) for h in range(n_hours) for c in view.candidates if view.feasible[h, c]]
    x = model.add_variables(
        "x",
        pairs,
        upper=1.0,
        integer=True,
        cost=np.array([view.hourly_cost_usd[h, c] for h, c in pairs]),
    )
    for h in range(n_hours):
        model.add_constraint("one", lin_sum(x[h, c] for hh, c in pairs if hh == h) == 1, label=h)
    if max_changes is not None and n_hours > 1:
        switch_labels = [(h, int(c)) for h in range(1, n_hours) for c in view.candidates]
        s = model.add_variables("s", switch_labels, upper=1.0)
        for h, c in switch_labels:
            now = x[h, c] if (h, c) in x else 0.0  # noqa: SIM401 (VarBlock has no get)
            before = x[h - 1, c] if (h - 1, c) in x else 0.0  # noqa: SIM401
            model.add_constraint("switch", s[h, c] - now + before >= 0, label=(h, c))
        model.add_constraint("changes", lin_sum(s[label] for label in switch_labels) <= max_changes)
    return model, x, configs


def solve_plan(
    view: BatchView, solver: MilpSolver, max_changes: int | None
) -> Solution[BatchDeployment]:
    """Solve the MILP; the deployment is read off x."""
    model, x, configs = build(view, max_changes)
    result = require_solution(solver.solve(model), context="changes")
    deployment = read_deployment(x, result, configs, len(view.hours))
    return Solution(deployment, Certificate.of(result))
