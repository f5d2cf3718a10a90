"""Tables of a BATCH plan: the configuration per interval (primary), and the arrivals."""

from __future__ import annotations

from cost_models.units import PERCENT_PER_FRACTION
from formulations.batch.deployment import BatchDeployment
from formulations.batch.verify import hour_figures
from formulations.batch.view import BatchView
from formulations.types import Table

USD_PER_MILLION = 1e6


def plan_table(view: BatchView, deployment: BatchDeployment) -> Table:
    p = view.inputs.percentile
    hybrid = view.hybrid is not None
    rows = []
    for h, (hour, config) in enumerate(zip(view.hours, deployment.hours, strict=True)):
        figures = hour_figures(view, hour, config)
        row: list[object] = [
            h,
            round(hour.rate_qps, 3),
            config.memory_mb,
            config.batch_size,
            config.timeout_s,
            round(figures.mean_batch_size, 3),
            round(figures.latency_ms, 1),
            view.inputs.slo_ms,
            round(figures.concurrency, 2),
            round(figures.cost_per_request_usd * USD_PER_MILLION, 4),
            round(figures.cost_usd, 4),
        ]
        if hybrid:
            row += [
                round(PERCENT_PER_FRACTION * config.lambda_share, 2),
                vm_text(config.vms),
                round(figures.vm_capacity_qps, 2),
                round(figures.vm_cost_usd, 4),
            ]
        rows.append(row)
    columns = [
        "hour",
        "rate_qps",
        "memory_mb",
        "batch_size",
        "timeout_s",
        "mean_batch_size",
        f"latency_{p}_ms",
        "slo_ms",
        "concurrency",
        "cost_per_million_usd",
        "cost_usd",
    ]
    if hybrid:
        columns += ["lambda_pct", "vms", "vm_capacity_qps", "vm_cost_usd"]
    title = "Lambda and VMs per interval" if hybrid else "Lambda configuration per interval"
    return Table(title, columns, rows)


def vm_text(vms: dict[str, int]) -> str:
    """VM counts as ``type:market=count`` joined by ``;`` (empty without VMs)."""
    return ";".join(f"{name}={count}" for name, count in sorted(vms.items()) if count)


def arrivals_table(view: BatchView) -> Table:
    rows = [
        [
            h,
            round(hour.rate_qps, 3),
            round(hour.arrivals.scv, 3),
            round(hour.arrivals.lag1_autocorrelation, 3),
            hour.arrivals.phases,
            hour.source,
        ]
        for h, hour in enumerate(view.hours)
    ]
    columns = ["hour", "rate_qps", "scv", "lag1_autocorrelation", "phases", "source"]
    return Table("Arrival process per interval (MAP)", columns, rows)
