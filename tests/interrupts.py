"""What every interrupt test asks of ``planner solve -o`` stopped by a signal (issue 19,
item 4): the command it runs, and the checks once it has ended: exit 130 / 143 within
:data:`EXIT_WITHIN_S`, no traceback, "nothing was written", an existing output untouched
and no partial file beside it."""

from __future__ import annotations

import os
import sys
from pathlib import Path

from tests.conftest import ROOT

EXIT_WITHIN_S = 2.0
OLD_PLAN = '{"old": "plan"}\n'


def solve_command(scenario: Path, output: Path, *options: str) -> list[str]:
    """``planner solve SCENARIO [options] -o OUTPUT --force`` from this tree, after
    writing :data:`OLD_PLAN` to ``output`` (the file the interrupted run must not touch)."""
    output.write_text(OLD_PLAN)
    program = [sys.executable, str(ROOT / "cli.py"), "solve", str(scenario)]
    return [*program, *options, "-o", str(output), "--force"]


def child_env() -> dict[str, str]:
    """The environment of the child: this tree's packages first."""
    return {**os.environ, "PYTHONPATH": str(ROOT)}


def assert_stopped_cleanly(
    returncode: int | None, code: int, took_s: float, stderr: str, output: Path
) -> None:
    assert returncode == code, stderr[-400:]
    assert took_s < EXIT_WITHIN_S, f"exit took {took_s:.1f} s"
    assert "Traceback" not in stderr
    assert "nothing was written" in stderr
    assert output.read_text() == OLD_PLAN
    assert sorted(p.name for p in output.parent.iterdir()) == [output.name]
