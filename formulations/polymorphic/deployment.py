"""The deployment schema (JSON round trip) and reading it off a solved packing model."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from pydantic import BaseModel, ConfigDict, Field

from formulations.polymorphic.inputs import MAX_ARRAY_SIDE, MAX_SHARE_STEPS
from formulations.polymorphic.milp import Orientation, PackingModel
from formulations.polymorphic.view import Candidate, PolymorphicView, single_run
from formulations.types import SolveResult


class Accelerator(BaseModel):
    """One DNN's logical accelerator: its rectangle, buffer and bandwidth shares, dataflows."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    dnn: str
    phase: str | None = None  # the phase's name; None when the scenario has no phases
    rows: int = Field(strict=True, gt=0, le=MAX_ARRAY_SIDE)
    cols: int = Field(strict=True, gt=0, le=MAX_ARRAY_SIDE)
    row_offset: int = Field(strict=True, ge=0, le=MAX_ARRAY_SIDE)  # PEs from the top edge
    col_offset: int = Field(strict=True, ge=0, le=MAX_ARRAY_SIDE)  # PEs from the left edge
    buffer_steps: int = Field(strict=True, ge=1, le=MAX_SHARE_STEPS)
    bandwidth_steps: int = Field(strict=True, ge=1, le=MAX_SHARE_STEPS)
    # < 1 only when time-multiplexed
    time_share: float = Field(1.0, strict=True, gt=0, le=1, allow_inf_nan=False)
    dataflows: list[str]  # per layer: os, ws or is


class PolymorphicDeployment(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    design: str  # a key of view.DESIGNS: whose rules the accelerators follow
    time_multiplexed: bool = Field(
        False, strict=True
    )  # True: every DNN uses the whole array in turn
    accelerators: list[Accelerator]


def accelerator(
    view: PolymorphicView,
    design: str,
    dnn: str,
    candidate: Candidate,
    row_offset: int,
    col_offset: int,
    time_share: float = 1.0,
    phase: str | None = None,
) -> Accelerator:
    layers = view.layers[dnn]
    run = single_run(layers, view.inputs.array, view.designs[design], candidate)
    return Accelerator(
        dnn=dnn,
        phase=phase,
        rows=candidate.rows,
        cols=candidate.cols,
        row_offset=row_offset,
        col_offset=col_offset,
        buffer_steps=candidate.buffer_steps,
        bandwidth_steps=candidate.bandwidth_steps,
        time_share=time_share,
        dataflows=[d.value for d in run.dataflows],
    )


def read_packing(
    view: PolymorphicView,
    design: str,
    packing: PackingModel,
    candidates: Sequence[Mapping[str, Sequence[Candidate]]],
    result: SolveResult,
) -> PolymorphicDeployment:
    """Per phase: column strips left to right, accelerators top to bottom in DNN order;
    row strips top to bottom, accelerators left to right (milp docstring)."""
    step = view.designs[design].shape_step
    accelerators = []
    for p, phase in enumerate(view.phases):
        column_strips = packing.column_strips.value(result, p) > 0.5
        q = Orientation.COLUMN_STRIPS if column_strips else Orientation.ROW_STRIPS
        count = len(phase.dnns)
        widths = [round(packing.width[q].value(result, (p, s))) for s in range(count)]
        strip_of = {
            j: s
            for j in range(count)
            for s in range(j + 1)
            if packing.y[q].value(result, (p, j, s)) > 0.5
        }
        next_along = [0] * count
        for j, dnn in enumerate(phase.dnns):
            s = strip_of[j]
            cand = candidates[p][dnn.name][int(packing.x[p, dnn.name].values(result).argmax())]
            across = sum(widths[:s]) * step
            row_offset, col_offset = (
                (next_along[s], across) if column_strips else (across, next_along[s])
            )
            accelerators.append(
                accelerator(view, design, dnn.name, cand, row_offset, col_offset, phase=phase.name)
            )
            next_along[s] += cand.rows if column_strips else cand.cols
    return PolymorphicDeployment(design=design, accelerators=accelerators)
