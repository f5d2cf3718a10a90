"""Proteus accuracy scaling: plan every window, compare with the baselines, report."""

from __future__ import annotations

import math
from collections import defaultdict

from formulations.proteus import baselines as bl
from formulations.proteus.deployment import (
    BaselineResult,
    ProteusDeployment,
    WindowPlan,
    WindowSolve,
    window_plan,
)
from formulations.proteus.inputs import ProteusInputs, infeasibility_reason
from formulations.proteus.milp import Restriction, solve_window
from formulations.proteus.verify import (
    check_window,
    effective_accuracy,
    overall_accuracy,
    verify,
)
from formulations.types import (
    Formulation,
    MilpSolver,
    ModelSize,
    Objective,
    Outcome,
    Sense,
    SolveResult,
    SolveStatus,
    Table,
    Verification,
    VerificationError,
)

OBJECTIVE_NAME = "effective accuracy"
OBJECTIVE_UNIT = "% (normalised, demand-weighted)"


def _combine(results: list[SolveResult], weights: list[float]) -> SolveResult:
    """One status/bound/gap for a multi-window plan: the worst status, the demand-weighted
    bound and objective (the plan objective is the demand-weighted accuracy)."""
    status = (
        SolveStatus.FEASIBLE
        if any(r.status is SolveStatus.FEASIBLE for r in results)
        else SolveStatus.OPTIMAL
    )
    total = sum(weights)
    share = [w / total for w in weights] if total > 0 else [1 / len(weights)] * len(weights)
    objective = sum(s * (r.objective or 0.0) for s, r in zip(share, results, strict=True))
    bound = sum(
        s * (r.bound if r.bound is not None else math.inf)
        for s, r in zip(share, results, strict=True)
    )
    largest = max(results, key=lambda r: r.size.variables).size
    gap = max((r.gap or 0.0) for r in results)
    return SolveResult(
        status,
        objective,
        bound,
        gap,
        {},
        sum(r.solve_s for r in results),
        ModelSize(largest.variables, largest.integers, largest.constraints),
        results[0].backend,
        f"{len(results)} windows",
    )


class ProteusFormulation(Formulation[ProteusInputs, ProteusDeployment]):
    kind = "proteus"
    inputs_model = ProteusInputs
    deployment_model = ProteusDeployment

    def plan(self, inputs: ProteusInputs, solver: MilpSolver) -> Outcome[ProteusDeployment]:
        problem = inputs.problem
        windows: list[WindowPlan] = []
        results: list[SolveResult] = []
        build_s = solve_s = 0.0
        warm: dict[str, float] | None = None
        for w in range(len(problem.window_starts_s)):
            solution = solve_window(
                inputs,
                solver,
                problem.demand(w),
                lambda w=w: infeasibility_reason(inputs, w),
                warm_start=warm,
            )
            warm = solution.values
            build_s += solution.build_s
            solve_s += solution.solve_s
            results.append(solution.result)
            window = window_plan(inputs, w, solution.beta, solution.devices, solution.routed_qps)
            window.solve = WindowSolve(
                status=solution.result.status.value,
                gap=solution.result.gap,
                build_s=solution.build_s,
                solve_s=solution.solve_s,
            )
            windows.append(window)
        if inputs.baselines:
            self._add_baselines(inputs, solver, windows)
        deployment = ProteusDeployment(windows=windows)
        warnings = [
            f"window {w.window_start_s:g} s: demand degraded to beta {w.beta:g} "
            f"(asked {inputs.beta:g})"
            for w in windows
            if w.beta < inputs.beta - 1e-9
        ]
        if len(warnings) > 5:
            warnings = [
                f"{len(warnings)} of {len(windows)} windows degraded below beta "
                f"{inputs.beta:g} (lowest {min(w.beta for w in windows):g})"
            ]
        result = (
            results[0]
            if len(results) == 1
            else _combine(results, [sum(w.demand_qps.values()) for w in windows])
        )
        return Outcome(
            deployment=deployment,
            objective=Objective(
                OBJECTIVE_NAME, OBJECTIVE_UNIT, Sense.MAXIMIZE, overall_accuracy(inputs, deployment)
            ),
            result=result,
            build_s=build_s,
            solve_s=solve_s,
            baselines=self._baseline_summary(windows),
            warnings=warnings,
        )

    def _add_baselines(
        self, inputs: ProteusInputs, solver: MilpSolver, windows: list[WindowPlan]
    ) -> None:
        problem = inputs.problem
        ha = bl.clipper_restriction(problem, most_accurate=True)
        la = bl.clipper_restriction(problem, most_accurate=False)
        first = {(p.device_type, p.variant): p.devices for p in windows[0].placements}
        sommelier = Restriction(family_devices=bl.family_devices(problem, first))
        for w, window in enumerate(windows):
            plans = {
                "clipper_ha": bl.solve_restricted(inputs, solver, w, ha),
                "clipper_la": bl.solve_restricted(inputs, solver, w, la),
                "sommelier": bl.solve_restricted(inputs, solver, w, sommelier),
                "infaas": bl.infaas_greedy(inputs, w),
            }
            for name, plan in plans.items():
                if plan is None:
                    window.baselines[name] = BaselineResult(beta=None, effective_accuracy=None)
                    continue
                assembled = window_plan(inputs, w, plan.beta, plan.devices, plan.routed_qps)
                violations = check_window(inputs, w, assembled)
                if violations:
                    raise VerificationError(
                        f"baseline {name} failed verification: " + "; ".join(violations)
                    )
                window.baselines[name] = BaselineResult(
                    beta=plan.beta, effective_accuracy=effective_accuracy(inputs, assembled)
                )

    @staticmethod
    def _baseline_summary(windows: list[WindowPlan]) -> dict[str, dict[str, float | int | None]]:
        names = [n for n in bl.BASELINES if n in windows[0].baselines]
        summary: dict[str, dict[str, float | int | None]] = {
            "proteus_milp": {
                "min_beta": min(w.beta for w in windows),
                "effective_accuracy": _weighted([(w.effective_accuracy, w) for w in windows]),
                "windows_without_plan": 0,
            }
        }
        for name in names:
            found = [(w.baselines[name], w) for w in windows if w.baselines[name].beta is not None]
            summary[name] = {
                "min_beta": min((r.beta for r, _ in found), default=None),
                "effective_accuracy": _weighted([(r.effective_accuracy, w) for r, w in found]),
                "windows_without_plan": len(windows) - len(found),
            }
        return summary

    def verify(self, inputs: ProteusInputs, deployment: ProteusDeployment) -> Verification:
        return verify(inputs, deployment)

    def tables(self, inputs: ProteusInputs, deployment: ProteusDeployment) -> list[Table]:
        trace = len(deployment.windows) > 1
        tables = [_placements(deployment, trace)]
        if trace:
            tables.append(_windows(deployment))
        else:
            tables.append(_device_types(inputs, deployment.windows[0]))
            tables.append(_families(inputs, deployment.windows[0]))
        return tables

    def shortfall(
        self,
        stored: Objective,
        fresh: Objective,
        stored_deployment: ProteusDeployment,
        fresh_deployment: ProteusDeployment,
    ) -> float:
        """Headroom first: a stored window with a lower beta than the fresh plan's is short
        by the relative beta difference; otherwise the relative accuracy difference."""
        beta_short = max(
            (
                max(0.0, f.beta - s.beta) / f.beta
                for s, f in zip(stored_deployment.windows, fresh_deployment.windows, strict=False)
            ),
            default=0.0,
        )
        if beta_short > 1e-9:
            return beta_short
        return super().shortfall(stored, fresh, stored_deployment, fresh_deployment)


