"""The authors' DART-r plans (``dart_r_published_plans.csv``): they parse, each matches its
published instance, and none plans more than our PPipe optimum on the same instance (a
DART-r plan is a plan of PPipe's MILP). Skipped without ../shared/reference/ppipe."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest

from benchmarks.ppipe_reference import DART_R_PLANS, run_instance
from formulations.ppipe.baselines import published_dart_r
from formulations.ppipe.inputs import load_instances
from formulations.types import InputError
from tests.conftest import REFERENCE

PPIPE = REFERENCE / "ppipe"
needs_reference = pytest.mark.skipif(
    not (PPIPE / DART_R_PLANS).is_file(), reason=f"{DART_R_PLANS} not in ../shared/reference/ppipe"
)


@needs_reference
def test_published_dart_r_plans_parse_and_match_their_instances() -> None:
    instances = load_instances(PPIPE / "instances.json")
    plans = published_dart_r(PPIPE / DART_R_PLANS, instances)
    assert len(plans) == 72  # every maf19 and maf21 instance, none of the ablation set
    assert {key.split("/")[0] for key in plans} == {"maf19", "maf21"}
    for key, plan in plans.items():
        weights = instances[key]["workload_weights"]
        assert len(plan.throughput_qps) == len(instances[key]["dnns"])
        assert plan.objective == pytest.approx(
            min(q / w for q, w in zip(plan.throughput_qps, weights, strict=True))
        )


@needs_reference
def test_published_dart_r_plans_within_our_ppipe_optimum() -> None:
    instances = load_instances(PPIPE / "instances.json")
    plans = published_dart_r(PPIPE / DART_R_PLANS, instances)
    key = next(k for k in plans if k.startswith("maf19/L4-T4"))
    row = run_instance(key, "compat", 30.0, PPIPE, plans[key])
    assert row["dart_r_authors_objective"] == pytest.approx(plans[key].objective)
    assert row["dart_r_authors_within_ppipe"] == "true"
    assert row["dart_r_authors_objective"] <= row["objective"]


@needs_reference
def test_a_row_that_disagrees_with_its_instance_is_refused(tmp_path: Path) -> None:
    with (PPIPE / DART_R_PLANS).open(newline="") as handle:
        rows = list(csv.DictReader(handle))
    rows[0]["bw_gbps"] = str(float(rows[0]["bw_gbps"]) + 1.0)
    bad = tmp_path / DART_R_PLANS
    with bad.open("w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    with pytest.raises(InputError, match="line 2: bw_gbps"):
        published_dart_r(bad, load_instances(PPIPE / "instances.json"))
