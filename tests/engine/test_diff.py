"""planner diff: what changed between two plans, keyed so reordering is no change."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from planner import registry
from planner.diff import diff_plans, flatten
from tests.conftest import run_cli, to_toml

ITEMS = [
    {"name": "a", "value_usd": 10.0, "weight_kg": 5.0, "max_count": 2},
    {"name": "b", "value_usd": 7.0, "weight_kg": 3.0, "max_count": 3},
]


def test_lists_of_objects_are_keyed_by_their_text_fields() -> None:
    value = {"pools": [{"gpu": "T4", "count": 2}, {"gpu": "L4", "count": 1}]}
    assert dict(flatten(value)) == {"pools[T4].count": 2, "pools[L4].count": 1}
    reordered = {"pools": [{"gpu": "L4", "count": 1}, {"gpu": "T4", "count": 3}]}
    old = {"kind": "k", "objective": 1.0, "scenario": {"sha256": "x"}, "deployment": value}
    new = {"kind": "k", "objective": 1.5, "scenario": {"sha256": "x"}, "deployment": reordered}
    d = diff_plans(old, new, "old.json", "new.json")
    assert [(c.path, c.old, c.new, c.delta) for c in d.changes] == [
        ("deployment.pools[T4].count", 2, 3, 1.0)
    ]
    assert d.objective_change_pct == pytest.approx(50.0)
    assert not d.scenario_changed


def test_cli_diff_of_two_toy_plans(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(registry.KINDS, "toy", "tests.contract.toy")
    plans = []
    for capacity in (12.0, 30.0):
        scenario = tmp_path / f"toy{capacity:g}.toml"
        scenario.write_text(to_toml({"kind": "toy", "capacity_kg": capacity, "items": ITEMS}))
        plan = tmp_path / f"plan{capacity:g}.json"
        assert run_cli("solve", scenario, "-o", plan).exit_code == 0
        plans.append(plan)
    result = run_cli("diff", *plans, "--format", "json")
    assert result.exit_code == 0
    document = json.loads(result.stdout)
    assert document["scenario_changed"] is True
    changed = {c["path"]: (c["old"], c["new"]) for c in document["changes"]}
    assert changed["deployment.counts.a"] == (1, 2)  # 12 kg: a x1 b x2; 30 kg: a x2 b x3
    assert changed["deployment.counts.b"] == (2, 3)
    markdown = run_cli("diff", *plans, "--format", "markdown").stdout
    assert markdown.startswith("### planner diff") and "| `deployment.counts.a` |" in markdown
    assert run_cli("diff", plans[0], plans[0]).stdout.count("No change") == 1
