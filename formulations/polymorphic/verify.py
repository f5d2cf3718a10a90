"""Independent verifier: recompute cycles, area, buffer, bandwidth and packing.

Nothing here reads solver values or candidate tables: every accelerator's pass is
recomputed from :mod:`cost_models.polymorphic` with the dataflows the deployment states,
the rectangles are checked for being on the tile (or pod) grid, inside the array and
pairwise disjoint (which any guillotine or strip packing must be), and the shares are
summed against the buffer and bandwidth steps.
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping
from dataclasses import dataclass, field, replace

from cost_models.polymorphic.gemm import Dataflow
from cost_models.polymorphic.memory import network_costs
from cost_models.units import BYTES_PER_GB, HZ_PER_MHZ
from formulations.polymorphic.deployment import Accelerator, PolymorphicDeployment
from formulations.polymorphic.inputs import Objective
from formulations.polymorphic.view import Design, PolymorphicView, buffer_bytes, bytes_per_cycle
from formulations.tolerances import geq, leq
from formulations.types import Shortfall, Verification

UNIT_INFERENCES_PER_S = "inferences/s"


@dataclass(frozen=True)
class Measured:
    cycles: float  # per pass
    compute_cycles: float
    dram_bytes: float  # per pass
    throughput_inferences_per_s: float
    dram_gb_per_s: float


def measure(view: PolymorphicView, design: str, acc: Accelerator) -> Measured:
    """One accelerator's pass from the cost model, with its stated per-layer dataflows."""
    array = view.inputs.array
    dnn = next(d for d in view.inputs.dnns if d.name == acc.dnn)
    costs = network_costs(
        view.layers[acc.dnn],
        acc.rows,
        acc.cols,
        buffer_bytes(array, acc.buffer_steps),
        bytes_per_cycle(array, acc.bandwidth_steps),
        array.word_bytes,
        cross_layer_reuse=view.designs[design].cross_layer_reuse,
    )
    flows = [Dataflow(d) for d in acc.dataflows]
    cycles = sum(float(c.cycles(d)) for c, d in zip(costs, flows, strict=True))
    compute = sum(float(c.compute_cycles[d]) for c, d in zip(costs, flows, strict=True))
    dram = sum(float(c.dram_bytes[d]) for c, d in zip(costs, flows, strict=True))
    clock_hz = array.clock_mhz * HZ_PER_MHZ
    passes_per_s = acc.time_share * clock_hz / cycles
    return Measured(
        cycles, compute, dram, dnn.batch * passes_per_s, dram * passes_per_s / BYTES_PER_GB
    )


def _overlap(a: Accelerator, b: Accelerator) -> bool:
    return (
        a.row_offset < b.row_offset + b.rows
        and b.row_offset < a.row_offset + a.rows
        and a.col_offset < b.col_offset + b.cols
        and b.col_offset < a.col_offset + a.cols
    )


@dataclass
class Evaluation:
    """A deployment re-measured under a scenario: objective, violations, and the DNNs whose
    throughput floor it misses (each also a violation)."""

    objective_value: float
    violations: list[str]
    shortfalls: list[Shortfall] = field(default_factory=list)


def verify(view: PolymorphicView, deployment: PolymorphicDeployment) -> Verification:
    evaluation = evaluate(view, deployment)
    return Verification(evaluation.objective_value, evaluation.violations)


