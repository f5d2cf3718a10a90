"""Tables for people: placements (the primary table, CSV), then per device type and per
family for one window, or per window for a trace."""

from __future__ import annotations

from collections import defaultdict

from formulations.proteus.deployment import ProteusDeployment, WindowPlan
from formulations.proteus.view import ProteusView
from formulations.types import Table


def devices_carrying_traffic(window: WindowPlan) -> int:
    """Devices with queries routed to them (a device hosting a variant without traffic is
    idle)."""
    return sum(p.devices for p in window.placements if p.routed_qps > 0)


def tables(view: ProteusView, deployment: ProteusDeployment) -> list[Table]:
    trace = len(deployment.windows) > 1
    out = [_placements(view, deployment, trace)]
    if trace:
        out.append(_windows(deployment))
    else:
        out.append(_device_types(view, deployment.windows[0]))
        out.append(_families(view, deployment.windows[0]))
    return out


def _placements(view: ProteusView, deployment: ProteusDeployment, trace: bool) -> Table:
    columns = [
        "device_type",
        "family",
        "variant",
        "devices",
        "batch",
        "capacity_qps_per_device",
        "routed_qps",
        "utilisation_pct",
        "rate_source",  # provenance of the per-device capacity (expected error)
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
                view.rate[(p.device_type, p.variant)].label,
            ]
            rows.append([window.window_start_s, *row] if trace else row)
    return Table(
        "Placements (devices of a type hosting a variant, the queries they serve, and where "
        "the per-device capacity came from)",
        ["window_start_s", *columns] if trace else columns,
        rows,
    )


def _device_types(view: ProteusView, window: WindowPlan) -> Table:
    rows = []
    for d in view.device_types:
        mine = [p for p in window.placements if p.device_type == d]
        used = sum(p.devices for p in mine if p.routed_qps > 0)
        capacity = sum(p.capacity_qps_per_device * p.devices for p in mine)
        routed = sum(p.routed_qps for p in mine)
        rows.append(
            [
                d,
                view.device_count[d],
                used,
                view.device_count[d] - used,
                capacity,
                routed,
                100.0 * routed / capacity if capacity > 0 else 0.0,
            ]
        )
    return Table(
        "Device types (used: devices carrying traffic; the rest are idle)",
        ["device_type", "devices", "used", "idle", "capacity_qps", "routed_qps", "utilisation_pct"],
        rows,
    )


def _families(view: ProteusView, window: WindowPlan) -> Table:
    rows = []
    for f in view.families:
        mine = [p for p in window.placements if p.family == f]
        demand = window.demand_qps[f]
        served = sum(p.capacity_qps_per_device * p.devices for p in mine)
        accuracy = (
            sum(view.accuracy[p.variant] * p.routed_qps for p in mine) / demand
            if demand > 0
            else None
        )
        counts: dict[str, int] = defaultdict(int)
        for p in mine:
            counts[p.variant] += p.devices
        rows.append(
            [
                f,
                view.slo_ms[f],
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
    columns = ["window_start_s", "demand_qps", "beta", "effective_accuracy", "devices_used"]
    # devices_used: devices carrying traffic
    rows: list[list[object]] = [
        [
            w.window_start_s,
            sum(w.demand_qps.values()),
            w.beta,
            w.effective_accuracy,
            devices_carrying_traffic(w),
        ]
        for w in deployment.windows
    ]
    return Table("Windows", columns, rows)
