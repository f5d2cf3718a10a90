"""The deployment schema (JSON round trip) and reading it off a solved packing model."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import cast

from pydantic import BaseModel, ConfigDict, Field

from formulations.polymorphic.inputs import MAX_ARRAY_SIDE, MAX_SHARE_STEPS, PolymorphicInputs
from formulations.polymorphic.milp import Orientation, PackingModel
from formulations.polymorphic.view import Candidate, PolymorphicView, single_run
from formulations.types import SolveResult


class Accelerator(BaseModel):
    """One DNN's logical accelerator: its rectangle, buffer and bandwidth shares, dataflows."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    dnn: str
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
) -> Accelerator:
    layers = view.layers[dnn]
    run = single_run(layers, view.inputs.array, view.designs[design], candidate)
    return Accelerator(
        dnn=dnn,
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
    candidates: Mapping[str, Sequence[Candidate]],
    result: SolveResult,
) -> PolymorphicDeployment:
    """Column strips left to right, accelerators top to bottom in DNN order; row strips top
    to bottom, accelerators left to right (milp docstring)."""
    inputs: PolymorphicInputs = view.inputs
    step = view.designs[design].shape_step
    column_strips = packing.orientation is Orientation.COLUMN_STRIPS
    widths = [round(v) for v in packing.width.values(result)]
    strip_of: dict[int, int] = {}
    for label, value in packing.y.value_map(result).items():
        j, s = cast(tuple[int, int], label)
        if value > 0.5:
            strip_of[j] = s
    next_along = [0] * len(widths)
    accelerators = []
    for j, dnn in enumerate(inputs.dnns):
        s = strip_of[j]
        values = packing.x[dnn.name].values(result)
        cand = candidates[dnn.name][int(values.argmax())]
        across = sum(widths[:s]) * step
        row_offset, col_offset = (
            (next_along[s], across) if column_strips else (across, next_along[s])
        )
        accelerators.append(accelerator(view, design, dnn.name, cand, row_offset, col_offset))
        next_along[s] += cand.rows if column_strips else cand.cols
    return PolymorphicDeployment(design=design, accelerators=accelerators)
