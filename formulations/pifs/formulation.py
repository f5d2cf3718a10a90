"""The ``pifs`` formulation: plan, independent verification, tables."""

from __future__ import annotations

import math
import time
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import replace
from typing import Any, ClassVar

import numpy as np

from cost_models.pifs.busy import HOLDS_EPS, BatchCost, batch_cost
from cost_models.pifs.topology import GIB
from formulations.pifs.aggregate import (
    disaggregate,
    pool_units,
    pooled_problem,
)
from formulations.pifs.baselines import BASELINES, BaselinePlacement
from formulations.pifs.inputs import (
    PifsDeployment,
    PifsInputs,
    Problem,
)
from formulations.pifs.milp import (
    Buckets,
    BuiltModel,
    Columns,
    Pool,
    build_model,
    fractions_from_units,
    lp_neighbourhood,
    relaxation,
    split_by_table,
    start_values,
)
from formulations.types import (
    Formulation,
    MilpSolver,
    Objective,
    Outcome,
    Sense,
    SolveResult,
    SolveStatus,
    Table,
    Verification,
    relative_gap,
    require_solution,
)

SUM_TOL = 1e-6  # bucket fractions must sum to 1 within this
CAP_RTOL = 1e-6  # relative slack on capacities and targets (solver feasibility tolerance)
CLEAN_EPS = 1e-9  # solver fractions below this are solver noise, dropped
POOL_ROUNDS = 3  # pooled relaxations solved, each with a tighter port-count cut


def _loc_names(problem: Problem) -> list[str]:
    return [loc.name for loc in problem.fabric.locations]


def _evaluate(problem: Problem, bk: Buckets, placed: BaselinePlacement) -> BatchCost:
    fractions = fractions_from_units(bk, placed.units, len(problem.workload.tables))
    return batch_cost(
        problem.fabric, problem.workload, fractions, placed.reduced, problem.window_samples
    )


def _pool_first(inputs: PifsInputs) -> bool:
    """Whether to solve with pooled ports first (see aggregate.py)."""
    mode = inputs.placement.aggregate_ports
    if mode != "auto":
        return mode == "always"
    simple = not (
        inputs.placement.page_kb
        or inputs.placement.colocate
        or inputs.placement.separate
        or inputs.capacity_planning
    )
    return simple and len(inputs.problem.fabric.ports) > 1


def _tighter(full: SolveResult, pooled: SolveResult, solver: MilpSolver) -> SolveResult:
    """The per-port result with the pooled relaxation's bound where that is higher."""
    if (
        full.objective is None
        or pooled.bound is None
        or (full.bound is not None and full.bound >= pooled.bound)
    ):
        return full
    gap = relative_gap(full.objective, pooled.bound)
    status = SolveStatus.OPTIMAL if gap <= solver.settings.mip_gap else full.status
    return replace(full, bound=pooled.bound, gap=gap, status=status)


def _extract(
    cols: Columns, names: Sequence[str], values: dict[str, float], problem: Problem
) -> BaselinePlacement:
    """The placement in a solver solution (solver noise below CLEAN_EPS dropped)."""
    units = np.array([values.get(names[j], 0.0) for j in cols.x.ravel()]).reshape(cols.x.shape)
    if problem.page_bytes is None:
        units = np.where(units > CLEAN_EPS, units, 0.0)
        units /= units.sum(axis=1, keepdims=True)
    else:
        units = np.round(units)
    n_t = len(problem.workload.tables)
    if cols.r is None:
        reduced = np.zeros(n_t, dtype=bool)
    else:
        reduced = np.array([values.get(names[j], 0.0) > 0.5 for j in cols.r])
    return BaselinePlacement(units, reduced)


