"""Scenario inputs of ``kind = "proteus"``: the pydantic schema of a scenario.

Resolving the inputs into the cost-model view (variants, accuracies, demand per window,
capacities) is :func:`formulations.proteus.view.prepare`; bad references found there
still exit 2 naming the file and key.

Every number is finite and bounded (the bounds below, each far above any cluster or trace
in the Proteus paper); the size limits on the model and the plan (windows, headroom
levels, devices listed) are checked in ``view.prepare``.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from cost_models.devices import DEVICES, Precision
from cost_models.perf.hardware import Runtime
from formulations.types import DataFile, DataFolder, InputError

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
# Proteus's demand forecast (settings.md Sec. 2): pandas ewm(com).mean() over the last 20
# samples, com = DEFAULT_EWMA_DECAY 2.1 when a config gives none (core/simulator.py L24-L25).
DEFAULT_EWMA_COM = 2.1
DEFAULT_EWMA_HISTORY = 20  # samples (windows)
# Sommelier's headroom in all three of Proteus's Sommelier configs (settings.md Sec. 4).
SOMMELIER_BETA = 1.5

# Input bounds (sanity limits, not from a source: each is orders of magnitude above the
# Proteus paper's setting of 4 device types x 10 devices, 9 families, SLO 300 ms, a few
# hundred queries/s per family and batches up to 16).
MAX_DEVICES_PER_TYPE = 10_000  # devices
MAX_SLO_MS = 3_600_000.0  # one hour, ms
MAX_DEMAND_QPS = 1e9  # queries/s of one family
MAX_BATCH = 4096  # samples per batch
MAX_BETA = 100.0  # served capacity >= beta x demand, beta at most this
MAX_DEMAND_SCALE = 1e6
MIN_WINDOW_S = 1e-3  # s, a planning window of at least a millisecond
MAX_WINDOW_S = 86_400.0  # s, and at most a day (longer ones give rates the solver cannot scale)
MAX_GFLOPS_PER_SAMPLE = 1e9
MAX_PARAMS_MILLIONS = 1e9
MAX_ACTIVATION_MB = 1e9
MAX_LAYERS = 100_000

Name = Annotated[str, Field(min_length=1, max_length=200)]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)


class DeviceSpec(_Strict):
    count: int = Field(ge=0, le=MAX_DEVICES_PER_TYPE, description="devices of this type")
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
    slo_ms: float = Field(
        gt=0, le=MAX_SLO_MS, description="latency SLO of every query of this family, ms"
    )
    demand_qps: float | None = Field(
        None, ge=0, le=MAX_DEMAND_QPS, description="constant demand, queries/s"
    )
    trace: DataFile | None = Field(None, description="Proteus trace: arrival_ms,... per line")
    variants: list[Name] | None = Field(None, min_length=1)

    @model_validator(mode="after")
    def _one_demand(self) -> FamilySpec:
        if (self.demand_qps is None) == (self.trace is None):
            raise ValueError("exactly one of demand_qps or trace")
        return self


class CustomVariant(_Strict):
    """A model variant not in the shipped catalog, described by its public facts."""

    name: Name
    family: Name
    normalized_accuracy: float = Field(gt=0, le=100, description="best of family = 100")
    gflops_per_sample: float = Field(gt=0, le=MAX_GFLOPS_PER_SAMPLE)
    params_millions: float = Field(gt=0, le=MAX_PARAMS_MILLIONS)
    activation_mb_per_sample: float = Field(ge=0, le=MAX_ACTIVATION_MB)
    layers: int | None = Field(
        None,
        ge=1,
        le=MAX_LAYERS,
        description="weighted (conv + linear) layers, for the calibrated model; without it "
        "the uncalibrated roofline is used",
    )


class MeasuredLatency(_Strict):
    """A measured latency of one batch of ``variant`` on one device of ``device`` (a device
    type of the scenario); it overrides the model at that batch size."""

    variant: Name
    device: Name
    batch: int = Field(ge=1, le=MAX_BATCH)
    latency_ms: float = Field(gt=0, le=MAX_SLO_MS)


class ProfileSpec(_Strict):
    path: DataFile
    format: Literal["proteus", "csv"] = "proteus"
    variants_dir: DataFolder | None = None


class TraceSpec(_Strict):
    window_s: float = Field(10.0, ge=MIN_WINDOW_S, le=MAX_WINDOW_S, description="s")
    statistic: Literal["mean", "peak"] = "mean"
    max_windows: int | None = Field(None, ge=1)


class StaticAllocations(_Strict):
    """Proteus's published allocation files, as transcribed in one CSV (columns
    source_file, section, key_1 = variant, key_2 = device type, value_as_written = devices;
    ``../shared/reference/proteus/allocations_transcribed.csv``): the ``source_file`` of
    Clipper-HA's and Clipper-LA's static allocations and of Sommelier's start."""

    path: DataFile
    clipper_ha: Name | None = None
    clipper_la: Name | None = None
    sommelier: Name | None = None


