"""Exact dominance pruning of pipeline designs, within and across MPS levels."""

from __future__ import annotations

from formulations.ppipe.designs import Design, StageDesign, prune_dominated


def _design(levels_rates: list[tuple[int, float]], gpu: int = 0) -> Design:
    """A design of model 0 with one stage per (MPS level, instance throughput) on ``gpu``."""
    stages = tuple(
        StageDesign(gpu, mps, 1, k, k + 1, 1000.0, rate)
        for k, (mps, rate) in enumerate(levels_rates)
    )
    return Design(0, stages, 1000.0)


def test_a_multiple_level_with_enough_throughput_per_gpu_dominates() -> None:
    low = _design([(1, 10.0)])
    doubled = _design([(2, 6.0)])  # 2 slices x 6 = 12 >= 10 on the same GPU
    assert prune_dominated([low, doubled]) == [doubled]


def test_too_little_throughput_per_gpu_or_no_multiple_keeps_both() -> None:
    low = _design([(2, 10.0)])
    weak = _design([(4, 4.9)])  # 2 x 4.9 = 9.8 < 10
    odd = _design([(3, 100.0)])  # 3 is no multiple of 2
    assert prune_dominated([low, weak, odd]) == [low, weak, odd]


def test_every_slot_must_be_dominated_and_the_types_must_match() -> None:
    base = _design([(1, 10.0), (1, 10.0)])
    one_slot = _design([(2, 6.0), (2, 4.0)])  # second slot: 8 < 10
    both = _design([(2, 6.0), (1, 10.0)])
    other_gpu = _design([(2, 60.0), (2, 60.0)], gpu=1)
    kept = prune_dominated([base, one_slot, both, other_gpu])
    assert kept == [one_slot, both, other_gpu]
