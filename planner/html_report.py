"""A self-contained HTML report (one file, no network, no JavaScript) of a plan, a Pareto
front or a sweep's results, with plots drawn by matplotlib as inline SVG.

Why matplotlib to inline SVG rather than plotly: a self-contained plotly page carries
plotly.js (4.8 MB) and needs JavaScript to draw; matplotlib's SVG is a few tens of KB per
plot and draws without scripts (measured in docs/sweeps.md).

Sources: a plan JSON (``planner solve -o``; with ``scenario`` the formulation's tables and
per-kind plots are added: DDL stall breakdown, PIFS placement heatmap, PPipe stage
diagrams, utilisation per device type), a front JSON (``planner pareto -o``) or a sweep's
Parquet results (``planner sweep -o``).
"""

from __future__ import annotations

import html
import io
import json
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from formulations.types import InputError, Table
from planner.engine import load_plan, prepared_view, read_plan
from planner.pareto import FRONT_SCHEMA_VERSION
from planner.plan import planner_version, write_atomic
from planner.report import BASELINE_LEGEND, cells_of, fmt, header, legend
from planner.scenario import load_scenario
from planner.sweeps import ResultStore

if TYPE_CHECKING:
    import pandas as pd
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

FIGURE_IN = (6.4, 3.6)  # plot size, inches (matplotlib's default width)
MAX_ROWS = 2_000  # rows of a table shown in the report
MAX_LINES = 8  # a second sweep axis with at most this many values is drawn as lines
STALL_COLUMNS = ("compute_pct", "fetch_pct", "prep_pct", "interconnect_pct", "network_pct")
UTILISATION_COLUMNS = ("utilisation_pct", "reserved_pct", "capacity_used_pct")

CSS = """
body { font-family: system-ui, sans-serif; margin: 2em; color: #222; max-width: 72em; }
h1 { font-size: 1.5em; } h2 { font-size: 1.2em; margin-top: 2em; }
table { border-collapse: collapse; margin: 0.5em 0; font-size: 0.85em; }
th, td { border: 1px solid #ccc; padding: 0.2em 0.5em; text-align: right; }
th { background: #f3f3f3; } td.text { text-align: left; }
tr.marked td { font-weight: bold; background: #eef8ee; }
figure.plot { margin: 1em 0; } figure.plot svg { width: 40em; height: auto; }
figcaption, p.legend { font-size: 0.85em; color: #555; }
.scroll { max-height: 30em; overflow: auto; }
"""


class Page:
    """Sections of the report, in order."""

    def __init__(self, title: str) -> None:
        self.title = title
        self.parts: list[str] = []
        self.plots = 0

    def heading(self, text: str) -> None:
        self.parts.append(f"<h2>{html.escape(text)}</h2>")

    def text(self, text: str) -> None:
        self.parts.append(f"<p>{html.escape(text)}</p>")

    def grid(self, pairs: Sequence[tuple[str, Any]]) -> None:
        rows = "".join(
            f'<tr><th>{html.escape(k)}</th><td class="text">{html.escape(fmt(v))}</td></tr>'
            for k, v in pairs
        )
        self.parts.append(f"<table>{rows}</table>")

    def table(self, table: Table) -> None:
        head = "".join(f"<th>{html.escape(header(c))}</th>" for c in table.columns)
        body = []
        shown = cells_of(table)
        for i, row in enumerate(table.rows[:MAX_ROWS]):
            cells = "".join(
                f"<td{'' if isinstance(v, int | float) else ' class=text'}>{html.escape(text)}</td>"
                for v, text in zip(row, shown[i], strict=True)
            )
            marked = ' class="marked"' if i == table.marked_row else ""
            body.append(f"<tr{marked}>{cells}</tr>")
        more = (
            f"<p>({len(table.rows) - MAX_ROWS:,} more rows not shown)</p>"
            if len(table.rows) > MAX_ROWS
            else ""
        )
        notes = "".join(
            f"<p class=legend>{html.escape(line)}</p>" for line in legend(table, "highlighted row:")
        )
        self.parts.append(
            f"<h3>{html.escape(table.title)}</h3><div class=scroll><table><tr>{head}</tr>"
            + "".join(body)
            + f"</table></div>{more}{notes}"
        )

    def plot(self, caption: str, draw: Callable[[Axes], None], height_in: float = 0.0) -> None:
        """One matplotlib figure as inline SVG."""
        import matplotlib.pyplot as plt

        size = (FIGURE_IN[0], height_in or FIGURE_IN[1])
        figure, axes = plt.subplots(figsize=size, layout="constrained")
        try:
            draw(axes)
            svg = _svg(figure)
        finally:
            plt.close(figure)
        self.plots += 1
        self.parts.append(
            f'<figure class="plot" id="plot-{self.plots}">{svg}'
            f"<figcaption>{html.escape(caption)}</figcaption></figure>"
        )

    def html(self) -> str:
        return (
            "<!DOCTYPE html>\n<html lang=en><head><meta charset=utf-8>"
            f"<title>{html.escape(self.title)}</title><style>{CSS}</style></head><body>"
            f"<h1>{html.escape(self.title)}</h1>"
            + "\n".join(self.parts)
            + f"<p><small>planner {html.escape(planner_version())}</small></p></body></html>\n"
        )


