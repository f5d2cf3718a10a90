"""The ``planner`` command: parses arguments and presents results, nothing else.

stdout carries only the requested output (a table, JSON or CSV), so it can be piped;
diagnostics, warnings and errors go to stderr. Exit codes are listed in README.md and in
:class:`formulations.types.ExitCode`.
"""

from __future__ import annotations

import functools
import json
import os
import sys
from collections.abc import Callable
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any, TypeVar

import typer
from rich.console import Console

import planner
from formulations.types import ExitCode, InputError, PlannerError, SolveStatus
from planner.plan import write_atomic
from planner.report import check_report, plan_report, tables_report

app = typer.Typer(
    add_completion=False,
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    help="Capacity planning for ML systems with MILP: solve scenarios, check stored plans.",
)
# Piped output is not wrapped to 80 columns: tables stay one row per line.
stdout = Console(soft_wrap=False, width=None if sys.stdout.isatty() else 200)
stderr = Console(stderr=True, soft_wrap=True)

F = TypeVar("F", bound=Callable[..., Any])


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


def _safe_output_path(path: Path, scenario: Path, force: bool) -> None:
    """Refuse to overwrite the scenario or a file planner did not write, unless --force."""
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
            "--output", "-o", help="Also write the plan here, atomically (.csv: CSV, else JSON)."
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
    force: Annotated[
        bool, typer.Option(help="Let -o overwrite a file planner did not write.")
    ] = False,
) -> None:
    """Plan a scenario and print the verified plan."""
    loaded = planner.load_scenario(
        scenario, {"degrade": False} if no_degrade else None, "--no-degrade"
    )
    if output is not None:
        _safe_output_path(output, scenario, force)
    plan = planner.solve(
        loaded, backend=backend, time_limit_s=time_limit_s, mip_gap=mip_gap, threads=threads
    )
    for warning in plan.warnings:
        stderr.print(f"[yellow]warning:[/] {warning}", highlight=False)
    if output_format is Format.json:
        sys.stdout.write(plan.to_json() + "\n")
    elif output_format is Format.csv:
        sys.stdout.write(plan.to_csv())
    else:
        stdout.print(plan_report(plan))
    if output is not None:
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
            help="Allowed relative shortfall against a fresh optimum "
            "(default: the scenario's mip_gap).",
        ),
    ] = None,
    output_format: Annotated[Format, typer.Option("--format", "-f")] = Format.table,
    backend: Annotated[str | None, typer.Option(help="highs, cbc, scip or cpsat.")] = None,
) -> None:
    """Re-verify a stored plan and compare it with a fresh optimum (exit 0, 3 or 6)."""
    report = planner.check(plan_file, scenario, max_gap=max_gap, backend=backend)
    if report.scenario_changed:
        stderr.print(
            "[yellow]note:[/] the scenario changed since this plan was made", highlight=False
        )
    if output_format is Format.json:
        payload = {
            "plan": report.plan_path,
            "verdict": report.exit_code.name.lower(),
            "feasible": report.feasible,
            "violations": report.violations,
            "scenario_changed": report.scenario_changed,
            "stored_objective": report.stored.value,
            "fresh_objective": report.fresh.value,
            "shortfall": report.shortfall,
            "max_gap": report.max_gap,
        }
        sys.stdout.write(json.dumps(payload, indent=2) + "\n")
    else:
        stdout.print(check_report(report))
    raise typer.Exit(int(report.exit_code))


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
    interruption_scale: Annotated[
        float | None,
        typer.Option(
            "--interruption-scale", min=0, help="cocktail: multiply spot interruption rates."
        ),
    ] = None,
    output_format: Annotated[Format, typer.Option("--format", "-f")] = Format.table,
) -> None:
    """Replay a plan and the baselines against seeded random events (cocktail: spot
    interruptions) and report the share of requests that met their targets."""
    overrides = (
        None if interruption_scale is None else {"interruption_rate_scale": interruption_scale}
    )
    loaded = planner.load_scenario(scenario, overrides, "--interruption-scale")
    tables = planner.simulate(loaded, plan_file, runs=runs, seed=seed)
    if output_format is Format.json:
        payload = [
            {"title": t.title, "rows": t.to_frame().to_dict(orient="records")} for t in tables
        ]
        sys.stdout.write(json.dumps(payload, indent=2) + "\n")
    elif output_format is Format.csv:
        sys.stdout.write(tables[0].to_frame().to_csv(index=False))
    else:
        stdout.print(tables_report(tables))


def main() -> None:
    app()


if __name__ == "__main__":
    main()
