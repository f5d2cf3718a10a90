"""Scenario inputs of the Cocktail formulation.

Scenario keys (units in names): ``interval_h``, ``models``, ``instance_types``,
``max_ensemble_size``, ``min_on_demand_share``, ``interruption_rate_scale``,
``vm_startup_s``, ``max_vm_changes``, ``[profile]`` (Cocktail's measured profile instead
of the zoo's), ``[[measured]]`` (measured latency per model, instance type and batch;
overrides the zoo's calibrated estimate and the profile), optional price overrides
``on_demand_usd_per_h`` / ``spot_usd_per_h`` (instance type -> USD/h), ``[correctness]``
and ``[[classes]]`` (``name``, ``slo_ms``, ``accuracy_target``, ``[classes.load]`` with
``qps`` or ``trace``). See
``docs/cocktail.md``.

Every number is finite and within the bounds below (the ``MAX_*`` constants, checked where
the key is read, exit 2 naming the key); data paths are regular files of at most 1 GiB
(:data:`formulations.types.DataFile`).
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from cost_models.cloud import INSTANCES
from cost_models.cocktail.accuracy import MAX_SAMPLES, VoteRule
from cost_models.cocktail.zoo import ZOO
from cost_models.units import SECONDS_PER_HOUR
from formulations.types import DataFile

# Bounds of scenario keys (sanity limits of this planner, not of the cloud):
MAX_INTERVALS = 10_000  # planning intervals: a year of hourly plans is 8,760; each is a MILP
MAX_CLASSES = 100  # request classes of one scenario
MAX_QPS = 1e7  # requests/s of one class: ~1,000 VMs of the zoo's fastest model per pool
MAX_SLO_MS = 3.6e6  # ms: one hour
MIN_INTERVAL_H = 1.0 / SECONDS_PER_HOUR  # h: one second
MAX_PRICE_USD_PER_H = 1e3  # USD/h; the dearest catalog type, p4d.24xlarge, is 32.77 USD/h
# (aws.amazon.com/ec2/pricing/on-demand, us-east-1, 2024)
MAX_INTERRUPTION_RATE_SCALE = 1e5  # stress multiplier on the Spot Advisor rates
MAX_VM_CHANGES = 1_000_000  # VMs added + removed between two intervals
MAX_SEED = 2**63 - 1  # numpy's seed range used here (int64)
MAX_BATCH = 4096  # requests in one measured batch
MAX_WORKERS = 1024  # concurrent batches on one VM (Cocktail's largest c5 worker count is ~40)

Qps = Annotated[float, Field(ge=0, le=MAX_QPS, allow_inf_nan=False)]
Price = Annotated[float, Field(ge=0, le=MAX_PRICE_USD_PER_H, allow_inf_nan=False)]


class CorrectnessSpec(BaseModel):
    """Where per-sample correctness comes from: a CSV matrix, or a seeded Monte-Carlo draw."""

    model_config = ConfigDict(extra="forbid")

    matrix: DataFile | None = Field(None, description="CSV: header of model names, 0/1 rows")
    n_samples: int = Field(10_000, ge=10, le=MAX_SAMPLES)
    correlation: float = Field(
        0.5, ge=0.0, le=1.0, allow_inf_nan=False, description="latent error correlation"
    )
    seed: int = Field(0, ge=0, le=MAX_SEED)
    vote: VoteRule = VoteRule.MAJORITY


class ProfileSpec(BaseModel):
    """Cocktail's own model profile (``cost_models/cocktail/profile.py``) instead of the
    zoo's roofline latency and Keras top-1: per-model latency and accuracy, and the server
    workers per VM from the handle sizes, read from Cocktail's repository files in place."""

    model_config = ConfigDict(extra="forbid")

    models_csv: DataFile = Field(description="models.csv: model, latency_ms, top1_accuracy")
    handle_sizes_csv: DataFile = Field(description="handle_sizes_and_concurrency.csv")
    source_file: str = Field(
        "modules/naiveSchedule.py", min_length=1, description="rows of this source file"
    )


