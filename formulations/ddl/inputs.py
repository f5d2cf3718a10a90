"""Scenario inputs of the ``ddl`` formulation: the validated TOML, minus the engine's keys."""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated, Self

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from cost_models.ddl.allreduce import (
    DEFAULT_BUCKET_MIB,
    DEFAULT_INTRA_ALPHA_S,
    DEFAULT_NETWORK_ALPHA_S,
    DEFAULT_NETWORK_EFFICIENCY,
    CommParams,
)
from cost_models.ddl.estimate import (
    DEFAULT_CHECKPOINT_INTERVAL_H,
    DEFAULT_PAGE_CACHE_FRACTION,
    DEFAULT_RESTART_S,
    DEFAULT_STORAGE_MB_PER_S,
    Job,
    Market,
    Platform,
)
from cost_models.ddl.topology import TOPOLOGY_INSTANCES
from cost_models.ddl.workloads import MODELS
from cost_models.devices import DEVICES, Precision
from formulations.types import InputError

# Sane ranges of the scenario's numbers (docs/ddl.md, "Limits"): every number is finite and
# within these; a value outside is refused with exit 2 naming its key.
MAX_NAME_CHARS = 100  # a job name is a table key; longer names are a mistake
MAX_EPOCHS = 10_000  # epochs of one job
MAX_BATCH_PER_GPU = 65_536  # samples per GPU per iteration
MAX_HOURS = 8_760.0  # h: a deadline of at most a year
MAX_BUDGET_USD = 1e8  # USD: a total budget of at most 100 million dollars
MAX_PRICE_USD_PER_H = 1_000.0  # USD/h: 10x the dearest GPU instance (p5.48xlarge, ~98 USD/h)
MIN_RATE_SAMPLES_PER_S = 0.01  # samples/s: a measured rate below this is a typo
MAX_RATE_SAMPLES_PER_S = 1e6  # samples/s per GPU or per vCPU: 100x AlexNet on an A100
MAX_NODES = 64  # nodes per configuration (512 GPUs of p4d.24xlarge)
MAX_QUOTA_VCPUS = 1_000_000  # vCPUs: AWS's default GPU quotas are in the hundreds
MAX_JOBS = 100  # jobs per scenario (the deployment schema uses the same bound)
# Configurations in all (jobs x instance types x max_nodes x markets) = binaries of the
# MILP; each one is a stall-model evaluation (~0.15 ms on the machine of docs/BENCHMARKS.md),
# so this bounds prepare to a few seconds and the model to 20,000 columns.
MAX_CONFIGURATIONS = 20_000

Rate = Annotated[
    float, Field(ge=MIN_RATE_SAMPLES_PER_S, le=MAX_RATE_SAMPLES_PER_S, allow_inf_nan=False)
]
Price = Annotated[float, Field(gt=0, le=MAX_PRICE_USD_PER_H, allow_inf_nan=False)]


class Mode(StrEnum):
    MIN_COST = "min_cost"  # cheapest plan that meets every job's deadline
    MIN_TIME = "min_time"  # earliest finish of the last job within the total budget


class JobSpec(BaseModel):
    """One training job: ``[[jobs]]``."""

    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)

    name: str = Field(min_length=1, max_length=MAX_NAME_CHARS)
    model: str = Field(description=f"one of {', '.join(MODELS)}")
    epochs: int = Field(gt=0, le=MAX_EPOCHS)
    batch_per_gpu: int = Field(gt=0, le=MAX_BATCH_PER_GPU)
    precision: Precision = Precision.FP32
    deadline_h: float | None = Field(None, gt=0, le=MAX_HOURS)
    prep_samples_per_s_per_vcpu: Rate | None = None
    # measured single-GPU training rate of this job (its model, batch and precision), keyed
    # by instance type (e.g. "p3.2xlarge") or device (e.g. "V100"); the instance type wins
    samples_per_s_per_gpu: dict[str, Rate] = Field(default_factory=dict)

    @field_validator("model")
    @classmethod
    def _known_model(cls, value: str) -> str:
        if value not in MODELS:
            raise ValueError(f"one of {', '.join(MODELS)}")
        return value

    @field_validator("samples_per_s_per_gpu")
    @classmethod
    def _known_devices(cls, value: dict[str, float]) -> dict[str, float]:
        for name in value:
            if name not in DEVICES and name not in TOPOLOGY_INSTANCES:
                raise ValueError(
                    f"instance types from {', '.join(TOPOLOGY_INSTANCES)} or device names "
                    f"from {', '.join(DEVICES)} (got {name!r})"
                )
        return value

    def job(self) -> Job:
        return Job(
            MODELS[self.model],
            self.epochs,
            self.batch_per_gpu,
            self.precision,
            self.prep_samples_per_s_per_vcpu,
            dict(self.samples_per_s_per_gpu),
        )


class QuotaGroup(StrEnum):
    """AWS EC2 vCPU quota groups (EC2 User Guide, "On-Demand Instance quotas" and "Spot
    Instance quotas"): "Running On-Demand P instances" / "All P Spot Instance Requests",
    and the same for G and VT instances."""

    P = "P"
    G = "G"

    @staticmethod
    def of(instance_type: str) -> QuotaGroup:
        return QuotaGroup(instance_type[0].upper())


class Quota(BaseModel):
    """``[[quotas]]``: vCPUs of one group and market that all jobs may hold at once."""

    model_config = ConfigDict(extra="forbid")

    group: QuotaGroup
    market: Market
    vcpus: int = Field(ge=0, le=MAX_QUOTA_VCPUS)


