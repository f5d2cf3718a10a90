"""Paths in scenarios: resolved against the scenario's folder; odd files refused by name."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from pydantic import BaseModel, ValidationError

from formulations.types import DataFile, DataFolder, DataPath


class Paths(BaseModel):
    any: DataPath | None = None
    file: DataFile | None = None
    folder: DataFolder | None = None


def validate(tmp_path: Path, **values: str) -> Paths:
    return Paths.model_validate(values, context={"base_dir": tmp_path})


def test_relative_paths_resolve_against_the_scenario_folder(tmp_path: Path) -> None:
    (tmp_path / "trace.txt").write_text("1\n")
    assert validate(tmp_path, file="trace.txt").file == tmp_path / "trace.txt"
    assert validate(tmp_path, folder=".").folder == tmp_path / "."


@pytest.mark.parametrize(
    ("field", "target", "message"),
    [
        ("file", "/dev/zero", "FIFO, socket or device"),
        ("any", "/dev/null", "FIFO, socket or device"),
        ("file", ".", "is a folder"),
        ("folder", "trace.txt", "a folder"),
        ("any", "missing.csv", "no such path"),
    ],
)
def test_odd_paths_are_refused(tmp_path: Path, field: str, target: str, message: str) -> None:
    (tmp_path / "trace.txt").write_text("1\n")
    with pytest.raises(ValidationError, match=message):
        validate(tmp_path, **{field: target})


def test_a_fifo_is_refused_without_blocking(tmp_path: Path) -> None:
    os.mkfifo(tmp_path / "fifo")
    with pytest.raises(ValidationError, match="FIFO"):
        validate(tmp_path, file="fifo")
