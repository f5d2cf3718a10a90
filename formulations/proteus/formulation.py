"""Proteus accuracy scaling (``kind = "proteus"``): the stages, wired to the package's
modules (``inputs``, ``view``, ``milp``, ``deployment``, ``verify``, ``baselines``,
``tables``, and ``refit`` for ``planner check``).

``solve`` plans every re-planned window (``forecast.py``'s schedule) in turn on the
demand planned for it, each with its own beta bisection and accuracy MILP
(``milp.solve_window``), warm-started from the previous plan; a window that is not
re-planned keeps the last plan. The plan's certificate combines the windows' as the
objective does (a mean weighted by the planned demand).
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from cost_models.units import UNIT_PERCENT
from formulations.proteus import baselines as bl
from formulations.proteus.deployment import ProteusDeployment, WindowPlan, window_plan
from formulations.proteus.inputs import ProteusInputs
from formulations.proteus.milp import candidates, combine_windows, solve_window
from formulations.proteus.refit import refit
from formulations.proteus.simulate import PLAN, simulate_tables
from formulations.proteus.tables import devices_carrying_traffic, tables
from formulations.proteus.verify import overall_accuracy_served, shed_share, verify
from formulations.proteus.view import ProteusView, infeasibility_reason, prepare
from formulations.tolerances import geq, leq
from formulations.types import (
    BaselineRun,
    Certificate,
    Formulation,
    MilpSolver,
    Objective,
    ObjectiveSpec,
    Provenance,
    RateSource,
    Refit,
    Sense,
    SimulateOptions,
    Solution,
    Table,
    Verification,
)

# At most this many per-window degrade warnings; more are summarised in one line.
WARNINGS_SHOWN = 5


def _degraded(view: ProteusView, windows: list[WindowPlan]) -> list[WindowPlan]:
    return [w for w in windows if not geq(w.beta, view.inputs.beta)]


def _warnings(view: ProteusView, windows: list[WindowPlan]) -> list[str]:
    beta = view.inputs.beta
    degraded = _degraded(view, windows)
    if len(degraded) > WARNINGS_SHOWN:
        return [
            f"{len(degraded)} of {len(windows)} windows degraded below beta "
            f"{beta:g} (lowest {min(w.beta for w in windows):g})"
        ]
    return [
        f"window {w.window_start_s:g} s: demand degraded to beta {w.beta:g} (asked {beta:g})"
        for w in degraded
    ]


class ProteusFormulation(Formulation[ProteusInputs, ProteusView, ProteusDeployment]):
    kind = "proteus"
    inputs_model = ProteusInputs
    deployment_model = ProteusDeployment
    objective = ObjectiveSpec("effective accuracy", UNIT_PERCENT, Sense.MAXIMIZE)

    def prepare(self, inputs: ProteusInputs) -> ProteusView:
        return prepare(inputs)

    def solve(self, view: ProteusView, solver: MilpSolver) -> Solution[ProteusDeployment]:
        usable = candidates(view)
        windows: list[WindowPlan] = []
        parts: list[Certificate] = []
        warm: dict[str, float] | None = None
        solution = None
        for w in range(view.windows):
            if solution is None or view.replans[w]:
                solution = solve_window(view, solver, w, usable, warm_start=warm)
                warm = solution.result.values_by_name()
                parts.append(solution.certificate)
            else:  # the last plan is kept (forecast.py's schedule); no solve
                parts.append(replace(solution.certificate, solves=0))
            windows.append(
                window_plan(
                    view,
                    w,
                    solution.beta,
                    solution.devices,
                    solution.routed_qps,
                    replanned=view.replans[w],
                )
            )
        return Solution(
            ProteusDeployment(windows=windows),
            combine_windows(view, parts),
            _warnings(view, windows),
        )

    def verify(self, view: ProteusView, deployment: ProteusDeployment) -> Verification:
        return verify(view, deployment)

    def tables(self, view: ProteusView, deployment: ProteusDeployment) -> list[Table]:
        return tables(view, deployment)

    def baselines(
        self, view: ProteusView, solver: MilpSolver, solution: Solution[ProteusDeployment]
    ) -> list[BaselineRun[ProteusDeployment]]:
        return bl.baselines(view, solver, solution.deployment)

    def rate_sources(self, view: ProteusView) -> list[RateSource]:
        """One group per (device type, provenance, source) of the capacities the plan may
        use, with the largest expected error of the group."""
        groups: dict[tuple[str, Provenance, str], list[tuple[str, float | None, int]]] = {}
        for (device_type, variant), rate in sorted(view.rate.items()):
            key = (device_type, rate.provenance, rate.source)
            batch = view.capacity[(device_type, variant)].batch
            groups.setdefault(key, []).append((variant, rate.expected_error_pct, batch))
        out = []
        for (device_type, provenance, source), members in groups.items():
            errors = [e for _, e, _ in members if e is not None]
            batches = sorted({b for _, _, b in members})
            names = ", ".join(v for v, _, _ in members)
            out.append(
                RateSource(
                    f"{device_type}: {len(members)} variants ({names}) at batch "
                    f"{batches[0]}-{batches[-1]}",
                    provenance,
                    max(errors) if errors else None,
                    source,
                )
            )
        return out

    def headline(
        self, view: ProteusView, deployment: ProteusDeployment
    ) -> dict[str, float | int | str | None]:
        """Headroom first (the MILP maximises beta before accuracy): the lowest beta of any
        window, how many windows were degraded below the scenario's beta, the most devices
        carrying traffic in any window (a device hosting a variant with no queries routed
        to it is idle, not used); then what the plan does with the actual demand: the
        effective accuracy served (shed demand counts as accuracy 0, %), the share of the
        demand shed (%), and how many windows were re-planned."""
        windows = deployment.windows
        return {
            "min_beta": min(w.beta for w in windows),
            "degraded_windows": len(_degraded(view, windows)),
            "max_devices_used": max(devices_carrying_traffic(w) for w in windows),
            "effective_accuracy_served": overall_accuracy_served(view, deployment),
            "shed_pct": shed_share(deployment),
            "replanned_windows": sum(w.replanned for w in windows),
        }

    def incomparable(
        self, view: ProteusView, plan: ProteusDeployment, baseline: ProteusDeployment
    ) -> str:
        """The objective (accuracy of the routed demand) does not count shed demand: a
        baseline that sheds more than the plan is compared by ``effective_accuracy_served``
        (shed demand at accuracy 0), not by its objective."""
        plan_shed, shed = shed_share(plan), shed_share(baseline)
        if leq(shed, plan_shed):
            return ""
        return (
            f"sheds {shed:.1f}% of the demand (the plan {plan_shed:.1f}%): its objective "
            f"counts only what it routes; effective accuracy served "
            f"{overall_accuracy_served(view, baseline):.2f}% against the plan's "
            f"{overall_accuracy_served(view, plan):.2f}%"
        )

    def refit(
        self, view: ProteusView, deployment: ProteusDeployment, solver: MilpSolver
    ) -> Refit[ProteusDeployment]:
        """Keep every window's placements and busy devices; re-route the scenario's demand
        over them (``formulations.proteus.refit``)."""
        return refit(view, deployment, solver)

    def simulate(
        self,
        view: ProteusView,
        deployment: ProteusDeployment,
        solver: MilpSolver,
        options: SimulateOptions,
    ) -> list[Table]:
        """Replay the plan and every baseline's deployment (``simulate.py``); honours the
        rate scale, the span and a trace file."""
        options.refuse_unsupported(self.kind, frozenset({"rate_scale", "duration_s", "trace"}))
        deployments: dict[str, ProteusDeployment | None] = {PLAN: deployment}
        for run in bl.baselines(view, solver, deployment):
            deployments[run.name] = run.deployment
        return simulate_tables(view, deployments, options)

    def explain_infeasible(self, view: ProteusView, context: Any) -> str:
        return infeasibility_reason(view, int(context))

    def shortfall(
        self,
        stored: Objective,
        fresh: Objective,
        stored_deployment: ProteusDeployment,
        fresh_deployment: ProteusDeployment,
    ) -> float:
        """Headroom first: a committed window (after the refit: the highest beta its
        placements support) with a lower beta than the fresh plan's is short by the
        relative beta difference; otherwise the relative accuracy difference."""
        beta_short = max(
            (
                max(0.0, f.beta - s.beta) / f.beta
                for s, f in zip(stored_deployment.windows, fresh_deployment.windows, strict=False)
            ),
            default=0.0,
        )
        if not geq(0.0, beta_short):
            return beta_short
        return super().shortfall(stored, fresh, stored_deployment, fresh_deployment)
