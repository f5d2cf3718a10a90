"""The PPipe verifier rejects corrupted plans (each mutation with its own message); bad
inputs give exit 2, impossible SLOs exit 3; baselines are deployments the verifier judges."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

import planner
from formulations.ppipe import FORMULATION
from formulations.ppipe.deployment import PPipeDeployment
from formulations.ppipe.view import PPipeView, prepare
from formulations.types import ExitCode
from planner.backends import make_solver
from tests.conftest import REFERENCE, ROOT, run_cli, write_scenario
from tests.ppipe.helpers import tiny_instance, view_of

PPIPE_REFERENCE = REFERENCE / "ppipe"


@pytest.fixture(scope="module")
def solved(tmp_path_factory: pytest.TempPathFactory) -> tuple[PPipeView, PPipeDeployment]:
    view = view_of(tiny_instance(tmp_path_factory.mktemp("ppipe"), 5))  # 2-stage pipelines
    deployment = FORMULATION.solve(view, make_solver()).deployment
    assert any(len(p.stages) == 2 for m in deployment.models for p in m.pipelines)
    return view, deployment


def test_valid_plan_passes_and_round_trips(solved: tuple[PPipeView, PPipeDeployment]) -> None:
    view, deployment = solved
    check = FORMULATION.verify(view, deployment)
    assert check.ok and check.objective_value == pytest.approx(deployment.objective_qps)
    again = PPipeDeployment.model_validate_json(deployment.model_dump_json())
    assert again == deployment and FORMULATION.verify(view, again).ok


def _two_stage(d: dict[str, Any]) -> dict[str, Any]:
    return next(p for m in d["models"] for p in m["pipelines"] if len(p["stages"]) == 2)


def _first_stage(d: dict[str, Any]) -> dict[str, Any]:
    return _two_stage(d)["stages"][0]


MUTATIONS: dict[str, tuple[Callable[[dict[str, Any]], None], str]] = {
    "stage latency": (lambda d: _first_stage(d).update(latency_us=1.0), "stage 0: latency 1.0 us"),
    "stage throughput": (
        lambda d: _first_stage(d).update(throughput_qps=_first_stage(d)["throughput_qps"] * 2),
        "requests/s, recomputed",
    ),
    "pipeline throughput": (
        lambda d: _two_stage(d).update(throughput_qps=_two_stage(d)["throughput_qps"] * 1.5),
        "slowest stage",
    ),
    "too many instances": (lambda d: _first_stage(d).update(instances=1000), "GPUs needed"),
    "chunk gap": (
        lambda d: _first_stage(d).update(chunk_end=_first_stage(d)["chunk_end"] - 1),
        "chain",
    ),
    "mps level": (lambda d: _first_stage(d).update(mps_level=3), "MPS level 3"),
    "batch mismatch": (
        lambda d: _two_stage(d)["stages"][1].update(batch=3 - _two_stage(d)["stages"][0]["batch"]),
        "differs from the first stage's",
    ),
    "wrong gpu": (
        lambda d: _first_stage(d).update(gpu="LO" if _first_stage(d)["gpu"] == "HI" else "HI"),
        "is not slot 0 of sequence",
    ),
    "duplicate pipeline": (
        lambda d: d["models"][0]["pipelines"].append(d["models"][0]["pipelines"][0]),
        "one pipeline per GPU sequence",
    ),
    "objective": (lambda d: d.update(objective_qps=d["objective_qps"] + 1), "objective_qps"),
    "gpu use": (lambda d: d["gpus"][0].update(used=d["gpus"][0]["used"] + 1), "reported use"),
    "low-class share": (lambda d: d.update(low_class_gpu_share=0.01), "low_class_gpu_share"),
    "model order": (lambda d: d["models"].reverse(), "scenario order"),
    "model total": (
        lambda d: d["models"][0].update(throughput_qps=d["models"][0]["throughput_qps"] + 5),
        "is not the sum of its pipelines'",
    ),
    "mode": (lambda d: d.update(mode="general"), "mode: plan is general"),
    "total": (lambda d: d.update(total_throughput_qps=1.0), "total_throughput_qps"),
}


@pytest.mark.parametrize("name", list(MUTATIONS))
def test_verifier_rejects_mutation(solved: tuple[PPipeView, PPipeDeployment], name: str) -> None:
    view, deployment = solved
    mutate, expected = MUTATIONS[name]
    data = deployment.model_dump()
    mutate(data)
    check = FORMULATION.verify(view, PPipeDeployment.model_validate(data))
    assert not check.ok
    assert any(expected in v for v in check.violations), check.violations


def test_verifier_checks_the_unused_slots_of_a_sequence(tmp_path: Path) -> None:
    # seed 1's compat plan runs one-stage pipelines, whose second sequence slot no stage
    # checks; as a general plan, a pipeline's sequence must list exactly its used types
    view = view_of({**tiny_instance(tmp_path, 1), "compare_modes": False})
    deployment = FORMULATION.solve(view, make_solver()).deployment
    data = deployment.model_dump()
    one_stage = next(p for m in data["models"] for p in m["pipelines"] if len(p["stages"]) == 1)
    one_stage["gpu_sequence"][1] = "XX"
    check = FORMULATION.verify(view, PPipeDeployment.model_validate(data))
    assert [v for v in check.violations if "not in the scenario" in v] == check.violations != []
    general = prepare(view.inputs.model_copy(update={"mode": "general"}))
    data = deployment.model_dump() | {"mode": "general"}
    check = FORMULATION.verify(general, PPipeDeployment.model_validate(data))
    assert any("used types only" in v for v in check.violations), check.violations


def test_verifier_rejects_slo_violation(solved: tuple[PPipeView, PPipeDeployment]) -> None:
    view, deployment = solved
    inputs = view.inputs
    first = inputs.models[0]
    longest = max(p.latency_us for p in deployment.models[0].pipelines)
    tighter = inputs.model_copy(
        update={"models": [first.model_copy(update={"slo_us": longest - 1.0}), *inputs.models[1:]]}
    )
    check = FORMULATION.verify(prepare(tighter), deployment)
    assert any("exceeds the SLO" in v for v in check.violations)


def _scenario(tmp_path: Path, **overrides: Any) -> dict[str, Any]:
    document: dict[str, Any] = {"kind": "ppipe", **tiny_instance(tmp_path, 5)}
    document.update(overrides)
    return document


@pytest.mark.parametrize(
    ("overrides", "key"),
    [
        ({"surprise": 1}, "surprise"),
        ({"max_partitions": 0}, "max_partitions"),
        ({"bandwidth_gbit_per_s": -1.0}, "bandwidth_gbit_per_s"),
        ({"bw_gbps": 10.0}, "bw_gbps"),  # the old, ambiguous name is refused
        ({"mode": "turbo"}, "mode"),
        ({"reference_dir": "no/such/folder"}, "reference_dir"),
    ],
)
def test_bad_inputs_exit_2(tmp_path: Path, overrides: dict[str, Any], key: str) -> None:
    path = write_scenario(tmp_path / "bad.toml", _scenario(tmp_path, **overrides))
    result = run_cli("solve", path)
    assert result.exit_code == ExitCode.INVALID_INPUT
    assert key in result.stderr


def test_duplicate_gpu_and_unknown_models_exit_2(tmp_path: Path) -> None:
    document = _scenario(tmp_path)
    document["gpus"][1]["name"] = "HI"
    with pytest.raises(planner.InputError, match="distinct GPU types"):
        planner.scenario_from_dict(document, tmp_path)
    document = _scenario(tmp_path)
    document["models"][0].update(source="analytical", name="alexnet-9000")
    with pytest.raises(planner.InputError, match=r"models\[0\]\.name"):
        planner.solve(planner.scenario_from_dict(document, tmp_path))
    document = _scenario(tmp_path)
    document["models"][0]["name"] = "not-profiled"
    with pytest.raises(planner.InputError, match="not-profiled"):
        planner.solve(planner.scenario_from_dict(document, tmp_path))


def test_impossible_slo_exits_3_naming_the_model(tmp_path: Path) -> None:
    document = _scenario(tmp_path)
    document["models"][1].update(slo_us=10.0, slo_reserve_us=0.0)
    path = write_scenario(tmp_path / "tight.toml", document)
    result = run_cli("solve", path)
    assert result.exit_code == ExitCode.INFEASIBLE
    assert "model m1" in result.stderr and "slo_us = 10" in result.stderr


def test_unknown_published_instance_key_exits_2(tmp_path: Path) -> None:
    (tmp_path / "instances.json").write_text('{"a": {}}')
    document = {"kind": "ppipe", "published_instance": {"file": "instances.json", "key": "b"}}
    path = write_scenario(tmp_path / "inst.toml", document)
    result = run_cli("solve", path)
    assert result.exit_code == ExitCode.INVALID_INPUT and "published_instance" in result.stderr


@pytest.mark.skipif(not PPIPE_REFERENCE.exists(), reason="shared/reference/ppipe is absent")
def test_published_scenario_solves_and_checks(tmp_path: Path) -> None:
    shipped = planner.load_scenario(ROOT / "scenarios" / "ppipe" / "maf19_l4_t4.toml")
    assert len(shipped.inputs.models) == 3 and shipped.inputs.gpus[1].low_class
    document = {
        "kind": "ppipe",
        "compare_modes": False,
        "published_instance": {
            "file": str(PPIPE_REFERENCE / "instances.json"),
            "key": "maf19/V100-P4/0.3-0.33-0.37/apcnet_r101-d8_4xb2-40k_cityscapes-512x1024-"
            "atss_r101_fpn_1x_coco-gcnet_r101-d8_4xb2-40k_cityscapes-512x1024",
        },
    }
    scenario = write_scenario(tmp_path / "published.toml", document)
    out = tmp_path / "plan.json"
    assert run_cli("solve", scenario, "-o", out).exit_code == ExitCode.OK
    assert run_cli("check", out, "--scenario", scenario).exit_code == ExitCode.OK
