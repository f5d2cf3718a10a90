"""The Proteus deployment as stored in plan JSON (the plan's and every baseline's): per
window, aggregated placements and the per-device assignment derived from them."""

from __future__ import annotations

from collections.abc import Mapping

from pydantic import BaseModel, ConfigDict, Field

from formulations.proteus.view import ProteusView


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Placement(_Strict):
    """``devices`` devices of ``device_type`` host ``variant`` and share ``routed_qps``."""

    device_type: str
    family: str
    variant: str
    devices: int = Field(ge=1)
    batch: int = Field(ge=1)
    capacity_qps_per_device: float = Field(ge=0)
    routed_qps: float = Field(ge=0)


class DeviceSlot(_Strict):
    """One physical device (an even split of its placement); idle when ``variant`` is None."""

    device: str  # "<device type>#<index>"
    device_type: str
    family: str | None = None
    variant: str | None = None
    routed_qps: float = 0.0
    share_of_family: float = 0.0  # fraction of the family's demand routed to this device


class WindowPlan(_Strict):
    window_start_s: float
    demand_qps: dict[str, float]
    beta: float
    effective_accuracy: float
    placements: list[Placement]
    devices: list[DeviceSlot]


class ProteusDeployment(_Strict):
    windows: list[WindowPlan] = Field(min_length=1)


def window_plan(
    view: ProteusView,
    window: int,
    beta: float,
    devices: Mapping[tuple[str, str], int],
    routed_qps: Mapping[tuple[str, str], float],
) -> WindowPlan:
    """Assemble a window's plan from aggregate counts and flows, splitting each placement
    evenly over its devices (exact, see formulations.proteus.milp)."""
    demand = view.demand(window)
    family_of = view.family_of
    placements = []
    for (d, v), count in devices.items():
        if count <= 0:
            continue
        cap = view.capacity[(d, v)]
        placements.append(
            Placement(
                device_type=d,
                family=family_of[v],
                variant=v,
                devices=count,
                batch=cap.batch,
                capacity_qps_per_device=cap.qps,
                routed_qps=routed_qps.get((d, v), 0.0),
            )
        )
    placements.sort(key=lambda p: (view.device_types.index(p.device_type), p.family, p.variant))
    slots: list[DeviceSlot] = []
    for d in view.device_types:
        index = 0
        for p in (p for p in placements if p.device_type == d):
            for _ in range(p.devices):
                each = p.routed_qps / p.devices
                share = each / demand[p.family] if demand[p.family] > 0 else 0.0
                slots.append(
                    DeviceSlot(
                        device=f"{d}#{index}",
                        device_type=d,
                        family=p.family,
                        variant=p.variant,
                        routed_qps=each,
                        share_of_family=share,
                    )
                )
                index += 1
        while index < view.device_count[d]:
            slots.append(DeviceSlot(device=f"{d}#{index}", device_type=d))
            index += 1
    accuracy = view.effective_accuracy(((p.variant, p.routed_qps) for p in placements), demand)
    return WindowPlan(
        window_start_s=view.window_starts_s[window],
        demand_qps=demand,
        beta=beta,
        effective_accuracy=accuracy,
        placements=placements,
        devices=slots,
    )
