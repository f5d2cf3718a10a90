"""The systems an ``llm`` plan is compared with, each a deployment of the same schema."""

from __future__ import annotations

import math

from formulations.llm.deployment import LlmDeployment, deployment_of
from formulations.llm.milp import build, build_melange
from formulations.llm.view import Batching, LlmView, Role
from formulations.types import (
    BaselineRun,
    InfeasibleError,
    MilpSolver,
    require_solution,
    run_baseline,
)

SINGLE_SOURCE = (
    "Melange (Griggs et al. 2024) Sec. 6.2's single-GPU-type baselines: every bucket on the "
    "cheapest one GPU type (any of its TP degrees), ceil(sum_b lam[b] / cap[b]) replicas"
)
STATIC_SOURCE = (
    "request-level batching as in Orca (Yu et al. OSDI '22) Sec. 2 / FasterTransformer: "
    "batches padded to the longest request, no joining a running batch; the same MILP on "
    "cost_models.llm.capacity.static_rates"
)
MELANGE_SOURCE = (
    "tyler-griggs/melange-release melange/solver.py MelangeSolver.run (commit d46ab43): "
    "one binary per slice and GPU type, TP 1, on our per-bucket rates"
)


def best_single_type(view: LlmView) -> LlmDeployment:
    """The cheapest deployment that puts every bucket on one (GPU type, TP degree)."""
    n_buckets = len(view.bucket_labels)
    best: tuple[float, str, int] | None = None
    for pool in view.pools:
        cap = view.cap(pool.key, Batching.CONTINUOUS)
        if pool.role is not Role.BOTH or cap is None:
            continue
        if any(cap[b] <= 0 and view.rate_qps[b] > 0 for b in range(n_buckets)):
            continue
        load = sum(view.rate_qps[b] / cap[b] for b in range(n_buckets) if view.rate_qps[b] > 0)
        replicas = math.ceil(load - 1e-9)
        limit = view.max_gpus.get(pool.gpu)
        if limit is not None and replicas * pool.tp > limit:
            continue
        cost = replicas * pool.replica_price_usd_per_h
        if best is None or cost < best[0]:
            best = (cost, pool.key, replicas)
    if best is None:
        raise InfeasibleError("no single GPU type serves every bucket within the SLOs")
    _, key, replicas = best
    slices = {(b, key): view.slice_factor for b in range(n_buckets)}
    return deployment_of(view, {key: replicas}, slices)


def static_batching(view: LlmView, solver: MilpSolver) -> LlmDeployment | None:
    """The cheapest mix when every replica batches whole requests."""
    if not any((p.key, Batching.STATIC) in view.rates for p in view.pools):
        return None
    built = build(view, Batching.STATIC)
    result = require_solution(solver.solve(built.model))
    return deployment_of(view, built.replicas(result), built.slices(result), Batching.STATIC)


def melange(view: LlmView, solver: MilpSolver) -> LlmDeployment:
    built = build_melange(view)
    result = require_solution(solver.solve(built.model))
    return deployment_of(view, built.replicas(result), built.slices(result))


def baselines(view: LlmView, solver: MilpSolver) -> list[BaselineRun[LlmDeployment]]:
    return [
        run_baseline("best single GPU type", SINGLE_SOURCE, lambda: best_single_type(view)),
        run_baseline(
            "static batching",
            STATIC_SOURCE,
            lambda: static_batching(view, solver),
            "profiled rates only: no latency model to derive static-batching rates from",
        ),
        run_baseline("melange", MELANGE_SOURCE, lambda: melange(view, solver)),
    ]
