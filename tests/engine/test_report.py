"""The report for people: one number format, tables that fit the terminal, a legend."""

from __future__ import annotations

import pytest
from rich.console import Console

from formulations.types import Table
from planner.report import (
    MARK,
    _rich_table,
    cells_of,
    column_groups,
    fmt,
    fmt_duration_h,
    fmt_gap,
    fmt_quantity,
    header,
)


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (2500.0, "2,500"),
        (900, "900"),
        (900.0, "900"),
        (5_659_000.0, "5,659,000"),
        (768_561.0, "768,561"),
        (0.97794, "0.9779"),
        (12.3456, "12.35"),
        (0.00012346, "0.0001235"),
        (1.5e-7, "1.500e-07"),
        (0.0, "0"),
        (None, "-"),
        (True, "yes"),
    ],
)
def test_one_number_format(value: object, text: str) -> None:
    assert fmt(value) == text


def wide_table(marked: int | None = None) -> Table:
    columns = ["device_type"] + [f"a_rather_long_column_{i}" for i in range(8)]
    rows = [[f"T{r}"] + [1234.5 * (r + c) for c in range(8)] for r in range(3)]
    return Table("Wide", columns, rows, marked_row=marked)


def test_a_wide_table_is_split_into_groups_that_fit_and_repeat_the_key_column() -> None:
    table = wide_table(marked=1)
    cells = [[fmt(v) for v in row] for row in table.rows]
    groups = column_groups(table, cells, 100)
    assert len(groups) > 1 and all(group[0] == 0 for group in groups)
    assert sorted({c for g in groups for c in g}) == list(range(len(table.columns)))
    console = Console(width=100, record=True)
    console.print(_rich_table(table, 100))
    text = console.export_text()
    assert max(len(line) for line in text.splitlines()) <= 100
    assert f"{MARK} chosen" in text.splitlines()
    assert column_groups(table, cells, None) == [list(range(len(table.columns)))]


@pytest.mark.parametrize(
    ("hours", "text"),
    [
        (40 / 3600, "40 s"),
        (0.011, "39.6 s"),
        (0.8171, "49 min 2 s"),
        (0.5, "30 min"),
        (9.171, "9 h 10 min"),
        (2.0, "2 h"),
        (251.9, "251.9 h"),
        (0.0, "0 s"),
    ],
)
def test_durations_in_hours_read_as_h_min_s(hours: float, text: str) -> None:
    assert fmt_duration_h(hours) == text


def test_quantities_and_headers_carry_their_units() -> None:
    assert fmt_quantity(0.02312, "h") == "1 min 23 s"
    assert fmt_quantity(81.3, "USD") == "81.3 USD"
    assert header("cost_usd") == "cost_USD" and header("price_usd_per_h") == "price_USD_per_h"
    assert header("hours") == "duration" and header("deadline_h") == "deadline"
    assert header("cost_usd_per_h") == "cost_USD_per_h"  # a rate, not a duration
    assert header("rate_per_vm_h") == "rate_per_vm_h"
    table = Table("Jobs", ["job", "hours", "cost_usd"], [["a", 40 / 3600, 1.5]])
    assert cells_of(table) == [["a", "40 s", "1.5"]]


def test_the_legend_names_the_marker_and_explains_columns() -> None:
    table = wide_table(marked=0)
    table.marker = "the bottleneck"
    table.legend = {"a_rather_long_column_0": "what it means"}
    console = Console(width=100, record=True)
    console.print(_rich_table(table, 100))
    lines = console.export_text().splitlines()
    assert f"{MARK} the bottleneck" in lines
    assert "a_rather_long_column_0: what it means" in [line.rstrip() for line in lines]
    assert sum(line.startswith("Wide (") for line in lines) == len(
        column_groups(table, cells_of(table), 100)
    )  # each part's title on its own line


def test_numbers_never_wrap_when_a_key_column_is_long() -> None:
    # one group cannot fit: the text column wraps, the number stays whole
    table = Table("Long", ["name", "value"], [["x" * 150, 123456789.0]])
    console = Console(width=100, record=True)
    console.print(_rich_table(table, 100))
    text = console.export_text()
    assert max(len(line) for line in text.splitlines()) <= 100
    assert "123,456,789" in text


@pytest.mark.parametrize(
    ("gap", "text"),
    [
        (0.004238, "0.4238%"),
        (1.743e-16, "0%"),  # a proven optimum's round-off, not a gap
        (2e-9, "2.000e-07%"),  # a real (tiny) gap stays visible
        (0.0, "0%"),
        (float("inf"), "unknown"),
    ],
)
def test_the_gap_is_a_percentage_with_round_off_shown_as_zero(gap: float, text: str) -> None:
    assert fmt_gap(gap) == text
