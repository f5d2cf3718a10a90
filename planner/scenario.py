"""Load and validate scenario files (TOML).

A scenario file holds ``kind`` (which formulation), optional ``name`` and ``description``,
an optional ``[solver]`` table (:class:`formulations.types.SolverSettings`), and the
formulation's own keys, validated by its pydantic ``inputs_model``. Every problem is
reported as one :class:`formulations.types.InputError` naming the file, the key path and
what was expected.
"""

from __future__ import annotations

import hashlib
import json
import tomllib
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ValidationError

from cost_models.errors import DataError
from formulations.types import Formulation, InputError, SolverSettings
from planner.registry import formulation_for

ENGINE_KEYS = ("kind", "name", "description", "solver")


@dataclass(frozen=True)
class Scenario:
    """A validated scenario, ready to plan."""

    kind: str
    name: str
    description: str
    solver: SolverSettings
    inputs: BaseModel
    formulation: Formulation[Any, Any, Any]
    sha256: str
    path: Path | None = None
    # the parsed document (JSON-safe), stored in plans so that planner check can rebuild
    # the scenario a plan was made for
    document: dict[str, Any] = field(default_factory=dict, compare=False, repr=False)
    base_dir: Path = Path(".")  # relative data paths are resolved against this folder
    # the engine's per-scenario cache (the formulation's prepared view); copies made by
    # with_solver share it, since the view does not depend on solver settings
    cache: dict[str, Any] = field(default_factory=dict, compare=False, repr=False)

    def with_solver(self, **overrides: Any) -> Scenario:
        """A copy with some ``[solver]`` settings replaced (e.g. from the command line)."""
        values = {k: v for k, v in overrides.items() if v is not None}
        if not values:
            return self
        merged = {**self.solver.model_dump(), **values}
        settings = _validate(
            SolverSettings, merged, str(self.path) if self.path else None, prefix=("solver",)
        )
        return replace(self, solver=settings)


def _key_path(loc: tuple[int | str, ...]) -> str:
    text = ""
    for part in loc:
        if isinstance(part, int):
            text += f"[{part}]"
        else:
            text += f".{part}" if text else str(part)
    return text or "(top level)"


def _expected(error: Mapping[str, Any]) -> str:
    kind = error["type"]
    if kind == "missing":
        return "this key (it is required)"
    if kind == "extra_forbidden":
        return "no such key (unknown key; check its spelling)"
    message = str(error["msg"])
    for prefix in ("Value error, ", "Assertion failed, "):
        message = message.removeprefix(prefix)
    return message[0].lower() + message[1:] if message else kind


def _validate(
    model: type[BaseModel],
    data: Any,
    file: str | None,
    prefix: tuple[str, ...] = (),
    context: dict[str, Any] | None = None,
) -> Any:
    try:
        return model.model_validate(data, context=context)
    except ValidationError as exc:
        errors = exc.errors()
        first = errors[0]
        got = first.get("input") if first["type"] not in ("missing",) else None
        if isinstance(got, dict | list):
            got = None
        error = InputError(file, _key_path(prefix + tuple(first["loc"])), _expected(first), got)
        if len(errors) > 1:
            others = "; ".join(
                f"{_key_path(prefix + tuple(e['loc']))}: expected {_expected(e)}"
                for e in errors[1:5]
            )
            more = f" (+{len(errors) - 5} more)" if len(errors) > 5 else ""
            error.args = (f"{error.args[0]}\n  also: {others}{more}",)
        raise error from None
    except InputError as exc:
        raise exc.located(file) from None
    except DataError as exc:
        raise InputError(exc.file or file, exc.key, exc.expected) from None


def _data_files(value: Any) -> Iterator[Path]:
    """Every file the validated inputs refer to (paths inside folders included)."""
    if isinstance(value, Path):
        if value.is_dir():
            yield from sorted(p for p in value.rglob("*") if p.is_file())
        elif value.is_file():
            yield value
    elif isinstance(value, BaseModel):
        for name in type(value).model_fields:
            yield from _data_files(getattr(value, name))
    elif isinstance(value, dict):
        for item in value.values():
            yield from _data_files(item)
    elif isinstance(value, list | tuple):
        for item in value:
            yield from _data_files(item)


def content_hash(document: Mapping[str, Any], inputs: BaseModel) -> str:
    """SHA-256 of the scenario's content: its keys and values (not its formatting or
    comments) and the bytes of every data file it refers to."""
    digest = hashlib.sha256()
    digest.update(json.dumps(document, sort_keys=True, default=str).encode())
    for path in _data_files(inputs):
        digest.update(path.name.encode())
        digest.update(hashlib.sha256(path.read_bytes()).digest())
    return digest.hexdigest()


def scenario_from_dict(
    document: Mapping[str, Any], base_dir: Path | str = ".", file: str | None = None
) -> Scenario:
    """Validate a scenario given as a dict (the parsed TOML)."""
    if not isinstance(document, Mapping):
        raise InputError(file, "(top level)", "a table of keys")
    formulation = formulation_for(document.get("kind"), file)
    for key in ("name", "description"):
        if key in document and not isinstance(document[key], str):
            raise InputError(file, key, "a string", document[key])
    if "name" in document and not document["name"].strip():
        # an empty name labels every plan, report and sweep row with nothing (issue 19)
        raise InputError(
            file, "name", "a non-empty name (or no name key: the file's stem is used)", ""
        )
    solver = _validate(SolverSettings, document.get("solver", {}), file, prefix=("solver",))
    body = {k: v for k, v in document.items() if k not in ENGINE_KEYS}
    inputs = _validate(
        formulation.inputs_model, body, file, context={"base_dir": Path(base_dir), "file": file}
    )
    name = document.get("name") or (Path(file).stem if file else formulation.kind)
    return Scenario(
        kind=formulation.kind,
        name=name,
        description=document.get("description", ""),
        solver=solver,
        inputs=inputs,
        formulation=formulation,
        sha256=content_hash(document, inputs),
        path=Path(file) if file else None,
        document=json.loads(json.dumps(document, default=str)),
        base_dir=Path(base_dir),
    )


def load_scenario(
    path: str | Path, overrides: Mapping[str, Any] | None = None, source: str = "overrides"
) -> Scenario:
    """Read, parse and validate a scenario file.

    ``overrides`` replace top-level formulation keys before validation (e.g. the CLI's
    ``--no-degrade`` sets ``degrade = false``); a key the scenario's kind does not have is
    an input error naming ``source`` (the flag that set it).
    """
    path = Path(path)
    file = str(path)
    if not path.is_file():
        raise InputError(file, "(file)", "an existing scenario file (TOML)")
    try:
        document = tomllib.loads(path.read_text(encoding="utf-8"))
    except UnicodeDecodeError:
        raise InputError(file, "(file)", "UTF-8 text") from None
    except tomllib.TOMLDecodeError as exc:
        raise InputError(file, "(syntax)", f"valid TOML ({exc})") from None
    if overrides:
        formulation = formulation_for(document.get("kind"), file)
        unknown = [k for k in overrides if k not in formulation.inputs_model.model_fields]
        if unknown:
            raise InputError(
                file,
                source,
                f"a scenario whose kind has {', '.join(unknown)} (not {formulation.kind!r})",
            )
        document = {**document, **overrides}
    return scenario_from_dict(document, base_dir=path.parent, file=file)
