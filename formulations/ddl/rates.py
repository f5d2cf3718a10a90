"""Where a ``ddl`` plan's rates come from, and the deadline risk of its spot jobs.

* :func:`rate_sources`: one entry per (job, GPU) of the enumerated configurations, or per
  (job, instance type) where the scenario measured that instance type: the single-GPU
  training rate (samples/s) of :func:`cost_models.ddl.estimate.compute_rate`, measured or
  estimated by the calibrated performance model with its validation error.
* :func:`spot_risk_table`: for every job the plan runs on spot, the share of simulated runs
  that finish after the deadline (the plan's expected hours for a job without one) at the
  Spot Advisor rate and at the measured lifetimes (:mod:`cost_models.ddl.spot_risk`).
"""

from __future__ import annotations

from cost_models.cloud import instance
from cost_models.ddl.estimate import (
    MEASURED,
    PERF_MODELS,
    TRAINING_RUNTIME,
    ComputeRate,
    Market,
    checkpoint_write_h,
)
from cost_models.ddl.spot_risk import Risk, Schedule, deadline_risk
from cost_models.units import SECONDS_PER_HOUR
from formulations.ddl.deployment import DdlDeployment
from formulations.ddl.view import DdlView
from formulations.types import Provenance, RateSource, Table


def rate_label(rate: ComputeRate) -> str:
    """``rate_source`` column text: the provenance and, for an estimate, its error."""
    if rate.expected_error_pct is None:
        return rate.provenance
    return f"{rate.provenance} ±{rate.expected_error_pct:.0f}%"


def rate_sources(view: DdlView) -> list[RateSource]:
    out: dict[tuple[str, str], RateSource] = {}
    for i, spec in enumerate(view.inputs.jobs):
        for c in view.candidates[spec.name]:
            e = c.estimate
            gpu = instance(e.instance_type).gpu or e.instance_type
            measured_key = next(
                (k for k in (e.instance_type, gpu) if k in spec.samples_per_s_per_gpu), None
            )
            key = measured_key or gpu
            if (spec.name, key) in out:
                continue
            what = (
                f"{spec.name}: {spec.model} training on {key}, batch {spec.batch_per_gpu}, "
                f"{spec.precision.value}: {e.rate.samples_per_s_per_gpu:,.0f} samples/s/GPU"
            )
            if e.rate.provenance == MEASURED:
                source = f"scenario jobs[{i}].samples_per_s_per_gpu.{measured_key}"
            else:
                source = (
                    f"cost_models/perf training_step ({PERF_MODELS[spec.model]}, "
                    f"{TRAINING_RUNTIME.value}, calibration.json)"
                )
            out[spec.name, key] = RateSource(
                what, Provenance(e.rate.provenance), e.rate.expected_error_pct, source
            )
    return list(out.values())


def spot_risks(view: DdlView, deployment: DdlDeployment) -> list[tuple[str, Risk, Risk | None]]:
    """(job, advisor risk, measured risk) of every job the plan runs on spot."""
    platform = view.platform
    out = []
    for a in deployment.assignments:
        if a.market is not Market.SPOT:
            continue
        spec, e = view.specs[a.job], view.estimate_of(a)
        schedule = Schedule(
            e.train_h,
            checkpoint_write_h(spec.job(), platform),
            platform.checkpoint_interval_h,
            platform.restart_s / SECONDS_PER_HOUR,
            a.nodes,
            spec.deadline_h if spec.deadline_h is not None else e.hours,
        )
        out.append((a.job, *deadline_risk(a.instance_type, schedule)))
    return out


def spot_risk_table(view: DdlView, deployment: DdlDeployment) -> Table | None:
    risks = spot_risks(view, deployment)
    if not risks:
        return None
    rows = []
    for job, advisor, measured in risks:
        a = next(x for x in deployment.assignments if x.job == job)
        spec = view.specs[job]
        rows.append(
            [
                job,
                f"{a.nodes} x {a.instance_type}",
                round(view.estimate_of(a).hours, 2),
                spec.deadline_h,
                advisor.lifetimes,
                round(advisor.miss_pct, 1),
                measured.lifetimes if measured else "none: Advisor only",
                None if measured is None else round(measured.miss_pct, 1),
                None if measured is None or measured.p90_h is None else round(measured.p90_h, 2),
            ]
        )
    return Table(
        "Spot deadline risk (share of simulated runs finishing late; limit: the deadline, "
        "else the plan's hours; measured_p90_h blank: beyond the limit or no data)",
        [
            "job",
            "spot_nodes",
            "hours",
            "deadline_h",
            "advisor_rate",
            "advisor_miss_pct",
            "measured_lifetimes",
            "measured_miss_pct",
            "measured_p90_h",
        ],
        rows,
    )