def _svg(figure: Figure) -> str:
    import matplotlib

    buffer = io.StringIO()
    with matplotlib.rc_context({"svg.fonttype": "none", "svg.hashsalt": "planner"}):
        figure.savefig(buffer, format="svg", metadata={"Date": None})
    text = buffer.getvalue()
    return text[text.index("<svg") :]


def _use_svg_backend() -> None:
    import matplotlib

    matplotlib.use("svg")


# ---------------------------------------------------------------------- plans


def _plan_summary(page: Page, data: dict[str, Any]) -> None:
    timing = data.get("timing", {})
    size = data.get("model_size", {})
    page.grid(
        [
            ("scenario", f"{data['scenario']['name']} ({data['kind']})"),
            ("status", f"{data.get('status')} (stopped: {data.get('termination')})"),
            (
                str(data.get("objective_name", "objective")),
                f"{fmt(data['objective'])} {data.get('objective_unit', '')} "
                f"({data['objective_sense']})",
            ),
            ("bound / gap", f"{fmt(data.get('bound'))} / {fmt(data.get('gap'))}"),
            ("solver", json.dumps(data.get("solver", {}))),
            ("wall time", f"{fmt(timing.get('wall_s'))} s"),
            (
                "model",
                f"{fmt(size.get('variables'))} variables, "
                f"{fmt(size.get('constraints'))} constraints",
            ),
            *((f"headline: {k}", v) for k, v in data.get("headline", {}).items()),
        ]
    )


def _baselines(page: Page, data: dict[str, Any]) -> None:
    baselines = data.get("baselines", {})
    if not baselines:
        return
    rows = [["planner (this plan)", "feasible", data["objective"], 1.0, ""]]
    rows += [
        [
            name,
            b["status"],
            b["objective"],
            b["plan_advantage"],
            b["reason"] or "; ".join(b["violations"][:2]),
        ]
        for name, b in baselines.items()
    ]
    unit = data.get("objective_unit", "")
    page.table(
        Table(
            "Baselines on the same inputs (plan_advantage > 1: the plan is better)",
            ["name", "status", f"objective ({unit})", "plan_advantage", "note"],
            rows,
            marked_row=0,
            marker="this plan",
            legend=BASELINE_LEGEND,
        )
    )
    scored = [r for r in rows if r[2] is not None]

    def draw(ax: Axes) -> None:
        names = [str(r[0]) for r in scored]
        colours = [
            "#2a7" if i == 0 else "#89a" if r[1] == "feasible" else "#d88"
            for i, r in enumerate(scored)
        ]
        ax.barh(names, [float(r[2]) for r in scored], color=colours)
        ax.invert_yaxis()
        ax.set_xlabel(f"{data.get('objective_name', 'objective')} ({unit})")

    page.plot(
        "The plan (green) and the baselines (grey; red: infeasible) by the same verifier", draw
    )


