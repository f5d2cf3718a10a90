"""A tiny formulation written against the contract, for testing the engine's stages.

Knapsack: choose integer counts ``n[i]`` of items (value ``value_usd``, weight
``weight_kg``) within ``capacity_kg`` to maximise the total value, serving at least
``min_value_usd``. Baseline: the greedy rule by value density.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from formulations.model import Model, lin_sum
from formulations.tolerances import is_integral, leq
from formulations.types import (
    BaselineRun,
    Certificate,
    Formulation,
    MilpSolver,
    ObjectiveSpec,
    Sense,
    Solution,
    Table,
    Verification,
    require_solution,
    run_baseline,
)


class Item(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str
    value_usd: float = Field(gt=0)
    weight_kg: float = Field(gt=0)
    max_count: int = Field(3, ge=0)


class ToyInputs(BaseModel):
    model_config = ConfigDict(extra="forbid")
    items: list[Item]
    capacity_kg: float = Field(gt=0)
    min_value_usd: float = 0.0


class ToyDeployment(BaseModel):
    counts: dict[str, int]


@dataclass(frozen=True)
class ToyView:
    inputs: ToyInputs
    density: dict[str, float]


class ToyFormulation(Formulation[ToyInputs, ToyView, ToyDeployment]):
    kind = "toy"
    inputs_model = ToyInputs
    deployment_model = ToyDeployment
    objective = ObjectiveSpec("value", "USD", Sense.MAXIMIZE)
    prepared = 0

    def prepare(self, inputs: ToyInputs) -> ToyView:
        type(self).prepared += 1
        return ToyView(inputs, {i.name: i.value_usd / i.weight_kg for i in inputs.items})

    def solve(self, view: ToyView, solver: MilpSolver) -> Solution[ToyDeployment]:
        items = view.inputs.items
        model = Model("toy", Sense.MAXIMIZE)
        n = model.add_variables(
            "n",
            [i.name for i in items],
            upper=[i.max_count for i in items],
            integer=True,
            cost=[i.value_usd for i in items],
        )
        model.add_constraint(
            "capacity", lin_sum(i.weight_kg * n[i.name] for i in items) <= view.inputs.capacity_kg
        )
        model.add_constraint(
            "min_value",
            lin_sum(i.value_usd * n[i.name] for i in items) >= view.inputs.min_value_usd,
        )
        result = require_solution(solver.solve(model), context="capacity")
        counts = {str(k): round(v) for k, v in n.value_map(result).items()}
        return Solution(ToyDeployment(counts=counts), Certificate.of(result))

    def verify(self, view: ToyView, deployment: ToyDeployment) -> Verification:
        items = {i.name: i for i in view.inputs.items}
        violations = [f"unknown item {k}" for k in deployment.counts if k not in items]
        known = {k: c for k, c in deployment.counts.items() if k in items}
        weight = sum(items[k].weight_kg * c for k, c in known.items())
        value = sum(items[k].value_usd * c for k, c in known.items())
        if not leq(weight, view.inputs.capacity_kg):
            violations.append(f"capacity: {weight} kg > {view.inputs.capacity_kg} kg")
        for k, c in known.items():
            if not is_integral(c) or c < 0 or c > items[k].max_count:
                violations.append(f"count of {k}: {c} outside 0..{items[k].max_count}")
        return Verification(value, violations)

    def tables(self, view: ToyView, deployment: ToyDeployment) -> list[Table]:
        return [Table("Items", ["item", "count"], [[k, c] for k, c in deployment.counts.items()])]

    def headline(self, view: ToyView, deployment: ToyDeployment) -> dict[str, Any]:
        return {"items": sum(deployment.counts.values())}

    def baselines(
        self, view: ToyView, solver: MilpSolver, solution: Solution[ToyDeployment]
    ) -> list[BaselineRun[ToyDeployment]]:
        return [
            run_baseline("greedy", "value density first", lambda: _greedy(view)),
            run_baseline("overfull", "every item at its maximum", lambda: _overfull(view)),
            run_baseline("nothing", "finds no plan", lambda: None, "no rule applies"),
        ]

    def explain_infeasible(self, view: ToyView, context: Any) -> str:
        return f"{context}: min_value_usd = {view.inputs.min_value_usd:g} cannot be reached"


def _greedy(view: ToyView) -> ToyDeployment:
    left = view.inputs.capacity_kg
    counts: dict[str, int] = {}
    for item in sorted(view.inputs.items, key=lambda i: -view.density[i.name]):
        take = min(item.max_count, int(left // item.weight_kg))
        counts[item.name] = take
        left -= take * item.weight_kg
    return ToyDeployment(counts=counts)


def _overfull(view: ToyView) -> ToyDeployment:
    return ToyDeployment(counts={i.name: i.max_count for i in view.inputs.items})


FORMULATION = ToyFormulation()
