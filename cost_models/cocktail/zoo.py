"""Model zoo of Cocktail: 12 Keras ImageNet classifiers, and their latency per instance type.

Sources:

* ``top1``, ``params``: the Keras Applications table (https://keras.io/api/applications/,
  "Available models": Top-1 Accuracy and Parameters columns; exact parameter counts from the
  same table's per-model summaries).
* ``gmacs`` (giga multiply-accumulates per image at the model's native input resolution):
  NASNetLarge 23.8 B, NASNetMobile 0.564 B, InceptionResNetV2 13.2 B, Xception 8.38 B and
  InceptionV3 5.72 B from Zoph et al., "Learning Transferable Architectures for Scalable
  Image Recognition", CVPR 2018, Tables 2-3; MobileNet 0.569 B from Howard et al. 2017,
  Table 8; MobileNetV2 0.300 B from Sandler et al. 2018, Table 4; ResNet50 3.8 B from He et
  al. 2016, Table 1; VGG16 15.47 B, DenseNet121 2.83 B and DenseNet201 4.29 B from the
  torchvision model documentation (its "GFLOPS" column counts multiply-adds). ResNet50V2 has
  no separately published count: it has the same convolutions as ResNet50 in pre-activation
  order, so we use ResNet50's 3.8 B (an assumption).

Latency of one request (batch 1) on one device is the roofline time of the core
(:func:`cost_models.roofline.roofline_time_s`): ``2 * gmacs * 1e9`` FLOPs and the FP32
weights (``4 * params`` bytes) read once, at ``Precision.TF32`` (FP32 networks run on TF32
tensor cores where the architecture has them, on FP32 cores elsewhere). Activation traffic is
left out (it is small next to the weights at batch 1 for all but NASNetLarge; an
optimistic simplification).

A GPU instance runs one request at a time per GPU, so its throughput is
``gpus / latency_s``. A CPU instance (``gpu is None``: c5, m5) runs one request at a time
on all its cores: its device is ``CPU16`` scaled to the instance's physical cores (2 vCPUs
= 1 core, AWS's hyper-threading), i.e. peak FLOP/s and memory bandwidth multiplied by
``cores / 16`` -- a linear-scaling assumption (bandwidth share proportional to cores).
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from cost_models.cloud import InstanceType
from cost_models.devices import DeviceType, Precision, device
from cost_models.errors import DataError
from cost_models.roofline import roofline_time_s

FP32_BYTES_PER_PARAM = 4  # bytes per FP32 weight
CPU_DEVICE = "CPU16"  # cost_models.devices: 16 Cascade Lake cores
CPU_DEVICE_CORES = 16  # physical cores of CPU_DEVICE (Xeon Platinum 8275CL share)
VCPUS_PER_CORE = 2  # AWS vCPU = one hyper-thread; 2 per physical core (EC2 docs, "CPU options")
PRECISION = Precision.TF32


@dataclass(frozen=True)
class ZooModel:
    name: str
    top1: float  # ImageNet top-1 accuracy, fraction (Keras Applications table)
    params: int  # weights (Keras Applications)
    gmacs: float  # giga multiply-adds per image at native resolution (sources above)
    input_px: int  # native input side, pixels (Keras Applications notes)

    @property
    def flops(self) -> float:
        return 2.0 * self.gmacs * 1e9

    @property
    def weight_bytes(self) -> float:
        return float(FP32_BYTES_PER_PARAM * self.params)


ZOO: dict[str, ZooModel] = {
    m.name: m
    for m in (
        ZooModel("NASNetLarge", 0.825, 88_949_818, 23.8, 331),
        ZooModel("InceptionResNetV2", 0.803, 55_873_736, 13.2, 299),
        ZooModel("Xception", 0.790, 22_910_480, 8.38, 299),
        ZooModel("InceptionV3", 0.779, 23_851_784, 5.72, 299),
        ZooModel("DenseNet201", 0.773, 20_242_984, 4.29, 224),
        ZooModel("ResNet50V2", 0.760, 25_613_800, 3.8, 224),
        ZooModel("DenseNet121", 0.750, 8_062_504, 2.83, 224),
        ZooModel("ResNet50", 0.749, 25_636_712, 3.8, 224),
        ZooModel("NASNetMobile", 0.744, 5_326_716, 0.564, 224),
        ZooModel("VGG16", 0.713, 138_357_544, 15.47, 224),
        ZooModel("MobileNetV2", 0.713, 3_538_984, 0.300, 224),
        ZooModel("MobileNet", 0.704, 4_253_864, 0.569, 224),
    )
}


def zoo_model(name: str) -> ZooModel:
    """Look a model up by name; unknown names raise :class:`DataError`."""
    try:
        return ZOO[name]
    except KeyError:
        raise DataError(None, "model", f"one of {', '.join(ZOO)} (got {name!r})") from None


def serving_device(inst: InstanceType) -> tuple[DeviceType, int]:
    """The device one request runs on, and how many such devices the instance has.

    GPU instances: their GPU, ``inst.gpus`` of them. CPU instances: ``CPU16`` scaled to
    ``inst.vcpus / 2`` cores (peak FLOP/s and bandwidth times ``cores / 16``), one of it.
    """
    if inst.gpu is not None:
        return device(inst.gpu), inst.gpus
    cpu = device(CPU_DEVICE)
    scale = inst.vcpus / VCPUS_PER_CORE / CPU_DEVICE_CORES
    scaled = replace(
        cpu,
        name=f"{CPU_DEVICE}x{scale:g}",
        fp32_tflops=cpu.fp32_tflops * scale,
        tf32_tflops=cpu.tf32_tflops * scale,
        fp16_tflops=cpu.fp16_tflops * scale,
        memory_bandwidth_gb_per_s=cpu.memory_bandwidth_gb_per_s * scale,
    )
    return scaled, 1


def latency_ms(model: ZooModel, inst: InstanceType) -> float:
    """Roofline latency of one request (batch 1) of ``model`` on ``inst``, ms."""
    dev, _ = serving_device(inst)
    return 1e3 * roofline_time_s(model.flops, model.weight_bytes, dev, PRECISION)


def throughput_qps(model: ZooModel, inst: InstanceType) -> float:
    """Requests per second one VM of ``inst`` serves with ``model``: devices / latency."""
    _, devices = serving_device(inst)
    return devices * 1e3 / latency_ms(model, inst)
