"""Scenario schema of the BATCH formulation (``kind = "batch"``).

Keys (units in names; see ``docs/batch.md``):

* ``percentile`` (``p90``, ``p95``, ``p99``) and ``slo_ms``: the latency SLO per hour
  (optional with ``objective = "latency"``, where it is an extra limit);
* ``objective``: ``"cost"`` (default: the cheapest plan within the SLO) or ``"latency"``
  (the dual: the lowest request-weighted mean of the hourly percentile latency within a
  cost budget, ``budget_usd_per_h`` for every interval or ``budget_usd`` for the trace);
* ``architecture`` (``x86`` or ``arm``): the Lambda GB-s price;
* ``time_step_s``: the buffer's time grid (every timeout a whole number of steps; waits are
  exact to half a step);
* ``max_config_changes``: how many times the (M, B, T) configuration may change between
  consecutive hours (omit for a free choice every hour);
* ``max_concurrency``: concurrent Lambda executions allowed (AWS's default Region quota is
  1,000: docs.aws.amazon.com/lambda/latest/dg/lambda-concurrency.html);
* ``cold_start_prob``, ``cold_start_ms``: an optional cold start added to a batch;
* ``[grid]``: ``memory_mb``, ``batch_sizes``, ``timeouts_s``, each a list or a
  ``{start, stop, step}`` range (``stop`` included);
* ``[service]``: the performance model (``fixed_ms``, ``setup_ms``, ``per_request_ms``,
  ``parallel_fraction``) or ``table``, a CSV ``memory_mb,batch_size,service_ms``;
* ``[arrivals]``: per hour, ``rate_qps`` (Poisson), plus ``scv`` and
  ``lag1_autocorrelation`` (a balanced-means MAP(2)); or ``maps`` (a list of ``{d0, d1}``
  per hour); or ``inter_arrivals`` (CSV ``hour,inter_arrival_s``, a MAP(2) fitted per
  hour by three moments and lag-1 autocorrelation). ``duration_h`` is the length of each
  interval (default 1 h);
* ``[hybrid]``: provisioned VMs next to Lambda (MArk-style): ``vms``, a list of offers
  (``instance_type`` from ``cost_models/cloud.py``, ``market`` ``on_demand`` or ``spot``,
  ``max_count``, optional ``price_usd_per_h`` and, for spot, ``interruption_rate_per_h``),
  their service time (``model``, ``precision``, ``runtime`` of the calibrated performance
  model, or ``service_table``, a CSV ``instance_type,batch_size,service_ms``) at
  ``vm_batch_sizes``, ``max_utilization`` and ``lambda_share_step`` (the split grid).
"""

from __future__ import annotations

from typing import Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, model_validator

from cost_models.batch.aws_lambda import MEMORY_MAX_MB, MEMORY_MIN_MB
from cost_models.cloud import INSTANCES
from cost_models.perf.catalog import model_names
from cost_models.perf.hardware import Runtime
from formulations.types import DataFile

RANGE_TOL = 1e-9  # slack (in the range's unit) when including ``stop`` in a float range
# Model size bounds (exit 2 beyond them): the buffer's CTMC has batch size x phases states
# and every matrix exponential costs O(states^3); a timeout costs one product per step.
MAX_BATCH_SIZE = 256  # requests per batch (BATCH's own grid stops at 20)
MAX_TIMEOUT_STEPS = 2000  # timeout / time_step_s (the shipped grids use at most 49)
MAX_GRID_CONFIGS = 200_000  # memory sizes x batch sizes x timeouts (shipped: 27,440)
MAX_INTERVALS = 24 * 31  # hours of arrivals (a month; the shipped days have 24)
# A bound on a rate, requests/s: 1,000 concurrent executions (AWS's default quota) of 1 ms
# each serve 1e6 requests/s one at a time; 1e7 leaves room for batches of 10.
MAX_RATE_QPS = 1e7
MAX_VMS_PER_OFFER = 1000  # VMs of one offer per interval
MAX_VM_OFFERS = 8  # instance type x market pairs
MAX_SPLITS = 100  # Lambda shares on the split grid: 1 / lambda_share_step
MAX_VM_BATCH_SIZE = 1024  # requests per VM batch


class Range(BaseModel):
    """``start, start + step, ...`` up to and including ``stop``."""

    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)

    start: float
    stop: float
    step: float = Field(gt=0)

    @model_validator(mode="after")
    def _ordered(self) -> Range:
        if self.stop < self.start:
            raise ValueError("stop >= start")
        return self

    @model_validator(mode="after")
    def _bounded(self) -> Range:
        if self.count() > MAX_GRID_CONFIGS:
            raise ValueError(
                f"at most {MAX_GRID_CONFIGS:,} values (start {self.start:g}, stop "
                f"{self.stop:g}, step {self.step:g} give {self.count():,})"
            )
        return self

    def count(self) -> int:
        return int(np.floor((self.stop - self.start) / self.step + RANGE_TOL)) + 1

    def values(self) -> list[float]:
        return [round(self.start + i * self.step, 9) for i in range(self.count())]


