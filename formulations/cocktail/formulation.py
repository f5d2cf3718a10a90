"""The Cocktail :class:`Formulation`: plan, verify, tables (math in the package docstring)."""

from __future__ import annotations

import time
from typing import Any, ClassVar

from formulations.cocktail.baselines import baseline_deployments
from formulations.cocktail.candidates import class_candidates, unreachable_message
from formulations.cocktail.inputs import CocktailData, CocktailDeployment, CocktailInputs
from formulations.cocktail.milp import solve_plan
from formulations.cocktail.simulate import simulate_with_baselines
from formulations.cocktail.verify import interval_cost_usd, requests_served, verify_deployment
from formulations.types import (
    Formulation,
    InfeasibleError,
    MilpSolver,
    Objective,
    Outcome,
    Sense,
    Table,
    Verification,
)


def ensemble_accuracy(data: CocktailData, members: list[str]) -> float:
    return data.correctness.accuracy([data.model_index[m] for m in members])


def cost_summary(data: CocktailData, deployment: CocktailDeployment) -> dict[str, float]:
    """Total cost, cost per hour and per 1k requests of a deployment."""
    total = sum(interval_cost_usd(data, deployment))
    requests = requests_served(data)
    return {
        "cost_usd": total,
        "cost_usd_per_h": total / (data.n_intervals * data.interval_h),
        "cost_usd_per_1k_requests": 1e3 * total / requests if requests > 0 else 0.0,
    }


def targets_met(data: CocktailData, deployment: CocktailDeployment) -> bool:
    """Whether every chosen ensemble reaches its class's accuracy target."""
    return all(
        ensemble_accuracy(data, c.members) >= data.classes[k].accuracy_target
        for plan in deployment.intervals
        for k, c in enumerate(plan.classes)
    )


def baseline_summary(
    data: CocktailData, deployment: CocktailDeployment, milp_cost_usd: float
) -> dict[str, Any]:
    summary: dict[str, Any] = cost_summary(data, deployment)
    summary["cost_over_milp"] = summary["cost_usd"] / milp_cost_usd if milp_cost_usd else 0.0
    summary["targets_met"] = targets_met(data, deployment)
    summary["violations"] = len(verify_deployment(data, deployment).violations)
    summary["ensembles"] = (
        "; ".join(f"{c.name}: {'+'.join(c.members)}" for c in deployment.intervals[0].classes)
        if deployment.intervals
        else ""
    )
    return summary


class CocktailFormulation(Formulation[CocktailInputs, CocktailDeployment]):
    kind: ClassVar[str] = "cocktail"
    inputs_model = CocktailInputs
    deployment_model = CocktailDeployment

    def plan(self, inputs: CocktailInputs, solver: MilpSolver) -> Outcome[CocktailDeployment]:
        started = time.perf_counter()
        data = inputs.data()
        candidates = [class_candidates(data, k) for k in range(len(data.classes))]
        for k, cand in enumerate(candidates):
            if not cand.ensembles:
                raise InfeasibleError(unreachable_message(data, k, cand))
        prepare_s = time.perf_counter() - started
        deployment, result, build_s = solve_plan(
            data,
            [c.ensembles for c in candidates],
            True,
            solver,
            lambda: "; ".join(unreachable_message(data, k, c) for k, c in enumerate(candidates)),
            "milp",
        )
        milp_cost = sum(interval_cost_usd(data, deployment))
        baselines = {
            name: baseline_summary(data, dep, milp_cost)
            for name, dep in baseline_deployments(data, solver).items()
        }
        warnings = [
            f"baseline {name} misses an accuracy target"
            for name, b in baselines.items()
            if not b["targets_met"]
        ]
        return Outcome(
            deployment=deployment,
            objective=Objective("cost", "USD", Sense.MINIMIZE, float(result.objective or 0.0)),
            result=result,
            build_s=prepare_s + build_s,
            solve_s=result.solve_s,
            baselines=baselines,
            warnings=warnings,
        )

    def verify(self, inputs: CocktailInputs, deployment: CocktailDeployment) -> Verification:
        return verify_deployment(inputs.data(), deployment)

    def tables(self, inputs: CocktailInputs, deployment: CocktailDeployment) -> list[Table]:
        data = inputs.data()
        model_idx, inst_idx = data.model_index, data.instance_index
        ensembles, pools = [], []
        for t, plan in enumerate(deployment.intervals):
            for k, c in enumerate(plan.classes):
                latency = max(
                    (
                        data.latency_ms[model_idx[r.model], inst_idx[r.instance_type]]
                        for r in c.routes
                    ),
                    default=0.0,
                )
                ensembles.append(
                    [
                        t,
                        c.name,
                        round(float(data.planned_qps[k, t]), 3),
                        "+".join(c.members),
                        round(ensemble_accuracy(data, c.members), 4),
                        data.classes[k].accuracy_target,
                        round(float(latency), 3),
                        data.classes[k].slo_ms,
                    ]
                )
            for p in plan.pools:
                m, i = model_idx[p.model], inst_idx[p.instance_type]
                load = sum(
                    r.qps
                    for c in plan.classes
                    for r in c.routes
                    if (r.model, r.instance_type) == (p.model, p.instance_type)
                )
                pools.append(
                    [
                        t,
                        p.model,
                        p.instance_type,
                        p.on_demand,
                        p.spot,
                        round(float(data.capacity_qps[m, i]), 3),
                        round(load, 3),
                        round(
                            float(
                                p.on_demand * data.on_demand_usd_per_h[i]
                                + p.spot * data.spot_usd_per_h[i]
                            ),
                            4,
                        ),
                    ]
                )
        summary = cost_summary(data, deployment)
        return [
            Table(
                "Ensemble per interval and class",
                [
                    "interval",
                    "class",
                    "load_qps",
                    "ensemble",
                    "vote_accuracy",
                    "accuracy_target",
                    "latency_ms",
                    "slo_ms",
                ],
                ensembles,
            ),
            Table(
                "VMs per interval, model and instance type",
                [
                    "interval",
                    "model",
                    "instance_type",
                    "on_demand",
                    "spot",
                    "capacity_qps_per_vm",
                    "load_qps",
                    "cost_usd_per_h",
                ],
                pools,
            ),
            Table("Cost", list(summary), [[round(v, 6) for v in summary.values()]]),
        ]

    def simulate(
        self,
        inputs: CocktailInputs,
        deployment: CocktailDeployment,
        solver: MilpSolver,
        runs: int,
        seed: int,
    ) -> list[Table]:
        """Spot-failure replay of the plan and of every baseline (see simulate.py)."""
        reports = simulate_with_baselines(inputs, deployment, solver, runs, seed)
        rows = [
            [
                name,
                r.requests,
                100.0 * r.targets_met_share,
                100.0 * r.answered_share,
                r.spot_interruptions_per_run,
            ]
            for name, r in reports.items()
        ]
        return [
            Table(
                f"Spot-failure replay: {runs} seeded runs from seed {seed}, interruption rates "
                f"x{inputs.interruption_rate_scale:g}",
                [
                    "plan",
                    "requests",
                    "targets_met_pct",
                    "answered_pct",
                    "spot_interruptions_per_run",
                ],
                rows,
                marked_row=0,
            )
        ]
