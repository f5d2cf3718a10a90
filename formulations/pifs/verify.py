"""The independent verifier of ``pifs`` deployments.

Every requirement is recomputed from the deployment and the cost model
(:func:`cost_models.pifs.busy.batch_cost`), never from solver values: every bucket placed
exactly once (fractions sum to 1; whole pages in page mode), names known and listed once,
capacities (compared in GiB, the model's unit) and the switch buffer (in MiB) held, pooled
tables only with a reduction engine, co-location and separation, and in capacity-planning
mode that only bought expanders hold rows and the latency target is met. Tolerances come
from :mod:`formulations.tolerances`.
"""

from __future__ import annotations

from collections import defaultdict

import numpy as np

from cost_models.pifs.busy import HOLDS_EPS, BatchCost, ReductionSite, batch_cost
from cost_models.units import BYTES_PER_GIB, BYTES_PER_MIB, US_PER_S
from formulations.pifs.deployment import PifsDeployment, parse
from formulations.pifs.view import PifsView, Placement
from formulations.tolerances import FEAS_ATOL, close, leq
from formulations.types import Shortfall, Verification


def verify(view: PifsView, deployment: PifsDeployment) -> Verification:
    held = deployment.held_placement
    if held is not None:  # an in-memory deployment (a baseline's): checked from its arrays
        return _check_placement(view, held, deployment.expanders_bought)
    parsed = parse(view, deployment)
    return check(
        view,
        np.concatenate(parsed.fractions),
        parsed.pages,
        parsed.reduced,
        deployment.expanders_bought,
        parsed.violations,
        parsed.site,
    )


def placement_check(view: PifsView, placement: Placement) -> Verification:
    """Every requirement of a placement the solve strategy builds (a split plan, a MIP
    start), with every expander bought; in latency mode its objective is the latency."""
    bought = None if view.inputs.capacity_planning is None else len(view.fabric.ports)
    return _check_placement(view, placement, bought)


def _check_placement(view: PifsView, placement: Placement, bought: int | None) -> Verification:
    units = placement.units
    pages = [] if view.page_bytes is None else [units]  # page counts matter in page mode only
    fractions = units / view.buckets.units[:, None]
    return check(view, fractions, pages, placement.reduced, bought, [], placement.site)


def check(
    view: PifsView,
    fractions: np.ndarray,
    pages: list[np.ndarray],
    reduced: np.ndarray,
    bought: int | None,
    violations: list[str],
    site: ReductionSite = "port",
) -> Verification:
    """Every requirement, recomputed from the cost model for a parsed placement
    (``fractions``: buckets x locations; ``pages``: blocks of buckets x locations whose
    sum is the pages stored at each location, in page mode) whose reduced tables are
    pooled at ``site``."""
    fabric, work, bk = view.fabric, view.workload, view.buckets
    totals = fractions.sum(axis=1)
    # within FEAS_ATOL of 1 is always close; test the others one by one
    for k in np.flatnonzero(np.abs(totals - 1.0) > FEAS_ATOL).tolist():
        total = float(totals[k])
        if not close(total, 1.0):
            table = work.tables[int(bk.table[k])]
            violations.append(
                f"table {table.name} bucket {table.buckets[int(bk.bucket[k])].label}: "
                f"{total:.6g} of it placed, not all of it"
            )
    if reduced.any() and not fabric.has_reduction:
        violations.append("switch_reduced lists tables but the switch has no reduction engine")
    cost = batch_cost(fabric, work, [fractions], reduced, view.window_samples, site)
    for short in resource_shortfalls(view, cost, pages):
        if short.unit == "GiB":
            violations.append(
                f"{short.what.removesuffix(' capacity')}: {short.required:.6g} GiB stored, "
                f"over its capacity of {short.available:.6g} GiB"
            )
        else:
            violations.append(
                f"switch buffer: {short.required:.6g} MiB of partial sums, over its "
                f"{short.available:.6g} MiB"
            )
    violations += _group_violations(view, fractions)
    plan_mode = view.inputs.capacity_planning
    if plan_mode is None:
        if bought is not None:
            violations.append(
                f"expanders_bought = {bought}, but the scenario plans no capacity "
                "(every port has its expander)"
            )
        return Verification(cost.latency_us, violations)
    if bought is None:
        violations.append("capacity planning: expanders_bought missing")
        bought = len(fabric.ports)
    if not 0 <= bought <= len(fabric.ports):
        violations.append(
            f"expanders_bought = {bought}, not between 0 and the {len(fabric.ports)} ports"
        )
    holding = (np.flatnonzero((fractions[:, 1:] > HOLDS_EPS).any(axis=0)) + 1).tolist()
    if holding and max(holding) > bought:
        violations.append(
            f"port{max(holding) - 1} holds rows but only {bought} expanders are bought"
        )
    if not leq(cost.latency_us, plan_mode.latency_target_us):
        violations.append(
            f"batch latency {cost.latency_us:.6g} us exceeds the target "
            f"{plan_mode.latency_target_us:g} us"
        )
    return Verification(bought * plan_mode.expander_price_usd, violations)