class GridSpec(BaseModel):
    """The candidate grid: memory sizes (MB), batch sizes, timeouts (s)."""

    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)

    memory_mb: list[int] | Range
    batch_sizes: list[int] | Range
    timeouts_s: list[float] | Range

    @model_validator(mode="after")
    def _valid(self) -> GridSpec:
        memory = self.memory_values()
        if not memory or min(memory) < MEMORY_MIN_MB or max(memory) > MEMORY_MAX_MB:
            raise ValueError(f"memory_mb: sizes within {MEMORY_MIN_MB}..{MEMORY_MAX_MB} MB")
        batch = self.batch_values()
        if not batch or min(batch) < 1 or max(batch) > MAX_BATCH_SIZE:
            raise ValueError(f"batch_sizes: integers 1..{MAX_BATCH_SIZE} (the model size bound)")
        if not self.timeout_values() or min(self.timeout_values()) <= 0:
            raise ValueError("timeouts_s: positive timeouts in seconds")
        configs = len(memory) * len(batch) * len(self.timeout_values())
        if configs > MAX_GRID_CONFIGS:
            raise ValueError(
                f"at most {MAX_GRID_CONFIGS:,} (memory, batch size, timeout) configurations "
                f"(got {configs:,})"
            )
        return self

    def memory_values(self) -> list[int]:
        raw = self.memory_mb.values() if isinstance(self.memory_mb, Range) else self.memory_mb
        return sorted({round(v) for v in raw})

    def batch_values(self) -> list[int]:
        raw = self.batch_sizes.values() if isinstance(self.batch_sizes, Range) else self.batch_sizes
        return sorted({round(v) for v in raw})

    def timeout_values(self) -> list[float]:
        raw = self.timeouts_s.values() if isinstance(self.timeouts_s, Range) else self.timeouts_s
        return sorted({float(v) for v in raw})


class ServiceSpec(BaseModel):
    """Service time of a batch: the CPU-share performance model, or a measured table."""

    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)

    fixed_ms: float | None = Field(None, ge=0)
    setup_ms: float | None = Field(None, ge=0)
    per_request_ms: float | None = Field(None, ge=0)
    parallel_fraction: float | None = Field(None, ge=0, le=1)
    table: DataFile | None = None

    @model_validator(mode="after")
    def _one_source(self) -> ServiceSpec:
        model = (self.fixed_ms, self.setup_ms, self.per_request_ms, self.parallel_fraction)
        if self.table is None and any(v is None for v in model):
            raise ValueError(
                "either table (a CSV) or all of fixed_ms, setup_ms, per_request_ms, "
                "parallel_fraction"
            )
        if self.table is not None and any(v is not None for v in model):
            raise ValueError("table or the performance model, not both")
        return self


class MapSpec(BaseModel):
    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)

    d0: list[list[float]]
    d1: list[list[float]]


class ArrivalsSpec(BaseModel):
    """One arrival process per interval (hour)."""

    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)

    duration_h: float = Field(1.0, gt=0, le=24)
    rate_qps: list[float] | None = None
    scv: list[float] | None = None
    lag1_autocorrelation: list[float] | None = None
    maps: list[MapSpec] | None = None
    inter_arrivals: DataFile | None = None

    @model_validator(mode="after")
    def _one_source(self) -> ArrivalsSpec:
        given = [v is not None for v in (self.rate_qps, self.maps, self.inter_arrivals)]
        if sum(given) != 1:
            raise ValueError("exactly one of rate_qps, maps or inter_arrivals")
        if self.rate_qps is not None:
            if not self.rate_qps or min(self.rate_qps) <= 0:
                raise ValueError("rate_qps: a non-empty list of positive requests/s")
            if max(self.rate_qps) > MAX_RATE_QPS:
                raise ValueError(f"rate_qps: at most {MAX_RATE_QPS:g} requests/s")
            for key in ("scv", "lag1_autocorrelation"):
                values = getattr(self, key)
                if values is not None and len(values) != len(self.rate_qps):
                    raise ValueError(f"{key}: one value per rate_qps entry")
        elif self.scv is not None or self.lag1_autocorrelation is not None:
            raise ValueError("scv and lag1_autocorrelation go with rate_qps")
        if self.maps is not None and not self.maps:
            raise ValueError("maps: at least one interval")
        intervals = len(self.rate_qps or self.maps or [])
        if intervals > MAX_INTERVALS:
            raise ValueError(f"at most {MAX_INTERVALS} intervals (got {intervals})")
        return self


