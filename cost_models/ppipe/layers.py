"""Layer specs of public CNNs (their latencies: :mod:`cost_models.ppipe.calibrated`).

A :class:`CnnSpec` is an ordered layer list (a topological order of the layer graph): per
layer its FLOPs per sample, weight bytes and output activation bytes (FP32, 4 bytes per
element, batch-norm folded into the convolution's bias as TensorRT does), and the names of
the layers it reads. Shapes follow the published architectures:

* ResNet-50/101 (He et al., CVPR 2016, Table 1; torchvision's v1.5 variant with the stride
  in the 3x3 convolution) at 224x224; torchvision's model zoo lists 4.09 and 7.80 GMAC;
* VGG-16 (Simonyan & Zisserman, ICLR 2015, configuration D) at 224x224; torchvision lists
  15.47 GMAC and 138,357,544 parameters;
* the ResNet-50 backbone of mmdetection's detectors (RetinaNet/Faster R-CNN, ``C5`` output,
  no classifier head) at mmdetection's published test scale 1333x800;
* ResNet-152 (blocks 3/8/36/3), ResNeXt-101 32x4d (Xie et al. 2017: 32 groups of width 4 in
  the 3x3 convolution), SE-ResNeXt-101 32x4d (Hu et al. 2018: squeeze-excitation with
  reduction 16 before each residual add) and Wide ResNet-101-2 (bottleneck width x2), all in
  torchvision's layout at 224x224 (11.52, 7.98, 7.99 and 22.76 GMAC here against 11.51,
  8.03, 8.04 and 22.75 published);
* MobileNet-V2 (Sandler et al. 2018, Table 2) at 224x224 and EfficientNet-B0/B4 (Tan & Le
  2019, Table 1; B4: width 1.4, depth 1.8, 380x380) with depthwise convolutions as groups =
  channels and squeeze-excitation on a quarter of each block's input channels (0.30, 0.39,
  4.42 GMAC here against 0.30, 0.39, 4.2 published; tests/cost_models/test_perf_model.py).

Each layer also records the kernels an eager runtime launches for it (``kernels``: a
convolution with its batch norm and activation, 3); a fusing runtime such as TensorRT
launches fewer, which its fitted per-launch cost absorbs (docs/performance_model.md).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import networkx as nx
import numpy as np

from cost_models.errors import DataError
from cost_models.ppipe.prepartition import Prepartition, contract

BYTES_PER_ELEMENT = 4  # FP32 activations and weights (PPipe profiles FP32/TF32 TensorRT engines)


@dataclass(frozen=True)
class LayerSpec:
    name: str
    flops: float  # FLOPs per sample (1 multiply-accumulate = 2 FLOPs)
    weight_bytes: float
    out_bytes: float  # output activation bytes per sample
    inputs: tuple[str, ...]  # names of the layers whose outputs this layer reads ("" = image)
    # kernels an eager runtime (PyTorch, TensorFlow) launches for the layer: a convolution is
    # followed by its batch norm and activation, which the spec folds into it
    kernels: int = 1


@dataclass(frozen=True)
class CnnSpec:
    name: str
    input_bytes: float  # input image bytes per sample
    layers: tuple[LayerSpec, ...]

    def in_bytes(self) -> list[float]:
        """Activation bytes each layer reads per sample."""
        out = {layer.name: layer.out_bytes for layer in self.layers}
        out[""] = self.input_bytes
        return [sum(out[name] for name in layer.inputs) for layer in self.layers]

    @property
    def macs(self) -> float:
        return sum(layer.flops for layer in self.layers) / 2


class _Builder:
    """Appends layers while tracking the current tensor shape (channels, height, width)."""

    def __init__(self, channels: int, height: int, width: int) -> None:
        self.shape = (channels, height, width)
        self.layers: list[LayerSpec] = []
        self.last = ""

    def conv(
        self,
        name: str,
        out_channels: int,
        kernel: int,
        stride: int = 1,
        source: str | None = None,
        shape: tuple[int, int, int] | None = None,
        groups: int = 1,
        kernels: int = 3,
    ) -> str:
        """A convolution; ``groups`` > 1 is a grouped one (= channels: depthwise), each
        output channel reading ``channels / groups`` input channels. ``kernels``: the
        convolution, its batch norm and its activation (2: no activation, or no batch norm
        as in VGG)."""
        channels, height, width = shape or self.shape
        pad = kernel // 2
        out_h = (height + 2 * pad - kernel) // stride + 1
        out_w = (width + 2 * pad - kernel) // stride + 1
        per_group = channels // groups
        macs = per_group * kernel * kernel * out_channels * out_h * out_w
        params = per_group * kernel * kernel * out_channels + out_channels  # + folded bias
        self._add(
            name,
            2.0 * macs,
            params,
            (out_channels, out_h, out_w),
            (self.last if source is None else source,),
            kernels,
        )
        return name

    def pool(self, name: str, kernel: int, stride: int) -> str:
        channels, height, width = self.shape
        pad = kernel // 2 if kernel > stride else 0
        out_h = (height + 2 * pad - kernel) // stride + 1
        out_w = (width + 2 * pad - kernel) // stride + 1
        self._add(
            name,
            float(channels * out_h * out_w * kernel * kernel),
            0,
            (channels, out_h, out_w),
            (self.last,),
        )
        return name

    def add(self, name: str, left: str, right: str) -> str:
        channels, height, width = self.shape
        self._add(name, float(channels * height * width), 0, self.shape, (left, right))
        return name

    def scale(self, name: str, main: str, gate: str, shape: tuple[int, int, int]) -> str:
        """Channel-wise product of ``main`` (of ``shape``) and a per-channel ``gate``."""
        self._add(name, float(np.prod(shape)), 0, shape, (main, gate), kernels=2)  # sigmoid, mul
        return name

    def squeeze_excite(self, prefix: str, reduced: int) -> str:
        """Squeeze-and-excitation (Hu et al. 2018): global pool, FC to ``reduced``, FC
        back, sigmoid gate, channel-wise scale of the current tensor."""
        main, shape = self.last, self.shape
        self.global_pool(f"{prefix}.se_pool")
        self.linear(f"{prefix}.se_reduce", reduced, kernels=2)  # FC and its activation
        gate = self.linear(f"{prefix}.se_expand", shape[0])
        return self.scale(f"{prefix}.se_scale", main, gate, shape)

    def global_pool(self, name: str) -> str:
        channels, height, width = self.shape
        self._add(name, float(channels * height * width), 0, (channels, 1, 1), (self.last,))
        return name

    def linear(self, name: str, out_features: int, kernels: int = 1) -> str:
        channels, height, width = self.shape
        in_features = channels * height * width
        self._add(
            name,
            2.0 * in_features * out_features,
            in_features * out_features + out_features,
            (out_features, 1, 1),
            (self.last,),
            kernels,
        )
        return name

    def _add(
        self,
        name: str,
        flops: float,
        params: int,
        shape: tuple[int, int, int],
        inputs: tuple[str, ...],
        kernels: int = 1,
    ) -> None:
        self.shape = shape
        self.layers.append(
            LayerSpec(
                name,
                flops,
                float(params * BYTES_PER_ELEMENT),
                float(np.prod(shape) * BYTES_PER_ELEMENT),
                inputs,
                kernels,
            )
        )
        self.last = name


def _resnet(
    name: str,
    blocks: Sequence[int],
    height: int,
    width: int,
    classifier: bool,
    *,
    groups: int = 1,
    width_per_group: int = 64,
    se_reduction: int = 0,
) -> CnnSpec:
    """A bottleneck ResNet; ``groups`` and ``width_per_group`` as torchvision's ResNeXt and
    Wide ResNet (bottleneck width = planes x width_per_group / 64 x groups), squeeze and
    excitation before the residual add when ``se_reduction`` > 0 (SENet's SE-ResNeXt)."""
    net = _Builder(3, height, width)
    net.conv("conv1", 64, 7, 2)
    net.pool("maxpool", 3, 2)
    for stage, (count, planes) in enumerate(zip(blocks, (64, 128, 256, 512), strict=True)):
        inner = planes * width_per_group // 64 * groups
        for block in range(count):
            prefix = f"layer{stage + 1}.{block}"
            entry, entry_shape = net.last, net.shape
            stride = 2 if block == 0 and stage > 0 else 1
            net.conv(f"{prefix}.conv1", inner, 1)
            net.conv(f"{prefix}.conv2", inner, 3, stride, groups=groups)
            main = net.conv(f"{prefix}.conv3", planes * 4, 1)  # its ReLU follows the add
            if se_reduction:
                main = net.squeeze_excite(prefix, planes * 4 // se_reduction)
            shortcut = entry
            if block == 0:
                shortcut = net.conv(
                    f"{prefix}.downsample",
                    planes * 4,
                    1,
                    stride,
                    source=entry,
                    shape=entry_shape,
                    kernels=2,
                )
            net.add(f"{prefix}.add", main, shortcut)
    if classifier:
        net.global_pool("avgpool")
        net.linear("fc", 1000)
    return CnnSpec(name, 3.0 * height * width * BYTES_PER_ELEMENT, tuple(net.layers))


def _vgg16() -> CnnSpec:
    net = _Builder(3, 224, 224)
    for stage, (count, channels) in enumerate(((2, 64), (2, 128), (3, 256), (3, 512), (3, 512))):
        for index in range(count):
            net.conv(f"conv{stage + 1}_{index + 1}", channels, 3, kernels=2)  # no batch norm
        net.pool(f"pool{stage + 1}", 2, 2)
    net.linear("fc6", 4096)
    net.linear("fc7", 4096)
    net.linear("fc8", 1000)
    return CnnSpec("vgg16", 3.0 * 224 * 224 * BYTES_PER_ELEMENT, tuple(net.layers))


def _round_channels(channels: float, divisor: int = 8) -> int:
    """Channel rounding of EfficientNet/MobileNet-V2 (tensorflow/tpu efficientnet_model.py,
    round_filters): to a multiple of 8, never more than 10% below."""
    rounded = max(divisor, int(channels + divisor / 2) // divisor * divisor)
    return rounded + divisor if rounded < 0.9 * channels else rounded


# (expand ratio, output channels, repeats, first stride, kernel) per stage
EFFICIENTNET_B0_STAGES = (
    (1, 16, 1, 1, 3),
    (6, 24, 2, 2, 3),
    (6, 40, 2, 2, 5),
    (6, 80, 3, 2, 3),
    (6, 112, 3, 1, 5),
    (6, 192, 4, 2, 5),
    (6, 320, 1, 1, 3),
)
MOBILENET_V2_STAGES = (
    (1, 16, 1, 1, 3),
    (6, 24, 2, 2, 3),
    (6, 32, 3, 2, 3),
    (6, 64, 4, 2, 3),
    (6, 96, 3, 1, 3),
    (6, 160, 3, 2, 3),
    (6, 320, 1, 1, 3),
)


def _inverted_residual(
    name: str,
    stages: Sequence[tuple[int, int, int, int, int]],
    resolution: int,
    *,
    width_mult: float = 1.0,
    depth_mult: float = 1.0,
    se_ratio: float = 0.0,
    head: int = 1280,
) -> CnnSpec:
    """MobileNet-V2 (Sandler et al. 2018, Table 2) and EfficientNet (Tan & Le 2019, Table 1;
    B4: width 1.4, depth 1.8, 380x380): stem 3x3/2 with 32 channels, inverted residual
    blocks (1x1 expansion, depthwise kxk, squeeze-excitation on ``se_ratio`` x the block's
    input channels, 1x1 projection, residual add when shapes match), 1x1 head, pool, fc."""
    net = _Builder(3, resolution, resolution)
    net.conv("stem", _round_channels(32 * width_mult), 3, 2)
    for stage, (expand, channels, repeats, stride, kernel) in enumerate(stages):
        out = _round_channels(channels * width_mult)
        for block in range(math.ceil(repeats * depth_mult)):
            prefix = f"block{stage + 1}.{block}"
            entry, entry_shape = net.last, net.shape
            inner = entry_shape[0] * expand
            if expand != 1:
                net.conv(f"{prefix}.expand", inner, 1)
            net.conv(
                f"{prefix}.depthwise", inner, kernel, stride if block == 0 else 1, groups=inner
            )
            if se_ratio:
                net.squeeze_excite(prefix, max(1, int(entry_shape[0] * se_ratio)))
            main = net.conv(f"{prefix}.project", out, 1, kernels=2)  # linear bottleneck
            if net.shape == entry_shape:
                net.add(f"{prefix}.add", main, entry)
    net.conv("head", _round_channels(head * max(width_mult, 1.0)), 1)
    net.global_pool("avgpool")
    net.linear("fc", 1000)
    return CnnSpec(name, 3.0 * resolution * resolution * BYTES_PER_ELEMENT, tuple(net.layers))


CNN_SPECS: dict[str, CnnSpec] = {
    spec.name: spec
    for spec in (
        _resnet("resnet50", (3, 4, 6, 3), 224, 224, classifier=True),
        _resnet("resnet101", (3, 4, 23, 3), 224, 224, classifier=True),
        _vgg16(),
        _resnet("resnet50_backbone_1333x800", (3, 4, 6, 3), 800, 1333, classifier=False),
        _resnet("resnet152", (3, 8, 36, 3), 224, 224, classifier=True),
        _resnet("resnext101_32x4d", (3, 4, 23, 3), 224, 224, True, groups=32, width_per_group=4),
        _resnet(
            "se_resnext101_32x4d",
            (3, 4, 23, 3),
            224,
            224,
            True,
            groups=32,
            width_per_group=4,
            se_reduction=16,
        ),
        _resnet("wide_resnet101_2", (3, 4, 23, 3), 224, 224, True, width_per_group=128),
        _inverted_residual("mobilenet_v2", MOBILENET_V2_STAGES, 224),
        _inverted_residual("efficientnet_b0", EFFICIENTNET_B0_STAGES, 224, se_ratio=0.25),
        _inverted_residual(
            "efficientnet_b4",
            EFFICIENTNET_B0_STAGES,
            380,
            width_mult=1.4,
            depth_mult=1.8,
            se_ratio=0.25,
        ),
    )
}


def layer_graph(spec: CnnSpec) -> nx.DiGraph:
    """The layer DAG of ``spec``: nodes carry ``out_bytes``; the image input is not a node."""
    graph = nx.DiGraph()
    for layer in spec.layers:
        graph.add_node(layer.name, out_bytes=layer.out_bytes)
        graph.add_edges_from((source, layer.name) for source in layer.inputs if source)
    return graph


def prepartition(spec: CnnSpec, runtimes: Mapping[str, np.ndarray], chunks: int) -> Prepartition:
    """Contract ``spec``'s layers (already in topological order) into ``chunks`` chunks."""
    try:
        return contract(layer_graph(spec), [layer.name for layer in spec.layers], runtimes, chunks)
    except DataError as error:
        raise DataError(None, f"{spec.name}: {error.key}", error.expected) from None
