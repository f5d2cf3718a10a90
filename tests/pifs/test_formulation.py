"""The pifs formulation: brute force, pooled-port bound, cross-solver, certificates,
baselines, verifier mutations, bad input."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import planner
from formulations.model import ModelSize
from formulations.pifs import FORMULATION
from formulations.pifs.aggregate import fixed_tables, pooled_view, rounding_rule
from formulations.pifs.baselines import BASELINES
from formulations.pifs.deployment import BucketPlacement, PifsDeployment
from formulations.pifs.inputs import PifsInputs
from formulations.pifs.milp import Pool, build_model
from formulations.pifs.strategy import _combined
from formulations.pifs.view import MAX_PLACEMENT_COLUMNS, PifsView, per_port_columns, prepare
from formulations.types import (
    Certificate,
    ExitCode,
    InfeasibleError,
    InputError,
    SolverError,
    SolverSettings,
    SolveStatus,
    Termination,
)
from planner.backends import make_solver
from tests.conftest import ROOT
from tests.pifs.helpers import LOCALITY, SCENARIOS, brute_force, plan, tiny, view_of


@pytest.mark.parametrize("seed", range(8))
def test_milp_matches_brute_force_on_tiny_page_instances(seed: int, tmp_path: Path) -> None:
    doc = tiny(seed, engine=seed % 3 != 2)
    if seed == 4:
        doc["placement"]["separate"] = [["t0", "t1"]]
    expected = brute_force(view_of(doc))
    if not np.isfinite(expected):
        with pytest.raises(InfeasibleError):
            plan(tmp_path, doc)
        return
    assert plan(tmp_path, doc).objective.value == pytest.approx(expected, rel=1e-6)


@pytest.mark.parametrize("seed", range(4))
def test_pooled_bound_is_valid_and_auto_reaches_the_per_port_optimum(
    seed: int, tmp_path: Path
) -> None:
    doc = tiny(100 + seed, pages=False, n_tables=4, ports=3)
    exact = plan(tmp_path, {**doc, "placement": {"aggregate_ports": "never"}})
    pooled = plan(tmp_path, {**doc, "placement": {"aggregate_ports": "always"}})
    auto = plan(tmp_path, doc, mip_gap=1e-6)
    assert pooled.bound is not None
    assert pooled.bound <= exact.objective.value * (1 + 1e-7)
    # the fixed-choice LP and its repairs alone only when the Lagrangian bound certifies
    # their plan within mip_gap; otherwise the LP bound and its rounded plan as well
    assert pooled.certificate.solves >= 3 or pooled.gap <= 1e-7
    assert pooled.objective.value >= exact.objective.value * (1 - 1e-7)
    assert auto.objective.value == pytest.approx(exact.objective.value, rel=1e-5)


def test_solvers_agree(tmp_path: Path) -> None:
    doc = tiny(7)
    backends = ("highs", "cbc", "scip")
    values = {b: plan(tmp_path, doc, backend=b).objective.value for b in backends}
    assert max(values.values()) == pytest.approx(min(values.values()), rel=1e-6), values
    fractional = {**tiny(8, pages=False), "placement": {"aggregate_ports": "never"}}
    values = {b: plan(tmp_path, fractional, backend=b).objective.value for b in backends}
    assert max(values.values()) == pytest.approx(min(values.values()), rel=1e-6), values


def test_cpsat_refuses_the_continuous_busy_time_variable(tmp_path: Path) -> None:
    with pytest.raises(SolverError):
        plan(tmp_path, tiny(9), backend="cpsat")


def test_reduction_pruning_and_colocation(tmp_path: Path) -> None:
    doc = tiny(11, pages=False, n_tables=3)
    for t in doc["workload"]["tables"]:
        t["pooling"] = 1.0
    outcome = plan(tmp_path, doc)
    assert outcome.deployment.switch_reduced == []  # one lookup per sample: never pooled
    doc["placement"] = {"colocate": [["t0", "t2"]], "separate": [["t0", "t1"]]}
    outcome = plan(tmp_path, doc)
    where: dict[str, set[str]] = {}
    for p in outcome.deployment.placements:
        where.setdefault(p.table, set()).add(p.location)
    assert where["t0"] == where["t2"] and not where["t0"] & where["t1"]


def test_capacity_planning_buys_the_fewest_expanders(tmp_path: Path) -> None:
    doc = tiny(12, pages=False, n_tables=3, ports=4)
    doc["fabric"]["expander"]["capacity_gib"] *= 3
    latencies = {}
    for ports in range(1, 5):
        sub = {**doc, "fabric": {**doc["fabric"], "ports": ports}}
        latencies[ports] = plan(tmp_path, sub).objective.value
    target = latencies[3] * 1.001
    want = min(p for p, lat in latencies.items() if lat <= target)
    doc["capacity_planning"] = {"latency_target_us": target, "expander_price_usd": 1000.0}
    outcome = plan(tmp_path, doc)
    assert outcome.deployment.expanders_bought == want
    assert outcome.objective.value == pytest.approx(1000.0 * want)
    assert (outcome.objective.name, outcome.objective.unit) == ("expander_cost", "USD")


def test_milp_is_never_slower_than_a_baseline_on_shipped_scenarios() -> None:
    for name in ("rm1_8port", "rm2_8port", "rm3_8port"):
        result = planner.solve(SCENARIOS / f"{name}.toml")
        assert result.status.value == "optimal"
        assert (result.objective.name, result.objective.unit) == ("batch_latency", "us")
        assert [b.status for b in result.baselines] == ["feasible"] * len(BASELINES)
        for base in result.baselines:
            assert base.objective is not None and base.plan_advantage is not None
            assert base.objective >= result.objective.value * (1 - 1e-9), (name, base.name)
            assert base.plan_advantage >= 1 - 1e-9
            assert base.headline["latency_us"] == pytest.approx(base.objective)


def test_meta_histogram_instance_pooled_matches_per_port(tmp_path: Path) -> None:
    if not LOCALITY.exists():
        pytest.skip(f"reference data not available at {LOCALITY}")
    doc = {
        "fabric": {"ports": 3, "host_capacity_gib": 1.0, "reduction_gb_per_s": 94.5},
        "workload": {"synthetic_tables": 12, "seed": 3, "batch_size": 256},
        "hotness": {"histogram": str(LOCALITY)},
    }
    pooled = plan(tmp_path, {**doc, "placement": {"aggregate_ports": "always"}}, mip_gap=1e-4)
    exact = plan(tmp_path, {**doc, "placement": {"aggregate_ports": "never"}}, mip_gap=1e-4)
    assert pooled.gap <= 1e-4
    assert pooled.objective.value == pytest.approx(exact.objective.value, rel=2e-4)


# ------------------------------------------------------------------ verifier mutations
Solved = tuple[PifsView, PifsDeployment]


def solve_view(view: PifsView) -> PifsDeployment:
    """The formulation's own solve stage on ``view`` (no engine)."""
    return FORMULATION.solve(view, make_solver(SolverSettings())).deployment


