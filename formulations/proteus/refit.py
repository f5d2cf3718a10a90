"""``planner check`` for Proteus: does the committed placement still serve the scenario?

What is kept (the decisions a user deployed): in every window, each placement's
``device_type``, ``family``, ``variant`` and ``devices`` count, and each busy device's name
``<type>#<index>`` with the variant it hosts. What is re-derived from the new scenario:
``window_start_s``, ``demand_qps``, ``planned_qps`` (the scenario's forecast at the
window's last re-plan), each placement's ``batch`` and ``capacity_qps_per_device`` (the
cost model), ``beta``, the routing (``routed_qps`` of placements and devices,
``share_of_family``) of the planned demand, the effective accuracies and the served and
shed figures (``deployment.settle``), and the idle devices
(a device added to the cluster joins as idle, a removed one leaves, idle ones first).

A window is re-derived only when the scenario's inputs for it differ from what the plan
states (its demand, or the number of devices of a type); otherwise it is kept as stored,
every field verified as written. A stored plan that is not consistent in itself (names,
split, shares, routing of its own stated demand, see ``verify.consistency``) is never
re-derived: it is returned as stored so that the verifier reports what is wrong with it.

Covering the scenario. The required headroom of a window is the plan's own beta (at most
the scenario's beta, rounded down to the scenario's headroom grid): family f needs
``beta_req x D_f`` queries/s of capacity from the devices that host its variants, and has
``A_f = sum c_{d,v} n_{d,v}`` over its kept placements (capacities from the new cost model;
a pair that can no longer meet the SLO gives 0). A family with ``A_f < beta_req x D_f`` is
a :class:`Shortfall` (one per family: its worst window). Otherwise the window gets the
highest level of the grid its placements support (``beta x D_f <= A_f`` for every family,
as the fresh plan maximises beta first), and the routing that maximises effective accuracy
at that beta, an LP over the kept placements (model ``proteus_refit``: columns
``x[type,variant]`` with upper bounds ``c n / beta``, rows ``demand[f]``: ``sum x = D_f``).
A window that is short keeps the required beta and splits each family's demand over its
placements in proportion to capacity, so the verifier names the placements over capacity.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass

from cost_models.units import UNIT_QPS
from formulations.model import Model, lin_sum
from formulations.proteus.deployment import (
    DeviceSlot,
    Placement,
    ProteusDeployment,
    WindowPlan,
    device_share,
    settle,
)
from formulations.proteus.verify import consistency
from formulations.proteus.view import ProteusView
from formulations.tolerances import close, geq, leq
from formulations.types import MilpSolver, Refit, Sense, Shortfall

UNIT_DEVICES = "devices"


@dataclass(frozen=True)
class _Short:
    """A family's (or device type's) deficit in one window."""

    what: str
    window: int
    required: float
    available: float
    unit: str


def _unchanged(view: ProteusView, w: int, last: int, stored: WindowPlan) -> bool:
    """The scenario's demand, forecast (at the window's last re-plan ``last``) and cluster
    for window ``w`` are the ones the plan states."""
    for stated, fresh in (
        (stored.demand_qps, view.demand(w)),
        (stored.planned_qps, view.forecast(last)),
    ):
        if set(stated) != set(fresh) or not all(close(stated[f], fresh[f]) for f in fresh):
            return False
    per_type: dict[str, int] = defaultdict(int)
    for slot in stored.devices:
        per_type[slot.device_type] += 1
    return dict(per_type) == {d: c for d, c in view.device_count.items() if c > 0}


def required_level(view: ProteusView, stored_beta: float) -> float:
    """The plan's beta, at most the scenario's, rounded down to the scenario's grid (its
    floor when the plan's beta is below every level)."""
    target = min(stored_beta, view.levels[0])
    return max((level for level in view.levels if leq(level, target)), default=view.levels[-1])


def _route(
    view: ProteusView,
    solver: MilpSolver,
    placements: list[Placement],
    demand: dict[str, float],
    beta: float,
) -> list[float] | None:
    """Most accurate routing of ``demand`` over ``placements`` at headroom ``beta`` (the LP
    of the module docstring), or None when the solver finds none."""
    total = sum(demand.values())
    scale = 1.0 / total if total > 0 else 0.0
    model = Model("proteus_refit", Sense.MAXIMIZE)
    x = model.add_variables(
        "x",
        [(p.device_type, p.variant) for p in placements],
        upper=[p.capacity_qps_per_device * p.devices / beta for p in placements],
        cost=[view.accuracy[p.variant] * scale for p in placements],
    )
    for f in view.families:
        mine = [x[(p.device_type, p.variant)] for p in placements if p.family == f]
        model.add_constraint("demand", lin_sum(mine) == demand[f], label=f)
    result = solver.solve(model)
    if not result.status.has_solution:
        return None
    return [max(0.0, float(q)) for q in x.values(result)]


def _proportional(placements: list[Placement], demand: dict[str, float]) -> list[float]:
    """Each family's demand split over its placements in proportion to their capacity."""
    capacity: dict[str, float] = defaultdict(float)
    for p in placements:
        capacity[p.family] += p.capacity_qps_per_device * p.devices
    return [
        demand[p.family] * p.capacity_qps_per_device * p.devices / capacity[p.family]
        if capacity[p.family] > 0
        else 0.0
        for p in placements
    ]


