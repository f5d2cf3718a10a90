"""Tables for people: the pools (primary), the buckets' assignment, the per-replica rates."""

from __future__ import annotations

from collections.abc import Mapping

from cost_models.units import MS_PER_S
from formulations.llm.deployment import LlmDeployment
from formulations.llm.verify import pool_uses
from formulations.llm.view import LlmView
from formulations.types import Table

REPLAY_COLUMNS = [
    "pool",
    "replicas",
    "rate_qps_per_replica",
    "mean_ttft_ms",
    "mean_tpot_ms",
    "ttft_attainment_pct",
    "tpot_attainment_pct",
]


def tables(view: LlmView, deployment: LlmDeployment) -> list[Table]:
    uses, _ = pool_uses(view, deployment)
    pools = []
    for plan in deployment.pools:
        pool = view.pool(plan.pool)
        use = uses.get(plan.pool)
        if pool is None or use is None:
            continue
        pools.append(
            [
                plan.pool,
                pool.gpu,
                pool.tp,
                pool.role.value,
                pool.max_num_seqs,
                plan.replicas,
                plan.replicas * pool.tp,
                plan.replicas * pool.replica_price_usd_per_h,
                use.rate_qps,
                100.0 * use.load / plan.replicas if plan.replicas else 0.0,
            ]
        )
    pool_table = Table(
        f"Pools ({deployment.batching.value} batching, slice factor {deployment.slice_factor})",
        [
            "pool",
            "gpu",
            "tp",
            "role",
            "max_num_seqs",
            "replicas",
            "gpus",
            "usd_per_h",
            "rate_qps",
            "load_pct",
        ],
        pools,
    )
    by_bucket: dict[str, list[str]] = {}
    for a in deployment.assignments:
        by_bucket.setdefault(a.bucket, []).append(f"{a.pool} x{a.slices}")
    buckets = [
        [label, float(view.rate_qps[b]), "; ".join(by_bucket.get(label, []))]
        for b, label in enumerate(view.bucket_labels)
    ]
    bucket_table = Table("Buckets: slices per pool", ["bucket", "rate_qps", "slices"], buckets)
    keys = [p.key for p in view.pools if (p.key, deployment.batching) in view.rates]
    chosen = {p.pool for p in deployment.pools}
    rate_rows = []
    for key in keys:
        table = view.rates[key, deployment.batching]
        for b, label in enumerate(view.bucket_labels):
            rate_rows.append(
                [
                    key,
                    label,
                    float(table.rate_qps[b]),
                    float(table.batch[b]),
                    MS_PER_S * float(table.ttft_s[b]),
                    MS_PER_S * float(table.tpot_s[b]),
                    "yes" if key in chosen else "",
                ]
            )
    rate_table = Table(
        "Per-replica highest rate within the SLOs (state at that rate)",
        ["pool", "bucket", "max_rate_qps", "batch", "ttft_ms", "tpot_ms", "chosen"],
        rate_rows,
    )
    return [pool_table, bucket_table, rate_table]


def replay_table(
    rows: list[list[object]], runs: int, seed: int, not_replayed: Mapping[str, str]
) -> Table:
    """Per deployment (``plan``: the planner's or a baseline's) and pool, the replay's TTFT
    and TPOT; the title names the baselines not replayed and why."""
    left_out = "; ".join(f"{name}: {why}" for name, why in not_replayed.items())
    title = f"Replay of continuous batching ({runs} runs, seed {seed})"
    if left_out:
        title += f"; not replayed: {left_out}"
    return Table(title, ["plan", *REPLAY_COLUMNS], rows)
