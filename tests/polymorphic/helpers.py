"""Tiny seeded polymorphic instances and an exhaustive search over their deployments."""

from __future__ import annotations

import itertools
import random
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from cost_models.polymorphic.networks import NETWORKS
from formulations.polymorphic.inputs import Objective, PolymorphicInputs
from formulations.polymorphic.view import POLYMORPHIC, PolymorphicView, prepare, run, throughput
from tests.conftest import run_cli, write_scenario

# 32 x 32 PEs in 8 x 8 tiles: a 4 x 4 tile grid, small enough to enumerate every placement
TINY_ARRAY: dict[str, Any] = {
    "rows": 32,
    "cols": 32,
    "tile": 8,
    "clock_mhz": 700.0,
    "word_bytes": 1,
    "buffer_mib": 0.5,
    "buffer_share_steps": 3,
    "dram_gb_per_s": 8.0,
    "bandwidth_share_steps": 3,
}


def tiny_document(**overrides: Any) -> dict[str, Any]:
    """A valid three-DNN scenario body (no ``kind``) on the 4 x 4 tile grid."""
    document: dict[str, Any] = {
        "objective": "max_min_normalised",
        "pod": 16,
        "array": dict(TINY_ARRAY),
        "dnns": [
            {"name": "cnn", "network": "mobilenet_v2"},
            {"name": "mlp", "network": "dlrm_mlp", "batch": 8, "weight": 20.0},
            {"name": "rnn", "network": "gru_1024", "batch": 2},
        ],
    }
    document.update(overrides)
    return document


def tiny_scenario(**overrides: Any) -> dict[str, Any]:
    """``tiny_document`` as a full scenario (kind, name, exact solver gap)."""
    return {"kind": "polymorphic", "name": "tiny", "solver": {"mip_gap": 1e-9}} | tiny_document(
        **overrides
    )


def random_document(seed: int, dnns: int) -> dict[str, Any]:
    """A seeded instance: networks, batches, weights, buffer, bandwidth and objective."""
    rng = random.Random(seed)
    names = rng.sample(sorted(NETWORKS), dnns)
    array = dict(TINY_ARRAY)
    array["buffer_mib"] = round(rng.uniform(0.05, 2.0), 3)
    array["dram_gb_per_s"] = round(rng.uniform(1.0, 40.0), 2)
    return tiny_document(
        objective=rng.choice([o.value for o in Objective]),
        array=array,
        dnns=[
            {
                "name": f"d{j}_{name}",
                "network": name,
                "batch": rng.choice([1, 2, 4]),
                "weight": round(rng.uniform(0.5, 5.0), 2),
            }
            for j, name in enumerate(names)
        ],
    )


def with_floor(document: dict[str, Any], dnn: int, floor: float) -> dict[str, Any]:
    dnns = [dict(d) for d in document["dnns"]]
    dnns[dnn]["min_throughput_inferences_per_s"] = floor
    return {**document, "dnns": dnns}


@dataclass(frozen=True)
class Grid:
    """Every (rows, cols, buffer steps, bandwidth steps) of one DNN, with its throughput."""

    shapes: list[tuple[int, int]]  # in tiles, index s
    rate: npt.NDArray[np.float64]  # [s, buffer steps - 1, bandwidth steps - 1]


