"""Golden numbers for the Cocktail cost models: zoo latency, vote accuracy, spot risk."""

from __future__ import annotations

import csv
import math
from pathlib import Path

import numpy as np
import pytest

from cost_models.cloud import INSTANCES
from cost_models.cocktail.accuracy import (
    CorrectnessModel,
    VoteRule,
    enumerate_subsets,
    minimal_feasible,
    monte_carlo_correctness,
    read_correctness_csv,
)
from cost_models.cocktail.spot import interruption_probability
from cost_models.cocktail.zoo import ZOO, estimated_rate, zoo_model
from cost_models.errors import DataError
from cost_models.perf.catalog import workload
from cost_models.perf.hardware import Runtime
from planner.estimate import estimate
from tests.conftest import REFERENCE

# Five samples, three models: m0 and m1 are right on 3 of 5, m2 on 4 of 5; every sample
# has exactly two right answers.
DISJOINT = np.array([[0, 1, 1], [0, 1, 1], [1, 0, 1], [1, 0, 1], [1, 1, 0]], dtype=bool)


def test_zoo_has_the_twelve_keras_models_with_catalog_entries() -> None:
    assert len(ZOO) == 12
    assert zoo_model("NASNetLarge").top1 == 0.825
    assert {workload(m.perf_name).name for m in ZOO.values()} == {
        f"keras_{name.lower()}" for name in ZOO
    }
    with pytest.raises(DataError):
        zoo_model("AlexNet")


def test_zoo_rate_is_planner_estimate_on_the_gpu() -> None:
    # g4dn.xlarge: one T4 running TensorFlow, FP32, batch 1 -- the same point planner
    # estimate gives (no measured TensorFlow Keras-zoo point exists, so it is calibrated).
    rate = estimated_rate(ZOO["ResNet50"], INSTANCES["g4dn.xlarge"])
    same = estimate("keras_resnet50", "T4", 1, "fp32", runtime="tensorflow")
    assert (rate.device, rate.runtime, rate.devices) == ("T4", Runtime.TENSORFLOW, 1)
    assert rate.latency_ms == pytest.approx(same.latency_ms, rel=1e-12)
    assert (rate.provenance, rate.expected_error_pct) == ("calibrated", same.expected_error_pct)
    assert rate.capacity_qps == pytest.approx(1e3 / rate.latency_ms)


def test_cpu_rates_provenance_and_scaling() -> None:
    small = estimated_rate(ZOO["ResNet50"], INSTANCES["c5.xlarge"])
    bigger = estimated_rate(ZOO["ResNet50"], INSTANCES["c5.2xlarge"])
    assert (small.device, small.runtime, small.devices) == ("c5.xlarge", Runtime.KERAS, 1)
    # c5.xlarge/Keras was fitted (Cocktail's latencies); c5.2xlarge is transferred
    assert (small.provenance, bigger.provenance) == ("calibrated", "roofline")
    # twice the cores: faster, but not twice as fast (the Keras per-call cost stays)
    assert small.latency_ms / 2 < bigger.latency_ms < small.latency_ms


def test_cpu_rates_match_cocktails_measured_c5_latencies() -> None:
    rows = REFERENCE / "cocktail" / "models.csv"
    if not rows.is_file():
        pytest.skip(f"missing {rows}")
    with rows.open(newline="", encoding="utf-8") as f:
        measured = {
            r["model"]: float(r["latency_ms"])
            for r in csv.DictReader(f)
            if r["source_file"] == "modules/naiveSchedule.py"
        }
    ratios = {
        name: estimated_rate(ZOO[name], INSTANCES["c5.xlarge"]).latency_ms / measured[name]
        for name in ZOO
    }
    # the roofline was 1.1x-12.9x too fast; the calibrated model is within 1.5x everywhere
    assert all(1 / 1.5 < r < 1.5 for r in ratios.values()), ratios


def test_vote_accuracy_hand_computed_majority() -> None:
    cm = CorrectnessModel.from_matrix(DISJOINT, VoteRule.MAJORITY)
    assert cm.accuracy([0]) == pytest.approx(0.6)
    assert cm.accuracy([2]) == pytest.approx(0.8)
    # every sample has two right votes out of three
    assert cm.accuracy([0, 1, 2]) == pytest.approx(1.0)
    # {0,1}: samples 0,1 and 2,3 are ties broken by m0 (equal weight and accuracy, first):
    # right on 2,3,4
    assert cm.accuracy([0, 1]) == pytest.approx(0.6)
    # {0,2}: ties broken by m2 (more accurate): right on 0..3, wrong on 4
    assert cm.accuracy([0, 2]) == pytest.approx(0.8)


