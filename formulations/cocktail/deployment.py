"""The Cocktail deployment (per interval: each class's ensemble and routing, and the VM
pools) and reading it off a solved MILP."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict

from formulations.cocktail.milp import CocktailMilp
from formulations.cocktail.view import CocktailView
from formulations.tolerances import NOISE
from formulations.types import SolveResult


class Pool(BaseModel):
    """VMs of one instance type serving one model."""

    model_config = ConfigDict(extra="forbid")

    model: str
    instance_type: str
    on_demand: int
    spot: int


class Route(BaseModel):
    """Requests/s of one class sent to one model's pool on one instance type."""

    model_config = ConfigDict(extra="forbid")

    model: str
    instance_type: str
    qps: float


class ClassPlan(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str
    members: list[str]
    routes: list[Route]


class IntervalPlan(BaseModel):
    model_config = ConfigDict(extra="forbid")

    classes: list[ClassPlan]
    pools: list[Pool]


class CocktailDeployment(BaseModel):
    """Per interval: each class's ensemble and routing, and the VM pools. ``policy`` names
    what produced it (``milp`` or a baseline)."""

    model_config = ConfigDict(extra="forbid")

    policy: str = "milp"
    intervals: list[IntervalPlan]


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
