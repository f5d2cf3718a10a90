"""Every command's human output fits 100 columns, piped and in a 100-column terminal, with
no number broken across lines or cells; ``--wide`` shows every column side by side; the
marker and column legends, ``--version`` and ``check --format csv`` (issue 19 item 5).

One shipped scenario per kind (the quickest to solve), each solved once for the module.
Only stdout is held to the width: stderr's one-line diagnostics name paths, which are not
wrapped (they are copied and pasted).
"""

from __future__ import annotations

import fcntl
import os
import pty
import re
import select
import struct
import subprocess
import sys
import termios
from pathlib import Path

import pytest

from cli import REPORT_WIDTH, app
from tests.conftest import ROOT, run_cli

SCENARIOS = ROOT / "scenarios"
ONE_PER_KIND = {
    "batch": "batch/fitted_trace.toml",
    "cellular": "cellular/seq2seq_wmt.toml",
    "cocktail": "cocktail/imagenet_day_cpu.toml",
    "ddl": "ddl/shared_quota.toml",
    "llm": "llm/chat_llama2_7b.toml",
    "pifs": "pifs/rm1_8port.toml",
    "polymorphic": "polymorphic/mixed_cnn_mlp_rnn.toml",
    "ppipe": "ppipe/analytical_l4_t4.toml",
    "proteus": "proteus/edge_cluster.toml",
}
BOX = "│┃"  # rich's cell separators (body, header)
NUMBER = re.compile(r"-?\d[\d,]*(\.\d+)?(e[+-]\d+)?")
WHOLE_NUMBER = re.compile(r"-?(\d{1,3}(,\d{3})*|\d+)(\.\d+)?(e[+-]\d+)?")


def problems(text: str, width: int = REPORT_WIDTH) -> list[str]:
    """Lines wider than ``width``, and numbers broken apart: a number cell that is not a
    well-formed number (``5,659,0``), a table row continued on a second line with a number
    in it (numbers never wrap, so only text continues), or a line ending in a digit whose
    next line starts with one."""
    found = [f"{len(line)} columns: {line!r}" for line in text.splitlines() if len(line) > width]
    lines = text.splitlines()
    for line, after in zip(lines, [*lines[1:], ""][: len(lines)], strict=True):
        if (
            re.search(r"[\d,.]$", line.rstrip())
            and re.match(r"\s*\d", after)
            and line[:1] not in BOX
        ):
            found.append(f"number across lines: {line!r} / {after!r}")
        if line[:1] not in BOX:
            continue
        raw = re.split(f"[{BOX}]", line)[1:-1]
        if raw and len(raw[0]) == len(" ▶ ") and raw[0].strip() in ("", "▶"):
            raw = raw[1:]  # the marker column
        cells = [c.strip() for c in raw]
        for cell in cells:
            if NUMBER.fullmatch(cell) and not WHOLE_NUMBER.fullmatch(cell):
                found.append(f"broken number {cell!r}: {line!r}")
        if cells and cells[0] == "" and any(NUMBER.fullmatch(c) for c in cells):
            found.append(f"a row continued with a number: {line!r}")
    return found


def test_the_checks_find_wide_lines_and_broken_numbers() -> None:
    assert problems("x" * 101) and not problems("x" * 100)
    assert problems("│ T4 │ 5,659,0 │\n│    │      68 │")  # a number folded in its cell
    assert problems("time  verify 0.0\n      00 s")  # a number across two lines
    assert not problems("│ T4 │ 5,659,068 │\n│ a rather long   │ 1.5 │\n│ name │     │")


@pytest.fixture(scope="module")
def plans(tmp_path_factory: pytest.TempPathFactory) -> dict[str, tuple[Path, str]]:
    """Each kind's scenario solved once: the plan file and the report piped to stdout."""
    folder = tmp_path_factory.mktemp("plans")
    out = {}
    for kind, name in ONE_PER_KIND.items():
        plan = folder / f"{kind}.json"
        result = run_cli("solve", SCENARIOS / name, "-q", "-o", plan)
        assert result.exit_code == 0, result.stderr
        out[kind] = (plan, result.stdout)
    return out


@pytest.mark.parametrize("kind", sorted(ONE_PER_KIND))
def test_every_kinds_report_fits_100_columns_piped(
    plans: dict[str, tuple[Path, str]], kind: str
) -> None:
    _, report = plans[kind]
    assert problems(report) == []
    assert any(line.startswith("bound / gap") for line in report.splitlines())


def test_wide_shows_every_column_side_by_side(plans: dict[str, tuple[Path, str]]) -> None:
    _, fitted = plans["proteus"]
    wide = run_cli("solve", SCENARIOS / ONE_PER_KIND["proteus"], "-q", "--wide").stdout
    assert "Placements" in fitted and "(1/" in fitted  # split to fit
    assert "(1/" not in wide and max(len(line) for line in wide.splitlines()) > REPORT_WIDTH
    header = next(line for line in wide.splitlines() if "capacity_qps_per_device" in line)
    assert "routed_qps" in header and "rate_source" in header  # one table, all columns


def test_legends_name_the_marker_and_explain_baseline_columns(
    plans: dict[str, tuple[Path, str]],
) -> None:
    lines = {kind: report.splitlines() for kind, (_, report) in plans.items()}
    for kind in ONE_PER_KIND:
        assert "▶ this plan" in lines[kind], kind  # the baselines table marks the plan
        assert any(line.startswith("note: why a baseline has no plan") for line in lines[kind])
    ddl = "\n".join(lines["ddl"])
    assert "▶ the recommended configuration" in ddl
    assert "▶ the bottleneck: lowest throughput per weight" in "\n".join(lines["ppipe"])


