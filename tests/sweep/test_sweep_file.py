"""Sweep files: key paths, axes, combinations, and the errors that name the key."""

from __future__ import annotations

from pathlib import Path

import pytest

from formulations.types import InputError
from planner.sweeps import load_sweep, parse_key, set_key
from tests.conftest import ROOT, run_cli
from tests.sweep.conftest import write_sweep


def test_key_paths() -> None:
    assert parse_key("families.resnet.demand_qps") == ["families", "resnet", "demand_qps"]
    assert parse_key("jobs[0].deadline_h") == ["jobs", 0, "deadline_h"]
    assert parse_key("jobs.0.deadline_h") == ["jobs", 0, "deadline_h"]
    assert parse_key('spot_usd_per_h."g5.12xlarge"') == ["spot_usd_per_h", "g5.12xlarge"]
    for bad in ("", "a..b", "a.", "[0]", 'a."b'):
        with pytest.raises(ValueError):
            parse_key(bad)


def test_set_key_creates_tables_and_refuses_non_tables() -> None:
    document: dict = {"jobs": [{"deadline_h": 1}], "kind": "ddl"}
    set_key(document, ["solver", "threads"], 2)
    set_key(document, ["jobs", 0, "deadline_h"], 5)
    assert document["solver"] == {"threads": 2}
    assert document["jobs"][0]["deadline_h"] == 5
    with pytest.raises(KeyError, match=r"jobs\[3\]"):
        set_key(document, ["jobs", 3, "deadline_h"], 1)
    with pytest.raises(KeyError, match="kind"):
        set_key(document, ["kind", "x"], 1)


def test_grid_ranges_lists_and_samples(tmp_path: Path) -> None:
    path = write_sweep(
        tmp_path,
        """
[[axes]]
key = "jobs[0].deadline_h"
start = 4
stop = 12
step = 4
[[axes]]
key = "max_nodes"
values = [1, 2]
[[axes]]
key = "jobs[0].epochs"
low = 5
high = 50
samples = 3
integer = true
""",
    )
    sweep = load_sweep(path)
    assert sweep.axis_keys == ["jobs[0].deadline_h", "max_nodes", "jobs[0].epochs"]
    assert len(sweep.tasks) == 3 * 2 * 3
    deadlines = sorted({t.axis_values["jobs[0].deadline_h"] for t in sweep.tasks})
    assert deadlines == [4, 8, 12]
    epochs = sorted({t.axis_values["jobs[0].epochs"] for t in sweep.tasks})
    assert len(epochs) == 3 and all(isinstance(e, int) and 5 <= e <= 50 for e in epochs)
    # Latin hypercube: one sample in each third of [5, 50]
    assert [int((e - 5) // 15) for e in epochs] == [0, 1, 2]
    first = sweep.tasks[0]
    assert sweep.base.document_of(first)["jobs"][0]["deadline_h"] == 4
    assert len({t.point_key for t in sweep.tasks}) == len(sweep.tasks)
    assert load_sweep(path).tasks[5].point_key == sweep.tasks[5].point_key  # stable


def test_zip_samples_jointly_and_checks_lengths(tmp_path: Path) -> None:
    body = """
combine = "zip"
seed = 7
[[axes]]
key = "jobs[0].deadline_h"
low = 2
high = 20
samples = 4
[[axes]]
key = "jobs[0].epochs"
low = 5
high = 50
samples = 4
integer = true
"""
    sweep = load_sweep(write_sweep(tmp_path, body))
    assert len(sweep.tasks) == 4
    deadlines = [t.axis_values["jobs[0].deadline_h"] for t in sweep.tasks]
    assert sorted(int((d - 2) // 4.5) for d in deadlines) == [0, 1, 2, 3]
    bad = write_sweep(tmp_path, body.replace("samples = 4\ninteger", "samples = 3\ninteger"))
    with pytest.raises(InputError, match="axes"):
        load_sweep(bad)


def test_bad_key_path_exits_2_naming_the_sweep_file_and_key(tmp_path: Path) -> None:
    path = write_sweep(tmp_path, '[[axes]]\nkey = "jobs[0].dedline_h"\nvalues = [4, 8]\n')
    result = run_cli("sweep", path, "--quiet")
    assert result.exit_code == 2
    assert str(path) in result.stderr
    assert "axes[0].key" in result.stderr and "dedline_h" in result.stderr
    missing = write_sweep(tmp_path, '[[axes]]\nkey = "jobs[4].deadline_h"\nvalues = [4]\n')
    result = run_cli("sweep", missing, "--quiet")
    assert result.exit_code == 2 and "jobs[4]" in result.stderr
    # a table the path would create that the scenario cannot use (a misspelt family)
    proteus = tmp_path / "proteus.toml"
    proteus.write_text(
        f'scenario = "{ROOT / "scenarios" / "proteus" / "edge_cluster.toml"}"\n'
        '[[axes]]\nkey = "families.resnt.demand_qps"\nvalues = [100]\n'
    )
    result = run_cli("sweep", proteus, "--quiet")
    assert result.exit_code == 2 and "families.resnt" in result.stderr
    # a table the path creates that the scenario accepts is fine
    assert (
        len(
            load_sweep(
                write_sweep(tmp_path, '[[axes]]\nkey = "solver.threads"\nvalues = [1, 2]\n')
            ).tasks
        )
        == 2
    )
    assert not (tmp_path / "sweep.parquet").exists()


def test_bad_axis_forms(tmp_path: Path) -> None:
    for body, expected in [
        ('[[axes]]\nkey = "max_nodes"\nvalues = [1]\nstart = 1\n', "exactly one of"),
        ('[[axes]]\nkey = "max_nodes"\nstart = 1\nstop = 2\n', "step or num"),
        ('[[axes]]\nkey = "max_nodes"\nlow = 3\nhigh = 1\nsamples = 2\n', "low <= high"),
        ("axes = []\n", "axes"),
    ]:
        with pytest.raises(InputError, match=expected) as info:
            load_sweep(write_sweep(tmp_path, body))
        assert info.value.file == str(tmp_path / "sweep.toml")
