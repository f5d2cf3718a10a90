"""The Proteus deployment as stored in plan JSON (the plan's and every baseline's): per
window, aggregated placements and the per-device assignment derived from them.

Every field is read back by ``planner check`` and verified (``verify.py``): strict types
(no "3" for 3, no true for 1), finite numbers, non-negative rates and shares, non-empty
names; the verifier checks the names, the even split and the shares against each other
and against the scenario.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field

from formulations.proteus.view import ProteusView


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)


Name = Annotated[str, Field(min_length=1)]
Rate = Annotated[float, Field(ge=0, allow_inf_nan=False)]  # queries/s


class Placement(_Strict):
    """``devices`` devices of ``device_type`` host ``variant`` and share ``routed_qps``."""

    device_type: Name
    family: Name
    variant: Name
    devices: int = Field(ge=1)
    batch: int = Field(ge=1)
    capacity_qps_per_device: float = Field(gt=0, allow_inf_nan=False)
    routed_qps: Rate


class DeviceSlot(_Strict):
    """One physical device (an even split of its placement); idle when ``variant`` is None."""

    device: Name  # "<device type>#<index>", indices 0 .. count - 1 within a type
    device_type: Name
    family: Name | None = None
    variant: Name | None = None
    routed_qps: Rate = 0.0
    # fraction of the family's demand routed to this device
    share_of_family: float = Field(0.0, ge=0, le=1, allow_inf_nan=False)


class WindowPlan(_Strict):
    window_start_s: float = Field(ge=0, allow_inf_nan=False)
    demand_qps: dict[Name, Rate]
    beta: float = Field(gt=0, allow_inf_nan=False)  # served capacity >= beta x demand
    effective_accuracy: float = Field(ge=0, allow_inf_nan=False)  # %
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
                share = min(1.0, each / demand[p.family]) if demand[p.family] > 0 else 0.0
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