def test_durations_usd_and_shares_read_the_same_everywhere(
    plans: dict[str, tuple[Path, str]],
) -> None:
    ddl = plans["ddl"][1]
    assert "cost_USD" in ddl and "cost_usd" not in ddl
    assert re.search(r"\d+ h \d+ min", ddl) and " hours " not in ddl
    pifs = plans["pifs"][1]
    assert "bandwidth_utilisation_pct" in pifs and "host_lookups_pct" in pifs
    assert "reserved_pct" in plans["ppipe"][1] and "low_class_gpu_pct" in plans["ppipe"][1]
    assert "share" not in " ".join(
        line for line in plans["ppipe"][1].splitlines() if line.startswith("┃")
    )


def test_check_diff_simulate_estimate_and_report_fit(
    plans: dict[str, tuple[Path, str]], tmp_path: Path
) -> None:
    ddl, _ = plans["ddl"]
    scenario = SCENARIOS / ONE_PER_KIND["ddl"]
    outputs = {
        "check": run_cli("check", ddl, "--scenario", scenario),
        "diff": run_cli("diff", ddl, plans["ddl"][0]),
        "simulate": run_cli(
            "simulate", SCENARIOS / ONE_PER_KIND["proteus"], "--runs", "1", "--duration-s", "2"
        ),
        "estimate": run_cli("estimate", "--model", "resnet50", "--device", "T4", "--batch", "8"),
        "report": run_cli("report", ddl, "-o", tmp_path / "report.html"),
    }
    for command, result in outputs.items():
        assert result.exit_code == 0, (command, result.stderr)
        assert problems(result.stdout) == [], command
    assert outputs["check"].stdout.startswith("OK: the committed plan covers the scenario")
    assert "bound: what limits the estimate" in outputs["estimate"].stdout


def test_pareto_and_sweep_tables_fit(tmp_path: Path) -> None:
    scenario = SCENARIOS / "ddl" / "bert_base_mnli_deadline.toml"
    front = run_cli(
        "pareto", scenario, "--x", "jobs[0].deadline_h", "--x-metric", "latest_finish_h",
        "--max-solves", "3",
    )  # fmt: skip
    assert front.exit_code == 0, front.stderr
    assert problems(front.stdout) == [] and "gap_pct" in front.stdout
    sweep = tmp_path / "sweep.toml"
    sweep.write_text(
        f'scenario = "{scenario}"\nbaselines = false\n'
        '[[axes]]\nkey = "jobs[0].deadline_h"\nvalues = [0.2, 1.0]\n'
    )
    swept = run_cli("sweep", sweep, "-q", "--workers", "1", "-o", tmp_path / "sweep.parquet")
    assert swept.exit_code == 0, swept.stderr
    assert problems(swept.stdout) == []
    assert "objective (USD)" in swept.stdout and "gap_pct" in swept.stdout


def test_help_of_every_command_fits() -> None:
    commands = sorted(c.name or c.callback.__name__ for c in app.registered_commands if c.callback)
    assert {"solve", "check", "diff", "simulate", "estimate", "sweep", "pareto"} <= set(commands)
    for command in ["", *commands]:
        result = run_cli(*([command] if command else []), "--help")
        assert result.exit_code == 0 and problems(result.stdout) == [], command


def test_version() -> None:
    result = run_cli("--version")
    assert result.exit_code == 0 and re.fullmatch(r"planner \d+\.\d+\.\d+\S*\n", result.stdout)


def test_check_csv_prints_csv(plans: dict[str, tuple[Path, str]]) -> None:
    plan, _ = plans["ddl"]
    result = run_cli("check", plan, "--scenario", SCENARIOS / ONE_PER_KIND["ddl"], "-f", "csv")
    assert result.exit_code == 0
    header, row = result.stdout.splitlines()
    assert header.startswith("plan,verdict,exit_code,") and row.split(",")[1] == "ok"
    assert "┃" not in result.stdout


def in_a_terminal(columns: int, *args: str) -> str:
    """A planner command's output in a pseudo-terminal ``columns`` wide (rich sizes its
    output to the terminal there; COLUMNS is unset)."""
    leader, follower = pty.openpty()
    fcntl.ioctl(follower, termios.TIOCSWINSZ, struct.pack("HHHH", 40, columns, 0, 0))
    env = {k: v for k, v in os.environ.items() if k not in ("COLUMNS", "LINES")}
    done = subprocess.Popen(
        [sys.executable, "-c", "import cli; cli.main()", *args],
        stdin=follower,
        stdout=follower,
        stderr=subprocess.DEVNULL,
        cwd=ROOT,
        env={**env, "TERM": "xterm", "PYTHONPATH": str(ROOT)},
    )
    os.close(follower)
    chunks = []
    while True:
        ready, _, _ = select.select([leader], [], [], 120)
        if not ready:
            done.kill()
            break
        try:
            chunk = os.read(leader, 65536)
        except OSError:  # the child closed the terminal
            break
        if not chunk:
            break
        chunks.append(chunk)
    os.close(leader)
    assert done.wait(timeout=120) == 0
    text = b"".join(chunks).decode("utf-8").replace("\r\n", "\n")
    return re.sub(r"\x1b\[[0-9;?]*[A-Za-z]", "", text)  # colours and cursor moves


def test_a_report_fits_a_100_column_terminal() -> None:
    text = in_a_terminal(100, "solve", str(SCENARIOS / ONE_PER_KIND["ddl"]), "-q")
    assert "Candidates for job" in text and problems(text) == []
