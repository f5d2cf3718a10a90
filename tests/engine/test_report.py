"""The report for people: one number format, tables that fit the terminal, a legend."""

from __future__ import annotations

import pytest
from rich.console import Console

from formulations.types import Table
from planner.report import LEGEND, _rich_table, column_groups, fmt


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
    assert LEGEND in text
    assert column_groups(table, cells, None) == [list(range(len(table.columns)))]
