"""The ``planner`` command: parses arguments and presents results, nothing else.

stdout carries only the requested output (a table, JSON or CSV), so it can be piped;
diagnostics, warnings and errors go to stderr. Exit codes are listed in README.md and in
:class:`formulations.types.ExitCode`.
"""

from __future__ import annotations

import contextlib
import functools
import json
import os
import signal
import sys
from collections.abc import Callable, Iterator
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, TypeVar

import typer
from rich.console import Console, RenderableType

import planner
from cost_models.units import PERCENT_PER_FRACTION
from formulations.types import ExitCode, InputError, PlannerError, SolveStatus, Table
from planner.diff import diff_files, markdown
from planner.engine import ProgressHook, SolveProgress
from planner.plan import check_output_path, csv_text, planner_version, write_atomic
from planner.report import check_report, diff_report, plan_report, tables_report

if TYPE_CHECKING:
    import pandas as pd

app = typer.Typer(
    add_completion=False,
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    help="Capacity planning for ML systems with MILP: solve scenarios, check stored plans.",
)
REPORT_WIDTH = 100  # columns of a report on a pipe; a terminal's own width otherwise
stdout = Console(soft_wrap=False, width=None if sys.stdout.isatty() else REPORT_WIDTH)
stderr = Console(stderr=True, soft_wrap=True)

F = TypeVar("F", bound=Callable[..., Any])
EXIT_SIGINT = 130  # 128 + SIGINT, as shells report it
EXIT_SIGTERM = 143  # 128 + SIGTERM


class Terminated(BaseException):
    """SIGTERM, raised where the main thread is (a running HiGHS solve is cancelled)."""


def _on_sigterm(signum: int, frame: object) -> None:
    raise Terminated


Wide = Annotated[
    bool,
    typer.Option(
        "--wide", help="Show every column of a table side by side (default: fit the terminal)."
    ),
]


WIDE_COLUMNS = 10_000  # --wide: lines as long as their tables (the terminal may wrap them)


def show(report: Callable[[int | None], RenderableType], wide: bool) -> None:
    """Print ``report(width)``: tables split to fit the terminal (100 columns on a pipe),
    or with ``--wide`` every column side by side, lines as long as they need."""
    if wide:
        Console(soft_wrap=False, width=WIDE_COLUMNS).print(report(None))
    else:
        stdout.print(report(stdout.width))


class Format(StrEnum):
    table = "table"
    json = "json"
    csv = "csv"


def _guarded(command: F) -> F:
    """Turn planner errors into a one-line message and their exit code; never a traceback
    (set PLANNER_DEBUG=1 to see one for unexpected errors)."""

    @functools.wraps(command)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return command(*args, **kwargs)
        except typer.Exit:
            raise
        except KeyboardInterrupt:
            stderr.print("[bold red]interrupted[/] (nothing was written)", highlight=False)
            raise typer.Exit(EXIT_SIGINT) from None
        except Terminated:
            stderr.print("[bold red]terminated[/] (nothing was written)", highlight=False)
            raise typer.Exit(EXIT_SIGTERM) from None
        except PlannerError as exc:
            label = "infeasible" if exc.exit_code == ExitCode.INFEASIBLE else "error"
            stderr.print(f"[bold red]{label}:[/] {exc}", highlight=False, markup=True)
            raise typer.Exit(int(exc.exit_code)) from None
        except Exception as exc:
            if os.environ.get("PLANNER_DEBUG"):
                raise
            stderr.print(
                f"[bold red]internal error:[/] {type(exc).__name__}: {exc} "
                "(set PLANNER_DEBUG=1 for a traceback)",
                highlight=False,
            )
            raise typer.Exit(int(ExitCode.INTERNAL_ERROR)) from None

    return wrapper  # type: ignore[return-value]


STDOUT = Path("-")


def _safe_output_path(path: Path, scenario: Path, force: bool) -> None:
    """Refuse to overwrite the scenario or a file planner did not write, unless --force;
    refuse folders, FIFOs, devices and missing or read-only folders (``-`` is stdout)."""
    if path == STDOUT:
        return
    check_output_path(path)
    if path.resolve() == scenario.resolve():
        raise InputError(str(path), "--output", "a path other than the scenario file")
    if force or not path.exists():
        return
    try:
        previous = json.loads(path.read_text(encoding="utf-8"))
        if isinstance(previous, dict) and "schema_version" in previous:
            return
    except (UnicodeDecodeError, json.JSONDecodeError, OSError):
        pass
    raise InputError(
        str(path),
        "--output",
        "a new file or an earlier plan (use --force to overwrite other files)",
    )


