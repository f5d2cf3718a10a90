"""The pifs formulation: brute force, pooled-port bound, cross-solver, verifier, bad input."""

from __future__ import annotations

import itertools
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import planner
from cost_models.pifs.busy import HOLDS_EPS, batch_cost
from formulations.pifs import FORMULATION
from formulations.pifs.inputs import BucketPlacement, PifsDeployment, PifsInputs
from formulations.types import (
    ExitCode,
    InfeasibleError,
    InputError,
    Outcome,
    SolverError,
    SolverSettings,
)
from planner.backends import make_solver

ROOT = Path(__file__).resolve().parents[1]
SCENARIOS = ROOT / "scenarios" / "pifs"
LOCALITY = ROOT.parent / "shared" / "reference" / "dlrm" / "meta_2022_locality_stats.txt"


def tiny(
    seed: int, *, pages: bool = True, engine: bool = True, n_tables: int = 2, ports: int = 2
) -> dict[str, Any]:
    """A random tiny instance whose bandwidths and capacities make trade-offs bind."""
    rng = np.random.default_rng(seed)
    tables = [
        {
            "name": f"t{i}",
            "rows": int(rng.integers(200, 2000)),
            "dim": int(rng.choice([4, 8])),
            "bytes_per_element": 4,
            "pooling": float(rng.choice([1.0, 3.0, 8.0])),
        }
        for i in range(n_tables)
    ]
    total = sum(t["rows"] * t["dim"] * 4 for t in tables)
    doc: dict[str, Any] = {
        "fabric": {
            "ports": ports,
            "host_capacity_gib": float(rng.uniform(0.2, 0.6)) * total / 2**30,
            "host_dram_gb_per_s": float(rng.uniform(10, 100)),
            "upstream_lanes": int(rng.choice([1, 2, 4])),
            "reduction_engine": engine,
            "reduction_gb_per_s": float(rng.uniform(5, 50)),
            "switch_buffer_mib": float(rng.choice([1.0, 40 / 2**20])),
            "expander": {
                "capacity_gib": float(rng.uniform(0.3, 0.9)) * total / 2**30,
                "channels": 1,
                "channel_gb_per_s": float(rng.uniform(5, 40)),
                "efficiency": 1.0,
            },
        },
        "workload": {"tables": tables, "batch_size": 64},
        "hotness": {"zipf_exponent": float(rng.uniform(0.6, 1.3)), "buckets": 2},
    }
    if pages:
        largest = max(t["rows"] * t["dim"] * 4 for t in tables) / 2
        doc["placement"] = {"page_kb": float(np.ceil(largest / 2 / 1024 + 1e-9))}
    return doc


def inputs_of(doc: dict[str, Any]) -> PifsInputs:
    return PifsInputs.model_validate(doc)


def plan(doc: dict[str, Any], backend: str = "highs", mip_gap: float = 1e-7) -> Outcome:
    inputs = inputs_of(doc)
    outcome = FORMULATION.plan(
        inputs, make_solver(SolverSettings(backend=backend, mip_gap=mip_gap))
    )
    check = FORMULATION.verify(inputs, outcome.deployment)
    assert check.ok, check.violations
    assert check.objective_value == pytest.approx(outcome.objective.value, rel=1e-5)
    return outcome


