"""Verifier mutations: each breaks one rule of a valid deployment and names its violation."""

from __future__ import annotations

import json
from collections.abc import Callable
from functools import cache
from pathlib import Path
from typing import Any

import pytest

import planner
from formulations.polymorphic import FORMULATION
from formulations.polymorphic.deployment import Accelerator, PolymorphicDeployment
from formulations.polymorphic.view import MULTI_CLP, PLANARIA, PolymorphicView
from planner.backends import make_solver
from tests.conftest import write_scenario
from tests.polymorphic.helpers import tiny_document, tiny_scenario, view_of, with_floor


@cache
def tiny() -> tuple[PolymorphicView, PolymorphicDeployment]:
    view = view_of(tiny_document())
    return view, FORMULATION.solve(view, make_solver()).deployment


def changed(deployment: PolymorphicDeployment, dnn: str, **fields: Any) -> PolymorphicDeployment:
    accelerators = [
        a.model_copy(update=fields) if a.dnn == dnn else a for a in deployment.accelerators
    ]
    return deployment.model_copy(update={"accelerators": accelerators})


def one(deployment: PolymorphicDeployment, dnn: str) -> Accelerator:
    return next(a for a in deployment.accelerators if a.dnn == dnn)


def test_the_plan_is_valid() -> None:
    view, deployment = tiny()
    assert FORMULATION.verify(view, deployment).ok


def _overlap(d: PolymorphicDeployment) -> PolymorphicDeployment:
    cnn = one(d, "cnn")
    return changed(d, "mlp", row_offset=cnn.row_offset, col_offset=cnn.col_offset)


def _outside(d: PolymorphicDeployment) -> PolymorphicDeployment:
    return changed(d, "rnn", col_offset=32)


def _area(d: PolymorphicDeployment) -> PolymorphicDeployment:
    return changed(d, "cnn", rows=32, cols=32, row_offset=0, col_offset=0)


def _buffer(d: PolymorphicDeployment) -> PolymorphicDeployment:
    return changed(d, "cnn", buffer_steps=3)


def _bandwidth(d: PolymorphicDeployment) -> PolymorphicDeployment:
    return changed(d, "rnn", bandwidth_steps=3)


def _buffer_range(d: PolymorphicDeployment) -> PolymorphicDeployment:
    return changed(d, "mlp", buffer_steps=0)


def _bandwidth_range(d: PolymorphicDeployment) -> PolymorphicDeployment:
    return changed(d, "mlp", bandwidth_steps=9)


def _offset_off_grid(d: PolymorphicDeployment) -> PolymorphicDeployment:
    return changed(d, "rnn", row_offset=one(d, "rnn").row_offset + 4)


def _shape_off_grid(d: PolymorphicDeployment) -> PolymorphicDeployment:
    return changed(d, "mlp", cols=12)


def _unknown_dataflow(d: PolymorphicDeployment) -> PolymorphicDeployment:
    flows = one(d, "mlp").dataflows
    return changed(d, "mlp", dataflows=["rs", *flows[1:]])


def _dataflow_count(d: PolymorphicDeployment) -> PolymorphicDeployment:
    return changed(d, "mlp", dataflows=one(d, "mlp").dataflows[:-1])


def _time_share_alone(d: PolymorphicDeployment) -> PolymorphicDeployment:
    return changed(d, "cnn", time_share=0.5)


def _time_shares_sum(d: PolymorphicDeployment) -> PolymorphicDeployment:
    accelerators = [a.model_copy(update={"time_share": 0.5}) for a in d.accelerators]
    return d.model_copy(update={"time_multiplexed": True, "accelerators": accelerators})


def _missing_dnn(d: PolymorphicDeployment) -> PolymorphicDeployment:
    return d.model_copy(update={"accelerators": d.accelerators[:-1]})


def _unknown_design(d: PolymorphicDeployment) -> PolymorphicDeployment:
    return d.model_copy(update={"design": "eyeriss"})


MUTATIONS: dict[str, tuple[Callable[[PolymorphicDeployment], PolymorphicDeployment], str]] = {
    "overlapping rectangles": (_overlap, "packing: cnn overlaps mlp"),
    "outside the array": (_outside, "rnn: rectangle leaves the 32x32 array"),
    "PE area": (_area, "PE area: 1152 > 1024 PEs"),
    "buffer": (_buffer, "buffer: 5 steps > 3"),
    "bandwidth": (_bandwidth, "bandwidth: 5 steps > 3"),
    "buffer share range": (_buffer_range, "mlp: buffer steps 0 outside 1..3"),
    "bandwidth share range": (_bandwidth_range, "mlp: bandwidth steps 9 outside 1..3"),
    "offset off the grid": (_offset_off_grid, "rnn: offset ("),
    "shape off the grid": (_shape_off_grid, "mlp: shape 8x12 is not a positive multiple of 8"),
    "unknown dataflow": (_unknown_dataflow, "mlp: dataflows ['rs'] not allowed in polymorphic"),
    "dataflow per layer": (_dataflow_count, "mlp: 7 dataflows for 8 layers"),
    "time share without multiplexing": (
        _time_share_alone,
        "time share of cnn: 0.5 (only when time-multiplexed)",
    ),
    "time shares": (_time_shares_sum, "time shares: 1.5 > 1"),
    "a DNN without accelerator": (_missing_dnn, "accelerators: one per DNN"),
    "unknown design": (_unknown_design, "design 'eyeriss': not one of"),
}