def _version(value: bool) -> None:
    if value:
        sys.stdout.write(f"planner {planner_version()}\n")
        raise typer.Exit(0)


@app.callback()
def _main(
    version: Annotated[
        bool,
        typer.Option("--version", callback=_version, is_eager=True, help="Print the version."),
    ] = False,
) -> None:
    """Capacity planning for ML systems with MILP: solve scenarios, check stored plans."""


def progress_text(state: SolveProgress) -> str:
    """The spinner's line: stage, solver calls, and the running solve's incumbent, bound
    and gap where the backend reports them (HiGHS)."""
    parts = [state.stage]
    if state.solves:
        parts.append(f"solve {state.solves}")
    if state.incumbent is not None:
        parts.append(f"incumbent {state.incumbent:.6g}")
    if state.bound is not None:
        parts.append(f"bound {state.bound:.6g}")
    if state.gap is not None:
        parts.append(f"gap {state.gap:.2%}")
    return " · ".join(parts)


@contextlib.contextmanager
def solve_spinner(console: Console, enabled: bool) -> Iterator[ProgressHook | None]:
    """A spinner with the elapsed time and :func:`progress_text` on ``console`` while
    planner.solve runs (cleared when it ends), or nothing when not ``enabled``."""
    if not enabled:
        yield None
        return
    from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

    spinner = Progress(
        SpinnerColumn(),
        TimeElapsedColumn(),
        TextColumn("{task.description}"),
        console=console,
        transient=True,
    )
    task = spinner.add_task("prepare", total=None)
    with spinner:
        yield lambda state: spinner.update(task, description=progress_text(state))


@app.command()
@_guarded
def solve(
    scenario: Annotated[Path, typer.Argument(help="Scenario file (TOML).")],
    output_format: Annotated[Format, typer.Option("--format", "-f", help="stdout format.")] = (
        Format.table
    ),
    output: Annotated[
        Path | None,
        typer.Option(
            "--output",
            "-o",
            help="Also write the plan here, atomically (.csv: CSV, else JSON); "
            "'-' writes it to stdout instead of the report.",
        ),
    ] = None,
    backend: Annotated[str | None, typer.Option(help="highs, cbc, scip or cpsat.")] = None,
    time_limit_s: Annotated[float | None, typer.Option("--time-limit", help="Seconds.")] = None,
    mip_gap: Annotated[float | None, typer.Option("--mip-gap", help="Relative gap.")] = None,
    threads: Annotated[int | None, typer.Option(help="Solver threads.")] = None,
    strict: Annotated[
        bool, typer.Option(help="Exit 4 when a solver limit leaves a feasible but unproven plan.")
    ] = False,
    no_degrade: Annotated[
        bool,
        typer.Option(
            "--no-degrade", help="Report infeasible instead of lowering the demand headroom."
        ),
    ] = False,
    wide: Wide = False,
    force: Annotated[
        bool, typer.Option(help="Let -o overwrite a file planner did not write.")
    ] = False,
    quiet: Annotated[
        bool,
        typer.Option(
            "--quiet",
            "-q",
            help="No spinner (shown on a terminal's stderr: elapsed time, and with HiGHS the "
            "incumbent and gap).",
        ),
    ] = False,
) -> None:
    """Plan a scenario and print the verified plan."""
    loaded = planner.load_scenario(
        scenario, {"degrade": False} if no_degrade else None, "--no-degrade"
    )
    if output is not None:
        _safe_output_path(output, scenario, force)
    with solve_spinner(stderr, not quiet and sys.stderr.isatty()) as progress:
        plan = planner.solve(
            loaded,
            backend=backend,
            time_limit_s=time_limit_s,
            mip_gap=mip_gap,
            threads=threads,
            progress=progress,
        )
    for warning in plan.warnings:
        stderr.print(f"[yellow]warning:[/] {warning}", highlight=False)
    if output == STDOUT:
        sys.stdout.write(plan.to_csv() if output_format is Format.csv else plan.to_json() + "\n")
    elif output_format is Format.json:
        sys.stdout.write(plan.to_json() + "\n")
    elif output_format is Format.csv:
        sys.stdout.write(plan.to_csv())
    else:
        show(functools.partial(plan_report, plan), wide)
    if output is not None and output != STDOUT:
        write_atomic(output, plan.to_csv() if output.suffix == ".csv" else plan.to_json() + "\n")
        stderr.print(f"plan written to {output}", highlight=False)
    if strict and plan.status is SolveStatus.FEASIBLE:
        raise typer.Exit(int(ExitCode.LIMIT_FEASIBLE))


