"""Cocktail (NSDI '22): per request class, a voting ensemble on on-demand and spot VMs.

Sets
    T intervals (length ``interval_h`` hours), K request classes, M models, I instance types,
    E_k candidate ensembles of class k (below).
Parameters
    lambda[t,k]   planned load of class k in interval t, requests/s (observed or forecast)
    slo_ms[k], target[k]   latency SLO (ms) and vote-accuracy target (fraction) of class k
    lat[m,i]      latency of one request of model m on instance type i, ms (roofline)
    cap[m,i]      requests/s one VM of type i serves with model m (devices / latency)
    q[i]          probability a spot VM of type i is reclaimed within one interval
                  (Spot Advisor band rate x ``interruption_rate_scale``, Poisson)
    p_od[i], p_sp[i]   on-demand and spot price, USD per VM-hour
    beta          ``min_on_demand_share``: share of each pool's load on-demand VMs must carry
    h_start       ``vm_startup_s`` / 3600: billed start-up hours of each VM added
    acc(S)        vote accuracy of model subset S on the correctness model
                  (:mod:`cost_models.cocktail.accuracy`; not linear in S, so precomputed)
Candidates
    E_k = subsets S of {m : exists i with lat[m,i] <= slo_ms[k]} with |S| <= max_ensemble_size
    and acc(S) >= target[k] that are *minimal* (no proper subset qualifies). Pruning the
    others is exact: replacing S by a qualifying subset S' keeps every constraint below
    satisfied (members of S' get the same load, the others none) with the same VM counts.
    An empty E_k makes the plan infeasible before any solve (InfeasibleError naming the class
    and the best reachable accuracy).
Variables
    x[t,k,e] in {0,1}   class k uses ensemble e of E_k in interval t
    y[t,k,m,i] >= 0     requests/s of class k sent to model m on type i; only for pairs
                        with lat[m,i] <= slo_ms[k] (this is how the SLO is enforced)
    n[t,m,i], s[t,m,i] in Z+   on-demand and spot VMs of type i running model m
    u[t,m,i], v[t,m,i] >= 0    VMs started (on-demand, spot), and d[t,m,i], w[t,m,i] >= 0
                               VMs stopped, only when intervals are coupled (below)
Constraints
    sum_e x[t,k,e] = 1                                         one ensemble per class
    sum_i y[t,k,m,i] = lambda[t,k] * sum_{e: m in e} x[t,k,e]  every member sees all requests
    sum_k y[t,k,m,i] <= cap[m,i] * n[t,m,i] + cap[m,i] (1 - q[i]) s[t,m,i]
                                                  capacity, spot discounted by its risk
    beta * sum_k y[t,k,m,i] <= cap[m,i] * n[t,m,i]    on-demand fallback: a total spot loss
                                                  leaves beta of every pool's load served
    u[t] >= n[t] - n[t-1], v[t] >= s[t] - s[t-1]  (n[-1] = s[-1] = 0)
    d[t] >= n[t-1] - n[t], w[t] >= s[t-1] - s[t],
    sum_{m,i} (u + v + d + w)[t,m,i] <= ``max_vm_changes``   for t >= 1 (optional limit)
Objective (USD over the horizon, minimised)
    sum_t sum_{m,i} interval_h (p_od[i] n + p_sp[i] s) + h_start (p_od[i] u + p_sp[i] v)
Bounds and linearisation
    No big-M: the route equality is linear because lambda is data; |n[t] - n[t-1]| is
    linearised by u, d (minimised by the cost or bounded by the limit: any u, d above the
    true increase and decrease only tighten the limit, so an optimum exists with equality).
    n and s are bounded by ceil(L / cap) and ceil(L / (cap (1 - q))) with L the load of every
    class that may reach the pool (its largest over the horizon when intervals are coupled).
    Exact: on-demand (or spot) VMs alone covering L satisfy every constraint, and clipping a
    larger count to the bound in every interval adds no start-up and no change.
Cuts (valid, they only tighten the LP relaxation)
    with z[t,k,m] = sum_{e: m in e} x[t,k,e] and R the pools class k may reach for m,
    c = max_{i in R} cap[m,i]:  sum_{i in R} (n + s) >= ceil(lambda[t,k] / c) z[t,k,m] and,
    when beta > 0, sum_{i in R} n >= ceil(beta lambda[t,k] / c) z[t,k,m] -- those pools
    must carry lambda (on-demand: beta lambda) and VM counts are integers.
Dominated instance types
    A type that another listed type beats on every count (latency and capacity for every
    model, on-demand and spot price, interruption risk; e.g. m5.xlarge by c5.xlarge) gets no
    variables: swapping its VMs one for one keeps every constraint at no extra cost.
Decomposition
    Without start-up costs and change limit nothing links intervals, so each interval is
    solved as its own MILP (exact); the plan's objective, bound and size are the sums, its
    status the worst. Otherwise the whole horizon is one MILP.
The model has continuous routes y, so CP-SAT refuses it; HiGHS, CBC and SCIP solve it.

Modules (one stage each)
    inputs.py       scenario keys, deployment model, and the cost-model data derived once
                    per inputs object (``CocktailInputs.data()``)
    load.py         observed and planned (forecast) requests/s per interval
    candidates.py   candidate ensembles E_k, unreachable-target messages, dominated types
    milp.py         the MILP above in PuLP, its per-interval decomposition, reading a solution
    verify.py       independent verifier and cost of any deployment
    baselines.py    InFaaS, Clipper and Cocktail-greedy on the same inputs
    simulate.py     seeded spot-failure replay of plans
    formulation.py  the ``Formulation``: plan, verify, tables, simulate
"""

from formulations.cocktail.formulation import CocktailFormulation

FORMULATION = CocktailFormulation()

__all__ = ["FORMULATION", "CocktailFormulation"]
