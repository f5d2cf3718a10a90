"""A plan report a person can read: a summary, the formulation's tables, the baselines."""

from __future__ import annotations

import math
from typing import Any

from rich.console import Group, RenderableType
from rich.table import Table as RichTable
from rich.text import Text

from formulations.types import Provenance, RateSource, Table
from planner.diff import PlanDiff
from planner.engine import CheckReport
from planner.plan import Plan

SIGNIFICANT = 4  # digits shown for a non-integer number
MARK = "▶"
LEGEND = f"{MARK} chosen"


def fmt(value: Any) -> str:
    """One number format everywhere: integers and values of 10,000 or more as whole numbers
    with thousands separators, others to four significant digits; no exponents between
    1e-4 and 1e15; ``-`` for a missing value."""
    if isinstance(value, bool) or value is None:
        return "-" if value is None else ("yes" if value else "no")
    if isinstance(value, int):
        return f"{value:,}"
    if isinstance(value, float):
        if math.isinf(value) or math.isnan(value):
            return str(value)
        magnitude = abs(value)
        if value == 0:
            return "0"
        if magnitude >= 1e15 or magnitude < 1e-4:
            return f"{value:.{SIGNIFICANT - 1}e}"
        if magnitude >= 10**SIGNIFICANT:
            return f"{value:,.0f}"
        digits = max(0, SIGNIFICANT - 1 - math.floor(math.log10(magnitude)))
        text = f"{value:,.{digits}f}"
        return text.rstrip("0").rstrip(".") if "." in text else text
    return str(value)


def _widths(table: Table, cells: list[list[str]]) -> list[int]:
    return [
        max([len(column), *(len(row[c]) for row in cells)]) + 3  # padding and border
        for c, column in enumerate(table.columns)
    ]


def _key_columns(table: Table) -> int:
    """How many leading columns name a row (text in every row; at most three): the columns
    every group of a split table repeats."""
    keys = 0
    for c in range(min(3, len(table.columns) - 1)):
        if not all(isinstance(row[c], str) for row in table.rows):
            break
        keys += 1
    return max(keys, 1)


def column_groups(table: Table, cells: list[list[str]], width: int | None) -> list[list[int]]:
    """Columns split into groups that fit ``width`` characters, each group repeating the
    key columns (the leading text columns); one group when everything fits or no width is
    given."""
    everything = list(range(len(table.columns)))
    if width is None or not table.columns:
        return [everything]
    widths = _widths(table, cells)
    budget = width - 4 - (3 if table.marked_row is not None else 0)
    if sum(widths) <= budget:
        return [everything]
    keys = list(range(min(_key_columns(table), len(everything))))
    key_width = sum(widths[c] for c in keys)
    groups: list[list[int]] = []
    current = list(keys)
    used = key_width
    for c in everything[len(keys) :]:
        if used + widths[c] > budget and len(current) > len(keys):
            groups.append(current)
            current, used = list(keys), key_width
        current.append(c)
        used += widths[c]
    groups.append(current)
    return groups


def _rich_tables(table: Table, width: int | None = None) -> list[RichTable]:
    """The table as one or more rich tables that fit ``width`` (see :func:`column_groups`)."""
    cells = [[fmt(v) for v in row] for row in table.rows]
    groups = column_groups(table, cells, width)
    out: list[RichTable] = []
    for number, group in enumerate(groups, 1):
        title = table.title + (f" ({number}/{len(groups)})" if len(groups) > 1 else "")
        caption = LEGEND if table.marked_row is not None and number == len(groups) else None
        rich = RichTable(
            title=title,
            title_justify="left",
            header_style="bold",
            caption=caption,
            caption_justify="left",
        )
        if table.marked_row is not None:
            rich.add_column("", no_wrap=True)
        for c in group:
            numeric = any(isinstance(row[c], int | float) for row in table.rows)
            rich.add_column(
                table.columns[c], overflow="fold", justify="right" if numeric else "left"
            )
        for i, row in enumerate(cells):
            picked = [row[c] for c in group]
            if table.marked_row is not None:
                chosen = i == table.marked_row
                rich.add_row(
                    MARK if chosen else "", *picked, style="bold green" if chosen else None
                )
            else:
                rich.add_row(*picked)
        out.append(rich)
    return out


def _rich_table(table: Table, width: int | None = None) -> RenderableType:
    return Group(*_rich_tables(table, width))


def baseline_table(plan: Plan) -> Table | None:
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
    return table


