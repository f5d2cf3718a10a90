"""The pifs baselines: Pond's memory rules against brute force, every baseline's plan
verified, the BEACON sites, every fabric switch planned or refused (issue 11)."""

from __future__ import annotations

import itertools
import tomllib
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from formulations.pifs.baselines import BASELINES, placements
from formulations.pifs.view import cost
from tests.conftest import run_cli, write_scenario
from tests.pifs.helpers import SCENARIOS, plan, tiny, view_of


def _rm1() -> dict[str, Any]:
    doc = tomllib.loads((SCENARIOS / "rm1_8port.toml").read_text())
    for key in ("description", "kind", "name", "solver"):
        doc.pop(key)
    return doc


def test_pond_local_first_matches_a_first_touch_allocator() -> None:
    """Rows allocated one by one, table after table, to host DRAM while it has room, then
    to the pool, each row in turn on the next expander: the baseline's shares, exactly
    (up to one row), whatever the hotness."""
    doc = tiny(3, pages=False, n_tables=3, ports=2)
    view = view_of(doc)
    work, bk = view.workload, view.buckets
    room = view.fabric.host.capacity_bytes
    host_rows = []
    for table in work.tables:
        on_host = 0
        for _ in range(table.rows):
            if room >= table.row_bytes:
                room -= table.row_bytes
                on_host += 1
        host_rows.append(on_host)
    units = placements(view)["pond_local_first"].units
    for t, table in enumerate(work.tables):
        mine = units[bk.table == t]
        # every bucket alike: the table's host share, the rest split evenly over the ports
        share = host_rows[t] / table.rows
        np.testing.assert_allclose(mine[:, 0], share, atol=1.0 / table.rows)
        np.testing.assert_allclose(mine[:, 1], mine[:, 2])
    # the instance exercises the boundary: some rows on the host, some in the pool
    assert 0 < sum(host_rows) < sum(t.rows for t in work.tables)


@pytest.mark.parametrize("seed", range(4))
def test_pond_hot_first_serves_the_most_lookups_from_host_dram(seed: int) -> None:
    """Over every way of giving whole pages of the buckets to host DRAM within its budget
    (brute force), none serves more lookup bytes from host DRAM than the baseline's."""
    view = view_of(tiny(seed, pages=True, n_tables=2, ports=2))
    bk = view.buckets
    page = view.page_bytes
    assert page is not None
    budget_pages = int(view.fabric.host.capacity_bytes // page)
    best = 0.0
    for counts in itertools.product(*(range(int(n) + 1) for n in bk.units)):
        if sum(counts) <= budget_pages:
            best = max(best, float(np.dot(counts, bk.unit_lookup_bytes)))
    units = placements(view)["pond_hot_first"].units
    assert units[:, 0].sum() <= budget_pages
    assert float(units[:, 0] @ bk.unit_lookup_bytes) == pytest.approx(best, rel=1e-12)


def test_every_baseline_plan_verifies_and_beacon_sites_are_kept(tmp_path: Path) -> None:
    result = plan(tmp_path, {**_rm1(), "placement": {}}, mip_gap=1e-4, baselines=True)
    names = {b.name for b in result.baselines}
    assert names == {b.name for b in BASELINES}
    for baseline in result.baselines:
        assert baseline.status == "feasible", (baseline.name, baseline.violations)
        assert baseline.objective is not None
        assert baseline.objective >= result.objective.value * (1 - 1e-9)
    sites = {b.name: b.deployment.reduction_site for b in result.baselines}
    assert (sites["beacon"], sites["beacon_switch"], sites["pond"]) == ("memory", "switch", "port")
    # Pond with host DRAM beats Pond without it; hot rows first beats first touch
    by = {b.name: b.objective for b in result.baselines}
    assert by["pond_hot_first"] < by["pond_local_first"] < by["pond"]


def test_beacon_switch_sends_one_vector_per_sample_and_table() -> None:
    """The same interleaved placement scored at the ports (one pooled vector per port
    holding a table) and in the switch (one per table): P times fewer upstream bytes."""
    view = view_of(_rm1())
    placement = placements(view)["beacon_switch"]
    assert placement is not None and placement.site == "switch"
    per_port = cost(view, replace(placement, site="port"))
    in_switch = cost(view, placement)
    ports = len(view.fabric.ports)
    assert per_port.upstream_bytes == pytest.approx(ports * in_switch.upstream_bytes)


@pytest.mark.parametrize("seed", range(3))
def test_reduction_gain_is_at_least_one_where_the_engine_exists(seed: int, tmp_path: Path) -> None:
    doc = tiny(seed, pages=False, n_tables=3, ports=2)
    with_engine = plan(tmp_path, doc).objective.value
    doc["fabric"]["reduction_engine"] = False
    without = plan(tmp_path, doc).objective.value
    assert without >= with_engine * (1 - 1e-6)


SWITCHES = [("reduction_engine", value) for value in (True, False)] + [
    (key, lanes) for key in ("upstream_lanes", "expander.port_lanes") for lanes in (1, 2, 4, 8, 16)
]


@pytest.mark.parametrize(("key", "value"), SWITCHES, ids=[f"{k}={v}" for k, v in SWITCHES])
def test_every_fabric_switch_solves_rm1_or_says_why(
    key: str, value: object, tmp_path: Path
) -> None:
    """Each boolean and enum under ``fabric.`` on rm1_8port: a verified plan (exit 0) or
    exit 2/3 with a reason; never a crash (exit 1)."""
    doc = {"kind": "pifs", "name": "rm1", **_rm1()}
    fabric = doc["fabric"]
    if key.startswith("expander."):
        fabric["expander"] = {key.removeprefix("expander."): value}
    else:
        fabric[key] = value
    path = write_scenario(tmp_path / "rm1.toml", doc)
    result = run_cli("solve", path, "--format", "json", "--mip-gap", "1e-4", "--time-limit", "5")
    assert result.exit_code in (0, 2, 3), result.stdout + result.stderr
    if result.exit_code:
        assert result.stderr.strip(), "a refusal names its reason"
    else:
        assert '"verification"' in result.stdout or '"objective"' in result.stdout