def brute_force(inputs: PifsInputs) -> float:
    """Minimum latency over every page assignment and every reduction choice."""
    problem = inputs.problem
    fabric, work = problem.fabric, problem.workload
    n_l = len(fabric.locations)
    page = problem.page_bytes
    assert page is not None
    buckets = [(t, b) for t, tab in enumerate(work.tables) for b in range(len(tab.buckets))]
    options = []
    for t, b in buckets:
        n = problem.pages(t, b)
        options.append([c for c in itertools.product(range(n + 1), repeat=n_l) if sum(c) == n])
    cap = np.array([loc.capacity_bytes for loc in fabric.locations])
    reductions = (
        list(itertools.product([False, True], repeat=len(work.tables)))
        if fabric.has_reduction
        else [(False,) * len(work.tables)]
    )
    best = np.inf
    for choice in itertools.product(*options):
        counts = np.array(choice, dtype=float)
        if np.any(counts.sum(axis=0) * page > cap * (1 + 1e-9)):
            continue
        fractions = [np.zeros((len(tab.buckets), n_l)) for tab in work.tables]
        for (t, b), c in zip(buckets, counts, strict=True):
            fractions[t][b] = c / problem.pages(t, b)
        present = [set(np.flatnonzero((f > HOLDS_EPS).any(axis=0))) for f in fractions]
        names = {tab.name: i for i, tab in enumerate(work.tables)}
        if any(
            present[names[a]] & present[names[b]]
            for group in inputs.placement.separate
            for a, b in itertools.combinations(group, 2)
        ):
            continue
        for reduced in reductions:
            cost = batch_cost(fabric, work, fractions, reduced, problem.window_samples)
            if cost.buffer_bytes <= fabric.switch_buffer_bytes * (1 + 1e-9):
                best = min(best, cost.latency_us)
    return best


@pytest.mark.parametrize("seed", range(8))
def test_milp_matches_brute_force_on_tiny_page_instances(seed: int) -> None:
    doc = tiny(seed, engine=seed % 3 != 2)
    if seed == 4:
        doc["placement"]["separate"] = [["t0", "t1"]]
    expected = brute_force(inputs_of(doc))
    if not np.isfinite(expected):
        with pytest.raises(InfeasibleError):
            plan(doc)
        return
    assert plan(doc).objective.value == pytest.approx(expected, rel=1e-6)


@pytest.mark.parametrize("seed", range(4))
def test_pooled_bound_is_valid_and_auto_reaches_the_per_port_optimum(seed: int) -> None:
    doc = tiny(100 + seed, pages=False, n_tables=4, ports=3)
    exact = plan({**doc, "placement": {"aggregate_ports": "never"}})
    pooled = plan({**doc, "placement": {"aggregate_ports": "always"}})
    auto = plan(doc, mip_gap=1e-6)
    assert pooled.result.bound <= exact.objective.value * (1 + 1e-7)
    assert pooled.objective.value >= exact.objective.value * (1 - 1e-7)
    assert auto.objective.value == pytest.approx(exact.objective.value, rel=1e-5)


def test_solvers_agree() -> None:
    doc = tiny(7)
    values = {b: plan(doc, backend=b).objective.value for b in ("highs", "cbc", "scip")}
    assert max(values.values()) == pytest.approx(min(values.values()), rel=1e-6), values
    fractional = {**tiny(8, pages=False), "placement": {"aggregate_ports": "never"}}
    values = {b: plan(fractional, backend=b).objective.value for b in ("highs", "cbc", "scip")}
    assert max(values.values()) == pytest.approx(min(values.values()), rel=1e-6), values


def test_cpsat_refuses_the_continuous_busy_time_variable() -> None:
    with pytest.raises(SolverError):
        FORMULATION.plan(inputs_of(tiny(9)), make_solver(SolverSettings(backend="cpsat")))


def test_reduction_pruning_and_colocation() -> None:
    doc = tiny(11, pages=False, n_tables=3)
    for t in doc["workload"]["tables"]:
        t["pooling"] = 1.0
    outcome = plan(doc)
    assert outcome.deployment.switch_reduced == []  # one lookup per sample: never pooled
    doc["placement"] = {"colocate": [["t0", "t2"]], "separate": [["t0", "t1"]]}
    outcome = plan(doc)
    where: dict[str, set[str]] = {}
    for p in outcome.deployment.placements:
        where.setdefault(p.table, set()).add(p.location)
    assert where["t0"] == where["t2"] and not where["t0"] & where["t1"]


