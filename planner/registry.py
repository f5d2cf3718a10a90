"""Which formulation serves which scenario ``kind``. Formulations are imported lazily."""

from __future__ import annotations

import importlib
from typing import Any, cast

from formulations.types import Formulation, InputError

# kind -> module that defines ``FORMULATION`` (an instance of formulations.types.Formulation)
KINDS: dict[str, str] = {
    "proteus": "formulations.proteus",
    "ppipe": "formulations.ppipe",
    "cocktail": "formulations.cocktail",
    "pifs": "formulations.pifs",
    "ddl": "formulations.ddl",
    "batch": "formulations.batch",
    "polymorphic": "formulations.polymorphic",
    "llm": "formulations.llm",
    "cellular": "formulations.cellular",
}


def formulation_for(kind: object, file: str | None = None) -> Formulation[Any, Any, Any]:
    if not isinstance(kind, str) or kind not in KINDS:
        raise InputError(file, "kind", f"one of {', '.join(KINDS)}", kind)
    module = importlib.import_module(KINDS[kind])
    return cast(Formulation[Any, Any, Any], module.FORMULATION)