@pytest.fixture(scope="module")
def solved() -> Solved:
    doc = tiny(21, pages=False, n_tables=3, ports=3)
    doc["placement"] = {"separate": [["t0", "t1"]], "aggregate_ports": "never"}
    view = view_of(doc)
    return view, solve_view(view)


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


def _with_inputs(view: PifsView, change: Callable[[PifsInputs], None]) -> PifsView:
    """The view of a deep copy of ``view``'s view, changed in place."""
    copy = view.inputs.model_copy(deep=True)
    change(copy)
    return FORMULATION.prepare(copy)


def _violations(view: PifsView, deployment: PifsDeployment) -> str:
    return "\n".join(FORMULATION.verify(view, deployment).violations)


def test_verifier_accepts_the_plan_after_a_json_round_trip(solved: Solved) -> None:
    view, deployment = solved
    again = PifsDeployment.model_validate_json(deployment.model_dump_json())
    assert FORMULATION.verify(view, again).ok


def test_verifier_catches_an_unplaced_bucket(solved: Solved) -> None:
    view, deployment = solved
    broken = _mutated(deployment, placements=[p.model_dump() for p in deployment.placements[1:]])
    assert "not all of it" in _violations(view, broken)


def test_verifier_catches_over_capacity(solved: Solved) -> None:
    view, deployment = solved
    broken = _relocated(deployment, lambda p: "host")
    assert "host: " in _violations(view, broken)
    assert "over its capacity" in _violations(view, broken)