def test_capacity_planning_buys_the_fewest_expanders() -> None:
    doc = tiny(12, pages=False, n_tables=3, ports=4)
    doc["fabric"]["expander"]["capacity_gib"] *= 3
    latencies = {}
    for ports in range(1, 5):
        sub = {**doc, "fabric": {**doc["fabric"], "ports": ports}}
        latencies[ports] = plan(sub).objective.value
    target = latencies[3] * 1.001
    want = min(p for p, lat in latencies.items() if lat <= target)
    doc["capacity_planning"] = {"latency_target_us": target, "expander_price_usd": 1000.0}
    outcome = plan(doc)
    assert outcome.deployment.expanders_bought == want
    assert outcome.objective.value == pytest.approx(1000.0 * want)


def test_milp_is_never_slower_than_a_baseline_on_shipped_scenarios() -> None:
    for name in ("rm1_8port", "rm2_8port", "rm3_8port"):
        result = planner.solve(SCENARIOS / f"{name}.toml")
        assert result.status.value == "optimal"
        for base, numbers in result.baselines.items():
            assert numbers["latency_us"] >= result.objective.value * (1 - 1e-9), (name, base)


def test_meta_histogram_instance_pooled_matches_per_port() -> None:
    if not LOCALITY.exists():
        pytest.skip(f"reference data not available at {LOCALITY}")
    doc = {
        "fabric": {"ports": 3, "host_capacity_gib": 1.0, "reduction_gb_per_s": 94.5},
        "workload": {"synthetic_tables": 12, "seed": 3, "batch_size": 256},
        "hotness": {"histogram": str(LOCALITY)},
    }
    pooled = plan({**doc, "placement": {"aggregate_ports": "always"}}, mip_gap=1e-4)
    exact = plan({**doc, "placement": {"aggregate_ports": "never"}}, mip_gap=1e-4)
    assert pooled.result.gap <= 1e-4
    assert pooled.objective.value == pytest.approx(exact.objective.value, rel=2e-4)


# ------------------------------------------------------------------ verifier mutations
@pytest.fixture(scope="module")
def solved() -> tuple[PifsInputs, PifsDeployment]:
    doc = tiny(21, pages=False, n_tables=3, ports=3)
    doc["placement"] = {"separate": [["t0", "t1"]], "aggregate_ports": "never"}
    inputs = inputs_of(doc)
    outcome = FORMULATION.plan(inputs, make_solver(SolverSettings()))
    return inputs, outcome.deployment


def _mutated(deployment: PifsDeployment, **changes: Any) -> PifsDeployment:
    data = deployment.model_dump()
    data.update(changes)
    return PifsDeployment.model_validate(data)


def _relocated(
    deployment: PifsDeployment, location_of: Callable[[BucketPlacement], str], **changes: Any
) -> PifsDeployment:
    """Every placement moved to ``location_of(p)``, shares of one bucket at one place merged."""
    merged: dict[tuple[str, str, str], dict[str, Any]] = {}
    for p in deployment.placements:
        row = {**p.model_dump(), "location": location_of(p)}
        key = (row["table"], row["bucket"], row["location"])
        merged.setdefault(key, {**row, "fraction": 0.0})["fraction"] += row["fraction"]
    return _mutated(deployment, placements=list(merged.values()), **changes)


def _with_inputs(inputs: PifsInputs, change: Callable[[PifsInputs], None]) -> PifsInputs:
    """A deep copy of ``inputs`` changed in place, its cached cost-model view dropped."""
    copy = inputs.model_copy(deep=True)
    change(copy)
    copy.__dict__.pop("problem", None)
    return copy


def _violations(inputs: PifsInputs, deployment: PifsDeployment) -> str:
    return "\n".join(FORMULATION.verify(inputs, deployment).violations)


def test_verifier_accepts_the_plan_after_a_json_round_trip(solved: tuple) -> None:
    inputs, deployment = solved
    again = PifsDeployment.model_validate_json(deployment.model_dump_json())
    assert FORMULATION.verify(inputs, again).ok


def test_verifier_catches_an_unplaced_bucket(solved: tuple) -> None:
    inputs, deployment = solved
    broken = _mutated(deployment, placements=[p.model_dump() for p in deployment.placements[1:]])
    assert "not all of it" in _violations(inputs, broken)