def _slots(
    view: ProteusView,
    stored: list[DeviceSlot],
    placements: list[Placement],
    demand: dict[str, float],
) -> list[DeviceSlot]:
    """The device list: busy devices keep their names, the rest of each type's devices are
    idle (stored idle names first, then the lowest free indices)."""
    placed = {(p.device_type, p.variant): p for p in placements}
    capacity: dict[str, float] = defaultdict(float)
    for p in placements:
        capacity[p.family] += p.capacity_qps_per_device * p.devices
    out: list[DeviceSlot] = []
    for d in dict.fromkeys([*view.device_types, *(s.device_type for s in stored)]):
        mine = [s for s in stored if s.device_type == d]
        busy = [s for s in mine if s.variant is not None and s.family is not None]
        for s in busy:
            host = placed.get((d, str(s.variant)))
            qps = host.routed_qps / host.devices if host is not None else 0.0
            share = (
                device_share(host, qps, demand, capacity[host.family]) if host is not None else 0.0
            )
            out.append(s.model_copy(update={"routed_qps": qps, "share_of_family": share}))
        room = max(0, view.device_count.get(d, 0) - len(busy))
        idle = [s.device for s in mine if s.variant is None][:room]
        taken = {s.device for s in busy} | set(idle)
        index = 0
        while len(idle) < room:
            name = f"{d}#{index}"
            if name not in taken:
                idle.append(name)
            index += 1
        out.extend(DeviceSlot(device=name, device_type=d) for name in idle)
    return out


def _rebuild(
    view: ProteusView, solver: MilpSolver, w: int, last: int, stored: WindowPlan
) -> tuple[WindowPlan, list[_Short]]:
    """Window ``w`` re-derived over the stored placements for the demand planned at its
    last re-plan ``last`` (see module docstring)."""
    demand = view.forecast(last)
    placements: list[Placement] = []
    for p in stored.placements:
        cap = view.capacity.get((p.device_type, p.variant))
        placements.append(
            p.model_copy(
                update={"batch": cap.batch, "capacity_qps_per_device": cap.qps}
                if cap is not None
                else {}
            )
        )
    usable = [p for p in placements if (p.device_type, p.variant) in view.capacity]
    available: dict[str, float] = defaultdict(float)
    for p in usable:
        available[p.family] += p.capacity_qps_per_device * p.devices
    required = required_level(view, stored.beta)
    short = [
        _Short(f"family {f}", w, required * demand[f], available[f], UNIT_QPS)
        for f in view.families
        if not geq(available[f], required * demand[f])
    ]
    used: dict[str, int] = defaultdict(int)
    for p in stored.placements:
        used[p.device_type] += p.devices
    short.extend(
        _Short(f"device type {d}", w, float(n), float(view.device_count.get(d, 0)), UNIT_DEVICES)
        for d, n in used.items()
        if n > view.device_count.get(d, 0)
    )
    beta = required
    if not short:
        beta = next(
            level
            for level in view.levels
            if all(leq(level * demand[f], available[f]) for f in view.families)
        )
    flows = None if short else _route(view, solver, usable, demand, beta)
    if flows is None:
        flows = _proportional(usable, demand)
    routed = dict(zip((id(p) for p in usable), flows, strict=True))
    placements = [p.model_copy(update={"routed_qps": routed.get(id(p), 0.0)}) for p in placements]
    window = WindowPlan(
        window_start_s=view.window_starts_s[w],
        demand_qps=view.demand(w),
        planned_qps=demand,
        replanned=stored.replanned,
        beta=beta,
        effective_accuracy=0.0,
        effective_accuracy_served=0.0,
        shed_qps={},
        placements=placements,
        devices=_slots(view, stored.devices, placements, demand),
    )
    window = settle(view, window)
    return window, short


def _worst(short: list[_Short], view: ProteusView) -> list[Shortfall]:
    """One shortfall per family or device type: its window with the largest deficit."""
    worst: dict[str, _Short] = {}
    count: dict[str, int] = defaultdict(int)
    for s in short:
        count[s.what] += 1
        if s.what not in worst or s.required - s.available > (
            worst[s.what].required - worst[s.what].available
        ):
            worst[s.what] = s
    out = []
    for what, s in worst.items():
        where = (
            f" (worst of {count[what]} short window{'s' if count[what] > 1 else ''}: "
            f"window {s.window}, {view.window_starts_s[s.window]:g} s)"
            if view.trace_mode
            else ""
        )
        out.append(
            Shortfall(
                what + where,
                s.required,
                s.available,
                s.unit,
                resource=what.startswith("device type"),
            )
        )
    return out


def refit(
    view: ProteusView, deployment: ProteusDeployment, solver: MilpSolver
) -> Refit[ProteusDeployment]:
    """The committed placements re-routed over the scenario's demand (module docstring);
    the deployment as stored when its windows do not match the scenario's in number or it
    is not consistent in itself (the verifier then says why)."""
    if len(deployment.windows) != view.windows:
        return Refit(deployment)
    for w, window in enumerate(deployment.windows):
        previous = deployment.windows[w - 1] if w > 0 else None
        if consistency(view, f"window {w}", window, previous):
            return Refit(deployment)
    windows: list[WindowPlan] = []
    short: list[_Short] = []
    last = 0
    for w, stored in enumerate(deployment.windows):
        last = w if stored.replanned else last
        if _unchanged(view, w, last, stored):
            windows.append(stored)
            continue
        window, deficits = _rebuild(view, solver, w, last, stored)
        windows.append(window)
        short.extend(deficits)
    if all(a is b for a, b in zip(windows, deployment.windows, strict=True)):
        return Refit(deployment)
    return Refit(ProteusDeployment(windows=windows), _worst(short, view))
