"""Independent verifier of Proteus plans.

Recomputes every constraint of :mod:`formulations.proteus.milp` from the inputs and the
cost model's capacities (never from solver values): device counts, SLO-feasible
placements with the capacity and batch the cost model gives, headroom, routing of the
planned demand, family presence, the per-device split, the effective accuracy, and what
is served and shed of the actual demand (``deployment.py``).

Every field of a stored window is checked, in two parts. :func:`consistency` needs no
scenario: the device names (``<type>#<index>``, each index once, 0 .. k - 1 within a
type), each device's family and variant, the even split of each placement over its
devices, each device's share of its family (of the stated planned demand), the planned
demand routed at most once (what a static plan routes nowhere is shed), a window that is
not re-planned keeping the previous window's placements and routing, and the stated
effective accuracies, served and shed figures. The scenario part then checks the stated
window start, actual demand, planned demand (the scenario's forecast at the window's last
re-plan), beta (a level of the plan's or Sommelier's headroom grid) and batches against
the scenario and its cost model, and the full routing of the planned demand of every
family that has a device.
"""

from __future__ import annotations

from collections import defaultdict

from formulations.proteus.deployment import (
    DeviceSlot,
    Placement,
    ProteusDeployment,
    WindowPlan,
    device_share,
    served_qps,
)
from formulations.proteus.view import ProteusView
from formulations.tolerances import close, geq, leq
from formulations.types import Verification


def effective_accuracy(view: ProteusView, window: WindowPlan) -> float:
    """Accuracy of the routed queries over the planned demand, %; a variant the scenario
    does not know (a violation of its own) counts as accuracy 0."""
    total = sum(window.planned_qps.values())
    if total <= 0:
        return 0.0
    return sum(view.accuracy.get(p.variant, 0.0) * p.routed_qps for p in window.placements) / total


def effective_accuracy_served(view: ProteusView, window: WindowPlan) -> float:
    """Accuracy of the served queries over the actual demand (shed ones count 0), %."""
    total = sum(window.demand_qps.values())
    if total <= 0:
        return 0.0
    served = served_qps(window.placements, window.planned_qps, window.demand_qps)
    return (
        sum(
            view.accuracy.get(p.variant, 0.0) * q
            for p, q in zip(window.placements, served, strict=True)
        )
        / total
    )


def check_window(
    view: ProteusView, w: int, window: WindowPlan, last_replan: int, previous: WindowPlan | None
) -> list[str]:
    """Window ``w`` against the scenario; ``last_replan`` is the last window <= w that the
    deployment re-plans, ``previous`` the window before (None for the first)."""
    inputs = view.inputs
    where = f"window {w} ({window.window_start_s:g} s)"
    out = consistency(view, where, window, previous)
    demand = view.demand(w)
    if set(window.demand_qps) != set(demand) or not all(
        close(window.demand_qps[f], demand[f]) for f in demand
    ):
        out.append(f"{where}: demand_qps does not match the scenario's demand {demand}")
        return out
    planned = view.forecast(last_replan)
    if set(window.planned_qps) != set(planned) or not all(
        close(window.planned_qps[f], planned[f]) for f in planned
    ):
        out.append(
            f"{where}: planned_qps does not match the scenario's forecast for window "
            f"{last_replan} (its last re-plan) {planned}"
        )
        return out
    if not close(window.window_start_s, view.window_starts_s[w]):
        out.append(
            f"{where}: window_start_s {window.window_start_s:g}, the scenario's window {w} "
            f"starts at {view.window_starts_s[w]:g} s"
        )
    if not any(close(window.beta, level) for level in (*view.levels, *view.sommelier_levels)):
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
        if hosted[f] > 0 and not close(routed[f], planned[f]):
            out.append(
                f"{where}: family {f}: {routed[f]:.6g} qps routed, planned demand is "
                f"{planned[f]:.6g} qps"
            )
        if hosted[f] < inputs.min_devices_per_family:
            out.append(
                f"{where}: family {f} is hosted on {hosted[f]} devices, "
                f"min_devices_per_family is {inputs.min_devices_per_family}"
            )
    out.extend(_check_devices(view, where, window))
    return out


