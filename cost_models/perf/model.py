"""Calibrated performance model: per-kernel roofline, host dispatch, training, data parallel.

Inference of a batch of ``b`` samples (equations and fitted values in docs/performance_model.md):

    sustained peak P_u = datasheet peak (boost clock) x (base / boost)^(1 - clock_exponent)
                   (clocks in hardware.CLOCKS; a board at its power limit runs between them)
    per kernel k:  rate     = P_u eta_u rho_rt F_gpu F_(gpu,u) F_stack (eta_conv for CNNs)
                            (F: efficiency factors, fitted only where data exist, else 1)
                   compute_k = (b f_k + fill_u P_u) / rate   (a kernel needs work to fill the
                            device: efficiency grows with batch size and FLOPs per launch;
                            fill_u per math path)
                   power_k  = b f_k e_u (node / 12 nm)^node_exponent / power_w  (GPUs: a
                            board held at its TDP cannot exceed power_w / energy per FLOP)
                   memory_k = (w_k + b (a_k + s_rt z_k)) bytes_per_element / (BW eta_mem)
                            (z_k: attention-score elements, s_rt: share a runtime moves)
    device_s = sum_k max(compute_k, power_k, memory_k)   (the binding roof per kernel)
    host_s   = kernels launched * dispatch_s[rt] * (1 + amp_dispatch if PyTorch AMP)
    GPU: latency = max(host_s, device_s) + call_s[rt]     (launches are asynchronous)
    CPU: latency = host_s + device_s + call_s[rt]         (the same cores dispatch and compute)

Training (per GPU, micro-batch b, A accumulation steps, N GPUs in one node): device and host
times x (1 + backward_ratio), plus the optimizer's memory traffic / A, plus the ring
all-reduce 2 (N - 1) / N params gradient_bytes / (link_bw eta_link) + sync_s, over A.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from cost_models.devices import DeviceType, Precision
from cost_models.perf.catalog import Workload
from cost_models.perf.hardware import (
    PROCESS_NODE_NM,
    Runtime,
    Unit,
    base_over_boost,
    interconnect,
    unit,
)
from cost_models.proteus.variants import BYTES_PER_ELEMENT
from cost_models.units import BYTES_PER_GB

FLOPS_PER_TFLOP = 1e12
JOULES_PER_PJ = 1e-12
PARAMS_PER_MILLION = 1e6
REFERENCE_NODE_NM = 12.0  # Volta/Turing's TSMC 12 nm: the node the fitted energies refer to
# GPU math paths whose energy per FLOP is fitted (CPUs are not power-capped in the model).
POWER_UNITS = (Unit.CUDA_FP32, Unit.TENSOR_TF32, Unit.TENSOR_FP16)

# Names of the fitted parameters, in the order of the least-squares vector (all > 0).
PARAMETER_NAMES: tuple[str, ...] = (
    *(f"eta_{u.value}" for u in Unit),  # achievable fraction of peak per math path
    "rho_tensorrt",  # efficiency of a runtime relative to PyTorch (cuDNN)
    "rho_tensorflow",
    "rho_tensorflow1",
    "rho_onnxruntime",
    "eta_conv",  # efficiency of convolutions (implicit GEMM) relative to dense GEMMs
    *(f"dispatch_s_{r.value}" for r in Runtime),  # host seconds per layer
    *(f"call_s_{r.value}" for r in Runtime),  # fixed per-call cost (sync, input copy), s
    "amp_dispatch",  # extra host share of PyTorch autocast (cast operators)
    # peak-seconds of work a kernel needs to reach half its rate, per math path
    *(f"fill_s_{u.value}" for u in Unit),
    "clock_exponent",  # sustained clock = base (boost / base)^clock_exponent
    "eta_mem",  # achieved fraction of DRAM bandwidth
    *(f"score_traffic_{r.value}" for r in Runtime),  # share of attention-score bytes moved
    *(f"pj_per_flop_{u.value}" for u in POWER_UNITS),  # board energy per FLOP at 12 nm, pJ
    "node_exponent",  # energy per FLOP ~ (process node)^node_exponent
    "backward_ratio",  # backward device time / forward device time
    "eta_link",  # achieved fraction of the interconnect bandwidth in all-reduce
    "sync_s",  # fixed per-step data-parallel cost (barrier, input pipeline), seconds
)

# Optimizer state traffic per parameter per step, bytes: SGD with momentum (ResNet, NVIDIA DLE)
# reads weight, gradient, momentum and writes weight and momentum in FP32 = 5 x 4 = 20 bytes;
# LAMB/Adam (BERT) also read and write the second moment = 7 x 4 = 28 bytes. AMP adds the FP16
# weight copy (2 bytes written). From the update rules (Sutskever 2013; Kingma & Ba 2015).
OPTIMIZER_BYTES_PER_PARAM = {"cnn": 20.0, "transformer": 28.0}
AMP_WEIGHT_COPY_BYTES_PER_PARAM = 2.0
# Gradients are all-reduced in the precision of the backward pass: FP16 under AMP, FP32 else.
GRADIENT_BYTES = {Precision.FP16: 2, Precision.INT8: 2, Precision.FP32: 4, Precision.TF32: 4}


# Efficiency factors fitted only where data exist (each with a prior at 1 in the fit, see
# benchmarks/calibrate.py); a factor absent from the calibration is 1.
FACTOR_FAMILIES = ("gpu", "path", "runtime")


def factor_names(case: Case) -> tuple[str, ...]:
    """The efficiency factors of ``case``: its GPU, its (GPU, math path) and its software
    stack, (runtime, GPU, mode, network kind) (none on CPUs).

    The software-stack factor is split by mode and by network kind because those are
    different programs: NVIDIA's inference benchmarks and training loops, and its CNN and
    BERT examples, are separate code bases with their own containers and kernels (e.g. TF1
    ResNet-50 inference on an A100 runs at 5% of its TF32 peak while the same table family's
    BERT inference and ResNet-50 training do not), so one factor per (runtime, GPU) had to
    average contradicting tables."""
    if case.dev.kind == "cpu":
        return ()
    u = unit(case.dev, case.precision)
    name = case.dev.name
    mode = "training" if case.training else "inference"
    stack = f"runtime_{case.runtime.value}_{name}_{mode}_{case.work.kind}"
    return (f"gpu_{name}", f"path_{name}_{u.value}", stack)


@dataclass(frozen=True)
class PerfParams:
    values: dict[str, float]  # PARAMETER_NAMES and the fitted factors (factor_names)

    def __getitem__(self, name: str) -> float:
        return self.values[name]

    def factor(self, name: str) -> float:
        return self.values.get(name, 1.0)


@dataclass(frozen=True)
class Timing:
    latency_s: float
    host_s: float
    compute_s: float  # sum over kernels of their compute-bound (or power-bound) time
    memory_s: float  # sum over kernels of their memory-bound time
    bound: str  # "compute", "memory" or "overhead"


@dataclass(frozen=True)
class Case:
    """One forward pass (inference) or one training micro-batch step per GPU."""

    work: Workload
    dev: DeviceType
    batch: int  # per GPU
    precision: Precision
    runtime: Runtime
    training: bool = False
    gpus: int = 1
    accumulation_steps: int = 1


_UNITS = tuple(Unit)
_RUNTIMES = tuple(Runtime)


@dataclass(frozen=True)
class Cases:
    """Many cases flattened into arrays, so that the fit evaluates them all at once.

    Kernel arrays (one entry per kernel group of every case) and case arrays."""

    owner: np.ndarray  # case index of each kernel group
    count: np.ndarray  # identical kernels in the group
    flops: np.ndarray  # FLOPs of one kernel for the whole batch
    weight_bytes: np.ndarray  # weight bytes one kernel reads, once per batch
    activation_bytes: np.ndarray  # activation bytes of one kernel for the whole batch,
    # attention scores aside
    score_bytes: np.ndarray  # bytes of attention scores one kernel moves for the whole batch
    peak_flops: np.ndarray  # per case, FLOP/s of its math path
    unit_index: np.ndarray
    runtime_index: np.ndarray
    cnn: np.ndarray  # bool
    cpu: np.ndarray  # bool
    power_unit: np.ndarray  # bool: power-capped math path
    node_ratio: np.ndarray  # process node / 12 nm (1 where not power-capped)
    power_w: np.ndarray
    bandwidth_bytes_per_s: np.ndarray
    dispatches: np.ndarray  # kernels the host launches per pass (Workload.dispatches)
    pytorch_amp: np.ndarray  # bool
    training: np.ndarray  # bool
    optimizer_bytes: np.ndarray  # per step (0 for inference)
    accumulation_steps: np.ndarray
    ring_bytes: np.ndarray  # all-reduce bytes per GPU per step (0 on one GPU)
    link_bytes_per_s: np.ndarray  # interconnect bandwidth (1 where unused)
    base_over_boost: np.ndarray  # base / boost clock (1 on CPUs)
    factor_keys: tuple[str, ...]  # factor names; "" (index 0) is no factor (1)
    factor_index: np.ndarray  # per case, indices into factor_keys of its 3 factors


def compile_cases(cases: Sequence[Case]) -> Cases:
    owner, count, flops, weights, moved, scores = [], [], [], [], [], []
    keys: dict[str, int] = {"": 0}
    factor_index = []
    per_case: dict[str, list[float]] = {k: [] for k in _CASE_FIELDS}
    for i, c in enumerate(cases):
        u = unit(c.dev, c.precision)
        element = BYTES_PER_ELEMENT[c.precision]
        for g in c.work.kernels:
            owner.append(i)
            count.append(g.count)
            flops.append(c.batch * g.flops)
            other = g.activation_elements - g.score_elements
            weights.append(g.weight_elements * element)
            moved.append(c.batch * other * element)
            scores.append(c.batch * g.score_elements * element)
        params = c.work.params_millions * PARAMS_PER_MILLION
        optimizer = 0.0
        if c.training:
            optimizer = params * (
                OPTIMIZER_BYTES_PER_PARAM[c.work.kind]
                + (AMP_WEIGHT_COPY_BYTES_PER_PARAM if c.precision is Precision.FP16 else 0.0)
            )
        ring, link_bw = 0.0, 1.0
        if c.gpus > 1:
            link = interconnect(c.dev, c.gpus)
            ring = 2.0 * (c.gpus - 1) / c.gpus * params * GRADIENT_BYTES[c.precision]
            link_bw = link.bandwidth_gb_per_s * BYTES_PER_GB
        names = (*factor_names(c), "", "", "")[:3]
        factor_index.append([keys.setdefault(n, len(keys)) for n in names])
        powered = u in POWER_UNITS
        values = {
            "peak_flops": c.dev.peak_tflops(c.precision) * FLOPS_PER_TFLOP,
            "unit_index": _UNITS.index(u),
            "runtime_index": _RUNTIMES.index(c.runtime),
            "cnn": c.work.kind == "cnn",
            "cpu": c.dev.kind == "cpu",
            "power_unit": powered,
            "node_ratio": PROCESS_NODE_NM[c.dev.name] / REFERENCE_NODE_NM if powered else 1.0,
            "power_w": c.dev.power_w,
            "bandwidth_bytes_per_s": c.dev.memory_bandwidth_gb_per_s * BYTES_PER_GB,
            "dispatches": c.work.dispatches,
            "pytorch_amp": c.runtime is Runtime.PYTORCH and c.precision is Precision.FP16,
            "training": c.training,
            "optimizer_bytes": optimizer,
            "accumulation_steps": c.accumulation_steps,
            "ring_bytes": ring,
            "link_bytes_per_s": link_bw,
            "base_over_boost": base_over_boost(c.dev),
        }
        for k, v in values.items():
            per_case[k].append(float(v))
    arrays = {k: np.array(v) for k, v in per_case.items()}
    for k in ("unit_index", "runtime_index"):
        arrays[k] = arrays[k].astype(int)
    for k in ("cnn", "cpu", "power_unit", "pytorch_amp", "training"):
        arrays[k] = arrays[k].astype(bool)
    return Cases(
        np.array(owner, dtype=int),
        np.array(count, dtype=float),
        np.array(flops),
        np.array(weights),
        np.array(moved),
        np.array(scores),
        **arrays,
        factor_keys=tuple(keys),
        factor_index=np.array(factor_index, dtype=int).reshape(-1, 3),
    )


_CASE_FIELDS = (
    "peak_flops",
    "unit_index",
    "runtime_index",
    "cnn",
    "cpu",
    "power_unit",
    "node_ratio",
    "power_w",
    "bandwidth_bytes_per_s",
    "dispatches",
    "pytorch_amp",
    "training",
    "optimizer_bytes",
    "accumulation_steps",
    "ring_bytes",
    "link_bytes_per_s",
    "base_over_boost",
)


@dataclass(frozen=True)
class Times:
    latency_s: np.ndarray
    host_s: np.ndarray
    compute_s: np.ndarray
    memory_s: np.ndarray


def evaluate(c: Cases, p: PerfParams) -> Times:
    """Seconds per case (see the module docstring for the equations)."""
    n = len(c.peak_flops)
    eta = np.array([p[f"eta_{u.value}"] for u in _UNITS])[c.unit_index]
    rho = np.array(
        [1.0 if r in (Runtime.PYTORCH, Runtime.KERAS) else p[f"rho_{r.value}"] for r in _RUNTIMES]
    )[c.runtime_index]
    factors = np.array([p.factor(name) for name in c.factor_keys])[c.factor_index].prod(axis=1)
    peak = c.peak_flops * c.base_over_boost ** (1.0 - p["clock_exponent"])
    rate = peak * eta * rho * factors * np.where(c.cnn, p["eta_conv"], 1.0)
    fill = np.array([p[f"fill_s_{u.value}"] for u in _UNITS])[c.unit_index] * peak
    energy = {u: p[f"pj_per_flop_{u.value}"] for u in POWER_UNITS}
    pj = np.array([energy.get(u, 0.0) for u in _UNITS])[c.unit_index]
    joules_per_flop = pj * JOULES_PER_PJ * c.node_ratio ** p["node_exponent"]
    bandwidth = c.bandwidth_bytes_per_s * p["eta_mem"]

    k = c.owner
    compute = np.where(c.flops > 0, (c.flops + fill[k]) / rate[k], 0.0)
    compute = np.maximum(compute, c.flops * joules_per_flop[k] / c.power_w[k])
    score_traffic = np.array([p[f"score_traffic_{r.value}"] for r in _RUNTIMES])
    moved = c.weight_bytes + c.activation_bytes + c.score_bytes * score_traffic[c.runtime_index][k]
    memory = moved / bandwidth[k]
    is_compute = compute >= memory
    compute_s = np.bincount(k, c.count * np.where(is_compute, compute, 0.0), minlength=n)
    memory_s = np.bincount(k, c.count * np.where(is_compute, 0.0, memory), minlength=n)

    dispatch = np.array([p[f"dispatch_s_{r.value}"] for r in _RUNTIMES])[c.runtime_index]
    host_s = c.dispatches * dispatch * np.where(c.pytorch_amp, 1.0 + p["amp_dispatch"], 1.0)
    passes = np.where(c.training, 1.0 + p["backward_ratio"], 1.0)
    compute_s, memory_s, host_s = passes * compute_s, passes * memory_s, passes * host_s
    memory_s = memory_s + c.optimizer_bytes / bandwidth / c.accumulation_steps
    comm_s = np.where(
        c.ring_bytes > 0, c.ring_bytes / (c.link_bytes_per_s * p["eta_link"]) + p["sync_s"], 0.0
    )
    call_s = np.array([p[f"call_s_{r.value}"] for r in _RUNTIMES])[c.runtime_index]
    busy_s = compute_s + memory_s
    latency = np.where(c.cpu, host_s + busy_s, np.maximum(host_s, busy_s)) + call_s
    latency = latency + comm_s / c.accumulation_steps
    return Times(latency, host_s + comm_s, compute_s, memory_s)


def _bound(host_s: float, compute_s: float, memory_s: float) -> str:
    if host_s >= compute_s + memory_s or host_s >= max(compute_s, memory_s):
        return "overhead"
    return "compute" if compute_s >= memory_s else "memory"


def timing_of(case: Case, p: PerfParams) -> Timing:
    t = evaluate(compile_cases([case]), p)
    host, compute, memory = float(t.host_s[0]), float(t.compute_s[0]), float(t.memory_s[0])
    return Timing(float(t.latency_s[0]), host, compute, memory, _bound(host, compute, memory))


def inference(
    work: Workload,
    dev: DeviceType,
    batch: int,
    precision: Precision,
    runtime: Runtime,
    p: PerfParams,
) -> Timing:
    """Latency of one forward pass of ``batch`` samples."""
    return timing_of(Case(work, dev, batch, precision, runtime), p)


def training_step(
    work: Workload,
    dev: DeviceType,
    batch_per_gpu: int,
    precision: Precision,
    runtime: Runtime,
    p: PerfParams,
    *,
    gpus: int = 1,
    accumulation_steps: int = 1,
) -> Timing:
    """Seconds per micro-batch of ``batch_per_gpu`` samples on each of ``gpus`` GPUs, with the
    optimizer step and all-reduce amortised over ``accumulation_steps`` micro-batches."""
    case = Case(work, dev, batch_per_gpu, precision, runtime, True, gpus, accumulation_steps)
    return timing_of(case, p)
