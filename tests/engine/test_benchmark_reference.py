"""Benchmarks run without their reference data print one line naming what is missing and
exit with the one documented code (benchmarks/_reference.py), never a traceback."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from benchmarks._reference import REFERENCE_ABSENT
from tests.conftest import ROOT


@pytest.mark.parametrize(
    "command",
    [
        ["cocktail_costs.py"],
        ["ppipe_reference.py", "--set", "maf19"],
        ["ppipe_replay.py", "--set", "maf19"],
    ],
)
def test_a_missing_reference_folder_exits_with_the_one_code(
    tmp_path: Path, command: list[str]
) -> None:
    csv = tmp_path / "out.csv"
    done = subprocess.run(
        [
            sys.executable,
            str(ROOT / "benchmarks" / command[0]),
            *command[1:],
            "--csv",
            str(csv),
            "--reference",
            str(tmp_path / "absent"),
        ],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == REFERENCE_ABSENT, done.stderr
    lines = [line for line in (done.stdout + done.stderr).splitlines() if line.strip()]
    assert len(lines) == 1, lines
    assert "absent" in lines[0] or "missing" in lines[0]
    assert "Traceback" not in done.stderr
    assert not csv.exists()