def _column(table: Table, name: str) -> list[Any]:
    index = table.columns.index(name)
    return [row[index] for row in table.rows]


def _stall_bars(page: Page, table: Table) -> None:
    present = [c for c in STALL_COLUMNS if c in table.columns]
    labels = [str(v) for v in _column(table, table.columns[0])]

    def draw(ax: Axes) -> None:
        left = [0.0] * len(labels)
        for name in present:
            values = [float(v or 0) for v in _column(table, name)]
            ax.barh(labels, values, left=left, label=name.removesuffix("_pct"))
            left = [a + b for a, b in zip(left, values, strict=True)]
        ax.set_xlabel("share of an iteration (%)")
        ax.legend(loc="upper left", bbox_to_anchor=(1.0, 1.0), fontsize="small")

    page.plot(f"Stall breakdown: {table.title}", draw, 1.2 + 0.4 * len(labels))


def _heatmap(page: Page, table: Table, columns: list[str]) -> None:
    labels = [str(v) for v in _column(table, table.columns[0])]
    values = [[float(v or 0) for v in _column(table, c)] for c in columns]

    def draw(ax: Axes) -> None:
        import numpy as np

        grid = np.array(values).T
        image = ax.imshow(grid, aspect="auto", cmap="viridis", vmin=0)
        ax.set_xticks(range(len(columns)), columns, rotation=20)
        ax.set_yticks(range(len(labels)), labels)
        for (r, c), v in np.ndenumerate(grid):
            ax.text(c, r, f"{v:.2g}", ha="center", va="center", color="w", fontsize="small")
        ax.figure.colorbar(image, ax=ax)

    page.plot(f"Placement heatmap: {table.title}", draw, 1.5 + 0.3 * len(labels))


def _stage_diagram(page: Page, table: Table) -> None:
    rows = [dict(zip(table.columns, r, strict=True)) for r in table.rows]
    pipelines = list(dict.fromkeys((r["model"], r["pipeline"]) for r in rows))

    def draw(ax: Axes) -> None:
        for y, (model, pipeline) in enumerate(pipelines):
            left = 0.0
            for r in (r for r in rows if (r["model"], r["pipeline"]) == (model, pipeline)):
                width = float(r["stage_latency_us"])
                ax.barh(y, width, left=left, edgecolor="k", color=f"C{int(r['stage']) % 10}")
                ax.text(
                    left + width / 2,
                    y,
                    f"{r['gpu']} b{r['batch']}",
                    ha="center",
                    va="center",
                    fontsize="x-small",
                )
                left += width
        ax.set_yticks(range(len(pipelines)), [f"{m} #{p}" for m, p in pipelines])
        ax.invert_yaxis()
        ax.set_xlabel("stage latency, one after another (us)")

    page.plot(f"Pipelines as stage diagrams: {table.title}", draw, 1.2 + 0.4 * len(pipelines))


def _utilisation(page: Page, table: Table, column: str) -> None:
    labels = [str(v) for v in _column(table, table.columns[0])]
    values = [float(v or 0) for v in _column(table, column)]

    def draw(ax: Axes) -> None:
        ax.bar(labels, values, color="#47a")
        ax.set_ylabel(column)
        ax.set_xlabel(table.columns[0])

    page.plot(f"{column} per {table.columns[0]}: {table.title}", draw)


def _table_plots(page: Page, kind: str, tables: list[Table]) -> None:
    """The plots people would rather look at than read, chosen by the tables' columns."""
    for table in tables:
        if not table.rows:
            continue
        if (
            kind == "ddl"
            and table.title.startswith("Recommended")
            and "compute_pct" in table.columns
        ):
            _stall_bars(page, table)
        if kind == "pifs" and table.title.startswith("Placement"):
            _heatmap(
                page,
                table,
                [
                    c
                    for c in ("capacity_used_pct", "bandwidth_utilisation_pct")
                    if c in table.columns
                ],
            )
        if kind == "ppipe" and "stage_latency_us" in table.columns:
            _stage_diagram(page, table)
        if kind != "pifs":
            for column in UTILISATION_COLUMNS:
                if column in table.columns:
                    _utilisation(page, table, column)


