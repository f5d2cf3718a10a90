"""Running sweeps: rows, failing points, the store, resume after SIGKILL, both Dask modes."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

import planner
from planner.sweeps import ResultStore, load_sweep
from tests.conftest import ROOT, run_cli
from tests.sweep.conftest import write_sweep

DEADLINES = """
baselines = false
[[axes]]
key = "jobs[0].deadline_h"
values = [0.01, 3.0, 6.0, 24.0]
[[axes]]
key = "max_nodes"
values = [1, 2]
"""


def _env() -> dict[str, str]:
    """Subprocesses import this worktree's planner (not an installed copy)."""
    return {**os.environ, "PYTHONPATH": str(ROOT)}


def test_rows_failing_points_and_store(tmp_path: Path, client: Any) -> None:
    path = write_sweep(tmp_path, DEADLINES.replace("values = [1, 2]", "values = [1, 2, 0]"))
    store = tmp_path / "out.parquet"
    rows = planner.sweep(path, store, client=client)
    assert list(rows["point"]) == list(range(12))
    by = rows.set_index(["axis.jobs[0].deadline_h", "axis.max_nodes"])
    # 36 seconds is too short for 10 epochs: infeasible, exit 3, the reason kept
    tight = by.loc[(0.01, 2)]
    assert tight["status"] == "infeasible" and tight["exit_code"] == 3
    assert "deadline" in tight["error"]
    # max_nodes = 0 is refused by the scenario's schema: exit 2 naming the key
    invalid = by.loc[(6.0, 0)]
    assert invalid["status"] == "invalid" and invalid["exit_code"] == 2
    assert "max_nodes" in invalid["error"]
    solved = rows[rows["exit_code"] == 0]
    assert len(solved) == 6 and set(solved["status"]) == {"optimal"}
    assert (solved["objective"] == solved["headline.total_cost_usd"]).all()
    assert (solved["headline.latest_finish_h"] <= solved["axis.jobs[0].deadline_h"]).all()
    # a looser deadline never costs more
    for nodes in (1, 2):
        costs = by.xs(nodes, level="axis.max_nodes")["objective"].dropna()
        assert costs.is_monotonic_decreasing
    # the store holds the same rows, in one file after compaction
    assert len(ResultStore(store).parts()) == 1
    stored = pd.read_parquet(store)
    assert set(stored["point_key"]) == set(rows["point_key"])


def test_baseline_columns(tmp_path: Path, client: Any) -> None:
    path = write_sweep(tmp_path, '[[axes]]\nkey = "jobs[0].deadline_h"\nvalues = [6.0]\n')
    row = planner.sweep(path, client=client).iloc[0]
    assert row["baseline.most_expensive.status"] == "feasible"
    advantage = row["baseline.most_expensive.plan_advantage"]
    assert advantage == pytest.approx(row["baseline.most_expensive.objective"] / row["objective"])
    assert advantage >= 1


def test_resume_skips_finished_points(tmp_path: Path, client: Any) -> None:
    path = write_sweep(tmp_path, DEADLINES)
    store = tmp_path / "out.parquet"
    first = planner.sweep(path, store, client=client)
    again = planner.sweep(path, store, client=client)
    pd.testing.assert_frame_equal(first, again)  # nothing re-solved (same finished_at)
    # a longer sweep solves only the new points
    longer = write_sweep(tmp_path, DEADLINES.replace("24.0]", "24.0, 48.0]"))
    grown = planner.sweep(longer, store, client=client)
    assert len(grown) == 10
    old = grown[grown["point_key"].isin(first["point_key"])]
    assert set(old["finished_at"]) == set(first["finished_at"])
    retried = planner.sweep(longer, store, client=client, retry_failed=True)
    failed = grown["exit_code"] != 0
    assert (retried["finished_at"][failed] != grown["finished_at"][failed]).all()
    assert (retried["finished_at"][~failed] == grown["finished_at"][~failed]).all()