def rates_summary(rates: list[RateSource]) -> Text:
    """One line for the plan header: how many rate groups are measured, calibrated or
    roofline estimates, with the largest expected error; yellow when any is an estimate."""
    parts = []
    for provenance in Provenance:
        group = [r for r in rates if r.provenance is provenance]
        if not group:
            continue
        errors = [r.expected_error_pct for r in group if r.expected_error_pct is not None]
        error = f", expected error up to {max(errors):.0f}%" if errors else ""
        parts.append(f"{len(group)} {provenance.value}{error}")
    estimated = any(r.provenance is not Provenance.MEASURED for r in rates)
    lead = "ESTIMATES: " if estimated else ""
    return Text(
        lead + "; ".join(parts) + " (see the plan's rates.sources)",
        style="yellow" if estimated else "",
    )


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
    if plan.rates:
        grid.add_row("rates", rates_summary(plan.rates))
    size = plan.certificate.size
    solves = plan.certificate.solves
    grid.add_row(
        "model",
        f"{size.variables:,} variables ({size.integers:,} integer), "
        f"{size.constraints:,} constraints"
        + (f" (largest of {solves} solves)" if solves > 1 else ""),
    )
    return grid


def plan_report(plan: Plan, width: int | None = None) -> RenderableType:
    """Summary, the formulation's tables, the baselines; tables wider than ``width`` are
    split into column groups that repeat the key column (None: never split)."""
    parts: list[RenderableType] = [summary(plan)]
    parts.extend(_rich_table(t, width) for t in plan.tables)
    baselines = baseline_table(plan)
    if baselines is not None:
        parts.append(_rich_table(baselines, width))
    return Group(*parts)


def tables_report(tables: list[Table], width: int | None = None) -> RenderableType:
    return Group(*(_rich_table(t, width) for t in tables))


def check_report(report: CheckReport) -> RenderableType:
    """Verdict first, then what the committed capacity cannot serve, then the comparison."""
    verdict = {
        0: ("OK: the committed plan covers the scenario", "green"),
        3: ("INFEASIBLE: the committed plan does not cover the scenario", "red"),
        6: (
            "SUBOPTIMAL: the committed plan covers the scenario, but a fresh plan is better",
            "yellow",
        ),
    }
    label, style = verdict[int(report.exit_code)]
    parts: list[RenderableType] = [Text(label, style=f"bold {style}")]
    if report.shortfalls:
        parts.append(
            _rich_table(
                Table(
                    "Short of the scenario (committed decisions kept)",
                    ["what", "required", "available", "short by", "unit"],
                    [
                        [s.what, s.required, s.available, s.required - s.available, s.unit]
                        for s in report.shortfalls
                    ],
                )
            )
        )
    if report.violations:
        parts.append(Text("violations:\n  " + "\n  ".join(report.violations), style="red"))
    grid = RichTable.grid(padding=(0, 2))
    grid.add_column(style="bold")
    grid.add_column()
    unit = report.committed.unit
    grid.add_row("plan", report.plan_path)
    grid.add_row("scenario changed since plan", fmt(report.scenario_changed))
    grid.add_row(f"committed {report.committed.name}", f"{fmt(report.committed.value)} {unit}")
    if report.fresh is None:
        grid.add_row("fresh optimum", f"none: {report.fresh_reason}")
    else:
        grid.add_row("fresh optimum", f"{fmt(report.fresh.value)} {unit}")
        grid.add_row("committed worse by / allowed", f"{report.gap:.2%} / {report.max_gap:.2%}")
        if report.fresh_covers_committed is False:
            grid.add_row(
                "note",
                "the fresh plan serves only the new scenario, not the one the committed plan "
                "was made for (demand went down or a requirement was relaxed): re-plan to "
                "save, no failure",
            )
    parts.append(grid)
    return Group(*parts)


def diff_report(d: PlanDiff) -> RenderableType:
    grid = RichTable.grid(padding=(0, 2))
    grid.add_column(style="bold")
    grid.add_column()
    change = d.objective_change_pct
    grid.add_row("plans", f"{d.old_path} -> {d.new_path} ({d.kind})")
    grid.add_row(
        d.objective_name,
        f"{fmt(d.old_objective)} -> {fmt(d.new_objective)} {d.objective_unit}"
        + (f" ({change:+.2f}%)" if change is not None else ""),
    )
    grid.add_row("scenario changed", fmt(d.scenario_changed))
    if not d.changes:
        return Group(grid, Text("No change in the deployment."))
    rows = [[c.path, c.kind, c.old, c.new, c.delta] for c in d.changes]
    return Group(
        grid, _rich_table(Table("Changes", ["what", "change", "old", "new", "delta"], rows))
    )