def _deployment(
    problem: Problem, bk: Buckets, placed: BaselinePlacement, bought: int | None
) -> PifsDeployment:
    tables = problem.workload.tables
    locs = _loc_names(problem)
    ks, ls = np.nonzero(placed.units > 0)
    amounts = placed.units[ks, ls]
    rows = [
        {
            "table": tables[t].name,
            "bucket": tables[t].buckets[b].label,
            "location": locs[l_],
            "fraction": a / n,
            "pages": None if problem.page_bytes is None else round(a),
        }
        for t, b, l_, a, n in zip(
            bk.table[ks].tolist(),
            bk.bucket[ks].tolist(),
            ls.tolist(),
            amounts.tolist(),
            bk.units[ks].tolist(),
            strict=True,
        )
    ]
    reduced = [tables[t].name for t in np.flatnonzero(placed.reduced)]
    return PifsDeployment.model_validate(
        {"placements": rows, "switch_reduced": reduced, "expanders_bought": bought}
    )


def _parse(
    problem: Problem,
    deployment: PifsDeployment,
) -> tuple[list[np.ndarray], list[np.ndarray], np.ndarray, list[str]]:
    """A stored deployment as per-table (buckets x locations) fractions and pages, the
    reduced-table mask, and what is malformed in it (unknown names, duplicates, pages)."""
    work = problem.workload
    locs = {name: i for i, name in enumerate(_loc_names(problem))}
    tables = {t.name: i for i, t in enumerate(work.tables)}
    bucket_ix = [{b.label: j for j, b in enumerate(t.buckets)} for t in work.tables]
    fractions = [np.zeros((len(t.buckets), len(locs))) for t in work.tables]
    pages = [np.zeros((len(t.buckets), len(locs))) for t in work.tables]
    violations: list[str] = []
    seen: set[tuple[str, str, str]] = set()
    for p in deployment.placements:
        key = (p.table, p.bucket, p.location)
        if (
            p.table not in tables
            or p.bucket not in bucket_ix[tables.get(p.table, 0)]
            or p.location not in locs
        ):
            violations.append(f"placement {key}: unknown table, bucket or location")
            continue
        if key in seen:
            violations.append(f"placement {key}: listed twice")
        seen.add(key)
        t, b, l_ = tables[p.table], bucket_ix[tables[p.table]][p.bucket], locs[p.location]
        fractions[t][b, l_] += p.fraction
        if problem.page_bytes is not None:
            if p.pages is None:
                violations.append(f"placement {key}: page mode needs whole pages")
                continue
            pages[t][b, l_] += p.pages
            if not math.isclose(p.fraction, p.pages / problem.pages(t, b), abs_tol=1e-9):
                violations.append(
                    f"placement {key}: fraction {p.fraction} is not "
                    f"{p.pages} of {problem.pages(t, b)} pages"
                )
    reduced = np.zeros(len(work.tables), dtype=bool)
    for name in deployment.switch_reduced:
        if name not in tables:
            violations.append(f"switch_reduced: unknown table {name}")
        else:
            reduced[tables[name]] = True
    return fractions, pages, reduced, violations


