"""Exact two-objective Pareto fronts by the epsilon-constraint method.

The scenario optimises ``y`` (its own objective). A scenario key ``x_key`` bounds a second
metric ``x_metric`` of the plan (``jobs[0].deadline_h`` bounds ddl's ``latest_finish_h``;
an accuracy target bounds the accuracy a plan reaches). Solve; read the metric the plan
achieved; tighten the key just past it; repeat until the scenario is infeasible. Every
solve is a verified plan (:func:`planner.engine.solve`). With optimal solves the points
found, less the dominated ones, are the whole front: a front point with its metric between
the achieved value and the bound would be as good in ``y`` and no worse in the metric as
the plan found, so it is that plan's point.
"""

from __future__ import annotations

import copy
import math
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from formulations.tolerances import FEAS_ATOL, FEAS_RTOL, geq, leq, objective_matches
from formulations.types import InfeasibleError, InputError, Sense
from planner.engine import solve
from planner.plan import Plan, planner_version
from planner.scenario import scenario_from_dict
from planner.sweeps import key_text, parse_key, set_key

if TYPE_CHECKING:
    import pandas as pd

FRONT_SCHEMA_VERSION = 1  # the "pareto_schema_version" of a front written with -o
# default tightening past the achieved metric: twice the feasibility tolerance of every
# verifier (formulations/tolerances.py), so the new bound excludes the plan just found
# (metrics closer than this count as one point)
STEP_TOLERANCES = 2.0
MAX_SOLVES = 200  # default cap on the solves of one front

Bound = Literal["upper", "lower"]


@dataclass
class FrontPoint:
    """One solve: the bound it was given, the metric it reached and its objective."""

    bound: float
    x: float
    y: float
    plan: Plan
    dominated: bool = False

    def row(self) -> dict[str, Any]:
        return {
            "bound": self.bound,
            "x": self.x,
            "y": self.y,
            "status": self.plan.status.value,
            "gap": self.plan.gap if math.isfinite(self.plan.gap) else None,
            **{f"headline.{k}": v for k, v in self.plan.headline.items()},
        }


@dataclass
class Front:
    scenario: str
    x_key: str
    x_metric: str
    bound: Bound
    y_name: str
    y_unit: str
    y_sense: Sense
    solves: list[FrontPoint] = field(default_factory=list)
    stopped: str = ""  # why the last tightening ended (the infeasibility, or the cap)

    @property
    def points(self) -> list[FrontPoint]:
        """The nondominated points, best metric last."""
        kept = [p for p in self.solves if not p.dominated]
        return sorted(kept, key=lambda p: p.x, reverse=self.bound == "upper")

    def to_frame(self) -> pd.DataFrame:
        import pandas as pd

        return pd.DataFrame([p.row() for p in self.points])

    def to_dict(self) -> dict[str, Any]:
        return {
            "pareto_schema_version": FRONT_SCHEMA_VERSION,
            "scenario": self.scenario,
            "x_key": self.x_key,
            "x_metric": self.x_metric,
            "bound": self.bound,
            "y": self.y_name,
            "y_unit": self.y_unit,
            "y_sense": self.y_sense.value,
            "stopped": self.stopped,
            "solves": len(self.solves),
            "points": [{**p.row(), "plan": p.plan.to_dict()} for p in self.points],
            "planner_version": planner_version(),
        }


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        return None
    return float(value)


def _lookup(data: Any, parts: list[str | int]) -> Any:
    for part in parts:
        in_table = isinstance(data, dict) and isinstance(part, str) and part in data
        in_list = (
            isinstance(data, list) and isinstance(part, int) and -len(data) <= part < len(data)
        )
        if not (in_table or in_list):
            return None
        data = data[part]
    return data


def metric(plan: Plan, name: str) -> float:
    """A plan's metric: a headline key, or a key path into the plan's JSON
    (``deployment.windows[0].effective_accuracy``)."""
    value = plan.headline.get(name) if name in plan.headline else None
    if value is None:
        try:
            value = _lookup(plan.to_dict(), parse_key(name))
        except ValueError:
            value = None
    number = _number(value)
    if number is None:
        raise InputError(
            None,
            "--x-metric",
            f"a number the plan reports: a headline key ({', '.join(plan.headline)}) or a key "
            "path of the plan JSON",
            name,
        )
    return number


