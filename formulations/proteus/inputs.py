"""Scenario inputs of ``kind = "proteus"`` and their resolution into one planning problem.

Resolution (done once, on load, so bad references fail with exit 2 before solving):
which variants each family has, each variant's normalised accuracy (best of its family =
100, as Proteus scores accuracy), the demand of each family in each planning window, and
the capacity of every (device type, variant) pair from the cost model: a measured profile
when one is given for the pair, else the analytical roofline model.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from functools import cached_property
from typing import Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, PrivateAttr, ValidationInfo, model_validator

from cost_models.devices import DEVICES, Precision
from cost_models.errors import DataError
from cost_models.latency import Capacity, analytical_capacity, capacity
from cost_models.profiles import LatencyProfile, load_latency_csv, load_proteus_profile
from cost_models.variants import VARIANTS, ModelVariant, families, normalized_accuracy
from cost_models.workload import read_arrivals_ms, window_rates_qps
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

    _problem: ProteusProblem | None = PrivateAttr(None)

    @model_validator(mode="after")
    def _resolve(self, info: ValidationInfo) -> ProteusInputs:
        if any(b < 1 for b in self.batch_sizes):
            raise InputError(None, "batch_sizes", "batch sizes >= 1", self.batch_sizes)
        if self.beta_floor > self.beta:
            raise InputError(None, "beta_floor", f"at most beta ({self.beta})", self.beta_floor)
        file = (info.context or {}).get("file")
        try:
            self._problem = resolve(self)
        except DataError as exc:
            raise InputError(exc.file or file, exc.key, exc.expected) from None
        return self

    @property
    def problem(self) -> ProteusProblem:
        if self._problem is None:
            self._problem = resolve(self)
        return self._problem


@dataclass(frozen=True)
class VariantInfo:
    name: str
    family: str
    accuracy: float  # normalised, best of family = 100


@dataclass(frozen=True)
class ProteusProblem:
    """Everything the MILP, the baselines and the verifier read."""

    device_types: list[str]
    device_count: dict[str, int]
    families: list[str]
    slo_ms: dict[str, float]
    variants: dict[str, list[VariantInfo]]  # family -> variants, accuracy ascending
    capacity: dict[tuple[str, str], Capacity]  # (device type, variant) -> per device
    window_starts_s: list[float]
    demand_qps: np.ndarray  # windows x families

    @cached_property
    def by_name(self) -> dict[str, VariantInfo]:
        return {v.name: v for members in self.variants.values() for v in members}

    @cached_property
    def family_of(self) -> dict[str, str]:
        """Variant name -> its family."""
        return {name: v.family for name, v in self.by_name.items()}

    @cached_property
    def accuracy(self) -> dict[str, float]:
        """Variant name -> normalised accuracy, %."""
        return {name: v.accuracy for name, v in self.by_name.items()}

    @cached_property
    def placeable(self) -> dict[str, list[VariantInfo]]:
        """Family -> variants that meet its latency budget on at least one device type,
        accuracy ascending."""
        return {
            f: [
                v
                for v in self.variants[f]
                if any((d, v.name) in self.capacity for d in self.device_types)
            ]
            for f in self.families
        }

    def effective_accuracy(
        self, routed_qps: Iterable[tuple[str, float]], demand: Mapping[str, float]
    ) -> float:
        """Proteus's effective accuracy: normalised accuracy of each served query, weighted
        by (variant, routed queries/s) and divided by the total demand, %; 0 without demand."""
        total = sum(demand.values())
        if total <= 0:
            return 0.0
        return sum(self.accuracy[v] * q for v, q in routed_qps) / total

    def demand(self, window: int) -> dict[str, float]:
        return {f: float(self.demand_qps[window, i]) for i, f in enumerate(self.families)}

    @property
    def trace_mode(self) -> bool:
        return len(self.window_starts_s) > 1


def _load_profile(spec: ProfileSpec) -> LatencyProfile:
    if spec.format == "proteus":
        return load_proteus_profile(spec.path, spec.variants_dir)
    return load_latency_csv(spec.path)


def _family_variants(
    inputs: ProteusInputs, profile: LatencyProfile | None
) -> dict[str, list[tuple[str, float, ModelVariant | CustomVariant | None]]]:
    """family -> [(variant name, normalised accuracy, analytical description or None)]."""
    custom = {v.name: v for v in inputs.variants}
    for i, v in enumerate(inputs.variants):
        if v.family not in inputs.families:
            raise InputError(
                None,
                f"variants[{i}].family",
                f"one of the families ({', '.join(inputs.families)})",
                v.family,
            )
    profile_families = profile.families if profile is not None else {}
    catalog_families = families()
    resolved: dict[str, list[tuple[str, float, ModelVariant | CustomVariant | None]]] = {}
    for family, spec in inputs.families.items():
        if spec.variants is not None:
            names = spec.variants
        elif any(v.family == family for v in inputs.variants):
            names = [v.name for v in inputs.variants if v.family == family]
        elif family in profile_families:
            names = list(profile_families[family])
        elif family in catalog_families:
            names = [v.name for v in catalog_families[family]]
        else:
            raise InputError(
                None,
                f"families.{family}",
                "a family of the catalog, of the profile or of [[variants]] "
                f"(catalog families: {', '.join(catalog_families)})",
                family,
            )
        members = []
        for j, name in enumerate(names):
            if name in custom:
                members.append((name, custom[name].normalized_accuracy, custom[name]))
            elif profile is not None and name in profile.accuracy:
                members.append((name, profile.accuracy[name], VARIANTS.get(name)))
            elif name in VARIANTS:
                members.append((name, normalized_accuracy(VARIANTS[name]), VARIANTS[name]))
            else:
                raise InputError(
                    None,
                    f"families.{family}.variants[{j}]",
                    "a variant of the catalog, of the profile or of [[variants]]",
                    name,
                )
        resolved[family] = members
    return resolved


def _custom_as_variant(v: CustomVariant) -> ModelVariant:
    return ModelVariant(
        v.family,
        v.name,
        "normalised accuracy",
        v.normalized_accuracy,
        v.gflops_per_sample,
        v.params_millions,
        "n/a",
        v.activation_mb_per_sample,
        "scenario [[variants]]",
    )


def pair_capacity(
    inputs: ProteusInputs,
    profile: LatencyProfile | None,
    device_type: str,
    variant: str,
    described: ModelVariant | CustomVariant | None,
    slo_ms: float,
) -> Capacity | None:
    """Capacity of one device of ``device_type`` running ``variant`` (None: cannot meet SLO).

    A measured profile entry wins (Proteus's rule: latency strictly below the budget,
    capacity floored to whole queries/s); otherwise the analytical roofline model.
    """
    spec = inputs.devices[device_type]
    budget_ms = slo_ms * inputs.latency_budget_fraction
    if profile is not None and spec.profile_accel is not None:
        measured = profile.latency_ms.get((variant, spec.profile_accel))
        if measured is not None:
            usable = {b: ms for b, ms in measured.items() if b in inputs.batch_sizes}
            return capacity(usable, budget_ms, floor=True, strict=True) if usable else None
    if spec.catalog_device is None or described is None:
        return None
    model = described if isinstance(described, ModelVariant) else _custom_as_variant(described)
    return analytical_capacity(
        model, DEVICES[spec.catalog_device], budget_ms, inputs.batch_sizes, inputs.precision
    )


def _demand(inputs: ProteusInputs) -> tuple[list[float], np.ndarray]:
    rates: dict[str, np.ndarray] = {}
    for family, spec in inputs.families.items():
        if spec.trace is not None:
            arrivals = read_arrivals_ms(spec.trace)
            rates[family] = window_rates_qps(
                arrivals, inputs.trace.window_s, inputs.trace.statistic
            )
    windows = max((len(r) for r in rates.values()), default=1)
    if inputs.trace.max_windows is not None:
        windows = min(windows, inputs.trace.max_windows)
    demand = np.zeros((windows, len(inputs.families)))
    for i, (family, spec) in enumerate(inputs.families.items()):
        if spec.demand_qps is not None:
            demand[:, i] = spec.demand_qps
        else:
            series = rates[family][:windows]
            demand[: len(series), i] = series
    starts = [w * inputs.trace.window_s for w in range(windows)] if rates else [0.0]
    return starts, demand * inputs.demand_scale


def resolve(inputs: ProteusInputs) -> ProteusProblem:
    profile = _load_profile(inputs.profile) if inputs.profile is not None else None
    if profile is not None:
        known = {accel for _, accel in profile.latency_ms}
        for name, spec in inputs.devices.items():
            if spec.profile_accel is not None and spec.profile_accel not in known:
                raise InputError(
                    None,
                    f"devices.{name}.profile_accel",
                    f"an accelerator of the profile ({', '.join(sorted(known))})",
                    spec.profile_accel,
                )
    members = _family_variants(inputs, profile)
    table: dict[tuple[str, str], Capacity] = {}
    variants: dict[str, list[VariantInfo]] = {}
    for family, entries in members.items():
        slo_ms = inputs.families[family].slo_ms
        variants[family] = sorted(
            (VariantInfo(n, family, acc) for n, acc, _ in entries),
            key=lambda v: (v.accuracy, v.name),
        )
        for name, _, described in entries:
            for device_type in inputs.devices:
                cap = pair_capacity(inputs, profile, device_type, name, described, slo_ms)
                if cap is not None and cap.qps > 0:
                    table[(device_type, name)] = cap
    starts, demand = _demand(inputs)
    return ProteusProblem(
        device_types=list(inputs.devices),
        device_count={d: s.count for d, s in inputs.devices.items()},
        families=list(inputs.families),
        slo_ms={f: s.slo_ms for f, s in inputs.families.items()},
        variants=variants,
        capacity=table,
        window_starts_s=starts,
        demand_qps=demand,
    )


def beta_grid(inputs: ProteusInputs) -> list[float]:
    """The headroom levels tried, highest first (just ``beta`` when not degrading)."""
    if not inputs.degrade:
        return [inputs.beta]
    levels = []
    beta = inputs.beta
    while beta >= inputs.beta_floor - 1e-9:
        levels.append(round(beta, 9))
        beta -= inputs.beta_step_above_1_5 if beta > 1.5 + 1e-9 else inputs.beta_step
    return levels


def infeasibility_reason(inputs: ProteusInputs, window: int) -> str:
    """Name the requirement that cannot be met in ``window`` (computed from the inputs)."""
    problem = inputs.problem
    for family, names in problem.placeable.items():
        if not names:
            budget = problem.slo_ms[family] * inputs.latency_budget_fraction
            return (
                f"family {family} has no variant that meets SLO {problem.slo_ms[family]:g} ms "
                f"(latency budget {budget:g} ms = {inputs.latency_budget_fraction:g} x SLO) "
                "on any device"
            )
    total_devices = sum(problem.device_count.values())
    needed = inputs.min_devices_per_family * len(problem.families)
    if needed > total_devices:
        return (
            f"{len(problem.families)} families x min_devices_per_family "
            f"{inputs.min_devices_per_family} = {needed} devices, but the cluster has "
            f"{total_devices}"
        )
    floor = beta_grid(inputs)[-1]
    demand = problem.demand(window)
    for family in problem.families:
        # Every device of every type hosting the family's fastest variant there.
        best = sum(
            max(
                (
                    problem.capacity[(d, v.name)].qps
                    for v in problem.placeable[family]
                    if (d, v.name) in problem.capacity
                ),
                default=0.0,
            )
            * problem.device_count[d]
            for d in problem.device_types
        )
        if floor * demand[family] > best + 1e-9:
            return (
                f"family {family} needs {floor:g} x {demand[family]:.1f} qps but the whole "
                f"cluster serves at most {best:.1f} qps of it"
            )
    start_s = problem.window_starts_s[window]
    when = f" in window starting {start_s:g} s" if problem.trace_mode else ""
    return (
        f"demand{when} cannot be served with headroom beta >= {floor:g} on "
        f"{total_devices} devices (families compete for the same devices)"
    )


def is_close(a: float, b: float) -> bool:
    return math.isclose(a, b, rel_tol=1e-6, abs_tol=1e-6)