def plan_page(path: Path, scenario: str | Path | None) -> Page:
    data = read_plan(path)
    page = Page(f"Plan: {data['scenario']['name']} ({data['kind']})")
    _plan_summary(page, data)
    for warning in data.get("warnings", []):
        page.text(f"warning: {warning}")
    if scenario is not None:
        loaded = load_scenario(scenario)
        _, deployment = load_plan(path, loaded)
        view = prepared_view(loaded)
        tables = loaded.formulation.tables(view, deployment)
        _table_plots(page, data["kind"], tables)
        page.heading("Tables")
        for table in tables:
            page.table(table)
    else:
        page.text("(give the scenario to add the formulation's tables and plots)")
    page.heading("Baselines")
    _baselines(page, data)
    return page


# ---------------------------------------------------------------------- fronts


def front_page(path: Path, data: dict[str, Any]) -> Page:
    points = data.get("points")
    if not isinstance(points, list) or not points:
        raise InputError(str(path), "points", "a front with at least one point")
    page = Page(f"Pareto front: {data['y']} against {data['x_metric']} ({data['scenario']})")
    page.grid(
        [
            ("bounded key", f"{data['x_key']} ({data['bound']} bound on {data['x_metric']})"),
            ("points / solves", f"{len(points)} / {data['solves']}"),
            ("stopped", data.get("stopped", "")),
        ]
    )
    xs = [float(p["x"]) for p in points]
    ys = [float(p["y"]) for p in points]

    def draw(ax: Axes) -> None:
        ax.step(xs, ys, where="post" if data["bound"] == "lower" else "pre", color="#999", lw=1)
        ax.plot(xs, ys, "o", color="#c33")
        ax.set_xlabel(data["x_metric"])
        ax.set_ylabel(f"{data['y']} ({data['y_unit']})")

    page.plot("Pareto front (every point a verified plan)", draw)
    columns = [c for c in points[0] if c != "plan"]
    page.table(Table("Front points", columns, [[p.get(c) for c in columns] for p in points]))
    return page


# ---------------------------------------------------------------------- sweeps


def _numeric(frame: pd.DataFrame, column: str) -> bool:
    import pandas as pd

    return bool(
        pd.api.types.is_numeric_dtype(frame[column])
        and not pd.api.types.is_bool_dtype(frame[column])
    )


def results_page(path: Path, rows: pd.DataFrame) -> Page:
    page = Page(f"Sweep results: {path.name}")
    if rows.empty:
        raise InputError(str(path), "(file)", "a sweep result store with at least one row")
    ok = rows[rows["exit_code"] == 0]
    axes = [c for c in rows.columns if c.startswith("axis.")]
    name = str(ok["objective_name"].iloc[0]) if len(ok) else "objective"
    unit = str(ok["objective_unit"].iloc[0]) if len(ok) else ""
    page.grid(
        [
            ("points", len(rows)),
            ("solved / failed", f"{len(ok)} / {len(rows) - len(ok)}"),
            ("kinds", ", ".join(sorted(set(rows["kind"].dropna())))),
            ("axes", ", ".join(a.removeprefix("axis.") for a in axes)),
            (
                "median solve wall time",
                f"{fmt(float(ok['wall_s'].median()))} s" if len(ok) else "-",
            ),
        ]
    )
    for axis in (a for a in axes if _numeric(rows, a)):
        others = [a for a in axes if a != axis]
        group = others[0] if len(others) == 1 and rows[others[0]].nunique() <= MAX_LINES else None
        _objective_plot(page, rows, axis, group, f"{name} ({unit})")
    baselines = [c for c in rows.columns if c.startswith("baseline.") and c.endswith(".objective")]
    if len(axes) == 1 and baselines and _numeric(rows, axes[0]):
        _baseline_plot(page, ok, axes[0], baselines, f"{name} ({unit})")
    shown = [
        c
        for c in ("point", *axes, "status", "objective", "gap", "wall_s", "exit_code", "error")
        if c in rows
    ]
    headline = [c for c in rows.columns if c.startswith("headline.")]
    frame = (
        rows.sort_values("point")[shown + headline] if "point" in rows else rows[shown + headline]
    )
    values = frame.astype(object).where(frame.notna(), None).values.tolist()
    page.heading("Points")
    page.table(Table("Every point", [c.removeprefix("axis.") for c in shown + headline], values))
    return page


