"""The baselines against brute-force oracles on tiny seeded instances, and their plans
verified."""

from __future__ import annotations

import itertools
import random

import pytest

import planner
from formulations.cocktail import FORMULATION
from formulations.cocktail.baselines import (
    cocktail_deployment,
    cocktail_ensembles,
    infaas_cocktail_ensembles,
    infaas_ensembles,
    mark_fill,
)
from formulations.cocktail.view import CocktailView
from formulations.types import InfeasibleError
from tests.cocktail.helpers import random_tiny, tiny, view_of

SEEDS = range(12)


def _views() -> list[CocktailView]:
    out = []
    for seed in SEEDS:
        try:
            out.append(view_of(random_tiny(seed)))
        except InfeasibleError:
            continue
    return out


def _single(view: CocktailView, m: int) -> float:
    return view.correctness.accuracy([m])


def _meets_slo_somewhere(view: CocktailView, m: int, k: int) -> bool:
    return any(view.meets_slo(m, i, k) for i in range(len(view.instances)))


@pytest.mark.parametrize("view", _views(), ids=lambda v: "+".join(v.models))
def test_infaas_rules_against_brute_force(view: CocktailView) -> None:
    for k, cls in enumerate(view.classes):
        usable = [m for m in range(len(view.models)) if _meets_slo_somewhere(view, m, k)]
        if not usable:  # no model meets the SLO on these types: nothing to serve
            assert infaas_ensembles(view)[k] == ()
            continue
        (chosen,) = infaas_ensembles(view)[k]
        floor = [m for m in usable if _single(view, m) >= cls.accuracy_target]
        if floor:  # INFaaS: the least accurate model meeting the floor
            assert chosen in floor
            assert all(_single(view, chosen) <= _single(view, m) for m in floor)
        else:  # no variant meets the floor: the most accurate is served (and flagged)
            assert all(_single(view, chosen) >= _single(view, m) for m in usable)
        (most,) = infaas_cocktail_ensembles(view)[k]
        assert all(_single(view, most) >= _single(view, m) for m in usable)


@pytest.mark.parametrize("view", _views(), ids=lambda v: "+".join(v.models))
def test_cocktail_selection_is_an_accuracy_prefix_pruned_to_the_target(
    view: CocktailView,
) -> None:
    for k, cls in enumerate(view.classes):
        members = cocktail_ensembles(view)[k]
        usable = [m for m in range(len(view.models)) if _meets_slo_somewhere(view, m, k)]
        if not usable:  # no model meets the SLO on these types: nothing to select
            assert members == ()
            continue
        by_accuracy = sorted(usable, key=lambda m: -_single(view, m))
        prefix = next(
            (
                by_accuracy[:j]
                for j in range(1, len(by_accuracy) + 1)
                if view.correctness.accuracy(by_accuracy[:j]) >= cls.accuracy_target
            ),
            by_accuracy,
        )
        assert set(members) <= set(prefix)
        if view.correctness.accuracy(prefix) >= cls.accuracy_target:
            assert view.correctness.accuracy(list(members)) >= cls.accuracy_target
        else:
            assert list(members) == prefix


def _fill_one_at_a_time(load: float, caps: list[float], prices: list[float]) -> list[int]:
    counts, residual = [0] * len(caps), load * (1 - 1e-9)
    while residual > 0:
        best = min(range(len(caps)), key=lambda j: prices[j] / min(caps[j], residual))
        counts[best] += 1
        residual -= caps[best]
    return counts


def test_mark_fill_matches_the_one_vm_at_a_time_rule() -> None:
    rng = random.Random(0)
    for _ in range(300):
        n = rng.randint(1, 4)
        caps = [rng.uniform(1, 50) for _ in range(n)]
        prices = [rng.uniform(0.01, 2) for _ in range(n)]
        load = rng.uniform(0, 600)
        counts = mark_fill(load, caps, prices)
        assert counts == _fill_one_at_a_time(load, caps, prices)
        assert sum(c * n for c, n in zip(caps, counts, strict=True)) >= load * (1 - 1e-9)


def test_importance_is_agreement_with_the_vote() -> None:
    view = view_of(tiny())
    members = [0, 1, 2]
    importance = view.correctness.importance(members)
    model = view.correctness
    # oracle: per pattern, the pessimistic vote and each member's agreement with it
    expected = [0.0, 0.0, 0.0]
    for pattern, count in zip(model.patterns, model.counts, strict=True):
        right = sum(model.weights[m] for m in members if pattern[m])
        wrong = sum(model.weights[m] for m in members if not pattern[m])
        tie = pattern[model.tie_breaker(members)]
        ok = right > wrong or (right == wrong and tie)
        for j, m in enumerate(members):
            expected[j] += count * (bool(pattern[m]) == ok)
    assert list(importance) == pytest.approx([e / model.n_samples for e in expected])


def test_every_baseline_plan_verifies_on_the_tiny_scenario() -> None:
    plan = planner.solve(planner.scenario_from_dict(tiny()))
    for name in ("infaas", "infaas_spot", "infaas_cocktail", "cocktail"):
        baseline = plan.baseline(name)
        assert baseline.status == "feasible", (name, baseline.violations)
        assert baseline.objective >= plan.objective.value - 1e-9
    view = view_of(tiny())
    check = FORMULATION.verify(view, cocktail_deployment(view))
    assert check.ok, check.violations


def test_brute_force_smallest_ensembles_exist_for_the_pruned_cocktail() -> None:
    """Cocktail's pruned ensemble is never larger than its accuracy prefix, and a smaller
    qualifying subset of it exists only when pruning stopped at a more important member."""
    view = view_of(tiny())
    for k, cls in enumerate(view.classes):
        members = cocktail_ensembles(view)[k]
        smaller = [
            s
            for r in range(1, len(members))
            for s in itertools.combinations(members, r)
            if view.correctness.accuracy(list(s)) >= cls.accuracy_target
        ]
        if len(members) > 1 and smaller:
            least = members[int(view.correctness.importance(list(members)).argmin())]
            rest = [m for m in members if m != least]
            assert view.correctness.accuracy(rest) < cls.accuracy_target
