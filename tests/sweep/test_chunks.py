"""Sweep points in chunks: copies of the base document, chunk sizes, failed chunks, and rows
equal to planner.solve's on the same points."""

from __future__ import annotations

import math
import tomllib
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest

import planner
from planner.sweeps import (
    CHUNKS_PER_SLOT,
    MAX_CHUNK_POINTS,
    chunk_size,
    load_sweep,
    stream_rows,
    with_values,
)
from tests.conftest import ROOT, write_scenario
from tests.sweep.conftest import write_sweep

EDGE_CLUSTER = ROOT / "scenarios" / "proteus" / "edge_cluster.toml"


def test_with_values_copies_only_the_paths() -> None:
    base: dict[str, Any] = {
        "jobs": [{"deadline_h": 4.0, "epochs": 10}, {"deadline_h": 8.0}],
        "devices": {"T4": {"count": 4}, "L4": {"count": 2}},
        "max_nodes": 2,
    }
    snapshot = repr(base)
    point = with_values(
        base,
        [
            (["jobs", 0, "deadline_h"], 6.0),
            (["devices", "T4", "count"], 1),
            (["solver", "threads"], 1),  # a table the base lacks is created
        ],
    )
    assert repr(base) == snapshot  # the base is never changed
    assert point["jobs"][0] == {"deadline_h": 6.0, "epochs": 10}
    assert point["devices"]["T4"] == {"count": 1} and point["solver"] == {"threads": 1}
    # what no path touches is shared, not copied
    assert point["jobs"][1] is base["jobs"][1] and point["devices"]["L4"] is base["devices"]["L4"]
    with pytest.raises(KeyError, match=r"jobs\[5\]"):
        with_values(base, [(["jobs", 5, "deadline_h"], 1.0)])


def test_chunk_size() -> None:
    assert chunk_size(None, 1000, 2) == 1  # no point measured yet
    assert chunk_size(10.0, 1000, 2) == 1  # long points go one by one
    assert chunk_size(0.1, 1000, 2) == 20  # about CHUNK_S seconds of points
    assert chunk_size(1e-6, 100_000, 2) == MAX_CHUNK_POINTS
    # near the end, an even share of what is left over the chunks in flight
    assert chunk_size(0.1, 40, 2) == 40 // (2 * CHUNKS_PER_SLOT)
    assert chunk_size(0.1, 3, 2) == 1


DEADLINES = """
baselines = false
[[axes]]
key = "jobs[0].deadline_h"
values = [3.0, 4.0, 6.0, 8.0, 12.0, 16.0, 20.0, 24.0]
[[axes]]
key = "max_nodes"
values = [1, 2]
"""


class _Recording(ThreadPoolExecutor):
    """A thread pool that records the size of every chunk submitted to it."""

    def __init__(self, workers: int) -> None:
        super().__init__(workers)
        self.sizes: list[int] = []

    def submit(self, fn: Any, /, *args: Any, **kwargs: Any) -> Future[Any]:
        self.sizes.append(len(args[1]))
        return super().submit(fn, *args, **kwargs)


def test_chunks_grow_once_points_are_timed(tmp_path: Path) -> None:
    loaded = load_sweep(write_sweep(tmp_path, DEADLINES))
    with _Recording(2) as pool:
        chunks = list(stream_rows(pool, loaded.base, loaded.tasks, 2))
    rows = [row for chunk in chunks for row in chunk]
    assert sorted(row["point"] for row in rows) == list(range(16))
    assert pool.sizes[: 2 * CHUNKS_PER_SLOT] == [1] * (2 * CHUNKS_PER_SLOT)
    assert max(pool.sizes) > 1 and sum(pool.sizes) == 16
    assert all(row["worker_cpu_s"] > 0 for row in rows)


class _Dying(ThreadPoolExecutor):
    """A pool whose every task fails as a dead worker's would."""

    def submit(self, fn: Any, /, *args: Any, **kwargs: Any) -> Future[Any]:
        future: Future[Any] = Future()
        future.set_exception(OSError("worker died"))
        return future


def test_a_failed_chunk_is_an_error_row_per_point(tmp_path: Path) -> None:
    loaded = load_sweep(write_sweep(tmp_path, DEADLINES))
    with _Dying(1) as pool:
        rows = [row for chunk in stream_rows(pool, loaded.base, loaded.tasks, 1) for row in chunk]
    assert len(rows) == 16
    assert {row["status"] for row in rows} == {"error"}
    assert {row["exit_code"] for row in rows} == {1}
    assert all(row["error"] == "OSError: worker died" for row in rows)


def test_sweep_rows_equal_individual_solves(tmp_path: Path, client: Any) -> None:
    """Three proteus points through the chunked sweep, and each one as its own scenario
    file through planner.solve (one solver thread, as sweeps use)."""
    sweep_path = tmp_path / "sweep.toml"
    sweep_path.write_text(
        f'scenario = "{EDGE_CLUSTER}"\ncombine = "zip"\n'
        '[[axes]]\nkey = "families.resnet.demand_qps"\nvalues = [800, 2500, 4200]\n'
        '[[axes]]\nkey = "devices.T4.count"\nvalues = [1, 4, 6]\n'
    )
    rows = planner.sweep(sweep_path, client=client)
    base = tomllib.loads(EDGE_CLUSTER.read_text())
    for _, row in rows.iterrows():
        document = {**base, "families": {**base["families"]}, "devices": {**base["devices"]}}
        resnet = row["axis.families.resnet.demand_qps"]
        document["families"]["resnet"] = {**base["families"]["resnet"], "demand_qps": resnet}
        t4 = row["axis.devices.T4.count"]
        document["devices"]["T4"] = {**base["devices"]["T4"], "count": t4}
        scenario = write_scenario(tmp_path / f"point{row['point']}.toml", document)
        plan = planner.solve(scenario, threads=1)
        assert row["exit_code"] == 0, row["error"]
        assert row["status"] == plan.status.value
        assert row["termination"] == plan.termination.value
        assert row["scenario_sha256"] == plan.scenario_sha256
        assert row["objective"] == plan.objective.value and row["bound"] == plan.bound
        assert row["gap"] == plan.gap or (math.isnan(row["gap"]) and not math.isfinite(plan.gap))
        for name, value in plan.headline.items():
            assert row[f"headline.{name}"] == value, name
        for baseline in plan.baselines:
            assert row[f"baseline.{baseline.name}.objective"] == baseline.objective
            assert row[f"baseline.{baseline.name}.status"] == baseline.status
