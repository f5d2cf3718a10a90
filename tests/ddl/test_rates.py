"""Where a ddl plan's training rates come from: measured scenario rates (by instance type,
else by device) over the calibrated performance model, and the plan's rate sources."""

from __future__ import annotations

import json
from typing import Any

import pytest

import planner
from cost_models.cloud import instance
from cost_models.ddl.estimate import compute_rate
from cost_models.devices import Precision
from cost_models.perf import calibration
from cost_models.perf.hardware import Runtime
from formulations.ddl import FORMULATION
from formulations.types import Provenance, RateSource

JOB: dict[str, Any] = {
    "name": "r",
    "model": "resnet50",
    "epochs": 1,
    "batch_per_gpu": 64,
    "precision": "fp32",
    "deadline_h": 50,
}
TYPES = ["p3.2xlarge", "p3.8xlarge", "p3.16xlarge", "p2.xlarge", "g4dn.xlarge"]


def document(**rates: float) -> dict[str, Any]:
    job = {**JOB, "samples_per_s_per_gpu": rates} if rates else JOB
    return {"kind": "ddl", "instance_types": TYPES, "max_nodes": 2, "jobs": [job]}


def sources(doc: dict[str, Any]) -> dict[str, RateSource]:
    """The rate sources of ``doc``'s view, by the device or instance type they name."""
    view = FORMULATION.prepare(planner.scenario_from_dict(doc).inputs)
    out = {}
    for s in FORMULATION.rate_sources(view):
        key = s.what.split(" training on ")[1].split(",")[0]
        assert key not in out, s  # one entry per (job, GPU or measured instance type)
        out[key] = s
    return out


def test_without_measured_rates_every_source_is_the_calibrated_model() -> None:
    cal = calibration.load()
    found = sources(document())
    assert set(found) == {"V100", "K80", "T4"}
    for gpu, s in found.items():
        # Calibrated where the fit saw PyTorch measurements of the GPU (V100, T4), roofline
        # (the fit transferred) on the K80; the expected error is the calibration's own.
        assert s.provenance is Provenance(cal.provenance(gpu, Runtime.PYTORCH))
        assert s.expected_error_pct == pytest.approx(
            cal.expected_error_pct(gpu, Precision.FP32, "training", s.provenance.value)
        )
        assert s.source.startswith("cost_models/perf training_step (resnet50, pytorch")
    assert (found["V100"].provenance, found["K80"].provenance) == (
        Provenance.CALIBRATED,
        Provenance.ROOFLINE,
    )


def test_a_measured_device_rate_is_measured() -> None:
    found = sources(document(V100=500.0))
    v100 = found["V100"]
    assert (v100.provenance, v100.expected_error_pct) == (Provenance.MEASURED, None)
    assert v100.source == "scenario jobs[0].samples_per_s_per_gpu.V100"
    assert "500 samples/s/GPU" in v100.what
    # The other GPUs keep the model's rates.
    assert found["K80"].provenance is Provenance.ROOFLINE
    assert found["T4"].provenance is Provenance.CALIBRATED


def test_a_measured_instance_type_wins_over_its_device() -> None:
    doc = document(V100=500.0, **{"p3.8xlarge": 300.0})
    inputs = planner.scenario_from_dict(doc).inputs
    job = inputs.jobs[0].job()
    # p3.8xlarge's own measurement beats the V100 one; the other V100 instances use V100's.
    assert compute_rate(job, instance("p3.8xlarge")).samples_per_s_per_gpu == 300.0
    for name in ("p3.2xlarge", "p3.16xlarge"):
        rate = compute_rate(job, instance(name))
        assert (rate.samples_per_s_per_gpu, rate.provenance) == (500.0, "measured"), name
    found = sources(doc)
    assert set(found) == {"V100", "p3.8xlarge", "K80", "T4"}
    assert found["p3.8xlarge"].source == "scenario jobs[0].samples_per_s_per_gpu.p3.8xlarge"
    assert "300 samples/s/GPU" in found["p3.8xlarge"].what
    # Each configuration's estimate carries the rate it used (the gpu_samples_per_s column).
    view = FORMULATION.prepare(inputs)
    used = [c.estimate for c in view.kept["r"]]
    shown = {(e.instance_type, e.rate.samples_per_s_per_gpu) for e in used}
    assert ("p3.8xlarge", 300.0) in shown and ("p3.16xlarge", 500.0) in shown


def test_the_plan_stores_its_rate_sources() -> None:
    plan = planner.solve(planner.scenario_from_dict(document(V100=500.0)), baselines=False)
    stored = json.loads(plan.to_json())["rates"]
    provenances = {s["provenance"] for s in stored["sources"]}
    assert provenances == {"measured", "calibrated", "roofline"}
    assert any(s["source"].endswith("samples_per_s_per_gpu.V100") for s in stored["sources"])
