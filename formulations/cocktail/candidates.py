"""Candidate ensembles per request class (minimal subsets meeting the accuracy target)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from cost_models.cocktail.accuracy import enumerate_subsets, minimal_feasible
from formulations.cocktail.inputs import CocktailData


@dataclass(frozen=True)
class ClassCandidates:
    eligible: list[int]  # models meeting the class SLO on at least one instance type
    ensembles: list[tuple[int, ...]]  # minimal subsets meeting the accuracy target
    best_accuracy: float  # best vote accuracy of any subset within the size bound
    best_members: tuple[int, ...]


def eligible_models(data: CocktailData, k: int) -> list[int]:
    return [
        m
        for m in range(len(data.models))
        if any(data.meets_slo(m, i, k) for i in range(len(data.instances)))
    ]


def class_candidates(data: CocktailData, k: int) -> ClassCandidates:
    eligible = eligible_models(data, k)
    subsets = enumerate_subsets(eligible, min(data.max_ensemble_size, len(eligible)))
    if not subsets:
        return ClassCandidates([], [], 0.0, ())
    accuracies = data.correctness.accuracies(subsets)
    best = int(np.argmax(accuracies))
    return ClassCandidates(
        eligible=eligible,
        ensembles=minimal_feasible(subsets, accuracies, data.classes[k].accuracy_target),
        best_accuracy=float(accuracies[best]),
        best_members=subsets[best],
    )


def unreachable_message(data: CocktailData, k: int, cand: ClassCandidates) -> str:
    """Why class ``k`` has no candidate ensemble (used for InfeasibleError)."""
    cls = data.classes[k]
    if not cand.eligible:
        return (
            f"class {cls.name!r}: no model meets the latency SLO of {cls.slo_ms:g} ms on "
            f"any of the instance types {', '.join(data.instances)}"
        )
    members = "+".join(data.models[m] for m in cand.best_members)
    return (
        f"class {cls.name!r}: accuracy target {cls.accuracy_target:.4f} is not reachable; "
        f"the best vote accuracy of ensembles of up to {data.max_ensemble_size} models "
        f"meeting SLO {cls.slo_ms:g} ms is {cand.best_accuracy:.4f} ({members})"
    )


def dominated_instances(data: CocktailData) -> set[int]:
    """Instance types another listed type dominates: for every model no slower, no less
    capacity, and no dearer on-demand or spot, with no higher interruption risk (ties keep
    the first listed). Leaving them out is exact: swapping each of their VMs for one of the
    dominating type keeps every constraint and costs no more."""
    n_i = len(data.instances)

    def covers(j: int, i: int) -> bool:
        return bool(
            np.all(data.latency_ms[:, j] <= data.latency_ms[:, i])
            and np.all(data.capacity_qps[:, j] >= data.capacity_qps[:, i])
            and data.on_demand_usd_per_h[j] <= data.on_demand_usd_per_h[i]
            and data.spot_usd_per_h[j] <= data.spot_usd_per_h[i]
            and data.spot_loss_prob[j] <= data.spot_loss_prob[i]
        )

    return {
        i
        for i in range(n_i)
        if any(covers(j, i) and (j < i or not covers(i, j)) for j in range(n_i) if j != i)
    }
