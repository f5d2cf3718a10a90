"""The Proteus deployment as stored in plan JSON (the plan's and every baseline's): per
window, aggregated placements and the per-device assignment derived from them.

A window is planned for ``planned_qps`` (the forecast at its last re-plan, see
``forecast.py``) and judged on ``demand_qps`` (what arrives). Routing shares: a family's
share on a placement is ``routed_qps / planned_qps[f]`` (when nothing is planned for the
family, its placements' capacity shares). What arrives at a placement is its share of the
actual demand; it serves ``served_qps = min(share x demand_qps[f], capacity x devices)``
and the rest is shed (``shed_qps[f]``: the family's demand not served, including what
the plan routes nowhere). ``effective_accuracy`` is Proteus's objective on the planned
demand (sum of accuracy x routed over the planned demand, ``algorithms/ilp.py``'s
``w / sum s``); ``effective_accuracy_served`` counts only what is served, shed demand at
accuracy 0: sum of accuracy x served over the actual demand, %.

Every field is read back by ``planner check`` and verified (``verify.py``): strict types
(no "3" for 3, no true for 1), finite numbers, non-negative rates and shares, non-empty
names; the verifier checks the names, the even split and the shares against each other
and against the scenario.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field

from formulations.proteus.view import ProteusView
from formulations.tolerances import geq


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
    routed_qps: Rate  # of the planned demand
    served_qps: Rate = 0.0  # of the actual demand


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
    demand_qps: dict[Name, Rate]  # what arrives
    planned_qps: dict[Name, Rate]  # what the plan is made for (forecast at the last re-plan)
    replanned: bool  # planned in this window (else the previous window's plan, kept)
    beta: float = Field(gt=0, allow_inf_nan=False)  # capacity >= beta x routed
    effective_accuracy: float = Field(ge=0, allow_inf_nan=False)  # %, of the planned demand
    effective_accuracy_served: float = Field(ge=0, allow_inf_nan=False)  # %, shed counts 0
    shed_qps: dict[Name, Rate]  # demand not served, per family
    placements: list[Placement]
    devices: list[DeviceSlot]


class ProteusDeployment(_Strict):
    windows: list[WindowPlan] = Field(min_length=1)


def family_shares(placements: Sequence[Placement], planned_qps: Mapping[str, float]) -> list[float]:
    """Each placement's share of its family's demand (module docstring)."""
    capacity: dict[str, float] = defaultdict(float)
    for p in placements:
        capacity[p.family] += p.capacity_qps_per_device * p.devices
    out = []
    for p in placements:
        planned = planned_qps.get(p.family, 0.0)
        if planned > 0:
            out.append(p.routed_qps / planned)
        elif capacity[p.family] > 0:
            out.append(p.capacity_qps_per_device * p.devices / capacity[p.family])
        else:
            out.append(0.0)
    return out


def served_qps(
    placements: Sequence[Placement],
    planned_qps: Mapping[str, float],
    demand_qps: Mapping[str, float],
) -> list[float]:
    """What each placement serves of the actual demand: min(share x demand, capacity)."""
    return [
        min(share * demand_qps.get(p.family, 0.0), p.capacity_qps_per_device * p.devices)
        for p, share in zip(placements, family_shares(placements, planned_qps), strict=True)
    ]


def settle(view: ProteusView, window: WindowPlan) -> WindowPlan:
    """The window's served figures recomputed from its routing, planned and actual demand:
    each placement's ``served_qps``, ``shed_qps``, both effective accuracies."""
    served = served_qps(window.placements, window.planned_qps, window.demand_qps)
    placements = [
        p.model_copy(update={"served_qps": q})
        for p, q in zip(window.placements, served, strict=True)
    ]
    by_family: dict[str, float] = defaultdict(float)
    for p in placements:
        by_family[p.family] += p.served_qps
    known = [p for p in placements if p.variant in view.accuracy]
    return window.model_copy(
        update={
            "placements": placements,
            # a residue within the feasibility tolerance is no shed (0, not 4.5e-12)
            "shed_qps": {
                f: 0.0 if geq(by_family[f], d) else d - by_family[f]
                for f, d in window.demand_qps.items()
            },
            "effective_accuracy": view.effective_accuracy(
                ((p.variant, p.routed_qps) for p in known), window.planned_qps
            ),
            "effective_accuracy_served": view.effective_accuracy(
                ((p.variant, p.served_qps) for p in known), window.demand_qps
            ),
        }
    )


def device_share(
    placement: Placement, each_qps: float, planned_qps: Mapping[str, float], family_capacity: float
) -> float:
    """One device's share of its family (``share_of_family``): its routed queries/s over the
    family's planned demand, or its capacity share when nothing is planned."""
    planned = planned_qps.get(placement.family, 0.0)
    if planned > 0:
        return min(1.0, each_qps / planned)
    return placement.capacity_qps_per_device / family_capacity if family_capacity > 0 else 0.0


def window_plan(
    view: ProteusView,
    window: int,
    beta: float,
    devices: Mapping[tuple[str, str], int],
    routed_qps: Mapping[tuple[str, str], float],
    replanned: bool = True,
    planned: Mapping[str, float] | None = None,
) -> WindowPlan:
    """Assemble a window's plan from aggregate counts and flows (of ``planned``, default
    the scenario's planned demand of the window), splitting each placement evenly over its
    devices (exact, see formulations.proteus.milp)."""
    demand = view.demand(window)
    planned = dict(view.planned(window) if planned is None else planned)
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
    capacity: dict[str, float] = defaultdict(float)
    for p in placements:
        capacity[p.family] += p.capacity_qps_per_device * p.devices
    slots: list[DeviceSlot] = []
    for d in view.device_types:
        index = 0
        for p in (p for p in placements if p.device_type == d):
            each = p.routed_qps / p.devices
            share = device_share(p, each, planned, capacity[p.family])
            for _ in range(p.devices):
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
    return settle(
        view,
        WindowPlan(
            window_start_s=view.window_starts_s[window],
            demand_qps=demand,
            planned_qps=planned,
            replanned=replanned,
            beta=beta,
            effective_accuracy=0.0,
            effective_accuracy_served=0.0,
            shed_qps={},
            placements=placements,
            devices=slots,
        ),
    )