def _objective_plot(
    page: Page, rows: pd.DataFrame, axis: str, group: str | None, label: str
) -> None:
    ok = rows[rows["exit_code"] == 0]
    failed = rows[rows["exit_code"] != 0]

    def draw(ax: Axes) -> None:
        if group is None:
            ordered = ok.sort_values(axis)
            ax.plot(ordered[axis], ordered["objective"], "o-", ms=3, lw=1)
        else:
            for value, part in ok.groupby(group):
                ordered = part.sort_values(axis)
                ax.plot(
                    ordered[axis],
                    ordered["objective"],
                    "o-",
                    ms=3,
                    lw=1,
                    label=f"{group.removeprefix('axis.')} = {value}",
                )
            ax.legend(fontsize="small")
        if len(failed):
            bottom = float(ok["objective"].min()) if len(ok) else 0.0
            ax.plot(failed[axis], [bottom] * len(failed), "x", color="#c33", label="failed")
        ax.set_xlabel(axis.removeprefix("axis."))
        ax.set_ylabel(label)

    caption = f"{label} against {axis.removeprefix('axis.')}" + (
        " (x: failed points)" if len(failed) else ""
    )
    page.plot(caption, draw)


def _baseline_plot(
    page: Page, ok: pd.DataFrame, axis: str, baselines: list[str], label: str
) -> None:
    ordered = ok.sort_values(axis)

    def draw(ax: Axes) -> None:
        ax.plot(ordered[axis], ordered["objective"], "o-", ms=3, lw=2, label="planner")
        for column in baselines:
            values = ordered[column].astype(float)
            if values.notna().any():
                ax.plot(ordered[axis], values, ".--", lw=1, label=column.split(".")[1])
        ax.set_xlabel(axis.removeprefix("axis."))
        ax.set_ylabel(label)
        ax.legend(fontsize="small")

    page.plot(f"The plan and the baselines against {axis.removeprefix('axis.')}", draw)


# ---------------------------------------------------------------------- entry


def report(
    source: str | Path, output: str | Path | None = None, scenario: str | Path | None = None
) -> str:
    """The HTML report of ``source`` (a plan JSON, a front JSON or a sweep's Parquet
    results), written atomically to ``output`` when given; returns the HTML."""
    _use_svg_backend()
    path = Path(source)
    if path.is_dir() or path.suffix == ".parquet":
        rows = ResultStore(path).read() if path.is_dir() else _read_parquet(path)
        page = results_page(path, rows)
    else:
        data = _read_json(path)
        if data.get("pareto_schema_version") == FRONT_SCHEMA_VERSION:
            page = front_page(path, data)
        else:
            page = plan_page(path, scenario)
    text = page.html()
    if output is not None:
        write_atomic(output, text)
    return text


def _read_parquet(path: Path) -> pd.DataFrame:
    import pandas as pd

    if not path.is_file():
        raise InputError(str(path), "(file)", "an existing Parquet file or dataset folder")
    try:
        return pd.read_parquet(path)
    except Exception as exc:  # pyarrow raises several types for damaged files
        raise InputError(str(path), "(file)", f"a Parquet file ({exc})") from None


def _read_json(path: Path) -> dict[str, Any]:
    if not path.is_file():
        raise InputError(str(path), "(file)", "a plan or front JSON, or sweep results (.parquet)")
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise InputError(str(path), "(syntax)", f"valid JSON ({exc})") from None
    if not isinstance(data, dict):
        raise InputError(str(path), "(top level)", "a JSON object")
    return data


__all__ = ["report"]