def _objective(plan: Plan, y: str) -> float:
    """The plan's value of ``y``, which must be what the scenario optimises."""
    objective = plan.objective
    if y in ("objective", objective.name):
        return objective.value
    value = _number(plan.headline.get(y))
    if value is None or not objective_matches(value, objective.value):
        raise InputError(
            None,
            "--y",
            f"the scenario's objective ({objective.name!r}, or 'objective', or a headline key "
            f"equal to it); set the scenario's objective to optimise {y!r}",
            y,
        )
    return value


def _mark_dominated(points: list[FrontPoint], bound: Bound, sense: Sense) -> None:
    """A point is dominated when another is no worse in both and better in one (ties in
    both keep the earliest solve)."""

    def better_x(a: float, b: float) -> bool:
        return a < b if bound == "upper" else a > b

    def better_y(a: float, b: float) -> bool:
        return a < b if sense is Sense.MINIMIZE else a > b

    for i, p in enumerate(points):
        for j, q in enumerate(points):
            if i == j:
                continue
            no_worse = not better_x(p.x, q.x) and not better_y(p.y, q.y)
            strictly = better_x(q.x, p.x) or better_y(q.y, p.y) or (j < i)
            if no_worse and strictly:
                p.dominated = True
                break


def pareto(
    scenario: str | Path,
    x_key: str,
    y: str = "objective",
    *,
    x_metric: str | None = None,
    bound: Bound = "upper",
    start: float | None = None,
    step: float | None = None,
    max_solves: int = MAX_SOLVES,
    **solver_overrides: Any,
) -> Front:
    """The front of ``y`` (the scenario's objective) against the metric ``x_key`` bounds.

    ``bound``: ``upper`` when the key is a ceiling on the metric (a deadline), ``lower``
    when it is a floor (an accuracy target). ``start``: the first bound (default: the
    scenario's value). ``step``: how far past the achieved metric to tighten (default
    twice the feasibility tolerance). ``solver_overrides`` as in :func:`planner.solve`."""
    path = Path(scenario)
    file = str(path)
    if not path.is_file():
        raise InputError(file, "(file)", "an existing scenario file (TOML)")
    try:
        document = tomllib.loads(path.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise InputError(file, "(syntax)", f"valid TOML ({exc})") from None
    try:
        parts = parse_key(x_key)
    except ValueError as exc:
        raise InputError(None, "--x", str(exc), x_key) from None
    current = start if start is not None else _number(_lookup(document, parts))
    if current is None:
        raise InputError(file, key_text(parts), "a number to start the front from (or --x-start)")
    name = x_metric or str(parts[-1])
    front: Front | None = None
    while True:
        changed = copy.deepcopy(document)
        try:
            set_key(changed, parts, current)
        except KeyError as exc:
            raise InputError(file, "--x", f"a key path of the scenario ({exc.args[0]})") from None
        try:
            plan = solve(scenario_from_dict(changed, path.parent, file), False, **solver_overrides)
        except InfeasibleError as exc:
            if front is None:
                raise
            front.stopped = str(exc)
            break
        if front is None:
            front = Front(
                file,
                key_text(parts),
                name,
                bound,
                y,
                plan.objective.unit,
                plan.objective.sense,
            )
        x = metric(plan, name)
        if not (leq(x, current) if bound == "upper" else geq(x, current)):
            raise InputError(
                None,
                "--x-metric",
                f"a metric {front.x_key} bounds from {'above' if bound == 'upper' else 'below'} "
                f"(the plan reaches {x:g} with the bound at {current:g}; try --bound "
                f"{'lower' if bound == 'upper' else 'upper'} or another --x-metric)",
                name,
            )
        front.solves.append(FrontPoint(current, x, _objective(plan, y), plan))
        if len(front.solves) >= max_solves:
            front.stopped = f"stopped after {max_solves} solves (--max-solves)"
            break
        gap = step if step is not None else STEP_TOLERANCES * (FEAS_ATOL + FEAS_RTOL * abs(x))
        current = x - gap if bound == "upper" else x + gap
    assert front is not None  # the first solve either made it or raised
    _mark_dominated(front.solves, bound, front.y_sense)
    return front


__all__ = ["FRONT_SCHEMA_VERSION", "Front", "FrontPoint", "metric", "pareto"]
