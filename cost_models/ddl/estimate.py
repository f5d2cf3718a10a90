"""Time and dollar cost of one data-parallel training job on one cloud configuration.

A configuration is (instance type, nodes N, market on_demand/spot); each node has G GPUs
(catalog :mod:`cost_models.cloud`) and every GPU holds a per-GPU batch of ``b`` samples.

Per iteration (seconds):

* compute: forward + backward of ``b`` samples, ``b x fwd_bwd_flop / (peak(precision) x
  efficiency)`` from :mod:`cost_models.roofline` (or ``b / measured samples/s per GPU``),
  plus the optimizer step, a memory-bound sweep over ``OPTIMIZER_BYTES_PER_PARAM`` bytes
  per parameter, plus the roofline's per-invocation overhead. The backward pass is 2/3 of
  forward + backward (see :mod:`cost_models.ddl.workloads`).
* interconnect / network stall: exposed DDP all-reduce time (:mod:`.allreduce`) over the
  node's ring bandwidth (:mod:`.topology`) and the NIC.
* GPU time ``t_gpu = compute + interconnect stall + network stall``.
* data (DS-Analyzer's terms, Mohan et al., VLDB 2021): loader processes prefetch, so the
  data pipeline runs alongside the GPU and an iteration takes ``max(t_gpu, t_prep,
  t_fetch)``. ``t_prep = G b / (prep rate per vCPU x loader vCPUs)`` with ``loader vCPUs =
  vCPUs - G`` (one vCPU drives each GPU's training process). ``t_fetch = G b x sample
  bytes x (1 - hit) / storage rate``: the first epoch reads everything from storage
  (hit = 0); later epochs hit the page cache for ``hit = min(1, cache / dataset)`` of the
  reads (a MinIO-like cache; the plain LRU page cache does worse, DS-Analyzer section 4),
  with ``cache = PAGE_CACHE_FRACTION x instance memory``. Each node caches on its own and,
  with a fresh shuffle every epoch, eventually reads the whole dataset, so the hit rate does
  not grow with N (a partitioned cache such as DS-Analyzer's CoorDL would). Prep stall =
  ``max(0, t_prep - t_gpu)``; fetch stall = ``max(0, t_fetch - max(t_gpu, t_prep))`` (the
  extra time beyond a fully cached run, as DS-Analyzer measures it).

Per job: ``I = ceil(dataset samples / (N G b))`` iterations per epoch; training time =
``I x (cold iteration + (epochs - 1) x warm iteration)``. The stall breakdown is the share
of each term in that total. Spot: each node is reclaimed at the Spot Advisor band's hourly
rate ``lambda``; an interruption costs the restart overhead plus on average half a
checkpoint interval of lost work, and checkpoints are written every interval, so
``hours = train_h x (1 + N lambda (interval_h / 2 + restart_h)) + (train_h / interval_h) x
checkpoint write h`` (first order in ``N lambda``, valid while interruptions are rare).
Dollar cost = ``N x price per hour x hours`` (per-second billing).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum

from cost_models.cloud import InstanceType, instance
from cost_models.ddl.allreduce import CommParams, ddp_comm_stall
from cost_models.ddl.topology import ring_bandwidth
from cost_models.ddl.workloads import FLOP_PER_GFLOP, FP32_BYTES, TrainingModel
from cost_models.devices import Precision, device
from cost_models.errors import DataError
from cost_models.roofline import RooflineParams, compute_time_s, memory_time_s
from cost_models.units import BYTES_PER_GIB, BYTES_PER_MB, SECONDS_PER_HOUR

# Optimizer step (SGD with momentum / Adam), bytes touched per parameter: read weight,
# gradient and one FP32 state, write weight and state = 5 x 4 bytes (Adam's second
# moment adds 8 more; we count the SGD case).
OPTIMIZER_BYTES_PER_PARAM = 5 * FP32_BYTES
# Checkpoint = FP32 weights + two FP32 optimizer moments (Adam; SGD needs one): bytes/param.
CHECKPOINT_BYTES_PER_PARAM = 3 * FP32_BYTES
# Share of instance memory the page cache may hold for the dataset (assumption: the rest
# holds the training processes, loader workers and pinned buffers).
DEFAULT_PAGE_CACHE_FRACTION = 0.5
# AWS EBS gp3 baseline throughput, MB/s (AWS EBS volume types page: 125 MiB/s baseline,
# provisionable up to 1000 MiB/s); 125 MiB/s = 131 MB/s, rounded down.
DEFAULT_STORAGE_MB_PER_S = 125.0
# Spot restart overhead: replacement launch, container start, checkpoint load, in seconds
# (assumption; EC2 launch takes on the order of a minute, framework start a few more).
DEFAULT_RESTART_S = 300.0
DEFAULT_CHECKPOINT_INTERVAL_H = 1.0  # assumption: hourly checkpoints


class Market(StrEnum):
    ON_DEMAND = "on_demand"
    SPOT = "spot"


@dataclass(frozen=True)
class Platform:
    """Everything about the environment that is not the instance catalog."""

    storage_mb_per_s: float = DEFAULT_STORAGE_MB_PER_S
    page_cache_fraction: float = DEFAULT_PAGE_CACHE_FRACTION
    restart_s: float = DEFAULT_RESTART_S
    checkpoint_interval_h: float = DEFAULT_CHECKPOINT_INTERVAL_H
    comm: CommParams = field(default_factory=CommParams)
    roofline: RooflineParams = field(default_factory=RooflineParams)


@dataclass(frozen=True)
class Job:
    model: TrainingModel
    epochs: int
    batch_per_gpu: int
    precision: Precision = Precision.FP32
    prep_samples_per_s_per_vcpu: float | None = None  # None: the dataset's default
    samples_per_s_per_gpu: Mapping[str, float] = field(default_factory=dict)  # by device

    @property
    def prep_rate(self) -> float:
        rate = self.prep_samples_per_s_per_vcpu
        return self.model.dataset.prep_samples_per_s_per_vcpu if rate is None else rate


@dataclass(frozen=True)
class Estimate:
    instance_type: str
    nodes: int
    market: Market
    gpus: int  # in total
    iterations: int  # over the whole job
    iteration_s: float  # average over the job
    compute_s: float  # per iteration
    fetch_stall_s: float  # average per iteration
    prep_stall_s: float  # average per iteration
    interconnect_stall_s: float  # per iteration
    network_stall_s: float  # per iteration
    train_h: float  # without spot overhead
    spot_overhead_h: float
    hours: float  # expected wall-clock time
    price_usd_per_h: float  # per node
    cost_usd: float
    naive_hours: float  # compute only, perfect scaling, no stall ("ignoring stalls")

    def pct(self, stall_s: float) -> float:
        return 100.0 * stall_s / self.iteration_s

    @property
    def config(self) -> tuple[str, int, Market]:
        """Which configuration this is: (instance type, nodes, market)."""
        return self.instance_type, self.nodes, self.market

    def breakdown_s(self) -> dict[str, float]:
        """Seconds per iteration by cause (compute, then the four stalls); they sum to
        ``iteration_s``."""
        return {
            "compute": self.compute_s,
            "fetch": self.fetch_stall_s,
            "prep": self.prep_stall_s,
            "interconnect": self.interconnect_stall_s,
            "network": self.network_stall_s,
        }


def price_usd_per_h(inst: InstanceType, market: Market) -> float:
    return inst.spot_usd_per_h if market is Market.SPOT else inst.on_demand_usd_per_h


def compute_s(job: Job, inst: InstanceType, platform: Platform) -> tuple[float, float]:
    """(forward + backward seconds, optimizer step + overhead seconds) of one iteration."""
    if inst.gpu is None:
        raise DataError(None, "instance_type", f"a GPU instance (got {inst.name!r})")
    gpu = device(inst.gpu)
    measured = job.samples_per_s_per_gpu.get(gpu.name)
    if measured is not None:
        fwd_bwd = job.batch_per_gpu / measured
    else:
        flops = job.model.fwd_bwd_gflop_per_sample * FLOP_PER_GFLOP * job.batch_per_gpu
        fwd_bwd = compute_time_s(flops, gpu, job.precision, platform.roofline)
    step = (
        memory_time_s(OPTIMIZER_BYTES_PER_PARAM * job.model.parameters, gpu, platform.roofline)
        + platform.roofline.overhead_s
    )
    return fwd_bwd, step


def _data_stalls(t_gpu: float, t_prep: float, t_fetch: float) -> tuple[float, float]:
    """(fetch stall, prep stall) of one iteration, DS-Analyzer's decomposition."""
    prep = max(0.0, t_prep - t_gpu)
    fetch = max(0.0, t_fetch - max(t_gpu, t_prep))
    return fetch, prep


