"""Phases: the MILP over two phases equals an exhaustive search with the reconfiguration
charge, the verifier charges a changed accelerator, and bad phase input exits 2.

The exhaustive search: two phases of two DNNs on the 4 x 4 tile grid, one DNN (``mlp``) in
both. Given the shared DNN's (shape, buffer, bandwidth) in a phase, the best value of that
phase over every (shape, buffer, bandwidth) of the other DNN that packs beside it (any
disjoint placement) is computed once with and once without the charge; the two phases
are then combined over every pair of the shared DNN's entries, charged when its shape or
buffer share differs between them.
"""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import pytest

from formulations.polymorphic import FORMULATION
from formulations.polymorphic.deployment import PolymorphicDeployment
from formulations.polymorphic.inputs import Objective
from formulations.polymorphic.verify import measure
from formulations.polymorphic.view import PolymorphicView
from formulations.types import SolverSettings
from planner.backends import make_solver
from tests.conftest import run_cli, write_scenario
from tests.polymorphic.helpers import (
    TINY_ARRAY,
    assert_input_error,
    full_grid,
    placeable,
    view_of,
)

GRID = 4
SHAPES = [(h, w) for h in range(1, GRID + 1) for w in range(1, GRID + 1)]
DURATION_S = 0.01  # phase a; phase b lasts twice as long
RHO = 0.3  # share of phase a that a reconfiguration takes (phase b: RHO / 2)
RECONFIGURATION_CYCLES = round(RHO * DURATION_S * TINY_ARRAY["clock_mhz"] * 1e6)
B_CHARGE = RHO / 2  # what a reconfiguration entering phase b costs it


def phased_document(objective: str, weights: tuple[float, float, float]) -> dict[str, Any]:
    return {
        "objective": objective,
        "pod": 16,
        "array": dict(TINY_ARRAY),
        "reconfiguration_cycles": RECONFIGURATION_CYCLES,
        "dnns": [
            {"name": "cnn", "network": "mobilenet_v2", "weight": weights[0]},
            {"name": "mlp", "network": "dlrm_mlp", "batch": 8, "weight": weights[1]},
            {"name": "rnn", "network": "gru_1024", "batch": 2, "weight": weights[2]},
        ],
        "phases": [
            {"name": "a", "duration_s": DURATION_S, "dnns": [{"name": "cnn"}, {"name": "mlp"}]},
            {
                "name": "b",
                "duration_s": 2 * DURATION_S,
                "dnns": [{"name": "mlp", "weight": 2 * weights[1]}, {"name": "rnn"}],
            },
        ],
    }


def _phase_values(
    view: PolymorphicView, phase: int, fits: npt.NDArray[np.bool_], charge: float
) -> npt.NDArray[np.float64]:
    """``[charged, shape, buffer - 1, bandwidth - 1]`` of the shared DNN ``mlp``: the best
    value of the phase (its min normalised or weighted throughput) over the other DNN
    (charged: the shared DNN's rate lowered by ``charge``)."""
    inputs, array = view.inputs, view.inputs.array
    spec = view.phases[phase]
    shared = next(d for d in spec.dnns if d.name == "mlp")
    other = next(d for d in spec.dnns if d.name != "mlp")
    rate_s = full_grid(view, "mlp").rate[:, :, :, None, None, None]
    rate_o = full_grid(view, other.name).rate[None, None, None]
    b = np.arange(1, array.buffer_share_steps + 1)
    w = np.arange(1, array.bandwidth_share_steps + 1)
    ok = (
        fits[:, None, None, :, None, None]
        & (b[None, :, None, None, None, None] + b[None, None, None, None, :, None] <= len(b))
        & (w[None, None, :, None, None, None] + w[None, None, None, None, None, :] <= len(w))
    )
    out = []
    for keep in (1.0, 1.0 - charge):
        if inputs.objective is Objective.MAX_MIN_NORMALISED:
            value = np.minimum(keep * rate_s / shared.weight, rate_o / other.weight)
        else:
            value = keep * rate_s * shared.weight + rate_o * other.weight
        masked = np.where(ok, value, -np.inf)
        out.append(masked.reshape(*masked.shape[:3], -1).max(axis=-1))
    return np.stack(out)


def exhaustive(view: PolymorphicView, charge: float = B_CHARGE) -> float:
    """The optimum over every deployment of both phases; ``charge``: phase b's loss."""
    fits = placeable(GRID, GRID, SHAPES, 2)
    first, second = _phase_values(view, 0, fits, charge), _phase_values(view, 1, fits, charge)
    shapes = np.arange(len(SHAPES))
    b = np.arange(view.inputs.array.buffer_share_steps)
    w = np.arange(view.inputs.array.bandwidth_share_steps)
    # same[a entry, b entry]: the shared DNN's shape, buffer and bandwidth shares are equal
    same = (
        (shapes[:, None, None, None, None, None] == shapes[None, None, None, :, None, None])
        & (b[None, :, None, None, None, None] == b[None, None, None, None, :, None])
        & (w[None, None, :, None, None, None] == w[None, None, None, None, None, :])
    )
    a_value = first[0][:, :, :, None, None, None]
    b_value = np.where(same, second[0][None, None, None], second[1][None, None, None])
    if view.inputs.objective is Objective.MAX_MIN_NORMALISED:
        total = np.minimum(a_value, b_value)
    else:
        total = (a_value * DURATION_S + b_value * 2 * DURATION_S) / (3 * DURATION_S)
    return float(total.max())