@app.command()
@_guarded
def check(
    plan_file: Annotated[Path, typer.Argument(help="A plan written by `planner solve -o`.")],
    scenario: Annotated[Path, typer.Option("--scenario", "-s", help="Scenario file (TOML).")],
    max_gap: Annotated[
        float | None,
        typer.Option(
            "--max-gap",
            help="How much worse (relative) the committed plan may be than a fresh optimum "
            "before exit 6 (default 0.01).",
        ),
    ] = None,
    output_format: Annotated[Format, typer.Option("--format", "-f")] = Format.table,
    backend: Annotated[str | None, typer.Option(help="highs, cbc, scip or cpsat.")] = None,
    wide: Wide = False,
) -> None:
    """Re-verify a stored plan and compare it with a fresh optimum (exit 0, 3 or 6)."""
    report = planner.check(plan_file, scenario, max_gap=max_gap, backend=backend)
    if report.scenario_changed:
        stderr.print(
            "[yellow]note:[/] the scenario changed since this plan was made", highlight=False
        )
    payload = report.to_dict()
    if output_format is Format.json:
        sys.stdout.write(json.dumps(payload, indent=2) + "\n")
    elif output_format is Format.csv:
        row = {
            **payload,
            "shortfalls": "; ".join(
                f"{s.what}: {s.required:g} required, {s.available:g} available {s.unit}"
                for s in report.shortfalls
            ),
            "violations": "; ".join(report.violations),
        }
        sys.stdout.write(csv_text([row]))
    else:
        show(functools.partial(check_report, report), wide)
    raise typer.Exit(int(report.exit_code))


class DiffFormat(StrEnum):
    table = "table"
    json = "json"
    markdown = "markdown"


@app.command()
@_guarded
def diff(
    old: Annotated[Path, typer.Argument(help="The earlier plan (JSON from planner solve -o).")],
    new: Annotated[Path, typer.Argument(help="The later plan.")],
    output_format: Annotated[
        DiffFormat, typer.Option("--format", "-f", help="markdown: a pull-request comment.")
    ] = DiffFormat.table,
    wide: Wide = False,
) -> None:
    """What changed between two plans: objective, headline numbers, every deployment value."""
    changes = diff_files(old, new)
    if output_format is DiffFormat.json:
        sys.stdout.write(json.dumps(changes.to_dict(), indent=2) + "\n")
    elif output_format is DiffFormat.markdown:
        sys.stdout.write(markdown(changes))
    else:
        show(functools.partial(diff_report, changes), wide)


@app.command()
@_guarded
def simulate(
    scenario: Annotated[Path, typer.Argument(help="Scenario file (TOML).")],
    plan_file: Annotated[
        Path | None,
        typer.Option(
            "--plan", help="A plan written by `planner solve -o` (default: solve afresh)."
        ),
    ] = None,
    runs: Annotated[int, typer.Option(min=1, help="Random replays.")] = 20,
    seed: Annotated[int, typer.Option(min=0, help="Seed of the first replay.")] = 0,
    trace: Annotated[
        Path | None,
        typer.Option("--trace", help="Arrivals from this file instead of the scenario's."),
    ] = None,
    rate_scale: Annotated[
        float, typer.Option("--rate-scale", min=0, help="Multiply every arrival rate.")
    ] = 1.0,
    duration_s: Annotated[
        float | None,
        typer.Option("--duration-s", min=0, help="Simulated seconds per run."),
    ] = None,
    interruption_scale: Annotated[
        float | None,
        typer.Option(
            "--interruption-scale", min=0, help="cocktail: multiply spot interruption rates."
        ),
    ] = None,
    wide: Wide = False,
    output_format: Annotated[Format, typer.Option("--format", "-f")] = Format.table,
) -> None:
    """Replay a plan and the baselines against seeded random events (cocktail: spot
    interruptions) and report the share of requests that met their targets."""
    overrides = (
        None if interruption_scale is None else {"interruption_rate_scale": interruption_scale}
    )
    loaded = planner.load_scenario(scenario, overrides, "--interruption-scale")
    tables = planner.simulate(
        loaded,
        plan_file,
        runs=runs,
        seed=seed,
        rate_scale=rate_scale,
        duration_s=duration_s,
        trace=trace,
    )
    if output_format is Format.json:
        payload = [
            {"title": t.title, "rows": t.to_frame().to_dict(orient="records")} for t in tables
        ]
        sys.stdout.write(json.dumps(payload, indent=2) + "\n")
    elif output_format is Format.csv:
        # every table: a "# title" line, its CSV, a blank line between tables (docs/replay.md)
        sys.stdout.write(
            "\n".join(f"# {t.title}\n" + t.to_frame().to_csv(index=False) for t in tables)
        )
    else:
        show(functools.partial(tables_report, tables), wide)


