"""The cellular-batching MILP: GPU counts and maximum batches per GPU type, at least cost.

Every GPU of type g runs one configuration c, a maximum batch per cell type; requests are
routed at random in proportion to capacity, so every GPU sees a Poisson stream with the
scenario's length mix, and a GPU meets the SLO in every length bucket at any load up to
its capacity ``r[g,c]`` (``view.py``; the capacity is the largest load below which every
evaluated load meets it).

Sets
    G: GPU types of the scenario; C_g: configurations of g, the product of
    ``max_batch_candidates`` over the cell types, keeping those with r[g,c] > 0.

Parameters
    lambda: total request rate (requests/s, the sum over length buckets);
    r[g,c]: capacity of one GPU of type g in configuration c (requests/s);
    price[g]: USD/h per GPU; N[g]: GPUs of type g available;
    U[g,c] = min(N[g], ceil(lambda / r[g,c])): the most GPUs (g, c) an optimal plan uses.

Variables
    n[g,c] >= 0 integer: GPUs of type g running configuration c;
    y[g,c] binary: configuration c is the one of GPU type g.

Constraints
    demand:      sum_{g,c} r[g,c] n[g,c] >= lambda
    one_config:  sum_c y[g,c] <= 1                       for every g
    link:        n[g,c] <= U[g,c] y[g,c]                 for every (g, c)   (big-M U[g,c])

Objective
    minimise sum_{g,c} price[g] n[g,c]   (USD/h)

Big-M U[g,c]: N[g] bounds n[g,c] by availability. And an optimal plan never has
n[g,c] > ceil(lambda / r[g,c]): then n[g,c] - 1 >= ceil(lambda / r[g,c]) GPUs of (g, c)
alone carry r[g,c] (n[g,c] - 1) >= lambda, so one GPU fewer still meets demand at a lower
cost (every price is positive), a contradiction. So link cuts off no optimal plan.

Why the candidate set is exact: the maximum batch is an integer the scenario restricts to
``max_batch_candidates``; the MILP searches every combination of them per GPU type, and
capacity is all that distinguishes two configurations of one GPU type (same price, same
routing rule), so the optimum over the candidates is the optimum of the scenario.
"""

from __future__ import annotations

import math

from formulations.cellular.deployment import CellularDeployment, Pool
from formulations.cellular.view import CellularView
from formulations.model import Model, lin_sum
from formulations.types import Certificate, MilpSolver, Sense, Solution, require_solution


def build(view: CellularView) -> tuple[Model, list[tuple[str, tuple[int, ...]]]]:
    labels = [(c.gpu, c.max_batch) for c in view.candidates]
    lam = view.total_rate_qps
    bound = [min(view.max_count[c.gpu], math.ceil(lam / c.capacity_qps)) for c in view.candidates]
    model = Model("cellular", Sense.MINIMIZE)
    names = [f"{g}|{'x'.join(map(str, b))}" for g, b in labels]
    n = model.add_variables(
        "n", names, upper=bound, integer=True, cost=[view.price_usd_per_h[g] for g, _ in labels]
    )
    y = model.add_variables("y", names, upper=1, integer=True)
    model.add_constraint(
        "demand",
        lin_sum(c.capacity_qps * n[k] for c, k in zip(view.candidates, names, strict=True)) >= lam,
    )
    for gpu in view.max_count:
        mine = [k for (g, _), k in zip(labels, names, strict=True) if g == gpu]
        if mine:
            model.add_constraint("one_config", lin_sum(y[k] for k in mine) <= 1, label=gpu)
    for k, u in zip(names, bound, strict=True):
        model.add_constraint("link", n[k] - u * y[k] <= 0, label=k)
    return model, labels


def solve_plan(view: CellularView, solver: MilpSolver) -> Solution[CellularDeployment]:
    model, labels = build(view)
    result = require_solution(solver.solve(model), context="demand")
    block = model.var_blocks["n"]
    values = block.values(result)
    pools = [
        Pool(gpu=g, count=round(v), max_batch=dict(zip(view.cell_names, b, strict=True)))
        for (g, b), v in zip(labels, values, strict=True)
        if round(v) > 0
    ]
    return Solution(CellularDeployment(policy="cellular", pools=pools), Certificate.of(result))
