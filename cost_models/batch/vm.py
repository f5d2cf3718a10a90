"""Provisioned VMs next to Lambda (MArk-style hybrid): batch service time, capacity under
the SLO, spot interruptions, cost per interval, and the cheapest VM mix covering a load.

Service time s_v(b) (ms) of a batch of b requests on one device of instance type v: a
measured table (``instance_type,batch_size,service_ms``) when given, else the calibrated
performance model (``cost_models.perf.calibration.timing`` of the scenario's model,
precision and runtime on the instance's GPU, or on the CPU instance itself for c5/m5:
``cost_models/perf/calibration.json``, fitted by ``benchmarks/calibrate.py``). A GPU
instance with g GPUs runs g independent servers.

Capacity under the SLO (MArk's rule: a VM's capacity is its profiled maximum throughput
at the batch size it serves within the SLO, ``MArk-Project modules/constants.py``
``AllCapacity`` with batch sizes ``HANDLE_SIZE_*``): a server that takes up to b waiting
requests whenever it is idle keeps every request within ``2 s_v(b)`` while the load stays
below ``b / s_v(b)`` (a request waits at most for the batch in service, then rides the
next one). So the VM's batch size is the listed b of the highest throughput ``b / s_v(b)``
with ``2 s_v(b) <= slo_ms``, its peak rate ``max_rps = devices b / s_v(b)`` (requests/s),
and the load planned on it at most ``max_utilization`` of that (headroom for the
randomness of arrivals, which this rule does not model).

Spot VMs (``cost_models/perf/spot_lifetimes.py``): interruptions are a Poisson process of
rate r per VM-hour (the AWS Spot Advisor band of the type as an hourly hazard,
``advisor_hourly_rate``, or a rate given in the scenario, e.g. from measured lifetimes).
An interrupted VM is replaced at the next planning interval, so within an interval of h
hours a spot VM runs for ``min(tau, h)``, ``tau ~ Exp(r)``: its capacity is derated by the
expected share ``a = E[min(tau, h)] / h = (1 - exp(-r h)) / (r h)``, and it is billed for
that time only (EC2 bills Linux instances per second, and an interruption by AWS ends the
billing: docs.aws.amazon.com/AWSEC2/latest/UserGuide/spot-instances.html, "Billing for
interrupted Spot Instances"). On-demand VMs have a = 1.
"""

from __future__ import annotations

import csv
import itertools
import math
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from numpy.typing import NDArray

from cost_models.batch.arrivals import FloatArray
from cost_models.cloud import InstanceType
from cost_models.devices import Precision
from cost_models.errors import DataError
from cost_models.perf.calibration import Query, timing
from cost_models.perf.calibration import load as load_calibration
from cost_models.perf.hardware import Runtime
from cost_models.perf.spot_lifetimes import advisor_hourly_rate
from cost_models.units import MS_PER_S

SLO_SERVICE_FACTOR = 2.0  # worst wait: one batch in service, then one's own (MArk's rule)
MAX_VM_MIXES = 1_000_000  # VM count combinations enumerated by ``cheapest_cover``
CAPACITY_TOL = 1e-9  # relative slack when a mix's capacity equals the load


@dataclass(frozen=True)
class VmOffer:
    """One instance type in one market (on-demand or spot), and what it serves."""

    instance: InstanceType
    market: str  # "on_demand" or "spot"
    max_count: int  # VMs of this offer allowed per interval
    price_usd_per_h: float
    interruption_rate_per_h: float  # 0 for on-demand
    batch_sizes: NDArray[np.int64]  # listed batch sizes b
    service_ms: FloatArray  # s_v(b) per listed b, one device
    devices: int  # independent servers on the instance (GPUs, or 1 for a CPU instance)

    @property
    def name(self) -> str:
        return f"{self.instance.name}:{self.market}"

    def availability(self, interval_h: float) -> float:
        """Expected share of an interval a VM of this offer runs (1 on demand)."""
        rh = self.interruption_rate_per_h * interval_h
        return 1.0 if rh <= 0 else float(-math.expm1(-rh) / rh)

    def batch_index(self, slo_ms: float) -> int | None:
        """Index of the listed batch size served under ``slo_ms`` (None: no size fits)."""
        ok = SLO_SERVICE_FACTOR * self.service_ms <= slo_ms
        if not ok.any():
            return None
        throughput = np.where(ok, self.batch_sizes / self.service_ms, -np.inf)
        return int(np.argmax(throughput))

    def max_rps(self, slo_ms: float) -> float:
        """Peak requests/s of one VM at its SLO batch size (0 when none fits the SLO)."""
        i = self.batch_index(slo_ms)
        if i is None:
            return 0.0
        return float(self.devices * self.batch_sizes[i] / self.service_ms[i] * MS_PER_S)

    def capacity_qps(self, slo_ms: float, max_utilization: float, interval_h: float) -> float:
        """Load one VM may carry in the plan: peak x utilisation cap x spot availability."""
        return self.max_rps(slo_ms) * max_utilization * self.availability(interval_h)

    def cost_usd(self, interval_h: float) -> float:
        """Expected bill of one VM over an interval (spot: billed while it runs)."""
        return self.price_usd_per_h * interval_h * self.availability(interval_h)