def _cell(row: Any, key: str, default: str | None = None) -> str | None:
    """One CSV cell, ``default`` when the column is absent or the cell empty."""
    value = row.get(key, default)
    return default if value is None or value == "" or value != value else str(value)


@app.command()
@_guarded
def estimate(
    model: Annotated[str | None, typer.Option(help="Catalog model, e.g. resnet50.")] = None,
    device: Annotated[str | None, typer.Option(help="Device, e.g. T4 or c5.xlarge.")] = None,
    batch: Annotated[int, typer.Option(min=1, help="Batch size (per GPU).")] = 1,
    precision: Annotated[str, typer.Option(help="fp32, tf32, fp16 (AMP) or int8.")] = "fp32",
    mode: Annotated[str, typer.Option(help="inference or training.")] = "inference",
    runtime: Annotated[str | None, typer.Option(help="pytorch, tensorrt, tensorflow...")] = None,
    gpus: Annotated[int, typer.Option(min=1, help="Data-parallel GPUs (training).")] = 1,
    seq_len: Annotated[int | None, typer.Option("--seq-len", help="BERT tokens.")] = None,
    input_csv: Annotated[
        Path | None, typer.Option("--input", help="CSV of points (model,device,batch,...).")
    ] = None,
    output_format: Annotated[Format, typer.Option("--format", "-f")] = Format.table,
    wide: Wide = False,
) -> None:
    """Estimate latency and throughput with the calibrated performance model."""
    import pandas as pd

    columns = ("latency_ms", "throughput_per_s", "bound", "provenance", "expected_error_pct")
    if input_csv is None:
        if model is None or device is None:
            raise InputError(None, "--model/--device", "both, or --input points.csv")
        rows = pd.DataFrame(
            [dict(model=model, device=device, batch=batch, precision=precision, mode=mode)]
        )
        rows["runtime"], rows["gpus"], rows["seq_len"] = runtime, gpus, seq_len
    else:
        rows = pd.read_csv(input_csv, dtype=str, keep_default_na=False)
    results = []
    for index, row in rows.iterrows():
        cell = functools.partial(_cell, row)

        try:
            result = planner.estimate(
                str(cell("model")),
                str(cell("device")),
                int(str(cell("batch", "1"))),
                str(cell("precision", "fp32")),
                str(cell("mode", "inference")),
                cell("runtime"),
                int(str(cell("gpus", "1"))),
                int(str(cell("seq_len"))) if cell("seq_len") else None,
            )
        except (InputError, ValueError) as exc:
            where = str(input_csv) if input_csv else "arguments"
            raise InputError(where, f"row {int(str(index)) + 1}", str(exc)) from None
        results.append([getattr(result, c) for c in columns])
    out = pd.concat([rows, pd.DataFrame(results, columns=list(columns))], axis=1)
    if output_format is Format.json:
        sys.stdout.write(out.to_json(orient="records", indent=2) + "\n")
    elif output_format is Format.csv:
        sys.stdout.write(out.drop(columns="expected_error_pct").to_csv(index=False))
    else:
        table = Table(
            "Estimates of the calibrated performance model",
            list(out.columns),
            rows_of(out),
            legend=ESTIMATE_LEGEND,
        )
        show(functools.partial(tables_report, [table]), wide)


