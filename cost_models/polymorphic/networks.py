"""GEMM layer lists of public networks (batch-parametrised), with sources.

* ``resnet50``: He et al., CVPR 2016, Table 1, torchvision's v1.5 (stride in the 3x3
  convolution), 224x224; the same shapes as :data:`cost_models.ppipe.layers.CNN_SPECS`
  (a test checks the multiply-accumulates agree layer by layer). Poolings and residual adds
  are not GEMMs and are left out; a block's residual add is folded into the layer that
  finishes it, so the next block's first convolution reads the previous layer's output.
* ``vgg16``: Simonyan & Zisserman, ICLR 2015, configuration D, 224x224 (also in
  ``CNN_SPECS``).
* ``mobilenet_v2``: Sandler et al., CVPR 2018, Table 2 (width 1.0, 224x224); depthwise
  convolutions are ``channels`` independent GEMMs. torchvision lists 300.8 M MACs (``0.30``
  GFLOPS, ``MobileNet_V2_Weights.IMAGENET1K_V1``).
* ``dlrm_mlp``: the bottom and top MLPs of MLPerf Inference's DLRM (Criteo Terabyte):
  ``--arch-mlp-bot=13-512-256-128 --arch-mlp-top=1024-1024-512-256-1`` in
  facebookresearch/dlrm's MLPerf configuration; the top MLP's input is the feature
  interaction of 27 vectors of dimension 128: ``27 * 26 / 2 + 128 = 479``
  (``dlrm_s_pytorch.py``). Embedding lookups are not GEMMs and are left out.
* ``lstm_gnmt``: the 8-layer, 1024-unit LSTM encoder of GNMT (Wu et al., 2016, section 3),
  4 gates; the sequence length of 50 tokens is an assumption (a long WMT sentence).
* ``gru_1024``: a 5-layer GRU (Cho et al., 2014; 3 gates) with 1024 hidden units, the
  hidden size of DeepBench's inference GRU kernels (baidu-research/DeepBench); 5 layers
  and 50 steps are assumptions. The reset gate is applied after the recurrent GEMM
  (cuDNN's ``linear_before_reset`` form), so one GEMM of ``[x, h]`` holds all MACs.
"""

from __future__ import annotations

from collections.abc import Callable

from cost_models.errors import DataError
from cost_models.polymorphic.gemm import Gemm, conv_gemm, linear_gemm, rnn_gemm
from cost_models.ppipe.layers import MOBILENET_V2_STAGES

IMAGE_SIZE_PX = 224  # ImageNet input resolution of ResNet, VGG and MobileNetV2 (their papers)
IMAGE_CHANNELS = 3  # RGB
IMAGENET_CLASSES = 1000
RNN_STEPS = 50  # time steps per inference (assumption, see module doc)


