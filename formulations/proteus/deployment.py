"""The Proteus plan as stored in plan JSON: per window, aggregated placements and the
per-device assignment derived from them."""

from __future__ import annotations

from collections.abc import Mapping

from pydantic import BaseModel, ConfigDict, Field

from formulations.proteus.inputs import ProteusInputs


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


class BaselineResult(_Strict):
    """A baseline's headroom and accuracy in one window (None: it finds no plan)."""

    beta: float | None
    effective_accuracy: float | None


class WindowSolve(_Strict):
    """How the window's MILP went (the whole beta loop)."""

    status: str
    gap: float | None
    build_s: float
    solve_s: float


class WindowPlan(_Strict):
    window_start_s: float
    demand_qps: dict[str, float]
    beta: float
    effective_accuracy: float
    placements: list[Placement]
    devices: list[DeviceSlot]
    baselines: dict[str, BaselineResult] = Field(default_factory=dict)
    solve: WindowSolve | None = None


class ProteusDeployment(_Strict):
    windows: list[WindowPlan] = Field(min_length=1)


def window_plan(
    inputs: ProteusInputs,
    window: int,
    beta: float,
    devices: Mapping[tuple[str, str], int],
    routed_qps: Mapping[tuple[str, str], float],
) -> WindowPlan:
    """Assemble a window's plan from aggregate counts and flows, splitting each placement
    evenly over its devices (exact, see formulations.proteus.milp)."""
    problem = inputs.problem
    demand = problem.demand(window)
    family_of = problem.family_of
    placements = []
    for (d, v), count in devices.items():
        if count <= 0:
            continue
        cap = problem.capacity[(d, v)]
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
    placements.sort(key=lambda p: (problem.device_types.index(p.device_type), p.family, p.variant))
    slots: list[DeviceSlot] = []
    for d in problem.device_types:
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
        while index < problem.device_count[d]:
            slots.append(DeviceSlot(device=f"{d}#{index}", device_type=d))
            index += 1
    accuracy = problem.effective_accuracy(((p.variant, p.routed_qps) for p in placements), demand)
    return WindowPlan(
        window_start_s=problem.window_starts_s[window],
        demand_qps=demand,
        beta=beta,
        effective_accuracy=accuracy,
        placements=placements,
        devices=slots,
    )