class MeasuredRate(BaseModel):
    """A measured latency of ``model`` on ``instance_type`` at ``batch`` requests: it replaces
    the estimate. One VM runs ``workers`` such batches at once (default: the zoo's, i.e. its
    GPUs or 1 on a CPU VM; with ``[profile]`` Cocktail's server workers), so it serves
    ``workers x batch x 1000 / latency_ms`` requests/s and a request takes ``latency_ms``
    (the wait to fill a batch is not modelled)."""

    model_config = ConfigDict(extra="forbid")

    model: str = Field(min_length=1)
    instance_type: str = Field(min_length=1)
    batch: int = Field(1, ge=1, le=MAX_BATCH)
    latency_ms: float = Field(gt=0, le=MAX_SLO_MS, allow_inf_nan=False)
    workers: int | None = Field(None, ge=1, le=MAX_WORKERS)
    source: str = Field("scenario", min_length=1, description="where the number comes from")


class LoadSpec(BaseModel):
    """Requests/s of one class per interval: numbers or a trace, optionally forecast."""

    model_config = ConfigDict(extra="forbid")

    qps: list[Qps] | None = Field(
        None,
        min_length=1,
        max_length=MAX_INTERVALS,
        description="observed mean requests/s per interval",
    )
    trace: DataFile | None = Field(None, description="one arrival time (ms) per line")
    statistic: Literal["mean", "peak"] = "mean"
    forecast: Literal["none", "moving_average", "ewma"] = "none"
    forecast_window: int = Field(
        3, ge=1, le=MAX_INTERVALS, description="intervals in the moving average"
    )
    forecast_alpha: float = Field(
        0.5, gt=0.0, le=1.0, allow_inf_nan=False, description="EWMA smoothing factor"
    )

    @model_validator(mode="after")
    def _one_source(self) -> LoadSpec:
        if (self.qps is None) == (self.trace is None):
            raise ValueError("exactly one of qps (a list) or trace (a file)")
        return self


class RequestClass(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1)
    slo_ms: float = Field(gt=0, le=MAX_SLO_MS, allow_inf_nan=False)
    accuracy_target: float = Field(
        gt=0.0, le=1.0, allow_inf_nan=False, description="vote accuracy, fraction"
    )
    load: LoadSpec


class CocktailInputs(BaseModel):
    model_config = ConfigDict(extra="forbid")

    interval_h: float = Field(1.0, ge=MIN_INTERVAL_H, le=24.0, allow_inf_nan=False)
    models: list[str] = Field(default_factory=lambda: list(ZOO), min_length=1)
    instance_types: list[str] = Field(min_length=1)
    classes: list[RequestClass] = Field(min_length=1, max_length=MAX_CLASSES)
    max_ensemble_size: int = Field(5, ge=1, le=len(ZOO))
    min_on_demand_share: float = Field(0.2, ge=0.0, le=1.0, allow_inf_nan=False)
    interruption_rate_scale: float = Field(
        1.0, ge=0.0, le=MAX_INTERRUPTION_RATE_SCALE, allow_inf_nan=False
    )
    vm_startup_s: float = Field(
        0.0, ge=0.0, allow_inf_nan=False, description="billed start-up time per new VM"
    )
    max_vm_changes: int | None = Field(
        None,
        ge=0,
        le=MAX_VM_CHANGES,
        description="VMs added + removed between consecutive intervals, at most",
    )
    on_demand_usd_per_h: dict[str, Price] = Field(default_factory=dict)
    spot_usd_per_h: dict[str, Price] = Field(default_factory=dict)
    correctness: CorrectnessSpec = Field(default_factory=CorrectnessSpec)
    profile: ProfileSpec | None = None
    measured: list[MeasuredRate] = Field(default_factory=list)

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
            bad = [n for n in prices if n not in self.instance_types]
            if bad:
                raise ValueError(f"{key}: prices of listed instance_types (bad: {', '.join(bad)})")
        seen: set[tuple[str, str]] = set()
        for n, rate in enumerate(self.measured):
            where = f"measured[{n}]"
            if rate.model not in self.models:
                raise ValueError(f"{where}.model: one of models (got {rate.model!r})")
            if rate.instance_type not in self.instance_types:
                raise ValueError(
                    f"{where}.instance_type: one of instance_types (got {rate.instance_type!r})"
                )
            pair = (rate.model, rate.instance_type)
            if pair in seen:
                raise ValueError(f"{where}: one measured rate per (model, instance_type) {pair}")
            seen.add(pair)
        names = [c.name for c in self.classes]
        if len(set(names)) != len(names):
            raise ValueError("classes: distinct class names")
        if self.vm_startup_s >= self.interval_h * SECONDS_PER_HOUR:
            raise ValueError("vm_startup_s: less than one interval")
        return self