def test_verifier_catches_unknown_and_duplicate_entries(solved: Solved) -> None:
    view, deployment = solved
    rows = [p.model_dump() for p in deployment.placements]
    assert "listed twice" in _violations(view, _mutated(deployment, placements=rows + rows[:1]))
    rows[0]["location"] = "port99"
    assert "unknown" in _violations(view, _mutated(deployment, placements=rows))
    assert "unknown table" in _violations(view, _mutated(deployment, switch_reduced=["nope"]))


def test_verifier_catches_separation_and_buffer_and_engine_breaches(solved: Solved) -> None:
    view, deployment = solved
    t0 = sorted({p.location for p in deployment.placements if p.table == "t0"})
    together = _relocated(deployment, lambda p: t0[0] if p.table == "t1" else p.location)
    assert "share location" in _violations(view, together)
    all_reduced = _mutated(deployment, switch_reduced=["t0", "t1", "t2"])
    assert any(p.location != "host" for p in deployment.placements)  # partial sums exist
    assert FORMULATION.verify(view, deployment).ok
    tight = _with_inputs(view, lambda i: setattr(i.fabric, "switch_buffer_mib", 0.0))
    assert "switch buffer" in _violations(tight, all_reduced)
    no_engine = _with_inputs(view, lambda i: setattr(i.fabric, "reduction_engine", False))
    assert "no reduction engine" in _violations(no_engine, all_reduced)


def test_verifier_catches_colocated_tables_apart(solved: Solved) -> None:
    view, deployment = solved
    grouped = _with_inputs(view, lambda i: setattr(i.placement, "colocate", [["t0", "t2"]]))
    apart = _relocated(deployment, lambda p: {"t0": "host", "t2": "port0"}.get(p.table, p.location))
    assert "sit at different locations" in _violations(grouped, apart)
    together = _relocated(deployment, lambda p: "port1" if p.table in ("t0", "t2") else p.location)
    assert "sit at different locations" not in _violations(grouped, together)


def test_verifier_recomputes_the_objective(solved: Solved) -> None:
    view, deployment = solved
    before = FORMULATION.verify(view, deployment).objective_value
    flipped = {p.table for p in deployment.placements if p.location != "host"}
    changed = _mutated(
        deployment, switch_reduced=sorted(flipped.symmetric_difference(deployment.switch_reduced))
    )
    assert FORMULATION.verify(view, changed).objective_value != pytest.approx(before)


def test_verifier_checks_pages_and_capacity_mode() -> None:
    doc = tiny(3)
    view = view_of(doc)
    deployment = solve_view(view)
    rows = [p.model_dump() for p in deployment.placements]
    rows[0]["pages"] = None
    assert "whole pages" in _violations(view, _mutated(deployment, placements=rows))
    rows = [p.model_dump() for p in deployment.placements]
    rows[0]["fraction"] /= 2
    assert "is not" in _violations(view, _mutated(deployment, placements=rows))
    doc = tiny(13, pages=False, n_tables=3, ports=3)
    doc["fabric"]["expander"]["capacity_gib"] *= 3
    doc["capacity_planning"] = {"latency_target_us": 1e6, "expander_price_usd": 10.0}
    view = view_of(doc)
    deployment = solve_view(view)
    assert FORMULATION.verify(view, deployment).ok
    on_last_port = _relocated(
        deployment, lambda p: "port2" if p.location != "host" else "host", expanders_bought=1
    )
    assert "only 1 expanders are bought" in _violations(view, on_last_port)
    too_many = _mutated(deployment, expanders_bought=4)
    assert "not between 0 and the 3 ports" in _violations(view, too_many)
    # any plan has a positive latency, so a target of 1 ps is always missed
    strict = _with_inputs(view, lambda i: setattr(i.capacity_planning, "latency_target_us", 1e-6))
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
        (GOOD + '[placement]\npage_kib = 4\naggregate_ports = "always"\n', "placement"),
        (GOOD + "[placement]\npage_kb = 4\n", "placement.page_kb"),
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


