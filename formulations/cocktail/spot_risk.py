"""Targets-met share of a plan that uses spot VMs at two interruption rates: the Spot Advisor
band rate it was planned with, and the measured spot lifetimes (issue 10 item 5).

Both shares come from the fork-join discrete-event replay (``replay.py``; it takes a spot
interruption rate per instance type), :data:`RUNS` seeded run(s) of
:data:`replay.DEFAULT_WINDOW_S`-second windows per interval, with the same seed for both
rates (common random numbers: the shares differ only through the interruptions). The replay
includes Poisson queueing, so even the Spot Advisor share can be below 100%. Measured rates
(``cost_models/cocktail/spot.py``): the Kaplan-Meier lifetimes of the instance's own family
where ``../shared/reference/spot`` has them (p2), else the p2.xlarge lifetimes as a labelled
stress proxy (c5, m5, g4dn have no measured lifetimes; the table says ``proxy p2.xlarge
(stress)``; the p2.xlarge median lifetime is 26 min).
"""

from __future__ import annotations

import dataclasses

import numpy as np

from cost_models.cocktail.spot import REFERENCE
from cost_models.perf.spot_lifetimes import LIFETIMES
from formulations.cocktail.deployment import CocktailDeployment
from formulations.cocktail.replay import replay_plan
from formulations.cocktail.tables import PERCENT
from formulations.cocktail.view import CocktailView
from formulations.types import Table

RUNS = 1  # seeded replays per rate (each ~1-2 s CPU for the shipped day-long scenarios)
SEED = 0


def targets_met_share(view: CocktailView, deployment: CocktailDeployment) -> float:
    """Replayed share of requests meeting SLO and accuracy target, over :data:`RUNS` runs."""
    met = total = 0.0
    for r in range(RUNS):
        outcome = replay_plan(view, deployment, SEED + r)
        met += sum(outcome.targets_met)
        total += sum(c.requests for c in outcome.counts)
    return met / total if total else 1.0


def spot_types(view: CocktailView, deployment: CocktailDeployment) -> list[int]:
    """Instance types (indices) on which the plan runs spot VMs."""
    used = {p.instance_type for plan in deployment.intervals for p in plan.pools if p.spot > 0}
    return [view.instance_index[name] for name in view.instances if name in used]


def spot_risk_table(view: CocktailView, deployment: CocktailDeployment) -> list[Table]:
    """The table (none when the plan uses no spot VM)."""
    used = spot_types(view, deployment)
    if not used:
        return []
    columns = ["basis", "instance_type", "rate_per_vm_h", "lifetimes", "targets_met_pct"]
    advisor_pct = round(PERCENT * targets_met_share(view, deployment), 2)
    scale = view.interruption_rate_scale
    rows: list[list[object]] = [
        [
            "Spot Advisor" if scale == 1 else f"Spot Advisor x {scale:g}",
            view.instances[i],
            float(f"{view.spot_rate_per_h[i]:.4g}"),
            "band / 730 h (planned)",
            advisor_pct,
        ]
        for i in used
    ]
    title = "Spot risk: targets met at the Spot Advisor and the measured interruption rates"
    if view.measured_spot is None:
        rows.append(["measured", "-", None, "absent", None])
        title += f" (measured: {REFERENCE / LIFETIMES} absent)"
        return [Table(title, columns, rows)]
    measured = np.array([s.rate_per_h for s in view.measured_spot])
    replayed = dataclasses.replace(view, spot_rate_per_h=measured)
    measured_pct = round(PERCENT * targets_met_share(replayed, deployment), 2)
    for i in used:
        spot = view.measured_spot[i]
        median = "-" if spot.median_h is None else f"{60 * spot.median_h:.0f} min"
        data = f"proxy {spot.family} (stress)" if spot.proxy else f"{spot.family}, median {median}"
        rate = float(f"{spot.rate_per_h:.4g}")
        rows.append(["measured", view.instances[i], rate, data, measured_pct])
    return [Table(title, columns, rows)]
