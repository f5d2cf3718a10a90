"""Ctrl-C and SIGTERM in every stage of a large pifs solve (issue 19, item 4): exit 130 /
143 within 2 s and nothing written, wherever the signal lands.

The instance is ``meta856_16port`` scaled 4x as ``benchmarks/scaling.py`` scales it (3,424
tables on 64 ports), written in the test. ``planner solve`` runs on a pseudo-terminal so
that its spinner names the stage it is in (``solve`` before the first solver call: the
baselines' placements for the start, the Lagrangian bound, the model build; ``solve 1``:
the fixed-choice LP; then ``verify`` and ``baselines``); the signal is sent once the
spinner shows the stage (or a later one, when a stage was too short to be drawn). Needs
``../shared/reference`` (the Meta histogram).
"""

from __future__ import annotations

import os
import pty
import select
import signal
import subprocess
import time
from pathlib import Path

import pytest

from benchmarks.scaling import SCENARIOS, scaled_document
from tests.conftest import REFERENCE, write_scenario
from tests.interrupts import assert_stopped_cleanly, child_env, solve_command

HISTOGRAM = REFERENCE / "dlrm" / "meta_2022_locality_stats.txt"
STAGE_WITHIN_S = 120.0  # start-up and the stages before the one awaited, on a loaded machine
STAGES = ("solve", "solve 1", "verify", "baselines")  # spinner texts, in the order they come


@pytest.fixture(scope="module")
def scenario(tmp_path_factory: pytest.TempPathFactory) -> Path:
    shipped = SCENARIOS / "pifs" / "meta856_16port.toml"
    document, _ = scaled_document(shipped, "pifs", 4)
    document.pop("description")
    document["hotness"]["histogram"] = str(HISTOGRAM)
    return write_scenario(tmp_path_factory.mktemp("pifs4x") / "meta3424_64port.toml", document)


def _read(fd: int, timeout_s: float) -> bytes:
    ready, _, _ = select.select([fd], [], [], timeout_s)
    if not ready:
        return b""
    try:
        return os.read(fd, 1 << 16)
    except OSError:  # the child closed the terminal
        return b""


@pytest.mark.skipif(not HISTOGRAM.is_file(), reason=f"needs {HISTOGRAM}")
@pytest.mark.parametrize(
    ("stage", "signum", "code"),
    [
        ("solve", signal.SIGINT, 130),
        ("solve 1", signal.SIGTERM, 143),
        ("verify", signal.SIGINT, 130),
        ("baselines", signal.SIGINT, 130),
    ],
)
def test_a_signal_in_any_stage_exits_at_once_writing_nothing(
    scenario: Path, tmp_path: Path, stage: str, signum: signal.Signals, code: int
) -> None:
    output = tmp_path / "plan.json"
    terminal, child_end = pty.openpty()
    child = subprocess.Popen(
        solve_command(scenario, output),
        cwd=tmp_path,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=child_end,
        env=child_env(),
    )
    os.close(child_end)
    later = STAGES[STAGES.index(stage) :]
    shown = b""
    try:
        deadline = time.monotonic() + STAGE_WITHIN_S
        # the spinner redraws "<stage> · solve <n>": "solve 1" is the first solver call
        while not any(s.encode() in shown.replace("· ".encode(), b"") for s in later):
            assert child.poll() is None, f"ended before {stage}: {shown[-400:]!r}"
            assert time.monotonic() < deadline, f"{stage} was not reached"
            shown += _read(terminal, 0.05)
        sent = time.monotonic()
        child.send_signal(signum)
        while child.poll() is None and time.monotonic() - sent < 30:
            shown += _read(terminal, 0.05)
        took_s = time.monotonic() - sent
    finally:
        if child.poll() is None:
            child.kill()
        child.wait()
        os.close(terminal)
    assert_stopped_cleanly(child.returncode, code, took_s, shown.decode(errors="replace"), output)