def test_unreachable_latency_target_is_infeasible(tmp_path: Path) -> None:
    doc = tiny(14, pages=False, n_tables=3, ports=3)
    doc["capacity_planning"] = {"latency_target_us": 1e-3, "expander_price_usd": 1.0}
    with pytest.raises(InfeasibleError, match="latency target"):
        plan(tmp_path, doc)


def test_tables_report_every_location_and_resource(solved: Solved) -> None:
    view, deployment = solved
    primary, resources, summary, per_table = FORMULATION.tables(view, deployment)
    assert [row[0] for row in primary.rows] == ["host", "port0", "port1", "port2"]
    busy = {row[0]: row[1] for row in resources.rows}
    assert {"host_dram", "upstream_link", "reduction_engine", "critical_chain_latency"} <= set(busy)
    latency = FORMULATION.verify(view, deployment).objective_value
    assert summary.rows[0][0] == pytest.approx(latency, abs=1e-3)
    assert len(per_table.rows) == 3


# ------------------------------------------------------------------ certificates, baselines
def _part(status: SolveStatus, termination: Termination) -> Certificate:
    return Certificate(status, termination, 10.0, 9.0, ModelSize(4, 2, 3))


def test_combined_certificate_is_optimal_only_within_the_gap() -> None:
    optimal = [_part(SolveStatus.OPTIMAL, Termination.OPTIMAL)] * 2
    within = _combined(optimal, 10.0, 9.99, 1e-2, "")
    assert (within.status, within.termination, within.solves) == (
        SolveStatus.OPTIMAL,
        Termination.OPTIMAL,
        2,
    )
    assert within.gap == pytest.approx(1e-3)
    # every part optimal but the strategy stopped with an open gap: a gap limit
    open_gap = _combined(optimal, 10.0, 9.0, 1e-2, "")
    assert (open_gap.status, open_gap.termination) == (SolveStatus.FEASIBLE, Termination.GAP_LIMIT)
    assert open_gap.gap == pytest.approx(0.1)
    timed = [*optimal, _part(SolveStatus.FEASIBLE, Termination.TIME_LIMIT)]
    assert _combined(timed, 10.0, 9.0, 1e-2, "").termination is Termination.TIME_LIMIT
    # a time-limited part whose plan is proven within the gap by another bound: optimal
    assert _combined(timed, 10.0, 9.999, 1e-2, "").status is SolveStatus.OPTIMAL


def test_baselines_of_the_shipped_constrained_scenarios_are_verified() -> None:
    capacity = planner.solve(SCENARIOS / "rm1_capacity.toml")
    assert (capacity.objective.name, capacity.objective.unit) == ("expander_cost", "USD")
    for base in capacity.baselines:
        assert base.objective == pytest.approx(8 * 2000.0)  # every expander bought
        if base.name == "beacon":  # pooling in the expanders: the x8 links stop binding
            assert base.status == "feasible" and base.plan_advantage is not None
            assert base.headline["latency_us"] <= 60.0
            continue
        assert base.status == "infeasible", base.name
        assert any("exceeds the target 60 us" in v for v in base.violations), base.violations
        assert base.plan_advantage is None
    groups = planner.solve(SCENARIOS / "rm1_pages_groups.toml")
    status = {b.name: b for b in groups.baselines}
    assert status["torchrec_greedy"].status == "feasible"
    for name in ("pond", "pond_local_first", "pond_hot_first", "beacon", "beacon_switch"):
        assert status[name].status == "infeasible", name
        assert any("share location" in v for v in status[name].violations)
    assert any("sit at different locations" in v for v in status["pifs_heuristic"].violations)


def test_a_baseline_that_finds_no_placement_is_no_plan(tmp_path: Path) -> None:
    doc = tiny(31, pages=False, n_tables=2, ports=2)
    # the first table is larger than any one location, so whole-table sharding fails
    doc["workload"]["tables"][0]["rows"] = 200_000
    doc["fabric"]["expander"]["capacity_gib"] = 0.55 * 200_000 * 8 * 4 / 2**30
    doc["fabric"]["host_capacity_gib"] = 0.55 * 200_000 * 8 * 4 / 2**30
    doc["workload"]["tables"][0]["dim"] = 8
    result = plan(tmp_path, doc, baselines=True)
    torchrec = result.baseline("torchrec_greedy")
    assert torchrec.status == "no_plan"
    assert "fits at no location" in torchrec.reason
    pond = result.baseline("pond")
    assert pond.status == "feasible" and pond.objective is not None
    assert pond.objective >= result.objective.value * (1 - 1e-9)


