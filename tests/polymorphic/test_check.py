"""``planner check`` for polymorphic (issue 18), on a tiny two-DNN array (the shipped
scenarios take 15-40 s per solve on the test machine).

The committed decisions are the partition: design, rectangles, buffer and bandwidth
shares, time shares and per-layer dataflows. Refit keeps them and re-measures each DNN;
the partition covers a scenario when every DNN meets its throughput floor. The
scenario's "demand" is the floors: lowered, the partition covers them (a fresh plan
could then do better, exit 6; on this array it does not: exit 0); raised past what the
partition achieves, each short DNN is named with its floor and its throughput. More DRAM
bandwidth (capacity added: a fresh plan gains 11.5%, exit 6) and a new weight (the
objective's "price": exit 0) keep it covering.
"""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest

import planner
from formulations.polymorphic import FORMULATION
from formulations.polymorphic.deployment import PolymorphicDeployment
from formulations.polymorphic.verify import measure
from formulations.types import ExitCode
from planner.engine import prepared_view
from tests.polymorphic.helpers import TINY_ARRAY, tiny_scenario
from tests.polymorphic.test_phases import phased_document
from tests.tampering import outcomes, unexplained_passes

FLOORED = ("cnn", "rnn")
FLOOR_SHARE = 0.95  # the committed plan's floors: this share of what a free plan achieves


def base() -> dict[str, Any]:
    return tiny_scenario(
        objective="max_weighted",
        dnns=[
            {"name": "cnn", "network": "mobilenet_v2"},
            {"name": "rnn", "network": "gru_1024", "batch": 2, "weight": 10.0},
        ],
    )


def rates(scenario: planner.Scenario, deployment: Any) -> dict[str, float]:
    assert isinstance(deployment, PolymorphicDeployment)
    view = prepared_view(scenario)
    return {
        a.dnn: measure(view, deployment.design, a).throughput_inferences_per_s
        for a in deployment.accelerators
    }


@pytest.fixture(scope="module")
def committed() -> tuple[dict[str, Any], planner.Plan]:
    """A scenario whose floors sit just under what its plan achieves, and that plan."""
    free = planner.scenario_from_dict(base(), file="free.toml")
    achieved = rates(free, planner.solve(free, baselines=False).deployment)
    document = base()
    for dnn in document["dnns"]:
        dnn["min_throughput_inferences_per_s"] = FLOOR_SHARE * achieved[dnn["name"]]
    scenario = planner.scenario_from_dict(document, file="floored.toml")
    return document, planner.solve(scenario, baselines=False)


def check(
    committed: tuple[dict[str, Any], planner.Plan], document: dict[str, Any], folder: Path
) -> planner.CheckReport:
    plan = folder / "plan.json"
    plan.write_text(committed[1].to_json())
    return planner.check(plan, planner.scenario_from_dict(document, file="changed.toml"))


def floors_times(document: dict[str, Any], factor: float) -> dict[str, Any]:
    out = copy.deepcopy(document)
    for dnn in out["dnns"]:
        dnn["min_throughput_inferences_per_s"] *= factor
    return out


def assert_passes(report: planner.CheckReport, code: ExitCode, gap: float = 0.0) -> None:
    assert report.shortfalls == [] and report.violations == [], report.to_dict()
    assert (report.exit_code, report.gap) == (code, pytest.approx(gap, rel=0.01, abs=1e-9))


def test_lower_floors_are_covered(committed: Any, tmp_path: Path) -> None:
    assert_passes(check(committed, floors_times(committed[0], 0.8), tmp_path), ExitCode.OK)


def test_higher_floors_name_each_short_dnn(committed: Any, tmp_path: Path) -> None:
    document, plan = committed
    achieved = rates(planner.scenario_from_dict(document), plan.deployment)
    report = check(committed, floors_times(document, 1.3), tmp_path)
    assert report.exit_code is ExitCode.INFEASIBLE
    floors = {d["name"]: 1.3 * d["min_throughput_inferences_per_s"] for d in document["dnns"]}
    short = {s.what: s for s in report.shortfalls}
    # 1.3 x 0.95 of a free plan's rate: above what the committed partition achieves
    expected = sorted(f"dnn {n}" for n in FLOORED if floors[n] > achieved[n])
    assert sorted(short) == expected and expected
    for name in FLOORED:
        s = short.get(f"dnn {name}")
        if s is not None:
            assert s.required == pytest.approx(floors[name])
            assert s.available == pytest.approx(achieved[name], rel=1e-9)
            assert s.unit == "inferences/s"
    assert json.loads(json.dumps(report.to_dict()))["verdict"] == "infeasible"


def test_more_bandwidth_and_a_new_weight_are_covered(committed: Any, tmp_path: Path) -> None:
    wider = copy.deepcopy(committed[0])
    wider["array"]["dram_gb_per_s"] = 1.5 * TINY_ARRAY["dram_gb_per_s"]
    # 1.5 x the DRAM bandwidth: the committed partition still covers the floors, and a
    # fresh one, bandwidth-bound before, gains 11.5% of weighted throughput (exit 6)
    assert_passes(check(committed, wider, tmp_path), ExitCode.SUBOPTIMAL, 0.114707)
    weighted = copy.deepcopy(committed[0])
    weighted["dnns"][1]["weight"] = 20.0
    assert_passes(check(committed, weighted, tmp_path), ExitCode.OK)


