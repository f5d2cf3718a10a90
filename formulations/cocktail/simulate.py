"""Spot-failure check: replay plans against seeded random spot interruptions.

For each run and interval, every spot VM of a pool is reclaimed at an exponential time with
rate ``band.hourly_rate * interruption_rate_scale`` per hour (the Spot Advisor band of its
instance type); a reclaimed VM is gone until the end of the interval (the plan re-provisions
at the next interval boundary; replacements within the interval are not modelled, which is
pessimistic). Each class's *observed* load (``actual_qps``; it differs from the planned load
when the plan used a forecast) is routed as the plan says, scaled by observed / planned;
requests are counted from the observed load (``actual_requests``: a trace's arrivals, not its
peak rate times the interval).

At ``substeps`` evenly spaced instants of each interval, a pool with capacity ``c`` and load
``l`` answers a share ``min(1, c / l)`` of its requests in time (the rest miss the SLO). A
member answers a request of class ``k`` with the route-weighted share of its pools; members
answer independently. A request *meets its targets* when the members that answer in time
form a non-empty set whose vote accuracy (cost model) meets the class target: the whole
ensemble when nothing fails, a sub-ensemble otherwise (Cocktail's argument for tolerating
spot losses). Shares are weighted by observed requests and averaged over runs.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np

from formulations.cocktail.baselines import baseline_runs
from formulations.cocktail.deployment import CocktailDeployment
from formulations.cocktail.view import CocktailView
from formulations.types import MilpSolver


@dataclass(frozen=True)
class SimulationReport:
    policy: str
    requests: float  # observed requests over the horizon (one run)
    targets_met_share: float  # accuracy target and SLO met
    answered_share: float  # at least one member answered within the SLO
    spot_interruptions_per_run: float


class SubsetOk:
    """Which subsets of an ensemble meet a target (vote accuracy), computed once per
    ensemble and target within one replay."""

    def __init__(self, view: CocktailView) -> None:
        self.view = view
        self.flags_of: dict[tuple[tuple[int, ...], float], np.ndarray] = {}

    def flags(self, members: tuple[int, ...], target: float) -> np.ndarray:
        """ok[mask] for every bit mask over ``members`` (bit j = member j answered)."""
        key = (members, target)
        if key not in self.flags_of:
            masks = list(range(1, 2 ** len(members)))
            subsets = [
                tuple(members[j] for j in range(len(members)) if mask >> j & 1) for mask in masks
            ]
            ok = np.zeros(2 ** len(members), dtype=bool)
            ok[masks] = self.view.correctness.accuracies(subsets) >= target
            self.flags_of[key] = ok
        return self.flags_of[key]


def _met_probability(answer: np.ndarray, ok: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per instant: P(the answering members meet the target), P(at least one answers).

    ``answer`` is (instants x members), the probability each member answers in time; ``ok``
    flags every bit mask of members. Only members that may fail are enumerated.
    """
    n_members = answer.shape[1]
    sure = np.all(answer >= 1.0, axis=0)
    always = int(sum(1 << j for j in range(n_members) if sure[j]))
    unsure = [j for j in range(n_members) if not sure[j]]
    bits = (np.arange(2 ** len(unsure))[:, None] >> np.arange(len(unsure))[None, :]) & 1
    masks = always | (bits << np.array(unsure, dtype=int)).sum(axis=1)
    part = answer[:, unsure]
    probs = np.where(bits[None, :, :] == 1, part[:, None, :], 1.0 - part[:, None, :]).prod(2)
    return probs[:, ok[masks]].sum(axis=1), probs[:, masks != 0].sum(axis=1)


def simulate(
    view: CocktailView,
    deployment: CocktailDeployment,
    runs: int = 20,
    seed: int = 0,
    substeps: int = 12,
) -> SimulationReport:
    """Replay ``deployment`` ``runs`` times against seeded spot interruptions."""
    rng = np.random.default_rng(seed)
    model_idx, inst_idx = view.model_index, view.instance_index
    subset_ok = SubsetOk(view)
    instants = (np.arange(substeps) + 0.5) / substeps * view.interval_h
    met = answered = interruptions = 0.0
    total = view.requests()
    for _ in range(runs):
        for t, plan in enumerate(deployment.intervals):
            ratio = np.divide(
                view.actual_qps[:, t],
                view.planned_qps[:, t],
                out=np.zeros(len(view.classes)),
                where=view.planned_qps[:, t] > 0,
            )
            load: dict[tuple[int, int], float] = {}
            for k, cls in enumerate(plan.classes):
                for r in cls.routes:
                    key = (model_idx[r.model], inst_idx[r.instance_type])
                    load[key] = load.get(key, 0.0) + r.qps * ratio[k]
            share: dict[tuple[int, int], np.ndarray | float] = {}
            for pool in plan.pools:
                m, i = model_idx[pool.model], inst_idx[pool.instance_type]
                lost_at = rng.exponential(
                    1.0 / max(view.spot_rate_per_h[i], 1e-300), size=pool.spot
                )
                interruptions += float(np.sum(lost_at < view.interval_h))
                alive = pool.on_demand + pool.spot - (lost_at[None, :] < instants[:, None]).sum(1)
                capacity = alive * view.capacity_qps[m, i]
                demand = load.get((m, i), 0.0)
                share[(m, i)] = np.minimum(1.0, capacity / demand) if demand > 0 else 1.0
            for k, cls in enumerate(plan.classes):
                requests = float(view.actual_requests[k, t])
                members = tuple(model_idx[m] for m in cls.members)
                answer = np.zeros((substeps, len(members)))
                for j, m in enumerate(members):
                    routes = [r for r in cls.routes if r.model == cls.members[j]]
                    weight = sum(r.qps for r in routes)
                    if weight > 0 and ratio[k] > 0:
                        answer[:, j] = (
                            sum(
                                r.qps * share.get((m, inst_idx[r.instance_type]), 0.0)
                                for r in routes
                            )
                            / weight
                        )
                ok = subset_ok.flags(members, view.classes[k].accuracy_target)
                met_p, answered_p = _met_probability(answer, ok)
                met += requests * float(met_p.mean())
                answered += requests * float(answered_p.mean())
    return SimulationReport(
        policy=deployment.policy,
        requests=total,
        targets_met_share=float(met / (runs * total)) if total > 0 else 1.0,
        answered_share=float(answered / (runs * total)) if total > 0 else 1.0,
        spot_interruptions_per_run=interruptions / runs,
    )


def simulate_all(
    view: CocktailView, deployments: Mapping[str, CocktailDeployment], runs: int = 20, seed: int = 0
) -> dict[str, SimulationReport]:
    """Simulate several plans with the same seed (common random numbers across plans)."""
    return {name: simulate(view, dep, runs, seed) for name, dep in deployments.items()}


def simulate_with_baselines(
    view: CocktailView,
    plan: CocktailDeployment,
    solver: MilpSolver,
    runs: int = 20,
    seed: int = 0,
) -> dict[str, SimulationReport]:
    """Simulate a plan (``"milp"``) and every baseline that has a plan, on the same inputs."""
    deployments = {"milp": plan}
    for run in baseline_runs(view, solver):
        if run.deployment is not None:
            deployments[run.name] = run.deployment
    return simulate_all(view, deployments, runs, seed)
