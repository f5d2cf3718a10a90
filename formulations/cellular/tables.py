"""Tables of a cellular-batching plan: pools (primary), buckets, candidates, replay."""

from __future__ import annotations

from formulations.cellular.deployment import CellularDeployment
from formulations.cellular.simulate import Stats
from formulations.cellular.verify import batches, figures
from formulations.cellular.view import CellularView
from formulations.types import Table


def pool_table(view: CellularView, deployment: CellularDeployment) -> Table:
    rows = []
    for pool, fig in zip(deployment.pools, figures(view, deployment), strict=True):
        price = view.price_usd_per_h[pool.gpu]
        rows.append(
            [
                pool.gpu,
                pool.count,
                " ".join(f"{k}={v}" for k, v in pool.max_batch.items()),
                round(fig.capacity_qps, 1),
                round(fig.load_qps, 1),
                round(max(fig.latency_ms), 2),
                price,
                round(price * pool.count, 4),
            ]
        )
    p = view.inputs.percentile
    columns = [
        "gpu",
        "count",
        "max_batch",
        "capacity_qps",
        "load_qps",
        f"worst_{p}_ms",
        "price_usd_per_h",
        "cost_usd_per_h",
    ]
    return Table(f"GPU pools ({deployment.policy} batching)", columns, rows)


def bucket_table(view: CellularView, deployment: CellularDeployment) -> Table:
    pools = figures(view, deployment)
    rows = [
        [label, bucket.rate_qps, round(max(f.latency_ms[k] for f in pools), 2), view.inputs.slo_ms]
        for k, (label, bucket) in enumerate(zip(view.labels(), view.inputs.traffic, strict=True))
    ]
    p = view.inputs.percentile
    return Table("Length buckets", ["bucket", "rate_qps", f"{p}_ms", "slo_ms"], rows)


def candidate_table(view: CellularView, deployment: CellularDeployment) -> Table:
    chosen = {(p.gpu, batches(view, p)) for p in deployment.pools}
    rows: list[list[object]] = []
    marked: int | None = None
    for c in sorted(view.candidates, key=lambda c: view.price_usd_per_h[c.gpu] / c.capacity_qps):
        if (c.gpu, c.max_batch) in chosen and marked is None:
            marked = len(rows)
        rows.append(
            [
                c.gpu,
                "x".join(map(str, c.max_batch)),
                round(c.capacity_qps, 1),
                round(1000 * view.price_usd_per_h[c.gpu] / c.capacity_qps, 5),
            ]
        )
    columns = [
        "gpu",
        "max_batch (" + "x".join(view.cell_names) + ")",
        "capacity_qps",
        "usd_per_h_per_1k_qps",
    ]
    return Table("Candidate configurations (chosen row marked)", columns, rows, marked)


def replay_table(
    view: CellularView,
    deployments: dict[str, CellularDeployment],
    results: dict[str, tuple[Stats, list[float], list[float]]],
    runs: int,
    seed: int,
) -> Table:
    """Per (policy, bucket): replayed p50/p95/p99, the analytic percentile, attainment and
    the GPUs' mean utilisation (weighted by GPU count)."""
    rows = []
    p = view.inputs.percentile
    for policy, (stats, utilisation, analytic) in results.items():
        counts = [pool.count for pool in deployments[policy].pools]
        mean_busy = sum(c * u for c, u in zip(counts, utilisation, strict=True)) / sum(counts)
        for k, label in enumerate([*view.labels(), "all"]):
            bucket = None if label == "all" else k
            rows.append(
                [
                    policy,
                    label,
                    *(round(1000 * stats.percentile_s(q, bucket), 2) for q in (0.5, 0.95, 0.99)),
                    round(analytic[k], 2) if bucket is not None else None,
                    round(100 * stats.attainment(bucket), 2),
                    round(view.total_rate_qps, 1),
                    round(100 * mean_busy, 1),
                ]
            )
    columns = [
        "policy",
        "bucket",
        "p50_ms",
        "p95_ms",
        "p99_ms",
        f"analytic_{p}_ms",
        "slo_attainment_pct",
        "throughput_qps",
        "utilisation_pct",
    ]
    return Table(f"Replay against the analytic model ({runs} runs from seed {seed})", columns, rows)