def test_vote_accuracy_hand_computed_weighted() -> None:
    cm = CorrectnessModel.from_matrix(DISJOINT, VoteRule.WEIGHTED)
    # weights 0.6, 0.6, 0.8: sample 4 has 1.2 right vs 0.8 wrong; samples 0-3 1.4 vs 0.6
    assert cm.accuracy([0, 1, 2]) == pytest.approx(1.0)
    # {0,2}: 0.8 beats 0.6 whichever is right: m2's answer wins, 4/5
    assert cm.accuracy([0, 2]) == pytest.approx(0.8)
    # {1,2} weighted: m2 decides too
    assert cm.accuracy([1, 2]) == pytest.approx(0.8)


def test_pessimistic_vote_wrong_members_outvote() -> None:
    # one right member against two wrong ones loses under the pessimistic rule
    matrix = np.array([[1, 0, 0], [1, 1, 0], [1, 1, 1], [0, 0, 0]], dtype=bool)
    cm = CorrectnessModel.from_matrix(matrix, VoteRule.MAJORITY)
    assert cm.accuracy([0, 1, 2]) == pytest.approx(0.5)
    assert cm.accuracy([0]) == pytest.approx(0.75)


def test_minimal_feasible_keeps_only_minimal_subsets() -> None:
    cm = CorrectnessModel.from_matrix(DISJOINT, VoteRule.MAJORITY)
    subsets = enumerate_subsets([0, 1, 2], 3)
    assert len(subsets) == 7
    acc = cm.accuracies(subsets)
    # target 0.8: {2} qualifies (so every superset of it is dropped), {0,2} and {1,2} too
    # but contain {2}; {0,1} = 0.6 fails; {0,1,2} contains {2}
    assert minimal_feasible(subsets, acc, 0.8) == [(2,)]
    # target 0.9: only {0,1,2}
    assert minimal_feasible(subsets, acc, 0.9) == [(0, 1, 2)]
    assert minimal_feasible(subsets, acc, 1.01) == []


def test_monte_carlo_is_seeded_and_matches_marginals() -> None:
    top1 = [0.8, 0.7, 0.6]
    a = monte_carlo_correctness(top1, 20_000, 0.5, seed=3)
    b = monte_carlo_correctness(top1, 20_000, 0.5, seed=3)
    assert np.array_equal(a, b)
    assert a.mean(axis=0) == pytest.approx(top1, abs=0.01)
    # correlation 1: errors nest (a less accurate model fails wherever a better one does)
    nested = monte_carlo_correctness(top1, 5_000, 1.0, seed=0)
    assert not np.any(nested[:, 1] & ~nested[:, 0])
    # correlation 0 with three 0.7 models: majority accuracy = 0.7^3 + 3 * 0.7^2 * 0.3
    independent = monte_carlo_correctness([0.7] * 3, 200_000, 0.0, seed=1)
    cm = CorrectnessModel.from_matrix(independent, VoteRule.MAJORITY)
    assert cm.accuracy([0, 1, 2]) == pytest.approx(0.784, abs=0.005)


def test_correctness_csv(tmp_path: Path) -> None:
    good = tmp_path / "c.csv"
    good.write_text("b,a\n1,0\n0,0\n1,1\n")
    matrix = read_correctness_csv(good, ["a", "b"])
    assert matrix.tolist() == [[False, True], [False, False], [True, True]]
    bad = tmp_path / "bad.csv"
    bad.write_text("a,b\n1,2\n")
    with pytest.raises(DataError, match="line 2"):
        read_correctness_csv(bad, ["a", "b"])
    with pytest.raises(DataError, match="missing c"):
        read_correctness_csv(good, ["a", "c"])


def test_spot_interruption_probability_from_band() -> None:
    # g4dn.xlarge is in the 5-10% band: 7.5% per 730-hour month
    q = interruption_probability(INSTANCES["g4dn.xlarge"], 1.0, 1.0)
    assert q == pytest.approx(1 - math.exp(-0.075 / 730))
    assert interruption_probability(INSTANCES["g4dn.xlarge"], 1.0, 0.0) == 0.0
    assert interruption_probability(INSTANCES["p2.16xlarge"], 730.0, 4.0) == pytest.approx(
        1 - math.exp(-1.0)
    )
