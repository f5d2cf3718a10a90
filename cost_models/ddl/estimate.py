"""Time and dollar cost of one data-parallel training job on one cloud configuration.

A configuration is (instance type, nodes N, market on_demand/spot); each node has G GPUs
(catalog :mod:`cost_models.cloud`) and every GPU holds a per-GPU batch of ``b`` samples.

Per iteration (seconds):

* compute: one training step of ``b`` samples on one GPU (forward, backward, optimizer step,
  host dispatch) from the calibrated performance model, :func:`cost_models.perf.model.
  training_step` (PyTorch, the job's precision; fitted to NVIDIA's measured training
  throughput, provenance ``calibrated`` on measured devices, ``roofline`` elsewhere), or
  ``b / measured samples/s per GPU`` given in the scenario (provenance ``measured``; the
  measured single-GPU rate includes the optimizer step).
* interconnect stall (inside a node of G GPUs): the calibrated model's data-parallel term
  (``training_step`` on G GPUs minus on one: the ring all-reduce at the fitted achieved
  fraction ``eta_link`` of the device's nominal link, fitted to DGX-1 8-GPU scaling, not
  overlapped with backward as fitted), scaled by ``nominal link / ring bandwidth`` of the
  instance's own topology (:mod:`.topology`: a p3.8xlarge quad has fewer NVLink rings than
  the DGX-1 mesh, p2.16xlarge crosses QPI).
* network stall (across N nodes): ddl's own model, the exposed DDP all-reduce of the
  gradient buckets over the NIC, overlapped with the backward pass (:mod:`.allreduce`;
  backward = ``backward_ratio / (1 + backward_ratio)`` of the step, the fitted ratio).
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
rate ``lambda`` (:func:`cost_models.perf.spot_lifetimes.advisor_hourly_rate`); an
interruption costs the restart overhead plus on average half a checkpoint interval of lost
work, and checkpoints are written every interval, so ``hours = train_h x (1 + N lambda
(interval_h / 2 + restart_h)) + (train_h / interval_h) x checkpoint write h`` (first order in
``N lambda``, valid while interruptions are rare; the spread, and the measured lifetimes that
are far shorter, are in :mod:`.spot_risk`).
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
from cost_models.ddl.workloads import FP32_BYTES, TrainingModel
from cost_models.devices import Precision, device
from cost_models.errors import DataError
from cost_models.perf import calibration
from cost_models.perf.catalog import workload
from cost_models.perf.hardware import Runtime, interconnect
from cost_models.perf.model import Timing, training_step
from cost_models.perf.spot_lifetimes import advisor_hourly_rate
from cost_models.units import BYTES_PER_GIB, BYTES_PER_MB, SECONDS_PER_HOUR

# ddl model name -> cost_models.perf catalog name (BERT-base at its default 128 tokens, the
# MNLI fine-tuning length of cost_models.ddl.workloads)
PERF_MODELS = {
    "resnet50": "resnet50",
    "vgg11": "vgg11",
    "alexnet": "alexnet",
    "bert-base": "bert_base",
}
TRAINING_RUNTIME = Runtime.PYTORCH  # DDP training in PyTorch eager mode
MEASURED = "measured"  # provenance of a rate given in the scenario
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


@dataclass(frozen=True)
class Job:
    model: TrainingModel
    epochs: int
    batch_per_gpu: int
    precision: Precision = Precision.FP32
    prep_samples_per_s_per_vcpu: float | None = None  # None: the dataset's default
    # measured single-GPU training rates, by instance type or device name
    samples_per_s_per_gpu: Mapping[str, float] = field(default_factory=dict)

    @property
    def prep_rate(self) -> float:
        rate = self.prep_samples_per_s_per_vcpu
        return self.model.dataset.prep_samples_per_s_per_vcpu if rate is None else rate


@dataclass(frozen=True)
class ComputeRate:
    """One GPU's training step of one instance type, with its provenance."""

    step_s: float  # forward + backward + optimizer step of ``batch`` samples on one GPU
    batch: int
    provenance: str  # "measured", "calibrated" or "roofline"
    expected_error_pct: float | None  # validation error of an estimate; None if measured

    @property
    def samples_per_s_per_gpu(self) -> float:
        return self.batch / self.step_s


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
    rate: ComputeRate  # the per-GPU training rate used and where it came from

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


def compute_rate(job: Job, inst: InstanceType) -> ComputeRate:
    """The single-GPU training step of ``job`` on ``inst``: measured (the scenario's rate
    for the instance type, else for its GPU) or the calibrated model's."""
    gpu = _gpu_of(inst)
    measured = job.samples_per_s_per_gpu.get(inst.name, job.samples_per_s_per_gpu.get(gpu))
    if measured is not None:
        return ComputeRate(job.batch_per_gpu / measured, job.batch_per_gpu, MEASURED, None)
    cal = calibration.load()
    provenance = cal.provenance(gpu, TRAINING_RUNTIME)
    return ComputeRate(
        _step(job, gpu, 1).latency_s,
        job.batch_per_gpu,
        provenance,
        cal.expected_error_pct(gpu, job.precision, "training", provenance),
    )


def interconnect_stall_s(job: Job, inst: InstanceType) -> float:
    """Calibrated intra-node all-reduce seconds per iteration, rescaled to the instance's
    ring bandwidth (see the module docstring); zero on one GPU."""
    if inst.gpus == 1:
        return 0.0
    gpu = _gpu_of(inst)
    comm_s = _step(job, gpu, inst.gpus).latency_s - _step(job, gpu, 1).latency_s
    link = interconnect(device(gpu), inst.gpus).bandwidth_gb_per_s
    return comm_s * link / ring_bandwidth(inst.name).gb_per_s


def _gpu_of(inst: InstanceType) -> str:
    if inst.gpu is None:
        raise DataError(None, "instance_type", f"a GPU instance (got {inst.name!r})")
    return inst.gpu


def _step(job: Job, gpu: str, gpus: int) -> Timing:
    params = calibration.load().params
    work = workload(PERF_MODELS[job.model.name])
    return training_step(
        work, device(gpu), job.batch_per_gpu, job.precision, TRAINING_RUNTIME, params, gpus=gpus
    )


def checkpoint_write_h(job: Job, platform: Platform) -> float:
    """Hours to write one checkpoint to the instance's storage."""
    size_bytes = CHECKPOINT_BYTES_PER_PARAM * job.model.parameters
    return size_bytes / (platform.storage_mb_per_s * BYTES_PER_MB) / SECONDS_PER_HOUR


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
    rate = compute_rate(job, inst)
    ratio = calibration.load().params["backward_ratio"]
    network = ddp_comm_stall(
        job.model.gradient_bytes,
        rate.step_s * ratio / (1 + ratio),
        1,  # inside the node: the calibrated interconnect term below
        nodes,
        ring_bandwidth(instance_type).gb_per_s,
        inst.network_gbps,  # Gbit/s (cost_models.cloud's catalog field)
        platform.comm,
    ).network_stall_s
    interconnect_s = interconnect_stall_s(job, inst)
    t_compute = rate.step_s
    t_gpu = t_compute + interconnect_s + network

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
        lost_h = nodes * advisor_hourly_rate(inst.interruption.value) * (interval_h / 2 + restart_h)
        write_h = checkpoint_write_h(job, platform)
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
        interconnect_stall_s=interconnect_s,
        network_stall_s=network,
        train_h=train_h,
        spot_overhead_h=spot_h,
        hours=hours,
        price_usd_per_h=price,
        cost_usd=nodes * price * hours,
        naive_hours=iterations * t_compute / SECONDS_PER_HOUR,
        rate=rate,
    )
