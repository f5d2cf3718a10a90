"""Every benchmark run without its reference data prints one line on stderr naming what is
missing and where it comes from, writes nothing and exits with the one documented code
(benchmarks/_reference.py), never a traceback; ``PLANNER_REFERENCE`` moves the folder."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from benchmarks._reference import DEFAULT, ENV, REFERENCE_ABSENT, reference_root
from tests.conftest import ROOT

BENCHMARKS = sorted(p.name for p in (ROOT / "benchmarks").glob("*.py") if p.stem[0] != "_")
OUT = "{out}"  # replaced by a file in the test's output folder (which must stay empty)

# The arguments of a run of each benchmark that reads reference data of its own.
NEEDS_REFERENCE: dict[str, list[str]] = {
    "calibrate.py": ["--output", OUT],
    "cost_model_validation.py": ["--csv", OUT],
    "cocktail_costs.py": ["--csv", OUT],
    "llm_mix.py": ["--csv", OUT],
    "pifs_latency.py": ["--csv", OUT, "--scenario", "{meta856}"],
    "ppipe_reference.py": ["--set", "maf19", "--csv", OUT],
    "ppipe_replay.py": ["--set", "maf19", "--csv", OUT],
    "proteus_reference.py": ["--csv", OUT],
    "proteus_replay.py": ["--csv", OUT],
    "replay_vs_papers.py": ["--proteus-repo", "{absent}", "--csv", OUT],
}
# Benchmarks that read none of their own, and why (they run in full, so they are not run
# here; their own tests cover them).
NO_REFERENCE: dict[str, str] = {
    "batch_costs.py": "cost models and the shipped batch scenarios",
    "cellular_latency.py": "cost models and the shipped cellular scenarios",
    "cocktail_replay.py": "skips cocktail_profile.toml, with one line, when the data is absent",
    "ddl_stalls.py": "cost models and the shipped ddl scenarios",
    "fuzz.py": "leaves out the scenarios that read the reference folder when it is absent",
    "polymorphic_throughput.py": "SCALE-Sim-exact cost model and generated scenarios",
    "replay_speed.py": "shipped scenarios that read no reference data",
    "scaling.py": "scaled shipped scenarios; one the loader refuses is marked refused",
    "sweep_exactness.py": "the shipped edge_cluster scenario, at two git revisions",
    "sweep_scaling.py": "the shipped edge_cluster scenario",
}


def test_every_benchmark_says_whether_it_needs_reference_data() -> None:
    assert sorted([*NEEDS_REFERENCE, *NO_REFERENCE]) == BENCHMARKS


@pytest.mark.parametrize("name", sorted(NO_REFERENCE))
def test_benchmarks_without_reference_data_of_their_own_never_locate_it(name: str) -> None:
    text = (ROOT / "benchmarks" / name).read_text(encoding="utf-8")
    assert "reference_root" not in text and ENV not in text


@pytest.mark.parametrize("name", sorted(NEEDS_REFERENCE))
def test_a_benchmark_without_its_reference_data_prints_one_line_and_exits_3(
    tmp_path: Path, name: str
) -> None:
    absent = tmp_path / "absent"
    outputs = tmp_path / "outputs"
    outputs.mkdir()
    meta856 = tmp_path / "meta856.toml"  # the shipped scenario, its histogram moved away
    shipped = (ROOT / "scenarios" / "pifs" / "meta856_16port.toml").read_text()
    meta856.write_text(shipped.replace("../../../shared/reference", str(absent)))
    places = {"{out}": str(outputs / "out.csv"), "{meta856}": str(meta856), "{absent}": str(absent)}
    arguments = [places.get(a, a) for a in NEEDS_REFERENCE[name]]
    done = subprocess.run(
        [sys.executable, str(ROOT / "benchmarks" / name), *arguments],
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
        cwd=tmp_path,
        env={**os.environ, ENV: str(absent)},
    )
    assert done.returncode == REFERENCE_ABSENT, done.stderr
    assert done.stdout == ""
    (line,) = done.stderr.splitlines()
    assert line.startswith(f"{Path(name).stem}: reference data absent: {absent}")
    assert f"{ENV}=DIR" in line and "README.md" in line
    assert not list(outputs.iterdir())


def test_the_reference_folder_is_the_environment_variable_or_the_sibling_folder(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.delenv(ENV, raising=False)
    assert reference_root() == DEFAULT == ROOT.parent / "shared" / "reference"
    monkeypatch.setenv(ENV, str(tmp_path))
    assert reference_root() == tmp_path
    monkeypatch.setenv(ENV, "")
    assert reference_root() == DEFAULT


def test_reference_option_overrides_the_folder(tmp_path: Path) -> None:
    done = subprocess.run(
        [
            sys.executable,
            str(ROOT / "benchmarks" / "ppipe_reference.py"),
            *("--set", "maf19", "--csv", str(tmp_path / "out.csv")),
            *("--reference", str(tmp_path / "elsewhere")),
        ],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == REFERENCE_ABSENT
    assert str(tmp_path / "elsewhere" / "instances.json") in done.stderr
