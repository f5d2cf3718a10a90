"""Tampered ddl plans (issue 18 item 6): every field of a saved plan's deployment mutated
one at a time, each mutant checked against the plan's own scenario with ``planner check``.

No mutant may pass (exit 0) or end in an internal error (exit 1): it must be refused as
input (exit 2: the deployment schema) or fail verification (exit 3: the verifier, or the
stated objective no longer matching). Every deployment field is something a user launches
(job, instance type, nodes, market), so no mutation here is harmless. The mutations:
deleted, null, wrong types (no NaN: plans hold finite numbers, the engine refuses NaN
tokens), negative, zero, doubled, empty, unknown names; the assignment list emptied,
an assignment dropped or repeated. Which assignment a field mutation hits is seeded.
"""

from __future__ import annotations

import copy
import json
import random
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

import planner
from formulations.types import ExitCode, PlannerError
from tests.conftest import run_cli
from tests.ddl.helpers import SCENARIOS

NAMES = sorted(p.stem for p in SCENARIOS.glob("*.toml"))
Mutation = Callable[[dict[str, Any]], None]
DELETED = object()

WRONG_TYPES: list[Any] = [None, 3, 2.5, True, [], {}, "ten"]


def field_values(key: str, value: Any) -> Iterator[tuple[str, Any]]:
    """(how, new value) for one field: wrong types, then what fits the field's kind."""
    for wrong in WRONG_TYPES:
        if type(wrong) is not type(value):
            yield f"type {type(wrong).__name__}", wrong
    yield "deleted", DELETED
    if isinstance(value, int):
        yield from (("zero", 0), ("negative", -value), ("doubled", 2 * value))
        yield from (("float", float(value)), ("text", str(value)))
    else:
        yield from (("empty", ""), ("doubled", value * 2), ("unknown", "no-such-" + value))
        yield from (("padded", f" {value}"), ("upper", value.upper()))


def mutations(deployment: dict[str, Any], rng: random.Random) -> Iterator[tuple[str, Mutation]]:
    assignments = deployment["assignments"]

    def setter(index: int, key: str, new: Any) -> Mutation:
        def apply(d: dict[str, Any]) -> None:
            if new is DELETED:
                del d["assignments"][index][key]
            else:
                d["assignments"][index][key] = new

        return apply

    for key in ("job", "instance_type", "nodes", "market"):
        index = rng.randrange(len(assignments))
        for how, new in field_values(key, assignments[index][key]):
            yield f"assignments[{index}].{key} {how}", setter(index, key, new)

    def replaced(new: Any) -> Mutation:
        return lambda d: d.update(assignments=new)

    for wrong in WRONG_TYPES:
        if wrong != []:
            yield f"assignments type {type(wrong).__name__}", replaced(wrong)
    yield "assignments empty", lambda d: d.update(assignments=[])
    yield "assignments deleted", lambda d: d.pop("assignments")
    yield "deployment extra key", lambda d: d.update(note="x")
    yield "assignments repeated", lambda d: d["assignments"].append(d["assignments"][0])
    yield "assignment extra key", lambda d: d["assignments"][0].update(note="x")
    yield "assignment dropped", lambda d: d["assignments"].pop(0)
    if len(assignments) > 1:
        other = assignments[1]["job"]
        yield "assignments[0].job another job's", setter(0, "job", other)


def exit_of(plan: Path, scenario: planner.Scenario) -> ExitCode:
    """What ``planner check`` exits with (any other exception is an internal error)."""
    try:
        return planner.check(plan, scenario).exit_code
    except PlannerError as exc:
        return exc.exit_code


@pytest.mark.parametrize("name", NAMES)
def test_no_tampered_plan_passes(name: str, tmp_path: Path) -> None:
    scenario = planner.load_scenario(SCENARIOS / f"{name}.toml")
    original = json.loads(planner.solve(scenario, baselines=False).to_json())
    rng = random.Random(f"ddl-tamper-{name}")
    outcomes: dict[str, ExitCode] = {}
    for how, mutate in mutations(original["deployment"], rng):
        document = copy.deepcopy(original)
        mutate(document["deployment"])
        path = tmp_path / "plan.json"
        path.write_text(json.dumps(document))
        outcomes[how] = exit_of(path, scenario)
    passed = sorted(how for how, code in outcomes.items() if code is ExitCode.OK)
    assert not passed, passed
    assert set(outcomes.values()) <= {ExitCode.INVALID_INPUT, ExitCode.INFEASIBLE}, outcomes
    assert len(outcomes) >= 45  # every field, every mutation
    # Both lines of defence are exercised: the schema and the verifier.
    assert ExitCode.INVALID_INPUT in outcomes.values()
    assert ExitCode.INFEASIBLE in outcomes.values()


def test_an_unknown_instance_type_is_a_violation_named_in_the_report(tmp_path: Path) -> None:
    scenario = SCENARIOS / "shared_quota.toml"
    document = json.loads(planner.solve(scenario, baselines=False).to_json())
    document["deployment"]["assignments"][1]["instance_type"] = "p9.huge"
    plan = tmp_path / "plan.json"
    plan.write_text(json.dumps(document))
    run = run_cli("check", str(plan), "--scenario", str(scenario), "--format", "json")
    assert run.exit_code == ExitCode.INFEASIBLE
    violations = json.loads(run.stdout)["violations"]
    assert "job vgg11 on 1 x p9.huge (spot): instance type not allowed by instance_types" in (
        violations
    )