@pytest.mark.parametrize("name", list(MUTATIONS))
def test_mutation_names_its_violation(name: str) -> None:
    view, deployment = tiny()
    mutate, message = MUTATIONS[name]
    violations = FORMULATION.verify(view, mutate(deployment)).violations
    assert any(v.startswith(message) for v in violations), violations


def test_throughput_floor() -> None:
    view, deployment = tiny()
    rate = FORMULATION.headline(view, deployment)["cnn_inferences_per_s"]
    assert isinstance(rate, float)
    floored = view_of(with_floor(tiny_document(), 0, 2 * rate))
    violations = FORMULATION.verify(floored, deployment).violations
    assert len(violations) == 1
    assert violations[0].startswith("min throughput of cnn: ")
    assert violations[0].endswith(f"< {2 * rate:g} inferences/s")


def _baseline(name: str) -> PolymorphicDeployment:
    view = tiny()[0]
    run = next(r for r in FORMULATION.baselines(view, make_solver(), _solution()) if r.name == name)
    assert run.deployment is not None and FORMULATION.verify(view, run.deployment).ok
    return run.deployment


@cache
def _solution() -> Any:
    return FORMULATION.solve(tiny()[0], make_solver())


def test_multi_clp_runs_one_dataflow_per_processor() -> None:
    deployment = _baseline(MULTI_CLP)
    flows = one(deployment, "cnn").dataflows
    other = "os" if flows[0] != "os" else "ws"
    mixed = changed(deployment, "cnn", dataflows=[other, *flows[1:]])
    violations = FORMULATION.verify(tiny()[0], mixed).violations
    assert violations == [f"cnn: {MULTI_CLP} runs one dataflow per accelerator"]


def test_planaria_rules() -> None:
    view = tiny()[0]
    deployment = _baseline(PLANARIA)
    flows = one(deployment, "cnn").dataflows
    assert set(flows) == {"ws"}
    checks = {
        "dataflow": (
            changed(deployment, "cnn", dataflows=["os", *flows[1:]]),
            f"cnn: dataflows ['os'] not allowed in {PLANARIA}",
        ),
        "pod grid": (
            changed(deployment, "cnn", rows=8),
            "cnn: shape 8x16 is not a positive multiple of 16 PEs",
        ),
        "buffer follows area": (
            changed(deployment, "cnn", buffer_steps=2),
            f"cnn: buffer steps 2 != area share 1 in {PLANARIA}",
        ),
    }
    for name, (mutated, message) in checks.items():
        violations = FORMULATION.verify(view, mutated).violations
        assert message in violations, (name, violations)


def test_check_refuses_a_plan_whose_stated_dataflows_change_its_objective(tmp_path: Path) -> None:
    document = tiny_scenario(objective="max_weighted")
    path = write_scenario(tmp_path / "tiny.toml", document)
    plan = planner.solve(path, baselines=False)
    assert isinstance(plan.deployment, PolymorphicDeployment)
    view = view_of({k: v for k, v in document.items() if k not in ("kind", "name", "solver")})
    # the CNN's layers all in one dataflow: the verifier recomputes the slower pass
    slower = {
        flow: changed(
            plan.deployment, "cnn", dataflows=[flow] * len(one(plan.deployment, "cnn").dataflows)
        )
        for flow in ("os", "ws", "is")
    }
    flow, mutated = min(
        slower.items(), key=lambda item: FORMULATION.verify(view, item[1]).objective_value
    )
    assert FORMULATION.verify(view, mutated).objective_value < plan.objective.value
    stored = json.loads(plan.to_json())
    stored["deployment"] = json.loads(mutated.model_dump_json())
    plan_path = tmp_path / "plan.json"
    plan_path.write_text(json.dumps(stored))
    report = planner.check(plan_path, path)
    assert any(v.startswith("objective: the plan file states") for v in report.violations), (
        flow,
        report.violations,
    )
    assert report.fresh is not None and report.committed.value < report.fresh.value