def cells(deployment: dict[str, Any]) -> list[set[tuple[int, int]]]:
    return [
        {
            (r, c)
            for r in range(a["row_offset"], a["row_offset"] + a["rows"])
            for c in range(a["col_offset"], a["col_offset"] + a["cols"])
        }
        for a in deployment["accelerators"]
    ]


def test_no_tampered_plan_passes(committed: Any, tmp_path: Path) -> None:
    document, plan = committed
    scenario = planner.scenario_from_dict(document, file="floored.toml")
    found = outcomes(plan, scenario, tmp_path, "polymorphic")
    original = rates(scenario, plan.deployment)
    # Harmless: a rectangle moved or resized within the array, still disjoint from the
    # other (PE cells counted here, not by the verifier), with its DNN's throughput
    # unchanged (its layers are bound by the buffer or DRAM share, not the PEs): an
    # equally good partition.
    harmless: dict[str, str] = {}
    for how, outcome in found.items():
        field = how.split(" ")[0]
        if outcome.exit_code is not ExitCode.OK or not field.startswith("accelerators."):
            continue
        _, index, key = field.split(".")
        if key not in ("rows", "cols", "row_offset", "col_offset"):
            continue
        tampered = plan.deployment.model_dump()
        accelerator = tampered["accelerators"][int(index)]
        value = {"zero": 0, "doubled": 2 * accelerator[key]}.get(how.split(" ", 1)[1])
        if value is None:
            continue
        accelerator[key] = value
        a, b = cells(tampered)
        inside = all(0 <= r < TINY_ARRAY["rows"] and 0 <= c < TINY_ARRAY["cols"] for r, c in a | b)
        same = rates(scenario, PolymorphicDeployment.model_validate(tampered)) == original
        if inside and not a & b and same:
            harmless[how] = "an equally good partition"
    assert unexplained_passes(found, harmless) == []
    codes = {o.exit_code for o in found.values()}
    assert codes <= {ExitCode.OK, ExitCode.INVALID_INPUT, ExitCode.INFEASIBLE}, found
    assert {ExitCode.INVALID_INPUT, ExitCode.INFEASIBLE} <= codes
    assert len(found) >= 60


@pytest.fixture(scope="module")
def committed_phases() -> tuple[dict[str, Any], planner.Plan]:
    """A two-phase scenario whose shared DNN's floor in phase b sits just under what its
    plan achieves there, and that plan."""
    body = phased_document("max_weighted", (1.0, 0.001, 10.0))
    free = planner.scenario_from_dict({"kind": "polymorphic", "name": "free"} | body)
    plan = planner.solve(free, baselines=False)
    achieved = FORMULATION.headline(prepared_view(free), plan.deployment)["mlp_b_inferences_per_s"]
    assert isinstance(achieved, float)
    document = copy.deepcopy({"kind": "polymorphic", "name": "floored"} | body)
    document["phases"][1]["dnns"][0]["min_throughput_inferences_per_s"] = FLOOR_SHARE * achieved
    scenario = planner.scenario_from_dict(document, file="floored.toml")
    return document, planner.solve(scenario, baselines=False)


def test_a_phased_plan_covers_its_scenario(committed_phases: Any, tmp_path: Path) -> None:
    assert_passes(check(committed_phases, committed_phases[0], tmp_path), ExitCode.OK)


def test_a_higher_floor_in_one_phase_names_the_dnn_and_phase(
    committed_phases: Any, tmp_path: Path
) -> None:
    document, plan = committed_phases
    raised = copy.deepcopy(document)
    floor = raised["phases"][1]["dnns"][0]["min_throughput_inferences_per_s"] * 1.3
    raised["phases"][1]["dnns"][0]["min_throughput_inferences_per_s"] = floor
    report = check(committed_phases, raised, tmp_path)
    assert report.exit_code is ExitCode.INFEASIBLE
    assert [s.what for s in report.shortfalls] == ["dnn mlp phase b"]
    assert report.shortfalls[0].required == pytest.approx(floor)
    view = prepared_view(planner.scenario_from_dict(document))
    achieved = FORMULATION.headline(view, plan.deployment)["mlp_b_inferences_per_s"]
    assert report.shortfalls[0].available == pytest.approx(achieved, rel=1e-3)


def test_a_phased_plan_against_other_phases_is_refused(
    committed_phases: Any, tmp_path: Path
) -> None:
    renamed = copy.deepcopy(committed_phases[0])
    renamed["phases"][1]["name"] = "c"
    report = check(committed_phases, renamed, tmp_path)
    assert report.exit_code is not ExitCode.OK
    assert any("one per (phase, DNN)" in v for v in report.violations), report.to_dict()


def test_no_tampered_phased_plan_passes(committed_phases: Any, tmp_path: Path) -> None:
    document, plan = committed_phases
    scenario = planner.scenario_from_dict(document, file="floored.toml")
    found = outcomes(plan, scenario, tmp_path, "polymorphic")
    assert unexplained_passes(found, {}) == []
    assert any(how.startswith("accelerators.") and ".phase " in how for how in found)
    assert {ExitCode.INVALID_INPUT, ExitCode.INFEASIBLE} <= {o.exit_code for o in found.values()}