@pytest.mark.parametrize("engine", [True, False])
def test_every_fabric_switch_plans_rm1(engine: bool, tmp_path: Path) -> None:
    """reduction_engine on and off, with each aggregate_ports mode: a verified plan each
    (issue 11: reduction_engine = false once crashed the solve), the same optimum."""
    import tomllib

    doc = tomllib.loads((SCENARIOS / "rm1_8port.toml").read_text())
    doc.pop("description")
    doc.pop("kind")
    doc.pop("name")
    doc.pop("solver")
    doc["fabric"]["reduction_engine"] = engine
    latencies = []
    for mode in ("auto", "always", "never"):
        result = plan(tmp_path, {**doc, "placement": {"aggregate_ports": mode}}, mip_gap=1e-4)
        assert bool(result.deployment.switch_reduced) == engine
        latencies.append(result.objective.value)
    assert latencies == pytest.approx([latencies[0]] * 3, rel=2e-4)
    assert latencies[0] == pytest.approx(45.237 if engine else 75.712, abs=1e-3)


def test_baselines_that_fit_are_admissible_starts_in_latency_mode() -> None:
    """The MIP start and the pooled cut come from admissible baselines (a latency-mode
    check once refused every one of them for carrying expanders_bought)."""
    from formulations.pifs.baselines import placements
    from formulations.pifs.verify import placement_check
    from planner.engine import prepared_view
    from planner.scenario import load_scenario

    view = prepared_view(load_scenario(SCENARIOS / "rm3_8port.toml"))
    assert all(placement_check(view, p).ok for p in placements(view).values() if p is not None)


def test_column_limit_counts_the_model_solved_first() -> None:
    """Pooled ports: host + pool columns count (400 tables x 17 buckets x 2 fit), the
    per-port model of the same scenario (x 65 locations) is refused by name."""
    if not LOCALITY.exists():
        pytest.skip(f"reference data not available at {LOCALITY}")
    doc: dict[str, Any] = {
        "fabric": {"ports": 64, "host_capacity_gib": 128.0},
        "workload": {"synthetic_tables": 400, "seed": 1, "batch_size": 512},
        "hotness": {"histogram": str(LOCALITY)},
    }
    view = prepare(PifsInputs.model_validate(doc))
    assert per_port_columns(view) > MAX_PLACEMENT_COLUMNS
    with pytest.raises(InputError, match=r"workload\.synthetic_tables"):
        prepare(PifsInputs.model_validate({**doc, "placement": {"aggregate_ports": "never"}}))


def test_pooled_model_with_its_cut_drops_presence_and_rounds_to_a_plan(tmp_path: Path) -> None:
    """With the port-count cut the pooled model has no per-bucket presence rows; the rounded
    LP (table choices fixed) is solvable and no better than the relaxation it restricts."""
    doc = tiny(7, pages=False, n_tables=6, ports=3)
    view = prepare(PifsInputs.model_validate(doc))
    pooled = pooled_view(view)
    port = view.fabric.ports[0].bandwidth_gb_per_s
    with_cut = build_model(pooled, Pool(3, port, 1e6))
    without = build_model(pooled, Pool(3, port, None))
    blocks = {str(n).split("[")[0] for n in with_cut.matrix.row_names}
    assert "presence" not in blocks and "port_count_cut" in blocks
    assert "presence" in {str(n).split("[")[0] for n in without.matrix.row_names}
    solver = make_solver(SolverSettings())
    lp = solver.solve(with_cut.matrix.relaxation())
    fixed = solver.solve(fixed_tables(view, with_cut, *rounding_rule(view, with_cut, lp.x)))
    assert fixed.status.has_solution
    assert lp.objective is not None and fixed.objective is not None
    assert fixed.objective >= lp.objective * (1 - 1e-9)  # a restriction of the relaxation