def estimate(
    job: Job,
    instance_type: str,
    nodes: int,
    market: Market,
    platform: Platform = Platform(),
    price_overrides: Mapping[str, float] | None = None,
) -> Estimate:
    """Time, cost and stall breakdown of ``job`` on ``nodes`` x ``instance_type``.

    ``price_overrides`` maps an instance type to its price (USD/h) in ``market``.
    """
    inst = instance(instance_type)
    g, b = inst.gpus, job.batch_per_gpu
    fwd_bwd, step = compute_s(job, inst, platform)
    comm = ddp_comm_stall(
        job.model.gradient_bytes,
        fwd_bwd * 2 / 3,
        g,
        nodes,
        ring_bandwidth(instance_type).gb_per_s,
        inst.network_gbps,  # Gbit/s (cost_models.cloud's catalog field)
        platform.comm,
    )
    t_compute = fwd_bwd + step
    t_gpu = t_compute + comm.interconnect_stall_s + comm.network_stall_s

    dataset = job.model.dataset
    t_prep = g * b / (job.prep_rate * max(1, inst.vcpus - g))
    cache_bytes = platform.page_cache_fraction * inst.memory_gib * BYTES_PER_GIB
    hit = min(1.0, cache_bytes / dataset.bytes_total)
    read_s = g * b * dataset.sample_bytes / (platform.storage_mb_per_s * BYTES_PER_MB)
    cold_fetch, cold_prep = _data_stalls(t_gpu, t_prep, read_s)
    warm_fetch, warm_prep = _data_stalls(t_gpu, t_prep, read_s * (1 - hit))

    per_epoch = math.ceil(dataset.train_samples / (nodes * g * b))
    iterations = per_epoch * job.epochs
    fetch = (cold_fetch + (job.epochs - 1) * warm_fetch) / job.epochs
    prep = (cold_prep + (job.epochs - 1) * warm_prep) / job.epochs
    iteration_s = t_gpu + fetch + prep
    train_h = iterations * iteration_s / SECONDS_PER_HOUR

    spot_h = 0.0
    if market is Market.SPOT:
        interval_h = platform.checkpoint_interval_h
        restart_h = platform.restart_s / SECONDS_PER_HOUR
        lost_h = nodes * inst.interruption.hourly_rate * (interval_h / 2 + restart_h)
        write_h = (
            CHECKPOINT_BYTES_PER_PARAM
            * job.model.parameters
            / (platform.storage_mb_per_s * BYTES_PER_MB)
            / SECONDS_PER_HOUR
        )
        spot_h = train_h * lost_h + train_h / interval_h * write_h
    hours = train_h + spot_h
    price = (price_overrides or {}).get(instance_type, price_usd_per_h(inst, market))
    return Estimate(
        instance_type=instance_type,
        nodes=nodes,
        market=market,
        gpus=nodes * g,
        iterations=iterations,
        iteration_s=iteration_s,
        compute_s=t_compute,
        fetch_stall_s=fetch,
        prep_stall_s=prep,
        interconnect_stall_s=comm.interconnect_stall_s,
        network_stall_s=comm.network_stall_s,
        train_h=train_h,
        spot_overhead_h=spot_h,
        hours=hours,
        price_usd_per_h=price,
        cost_usd=nodes * price * hours,
        naive_hours=iterations * t_compute / SECONDS_PER_HOUR,
    )