def full_grid(view: PolymorphicView, dnn: str) -> Grid:
    """The cost model on every shape and share (no dominance pruning)."""
    inputs = view.inputs
    array, tile = inputs.array, inputs.array.tile
    spec = next(d for d in inputs.dnns if d.name == dnn)
    shapes = [
        (h, w) for h in range(1, array.rows // tile + 1) for w in range(1, array.cols // tile + 1)
    ]
    r = np.array([s[0] * tile for s in shapes])[:, None, None]
    c = np.array([s[1] * tile for s in shapes])[:, None, None]
    b = np.arange(1, array.buffer_share_steps + 1)[None, :, None]
    w = np.arange(1, array.bandwidth_share_steps + 1)[None, None, :]
    r, c, b, w = np.broadcast_arrays(r, c, b, w)
    cycles, _, _ = run(view.layers[dnn], array, view.designs[POLYMORPHIC], r, c, b, w)
    return Grid(shapes, throughput(array, spec.batch, cycles))


def _masks(rows: int, cols: int, height: int, width: int) -> list[int]:
    """Bit masks of a height x width rectangle at every position of a rows x cols grid."""
    out = []
    for top in range(rows - height + 1):
        for left in range(cols - width + 1):
            mask = 0
            for i in range(top, top + height):
                for j in range(left, left + width):
                    mask |= 1 << (i * cols + j)
            out.append(mask)
    return out


def placeable(grid_rows: int, grid_cols: int, shapes: list[tuple[int, int]], count: int) -> Any:
    """``feasible[s_1, .., s_count]``: the shapes fit side by side anywhere on the grid
    (every position tried; any disjoint placement, not only strips)."""
    masks = [np.array(_masks(grid_rows, grid_cols, h, w), dtype=np.int64) for h, w in shapes]
    feasible = np.zeros((len(shapes),) * count, dtype=bool)
    for combo in itertools.product(range(len(shapes)), repeat=count):
        union = np.array([0], dtype=np.int64)
        for s in combo:
            pairs = union[:, None] & masks[s][None, :]
            ok = pairs == 0
            union = np.unique((union[:, None] | masks[s][None, :])[ok])
            if union.size == 0:
                break
        feasible[combo] = union.size > 0
    return feasible


def strip_packable(
    grid_rows: int, grid_cols: int, shapes: list[tuple[int, int]], count: int
) -> Any:
    """``feasible[s_1, ..]``: the milp docstring's packing (column strips, stacked inside)."""
    feasible = np.zeros((len(shapes),) * count, dtype=bool)
    for combo in itertools.product(range(len(shapes)), repeat=count):
        for labels in itertools.product(range(count), repeat=count):
            strips = set(labels)
            width = sum(
                max(shapes[combo[j]][1] for j in range(count) if labels[j] == s) for s in strips
            )
            tall = max(
                sum(shapes[combo[j]][0] for j in range(count) if labels[j] == s) for s in strips
            )
            if width <= grid_cols and tall <= grid_rows:
                feasible[combo] = True
                break
    return feasible


def brute_force(view: PolymorphicView, packable: Any, at_least: float | None = None) -> float:
    """The best objective over every shape, buffer and bandwidth assignment whose shapes
    ``packable`` accepts (-inf when none meets the floors). With ``at_least`` (max-min
    only): the best sum of normalised throughputs over the assignments whose minimum
    normalised throughput is at least that (the tie-break)."""
    inputs = view.inputs
    array = inputs.array
    grids = [full_grid(view, d.name) for d in inputs.dnns]
    n = len(grids)
    steps_b, steps_w = array.buffer_share_steps, array.bandwidth_share_steps
    ok = np.ones((1,) * (3 * n), dtype=bool)
    buffer_total = np.zeros((1,) * (3 * n), dtype=np.int64)
    bandwidth_total = np.zeros((1,) * (3 * n), dtype=np.int64)
    values = []
    for j, (dnn, grid) in enumerate(zip(inputs.dnns, grids, strict=True)):
        shape = [1] * (3 * n)
        shape[3 * j : 3 * j + 3] = grid.rate.shape
        rate = grid.rate.reshape(shape)
        ok = ok & (rate >= dnn.min_throughput_inferences_per_s * (1 - 1e-9))
        b = np.arange(1, steps_b + 1).reshape(
            [steps_b if a == 3 * j + 1 else 1 for a in range(3 * n)]
        )
        w = np.arange(1, steps_w + 1).reshape(
            [steps_w if a == 3 * j + 2 else 1 for a in range(3 * n)]
        )
        buffer_total = buffer_total + b
        bandwidth_total = bandwidth_total + w
        values.append(
            rate / dnn.weight
            if inputs.objective is Objective.MAX_MIN_NORMALISED
            else rate * dnn.weight
        )
    if inputs.objective is Objective.MAX_MIN_NORMALISED:
        objective = values[0]
        for v in values[1:]:
            objective = np.minimum(objective, v)
        if at_least is not None:
            ok = ok & (objective >= at_least)
            objective = sum(values[1:], values[0])
    else:
        objective = sum(values[1:], values[0])
    fits = packable.reshape([len(grids[0].shapes) if a % 3 == 0 else 1 for a in range(3 * n)])
    ok = ok & fits & (buffer_total <= steps_b) & (bandwidth_total <= steps_w)
    masked = np.where(ok, objective, -np.inf)
    return float(masked.max())


def inputs_of(document: dict[str, Any]) -> PolymorphicInputs:
    return PolymorphicInputs.model_validate(document)


def view_of(document: dict[str, Any]) -> PolymorphicView:
    return prepare(inputs_of(document))


def assert_input_error(folder: Path, document: dict[str, Any], key: str, expected: str) -> None:
    """``planner solve`` on ``document`` exits 2 naming the file, ``key`` and ``expected``
    (no traceback)."""
    path = write_scenario(folder / "bad.toml", document)
    result = run_cli("solve", path)
    message = " ".join((result.stdout + result.stderr).split())
    assert result.exit_code == 2, message
    assert str(path) in message and f"{key}:" in message and expected in message, message
    assert "Traceback" not in message
