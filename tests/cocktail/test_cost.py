"""Golden numbers for the Cocktail cost models: zoo latency, vote accuracy, spot risk."""

from __future__ import annotations

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
from cost_models.cocktail.zoo import ZOO, latency_ms, throughput_qps, zoo_model
from cost_models.errors import DataError

# Five samples, three models: m0 and m1 are right on 3 of 5, m2 on 4 of 5; every sample
# has exactly two right answers.
DISJOINT = np.array([[0, 1, 1], [0, 1, 1], [1, 0, 1], [1, 0, 1], [1, 1, 0]], dtype=bool)


def test_zoo_has_the_twelve_keras_models_with_published_facts() -> None:
    assert len(ZOO) == 12
    assert zoo_model("NASNetLarge").top1 == 0.825
    assert zoo_model("MobileNetV2").params == 3_538_984
    with pytest.raises(DataError):
        zoo_model("AlexNet")


def test_gpu_latency_golden_resnet50_on_t4() -> None:
    # 7.6 GFLOP / (8.1 TFLOP/s * 0.5) = 1.87654 ms beats 102.5 MB / 240 GB/s = 0.427 ms;
    # plus 0.2 ms overhead.
    got = latency_ms(ZOO["ResNet50"], INSTANCES["g4dn.xlarge"])
    assert got == pytest.approx(7.6e9 / 4.05e12 * 1e3 + 0.2, rel=1e-9)
    assert got == pytest.approx(2.076543, rel=1e-6)
    assert throughput_qps(ZOO["ResNet50"], INSTANCES["g4dn.xlarge"]) == pytest.approx(
        1e3 / 2.076543, rel=1e-6
    )


def test_cpu_latency_scales_cpu16_by_cores() -> None:
    # c5.xlarge: 4 vCPUs = 2 cores = 1/8 of CPU16: 0.38375 TFLOP/s peak, 17.6 GB/s.
    # NASNetMobile: 1.128 GFLOP / 0.191875e12 = 5.87883 ms (compute-bound) + 0.2 ms.
    got = latency_ms(ZOO["NASNetMobile"], INSTANCES["c5.xlarge"])
    assert got == pytest.approx(1.128e9 / 0.191875e12 * 1e3 + 0.2, rel=1e-9)
    # twice the cores, half the compute time
    bigger = latency_ms(ZOO["NASNetMobile"], INSTANCES["c5.2xlarge"])
    assert bigger == pytest.approx((got - 0.2) / 2 + 0.2, rel=1e-9)
    # one request at a time on the whole CPU instance
    assert throughput_qps(ZOO["NASNetMobile"], INSTANCES["c5.xlarge"]) == pytest.approx(1e3 / got)


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
