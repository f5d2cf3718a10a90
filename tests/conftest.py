"""Shared test helpers: run the CLI in process, write small scenarios."""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from typer.testing import CliRunner

import cli
import planner

ROOT = Path(__file__).resolve().parent.parent
REFERENCE = ROOT.parent / "shared" / "reference"


@dataclass
class CliResult:
    exit_code: int
    stdout: str
    stderr: str


def run_cli(*args: str | Path) -> CliResult:
    result = CliRunner().invoke(cli.app, [str(a) for a in args])
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise result.exception
    return CliResult(result.exit_code, result.stdout, result.stderr)


def toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'
    if isinstance(value, list):
        return "[" + ", ".join(toml_value(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{k} = {toml_value(v)}" for k, v in value.items()) + "}"
    return repr(value)


def to_toml(document: dict[str, Any], prefix: str = "") -> str:
    """A minimal TOML writer for test scenarios (scalars first, then tables)."""
    lines: list[str] = []
    tables: list[tuple[str, dict[str, Any]]] = []
    arrays: list[tuple[str, list[dict[str, Any]]]] = []
    for key, value in document.items():
        if isinstance(value, dict):
            tables.append((key, value))
        elif isinstance(value, list) and value and all(isinstance(v, dict) for v in value):
            arrays.append((key, value))
        else:
            lines.append(f"{key} = {toml_value(value)}")
    text = "\n".join(lines) + ("\n" if lines else "")
    for key, value in tables:
        name = f"{prefix}{key}"
        text += f"\n[{name}]\n" + to_toml(value, prefix=f"{name}.")
    for key, items in arrays:
        for item in items:
            text += f"\n[[{prefix}{key}]]\n" + to_toml(item, prefix=f"{prefix}{key}.")
    return text


def write_scenario(path: Path, document: dict[str, Any]) -> Path:
    text = to_toml(document)
    assert tomllib.loads(text) == document, "test TOML writer lost information"
    path.write_text(text)
    return path


def commit_plans(folder: Path, scenarios: Path, names: list[str]) -> dict[str, Path]:
    """Each named scenario of ``scenarios`` solved once (no baselines) and written to
    ``folder`` as ``planner solve -o`` writes it: the committed plans of check tests."""
    out = {}
    for name in names:
        path = folder / f"{name}.json"
        path.write_text(planner.solve(scenarios / f"{name}.toml", baselines=False).to_json())
        out[name] = path
    return out