class _Conv:
    """Appends convolutions while tracking the tensor shape (channels, height, width)."""

    def __init__(self, batch: int) -> None:
        self.batch = batch
        self.shape = (IMAGE_CHANNELS, IMAGE_SIZE_PX, IMAGE_SIZE_PX)
        self.layers: list[Gemm] = []

    def conv(
        self,
        name: str,
        out_channels: int,
        kernel: int,
        stride: int = 1,
        *,
        groups: int = 1,
        reads_previous: bool = True,
        shape: tuple[int, int, int] | None = None,
    ) -> None:
        channels, height, width = shape or self.shape
        gemm, self.shape = conv_gemm(
            name,
            batch=self.batch,
            in_channels=channels,
            height=height,
            width=width,
            out_channels=out_channels,
            kernel=kernel,
            stride=stride,
            groups=groups,
            reads_previous=reads_previous and bool(self.layers),
        )
        self.layers.append(gemm)

    def pool(self, stride: int) -> None:
        """A pooling layer: no GEMM, only the spatial size shrinks."""
        channels, height, width = self.shape
        self.shape = (channels, -(-height // stride), -(-width // stride))

    def classifier(self, name: str, in_features: int) -> None:
        """Global average pooling then a fully connected layer to the ImageNet classes."""
        self.layers.append(
            linear_gemm(
                name,
                batch=self.batch,
                in_features=in_features,
                out_features=IMAGENET_CLASSES,
                reads_previous=False,
            )
        )


def resnet50(batch: int) -> tuple[Gemm, ...]:
    net = _Conv(batch)
    net.conv("conv1", 64, 7, 2)
    net.pool(2)
    first = True
    for stage, (count, planes) in enumerate(zip((3, 4, 6, 3), (64, 128, 256, 512), strict=True)):
        for block in range(count):
            prefix = f"layer{stage + 1}.{block}"
            entry = net.shape
            stride = 2 if block == 0 and stage > 0 else 1
            net.conv(f"{prefix}.conv1", planes, 1, reads_previous=not first)
            first = False
            net.conv(f"{prefix}.conv2", planes, 3, stride)
            net.conv(f"{prefix}.conv3", planes * 4, 1)
            if block == 0:
                net.conv(
                    f"{prefix}.downsample",
                    planes * 4,
                    1,
                    stride,
                    reads_previous=False,
                    shape=entry,
                )
    net.classifier("fc", 2048)
    return tuple(net.layers)


def vgg16(batch: int) -> tuple[Gemm, ...]:
    net = _Conv(batch)
    for stage, (count, channels) in enumerate(((2, 64), (2, 128), (3, 256), (3, 512), (3, 512))):
        for index in range(count):
            net.conv(f"conv{stage + 1}_{index + 1}", channels, 3, reads_previous=index > 0)
        net.pool(2)
    layers = list(net.layers)
    in_features = 512 * 7 * 7
    for name, out_features in (("fc6", 4096), ("fc7", 4096), ("fc8", IMAGENET_CLASSES)):
        layers.append(
            linear_gemm(
                name,
                batch=batch,
                in_features=in_features,
                out_features=out_features,
                reads_previous=name != "fc6",
            )
        )
        in_features = out_features
    return tuple(layers)


def mobilenet_v2(batch: int) -> tuple[Gemm, ...]:
    net = _Conv(batch)
    net.conv("conv0", 32, 3, 2)
    for index, (expansion, channels, count, first_stride, kernel) in enumerate(MOBILENET_V2_STAGES):
        for repeat in range(count):
            prefix = f"block{index}.{repeat}"
            hidden = net.shape[0] * expansion
            if expansion != 1:
                net.conv(f"{prefix}.expand", hidden, 1)
            stride = first_stride if repeat == 0 else 1
            net.conv(f"{prefix}.depthwise", hidden, kernel, stride, groups=hidden)
            net.conv(f"{prefix}.project", channels, 1)
    net.conv("conv_last", 1280, 1)
    net.classifier("fc", 1280)
    return tuple(net.layers)


DLRM_BOTTOM_MLP = (13, 512, 256, 128)  # dense features -> 128 (MLPerf DLRM, Criteo Terabyte)
DLRM_TOP_MLP = (479, 1024, 1024, 512, 256, 1)  # interaction (479) -> click probability


def dlrm_mlp(batch: int) -> tuple[Gemm, ...]:
    layers = []
    for tower, sizes in (("bottom", DLRM_BOTTOM_MLP), ("top", DLRM_TOP_MLP)):
        for index in range(len(sizes) - 1):
            layers.append(
                linear_gemm(
                    f"{tower}.{index}",
                    batch=batch,
                    in_features=sizes[index],
                    out_features=sizes[index + 1],
                    reads_previous=index > 0,
                )
            )
    return tuple(layers)


def _rnn(prefix: str, batch: int, layers: int, hidden: int, gates: int) -> tuple[Gemm, ...]:
    return tuple(
        rnn_gemm(
            f"{prefix}{index}",
            batch=batch,
            input_size=hidden,
            hidden=hidden,
            gates=gates,
            steps=RNN_STEPS,
        )
        for index in range(layers)
    )


def lstm_gnmt(batch: int) -> tuple[Gemm, ...]:
    return _rnn("lstm", batch, layers=8, hidden=1024, gates=4)


def gru_1024(batch: int) -> tuple[Gemm, ...]:
    return _rnn("gru", batch, layers=5, hidden=1024, gates=3)


NETWORKS: dict[str, Callable[[int], tuple[Gemm, ...]]] = {
    "resnet50": resnet50,
    "vgg16": vgg16,
    "mobilenet_v2": mobilenet_v2,
    "dlrm_mlp": dlrm_mlp,
    "lstm_gnmt": lstm_gnmt,
    "gru_1024": gru_1024,
}


def network(name: str, batch: int) -> tuple[Gemm, ...]:
    if name not in NETWORKS:
        raise DataError(None, "network", f"one of {', '.join(NETWORKS)} (got {name!r})")
    if batch < 1:
        raise DataError(None, "batch", f"an integer >= 1 (got {batch!r})")
    return NETWORKS[name](batch)
