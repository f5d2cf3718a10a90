"""A plan report a person can read: a summary, the formulation's tables, the baselines."""

from __future__ import annotations

import math
import re
from typing import Any

from rich.console import Group, RenderableType
from rich.table import Table as RichTable
from rich.text import Text

from cost_models.units import PERCENT_PER_FRACTION
from formulations.types import Provenance, RateSource, Table
from planner.diff import PlanDiff
from planner.engine import CheckReport
from planner.plan import Plan

SIGNIFICANT = 4  # digits shown for a non-integer number
# relative gaps below this are shown as 0%: round-off, far below any solver's gap tolerance
# (HiGHS, CBC and SCIP stop at mip_gap >= 1e-9 here; a proven optimum shows 1e-16..1e-13)
ROUND_OFF_GAP = 1e-12
MARK = "▶"
SECONDS_PER_MINUTE = 60
SECONDS_PER_HOUR = 3600
DURATION_HOURS_SHOWN_AS_H = 100  # from this many hours a duration is shown in hours only
TEXT_COLUMN_MIN_WIDTH = 12  # a text column narrower than its longest cell wraps at words


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


def fmt_duration_h(hours: float) -> str:
    """A duration given in hours as a person reads it: ``40 s``, ``12 min 5 s``,
    ``9 h 10 min``, from 100 h ``251.9 h`` (a job of 40 s is not ``0.011 h``)."""
    if not math.isfinite(hours) or hours < 0:
        return fmt(hours)
    seconds = hours * SECONDS_PER_HOUR
    if seconds < SECONDS_PER_MINUTE:
        return f"{fmt(seconds)} s"
    if hours >= DURATION_HOURS_SHOWN_AS_H:
        return f"{fmt(hours)} h"
    whole = round(seconds)
    if whole < SECONDS_PER_HOUR:
        minutes, rest = divmod(whole, SECONDS_PER_MINUTE)
        return f"{minutes} min {rest} s" if rest else f"{minutes} min"
    h, rest = divmod(round(seconds / SECONDS_PER_MINUTE), SECONDS_PER_MINUTE)
    return f"{h} h {rest} min" if rest else f"{h} h"


def fmt_quantity(value: Any, unit: str) -> str:
    """``value`` with its unit: durations in hours through :func:`fmt_duration_h`, others
    as :func:`fmt` and the unit."""
    if unit == "h" and isinstance(value, int | float) and not isinstance(value, bool):
        return fmt_duration_h(float(value))
    return f"{fmt(value)} {unit}".rstrip()


def is_duration_h(column: str) -> bool:
    """A column of durations in hours (``hours``, ``deadline_h``; not a rate such as
    ``price_usd_per_h`` or ``rate_per_vm_h``)."""
    return column == "hours" or (column.endswith("_h") and "per_" not in column)


def header(column: str) -> str:
    """A column name as a table header: the currency in capitals (``cost_usd`` ->
    ``cost_USD``); a duration column without its ``_h`` (each cell carries its unit)."""
    if is_duration_h(column):
        return "duration" if column == "hours" else column.removesuffix("_h")
    return re.sub(r"(?<![A-Za-z])usd(?![A-Za-z])", "USD", column)


def cells_of(table: Table) -> list[list[str]]:
    """Every cell as shown: :func:`fmt`, durations in hours through :func:`fmt_duration_h`."""
    durations = [is_duration_h(c) for c in table.columns]
    return [
        [
            fmt_duration_h(float(v))
            if duration and isinstance(v, int | float) and not isinstance(v, bool)
            else fmt(v)
            for v, duration in zip(row, durations, strict=True)
        ]
        for row in table.rows
    ]