ESTIMATE_LEGEND = {
    "bound": "what limits the estimate: compute, memory bandwidth or fixed overhead",
    "provenance": "measured (a profiled point), calibrated (fitted to measurements of "
    "this device) or roofline (an uncalibrated estimate)",
    "expected_error_pct": "the model's validation error for this provenance",
}
SWEEP_SHOWN = ("point", "status", "objective", "gap", "wall_s", "exit_code", "error")


@app.command()
@_guarded
def sweep(
    sweep_file: Annotated[Path, typer.Argument(help="Sweep file (TOML): scenario and axes.")],
    output: Annotated[
        Path | None,
        typer.Option(
            "--output",
            "-o",
            help="Parquet dataset folder of the results (default: the sweep file's name "
            "with .parquet); a re-run skips the points already there.",
        ),
    ] = None,
    scheduler: Annotated[
        str | None,
        typer.Option(help="Address of a running Dask scheduler, e.g. tcp://host:8786."),
    ] = None,
    workers: Annotated[
        int | None, typer.Option(help="Local worker processes (default: one per core).")
    ] = None,
    retry_failed: Annotated[
        bool, typer.Option("--retry-failed", help="Solve again the points that failed before.")
    ] = False,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No progress bar.")] = False,
    output_format: Annotated[Format, typer.Option("--format", "-f", help="stdout format.")] = (
        Format.table
    ),
    wide: Wide = False,
) -> None:
    """Solve every point of a sweep (on Dask) into a resumable Parquet store."""
    from planner.sweeps import ResultStore

    store = output if output is not None else sweep_file.with_suffix(".parquet")
    ResultStore(store)  # refuse a bad output path before starting workers
    try:
        rows = planner.sweep(
            sweep_file,
            store,
            scheduler=scheduler,
            workers=workers,
            progress=not quiet,
            retry_failed=retry_failed,
        )
    except KeyboardInterrupt:
        stderr.print(
            f"[bold red]interrupted[/]: finished points are in {store}; re-run to resume",
            highlight=False,
        )
        raise typer.Exit(EXIT_SIGINT) from None
    failed = int((rows["exit_code"] != 0).sum()) if "exit_code" in rows else 0
    stderr.print(f"{len(rows)} points, {failed} failed; results in {store}", highlight=False)
    if output_format is Format.json:
        sys.stdout.write(rows.to_json(orient="records", indent=2) + "\n")
    elif output_format is Format.csv:
        sys.stdout.write(rows.drop(columns="point_key").to_csv(index=False))
    else:
        show(functools.partial(tables_report, [sweep_table(sweep_file, rows)]), wide)


def rows_of(frame: pd.DataFrame) -> list[list[Any]]:
    """A frame's rows as plain lists for a :class:`Table`, missing values as None."""
    return frame.astype(object).where(frame.notna(), None).values.tolist()


def gap_as_pct(frame: pd.DataFrame) -> pd.DataFrame:
    """``frame`` with its relative ``gap`` column shown as ``gap_pct`` (tables show shares
    as percentages; the CSV and JSON keep ``gap``)."""
    if "gap" not in frame:
        return frame
    shown = frame.rename(columns={"gap": "gap_pct"})
    shown["gap_pct"] = frame["gap"] * PERCENT_PER_FRACTION
    return shown


def sweep_table(sweep_file: Path, rows: pd.DataFrame) -> Table:
    """The sweep's points for people: the axes, status, the objective with its unit in the
    header (when every point has the same), the gap as a percentage, time, exit code, and
    the error column only when some point has one."""
    axes = [c for c in rows.columns if c.startswith("axis.")]
    shown = [c for c in ("point", *axes, *SWEEP_SHOWN[1:]) if c in rows.columns]
    if "error" in shown and not rows["error"].fillna("").astype(bool).any():
        shown.remove("error")
    frame = gap_as_pct(rows[shown])
    units = set(rows["objective_unit"].dropna()) if "objective_unit" in rows else set()
    headers = {"objective": f"objective ({units.pop()})"} if len(units) == 1 else {}
    return Table(
        f"Sweep {sweep_file}",
        [headers.get(c, c) for c in frame.columns],
        rows_of(frame),
    )


class FrontBound(StrEnum):
    ceiling = "upper"
    floor = "lower"