class VmOfferSpec(BaseModel):
    """One instance type in one market, and how many of it may run per interval."""

    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)

    instance_type: str
    market: Literal["on_demand", "spot"] = "on_demand"
    max_count: int = Field(strict=True, ge=0, le=MAX_VMS_PER_OFFER)
    price_usd_per_h: float | None = Field(None, gt=0)  # default: the catalog's price
    interruption_rate_per_h: float | None = Field(None, ge=0, le=1000)  # spot only

    @model_validator(mode="after")
    def _known(self) -> VmOfferSpec:
        if self.instance_type not in INSTANCES:
            raise ValueError(
                f"instance_type: one of {', '.join(sorted(INSTANCES))} (got {self.instance_type!r})"
            )
        if self.market == "on_demand" and self.interruption_rate_per_h is not None:
            raise ValueError("interruption_rate_per_h: only for market = 'spot'")
        return self


class HybridSpec(BaseModel):
    """Provisioned VMs carrying part of the load, Lambda the rest (a Bernoulli split)."""

    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)

    vms: list[VmOfferSpec] = Field(min_length=1, max_length=MAX_VM_OFFERS)
    model: str = "keras_resnet50v2"
    precision: Literal["fp32", "tf32", "fp16"] = "fp32"
    runtime: Runtime = Runtime.KERAS
    service_table: DataFile | None = None
    vm_batch_sizes: list[int] = Field([1, 2, 4, 8, 16], min_length=1)
    max_utilization: float = Field(0.8, gt=0, le=1)
    lambda_share_step: float = Field(0.1, gt=0, le=1)

    @model_validator(mode="after")
    def _valid(self) -> HybridSpec:
        if self.service_table is None and self.model not in model_names():
            raise ValueError(f"model: one of {', '.join(model_names())} (got {self.model!r})")
        if min(self.vm_batch_sizes) < 1 or max(self.vm_batch_sizes) > MAX_VM_BATCH_SIZE:
            raise ValueError(f"vm_batch_sizes: integers 1..{MAX_VM_BATCH_SIZE}")
        splits = 1.0 / self.lambda_share_step
        if abs(splits - round(splits)) > 1e-9 or round(splits) > MAX_SPLITS:
            raise ValueError(
                f"lambda_share_step: 1 / n for an integer n <= {MAX_SPLITS} (got "
                f"{self.lambda_share_step:g})"
            )
        names = [(vm.instance_type, vm.market) for vm in self.vms]
        if len(set(names)) != len(names):
            raise ValueError("vms: each (instance_type, market) once")
        return self

    def shares(self) -> list[float]:
        """The split grid: Lambda's share of the requests, 0, step, ..., 1."""
        n = round(1.0 / self.lambda_share_step)
        return [k / n for k in range(n + 1)]


class BatchInputs(BaseModel):
    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)

    percentile: Literal["p90", "p95", "p99"] = "p95"
    slo_ms: float | None = Field(None, gt=0)
    objective: Literal["cost", "latency"] = "cost"
    budget_usd_per_h: float | None = Field(None, gt=0)
    budget_usd: float | None = Field(None, gt=0)
    architecture: Literal["x86", "arm"] = "x86"
    time_step_s: float = Field(0.01, gt=0)
    max_config_changes: int | None = Field(None, ge=0)
    max_concurrency: float = Field(1000.0, gt=0)
    cold_start_prob: float = Field(0.0, ge=0, le=1)
    cold_start_ms: float = Field(0.0, ge=0)
    grid: GridSpec
    service: ServiceSpec
    arrivals: ArrivalsSpec
    hybrid: HybridSpec | None = None

    @property
    def slo_limit_ms(self) -> float:
        """The latency limit every interval must meet (none: infinite, latency mode)."""
        return float("inf") if self.slo_ms is None else self.slo_ms

    @model_validator(mode="after")
    def _objective(self) -> BatchInputs:
        budgets = [b is not None for b in (self.budget_usd_per_h, self.budget_usd)]
        if self.objective == "cost":
            if self.slo_ms is None:
                raise ValueError("slo_ms: required with objective = 'cost'")
            if any(budgets):
                raise ValueError("budget_usd_per_h and budget_usd go with objective = 'latency'")
        else:
            if sum(budgets) != 1:
                raise ValueError(
                    "objective = 'latency': exactly one of budget_usd_per_h, budget_usd"
                )
            if self.hybrid is not None:
                raise ValueError("objective = 'latency' plans Lambda alone (no [hybrid])")
        return self

    @model_validator(mode="after")
    def _bounded(self) -> BatchInputs:
        steps = max(self.grid.timeout_values()) / self.time_step_s
        if steps > MAX_TIMEOUT_STEPS:
            raise ValueError(
                f"time_step_s: at most {MAX_TIMEOUT_STEPS} steps in the longest timeout "
                f"(grid.timeouts_s up to {max(self.grid.timeout_values()):g} s over "
                f"{self.time_step_s:g} s steps give {steps:,.0f})"
            )
        return self