class ForecastSpec(_Strict):
    """What demand each window is planned on (formulations/proteus/forecast.py).

    ``ewma`` (the default, as Proteus plans): the EWMA of the windows before it, re-planned
    on Proteus's schedule; ``oracle``: every window re-planned on its own mean demand.
    """

    method: Literal["ewma", "oracle"] = "ewma"
    com: float = Field(DEFAULT_EWMA_COM, ge=0, le=1e6, description="pandas ewm com")
    history_windows: int = Field(DEFAULT_EWMA_HISTORY, ge=1, le=100_000)
    replan_every: int = Field(1, ge=1, le=100_000, description="windows between re-plans")
    extra_replans: list[Annotated[int, Field(ge=0)]] = Field(
        default_factory=list, max_length=10_000, description="windows also re-planned"
    )
    tighten_windows: tuple[int, int] | None = Field(
        None, description="windows [first, last] where replan_every is halved"
    )
    burst_replan_every: int | None = Field(None, ge=1, le=100_000)
    burst_total_qps: float = Field(200.0, ge=0, le=MAX_DEMAND_QPS)
    burst_lookback_windows: int = Field(10, ge=1, le=100_000)


class ProteusInputs(_Strict):
    devices: dict[Name, DeviceSpec] = Field(min_length=1)
    families: dict[Name, FamilySpec] = Field(min_length=1)
    variants: list[CustomVariant] = Field(default_factory=list)
    profile: ProfileSpec | None = None
    trace: TraceSpec = Field(default_factory=TraceSpec)
    beta: float = Field(
        DEFAULT_BETA, gt=0, le=MAX_BETA, description="served capacity >= beta x demand"
    )
    degrade: bool = True
    beta_step: float = Field(DEFAULT_BETA_STEP, gt=0, le=MAX_BETA)
    beta_step_above_1_5: float = Field(DEFAULT_BETA_STEP_ABOVE_1_5, gt=0, le=MAX_BETA)
    beta_floor: float = Field(DEFAULT_BETA_FLOOR, gt=0, le=MAX_BETA)
    demand_scale: float = Field(
        1.0, gt=0, le=MAX_DEMAND_SCALE, description="multiplies every demand"
    )
    forecast: ForecastSpec = Field(default_factory=ForecastSpec)
    sommelier_beta: float = Field(
        SOMMELIER_BETA, gt=0, le=MAX_BETA, description="Sommelier's starting headroom"
    )
    static_allocations: StaticAllocations | None = None
    all_devices_on: bool = False
    baselines: bool = Field(True, description="also solve Clipper-HA/LA, Sommelier, INFaaS")
    min_devices_per_family: int = Field(1, ge=0, le=MAX_DEVICES_PER_TYPE)
    latency_budget_fraction: float = Field(DEFAULT_LATENCY_BUDGET_FRACTION, gt=0, le=1)
    batch_sizes: list[Annotated[int, Field(ge=1, le=MAX_BATCH)]] = Field(
        default_factory=lambda: list(DEFAULT_BATCH_SIZES), min_length=1, max_length=64
    )
    precision: Precision = Precision.FP16
    runtime: Runtime | None = Field(
        None,
        description="runtime of the calibrated model (default: pytorch on GPUs, keras on CPUs)",
    )
    measured_latency: list[MeasuredLatency] = Field(default_factory=list, max_length=100_000)

    @model_validator(mode="after")
    def _consistent(self) -> ProteusInputs:
        if self.beta_floor > self.beta:
            raise InputError(None, "beta_floor", f"at most beta ({self.beta})", self.beta_floor)
        for i, m in enumerate(self.measured_latency):
            if m.device not in self.devices:
                raise InputError(
                    None,
                    f"measured_latency[{i}].device",
                    f"a device type of the scenario ({', '.join(self.devices)})",
                    m.device,
                )
        return self