@app.command()
@_guarded
def pareto(
    scenario: Annotated[Path, typer.Argument(help="Scenario file (TOML).")],
    x_key: Annotated[
        str,
        typer.Option("--x", help="Scenario key bounding the second metric (jobs[0].deadline_h)."),
    ],
    y: Annotated[
        str,
        typer.Option(
            "--y", help="The scenario's objective: 'objective', its name or a headline key."
        ),
    ] = "objective",
    x_metric: Annotated[
        str | None,
        typer.Option(
            "--x-metric",
            help="The metric --x bounds: a headline key or a key path of the plan JSON "
            "(default: the last part of --x).",
        ),
    ] = None,
    bound: Annotated[
        FrontBound,
        typer.Option(help="upper: --x is a ceiling on the metric (a deadline); lower: a floor."),
    ] = FrontBound.ceiling,
    start: Annotated[
        float | None, typer.Option("--x-start", help="First bound (default: the scenario's).")
    ] = None,
    step: Annotated[
        float | None,
        typer.Option(
            "--x-step",
            min=0,
            help="Tighten this far past each point (default: twice the feasibility tolerance).",
        ),
    ] = None,
    max_solves: Annotated[int, typer.Option("--max-solves", min=1, help="Cap on solves.")] = (200),
    output: Annotated[
        Path | None,
        typer.Option("--output", "-o", help="Also write the front (JSON, every point's plan)."),
    ] = None,
    output_format: Annotated[Format, typer.Option("--format", "-f", help="stdout format.")] = (
        Format.table
    ),
    backend: Annotated[str | None, typer.Option(help="highs, cbc, scip or cpsat.")] = None,
    mip_gap: Annotated[float | None, typer.Option("--mip-gap", help="Relative gap.")] = None,
    force: Annotated[
        bool, typer.Option(help="Let -o overwrite a file planner did not write.")
    ] = False,
    wide: Wide = False,
) -> None:
    """The exact front of the objective against a bounded metric (epsilon-constraint)."""
    if output is not None:
        _safe_output_path(output, scenario, force)
    front = planner.pareto(
        scenario,
        x_key,
        y,
        x_metric=x_metric,
        bound=bound.value,
        start=start,
        step=step,
        max_solves=max_solves,
        backend=backend,
        mip_gap=mip_gap,
    )
    stderr.print(
        f"{len(front.points)} points on the front from {len(front.solves)} solves; "
        f"stopped: {front.stopped}",
        highlight=False,
    )
    frame = front.to_frame()
    if output_format is Format.json:
        sys.stdout.write(json.dumps(front.to_dict(), indent=2) + "\n")
    elif output_format is Format.csv:
        sys.stdout.write(frame.to_csv(index=False))
    else:
        shown = gap_as_pct(frame)
        columns = [f"bound.{front.x_key}", front.x_metric, f"{front.y_name} ({front.y_unit})"]
        columns += list(shown.columns[3:])
        title = f"Pareto front of {front.y_name} against {front.x_metric} ({scenario})"
        show(functools.partial(tables_report, [Table(title, columns, rows_of(shown))]), wide)
    if output is not None and output != STDOUT:
        write_atomic(output, json.dumps(front.to_dict(), indent=2) + "\n")
        stderr.print(f"front written to {output}", highlight=False)


@app.command()
@_guarded
def report(
    source: Annotated[
        Path,
        typer.Argument(help="A plan JSON, a front JSON (planner pareto -o) or sweep results."),
    ],
    output: Annotated[
        Path | None,
        typer.Option("--output", "-o", help="The HTML file to write (default: stdout)."),
    ] = None,
    scenario: Annotated[
        Path | None,
        typer.Option("--scenario", "-s", help="A plan's scenario: adds its tables and plots."),
    ] = None,
) -> None:
    """One self-contained HTML report with the summary, the tables and plots."""
    text = planner.report(source, output, scenario)
    if output is None:
        sys.stdout.write(text)
    else:
        stderr.print(f"report written to {output}", highlight=False)


def main() -> None:
    signal.signal(signal.SIGTERM, _on_sigterm)
    try:
        app()
    except SystemExit as done:
        if done.code in (EXIT_SIGINT, EXIT_SIGTERM):
            # Interrupted: nothing is left to write, and the interpreter's teardown of a
            # large model and the solver libraries takes seconds; exit at once.
            sys.stdout.flush()
            sys.stderr.flush()
            os._exit(int(done.code))
        raise


if __name__ == "__main__":
    main()
