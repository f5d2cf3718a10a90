"""PPipe's baselines are deployments of the plan's schema, verified and scored by the engine
with the plan's verifier."""

from __future__ import annotations

from pathlib import Path

import pytest

from formulations.ppipe.deployment import PPipeDeployment
from formulations.ppipe.inputs import PPipeInputs
from tests.ppipe.helpers import solve_raw, tiny_instance


def _deployment(value: object) -> PPipeDeployment:
    assert isinstance(value, PPipeDeployment)
    return value


@pytest.mark.parametrize("seed", [1, 5])
def test_compat_scenario_baselines(tmp_path: Path, seed: int) -> None:
    raw = tiny_instance(tmp_path, seed)
    plan = solve_raw(raw, tmp_path)
    assert [b.name for b in plan.baselines] == ["general", "np", "dart_r"]
    general, np_run, dart = plan.baselines
    assert general.status == "infeasible" and general.plan_advantage is None
    assert general.objective is not None and general.objective >= plan.objective.value - 1e-6
    for run in (np_run, dart):
        assert run.status == "feasible", run.violations
        assert run.objective is not None and run.plan_advantage is not None
        # maximising: plan / baseline, above 1 when the plan is better
        assert run.plan_advantage == pytest.approx(plan.objective.value / run.objective)
        assert run.plan_advantage >= 1 - 1e-9
        assert set(run.headline) == set(plan.headline)
    inputs = PPipeInputs.model_validate(raw)
    for model in _deployment(np_run.deployment).models:
        for pipeline in model.pipelines:
            # whole models at MPS level 1, each in its own compat sequence of length P
            assert len(pipeline.stages) == 1 and pipeline.stages[0].mps_level == 1
            assert len(pipeline.gpu_sequence) == inputs.max_partitions
    units = min(gpu.count for gpu in inputs.gpus)
    two_type = 0
    for model in _deployment(dart.deployment).models:
        for pipeline in model.pipelines:
            # a unit's pipeline: one instance per stage and unit, MPS level 1, at most 2 stages
            assert len(pipeline.stages) <= 2
            assert {s.mps_level for s in pipeline.stages} == {1}
            assert len({s.instances for s in pipeline.stages}) == 1
            if len(pipeline.stages) == 2:
                two_type += pipeline.stages[0].instances
    assert two_type <= units


def test_general_scenario_takes_the_compat_plan_as_a_feasible_baseline(tmp_path: Path) -> None:
    raw = tiny_instance(tmp_path, 5) | {"mode": "general"}
    plan = solve_raw(raw, tmp_path)
    compat = plan.baseline("compat")
    # every compat plan is a general plan: written in general mode, it passes the verifier
    assert compat.status == "feasible", compat.violations
    assert compat.plan_advantage is not None and compat.plan_advantage >= 1 - 1e-9
    for model in _deployment(compat.deployment).models:
        for pipeline in model.pipelines:
            assert pipeline.gpu_sequence == [s.gpu for s in pipeline.stages]
    assert plan.baseline("np").status == "feasible"


def test_dart_r_needs_one_high_and_one_low_class_type(tmp_path: Path) -> None:
    raw = tiny_instance(tmp_path, 5)
    raw["gpus"][1]["low_class"] = False
    plan = solve_raw(raw | {"compare_modes": False}, tmp_path)
    assert [b.name for b in plan.baselines] == ["np", "dart_r"]
    dart = plan.baseline("dart_r")
    assert dart.status == "no_plan" and dart.objective is None
    assert dart.reason == "DART-r needs one high-class and one low-class GPU type"
    assert dart.source.startswith("PPipe (Kong et al., USENIX ATC '25)")


def test_headline_numbers(tmp_path: Path) -> None:
    plan = solve_raw(tiny_instance(tmp_path, 5), tmp_path)
    deployment = _deployment(plan.deployment)
    share = deployment.low_class_gpu_share
    assert share is not None
    assert plan.headline == {
        "throughput_qps.m0": deployment.models[0].throughput_qps,
        "throughput_qps.m1": deployment.models[1].throughput_qps,
        "total_throughput_qps": deployment.total_throughput_qps,
        "pipelines": sum(len(m.pipelines) for m in deployment.models),
        "low_class_gpu_pct": 100 * share,
    }
