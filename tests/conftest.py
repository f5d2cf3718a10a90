"""Shared test helpers: run the CLI in process, write small scenarios."""

from __future__ import annotations

import random
import tomllib
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

import cli

ROOT = Path(__file__).resolve().parent.parent
REFERENCE = ROOT.parent / "shared" / "reference"


@dataclass
class CliResult:
    exit_code: int
    stdout: str
    stderr: str


def run_cli(*args: str) -> CliResult:
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


def tiny_proteus(**overrides: Any) -> dict[str, Any]:
    """Two device types, two families of custom variants; capacities from the roofline."""
    document: dict[str, Any] = {
        "kind": "proteus",
        "name": "tiny",
        "solver": {"mip_gap": 1e-9},
        "baselines": False,
        "devices": {
            "gpu": {"count": 2, "catalog_device": "T4"},
            "cpu": {"count": 2, "catalog_device": "CPU16"},
        },
        "families": {
            "vision": {"slo_ms": 60.0, "demand_qps": 300.0},
            "text": {"slo_ms": 40.0, "demand_qps": 150.0},
        },
        "variants": [
            {
                "name": "v_small",
                "family": "vision",
                "normalized_accuracy": 80.0,
                "gflops_per_sample": 2.0,
                "params_millions": 10.0,
                "activation_mb_per_sample": 5.0,
            },
            {
                "name": "v_big",
                "family": "vision",
                "normalized_accuracy": 100.0,
                "gflops_per_sample": 16.0,
                "params_millions": 60.0,
                "activation_mb_per_sample": 20.0,
            },
            {
                "name": "t_small",
                "family": "text",
                "normalized_accuracy": 90.0,
                "gflops_per_sample": 5.0,
                "params_millions": 30.0,
                "activation_mb_per_sample": 2.0,
            },
            {
                "name": "t_big",
                "family": "text",
                "normalized_accuracy": 100.0,
                "gflops_per_sample": 40.0,
                "params_millions": 300.0,
                "activation_mb_per_sample": 8.0,
            },
        ],
    }
    document.update(overrides)
    return document


def random_variants(rng: random.Random, families: Sequence[str], most: int) -> list[dict[str, Any]]:
    """1..``most`` custom variants per family with random (seeded) public facts."""
    variants = []
    for family in families:
        for k in range(rng.randint(1, most)):
            variants.append(
                {
                    "name": f"{family}_{k}",
                    "family": family,
                    "normalized_accuracy": round(rng.uniform(50, 100), 2),
                    "gflops_per_sample": round(rng.uniform(0.5, 30), 2),
                    "params_millions": round(rng.uniform(2, 200), 1),
                    "activation_mb_per_sample": round(rng.uniform(0.5, 30), 1),
                }
            )
    return variants


def write_scenario(path: Path, document: dict[str, Any]) -> Path:
    text = to_toml(document)
    assert tomllib.loads(text) == document, "test TOML writer lost information"
    path.write_text(text)
    return path


@pytest.fixture
def tiny_path(tmp_path: Path) -> Path:
    return write_scenario(tmp_path / "tiny.toml", tiny_proteus())