def resource_shortfalls(
    view: PifsView, cost: BatchCost, pages: list[np.ndarray]
) -> list[Shortfall]:
    """Every location stored over its capacity (GiB; whole pages in page mode) and the
    switch buffer over its size (MiB)."""
    fabric = view.fabric
    stored = cost.location_bytes
    if view.page_bytes is not None:
        stored = sum(pg.sum(axis=0) for pg in pages) * view.page_bytes
    out = [
        Shortfall(
            f"{loc.name} capacity",
            float(used / BYTES_PER_GIB),
            loc.capacity_bytes / BYTES_PER_GIB,
            "GiB",
            resource=True,
        )
        for loc, used in zip(fabric.locations, stored, strict=True)
        if not leq(used / BYTES_PER_GIB, loc.capacity_bytes / BYTES_PER_GIB)
    ]
    if not leq(cost.buffer_bytes / BYTES_PER_MIB, fabric.switch_buffer_bytes / BYTES_PER_MIB):
        out.append(
            Shortfall(
                "switch buffer (partial sums)",
                cost.buffer_bytes / BYTES_PER_MIB,
                fabric.switch_buffer_bytes / BYTES_PER_MIB,
                "MiB",
                resource=True,
            )
        )
    return out


def target_shortfall(view: PifsView, cost: BatchCost) -> Shortfall | None:
    """Capacity-planning mode: the latency target missed, as the throughput the target asks
    of a batch against the throughput the placement gives (samples/s)."""
    plan_mode = view.inputs.capacity_planning
    if plan_mode is None or leq(cost.latency_us, plan_mode.latency_target_us):
        return None
    batch = view.workload.batch_size
    return Shortfall(
        f"batch latency target {plan_mode.latency_target_us:g} us (batch {batch})",
        batch / plan_mode.latency_target_us * US_PER_S,
        batch / cost.latency_us * US_PER_S,
        "samples/s",
    )


def _group_violations(view: PifsView, fractions: np.ndarray) -> list[str]:
    tables = {t.name: i for i, t in enumerate(view.workload.tables)}

    def present(name: str) -> set[int]:
        f = fractions[view.buckets.table == tables[name]]
        return set(np.flatnonzero((f > HOLDS_EPS).any(axis=0)).tolist())

    placement = view.inputs.placement
    out = []
    for group in placement.colocate:
        sets = {name: present(name) for name in group}
        if len({frozenset(s) for s in sets.values()}) > 1:
            out.append(f"co-located tables {group} sit at different locations: {sets}")
    for group in placement.separate:
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


def explain_infeasible(view: PifsView) -> str:
    """Which requirement no placement can meet, computed from the inputs."""
    fabric, bk = view.fabric, view.buckets
    total_cap = sum(loc.capacity_bytes for loc in fabric.locations)
    sizes = np.bincount(bk.table, bk.unit_bytes * bk.units, bk.n_tables)
    for t in np.argsort(-sizes):
        if sizes[t] > total_cap:
            return (
                f"table {view.workload.tables[t].name} needs "
                f"{sizes[t] / BYTES_PER_GIB:.3f} GiB but host DRAM and all {len(fabric.ports)} "
                f"expanders hold {total_cap / BYTES_PER_GIB:.3f} GiB"
            )
    if sizes.sum() > total_cap:
        return (
            f"the embedding tables need {sizes.sum() / BYTES_PER_GIB:.3f} GiB but host DRAM "
            f"and all expanders hold {total_cap / BYTES_PER_GIB:.3f} GiB"
        )
    for group in view.inputs.placement.separate:
        if len(group) > len(fabric.locations):
            return (
                f"placement.separate group {group} has more tables than the "
                f"{len(fabric.locations)} locations"
            )
    plan_mode = view.inputs.capacity_planning
    if plan_mode is not None:
        return (
            f"no purchase of up to {len(fabric.ports)} expanders meets the latency "
            f"target of {plan_mode.latency_target_us:g} us"
        )
    return (
        "no placement satisfies the capacity, switch buffer and co-location / "
        "separation requirements together"
    )
