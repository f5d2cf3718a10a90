"""Backends agree; bad input exits 2 naming file and key; infeasible floors exit 3 with
what cannot be met; the CLI solves a shipped scenario to JSON."""

from __future__ import annotations

import copy
import json
import math
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from formulations.polymorphic import FORMULATION
from formulations.types import SolverError, SolverSettings
from planner.backends import make_solver
from tests.conftest import run_cli, write_scenario
from tests.polymorphic.helpers import assert_input_error, random_document, tiny_scenario, view_of


@pytest.mark.parametrize("seed", [0, 3])
def test_backends_agree(seed: int) -> None:
    view = view_of(random_document(seed, 3))
    objectives = {}
    backends = ["highs", "cbc", "scip"]
    if view.inputs.objective.value == "max_weighted":
        backends.append("cpsat")  # pure integer (milp docstring)
    for backend in backends:
        solution = FORMULATION.solve(
            view, make_solver(SolverSettings(backend=backend, mip_gap=1e-9))
        )
        verification = FORMULATION.verify(view, solution.deployment)
        assert verification.ok, (backend, verification.violations)
        objectives[backend] = verification.objective_value
    assert objectives["highs"] > 0
    for backend, value in objectives.items():
        assert value == pytest.approx(objectives["highs"], rel=1e-6), (backend, objectives)


def test_cpsat_refuses_the_max_min_model() -> None:
    view = view_of(random_document(3, 2) | {"objective": "max_min_normalised"})
    with pytest.raises(SolverError, match="continuous variables"):
        FORMULATION.solve(view, make_solver(SolverSettings(backend="cpsat")))


def _set(path: str, value: Any) -> Callable[[dict[str, Any]], None]:
    def change(document: dict[str, Any]) -> None:
        *parents, last = path.split(".")
        target: Any = document
        for key in parents:
            target = target[int(key)] if key.isdigit() else target[key]
        target[last] = value

    return change


BAD = [
    ("array not divisible by the tile", _set("array.cols", 36), "array", "tile (8) must divide"),
    ("unknown network", _set("dnns.0.network", "alexnet"), "dnns[0].network", "resnet50"),
    ("negative bandwidth", _set("array.dram_gb_per_s", -3.0), "array.dram_gb_per_s", "greater"),
    ("infinite buffer", _set("array.buffer_mib", math.inf), "array.buffer_mib", "finite"),
    (
        "infinite floor",
        _set("dnns.1.min_throughput_inferences_per_s", math.inf),
        "dnns[1].min_throughput_inferences_per_s",
        "finite",
    ),
    ("zero weight", _set("dnns.2.weight", 0.0), "dnns[2].weight", "greater than or equal to"),
    (
        "pod off the grid",
        _set("pod", 12),
        "pod",
        "a multiple of the tile (8) dividing rows (32) and cols (32)",
    ),
    ("duplicate names", _set("dnns.1.name", "cnn"), "dnns", "distinct DNN names"),
    ("unknown key", _set("array.banks", 4), "array.banks", ""),
    ("unknown objective", _set("objective", "max_sum"), "objective", "max_min_normalised"),
]


@pytest.mark.parametrize(("case", "change", "key", "expected"), BAD, ids=[b[0] for b in BAD])
def test_bad_input_exits_2_naming_file_and_key(
    tmp_path: Path, case: str, change: Callable[[dict[str, Any]], None], key: str, expected: str
) -> None:
    document = copy.deepcopy(tiny_scenario())
    change(document)
    assert_input_error(tmp_path, document, key, expected)


def test_a_floor_above_the_whole_array_is_named(tmp_path: Path) -> None:
    document = tiny_scenario()
    document["dnns"][2]["min_throughput_inferences_per_s"] = 1e6
    result = run_cli("solve", write_scenario(tmp_path / "high.toml", document))
    message = " ".join(result.stderr.split())
    assert result.exit_code == 3, message
    assert "rnn needs 1e+06 inferences/s, at most" in message
    assert "on the whole array in polymorphic" in message


def test_floors_that_only_fail_together_name_the_resource(tmp_path: Path) -> None:
    document = tiny_scenario()
    view = view_of({k: v for k, v in document.items() if k not in ("kind", "name", "solver")})
    # every DNN at 90% of its best rate needs most of the bandwidth: together they cannot
    for j, dnn in enumerate(view.inputs.dnns):
        best = max(c.throughput_inferences_per_s for c in view.pareto["polymorphic"][dnn.name])
        document["dnns"][j]["min_throughput_inferences_per_s"] = 0.9 * best
    result = run_cli("solve", write_scenario(tmp_path / "together.toml", document))
    message = " ".join(result.stderr.split())
    assert result.exit_code == 3, message
    assert "the throughput floors (cnn " in message
    assert "together," in message and "available" in message


def test_cli_solves_to_json(tmp_path: Path) -> None:
    path = write_scenario(tmp_path / "tiny.toml", tiny_scenario())
    result = run_cli("solve", path, "--format", "json")
    assert result.exit_code == 0, result.stderr
    plan = json.loads(result.stdout)
    assert plan["kind"] == "polymorphic" and plan["status"] == "optimal"
    accelerators = plan["deployment"]["accelerators"]
    assert [a["dnn"] for a in accelerators] == ["cnn", "mlp", "rnn"]
    weights = {d["name"]: d.get("weight", 1.0) for d in tiny_scenario()["dnns"]}
    rates = {n: plan["headline"][f"{n}_inferences_per_s"] for n in weights}
    assert plan["objective"] == pytest.approx(min(rates[n] / weights[n] for n in weights), rel=1e-3)
    assert set(plan["baselines"]) == {
        "monolithic_flexible_dataflow",
        "multi_clp_static_partition",
        "planaria_pod_fission",
    }
    assert all(b["status"] == "feasible" for b in plan["baselines"].values())