def _check_accelerator(
    view: PolymorphicView, design: Design, acc: Accelerator, where: str
) -> list[str]:
    """One accelerator against the array's grid and bounds and the design's rules."""
    array = view.inputs.array
    violations = []
    if (
        acc.rows % design.shape_step
        or acc.cols % design.shape_step
        or min(acc.rows, acc.cols) < design.shape_step
    ):
        violations.append(
            f"{where}: shape {acc.rows}x{acc.cols} is not a positive "
            f"multiple of {design.shape_step} PEs"
        )
    if acc.row_offset % design.shape_step or acc.col_offset % design.shape_step:
        violations.append(
            f"{where}: offset ({acc.row_offset}, {acc.col_offset}) is off "
            f"the {design.shape_step}-PE grid"
        )
    if (
        acc.row_offset < 0
        or acc.col_offset < 0
        or acc.row_offset + acc.rows > array.rows
        or acc.col_offset + acc.cols > array.cols
    ):
        violations.append(f"{where}: rectangle leaves the {array.rows}x{array.cols} array")
    if design.buffer_follows_area:
        share = -(-(acc.rows * acc.cols * array.buffer_share_steps) // (array.rows * array.cols))
        if acc.buffer_steps != share:
            violations.append(
                f"{where}: buffer steps {acc.buffer_steps} != area share {share} in {design.name}"
            )
    if not 1 <= acc.buffer_steps <= array.buffer_share_steps:
        violations.append(
            f"{where}: buffer steps {acc.buffer_steps} outside 1..{array.buffer_share_steps}"
        )
    if not 1 <= acc.bandwidth_steps <= array.bandwidth_share_steps:
        violations.append(
            f"{where}: bandwidth steps {acc.bandwidth_steps} outside 1.."
            f"{array.bandwidth_share_steps}"
        )
    return violations


def _check_dataflows(
    view: PolymorphicView, design: Design, acc: Accelerator, where: str
) -> list[str]:
    """Empty when the stated dataflows can be measured (one allowed dataflow per layer)."""
    layers = view.layers[acc.dnn]
    if len(acc.dataflows) != len(layers):
        return [f"{where}: {len(acc.dataflows)} dataflows for {len(layers)} layers"]
    bad = sorted({d for d in acc.dataflows if d not in {f.value for f in design.dataflows}})
    if bad:
        return [f"{where}: dataflows {bad} not allowed in {design.name}"]
    return []


def _check_together(
    view: PolymorphicView, accs: list[Accelerator], time_multiplexed: bool, where: str
) -> list[str]:
    """One phase's accelerators together: time shares, or disjointness and the totals."""
    array = view.inputs.array
    if time_multiplexed:
        time_total = sum(a.time_share for a in accs)
        return [] if leq(time_total, 1.0) else [f"{where}time shares: {time_total:.6g} > 1"]
    violations = [
        f"{where}time share of {a.dnn}: {a.time_share} (only when time-multiplexed)"
        for a in accs
        if a.time_share != 1.0
    ]
    violations += [
        f"{where}packing: {a.dnn} overlaps {b.dnn}"
        for a, b in itertools.combinations(accs, 2)
        if _overlap(a, b)
    ]
    area = sum(a.rows * a.cols for a in accs)
    if area > array.rows * array.cols:
        violations.append(f"{where}PE area: {area} > {array.rows * array.cols} PEs")
    for what, used, have in (
        ("buffer", sum(a.buffer_steps for a in accs), array.buffer_share_steps),
        ("bandwidth", sum(a.bandwidth_steps for a in accs), array.bandwidth_share_steps),
    ):
        if used > have:
            violations.append(f"{where}{what}: {used} steps > {have}")
    return violations


def changed(before: Accelerator, after: Accelerator) -> bool:
    """The reconfiguration rule (:mod:`.milp`): the shape, the buffer share or the
    bandwidth share differs (a rectangle that only moves is not charged)."""
    return (before.rows, before.cols, before.buffer_steps, before.bandwidth_steps) != (
        after.rows,
        after.cols,
        after.buffer_steps,
        after.bandwidth_steps,
    )


def evaluate(view: PolymorphicView, deployment: PolymorphicDeployment) -> Evaluation:
    """Every accelerator of every phase re-measured from the cost model and checked
    against the array (grid, bounds, disjointness, shares) and its DNN's throughput floor;
    an accelerator whose shape, buffer or bandwidth share differs from the one its DNN had the last
    time it ran loses ``rho_p`` of its phase (the reconfiguration charge)."""
    inputs = view.inputs
    if deployment.design not in view.designs:
        return Evaluation(0.0, [f"design {deployment.design!r}: not one of {list(view.designs)}"])
    design = view.designs[deployment.design]
    stated = sorted((a.phase or "", a.dnn) for a in deployment.accelerators)
    expected = sorted((p.name or "", d.name) for p in view.phases for d in p.dnns)
    # time-multiplexed: a DNN given no time (no accelerator) runs at 0 inferences/s
    partial = deployment.time_multiplexed and len(set(stated)) == len(stated)
    if stated != expected and not (partial and set(stated) <= set(expected)):
        what = "(phase, DNN)" if inputs.phases else "DNN"
        return Evaluation(
            0.0,
            [
                f"accelerators: one per {what} "
                f"{[e if inputs.phases else e[1] for e in expected]} expected, got "
                f"{[e if inputs.phases else e[1] for e in stated]}"
            ],
        )
    at = {(a.phase, a.dnn): a for a in deployment.accelerators}
    violations: list[str] = []
    measurable = True
    for acc in deployment.accelerators:
        where = f"{acc.dnn} in phase {acc.phase}" if acc.phase is not None else acc.dnn
        violations += _check_accelerator(view, design, acc, where)
        flows = _check_dataflows(view, design, acc, where)
        violations += flows
        measurable &= not flows
        if not flows and not design.per_layer_dataflow and len(set(acc.dataflows)) > 1:
            violations.append(f"{where}: {design.name} runs one dataflow per accelerator")
    for phase in view.phases:
        accs = [at[phase.name, d.name] for d in phase.dnns if (phase.name, d.name) in at]
        where = f"phase {phase.name}: " if phase.name is not None else ""
        violations += _check_together(view, accs, deployment.time_multiplexed, where)
    if not measurable:
        return Evaluation(0.0, violations)
    rates = effective(view, deployment)
    shortfalls = []
    for phase in view.phases:
        for dnn in phase.dnns:
            found = rates.get((phase.name, dnn.name))
            rate = found.throughput_inferences_per_s if found else 0.0
            floor = dnn.min_throughput_inferences_per_s
            if not geq(rate, floor):
                where = f"{dnn.name} in phase {phase.name}" if phase.name else dnn.name
                violations.append(f"min throughput of {where}: {rate:.6g} < {floor:g} inferences/s")
                shortfalls.append(
                    Shortfall(
                        f"dnn {dnn.name}" + (f" phase {phase.name}" if phase.name else ""),
                        floor,
                        rate,
                        UNIT_INFERENCES_PER_S,
                    )
                )
    value = objective_value(
        view,
        {
            (p.name, d.name): rates[p.name, d.name].throughput_inferences_per_s
            if (p.name, d.name) in rates
            else 0.0
            for p in view.phases
            for d in p.dnns
        },
    )
    return Evaluation(value, violations, shortfalls)


def effective(
    view: PolymorphicView, deployment: PolymorphicDeployment
) -> dict[tuple[str | None, str], Measured]:
    """Per (phase name, DNN): the accelerator's pass measured from the cost model, its
    throughput and DRAM rate lowered by ``rho_p`` when it was reconfigured on entering the
    phase (its shape, buffer or bandwidth share differs from the one its DNN had the last
    time it ran). Needs measurable dataflows; a (phase, DNN) without an accelerator (no time
    share) is left out."""
    at = {(a.phase, a.dnn): a for a in deployment.accelerators}
    names = [p.name for p in view.phases]
    out = {}
    for phase in view.phases:
        for dnn in phase.dnns:
            acc = at.get((phase.name, dnn.name))
            if acc is None:
                continue
            m = measure(view, deployment.design, acc)
            before = phase.previous.get(dnn.name)
            earlier = None if before is None else at.get((names[before], dnn.name))
            if earlier is not None and changed(earlier, acc):
                kept = 1 - view.inputs.reconfiguration_share(phase)
                m = replace(
                    m,
                    throughput_inferences_per_s=m.throughput_inferences_per_s * kept,
                    dram_gb_per_s=m.dram_gb_per_s * kept,
                )
            out[phase.name, dnn.name] = m
    return out


def objective_value(view: PolymorphicView, rates: Mapping[tuple[str | None, str], float]) -> float:
    """The scenario objective of effective throughputs per (phase name, DNN)."""
    phases = view.phases
    if view.inputs.objective is Objective.MAX_MIN_NORMALISED:
        return min(rates[p.name, d.name] / d.weight for p in phases for d in p.dnns)
    total_s = sum(p.duration_s for p in phases)
    return sum(
        p.duration_s / total_s * d.weight * rates[p.name, d.name] for p in phases for d in p.dnns
    )