def _widths(table: Table, cells: list[list[str]]) -> list[int]:
    return [
        max([len(header(column)), *(len(row[c]) for row in cells)]) + 3  # padding and border
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


def legend(table: Table, mark: str = MARK) -> list[str]:
    """The lines under a table: what the marker (``mark``) marks, then the column notes."""
    lines = [f"{mark} {table.marker}"] if table.marked_row is not None else []
    lines += [f"{header(column)}: {text}" for column, text in table.legend.items()]
    return lines


def _rich_tables(table: Table, width: int | None = None) -> list[RenderableType]:
    """The table as its title on its own line and one or more rich tables that fit
    ``width`` (see :func:`column_groups`), then its legend. Numbers never wrap; text cells
    wrap at words."""
    cells = cells_of(table)
    groups = column_groups(table, cells, width)
    numeric = [
        any(isinstance(row[c], int | float) for row in table.rows)
        for c in range(len(table.columns))
    ]
    out: list[RenderableType] = []
    for number, group in enumerate(groups, 1):
        part = f" ({number}/{len(groups)})" if len(groups) > 1 else ""
        out.append(Text(table.title + part, style="italic"))
        rich = RichTable(header_style="bold")
        if table.marked_row is not None:
            rich.add_column("", no_wrap=True)
        for c in group:
            name = header(table.columns[c])
            longest = max([len(name), *(len(row[c]) for row in cells)])
            rich.add_column(
                name,
                justify="right" if numeric[c] else "left",
                no_wrap=numeric[c],
                overflow="fold",
                min_width=longest
                if numeric[c]
                else min(longest, max(len(name), TEXT_COLUMN_MIN_WIDTH)),
            )
        for i, row in enumerate(cells):
            picked = [row[c] for c in group]
            if table.marked_row is not None:
                marked = i == table.marked_row
                rich.add_row(
                    MARK if marked else "", *picked, style="bold green" if marked else None
                )
            else:
                rich.add_row(*picked)
        out.append(rich)
    out.extend(Text(line, style="dim") for line in legend(table))
    return out


def _rich_table(table: Table, width: int | None = None) -> RenderableType:
    return Group(*_rich_tables(table, width))


BASELINE_LEGEND = {
    "status": "feasible: passes the verifier; infeasible: a verifier violation; "
    "no_plan: the baseline found no deployment",
    "note": "why a baseline has no plan, its first verifier violations, or why its objective "
    "is not set against the plan's (no plan_advantage then)",
}


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
        marker="this plan",
        legend=BASELINE_LEGEND,
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


def fmt_gap(gap: float) -> str:
    """A relative optimality gap as a percentage: ``0.4238%``, ``0%`` for round-off (a
    proven optimum's 1.7e-14 is not a gap), ``unknown`` when there is no finite bound."""
    if not math.isfinite(gap):
        return "unknown"
    if abs(gap) < ROUND_OFF_GAP:
        return "0%"
    return f"{fmt(gap * PERCENT_PER_FRACTION)}%"


def summary(plan: Plan) -> RichTable:
    grid = RichTable.grid(padding=(0, 2))
    grid.add_column(style="bold")
    grid.add_column()
    gap = plan.gap
    gap_text = fmt_gap(gap)
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
        objective.name,
        f"{fmt_quantity(objective.value, objective.unit)} ({objective.sense.value})",
    )
    bound = "-" if plan.bound is None else fmt_quantity(plan.bound, objective.unit)
    grid.add_row("bound / gap", f"{bound} / {gap_text}")
    limit = "none" if plan.solver.time_limit_s is None else f"{fmt(plan.solver.time_limit_s)} s"
    grid.add_row(
        "solver",
        f"{plan.solver.backend} (mip_gap {plan.solver.mip_gap}, "
        f"time limit {limit}, "
        f"threads {plan.solver.threads}, seed {plan.solver.seed})",
    )
    t = plan.timing
    grid.add_row(
        "time (s)",
        f"prepare {t.prepare_s:.3f}, build {t.build_s:.3f}, solve {t.solve_s:.3f}, "
        f"verify {t.verify_s:.3f}, baselines {t.baselines_s:.3f}, wall {t.wall_s:.3f}",
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


def check_report(report: CheckReport, width: int | None = None) -> RenderableType:
    """Verdict first, then what the committed capacity cannot serve, then the comparison
    (tables split to ``width`` as in :func:`plan_report`)."""
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
                ),
                width,
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
    grid.add_row(f"committed {report.committed.name}", fmt_quantity(report.committed.value, unit))
    if report.fresh is None:
        grid.add_row("fresh optimum", f"none: {report.fresh_reason}")
    else:
        grid.add_row("fresh optimum", fmt_quantity(report.fresh.value, unit))
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


def diff_report(d: PlanDiff, width: int | None = None) -> RenderableType:
    grid = RichTable.grid(padding=(0, 2))
    grid.add_column(style="bold")
    grid.add_column()
    change = d.objective_change_pct
    grid.add_row("plans", f"{d.old_path} -> {d.new_path} ({d.kind})")
    grid.add_row(
        d.objective_name,
        f"{fmt_quantity(d.old_objective, d.objective_unit)} -> "
        f"{fmt_quantity(d.new_objective, d.objective_unit)}"
        + (f" ({change:+.2f}%)" if change is not None else ""),
    )
    grid.add_row("scenario changed", fmt(d.scenario_changed))
    if not d.changes:
        return Group(grid, Text("No change in the deployment."))
    rows = [[c.path, c.kind, c.old, c.new, c.delta] for c in d.changes]
    return Group(
        grid,
        _rich_table(Table("Changes", ["what", "change", "old", "new", "delta"], rows), width),
    )