def test_sigkill_loses_only_unsaved_points(tmp_path: Path) -> None:
    """Kill a CLI sweep with SIGKILL once some points are stored; the store stays
    readable and a re-run solves only the missing points. 200 points of 20-30 ms: the
    sweep outlasts its first store flush (FLUSH_S after the start) now that a forked
    LocalCluster starts in under a second."""
    body = DEADLINES.replace(
        "values = [0.01, 3.0, 6.0, 24.0]", "start = 3.0\nstop = 24.0\nnum = 100"
    )
    path = write_sweep(tmp_path, body)
    store = tmp_path / "out.parquet"
    command = [sys.executable, str(ROOT / "cli.py"), "sweep", str(path), "-o", str(store)]
    process = subprocess.Popen(
        [*command, "--workers", "1", "--quiet", "-f", "csv"],
        env=_env(),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    try:
        deadline = time.monotonic() + 120
        while not ResultStore(store).parts() and time.monotonic() < deadline:
            assert process.poll() is None, "the sweep ended before it was killed"
            time.sleep(0.05)
    finally:
        os.killpg(process.pid, signal.SIGKILL)  # the CLI and its Dask workers
        process.wait()
    saved = ResultStore(store).read()
    total = len(load_sweep(path).tasks)
    assert 0 < len(saved) < total
    assert all(p.name.startswith("part-") for p in store.iterdir() if not p.name.startswith("."))
    result = run_cli("sweep", path, "-o", store, "--workers", "1", "--quiet", "-f", "csv")
    assert result.exit_code == 0, result.stderr
    rows = ResultStore(store).read()
    assert len(rows) == total and rows["exit_code"].eq(0).all()
    kept = rows.set_index("point_key").loc[saved["point_key"], "finished_at"]
    assert list(kept) == list(saved["finished_at"])


def test_cli_on_a_local_cluster(tmp_path: Path) -> None:
    path = write_sweep(tmp_path, DEADLINES)
    result = run_cli("sweep", path, "--workers", "2", "-f", "csv")
    assert result.exit_code == 0, result.stderr
    assert "8 points, 2 failed" in result.stderr
    frame = pd.read_csv(__import__("io").StringIO(result.stdout))
    assert len(frame) == 8 and (tmp_path / "sweep.parquet").is_dir()


@pytest.fixture
def external_cluster(tmp_path: Path) -> Iterator[str]:
    """A scheduler and two workers, each its own process on 127.0.0.1."""
    info = tmp_path / "scheduler.json"
    common = ["--no-dashboard"]
    scheduler = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "distributed.cli.dask_scheduler",
            "--host",
            "127.0.0.1",
            "--port",
            "0",
            "--scheduler-file",
            str(info),
            *common,
        ],
        env=_env(),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    processes = [scheduler]
    try:
        deadline = time.monotonic() + 60
        while not info.exists() and time.monotonic() < deadline:
            time.sleep(0.1)
        import json

        time.sleep(0.2)  # the file is written whole, but give the scheduler a moment
        address = json.loads(info.read_text())["address"]
        for _ in range(2):
            processes.append(
                subprocess.Popen(
                    [
                        sys.executable,
                        "-m",
                        "distributed.cli.dask_worker",
                        address,
                        "--nthreads",
                        "1",
                        "--nworkers",
                        "1",
                        *common,
                    ],
                    env=_env(),
                    stdout=subprocess.DEVNULL,
                    stderr=subprocess.DEVNULL,
                )
            )
        yield address
    finally:
        for process in reversed(processes):
            process.terminate()
        for process in processes:
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


def test_cli_on_an_existing_scheduler(tmp_path: Path, external_cluster: str) -> None:
    from distributed import Client

    path = write_sweep(tmp_path, DEADLINES)
    with Client(external_cluster) as probe:
        probe.wait_for_workers(2, timeout=60)
        assert len(probe.scheduler_info()["workers"]) == 2
    result = run_cli("sweep", path, "--scheduler", external_cluster, "--quiet", "-f", "json")
    assert result.exit_code == 0, result.stderr
    rows = pd.read_json(__import__("io").StringIO(result.stdout))
    assert len(rows) == 8 and (rows["exit_code"] == 0).sum() == 6


def test_unreachable_scheduler_is_an_input_error(tmp_path: Path) -> None:
    path = write_sweep(tmp_path, DEADLINES)
    result = run_cli("sweep", path, "--scheduler", "tcp://127.0.0.1:9", "--quiet")
    assert result.exit_code == 2 and "--scheduler" in result.stderr
