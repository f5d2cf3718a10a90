"""Seeded plan tampering (issue 18 item 6), for any kind's deployment.

Every field of a saved plan's deployment is mutated one at a time: deleted, null, wrong
types (no NaN: plans hold finite numbers and the engine refuses NaN tokens), zero,
negative, doubled, huge, empty or unknown names, flipped flags; every list emptied, its
first element dropped or repeated, every object given an unknown key. Where a list holds
several objects, which one a field mutation hits is seeded. Each mutant is checked with
``planner check`` against the plan's own scenario; ``outcomes`` returns the exit code per
mutation (an internal error, any exception that is not a :class:`PlannerError`, raises) and
whether the mutant still reads as the very same deployment (e.g. a deleted field that
held its default): only those are harmless by construction.
"""

from __future__ import annotations

import copy
import json
import random
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import ValidationError

import planner
from formulations.types import ExitCode, PlannerError

Mutation = Callable[[Any], None]
DELETED = object()
WRONG_TYPES: list[Any] = [None, 3, 2.5, True, [], {}, "ten"]
HUGE = 10**12  # far beyond any count, size or share a deployment holds


def _values(value: Any) -> Iterator[tuple[str, Any]]:
    """(how, new value) for one field: wrong types, then what fits the field's type."""
    for wrong in WRONG_TYPES:
        if type(wrong) is not type(value):
            yield f"type {type(wrong).__name__}", wrong
    yield "deleted", DELETED
    if isinstance(value, bool):
        yield "flipped", not value
    elif isinstance(value, int | float):
        yield from (("zero", 0), ("negative", -value if value else -1), ("doubled", 2 * value))
        yield "huge", HUGE
    elif isinstance(value, str):
        yield from (("empty", ""), ("unknown", "no-such-" + value), ("doubled", value * 2))


def _set(path: tuple[str | int, ...], new: Any) -> Mutation:
    def apply(document: Any) -> None:
        parent = document
        for key in path[:-1]:
            parent = parent[key]
        if new is DELETED:
            del parent[path[-1]]
        else:
            parent[path[-1]] = copy.deepcopy(new)

    return apply


def _at(path: tuple[str | int, ...], change: Callable[[Any], None]) -> Mutation:
    def apply(document: Any) -> None:
        target = document
        for key in path:
            target = target[key]
        change(target)

    return apply


def mutations(
    value: Any, rng: random.Random, path: tuple[str | int, ...] = ()
) -> Iterator[tuple[str, Mutation]]:
    """Every one-field mutation of ``value`` (a JSON deployment), named by its key path."""
    name = ".".join(map(str, path)) or "deployment"
    if isinstance(value, dict):
        yield f"{name} unknown key", _at(path, lambda d: d.update(no_such_key=1))
        for key, item in value.items():
            child = (*path, key)
            child_name = ".".join(map(str, child))
            for how, new in _values(item):
                yield f"{child_name} {how}", _set(child, new)
            if isinstance(item, dict | list):
                yield from mutations(item, rng, child)
    elif isinstance(value, list) and value:
        yield f"{name} first dropped", _at(path, lambda items: items.pop(0))
        yield f"{name} first repeated", _at(path, lambda items: items.append(items[0]))
        index = rng.randrange(len(value))
        child = (*path, index)
        if isinstance(value[index], dict | list):
            yield from mutations(value[index], rng, child)
        else:
            for how, new in _values(value[index]):
                if new is not DELETED:
                    yield f"{name}[{index}] {how}", _set(child, new)


@dataclass(frozen=True)
class Outcome:
    exit_code: ExitCode
    same_deployment: bool  # the mutant parses to a deployment equal to the original


def outcomes(
    plan: planner.Plan, scenario: planner.Scenario, folder: Path, seed: str
) -> dict[str, Outcome]:
    """``planner check``'s exit code for every mutation of ``plan``'s deployment."""
    original = json.loads(plan.to_json())
    model = scenario.formulation.deployment_model
    found: dict[str, Outcome] = {}
    for how, mutate in mutations(original["deployment"], random.Random(seed)):
        document = copy.deepcopy(original)
        mutate(document["deployment"])
        path = folder / "tampered.json"
        path.write_text(json.dumps(document))
        try:
            code = planner.check(path, scenario).exit_code
        except PlannerError as exc:
            code = exc.exit_code
        try:
            same = model.model_validate(document["deployment"]) == plan.deployment
        except ValidationError:
            same = False
        found[how] = Outcome(code, same)
    return found


def unexplained_passes(found: dict[str, Outcome], harmless: dict[str, str]) -> list[str]:
    """Mutations that passed (exit 0) without being the same deployment or listed in
    ``harmless`` (mutation -> why it is harmless)."""
    return sorted(
        how
        for how, o in found.items()
        if o.exit_code is ExitCode.OK and not o.same_deployment and how not in harmless
    )
