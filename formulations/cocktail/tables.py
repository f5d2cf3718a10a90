"""Tables of a Cocktail deployment: ensembles per interval and class (the primary table),
VM pools per interval, and the cost summary. Units are in the column names; shares are
percentages."""

from __future__ import annotations

from cost_models.units import PERCENT_PER_FRACTION as PERCENT  # tables show percentages
from formulations.cocktail.deployment import CocktailDeployment
from formulations.cocktail.verify import cost_summary
from formulations.cocktail.view import CocktailView
from formulations.types import Table


def ensemble_table(view: CocktailView, deployment: CocktailDeployment) -> Table:
    model_idx, inst_idx = view.model_index, view.instance_index
    rows = []
    for t, plan in enumerate(deployment.intervals):
        for k, c in enumerate(plan.classes):
            latency = max(
                (view.latency_ms[model_idx[r.model], inst_idx[r.instance_type]] for r in c.routes),
                default=0.0,
            )
            rows.append(
                [
                    t,
                    c.name,
                    round(float(view.planned_qps[k, t]), 3),
                    "+".join(c.members),
                    round(PERCENT * view.accuracy(c.members), 2),
                    round(PERCENT * view.classes[k].accuracy_target, 2),
                    round(float(latency), 3),
                    view.classes[k].slo_ms,
                ]
            )
    columns = [
        "interval",
        "class",
        "load_qps",
        "ensemble",
        "vote_accuracy_pct",
        "accuracy_target_pct",
        "latency_ms",
        "slo_ms",
    ]
    return Table("Ensemble per interval and class", columns, rows)


def rate_label(view: CocktailView, m: int, i: int) -> str:
    """Provenance of the rate of model m on type i, with its expected error when estimated."""
    error = view.rate_error_pct[m][i]
    provenance = view.rate_provenance[m][i].value
    return provenance if error is None else f"{provenance} ±{error:.0f}%"


def pool_table(view: CocktailView, deployment: CocktailDeployment) -> Table:
    model_idx, inst_idx = view.model_index, view.instance_index
    rows = []
    for t, plan in enumerate(deployment.intervals):
        for p in plan.pools:
            m, i = model_idx[p.model], inst_idx[p.instance_type]
            load = sum(
                r.qps
                for c in plan.classes
                for r in c.routes
                if (r.model, r.instance_type) == (p.model, p.instance_type)
            )
            price = p.on_demand * view.on_demand_usd_per_h[i] + p.spot * view.spot_usd_per_h[i]
            rows.append(
                [
                    t,
                    p.model,
                    p.instance_type,
                    p.on_demand,
                    p.spot,
                    round(float(view.capacity_qps[m, i]), 3),
                    rate_label(view, m, i),
                    round(load, 3),
                    round(float(price), 4),
                ]
            )
    columns = [
        "interval",
        "model",
        "instance_type",
        "on_demand",
        "spot",
        "capacity_qps_per_vm",
        "rate_provenance",
        "load_qps",
        "cost_usd_per_h",
    ]
    return Table("VMs per interval, model and instance type", columns, rows)


def tables(view: CocktailView, deployment: CocktailDeployment) -> list[Table]:
    summary = cost_summary(view, deployment)
    return [
        ensemble_table(view, deployment),
        pool_table(view, deployment),
        Table("Cost", list(summary), [[round(v, 6) for v in summary.values()]]),
    ]


def replay_table(rows: list[list[float | str | None]], window_s: float) -> Table:
    """Cocktail's replay summary per plan (first row: the MILP's): requests, the share that
    met both the SLO and the accuracy target, SLO attainment, latency, cost."""
    return Table(
        f"Cocktail replay: targets met and cost (windows of {window_s:g} s per interval)",
        [
            "plan",
            "requests",
            "targets_met_pct",
            "slo_attainment_pct",
            "p50_latency_ms",
            "p99_latency_ms",
            "cost_usd",
        ],
        rows,
        marked_row=0,
        marker="this plan",
    )