def test_verifier_catches_over_capacity(solved: tuple) -> None:
    inputs, deployment = solved
    broken = _relocated(deployment, lambda p: "host")
    assert "host: " in _violations(inputs, broken)
    assert "over its capacity" in _violations(inputs, broken)


def test_verifier_catches_unknown_and_duplicate_entries(solved: tuple) -> None:
    inputs, deployment = solved
    rows = [p.model_dump() for p in deployment.placements]
    assert "listed twice" in _violations(inputs, _mutated(deployment, placements=rows + rows[:1]))
    rows[0]["location"] = "port99"
    assert "unknown" in _violations(inputs, _mutated(deployment, placements=rows))
    assert "unknown table" in _violations(inputs, _mutated(deployment, switch_reduced=["nope"]))


def test_verifier_catches_separation_and_buffer_and_engine_breaches(solved: tuple) -> None:
    inputs, deployment = solved
    t0 = sorted({p.location for p in deployment.placements if p.table == "t0"})
    together = _relocated(deployment, lambda p: t0[0] if p.table == "t1" else p.location)
    assert "share location" in _violations(inputs, together)
    all_reduced = _mutated(deployment, switch_reduced=["t0", "t1", "t2"])
    assert any(p.location != "host" for p in deployment.placements)  # partial sums exist
    assert FORMULATION.verify(inputs, deployment).ok
    tight = _with_inputs(inputs, lambda i: setattr(i.fabric, "switch_buffer_mib", 0.0))
    assert "switch buffer" in _violations(tight, all_reduced)
    no_engine = _with_inputs(inputs, lambda i: setattr(i.fabric, "reduction_engine", False))
    assert "no reduction engine" in _violations(no_engine, all_reduced)


def test_verifier_catches_colocated_tables_apart(solved: tuple) -> None:
    inputs, deployment = solved
    grouped = _with_inputs(inputs, lambda i: setattr(i.placement, "colocate", [["t0", "t2"]]))
    apart = _relocated(deployment, lambda p: {"t0": "host", "t2": "port0"}.get(p.table, p.location))
    assert "sit at different locations" in _violations(grouped, apart)
    together = _relocated(deployment, lambda p: "port1" if p.table in ("t0", "t2") else p.location)
    assert "sit at different locations" not in _violations(grouped, together)


def test_verifier_recomputes_the_objective(solved: tuple) -> None:
    inputs, deployment = solved
    before = FORMULATION.verify(inputs, deployment).objective_value
    flipped = {p.table for p in deployment.placements if p.location != "host"}
    changed = _mutated(
        deployment, switch_reduced=sorted(flipped.symmetric_difference(deployment.switch_reduced))
    )
    assert FORMULATION.verify(inputs, changed).objective_value != pytest.approx(before)


def test_verifier_checks_pages_and_capacity_mode() -> None:
    doc = tiny(3)
    inputs = inputs_of(doc)
    deployment = FORMULATION.plan(inputs, make_solver(SolverSettings())).deployment
    rows = [p.model_dump() for p in deployment.placements]
    rows[0]["pages"] = None
    assert "whole pages" in _violations(inputs, _mutated(deployment, placements=rows))
    rows = [p.model_dump() for p in deployment.placements]
    rows[0]["fraction"] /= 2
    assert "is not" in _violations(inputs, _mutated(deployment, placements=rows))
    doc = tiny(13, pages=False, n_tables=3, ports=3)
    doc["fabric"]["expander"]["capacity_gib"] *= 3
    doc["capacity_planning"] = {"latency_target_us": 1e6, "expander_price_usd": 10.0}
    inputs = inputs_of(doc)
    deployment = FORMULATION.plan(inputs, make_solver(SolverSettings())).deployment
    assert FORMULATION.verify(inputs, deployment).ok
    on_last_port = _relocated(
        deployment, lambda p: "port2" if p.location != "host" else "host", expanders_bought=1
    )
    assert "only 1 expanders are bought" in _violations(inputs, on_last_port)
    too_many = _mutated(deployment, expanders_bought=4)
    assert "not between 0 and the 3 ports" in _violations(inputs, too_many)
    # any plan has a positive latency, so a target of 1 ps is always missed
    strict = _with_inputs(inputs, lambda i: setattr(i.capacity_planning, "latency_target_us", 1e-6))
    assert "exceeds the target" in _violations(strict, deployment)


