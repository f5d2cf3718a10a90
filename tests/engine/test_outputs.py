"""Where plans are written: atomically, with the user's umask, never onto odd paths."""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path

import pytest

from planner import registry
from tests.conftest import run_cli, to_toml

TOY = {
    "kind": "toy",
    "capacity_kg": 12.0,
    "items": [
        {"name": "a", "value_usd": 10.0, "weight_kg": 5.0, "max_count": 2},
        {"name": "b", "value_usd": 7.0, "weight_kg": 3.0, "max_count": 3},
    ],
}


@pytest.fixture()
def scenario(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setitem(registry.KINDS, "toy", "tests.contract.toy")
    path = tmp_path / "toy.toml"
    path.write_text(to_toml(TOY))
    return path


def test_dash_writes_the_plan_to_stdout(scenario: Path) -> None:
    result = run_cli("solve", scenario, "-o", "-")
    assert result.exit_code == 0
    assert json.loads(result.stdout)["schema_version"] == 2
    assert not (Path.cwd() / "-").exists()


def test_missing_folder_is_refused_not_created(scenario: Path, tmp_path: Path) -> None:
    target = tmp_path / "nowhere" / "plan.json"
    result = run_cli("solve", scenario, "-o", target)
    assert result.exit_code == 2
    assert "--output" in result.stderr and "missing" in result.stderr
    assert not target.parent.exists()


def test_folder_and_fifo_targets_are_refused(scenario: Path, tmp_path: Path) -> None:
    folder = tmp_path / "dir"
    folder.mkdir()
    assert run_cli("solve", scenario, "-o", folder, "--force").exit_code == 2
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    result = run_cli("solve", scenario, "-o", fifo)
    assert result.exit_code == 2 and "FIFO" in result.stderr


def test_parent_that_is_a_file_is_refused(scenario: Path, tmp_path: Path) -> None:
    result = run_cli("solve", scenario, "-o", scenario / "plan.json")
    assert result.exit_code == 2 and "a file, not a folder" in result.stderr


def test_new_files_follow_the_umask(scenario: Path, tmp_path: Path) -> None:
    old = os.umask(0o027)
    try:
        target = tmp_path / "plan.json"
        assert run_cli("solve", scenario, "-o", target).exit_code == 0
    finally:
        os.umask(old)
    assert stat.S_IMODE(target.stat().st_mode) == 0o640


def test_check_csv_is_one_row(scenario: Path, tmp_path: Path) -> None:
    target = tmp_path / "plan.json"
    assert run_cli("solve", scenario, "-o", target).exit_code == 0
    result = run_cli("check", target, "--scenario", scenario, "--format", "csv")
    assert result.exit_code == 0
    header, row = result.stdout.strip().splitlines()
    assert header.startswith("plan,verdict,exit_code") and ",ok,0," in row


def test_version() -> None:
    result = run_cli("--version")
    assert result.exit_code == 0 and result.stdout.startswith("planner ")
