"""A plan report a person can read: a summary, the formulation's tables, the baselines."""

from __future__ import annotations

import math
from typing import Any

from rich.console import Group, RenderableType
from rich.table import Table as RichTable
from rich.text import Text

from formulations.types import Table
from planner.engine import CheckReport
from planner.plan import Plan


def fmt(value: Any) -> str:
    """Numbers at a readable precision; everything else as text."""
    if isinstance(value, bool) or value is None:
        return "-" if value is None else ("yes" if value else "no")
    if isinstance(value, int):
        return f"{value:,}"
    if isinstance(value, float):
        if math.isinf(value) or math.isnan(value):
            return str(value)
        if value != 0 and (abs(value) >= 1e6 or abs(value) < 1e-3):
            return f"{value:.4g}"
        return f"{value:,.4f}".rstrip("0").rstrip(".") if abs(value) < 1000 else f"{value:,.1f}"
    return str(value)


def _rich_table(table: Table) -> RichTable:
    out = RichTable(title=table.title, title_justify="left", header_style="bold")
    if table.marked_row is not None:
        out.add_column("", no_wrap=True)
    for column in table.columns:
        out.add_column(column, overflow="fold")
    for i, row in enumerate(table.rows):
        cells = [fmt(v) for v in row]
        if table.marked_row is not None:
            chosen = i == table.marked_row
            cells = ["▶" if chosen else "", *cells]
            out.add_row(*cells, style="bold green" if chosen else None)
        else:
            out.add_row(*cells)
    return out


def _baselines(plan: Plan) -> RichTable | None:
    """The plan and every baseline in one table: same verifier, same objective, one ratio
    (``plan_advantage``: above 1 the plan is better), the plan's row marked."""
    if not plan.baselines:
        return None
    keys: list[str] = list(plan.headline)
    for result in plan.baselines:
        keys.extend(k for k in result.headline if k not in keys)
    unit = plan.objective.unit
    rows = [
        ["planner (this plan)", "feasible", plan.objective.value, 1.0]
        + [plan.headline.get(k) for k in keys]
        + [""]
    ]
    for b in plan.baselines:
        note = b.reason or "; ".join(b.violations[:2])
        rows.append(
            [b.name, b.status, b.objective, b.plan_advantage]
            + [b.headline.get(k) for k in keys]
            + [note]
        )
    table = Table(
        f"Baselines on the same inputs ({plan.objective.name}, {unit}; plan_advantage > 1: "
        "the plan is better)",
        ["name", "status", f"objective ({unit})", "plan_advantage", *keys, "note"],
        rows,
        marked_row=0,
    )
    return _rich_table(table)


def summary(plan: Plan) -> RichTable:
    grid = RichTable.grid(padding=(0, 2))
    grid.add_column(style="bold")
    grid.add_column()
    gap = plan.gap
    gap_text = f"{gap:.4%}" if math.isfinite(gap) else "unknown"
    grid.add_row("scenario", f"{plan.scenario_name} ({plan.kind})")
    optimal = plan.status.value == "optimal"
    grid.add_row(
        "status",
        Text(
            f"{plan.status.value} (stopped: {plan.termination.text})",
            style="green" if optimal else "yellow",
        ),
    )
    objective = plan.objective
    grid.add_row(
        objective.name, f"{fmt(objective.value)} {objective.unit} ({objective.sense.value})"
    )
    grid.add_row("bound / gap", f"{fmt(plan.bound)} / {gap_text}")
    grid.add_row(
        "solver",
        f"{plan.solver.backend} (mip_gap {plan.solver.mip_gap}, "
        f"time limit {fmt(plan.solver.time_limit_s)} s, "
        f"threads {plan.solver.threads}, seed {plan.solver.seed})",
    )
    t = plan.timing
    grid.add_row(
        "time",
        f"prepare {t.prepare_s:.3f} s, build {t.build_s:.3f} s, solve {t.solve_s:.3f} s, "
        f"verify {t.verify_s:.3f} s, baselines {t.baselines_s:.3f} s (wall {t.wall_s:.3f} s)",
    )
    size = plan.certificate.size
    solves = plan.certificate.solves
    grid.add_row(
        "model",
        f"{size.variables:,} variables ({size.integers:,} integer), "
        f"{size.constraints:,} constraints"
        + (f" (largest of {solves} solves)" if solves > 1 else ""),
    )
    return grid


def plan_report(plan: Plan) -> RenderableType:
    parts: list[RenderableType] = [summary(plan)]
    parts.extend(_rich_table(t) for t in plan.tables)
    baselines = _baselines(plan)
    if baselines is not None:
        parts.append(baselines)
    return Group(*parts)


def tables_report(tables: list[Table]) -> RenderableType:
    return Group(*(_rich_table(t) for t in tables))


def check_report(report: CheckReport) -> RenderableType:
    grid = RichTable.grid(padding=(0, 2))
    grid.add_column(style="bold")
    grid.add_column()
    verdict = {0: ("OK", "green"), 3: ("INFEASIBLE", "red"), 6: ("SUBOPTIMAL", "yellow")}
    label, style = verdict[int(report.exit_code)]
    grid.add_row("plan", report.plan_path)
    grid.add_row("verdict", Text(label, style=style))
    grid.add_row("scenario changed since plan", fmt(report.scenario_changed))
    grid.add_row(f"stored {report.stored.name}", f"{fmt(report.stored.value)} {report.stored.unit}")
    grid.add_row("fresh optimum", f"{fmt(report.fresh.value)} {report.fresh.unit}")
    grid.add_row("shortfall / allowed", f"{report.shortfall:.4%} / {report.max_gap:.4%}")
    parts: list[RenderableType] = [grid]
    if report.violations:
        parts.append(Text("violations:\n  " + "\n  ".join(report.violations), style="red"))
    return Group(*parts)
