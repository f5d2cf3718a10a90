"""Scenario inputs of ``kind = "proteus"``: the pydantic schema of a scenario.

Resolving the inputs into the cost-model view (variants, accuracies, demand per window,
capacities) is :func:`formulations.proteus.view.prepare`; bad references found there
still exit 2 naming the file and key.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from cost_models.devices import DEVICES, Precision
from formulations.types import DataPath, InputError

# Proteus's demand headroom and its degrade rule (public Proteus code, see
# ../shared/reference/README.md): start at 1.05, step down 0.05 (0.1 above 1.5) while
# infeasible, never below 0.2.
DEFAULT_BETA = 1.05
DEFAULT_BETA_STEP = 0.05
DEFAULT_BETA_STEP_ABOVE_1_5 = 0.1
DEFAULT_BETA_FLOOR = 0.2
# Proteus sizes a device's capacity at the largest batch whose latency fits half the SLO.
DEFAULT_LATENCY_BUDGET_FRACTION = 0.5
# Proteus's batch sizes (its profiles also hold 16, which its code ignores).
DEFAULT_BATCH_SIZES = (1, 2, 4, 8)


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class DeviceSpec(_Strict):
    count: int = Field(ge=0, description="devices of this type")
    catalog_device: str | None = Field(
        None, description="device in cost_models.devices, for the analytical latency model"
    )
    profile_accel: str | None = Field(
        None, description="accelerator name in the measured profile (Proteus: 'Accel' column)"
    )

    @model_validator(mode="after")
    def _known(self) -> DeviceSpec:
        if self.catalog_device is None and self.profile_accel is None:
            raise ValueError("catalog_device and/or profile_accel (how to know its latency)")
        if self.catalog_device is not None and self.catalog_device not in DEVICES:
            raise InputError(
                None, "catalog_device", f"one of {', '.join(sorted(DEVICES))}", self.catalog_device
            )
        return self


class FamilySpec(_Strict):
    slo_ms: float = Field(gt=0, description="latency SLO of every query of this family, ms")
    demand_qps: float | None = Field(None, ge=0, description="constant demand, queries/s")
    trace: DataPath | None = Field(None, description="Proteus trace: arrival_ms,... per line")
    variants: list[str] | None = Field(None, min_length=1)

    @model_validator(mode="after")
    def _one_demand(self) -> FamilySpec:
        if (self.demand_qps is None) == (self.trace is None):
            raise ValueError("exactly one of demand_qps or trace")
        return self


class CustomVariant(_Strict):
    """A model variant not in the shipped catalog, described by its public facts."""

    name: str = Field(min_length=1)
    family: str = Field(min_length=1)
    normalized_accuracy: float = Field(gt=0, le=100, description="best of family = 100")
    gflops_per_sample: float = Field(gt=0)
    params_millions: float = Field(gt=0)
    activation_mb_per_sample: float = Field(ge=0)


class ProfileSpec(_Strict):
    path: DataPath
    format: Literal["proteus", "csv"] = "proteus"
    variants_dir: DataPath | None = None


class TraceSpec(_Strict):
    window_s: float = Field(10.0, gt=0, description="planning window, s")
    statistic: Literal["mean", "peak"] = "mean"
    max_windows: int | None = Field(None, ge=1)


class ProteusInputs(_Strict):
    devices: dict[str, DeviceSpec] = Field(min_length=1)
    families: dict[str, FamilySpec] = Field(min_length=1)
    variants: list[CustomVariant] = Field(default_factory=list)
    profile: ProfileSpec | None = None
    trace: TraceSpec = Field(default_factory=TraceSpec)
    beta: float = Field(DEFAULT_BETA, gt=0, description="served capacity >= beta x demand")
    degrade: bool = True
    beta_step: float = Field(DEFAULT_BETA_STEP, gt=0)
    beta_step_above_1_5: float = Field(DEFAULT_BETA_STEP_ABOVE_1_5, gt=0)
    beta_floor: float = Field(DEFAULT_BETA_FLOOR, gt=0)
    demand_scale: float = Field(1.0, gt=0, description="multiplies every demand")
    all_devices_on: bool = False
    baselines: bool = Field(True, description="also solve Clipper-HA/LA, Sommelier, INFaaS")
    min_devices_per_family: int = Field(1, ge=0)
    latency_budget_fraction: float = Field(DEFAULT_LATENCY_BUDGET_FRACTION, gt=0, le=1)
    batch_sizes: list[int] = Field(default_factory=lambda: list(DEFAULT_BATCH_SIZES), min_length=1)
    precision: Precision = Precision.FP16

    @model_validator(mode="after")
    def _consistent(self) -> ProteusInputs:
        if any(b < 1 for b in self.batch_sizes):
            raise InputError(None, "batch_sizes", "batch sizes >= 1", self.batch_sizes)
        if self.beta_floor > self.beta:
            raise InputError(None, "beta_floor", f"at most beta ({self.beta})", self.beta_floor)
        return self
