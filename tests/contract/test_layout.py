"""Every registered formulation package has the one layout (docs/adding_a_formulation.md)."""

from __future__ import annotations

import ast
import importlib
import re
from pathlib import Path

import pytest

from formulations.types import Formulation
from planner.registry import KINDS

ROOT = Path(__file__).resolve().parents[2]
REQUIRED = {
    "__init__.py": "registration only: FORMULATION = <Kind>Formulation()",
    "inputs.py": "the scenario schema (pydantic, extra='forbid')",
    "view.py": "the cost-model view and prepare(inputs) -> view",
    "milp.py": "the math docstring and the code that builds the MILP",
    "deployment.py": "the deployment schema (pydantic, JSON round trip)",
    "verify.py": "the independent verifier",
    "baselines.py": "the baselines, each citing the system it follows",
    "tables.py": "tables for people",
    "formulation.py": "the Formulation subclass (thin: wires the stages)",
}
MATH_SECTIONS = ("Sets", "Parameters", "Variables", "Constraints", "Objective")
# the engine owns timing and caching; formulations never print and never import PuLP
FORBIDDEN = {
    r"\bperf_counter\b|\bimport time\b": "timing (the engine times every stage)",
    r"\bprint\(": "printing (formulations return tables and warnings)",
    r"^\s*(import pulp|from pulp)": "PuLP (build with formulations.model.Model)",
    r"\bcached_property\b|@cache\b|lru_cache|PrivateAttr": "a cache (prepare runs once)",
}
# (package file, what) -> why the line is not what the rule guards against
ALLOWED = {
    ("pifs/deployment.py", "a cache (prepare runs once)"): (
        "a baseline's placement held as arrays (deployment.in_memory) instead of millions "
        "of rows: the arrays are the deployment, not a memo of something computed again"
    ),
}


def package(kind: str) -> Path:
    return ROOT / Path(*KINDS[kind].split("."))


@pytest.mark.parametrize("kind", sorted(KINDS))
def test_package_has_every_required_file(kind: str) -> None:
    missing = [name for name in REQUIRED if not (package(kind) / name).is_file()]
    assert not missing, f"{KINDS[kind]} lacks {missing}: " + "; ".join(
        f"{m}: {REQUIRED[m]}" for m in missing
    )


@pytest.mark.parametrize("kind", sorted(KINDS))
def test_init_holds_only_the_registration(kind: str) -> None:
    tree = ast.parse((package(kind) / "__init__.py").read_text())
    for node in tree.body:
        if isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant):
            continue  # the docstring
        if isinstance(node, ast.ImportFrom) and node.module == f"{KINDS[kind]}.formulation":
            continue
        if isinstance(node, ast.Assign) and [
            t.id for t in node.targets if isinstance(t, ast.Name)
        ] in (
            ["FORMULATION"],
            ["__all__"],
        ):
            continue
        pytest.fail(f"{KINDS[kind]}/__init__.py line {node.lineno}: only the registration")


@pytest.mark.parametrize("kind", sorted(KINDS))
def test_milp_states_its_math(kind: str) -> None:
    doc = ast.get_docstring(ast.parse((package(kind) / "milp.py").read_text())) or ""
    missing = [s for s in MATH_SECTIONS if not re.search(rf"^{s}\b", doc, re.MULTILINE)]
    assert not missing, f"{KINDS[kind]}/milp.py docstring lacks sections {missing}"


@pytest.mark.parametrize("kind", sorted(KINDS))
def test_formulation_is_registered_and_complete(kind: str) -> None:
    module = importlib.import_module(KINDS[kind])
    formulation = module.FORMULATION
    assert isinstance(formulation, Formulation)
    assert formulation.kind == kind
    assert type(formulation).__module__ == f"{KINDS[kind]}.formulation"
    for attribute in ("inputs_model", "deployment_model", "objective"):
        assert hasattr(type(formulation), attribute), attribute
    assert (ROOT / "scenarios" / kind).is_dir() and any((ROOT / "scenarios" / kind).glob("*.toml"))
    assert (ROOT / "tests" / kind).is_dir()
    assert (ROOT / "cost_models" / kind / "__init__.py").is_file()


@pytest.mark.parametrize("kind", sorted(KINDS))
def test_package_leaves_shared_stages_to_the_engine(kind: str) -> None:
    found = []
    for path in sorted(package(kind).glob("*.py")):
        for number, line in enumerate(path.read_text().splitlines(), 1):
            for pattern, what in FORBIDDEN.items():
                if re.search(pattern, line) and (f"{kind}/{path.name}", what) not in ALLOWED:
                    found.append(f"{path.name}:{number}: {what}")
    assert not found, "\n".join(found)
