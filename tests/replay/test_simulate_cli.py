"""planner simulate's output formats: every table in CSV (``# title`` line, blank line between
tables) and JSON (``title`` and ``rows`` per table, keyed by the documented columns)."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pandas as pd

from formulations.proteus.simulate import SUMMARY_KEYS
from formulations.replay.schema import ClassResult
from tests.conftest import run_cli, write_scenario
from tests.proteus.helpers import tiny_proteus


def test_csv_prints_every_table_and_json_keys_are_the_documented_ones(tmp_path: Path) -> None:
    scenario = write_scenario(tmp_path / "s.toml", tiny_proteus())
    result = run_cli("simulate", scenario, "--runs", "1", "--format", "csv", "--duration-s", "2")
    assert result.exit_code == 0, result.stderr
    blocks = result.stdout.split("\n\n")
    assert len(blocks) == 3
    frames = []
    for block in blocks:
        title, body = block.split("\n", 1)
        assert title.startswith("# ")
        frames.append(pd.read_csv(io.StringIO(body)))
    assert list(frames[0].columns)[:3] == ["plan", "class", "requests"]
    assert list(frames[2].columns) == list(SUMMARY_KEYS)
    result = run_cli("simulate", scenario, "--runs", "1", "--format", "json", "--duration-s", "2")
    tables = json.loads(result.stdout)
    assert len(tables) == 3 and all(set(t) == {"title", "rows"} for t in tables)
    keys = [f.replace("klass", "class") for f in ClassResult.__dataclass_fields__]
    assert list(tables[0]["rows"][0]) == keys
