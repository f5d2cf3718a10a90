"""PIFS-Rec: DLRM embedding placement across CXL switch ports with in-switch reduction.

Sets: tables t; hotness buckets b of t (flattened as k = (t, b)); locations l = 0 (host
DRAM) and l = 1..P (downstream switch ports, one CXL memory expander each).

Parameters (from :mod:`cost_models.pifs`): n_k units of bucket k (1 when placing
fractions, its whole pages ceil(bytes / page_bytes) with ``page_kb``); S_k stored bytes
per unit (bucket bytes, or page_bytes); Lk_k lookup bytes per batch per unit; S_t =
sum_k S_k n_k and M_t = sum_k Lk_k n_k (MB) per table; O_t = batch * row_bytes_t (MB)
pooled output per port; cap_l (bytes), bw_l (GB/s; a port's is the bottleneck of its link
and its expander's DRAM), lat_l (ns, host-to-memory path latency), bw_up (upstream link,
GB/s), bw_red (reduction engine, GB/s), lat_red (ns), buffer (bytes), window (samples).
Busy times are in us: MB / (GB/s) * 1e3.

Variables: x_kl in [0, n_k] (continuous; integer pages in page mode); T >= 0 busy bound
(us); c >= 0 chain latency (us); z_l in {0,1} location used; with a reduction engine:
r_t in {0,1} table pooled in the switch, y_tp in {0,1} reduced table t holds rows on port
p, u_t >= 0 (MB the upstream link carries for non-reduced t), s_t >= 0 (MB the reduction
engine reads for reduced t), rho in {0,1} any table reduced; for tables named in
co-locate / separate groups, w_tl in {0,1} table t present at l.

Constraints:
(1) sum_l x_kl = n_k (every bucket fully placed);
(2) sum_k S_k x_kl <= cap_l z_l (capacity; z_l = 1 if l holds anything);
(3) sum_k Lk_k x_kl / bw_l <= T for l = host and every port;
(4) x_kp / n_k <= y_tp + (1 - r_t) for every bucket k of t: a reduced table's presence
    on p (a share is <= 1, so the big-M of 1 is tight; one row per bucket rather than one
    per table keeps the LP from paying a fraction of O_t for a table that is mostly on
    the host); and sum_p y_tp <= P r_t (y only for reduced tables);
(5) R_t = M_t - sum_{k in t} Lk_k x_k,host is t's CXL lookup MB; its rows cross the
    upstream link (u_t) or go through the reduction engine (s_t): u_t + s_t >= R_t,
    u_t <= M_t (1 - r_t), s_t <= M_t r_t (big-M = M_t, the largest R_t can be, since
    x_k,host >= 0; for fixed R_t this is the convex hull of the two cases);
(6) (sum_t u_t + sum_{t,p} O_t y_tp) / bw_up <= T (without an engine: (sum_t R_t) /
    bw_up <= T);
(7) sum_t s_t / bw_red <= T;  (8) sum_{t,p} window * row_bytes_t * y_tp <= buffer;
    sum_t r_t <= |T| rho;
(9) c >= lat_l z_l (us);
co-locate: sum_{k in t} S_k x_kl / S_t <= w_tl and >= 1e-4 w_tl (>= one page in page
mode: a co-located table keeps a real share wherever it is counted present), and
w_tl = w_t'l within a group; separate: sum_{t in group} w_tl <= 1 for every l.
Objective: minimise T + c + lat_red * rho (batch latency, us). Capacity-planning mode:
minimise price * sum_p z_p subject to T + c + lat_red * rho <= target.

Linearisations: the product r_t * (CXL lookups) is split into u_t and s_t with big-M =
M_t (above; a disjunctive hull rather than two big-M lower bounds, for a tighter LP); the
product r_t * presence is folded into (4) with big-M 1 (a share); the max over resources
is T; the max over used locations is c.

Exact pruning and symmetry breaking (each keeps every optimum):
* a table with pooling factor <= 1 is never reduced (r_t fixed to 0): its CXL lookups
  B * L * share * row_bytes <= B * row_bytes <= O_t * (ports holding it), so pooling in
  the switch never lowers the upstream traffic and only adds engine load, buffer use and
  latency;
* the ports are identical (same expander, link and latency), so permuting ports maps
  feasible plans to feasible plans of equal cost; we require z_1 >= z_2 >= ... >= z_P
  (sort used ports first), which every orbit satisfies for some permutation.

How it is solved: the model is built as numpy CSR arrays
(:class:`formulations.types.MatrixModel`), not through PuLP (the 856-table x 17-bucket
x 16-port instance has ~260k columns). For fractional placement without groups or
capacity planning, :mod:`formulations.pifs.aggregate` first solves the relaxation with the
identical ports pooled into one (a proven lower bound) and splits its plan over the ports
by McNaughton's wrap-around rule; the per-port MILP above runs only if that certified
gap exceeds ``mip_gap`` (``placement.aggregate_ports`` overrides). The per-port MILP gets
a MIP start: the pooled plan or the best feasible baseline. The independent verifier
recomputes every constraint and the latency with :func:`cost_models.pifs.busy.batch_cost`.

Where each stage lives: ``inputs.py`` (scenario keys, their cost-model view ``Problem``,
the deployment schema); ``milp.py`` (this MILP as CSR arrays, MIP starts, the LP
neighbourhood); ``aggregate.py`` (pooled-port relaxation and wrap-around split);
``baselines.py`` (Pond-, BEACON-, PIFS-Rec- and TorchRec-like placements);
``formulation.py`` (``plan``, the independent verifier ``verify``, the output ``tables``).
The cost model is :mod:`cost_models.pifs` (``topology``, ``hotness``, ``workload``,
``busy``).
"""

from formulations.pifs.formulation import PifsFormulation

FORMULATION = PifsFormulation()

__all__ = ["FORMULATION", "PifsFormulation"]