def spot_rate_per_h(instance: InstanceType) -> float:
    """Interruptions per VM-hour of a spot instance: its Spot Advisor band as a hazard."""
    return advisor_hourly_rate(instance.interruption.value)


def modelled_service_ms(
    instance: InstanceType,
    model: str,
    precision: Precision,
    runtime: Runtime,
    batch_sizes: Sequence[int],
) -> tuple[FloatArray, int]:
    """(s_v(b) in ms per batch size, devices) from the calibrated performance model."""
    device_name = instance.gpu if instance.gpu is not None else instance.name
    params = load_calibration().params
    times = [
        timing(Query(model, device_name, int(b), precision, "inference", runtime), params)
        for b in batch_sizes
    ]
    service = np.array([t.latency_s * MS_PER_S for t in times], dtype=np.float64)
    return service, max(instance.gpus, 1)


def read_service_table(path: Path) -> dict[tuple[str, int], float]:
    """A measured table ``instance_type,batch_size,service_ms``: (type, b) -> ms."""
    rows: dict[tuple[str, int], float] = {}
    try:
        with path.open(newline="", encoding="utf-8") as handle:
            reader = csv.DictReader(handle)
            if reader.fieldnames != ["instance_type", "batch_size", "service_ms"]:
                raise DataError(path, "header", "columns instance_type,batch_size,service_ms")
            for line, row in enumerate(reader, start=2):
                try:
                    key = (str(row["instance_type"]), int(row["batch_size"]))
                    value = float(row["service_ms"])
                except (TypeError, ValueError):
                    raise DataError(path, f"line {line}", "a batch size and a time in ms") from None
                if not (math.isfinite(value) and value > 0 and key[1] >= 1):
                    raise DataError(path, f"line {line}", "batch_size >= 1, service_ms > 0")
                rows[key] = value
    except UnicodeDecodeError as exc:
        raise DataError(path, "(encoding)", f"UTF-8 text (byte {exc.start} is not)") from None
    except csv.Error as exc:
        raise DataError(path, "(syntax)", f"CSV text ({exc})") from None
    return rows


def count_bounds(
    capacities_qps: FloatArray, max_counts: NDArray[np.int64], load_qps: float
) -> NDArray[np.int64]:
    """Most VMs of each offer a cheapest mix covering ``load_qps`` can hold.

    ``ceil(load / capacity)`` VMs of one offer cover the load alone, so a mix with more of
    it costs more than that offer alone (prices are positive): bound min(that, max_count).
    """
    need = np.ceil(load_qps / np.maximum(capacities_qps, 1e-300) * (1 - CAPACITY_TOL))
    bound = np.where(capacities_qps > 0, np.minimum(need, max_counts), 0)
    return bound.astype(np.int64)


def cheapest_cover(
    loads_qps: FloatArray,
    capacities_qps: FloatArray,
    costs_usd: FloatArray,
    max_counts: NDArray[np.int64],
) -> tuple[FloatArray, NDArray[np.int64]]:
    """Per load: the lowest cost of integer VM counts (each <= max_count) whose capacity
    covers it (inf when none does), and those counts. Exact: every mix within
    ``count_bounds`` of the largest load is enumerated (at most ``MAX_VM_MIXES``)."""
    loads = np.asarray(loads_qps, dtype=float)
    offers = len(capacities_qps)
    best_cost = np.full(loads.shape, np.inf)
    best_counts = np.zeros((*loads.shape, offers), dtype=np.int64)
    if offers == 0 or loads.size == 0:
        best_cost[loads <= 0] = 0.0
        return best_cost, best_counts
    bounds = count_bounds(capacities_qps, max_counts, float(loads.max()))
    mixes = int(np.prod(bounds + 1))
    if mixes > MAX_VM_MIXES:
        raise DataError(
            None,
            "hybrid.vms",
            f"at most {MAX_VM_MIXES:,} VM count combinations to cover the peak load "
            f"(these offers give {mixes:,}; lower max_count)",
        )
    counts = np.array(list(itertools.product(*(range(int(b) + 1) for b in bounds))))
    capacity = counts @ capacities_qps
    cost = counts @ costs_usd
    order = np.argsort(capacity, kind="stable")
    capacity, cost, counts = capacity[order], cost[order], counts[order]
    # Suffix minimum (and where it is reached) of cost over mixes with capacity >= a load.
    reverse = cost[::-1]
    running = np.minimum.accumulate(reverse)
    steps = np.where(reverse <= running, np.arange(len(cost)), 0)
    arg = (len(cost) - 1 - np.maximum.accumulate(steps))[::-1]
    suffix = running[::-1]
    first = np.searchsorted(capacity, loads * (1 - CAPACITY_TOL), side="left")
    ok = first < len(cost)
    best_cost[ok] = suffix[first[ok]]
    best_counts[ok] = counts[arg[first[ok]]]
    return best_cost, best_counts