# ------------------------------------------------------------------ bad input
def _scenario(tmp_path: Path, body: str) -> Path:
    path = tmp_path / "s.toml"
    path.write_text('kind = "pifs"\n' + body)
    return path


GOOD = """
[fabric]
ports = 2
[workload]
preset = "rm3"
batch_size = 64
[hotness]
zipf_exponent = 1.0
"""


def test_table_larger_than_all_memory_is_infeasible_and_named(tmp_path: Path) -> None:
    body = GOOD.replace("ports = 2", "ports = 2\nexpander = { capacity_gib = 0.1 }")
    body = body.replace(
        'preset = "rm3"',
        'tables = [{ name = "huge", rows = 100000000, '
        'dim = 64, pooling = 4 }, { name = "small", rows = 10, dim = 4, '
        "pooling = 1 }]",
    )
    path = _scenario(tmp_path, body)
    with pytest.raises(InfeasibleError, match="table huge needs"):
        planner.solve(path)
    run = subprocess.run(
        [sys.executable, "-m", "cli", "solve", str(path)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    assert run.returncode == ExitCode.INFEASIBLE, run.stderr
    assert "huge" in run.stderr


@pytest.mark.parametrize(
    ("body", "key"),
    [
        (GOOD.replace('preset = "rm3"\n', ""), "workload"),
        (GOOD + 'histogram = "nowhere.txt"\n', "hotness.histogram"),
        (
            GOOD.replace("zipf_exponent = 1.0", 'zipf_exponent = 1.0\nhistogram = "s.toml"'),
            "hotness",
        ),
        (GOOD + '[placement]\ncolocate = [["rm3_t0", "nope"]]\n', "placement"),
        (GOOD + '[placement]\npage_kb = 4\naggregate_ports = "always"\n', "placement"),
        (GOOD.replace("ports = 2", "ports = 0"), "fabric.ports"),
        (GOOD + "unknown_key = 1\n", "unknown_key"),
    ],
)
def test_bad_input_names_the_key(tmp_path: Path, body: str, key: str) -> None:
    with pytest.raises(InputError) as info:
        planner.solve(_scenario(tmp_path, body))
    assert info.value.exit_code == ExitCode.INVALID_INPUT
    assert key in str(info.value)


def test_malformed_histogram_file_is_invalid_input(tmp_path: Path) -> None:
    (tmp_path / "h.txt").write_text("not a histogram\n")
    body = GOOD.replace("zipf_exponent = 1.0", 'histogram = "h.txt"')
    with pytest.raises(InputError) as info:
        planner.solve(_scenario(tmp_path, body))
    assert info.value.exit_code == ExitCode.INVALID_INPUT


def test_unreachable_latency_target_is_infeasible() -> None:
    doc = tiny(14, pages=False, n_tables=3, ports=3)
    doc["capacity_planning"] = {"latency_target_us": 1e-3, "expander_price_usd": 1.0}
    with pytest.raises(InfeasibleError, match="latency target"):
        FORMULATION.plan(inputs_of(doc), make_solver(SolverSettings()))


def test_tables_report_every_location_and_resource(solved: tuple) -> None:
    inputs, deployment = solved
    primary, resources, summary, per_table = FORMULATION.tables(inputs, deployment)
    assert [row[0] for row in primary.rows] == ["host", "port0", "port1", "port2"]
    busy = {row[0]: row[1] for row in resources.rows}
    assert {"host_dram", "upstream_link", "reduction_engine", "critical_chain_latency"} <= set(busy)
    latency = FORMULATION.verify(inputs, deployment).objective_value
    assert summary.rows[0][0] == pytest.approx(latency, abs=1e-3)
    assert len(per_table.rows) == 3
