"""Calibrated performance model: per-kernel roofline, host dispatch, training, data parallel.

Inference of a batch of ``b`` samples (equations and fitted values in docs/performance_model.md):

    per kernel k:  compute_k = b f_k / (P_u eta_u rho_rt * fill_k),
                   fill_k = b f_k / (b f_k + fill_s P_u)  (efficiency grows with the work
                            of a kernel: batch size and FLOPs per launch)
                   memory_k = (w_k + b a_k) bytes_per_element / (BW eta_mem)
    device_s = sum_k max(compute_k, memory_k)         (arithmetic intensity picks the roof)
    host_s   = layers * dispatch_s[rt] * (1 + amp_dispatch if PyTorch AMP)
    GPU: latency = max(host_s, device_s) + call_s     (launches are asynchronous)
    CPU: latency = host_s + device_s + call_s         (the same cores dispatch and compute)

Training step per GPU: forward + backward (``1 + backward_ratio`` times the forward device
time and host dispatch), plus the optimizer step streaming its state through memory, plus,
with ``gpus > 1``, a ring all-reduce of the gradients over the node's interconnect and a
fixed synchronisation cost.
"""

from __future__ import annotations

from dataclasses import dataclass

from cost_models.devices import DeviceType, Precision
from cost_models.perf.catalog import Workload
from cost_models.perf.hardware import Runtime, Unit, interconnect, unit
from cost_models.variants import BYTES_PER_ELEMENT

# Names of the fitted parameters, in the order of the least-squares vector (all > 0).
PARAMETER_NAMES: tuple[str, ...] = (
    *(f"eta_{u.value}" for u in Unit),  # achievable fraction of peak per math path
    "rho_tensorrt",  # efficiency of a runtime relative to PyTorch (cuDNN)
    "rho_tensorflow",
    "rho_onnxruntime",
    *(f"dispatch_s_{r.value}" for r in Runtime),  # host seconds per layer
    "amp_dispatch",  # extra host share of PyTorch autocast (cast operators)
    "fill_s",  # peak-seconds of work a kernel needs to reach half its rate (GPU)
    "fill_s_cpu",
    "eta_mem",  # achieved fraction of DRAM bandwidth
    "call_s",  # fixed per-call cost (synchronisation, input copy), seconds
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


@dataclass(frozen=True)
class PerfParams:
    values: dict[str, float]

    def __getitem__(self, name: str) -> float:
        return self.values[name]


@dataclass(frozen=True)
class Timing:
    latency_s: float
    host_s: float
    compute_s: float  # sum over kernels of their compute-bound time
    memory_s: float  # sum over kernels of their memory-bound time
    bound: str  # "compute", "memory" or "overhead"


def _precision_bytes(precision: Precision) -> int:
    return BYTES_PER_ELEMENT[precision]


def _device_s(
    work: Workload,
    dev: DeviceType,
    batch: int,
    precision: Precision,
    runtime: Runtime,
    p: PerfParams,
) -> tuple[float, float]:
    """(compute-bound, memory-bound) seconds summed over the kernels of one forward pass."""
    u = unit(dev, precision)
    peak = dev.peak_tflops(precision) * 1e12
    rho = 1.0 if runtime in (Runtime.PYTORCH, Runtime.KERAS) else p[f"rho_{runtime.value}"]
    rate = peak * p[f"eta_{u.value}"] * rho
    fill = (p["fill_s_cpu"] if dev.kind == "cpu" else p["fill_s"]) * peak
    bandwidth = dev.memory_bandwidth_gb_per_s * 1e9 * p["eta_mem"]
    element = _precision_bytes(precision)
    compute_s = memory_s = 0.0
    for g in work.kernels:
        flops = batch * g.flops
        compute = (flops + fill) / rate if flops > 0 else 0.0
        memory = (g.weight_elements + batch * g.activation_elements) * element / bandwidth
        if compute >= memory:
            compute_s += g.count * compute
        else:
            memory_s += g.count * memory
    return compute_s, memory_s


def _host_s(work: Workload, precision: Precision, runtime: Runtime, p: PerfParams) -> float:
    host = work.layers * p[f"dispatch_s_{runtime.value}"]
    if runtime is Runtime.PYTORCH and precision is Precision.FP16:
        host *= 1.0 + p["amp_dispatch"]
    return host


def _combine(dev: DeviceType, host_s: float, busy_s: float, p: PerfParams) -> float:
    if dev.kind == "cpu":
        return host_s + busy_s + p["call_s"]
    return max(host_s, busy_s) + p["call_s"]


def _bound(host_s: float, compute_s: float, memory_s: float) -> str:
    if host_s >= compute_s + memory_s or host_s >= max(compute_s, memory_s):
        return "overhead"
    return "compute" if compute_s >= memory_s else "memory"


def inference(
    work: Workload,
    dev: DeviceType,
    batch: int,
    precision: Precision,
    runtime: Runtime,
    p: PerfParams,
) -> Timing:
    """Latency of one forward pass of ``batch`` samples."""
    compute_s, memory_s = _device_s(work, dev, batch, precision, runtime, p)
    host_s = _host_s(work, precision, runtime, p)
    latency = _combine(dev, host_s, compute_s + memory_s, p)
    return Timing(latency, host_s, compute_s, memory_s, _bound(host_s, compute_s, memory_s))


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
    passes = 1.0 + p["backward_ratio"]
    compute_s, memory_s = _device_s(work, dev, batch_per_gpu, precision, runtime, p)
    compute_s, memory_s = passes * compute_s, passes * memory_s
    host_s = passes * _host_s(work, precision, runtime, p)
    params = work.params_millions * 1e6
    optimizer_bytes = params * (
        OPTIMIZER_BYTES_PER_PARAM[work.kind]
        + (AMP_WEIGHT_COPY_BYTES_PER_PARAM if precision is Precision.FP16 else 0.0)
    )
    optimizer_s = optimizer_bytes / (dev.memory_bandwidth_gb_per_s * 1e9 * p["eta_mem"])
    memory_s += optimizer_s / accumulation_steps
    comm_s = 0.0
    if gpus > 1:
        link = interconnect(dev, gpus)
        ring_bytes = 2.0 * (gpus - 1) / gpus * params * GRADIENT_BYTES[precision]
        comm_s = ring_bytes / (link.bandwidth_gb_per_s * 1e9 * p["eta_link"]) + p["sync_s"]
    step = _combine(dev, host_s, compute_s + memory_s, p) + comm_s / accumulation_steps
    return Timing(step, host_s + comm_s, compute_s, memory_s, _bound(host_s, compute_s, memory_s))