def _weighted(pairs: list[tuple[float | None, WindowPlan]]) -> float | None:
    total = sum(sum(w.demand_qps.values()) for a, w in pairs if a is not None)
    if total <= 0:
        return None
    return sum(a * sum(w.demand_qps.values()) for a, w in pairs if a is not None) / total


def _placements(deployment: ProteusDeployment, trace: bool) -> Table:
    columns = [
        "device_type",
        "family",
        "variant",
        "devices",
        "batch",
        "capacity_qps_per_device",
        "routed_qps",
        "utilisation_pct",
    ]
    rows = []
    for window in deployment.windows:
        for p in window.placements:
            capacity = p.capacity_qps_per_device * p.devices
            row = [
                p.device_type,
                p.family,
                p.variant,
                p.devices,
                p.batch,
                p.capacity_qps_per_device,
                p.routed_qps,
                100.0 * p.routed_qps / capacity if capacity > 0 else 0.0,
            ]
            rows.append([window.window_start_s, *row] if trace else row)
    return Table(
        "Placements (devices of a type hosting a variant, and the queries they serve)",
        ["window_start_s", *columns] if trace else columns,
        rows,
    )


def _device_types(inputs: ProteusInputs, window: WindowPlan) -> Table:
    problem = inputs.problem
    rows = []
    for d in problem.device_types:
        mine = [p for p in window.placements if p.device_type == d]
        used = sum(p.devices for p in mine)
        capacity = sum(p.capacity_qps_per_device * p.devices for p in mine)
        routed = sum(p.routed_qps for p in mine)
        rows.append(
            [
                d,
                problem.device_count[d],
                used,
                problem.device_count[d] - used,
                capacity,
                routed,
                100.0 * routed / capacity if capacity > 0 else 0.0,
            ]
        )
    return Table(
        "Device types",
        ["device_type", "devices", "used", "idle", "capacity_qps", "routed_qps", "utilisation_pct"],
        rows,
    )


def _families(inputs: ProteusInputs, window: WindowPlan) -> Table:
    problem = inputs.problem
    rows = []
    for f in problem.families:
        mine = [p for p in window.placements if p.family == f]
        demand = window.demand_qps[f]
        served = sum(p.capacity_qps_per_device * p.devices for p in mine)
        accuracy = (
            sum(problem.accuracy[p.variant] * p.routed_qps for p in mine) / demand
            if demand > 0
            else None
        )
        counts: dict[str, int] = defaultdict(int)
        for p in mine:
            counts[p.variant] += p.devices
        rows.append(
            [
                f,
                problem.slo_ms[f],
                demand,
                window.beta * demand,
                served,
                accuracy,
                ", ".join(f"{v} x{n}" for v, n in counts.items()),
            ]
        )
    return Table(
        f"Families (beta = {window.beta:g})",
        [
            "family",
            "slo_ms",
            "demand_qps",
            "required_qps",
            "capacity_qps",
            "accuracy_pct",
            "variants",
        ],
        rows,
    )


def _windows(deployment: ProteusDeployment) -> Table:
    names = [n for n in bl.BASELINES if n in deployment.windows[0].baselines]
    columns = ["window_start_s", "demand_qps", "beta", "effective_accuracy", "devices_used"]
    for n in names:
        columns += [f"{n}_beta", f"{n}_accuracy"]
    rows = []
    for w in deployment.windows:
        row: list[float | int | None] = [
            w.window_start_s,
            sum(w.demand_qps.values()),
            w.beta,
            w.effective_accuracy,
            sum(p.devices for p in w.placements),
        ]
        for n in names:
            row += [w.baselines[n].beta, w.baselines[n].effective_accuracy]
        rows.append(row)
    return Table("Windows (MILP and baselines)", columns, rows)
