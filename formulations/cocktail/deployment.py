"""The Cocktail deployment (per interval: each class's ensemble and routing, and the VM
pools) and reading it off a solved MILP.

The schema is strict (a stored plan is input to ``planner check``): names are non-empty
strings, VM counts non-negative integers (no floats, strings or booleans), rates finite and
non-negative; every field is one a user deploys from and the verifier checks
(``verify.py``), except ``policy``, which is one of the names of :data:`POLICIES`.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field

from formulations.cocktail.milp import CocktailMilp
from formulations.cocktail.view import CocktailView
from formulations.tolerances import NOISE
from formulations.types import SolveResult

Policy = Literal[
    "milp", "infaas", "infaas_spot", "infaas_cocktail", "clipper_all_models", "cocktail"
]
"""What produced a deployment: the MILP or one of the baselines (``baselines.py``)."""

Name = Annotated[str, Field(min_length=1)]


class Pool(BaseModel):
    """VMs of one instance type serving one model."""

    model_config = ConfigDict(extra="forbid", strict=True)

    model: Name
    instance_type: Name
    on_demand: int = Field(ge=0)
    spot: int = Field(ge=0)


class Route(BaseModel):
    """Requests/s of one class sent to one model's pool on one instance type."""

    model_config = ConfigDict(extra="forbid", strict=True)

    model: Name
    instance_type: Name
    qps: float = Field(ge=0, allow_inf_nan=False)


class ClassPlan(BaseModel):
    """One class's ensemble (its members all see every request) and its routes."""

    model_config = ConfigDict(extra="forbid", strict=True)

    name: Name
    members: list[Name] = Field(min_length=1)
    routes: list[Route]


class IntervalPlan(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)

    classes: list[ClassPlan] = Field(min_length=1)
    pools: list[Pool]


class CocktailDeployment(BaseModel):
    """Per interval: each class's ensemble and routing, and the VM pools. ``policy`` names
    what produced it (``milp`` or a baseline)."""

    model_config = ConfigDict(extra="forbid", strict=True)

    policy: Policy = "milp"
    intervals: list[IntervalPlan] = Field(min_length=1)


def read_intervals(
    view: CocktailView, milp: CocktailMilp, result: SolveResult
) -> list[IntervalPlan]:
    """The interval plans a solved model describes."""
    x = milp.x.values(result)
    y = milp.y.values(result)
    n = milp.n.values(result)
    s = milp.s.values(result) if milp.s is not None else None
    weight = {key: float(x[j]) for j, key in enumerate(milp.x_keys)}
    routes: dict[tuple[int, int], list[tuple[int, int, float]]] = {}
    for j, (t, k, m, i) in enumerate(milp.y_keys):
        routes.setdefault((t, k), []).append((m, i, float(y[j])))
    pools: dict[int, list[Pool]] = {t: [] for t in milp.intervals}
    for j, (t, m, i) in enumerate(milp.pool_keys):
        od, sp = round(float(n[j])), round(float(s[j])) if s is not None else 0
        if od or sp:
            pools[t].append(
                Pool(model=view.models[m], instance_type=view.instances[i], on_demand=od, spot=sp)
            )
    intervals = []
    for t in milp.intervals:
        classes = []
        for k, ens in enumerate(milp.ensembles):
            chosen = ens[max(range(len(ens)), key=lambda e: weight[(t, k, e)])]
            # routes to models outside the chosen ensemble are integrality noise (x ~ 1e-10)
            kept = [
                Route(model=view.models[m], instance_type=view.instances[i], qps=q)
                for m, i, q in routes.get((t, k), [])
                if m in chosen and q > NOISE
            ]
            classes.append(
                ClassPlan(
                    name=view.classes[k].name,
                    members=[view.models[m] for m in chosen],
                    routes=kept,
                )
            )
        intervals.append(IntervalPlan(classes=classes, pools=pools[t]))
    return intervals