class Assumptions(BaseModel):
    """``[assumptions]``: calibration constants of the stall model (defaults documented in
    :mod:`cost_models.ddl`)."""

    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)

    # ranges: 1 MB/s (slower than any cloud volume) to 1 TB/s
    storage_mb_per_s: float = Field(DEFAULT_STORAGE_MB_PER_S, ge=1, le=1e6)
    page_cache_fraction: float = Field(DEFAULT_PAGE_CACHE_FRACTION, ge=0, le=1)
    restart_s: float = Field(DEFAULT_RESTART_S, ge=0, le=86_400)  # at most a day
    checkpoint_interval_h: float = Field(DEFAULT_CHECKPOINT_INTERVAL_H, ge=1 / 60, le=MAX_HOURS)
    # 1 MiB to 10 GiB: smaller buckets would mean thousands per iteration (one each modelled)
    bucket_mib: float = Field(DEFAULT_BUCKET_MIB, ge=1, le=10_240)
    network_alpha_s: float = Field(DEFAULT_NETWORK_ALPHA_S, ge=0, le=1)
    network_efficiency: float = Field(DEFAULT_NETWORK_EFFICIENCY, ge=0.01, le=1)

    def platform(self) -> Platform:
        return Platform(
            storage_mb_per_s=self.storage_mb_per_s,
            page_cache_fraction=self.page_cache_fraction,
            restart_s=self.restart_s,
            checkpoint_interval_h=self.checkpoint_interval_h,
            comm=CommParams(
                self.bucket_mib,
                DEFAULT_INTRA_ALPHA_S,  # unused: the calibrated model times the node's ring
                self.network_alpha_s,
                self.network_efficiency,
            ),
        )


def _check_instance_types(names: list[str] | dict[str, float]) -> None:
    for name in names:
        if name not in TOPOLOGY_INSTANCES:
            raise ValueError(
                f"GPU instance types from {', '.join(TOPOLOGY_INSTANCES)} (got {name!r})"
            )


class DdlInputs(BaseModel):
    """The scenario minus the engine's keys."""

    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)

    objective: Mode = Mode.MIN_COST
    budget_usd: float | None = Field(None, gt=0, le=MAX_BUDGET_USD)
    instance_types: list[str] = Field(
        default_factory=lambda: list(TOPOLOGY_INSTANCES), min_length=1
    )
    max_nodes: int = Field(4, ge=1, le=MAX_NODES)
    markets: list[Market] = Field(default_factory=lambda: list(Market), min_length=1)
    on_demand_usd_per_h: dict[str, Price] = Field(default_factory=dict)
    spot_usd_per_h: dict[str, Price] = Field(default_factory=dict)
    jobs: list[JobSpec] = Field(min_length=1, max_length=MAX_JOBS)
    quotas: list[Quota] = Field(default_factory=list)
    assumptions: Assumptions = Field(default_factory=Assumptions)
    top_candidates: int = Field(10, ge=1, le=1000)
    near_optimal_pct: float = Field(0.0, ge=0, le=100)

    @field_validator("instance_types")
    @classmethod
    def _instances(cls, value: list[str]) -> list[str]:
        _check_instance_types(value)
        if len(set(value)) != len(value):
            raise ValueError("distinct instance types")
        return value

    @field_validator("on_demand_usd_per_h", "spot_usd_per_h")
    @classmethod
    def _prices(cls, value: dict[str, float]) -> dict[str, float]:
        _check_instance_types(value)
        return value

    @model_validator(mode="after")
    def _consistent(self) -> Self:
        """Cross-key rules, reported at the key that must change (file filled in by the
        engine)."""
        seen: set[str] = set()
        for i, job in enumerate(self.jobs):
            if job.name in seen:
                raise InputError(None, f"jobs[{i}].name", "a job name not used before", job.name)
            seen.add(job.name)
            if self.objective is Mode.MIN_COST and job.deadline_h is None:
                raise InputError(
                    None,
                    f"jobs[{i}].deadline_h",
                    "a deadline in hours for every job when objective = min_cost",
                )
        if self.objective is Mode.MIN_TIME and self.budget_usd is None:
            raise InputError(None, "budget_usd", "a budget in USD when objective = min_time")
        if len(set(self.markets)) != len(self.markets):
            raise InputError(None, "markets", "distinct markets", [m.value for m in self.markets])
        configurations = (
            len(self.jobs) * len(self.instance_types) * self.max_nodes * len(self.markets)
        )
        if configurations > MAX_CONFIGURATIONS:
            raise InputError(
                None,
                "jobs",
                f"at most {MAX_CONFIGURATIONS:,} configurations in all (jobs x instance_types "
                f"x max_nodes x markets = {len(self.jobs)} x {len(self.instance_types)} x "
                f"{self.max_nodes} x {len(self.markets)}); fewer jobs, instance types or nodes",
                f"{configurations:,}",
            )
        keys: set[tuple[QuotaGroup, Market]] = set()
        for i, q in enumerate(self.quotas):
            if (q.group, q.market) in keys:
                raise InputError(None, f"quotas[{i}]", "one entry per (group, market)")
            keys.add((q.group, q.market))
        return self

    def price_overrides(self, market: Market) -> dict[str, float]:
        return self.spot_usd_per_h if market is Market.SPOT else self.on_demand_usd_per_h

    def quota_limits(self) -> dict[tuple[QuotaGroup, Market], int]:
        return {(q.group, q.market): q.vcpus for q in self.quotas}