def solve(view: PolymorphicView) -> tuple[PolymorphicDeployment, float]:
    solution = FORMULATION.solve(view, make_solver(SolverSettings(mip_gap=1e-9)))
    verification = FORMULATION.verify(view, solution.deployment)
    assert verification.ok, verification.violations
    assert verification.objective_value == pytest.approx(solution.certificate.objective, rel=1e-6)
    return solution.deployment, verification.objective_value


@pytest.mark.parametrize(
    ("objective", "weights"),
    [
        ("max_min_normalised", (1.0, 20.0, 1.0)),
        ("max_min_normalised", (2.0, 300.0, 0.5)),
        ("max_weighted", (1.0, 0.001, 10.0)),
        ("max_weighted", (3.0, 0.0002, 1.0)),
    ],
)
def test_two_phases_match_exhaustive_search(
    objective: str, weights: tuple[float, float, float]
) -> None:
    view = view_of(phased_document(objective, weights))
    _, milp = solve(view)
    assert milp == pytest.approx(exhaustive(view), rel=1e-9)


def test_the_charge_binds_on_the_weighted_instance() -> None:
    """On this instance the best uncharged plan re-shapes the shared DNN, so a model that
    ignored the charge would score above the exhaustive optimum."""
    view = view_of(phased_document("max_weighted", (3.0, 0.0002, 1.0)))
    charged, free = exhaustive(view), exhaustive(view, charge=0.0)
    assert charged < free * (1 - 1e-6)
    assert solve(view)[1] == pytest.approx(charged, rel=1e-9)


def test_the_charge_applies_only_when_the_accelerator_changes() -> None:
    view = view_of(phased_document("max_weighted", (1.0, 0.001, 10.0)))
    deployment, _ = solve(view)
    accs = list(deployment.accelerators)
    a, b = (next(x for x in accs if x.dnn == "mlp" and x.phase == p) for p in ("a", "b"))
    # phase b's shared accelerator as in phase a, moved (no charge), then with another
    # buffer share or bandwidth share (charged)
    same = b.model_copy(
        update={
            "rows": a.rows,
            "cols": a.cols,
            "buffer_steps": a.buffer_steps,
            "bandwidth_steps": a.bandwidth_steps,
            "row_offset": 0 if a.row_offset else a.rows,
        }
    )
    cases = [
        (same, 1.0),
        (same.model_copy(update={"buffer_steps": 2 if a.buffer_steps == 1 else 1}), 1 - B_CHARGE),
        (
            same.model_copy(update={"bandwidth_steps": 2 if a.bandwidth_steps == 1 else 1}),
            1 - B_CHARGE,
        ),
    ]
    for replacement, factor in cases:
        changed = deployment.model_copy(
            update={"accelerators": [replacement if x is b else x for x in accs]}
        )
        raw = measure(view, deployment.design, replacement).throughput_inferences_per_s
        headline = FORMULATION.headline(view, changed)
        assert headline["mlp_b_inferences_per_s"] == pytest.approx(raw * factor, rel=1e-3)


def test_static_partition_is_the_same_in_every_phase() -> None:
    view = view_of(phased_document("max_min_normalised", (1.0, 20.0, 1.0)))
    solver = make_solver(SolverSettings(mip_gap=1e-9))
    baselines = FORMULATION.baselines(view, solver, FORMULATION.solve(view, solver))
    static = next(b for b in baselines if b.name == "multi_clp_static_partition")
    assert static.deployment is not None
    shapes = {}
    for acc in static.deployment.accelerators:
        shapes.setdefault(acc.dnn, set()).add((acc.rows, acc.cols, acc.row_offset, acc.col_offset))
    assert all(len(s) == 1 for s in shapes.values()), shapes
    assert FORMULATION.verify(view, static.deployment).ok


def test_a_floor_no_accelerator_meets_in_one_phase_names_the_phase(tmp_path: Path) -> None:
    document = {"kind": "polymorphic", "name": "phased"} | phased_document(
        "max_min_normalised", (1.0, 20.0, 1.0)
    )
    document["phases"][1]["dnns"][1]["min_throughput_inferences_per_s"] = 1e6
    result = run_cli("solve", write_scenario(tmp_path / "high.toml", document))
    message = " ".join(result.stderr.split())
    assert result.exit_code == 3, message
    assert "in phase b: rnn needs 1e+06 inferences/s, at most" in message


BAD: list[tuple[str, Any, str, str]] = [
    (
        "unknown DNN",
        lambda d: d["phases"][0]["dnns"].append({"name": "vgg"}),
        "phases[0].dnns[2].name",
        "a name listed in dnns",
    ),
    (
        "no reconfiguration cost",
        lambda d: d.pop("reconfiguration_cycles"),
        "reconfiguration_cycles",
        "cycles lost",
    ),
    (
        "phase shorter than a reconfiguration",
        lambda d: d["phases"][1].update(duration_s=1e-4),
        "phases[1].duration_s",
        "longer than one reconfiguration",
    ),
    (
        "DNN in no phase",
        lambda d: d["phases"][1]["dnns"].pop(),
        "dnns",
        "every DNN in the dnns of some phase",
    ),
    (
        "duplicate phase",
        lambda d: d["phases"][1].update(name="a"),
        "phases",
        "distinct phase names",
    ),
]


@pytest.mark.parametrize(("case", "change", "key", "expected"), BAD, ids=[b[0] for b in BAD])
def test_bad_phase_input_exits_2_naming_the_key(
    tmp_path: Path, case: str, change: Any, key: str, expected: str
) -> None:
    document = {"kind": "polymorphic", "name": "phased"} | copy.deepcopy(
        phased_document("max_min_normalised", (1.0, 20.0, 1.0))
    )
    change(document)
    assert_input_error(tmp_path, document, key, expected)