class PifsFormulation(Formulation[PifsInputs, PifsDeployment]):
    kind: ClassVar[str] = "pifs"
    inputs_model: ClassVar[type[PifsInputs]] = PifsInputs
    deployment_model: ClassVar[type[PifsDeployment]] = PifsDeployment

    # ---------------------------------------------------------------- plan
    def plan(self, inputs: PifsInputs, solver: MilpSolver) -> Outcome[PifsDeployment]:
        problem = inputs.problem
        started = time.perf_counter()
        bk = Buckets.of(problem)
        placements = {name: policy(problem, bk) for name, policy in BASELINES.items()}
        admissible = {
            name: p
            for name, p in placements.items()
            if p is not None and self._admissible(inputs, bk, p)
        }
        incumbent = min(
            admissible.values(), key=lambda p: _evaluate(problem, bk, p).latency_us, default=None
        )
        placed, result, build_s, solve_s = None, None, 0.0, 0.0
        if _pool_first(inputs):
            placed, result, build_s, solve_s = self._solve_pooled(
                inputs, solver, incumbent, started
            )
        if (
            placed is None
            or result is None
            or (result.gap > solver.settings.mip_gap and inputs.placement.aggregate_ports == "auto")
        ):
            # the per-port model: directly, or when the pooled plan is missing or too far off
            incumbent = placed or incumbent
            started = time.perf_counter()
            built = build_model(problem, inputs.placement, inputs.capacity_planning)
            start = None
            if incumbent is not None and inputs.capacity_planning is None:
                start = start_values(built, problem, incumbent.units, incumbent.reduced)
            build_s += time.perf_counter() - started
            full = solver.solve(built.model, warm_start=start)
            solve_s += full.solve_s
            require_solution(full, lambda: self._explain(inputs))
            placed = _extract(built.cols, built.model.names, dict(full.values), problem)
            result = full if result is None else _tighter(full, result, solver)
        cost = _evaluate(problem, bk, placed)
        plan_mode = inputs.capacity_planning
        warnings = []
        if plan_mode is None:
            objective = Objective("batch_latency", "us", Sense.MINIMIZE, float(result.objective))
            if cost.latency_us < objective.value * (1 - 1e-6) - 1e-9:
                warnings.append(
                    f"the solver's plan scores {objective.value:.6g} us but is "
                    f"worth {cost.latency_us:.6g} us once its slack is removed"
                )
                objective = replace(objective, value=cost.latency_us)
            bought = None
        else:
            objective = Objective("expander_cost", "usd", Sense.MINIMIZE, float(result.objective))
            bought = round(objective.value / plan_mode.expander_price_usd)
        summary = {}
        for name, p in placements.items():
            if p is None:
                summary[name] = {"feasible": False}
                warnings.append(f"baseline {name} does not fit in the memory given")
            else:
                summary[name] = self._headline(
                    problem, _evaluate(problem, bk, p), cost, name in admissible
                )
        return Outcome(
            deployment=_deployment(problem, bk, placed, bought),
            objective=objective,
            result=result,
            build_s=build_s,
            solve_s=solve_s,
            baselines=summary,
            warnings=warnings,
        )

    def _admissible(self, inputs: PifsInputs, bk: Buckets, placed: BaselinePlacement) -> bool:
        """Whether a placement meets every requirement (the verifier's checks)."""
        n_t = len(inputs.problem.workload.tables)
        pages = split_by_table(bk, placed.units, n_t)
        return self._check(
            inputs,
            fractions_from_units(bk, placed.units, n_t),
            pages,
            placed.reduced,
            len(inputs.problem.fabric.ports),
            [],
        ).ok

    def _solve_pooled(
        self,
        inputs: PifsInputs,
        solver: MilpSolver,
        incumbent: BaselinePlacement | None,
        started: float,
    ) -> tuple[BaselinePlacement | None, SolveResult, float, float]:
        """Relaxation A with pooled ports, then the wrap-around split (see aggregate.py).

        A's LP relaxation gives the bound; the sub-MILP over the integer columns the LP
        left fractional (``model.lp_neighbourhood``) gives a plan. While that plan is not
        within ``mip_gap`` of the bound but beats the latency T_UB of the port-count cut,
        A is rebuilt with T_UB = its latency (up to POOL_ROUNDS times). Then, if still not
        within ``mip_gap``, all of A is solved as a MILP, started from the best plan. Split
        plans that break a per-port requirement (capacity, switch buffer) are dropped; the
        plan is ``None`` if none is left.
        """
        problem = inputs.problem
        pooled = pooled_problem(problem)
        bk = Buckets.of(problem)
        candidates = [] if incumbent is None else [incumbent]
        bound, build_s, solve_s = -math.inf, 0.0, 0.0

        def latency(p: BaselinePlacement | None) -> float:
            return math.inf if p is None else _evaluate(problem, bk, p).latency_us

        def best() -> BaselinePlacement | None:
            return min(candidates, key=latency, default=None)

        def add_split(built: BuiltModel, result: SolveResult) -> None:
            if result.status.has_solution:
                values = dict(result.values)
                relaxed = _extract(built.cols, built.model.names, values, pooled)
                busy = _evaluate(pooled, bk, relaxed).bottleneck_us
                assert built.cols.y is not None
                used = np.array(
                    [round(values.get(built.model.names[j], 0.0)) for j in built.cols.y[:, 0]]
                )
                split = BaselinePlacement(
                    disaggregate(problem, bk, relaxed.units, relaxed.reduced, used, busy),
                    relaxed.reduced,
                )
                if self._admissible(inputs, bk, split):
                    candidates.append(split)

        for _ in range(POOL_ROUNDS):
            t_ub = latency(best())
            pool = Pool(
                len(problem.fabric.ports),
                problem.fabric.ports[0].bandwidth_gb_per_s,
                t_ub if math.isfinite(t_ub) else None,
            )
            built = build_model(pooled, inputs.placement, None, pool)
            build_s += time.perf_counter() - started
            lp = solver.solve(relaxation(built.model))
            require_solution(lp, lambda: self._explain(inputs))
            bound = max(bound, float(lp.objective if lp.objective is not None else -math.inf))
            decisive = solver.solve(lp_neighbourhood(built, dict(lp.values)))
            solve_s += lp.solve_s + decisive.solve_s
            add_split(built, decisive)
            started = time.perf_counter()
            if (
                relative_gap(latency(best()), bound) <= solver.settings.mip_gap
                or latency(best()) >= t_ub
            ):
                break
        chosen = best()
        if relative_gap(latency(chosen), bound) > solver.settings.mip_gap:
            start = (
                None
                if chosen is None
                else start_values(
                    built,
                    pooled,
                    pool_units(chosen.units),
                    chosen.reduced,
                    _evaluate(problem, bk, chosen).ports_holding,
                )
            )
            decisive = solver.solve(built.model, warm_start=start)
            solve_s += decisive.solve_s
            require_solution(decisive, lambda: self._explain(inputs))
            add_split(built, decisive)
            if decisive.bound is not None:
                bound = max(bound, float(decisive.bound))
            chosen = best()
        gap = relative_gap(latency(chosen), bound)
        status = (
            SolveStatus.OPTIMAL if gap <= solver.settings.mip_gap + 1e-12 else SolveStatus.FEASIBLE
        )
        message = (
            "ports pooled: bound from the pooled relaxation, plan from its solution "
            f"split over the ports; latency recomputed by the cost model "
            f"({decisive.message})"
        )
        result = replace(
            decisive,
            status=status,
            objective=latency(chosen),
            bound=bound,
            gap=gap,
            solve_s=solve_s,
            size=built.model.size,
            message=message,
        )
        return chosen, result, build_s, solve_s

    @staticmethod
    def _headline(
        problem: Problem, c: BatchCost, milp: BatchCost, feasible: bool
    ) -> dict[str, Any]:
        busy = c.busy_us
        return {
            "feasible": feasible,
            "latency_us": c.latency_us,
            "throughput_samples_per_s": c.throughput_samples_per_s(problem.workload.batch_size),
            "bottleneck": max(busy, key=lambda k: busy[k]),
            "over_milp": c.latency_us / milp.latency_us,
            "host_dram_busy_us": float(c.location_busy_us[0]),
            "max_port_busy_us": float(c.location_busy_us[1:].max()),
            "upstream_busy_us": c.upstream_busy_us,
            "reduction_busy_us": c.reduction_busy_us,
        }

    @staticmethod
    def _explain(inputs: PifsInputs) -> str:
        problem = inputs.problem
        fabric = problem.fabric
        total_cap = sum(loc.capacity_bytes for loc in fabric.locations)
        bk = Buckets.of(problem)
        n_t = len(problem.workload.tables)
        sizes = np.bincount(bk.table, bk.unit_bytes * bk.units, n_t)
        for t in np.argsort(-sizes):
            if sizes[t] > total_cap:
                return (
                    f"table {problem.workload.tables[t].name} needs "
                    f"{sizes[t] / GIB:.3f} GiB but host DRAM and all {len(fabric.ports)} "
                    f"expanders hold {total_cap / GIB:.3f} GiB"
                )
        if sizes.sum() > total_cap:
            return (
                f"the embedding tables need {sizes.sum() / GIB:.3f} GiB but host DRAM and "
                f"all expanders hold {total_cap / GIB:.3f} GiB"
            )
        for group in inputs.placement.separate:
            if len(group) > len(fabric.locations):
                return (
                    f"placement.separate group {group} has more tables than the "
                    f"{len(fabric.locations)} locations"
                )
        if inputs.capacity_planning is not None:
            return (
                f"no purchase of up to {len(fabric.ports)} expanders meets the latency "
                f"target of {inputs.capacity_planning.latency_target_us:g} us"
            )
        return (
            "no placement satisfies the capacity, switch buffer and co-location / "
            "separation requirements together"
        )

    # ---------------------------------------------------------------- verify
    def verify(self, inputs: PifsInputs, deployment: PifsDeployment) -> Verification:
        fractions, pages, reduced, violations = _parse(inputs.problem, deployment)
        return self._check(
            inputs, fractions, pages, reduced, deployment.expanders_bought, violations
        )

    def _check(
        self,
        inputs: PifsInputs,
        fractions: list[np.ndarray],
        pages: list[np.ndarray],
        reduced: np.ndarray,
        bought: int | None,
        violations: list[str],
    ) -> Verification:
        """Every requirement, recomputed from the cost model for a parsed placement."""
        problem = inputs.problem
        fabric, work = problem.fabric, problem.workload
        for t, table in enumerate(work.tables):
            totals = fractions[t].sum(axis=1)
            for b in np.flatnonzero(np.abs(totals - 1.0) > SUM_TOL):
                violations.append(
                    f"table {table.name} bucket {table.buckets[b].label}: "
                    f"{totals[b]:.6g} of it placed, not all of it"
                )
        if reduced.any() and not fabric.has_reduction:
            violations.append("switch_reduced lists tables but the switch has no reduction engine")
        cost = batch_cost(fabric, work, fractions, reduced, problem.window_samples)
        stored = cost.location_bytes
        if problem.page_bytes is not None:
            stored = sum(pg.sum(axis=0) for pg in pages) * problem.page_bytes
        for loc, used in zip(fabric.locations, stored, strict=True):
            if used > loc.capacity_bytes * (1 + CAP_RTOL) + 1.0:
                violations.append(
                    f"{loc.name}: {used / GIB:.6g} GiB stored, over its "
                    f"capacity of {loc.capacity_bytes / GIB:.6g} GiB"
                )
        if cost.buffer_bytes > fabric.switch_buffer_bytes * (1 + CAP_RTOL) + 1.0:
            violations.append(
                f"switch buffer: {cost.buffer_bytes:.6g} B of partial sums, over "
                f"its {fabric.switch_buffer_bytes:.6g} B"
            )
        names = {t.name: i for i, t in enumerate(work.tables)}
        violations += self._group_violations(inputs, fractions, names)
        plan_mode = inputs.capacity_planning
        if plan_mode is None:
            return Verification(cost.latency_us, violations)
        if bought is None:
            violations.append("capacity planning: expanders_bought missing")
            bought = len(fabric.ports)
        if not 0 <= bought <= len(fabric.ports):
            violations.append(
                f"expanders_bought = {bought}, not between 0 and the {len(fabric.ports)} ports"
            )
        holding = [
            l_
            for l_ in range(1, len(fabric.locations))
            if any((f[:, l_] > HOLDS_EPS).any() for f in fractions)
        ]
        if holding and max(holding) > bought:
            violations.append(
                f"port{max(holding) - 1} holds rows but only {bought} expanders are bought"
            )
        if cost.latency_us > plan_mode.latency_target_us * (1 + CAP_RTOL):
            violations.append(
                f"batch latency {cost.latency_us:.6g} us exceeds the target "
                f"{plan_mode.latency_target_us:g} us"
            )
        return Verification(bought * plan_mode.expander_price_usd, violations)

    @staticmethod
    def _group_violations(
        inputs: PifsInputs, fractions: list[np.ndarray], tables: dict[str, int]
    ) -> list[str]:
        def present(name: str) -> set[int]:
            f = fractions[tables[name]]
            return set(np.flatnonzero((f > HOLDS_EPS).any(axis=0)).tolist())

        out = []
        for group in inputs.placement.colocate:
            sets = {name: present(name) for name in group}
            if len({frozenset(s) for s in sets.values()}) > 1:
                out.append(f"co-located tables {group} sit at different locations: {sets}")
        for group in inputs.placement.separate:
            count: dict[int, list[str]] = defaultdict(list)
            for name in group:
                for loc in present(name):
                    count[loc].append(name)
            out += [
                f"separated tables {names} share location {loc}"
                for loc, names in count.items()
                if len(names) > 1
            ]
        return out

    # ---------------------------------------------------------------- tables
    def tables(self, inputs: PifsInputs, deployment: PifsDeployment) -> list[Table]:
        problem = inputs.problem
        fabric, work = problem.fabric, problem.workload
        fractions, _, reduced, _ = _parse(problem, deployment)
        held: dict[str, set[str]] = defaultdict(set)
        n_buckets: dict[str, int] = defaultdict(int)
        for p in deployment.placements:
            held[p.location].add(p.table)
            n_buckets[p.location] += 1
        cost = batch_cost(fabric, work, fractions, reduced, problem.window_samples)
        rate = work.batches_per_s
        rows = []
        for i, loc in enumerate(fabric.locations):
            busy = float(cost.location_busy_us[i])
            util = busy * 1e-6 * rate if rate else busy / cost.latency_us
            names = sorted(held[loc.name])
            shown = ", ".join(names[:6]) + (f", ... (+{len(names) - 6})" if len(names) > 6 else "")
            rows.append(
                [
                    loc.name,
                    len(names),
                    n_buckets[loc.name],
                    shown,
                    round(cost.location_bytes[i] / GIB, 4),
                    round(loc.capacity_bytes / GIB, 2),
                    round(cost.location_bytes[i] / loc.capacity_bytes, 4)
                    if loc.capacity_bytes
                    else 0.0,
                    round(cost.location_lookup_bytes[i] / 1e6, 3),
                    round(busy, 3),
                    round(util, 4),
                ]
            )
        primary = Table(
            "Placement per location",
            [
                "location",
                "tables",
                "buckets",
                "holds",
                "stored_gib",
                "capacity_gib",
                "capacity_used",
                "lookup_mb_per_batch",
                "busy_us",
                "bandwidth_utilisation",
            ],
            rows,
        )
        busy = cost.busy_us
        resources = Table(
            "Busy time per resource (one batch)",
            ["resource", "busy_us", "share_of_latency"],
            [[name, round(v, 3), round(v / cost.latency_us, 4)] for name, v in busy.items()],
        )
        resources.rows.append(
            [
                "critical_chain_latency",
                round(cost.chain_us, 4),
                round(cost.chain_us / cost.latency_us, 4),
            ]
        )
        summary = Table(
            "Batch latency and throughput",
            ["latency_us", "throughput_samples_per_s", "bottleneck", "tables_reduced_in_switch"],
            [
                [
                    round(cost.latency_us, 3),
                    round(cost.throughput_samples_per_s(work.batch_size), 1),
                    max(busy, key=lambda k: busy[k]),
                    int(reduced.sum()),
                ]
            ],
        )
        per_table = Table(
            "Per table",
            ["table", "reduced_in_switch", "ports_holding", "host_share_of_lookups"],
            [
                [
                    t.name,
                    bool(reduced[i]),
                    int(cost.ports_holding[i]),
                    round(float(self._host_lookup_share(t, fractions[i])), 4),
                ]
                for i, t in enumerate(work.tables)
            ],
        )
        return [primary, resources, summary, per_table]

    @staticmethod
    def _host_lookup_share(table: Any, frac: np.ndarray) -> float:
        return sum(b.lookup_share * frac[j, 0] for j, b in enumerate(table.buckets))
