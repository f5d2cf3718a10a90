"""What changed between two plans (``planner diff OLD.json NEW.json``), for people and CI.

Works for every kind without knowing its deployment schema: deployments are flattened to
key paths, and a list of objects (placements, pools, routes, VMs) is keyed by each item's
text fields (e.g. ``placements[T4/resnet/resnet50].devices``), so a reordered list shows no
change and a changed count shows as one row.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from formulations.types import InputError

Scalar = str | int | float | bool | None


@dataclass(frozen=True)
class Change:
    path: str
    old: Scalar
    new: Scalar

    @property
    def kind(self) -> str:
        if self.old is None and self.new is not None:
            return "added"
        if self.new is None and self.old is not None:
            return "removed"
        return "changed"

    @property
    def delta(self) -> float | None:
        numbers = (int, float)
        if (
            isinstance(self.old, numbers)
            and isinstance(self.new, numbers)
            and not isinstance(self.old, bool)
            and not isinstance(self.new, bool)
        ):
            return float(self.new) - float(self.old)
        return None


@dataclass(frozen=True)
class PlanDiff:
    old_path: str
    new_path: str
    kind: str
    objective_name: str
    objective_unit: str
    old_objective: float
    new_objective: float
    scenario_changed: bool
    changes: list[Change]

    @property
    def objective_change_pct(self) -> float | None:
        if self.old_objective == 0:
            return None
        return 100.0 * (self.new_objective - self.old_objective) / abs(self.old_objective)

    def to_dict(self) -> dict[str, Any]:
        return {
            "old": self.old_path,
            "new": self.new_path,
            "kind": self.kind,
            "objective_name": self.objective_name,
            "objective_unit": self.objective_unit,
            "old_objective": self.old_objective,
            "new_objective": self.new_objective,
            "objective_change_pct": self.objective_change_pct,
            "scenario_changed": self.scenario_changed,
            "changes": [
                {"path": c.path, "kind": c.kind, "old": c.old, "new": c.new, "delta": c.delta}
                for c in self.changes
            ],
        }


def _item_key(item: dict[str, Any], index: int) -> str:
    text = [str(v) for v in item.values() if isinstance(v, str)]
    return "/".join(text) if text else str(index)


def flatten(value: Any, prefix: str = "") -> Iterator[tuple[str, Scalar]]:
    """Every scalar of a JSON value with its key path (an item keyed by its text fields
    leaves them out: they are in its path)."""
    if isinstance(value, dict):
        for key in sorted(value):
            yield from flatten(value[key], f"{prefix}.{key}" if prefix else str(key))
    elif isinstance(value, list):
        if value and all(isinstance(v, dict) for v in value):
            keys = [_item_key(v, i) for i, v in enumerate(value)]
            keyed = len(set(keys)) == len(keys)
            if not keyed:  # the text fields do not identify the items: use positions
                keys = [str(i) for i in range(len(value))]
            for key, item in zip(keys, value, strict=True):
                rest = {k: v for k, v in item.items() if not (keyed and isinstance(v, str))}
                yield from flatten(rest, f"{prefix}[{key}]")
        else:
            for i, item in enumerate(value):
                yield from flatten(item, f"{prefix}[{i}]")
    else:
        yield prefix, value


def _same(a: Scalar, b: Scalar) -> bool:
    if isinstance(a, float) and isinstance(b, float | int) and not isinstance(b, bool):
        return math.isclose(a, float(b), rel_tol=1e-9, abs_tol=1e-12)
    return a == b


def diff_plans(old: dict[str, Any], new: dict[str, Any], old_path: str, new_path: str) -> PlanDiff:
    """The changes from plan ``old`` to plan ``new`` (both read and validated plan files)."""
    if old["kind"] != new["kind"]:
        raise InputError(new_path, "kind", f"{old['kind']!r} (the kind of {old_path})", new["kind"])
    before = dict(flatten({"deployment": old["deployment"], "headline": old.get("headline", {})}))
    after = dict(flatten({"deployment": new["deployment"], "headline": new.get("headline", {})}))
    changes = [
        Change(path, before.get(path), after.get(path))
        for path in sorted(set(before) | set(after))
        if not _same(before.get(path), after.get(path))
    ]
    return PlanDiff(
        old_path=old_path,
        new_path=new_path,
        kind=new["kind"],
        objective_name=str(new.get("objective_name", "objective")),
        objective_unit=str(new.get("objective_unit", "")),
        old_objective=float(old["objective"]),
        new_objective=float(new["objective"]),
        scenario_changed=old["scenario"]["sha256"] != new["scenario"]["sha256"],
        changes=changes,
    )


def diff_files(old_path: str | Path, new_path: str | Path) -> PlanDiff:
    """Read two plan files (validated as ``planner check`` validates them) and diff them."""
    from planner.engine import read_plan

    return diff_plans(
        read_plan(Path(old_path)), read_plan(Path(new_path)), str(old_path), str(new_path)
    )


def markdown(d: PlanDiff) -> str:
    """The diff as a Markdown comment for a pull request."""
    change = d.objective_change_pct
    lines = [
        f"### planner diff: `{d.old_path}` -> `{d.new_path}` ({d.kind})",
        "",
        f"**{d.objective_name}**: {d.old_objective:.6g} -> {d.new_objective:.6g} "
        f"{d.objective_unit}" + (f" ({change:+.2f}%)" if change is not None else ""),
        "",
        "scenario changed: " + ("yes" if d.scenario_changed else "no"),
        "",
    ]
    if not d.changes:
        return "\n".join([*lines, "No change in the deployment.", ""])
    lines += ["| what | change | old | new |", "| --- | --- | --- | --- |"]
    lines += [f"| `{c.path}` | {c.kind} | {c.old} | {c.new} |" for c in d.changes]
    return "\n".join([*lines, ""])
