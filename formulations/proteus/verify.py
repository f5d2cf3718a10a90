"""Independent verifier of Proteus plans.

Recomputes every constraint of :mod:`formulations.proteus.milp` from the inputs and the
cost model's capacities (never from solver values): device counts, SLO-feasible
placements with the capacity and batch the cost model gives, headroom, full routing of
demand, family presence, the per-device split, and the effective accuracy.
"""

from __future__ import annotations

from collections import defaultdict

from formulations.proteus.deployment import ProteusDeployment, WindowPlan
from formulations.proteus.view import ProteusView
from formulations.tolerances import close, leq
from formulations.types import Verification


def effective_accuracy(view: ProteusView, window: WindowPlan) -> float:
    """Demand-weighted normalised accuracy of the queries the window serves, %."""
    return view.effective_accuracy(
        ((p.variant, p.routed_qps) for p in window.placements), window.demand_qps
    )


def check_window(view: ProteusView, w: int, window: WindowPlan) -> list[str]:
    inputs = view.inputs
    where = f"window {w} ({window.window_start_s:g} s)"
    out: list[str] = []
    demand = view.demand(w)
    if set(window.demand_qps) != set(demand) or not all(
        close(window.demand_qps[f], demand[f]) for f in demand
    ):
        out.append(f"{where}: demand_qps does not match the scenario's demand {demand}")
        return out
    if not any(close(window.beta, level) for level in view.levels):
        out.append(f"{where}: beta {window.beta:g} is not an allowed headroom level")
    used: dict[str, int] = defaultdict(int)
    routed: dict[str, float] = defaultdict(float)
    hosted: dict[str, int] = defaultdict(int)
    for p in window.placements:
        label = f"{where}: {p.devices} x {p.device_type} hosting {p.variant}"
        if p.device_type not in view.device_count:
            out.append(f"{label}: unknown device type")
            continue
        if p.family not in view.variants or p.variant not in {
            v.name for v in view.variants[p.family]
        }:
            out.append(f"{label}: {p.variant} is not a variant of family {p.family}")
            continue
        cap = view.capacity.get((p.device_type, p.variant))
        if cap is None:
            out.append(
                f"{label}: variant not allowed (cannot meet "
                f"{inputs.latency_budget_fraction:g} x SLO on this device type)"
            )
            continue
        if p.batch != cap.batch or not close(p.capacity_qps_per_device, cap.qps):
            out.append(
                f"{label}: states batch {p.batch} / {p.capacity_qps_per_device:g} qps, "
                f"the cost model gives batch {cap.batch} / {cap.qps:g} qps"
            )
        if not leq(window.beta * p.routed_qps, cap.qps * p.devices):
            out.append(
                f"{label}: over capacity: beta x routed = "
                f"{window.beta * p.routed_qps:.6g} qps > {cap.qps * p.devices:.6g} qps"
            )
        used[p.device_type] += p.devices
        routed[p.family] += p.routed_qps
        hosted[p.family] += p.devices
    for d, count in view.device_count.items():
        if used[d] > count or (inputs.all_devices_on and used[d] != count):
            rule = "exactly" if inputs.all_devices_on else "at most"
            out.append(f"{where}: {used[d]} {d} devices used, {rule} {count} available")
    for f in view.families:
        if not close(routed[f], demand[f]):
            out.append(
                f"{where}: family {f}: {routed[f]:.6g} qps routed, demand is {demand[f]:.6g} qps"
            )
        if hosted[f] < inputs.min_devices_per_family:
            out.append(
                f"{where}: family {f} is hosted on {hosted[f]} devices, "
                f"min_devices_per_family is {inputs.min_devices_per_family}"
            )
    out.extend(_check_devices(view, where, window))
    if not close(window.effective_accuracy, effective_accuracy(view, window)):
        out.append(
            f"{where}: states effective accuracy {window.effective_accuracy:.6g}, "
            f"recomputed {effective_accuracy(view, window):.6g}"
        )
    return out


def _check_devices(view: ProteusView, where: str, window: WindowPlan) -> list[str]:
    """The per-device list must be exactly the even split of the placements."""
    out: list[str] = []
    per_type: dict[str, int] = defaultdict(int)
    per_pair: dict[tuple[str, str], list[float]] = defaultdict(list)
    for slot in window.devices:
        per_type[slot.device_type] += 1
        if slot.variant is not None:
            per_pair[(slot.device_type, slot.variant)].append(slot.routed_qps)
    for d, count in view.device_count.items():
        if per_type[d] != count:
            out.append(f"{where}: device list has {per_type[d]} {d} devices, cluster has {count}")
    for p in window.placements:
        slots = per_pair.pop((p.device_type, p.variant), [])
        if len(slots) != p.devices or not close(sum(slots), p.routed_qps):
            out.append(
                f"{where}: device list disagrees with {p.devices} x {p.device_type} "
                f"hosting {p.variant}"
            )
    for (d, v), _ in per_pair.items():
        out.append(f"{where}: device list assigns {v} to {d} without a placement")
    return out


def verify(view: ProteusView, deployment: ProteusDeployment) -> Verification:
    violations: list[str] = []
    if len(deployment.windows) != len(view.window_starts_s):
        violations.append(
            f"plan has {len(deployment.windows)} windows, the scenario has "
            f"{len(view.window_starts_s)}"
        )
        return Verification(0.0, violations)
    for w, window in enumerate(deployment.windows):
        violations.extend(check_window(view, w, window))
    return Verification(overall_accuracy(view, deployment), violations)


def overall_accuracy(view: ProteusView, deployment: ProteusDeployment) -> float:
    """Objective of a whole plan: effective accuracy weighted by each window's demand."""
    total = sum(sum(w.demand_qps.values()) for w in deployment.windows)
    if total <= 0:
        return 0.0
    return (
        sum(effective_accuracy(view, w) * sum(w.demand_qps.values()) for w in deployment.windows)
        / total
    )
