"""Scenario inputs of the Cocktail formulation.

Scenario keys (units in names): ``interval_h``, ``models``, ``instance_types``,
``max_ensemble_size``, ``min_on_demand_share``, ``interruption_rate_scale``,
``vm_startup_s``, ``max_vm_changes``, optional price overrides ``on_demand_usd_per_h`` /
``spot_usd_per_h`` (instance type -> USD/h), ``[correctness]`` and ``[[classes]]`` (``name``,
``slo_ms``, ``accuracy_target``, ``[classes.load]`` with ``qps`` or ``trace``). See
``docs/cocktail.md``.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from cost_models.cloud import INSTANCES
from cost_models.cocktail.accuracy import VoteRule
from cost_models.cocktail.zoo import ZOO
from cost_models.units import SECONDS_PER_HOUR
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
