"""Model zoo of Cocktail: 12 Keras ImageNet classifiers, and their latency per instance type.

Sources:

* ``top1``: the Keras Applications table (https://keras.io/api/applications/, "Available
  models": Top-1 Accuracy column).
* Work per image (MACs at Cocktail's 224x224 input, parameters, Keras depth) is the
  calibrated performance model's catalog entry ``keras_<name>``
  (:mod:`cost_models.perf.catalog`, which names each fact's source).

Latency of one request (batch 1, FP32) on one device is the calibrated performance model's
(:mod:`cost_models.perf.model`, parameters in ``cost_models/perf/calibration.json``): on a
CPU instance (``gpu is None``: c5, m5) the instance itself is the device (its vCPUs / 2
AVX-512 cores, :mod:`cost_models.devices`) running the **Keras** runtime (one dispatch per
Keras layer, host and compute on the same cores); on a GPU instance its GPU running
**TensorFlow** (Keras models execute as TensorFlow graphs on a GPU). Provenance and expected
error follow ``planner estimate`` (:meth:`cost_models.perf.calibration.Calibration.
provenance`): ``calibrated`` where the fit saw that (device, runtime) -- c5.xlarge/Keras
(Cocktail's own latencies) and T4, V100, A100/TensorFlow (NVIDIA DLE) -- with the
leave-one-model-out MAPE of its (device, FP32, inference) group; ``roofline`` elsewhere
(other c5/m5 sizes, K80, A10G), with the leave-one-GPU-out MAPE.

Requests one VM serves at once: its GPUs on a GPU instance (one request at a time per GPU),
one on a CPU instance (one request at a time on all its cores). Throughput of one VM is
``devices / latency_s``.
"""

from __future__ import annotations

from dataclasses import dataclass

from cost_models.cloud import InstanceType
from cost_models.devices import Precision
from cost_models.errors import DataError
from cost_models.perf import calibration
from cost_models.perf.hardware import Runtime
from cost_models.units import MS_PER_S

PRECISION = Precision.FP32  # Keras Applications weights are FP32
BATCH = 1  # Cocktail serves one request at a time per worker
CPU_RUNTIME = Runtime.KERAS
GPU_RUNTIME = Runtime.TENSORFLOW


@dataclass(frozen=True)
class ZooModel:
    name: str
    top1: float  # ImageNet top-1 accuracy, fraction (Keras Applications table)

    @property
    def perf_name(self) -> str:
        """The model's name in the performance model's catalog."""
        return f"keras_{self.name.lower()}"


ZOO: dict[str, ZooModel] = {
    m.name: m
    for m in (
        ZooModel("NASNetLarge", 0.825),
        ZooModel("InceptionResNetV2", 0.803),
        ZooModel("Xception", 0.790),
        ZooModel("InceptionV3", 0.779),
        ZooModel("DenseNet201", 0.773),
        ZooModel("ResNet50V2", 0.760),
        ZooModel("DenseNet121", 0.750),
        ZooModel("ResNet50", 0.749),
        ZooModel("NASNetMobile", 0.744),
        ZooModel("VGG16", 0.713),
        ZooModel("MobileNetV2", 0.713),
        ZooModel("MobileNet", 0.704),
    )
}


def zoo_model(name: str) -> ZooModel:
    """Look a model up by name; unknown names raise :class:`DataError`."""
    try:
        return ZOO[name]
    except KeyError:
        raise DataError(None, "model", f"one of {', '.join(ZOO)} (got {name!r})") from None


@dataclass(frozen=True)
class ZooRate:
    """The estimated rate of one model on one instance type."""

    latency_ms: float  # one request
    devices: int  # requests one VM serves at once
    device: str  # the performance model's device (GPU name, or the CPU instance type)
    runtime: Runtime
    provenance: str  # "calibrated" or "roofline"
    expected_error_pct: float

    @property
    def capacity_qps(self) -> float:
        """Requests/s one VM serves: devices / latency."""
        return self.devices * MS_PER_S / self.latency_ms


def serving_device(inst: InstanceType) -> tuple[str, int, Runtime]:
    """The performance model's device one request runs on, how many of them the instance
    has, and the runtime: the GPU with TensorFlow, or the CPU instance itself with Keras."""
    if inst.gpu is not None:
        return inst.gpu, inst.gpus, GPU_RUNTIME
    return inst.name, 1, CPU_RUNTIME


def estimated_rate(model: ZooModel, inst: InstanceType) -> ZooRate:
    """Calibrated latency (batch 1, FP32) of ``model`` on ``inst``, with its provenance."""
    dev, devices, runtime = serving_device(inst)
    cal = calibration.load()
    query = calibration.Query(model.perf_name, dev, BATCH, PRECISION, "inference", runtime)
    timing = calibration.timing(query, cal.params)
    provenance = cal.provenance(dev, runtime)
    return ZooRate(
        MS_PER_S * timing.latency_s,
        devices,
        dev,
        runtime,
        provenance,
        cal.expected_error_pct(dev, PRECISION, "inference", provenance),
    )