def _check_devices(view: ProteusView, where: str, window: WindowPlan) -> list[str]:
    """The per-device list names every device of the cluster (busy or idle)."""
    per_type: dict[str, int] = defaultdict(int)
    for slot in window.devices:
        per_type[slot.device_type] += 1
    out = [
        f"{where}: device list has {per_type[d]} {d} devices, cluster has {count}"
        for d, count in view.device_count.items()
        if per_type[d] != count
    ]
    out.extend(
        f"{where}: device list names device type {d}, which the cluster does not have"
        for d in per_type
        if d not in view.device_count
    )
    return out


def _device_index(slot: DeviceSlot) -> int | None:
    """The index in ``<device type>#<index>``, or None when the name is not of that form."""
    prefix, _, index = slot.device.rpartition("#")
    if prefix != slot.device_type or not index.isdigit() or not index.isascii():
        return None
    return int(index)


def consistency(
    view: ProteusView, where: str, window: WindowPlan, previous: WindowPlan | None = None
) -> list[str]:
    """What a stored window must satisfy whatever the scenario: names, split, shares,
    routing of its planned demand, a kept plan kept, its stated accuracies and served
    figures (see module docstring); ``previous`` is the window before it, if any."""
    out: list[str] = []
    planned = window.planned_qps
    out.extend(
        f"{where}: {key} names {f!r}, which is not a family of the scenario"
        for key, named in (
            ("demand_qps", window.demand_qps),
            ("planned_qps", planned),
            ("shed_qps", window.shed_qps),
        )
        for f in named
        if f not in view.variants
    )
    if previous is None and not window.replanned:
        out.append(f"{where}: the first window must be planned (replanned true)")
    if previous is not None and not window.replanned:
        kept = {(p.device_type, p.variant, p.devices, p.routed_qps) for p in previous.placements}
        if kept != {(p.device_type, p.variant, p.devices, p.routed_qps) for p in window.placements}:
            out.append(f"{where}: not re-planned, but its placements or routing differ")
        if previous.planned_qps != planned or not close(previous.beta, window.beta):
            out.append(f"{where}: not re-planned, but its planned demand or beta differ")
    capacity: dict[str, float] = defaultdict(float)
    placed: dict[tuple[str, str], Placement] = {}
    for p in window.placements:
        capacity[p.family] += p.capacity_qps_per_device * p.devices
        placed[(p.device_type, p.variant)] = p
    indices: dict[str, list[int]] = defaultdict(list)
    slots: dict[tuple[str, str], list[DeviceSlot]] = defaultdict(list)
    for slot in window.devices:
        index = _device_index(slot)
        if index is None:
            out.append(
                f"{where}: device {slot.device!r} is not named <device type>#<index> "
                f"for its type {slot.device_type}"
            )
        else:
            indices[slot.device_type].append(index)
        if slot.variant is None:
            if slot.family is not None or slot.routed_qps != 0 or slot.share_of_family != 0:
                out.append(f"{where}: idle device {slot.device} states a family or traffic")
            continue
        family = view.family_of.get(slot.variant)
        if family is None or family != slot.family:
            out.append(
                f"{where}: device {slot.device} hosts {slot.variant}, which is not a variant "
                f"of family {slot.family}"
            )
            continue
        host = placed.get((slot.device_type, slot.variant))
        if host is not None:
            share = device_share(host, slot.routed_qps, planned, capacity[family])
            if not close(slot.share_of_family, share):
                out.append(
                    f"{where}: device {slot.device} states share_of_family "
                    f"{slot.share_of_family:.6g}, its {slot.routed_qps:.6g} qps of "
                    f"{planned.get(family, 0.0):.6g} qps planned give {share:.6g}"
                )
        slots[(slot.device_type, slot.variant)].append(slot)
    for d, found in indices.items():
        if sorted(found) != list(range(len(found))):
            out.append(f"{where}: {d} devices are not numbered {d}#0 .. {d}#{len(found) - 1}")
    routed: dict[str, float] = defaultdict(float)
    for p in window.placements:
        label = f"{where}: {p.devices} x {p.device_type} hosting {p.variant}"
        if view.family_of.get(p.variant) != p.family:
            out.append(f"{label}: {p.variant} is not a variant of family {p.family}")
            continue
        if p.family not in planned or p.family not in window.demand_qps:
            out.append(f"{label}: family {p.family} has no planned_qps or demand_qps entry")
        routed[p.family] += p.routed_qps
        mine = slots.pop((p.device_type, p.variant), [])
        each = p.routed_qps / p.devices
        if len(mine) != p.devices or not all(close(s.routed_qps, each) for s in mine):
            out.append(
                f"{label}: the device list must split its {p.routed_qps:.6g} qps evenly over "
                f"{p.devices} devices ({len(mine)} listed)"
            )
    for (d, v), extra in slots.items():
        out.append(f"{where}: device list assigns {v} to {len(extra)} {d} without a placement")
    for f, amount in planned.items():
        if not leq(routed[f], amount):
            out.append(
                f"{where}: family {f}: {routed[f]:.6g} qps routed, more than the planned "
                f"{amount:.6g} qps"
            )
    if out:
        return out
    return out + _served_figures(view, where, window)


