"""Size limits (issue 19): a scenario whose model would exceed a documented size exits 2
naming the key that makes it large."""

from __future__ import annotations

from pathlib import Path

import pytest

from formulations.polymorphic import formulation
from formulations.polymorphic.inputs import MAX_GRID_ENTRIES
from tests.conftest import run_cli, write_scenario
from tests.polymorphic.helpers import tiny_scenario
from tests.polymorphic.test_phases import phased_document


def _message(tmp_path: Path, document: dict[str, object]) -> tuple[int, str, Path]:
    path = write_scenario(tmp_path / "large.toml", document)
    result = run_cli("solve", path)
    return result.exit_code, " ".join((result.stdout + result.stderr).split()), path


@pytest.mark.parametrize(
    "change",
    [
        {"rows": 4096, "cols": 4096},  # 512 x 512 tiles x 3 x 3 shares
        {"rows": 1024, "buffer_share_steps": 64, "bandwidth_share_steps": 64},  # 512 x 64 x 64
    ],
)
def test_a_candidate_grid_beyond_the_bound_names_the_tile(
    tmp_path: Path, change: dict[str, int]
) -> None:
    document = tiny_scenario()
    document["array"] = document["array"] | change
    code, message, path = _message(tmp_path, document)
    assert code == 2, message
    assert str(path) in message and "array.tile:" in message, message
    assert f"at most {MAX_GRID_ENTRIES:,} entries" in message


@pytest.mark.parametrize(("phased", "key"), [(False, "dnns"), (True, "phases")])
def test_a_milp_beyond_the_bound_names_its_key(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, phased: bool, key: str
) -> None:
    monkeypatch.setattr(formulation, "MAX_MODEL_VARIABLES", 10)
    document = (
        {"kind": "polymorphic", "name": "phased"}
        | phased_document("max_min_normalised", (1.0, 20.0, 1.0))
        if phased
        else tiny_scenario()
    )
    code, message, path = _message(tmp_path, document)
    assert code == 2, message
    assert str(path) in message and f"{key}:" in message and "a MILP of at most 10" in message
