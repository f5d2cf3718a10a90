"""Scenario inputs and deployment of the Cocktail formulation, and the data derived from them.

Scenario keys (units in names): ``interval_h``, ``models``, ``instance_types``,
``max_ensemble_size``, ``min_on_demand_share``, ``interruption_rate_scale``,
``vm_startup_s``, ``max_vm_changes``, optional price overrides ``on_demand_usd_per_h`` /
``spot_usd_per_h`` (instance type -> $/h), ``[correctness]`` and ``[[classes]]`` (``name``,
``slo_ms``, ``accuracy_target``, ``[classes.load]``). See ``docs/cocktail.md``.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from typing import Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, PrivateAttr, model_validator

from cost_models.cloud import INSTANCES, InstanceType
from cost_models.cocktail.accuracy import (
    CorrectnessModel,
    VoteRule,
    monte_carlo_correctness,
    read_correctness_csv,
)
from cost_models.cocktail.spot import interruption_probability, interruption_rate_per_h
from cost_models.cocktail.zoo import ZOO, latency_ms, throughput_qps
from cost_models.errors import DataError
from formulations.cocktail.load import SECONDS_PER_HOUR, observed_rates_qps, planned_rates_qps
from formulations.types import DataPath


class CorrectnessSpec(BaseModel):
    """Where per-sample correctness comes from: a CSV matrix, or a seeded Monte-Carlo draw."""

    model_config = ConfigDict(extra="forbid")

    matrix: DataPath | None = Field(None, description="CSV: header of model names, 0/1 rows")
    n_samples: int = Field(10_000, ge=10, le=1_000_000)
    correlation: float = Field(0.5, ge=0.0, le=1.0, description="latent error correlation")
    seed: int = Field(0, ge=0)
    vote: VoteRule = VoteRule.MAJORITY


class LoadSpec(BaseModel):
    """Requests/s of one class per interval: numbers or a trace, optionally forecast."""

    model_config = ConfigDict(extra="forbid")

    qps: list[float] | None = Field(None, description="observed mean requests/s per interval")
    trace: DataPath | None = Field(None, description="one arrival time (ms) per line")
    statistic: Literal["mean", "peak"] = "mean"
    forecast: Literal["none", "moving_average", "ewma"] = "none"
    forecast_window: int = Field(3, ge=1, description="intervals in the moving average")
    forecast_alpha: float = Field(0.5, gt=0.0, le=1.0, description="EWMA smoothing factor")

    @model_validator(mode="after")
    def _one_source(self) -> LoadSpec:
        if (self.qps is None) == (self.trace is None):
            raise ValueError("exactly one of qps (a list) or trace (a file)")
        if self.qps is not None and (not self.qps or min(self.qps) < 0):
            raise ValueError("qps: a non-empty list of non-negative requests/s")
        return self


class RequestClass(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1)
    slo_ms: float = Field(gt=0)
    accuracy_target: float = Field(gt=0.0, le=1.0, description="vote accuracy, fraction")
    load: LoadSpec


class CocktailInputs(BaseModel):
    model_config = ConfigDict(extra="forbid")

    interval_h: float = Field(1.0, gt=0.0, le=24.0)
    models: list[str] = Field(default_factory=lambda: list(ZOO), min_length=1)
    instance_types: list[str] = Field(min_length=1)
    classes: list[RequestClass] = Field(min_length=1)
    max_ensemble_size: int = Field(5, ge=1, le=len(ZOO))
    min_on_demand_share: float = Field(0.2, ge=0.0, le=1.0)
    interruption_rate_scale: float = Field(1.0, ge=0.0)
    vm_startup_s: float = Field(0.0, ge=0.0, description="billed start-up time per new VM")
    max_vm_changes: int | None = Field(
        None, ge=0, description="VMs added + removed between consecutive intervals, at most"
    )
    on_demand_usd_per_h: dict[str, float] = Field(default_factory=dict)
    spot_usd_per_h: dict[str, float] = Field(default_factory=dict)
    correctness: CorrectnessSpec = Field(default_factory=CorrectnessSpec)

    _data: CocktailData | None = PrivateAttr(None)

    @model_validator(mode="after")
    def _check(self) -> CocktailInputs:
        for key, names, known in (
            ("models", self.models, ZOO),
            ("instance_types", self.instance_types, INSTANCES),
        ):
            unknown = [n for n in names if n not in known]
            if unknown:
                raise ValueError(
                    f"{key}: names from {', '.join(known)} (unknown: {', '.join(unknown)})"
                )
            if len(set(names)) != len(names):
                raise ValueError(f"{key}: distinct names")
        for key, prices in (
            ("on_demand_usd_per_h", self.on_demand_usd_per_h),
            ("spot_usd_per_h", self.spot_usd_per_h),
        ):
            bad = [n for n, p in prices.items() if n not in self.instance_types or p < 0]
            if bad:
                raise ValueError(
                    f"{key}: non-negative prices of listed instance_types (bad: {', '.join(bad)})"
                )
        names = [c.name for c in self.classes]
        if len(set(names)) != len(names):
            raise ValueError("classes: distinct class names")
        if self.vm_startup_s >= self.interval_h * SECONDS_PER_HOUR:
            raise ValueError("vm_startup_s: less than one interval")
        return self

    def data(self) -> CocktailData:
        """The cost-model data of these inputs (computed once; raises DataError on bad files)."""
        if self._data is None:
            self._data = _derive(self)
        return self._data


@dataclass(frozen=True)
class CocktailData:
    """Everything the formulation, verifier, baselines and simulation read, by index.

    Index ``m`` runs over ``models``, ``i`` over ``instances``, ``k`` over ``classes``, ``t``
    over intervals.
    """

    models: list[str]
    instances: list[str]
    classes: list[RequestClass]
    interval_h: float
    latency_ms: np.ndarray  # [m, i], one request
    capacity_qps: np.ndarray  # [m, i], one VM
    on_demand_usd_per_h: np.ndarray  # [i]
    spot_usd_per_h: np.ndarray  # [i]
    spot_loss_prob: np.ndarray  # [i], probability a spot VM is reclaimed within an interval
    spot_rate_per_h: np.ndarray  # [i], interruptions per spot VM-hour
    planned_qps: np.ndarray  # [k, t], load the plan must serve (forecast or observed)
    actual_qps: np.ndarray  # [k, t], observed load (what the simulation replays)
    correctness: CorrectnessModel
    min_on_demand_share: float
    max_ensemble_size: int
    startup_h: float
    max_vm_changes: int | None

    @cached_property
    def model_index(self) -> dict[str, int]:
        """Index ``m`` of each model name."""
        return {name: m for m, name in enumerate(self.models)}

    @cached_property
    def instance_index(self) -> dict[str, int]:
        """Index ``i`` of each instance type name."""
        return {name: i for i, name in enumerate(self.instances)}

    @property
    def n_intervals(self) -> int:
        return self.planned_qps.shape[1]

    def meets_slo(self, m: int, i: int, k: int) -> bool:
        return bool(self.latency_ms[m, i] <= self.classes[k].slo_ms)

    def spot_effective_qps(self, m: int, i: int) -> float:
        """Capacity a spot VM is credited with: discounted by its interruption probability."""
        return float(self.capacity_qps[m, i] * (1.0 - self.spot_loss_prob[i]))


def _derive(inputs: CocktailInputs) -> CocktailData:
    zoo = [ZOO[m] for m in inputs.models]
    types: list[InstanceType] = [INSTANCES[i] for i in inputs.instance_types]
    rates = [observed_rates_qps(c.load, inputs.interval_h) for c in inputs.classes]
    needed = [len(r) for r in rates]
    from_numbers = {n for n, c in zip(needed, inputs.classes, strict=True) if c.load.qps}
    if len(from_numbers) > 1 or (from_numbers and max(needed) > min(from_numbers)):
        raise DataError(
            None, "classes.load", f"the same number of intervals for every class (got {needed})"
        )
    n_intervals = max(needed)
    if n_intervals == 0:
        raise DataError(None, "classes.load", "at least one interval of load (traces are empty)")
    # a trace ending early has no requests in the intervals after its last arrival
    observed = [np.pad(r, (0, n_intervals - len(r))) for r in rates]
    planned = [planned_rates_qps(c.load, r) for c, r in zip(inputs.classes, observed, strict=True)]
    spec = inputs.correctness
    if spec.matrix is not None:
        matrix = read_correctness_csv(spec.matrix, inputs.models)
    else:
        matrix = monte_carlo_correctness(
            [m.top1 for m in zoo], spec.n_samples, spec.correlation, spec.seed
        )
    return CocktailData(
        models=list(inputs.models),
        instances=list(inputs.instance_types),
        classes=list(inputs.classes),
        interval_h=inputs.interval_h,
        latency_ms=np.array([[latency_ms(m, t) for t in types] for m in zoo]),
        capacity_qps=np.array([[throughput_qps(m, t) for t in types] for m in zoo]),
        on_demand_usd_per_h=np.array(
            [inputs.on_demand_usd_per_h.get(t.name, t.on_demand_usd_per_h) for t in types]
        ),
        spot_usd_per_h=np.array(
            [inputs.spot_usd_per_h.get(t.name, t.spot_usd_per_h) for t in types]
        ),
        spot_loss_prob=np.array(
            [
                interruption_probability(t, inputs.interval_h, inputs.interruption_rate_scale)
                for t in types
            ]
        ),
        spot_rate_per_h=np.array(
            [interruption_rate_per_h(t, inputs.interruption_rate_scale) for t in types]
        ),
        planned_qps=np.array(planned, dtype=float),
        actual_qps=np.array(observed, dtype=float),
        correctness=CorrectnessModel.from_matrix(matrix, spec.vote),
        min_on_demand_share=inputs.min_on_demand_share,
        max_ensemble_size=inputs.max_ensemble_size,
        startup_h=inputs.vm_startup_s / SECONDS_PER_HOUR,
        max_vm_changes=inputs.max_vm_changes,
    )


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
    """Per interval: each class's ensemble and routing, and the VM pools."""

    model_config = ConfigDict(extra="forbid")

    policy: str = "milp"
    intervals: list[IntervalPlan]