def _served_figures(view: ProteusView, where: str, window: WindowPlan) -> list[str]:
    """The stated effective accuracies, served and shed queries/s, recomputed."""
    out = []
    served = served_qps(window.placements, window.planned_qps, window.demand_qps)
    by_family: dict[str, float] = defaultdict(float)
    for p, q in zip(window.placements, served, strict=True):
        by_family[p.family] += q
        if not close(p.served_qps, q):
            out.append(
                f"{where}: {p.devices} x {p.device_type} hosting {p.variant} states "
                f"served_qps {p.served_qps:.6g}, recomputed {q:.6g}"
            )
    for f, amount in window.demand_qps.items():
        shed = 0.0 if geq(by_family[f], amount) else amount - by_family[f]  # as settle()
        if not close(window.shed_qps.get(f, -1.0), shed):
            out.append(
                f"{where}: family {f} states shed_qps {window.shed_qps.get(f)}, "
                f"recomputed {shed:.6g}"
            )
    for name, stated, fresh in (
        ("effective accuracy", window.effective_accuracy, effective_accuracy(view, window)),
        (
            "effective accuracy served",
            window.effective_accuracy_served,
            effective_accuracy_served(view, window),
        ),
    ):
        if not close(stated, fresh):
            out.append(f"{where}: states {name} {stated:.6g}, recomputed {fresh:.6g}")
    return out


def verify(view: ProteusView, deployment: ProteusDeployment) -> Verification:
    violations: list[str] = []
    if len(deployment.windows) != len(view.window_starts_s):
        violations.append(
            f"plan has {len(deployment.windows)} windows, the scenario has "
            f"{len(view.window_starts_s)}"
        )
        return Verification(0.0, violations)
    last = 0
    previous: WindowPlan | None = None
    for w, window in enumerate(deployment.windows):
        last = w if window.replanned else last
        violations.extend(check_window(view, w, window, last, previous))
        previous = window
    return Verification(overall_accuracy(view, deployment), violations)


def _weighted(deployment: ProteusDeployment, planned: bool, value: list[float]) -> float:
    weights = [
        sum((w.planned_qps if planned else w.demand_qps).values()) for w in deployment.windows
    ]
    total = sum(weights)
    if total <= 0:
        return 0.0
    return sum(a * b for a, b in zip(value, weights, strict=True)) / total


def overall_accuracy(view: ProteusView, deployment: ProteusDeployment) -> float:
    """Objective of a whole plan: effective accuracy weighted by each window's planned
    demand (Proteus's objective, what the MILP maximises)."""
    return _weighted(deployment, True, [effective_accuracy(view, w) for w in deployment.windows])


def overall_accuracy_served(view: ProteusView, deployment: ProteusDeployment) -> float:
    """Served effective accuracy of a whole plan: shed demand counts as accuracy 0,
    weighted by each window's actual demand, %."""
    return _weighted(
        deployment, False, [effective_accuracy_served(view, w) for w in deployment.windows]
    )


def shed_share(deployment: ProteusDeployment) -> float:
    """Share of the actual demand of the whole plan that is shed, %."""
    demand = sum(sum(w.demand_qps.values()) for w in deployment.windows)
    shed = sum(sum(w.shed_qps.values()) for w in deployment.windows)
    return 100.0 * shed / demand if demand > 0 else 0.0
