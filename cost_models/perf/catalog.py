"""Workload catalog of the performance model: per-kernel work of public networks.

A :class:`Workload` is a list of kernel groups; each group is ``count`` identical kernels
with, per kernel, FLOPs and activation elements per sample, weight elements per batch and the
kernels the host launches for it (``kernels``: a convolution with its batch norm and
activation is 3). Where the repository has a layer-by-layer spec (:data:`CNN_SPECS` of
:mod:`cost_models.ppipe.layers`: the ResNets, ResNeXt, SE-ResNeXt, Wide ResNet, VGG-16,
MobileNet-V2, EfficientNet-B0/B4) every layer is one kernel group; elsewhere the published
totals (FLOPs, parameters) are spread evenly over the published count of weighted layers
(:data:`CONV_KERNELS` launches each), and the activation traffic is
:mod:`cost_models.proteus.variants`' estimate (conv-output rule). BERT is built operator by
operator from its architecture at any sequence length.

Facts reused from :data:`cost_models.proteus.variants.VARIANTS` keep their sources there; the
entries added here name theirs. ``layers`` counts kernel groups (weighted layers, and a spec's
pooling, add and scale layers); ``dispatches`` counts launches. Keras entries (Cocktail's zoo)
count the Keras "depth" (every Keras layer, batch-norm and activations included) with one
launch each, which is what the Keras runtime dispatches one by one.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass

from cost_models.errors import DataError
from cost_models.ppipe.layers import BYTES_PER_ELEMENT as PPIPE_BYTES_PER_ELEMENT
from cost_models.ppipe.layers import CNN_SPECS, CnnSpec
from cost_models.proteus.variants import (
    _ACTIVATION_BYTES_PER_ELEMENT,
    BERT_POSITIONS,
    BERT_TOKEN_TYPES,
    BERT_VOCAB,
    CONV_MACS_PER_OUTPUT,
    DEPTHWISE_MACS_PER_OUTPUT,
    VARIANTS,
    conv_activation_mb,
)


@dataclass(frozen=True)
class KernelGroup:
    count: int  # identical kernels
    flops: float  # FLOPs per sample of one kernel (2 per multiply-accumulate)
    weight_elements: float  # weights one kernel reads, once per batch
    activation_elements: float  # activation elements one kernel reads + writes per sample
    # of which elements of the heads x S x S attention scores (a fused attention kernel keeps
    # them on chip; see model.py, score_traffic)
    score_elements: float = 0.0
    kernels: int = 1  # kernels the host launches per member (a conv, its batch norm, its ReLU)


@dataclass(frozen=True)
class Workload:
    name: str
    kind: str  # "cnn" or "transformer"
    input_size: str
    params_millions: float
    kernels: tuple[KernelGroup, ...]
    source: str

    @property
    def layers(self) -> int:
        return sum(group.count for group in self.kernels)

    @property
    def dispatches(self) -> int:
        """Kernels the host launches per pass (what host dispatch time is charged for)."""
        return sum(group.count * group.kernels for group in self.kernels)

    @property
    def gflops_per_sample(self) -> float:
        return sum(g.count * g.flops for g in self.kernels) / 1e9

    def activation_elements(self) -> float:
        return sum(g.count * g.activation_elements for g in self.kernels)


def from_layers(
    spec: CnnSpec, params_millions: float, source: str, input_size: str = "224x224"
) -> Workload:
    """One kernel per layer of a repository layer spec (:data:`CNN_SPECS`)."""
    in_bytes = spec.in_bytes()
    kernels = tuple(
        KernelGroup(
            1,
            layer.flops,
            layer.weight_bytes / PPIPE_BYTES_PER_ELEMENT,
            (inputs + layer.out_bytes) / PPIPE_BYTES_PER_ELEMENT,
            kernels=layer.kernels,
        )
        for layer, inputs in zip(spec.layers, in_bytes, strict=True)
    )
    return Workload(spec.name, "cnn", input_size, params_millions, kernels, source)


# Kernels an eager runtime launches per weighted layer of a batch-normalised CNN: the
# convolution, its batch norm and its activation (the layer specs count them per layer).
CONV_KERNELS = 3


def uniform(
    name: str,
    gflops: float,
    params_millions: float,
    layers: int,
    activation_mb_fp16: float,
    input_size: str,
    source: str,
    kernels_per_layer: int = CONV_KERNELS,
) -> Workload:
    """Published totals spread evenly over ``layers`` kernels, each launching
    ``kernels_per_layer`` kernels."""
    activation = activation_mb_fp16 * 1e6 / _ACTIVATION_BYTES_PER_ELEMENT
    group = KernelGroup(
        layers,
        gflops * 1e9 / layers,
        params_millions * 1e6 / layers,
        activation / layers,
        kernels=kernels_per_layer,
    )
    return Workload(name, "cnn", input_size, params_millions, (group,), source)


def _zoo(name: str, layers: int, layers_source: str) -> Workload:
    """A :data:`VARIANTS` entry spread over its weighted-layer count."""
    v = VARIANTS[name]
    return uniform(
        name,
        v.gflops_per_sample,
        v.params_millions,
        layers,
        v.activation_mb_per_sample,
        v.input_size,
        f"{v.source}; layers: {layers_source}",
    )


def _cnn(
    name: str,
    gmacs: float,
    params_millions: float,
    layers: int,
    input_size: str,
    source: str,
    *,
    depthwise: bool = False,
    kernels_per_layer: int = CONV_KERNELS,
) -> Workload:
    """An entry added here from a source reporting multiply-accumulates (doubled)."""
    gflops = 2.0 * gmacs
    rule = DEPTHWISE_MACS_PER_OUTPUT if depthwise else CONV_MACS_PER_OUTPUT
    return uniform(
        name,
        gflops,
        params_millions,
        layers,
        conv_activation_mb(gflops, rule),
        input_size,
        source,
        kernels_per_layer,
    )


def _spec(name: str, params_millions: float, source: str, input_size: str = "224x224") -> Workload:
    """A network of :data:`CNN_SPECS` layer by layer; ``source`` is that of its published
    totals, which the spec reproduces (tests/cost_models/test_perf_model.py)."""
    return from_layers(
        CNN_SPECS[name],
        params_millions,
        f"{source}; layers: cost_models/ppipe/layers.py",
        input_size,
    )


def _at_224(gmacs_native: float, native_px: int) -> float:
    """Convolution MACs scale with the image area: Cocktail runs the Keras zoo at 224x224."""
    return gmacs_native * (224.0 / native_px) ** 2


def bert(name: str, layers: int, hidden: int, heads: int, seq_len: int, source: str) -> Workload:
    """A BERT encoder (Devlin et al. 2019: L layers, hidden H, A heads, FFN 4H) on
    ``seq_len`` tokens, operator by operator (per sample: S tokens). Ten kernels per encoder
    layer, the ones a runtime without fused attention launches."""
    s, h = seq_len, hidden
    # QKV, Q K^T, softmax, P V, output projection, residual + LayerNorm, FFN up, GELU,
    # FFN down, residual + LayerNorm
    ops = (
        KernelGroup(layers, 2.0 * s * h * 3 * h, 3 * h * h, s * h + 3 * s * h),
        KernelGroup(layers, 2.0 * s * s * h, 0.0, 2 * s * h + heads * s * s, heads * s * s),
        KernelGroup(layers, 5.0 * heads * s * s, 0.0, 2 * heads * s * s, 2 * heads * s * s),
        KernelGroup(layers, 2.0 * s * s * h, 0.0, heads * s * s + 2 * s * h, heads * s * s),
        KernelGroup(layers, 2.0 * s * h * h, h * h, 2 * s * h),
        KernelGroup(layers, 8.0 * s * h, 2 * h, 3 * s * h),
        KernelGroup(layers, 2.0 * s * h * 4 * h, 4 * h * h, 5 * s * h),
        KernelGroup(layers, 8.0 * s * 4 * h, 0.0, 8 * s * h),
        KernelGroup(layers, 2.0 * s * 4 * h * h, 4 * h * h, 5 * s * h),
        KernelGroup(layers, 8.0 * s * h, 2 * h, 3 * s * h),
    )
    params = (
        (BERT_VOCAB + BERT_POSITIONS + BERT_TOKEN_TYPES) * h
        + 2 * h
        + layers * (12 * h * h + 13 * h)
        + h * h
        + h
    )
    return Workload(
        name,
        "transformer",
        f"seq {s}",
        params / 1e6,
        ops,
        f"{source}; per-operator FLOPs/bytes from L={layers}, H={h}, A={heads}, S={s}",
    )


BERT_SHAPES: dict[str, tuple[int, int, int, str]] = {
    "bert_base": (12, 768, 12, "Devlin et al. 2019, BERT, arXiv:1810.04805, BERT-Base"),
    "bert_large": (24, 1024, 16, "Devlin et al. 2019, BERT, arXiv:1810.04805, BERT-Large"),
}
DEFAULT_SEQ_LEN = 128  # NVIDIA DLE BERT inference tables' sequence length (see measured README)

_TV = "torchvision model docs (pytorch.org/vision/stable/models.html), {}: GFLOPS (MACs), Params"
_MMPRE = "mmpretrain model zoo, {}: Flops (G, MACs), Params (M)"
_KERAS = (
    "keras.io/api/applications table: parameters and depth of {}; MACs {}; run at 224x224 as "
    "Cocktail's scheduler does (MACs scaled by area)"
)
_RESNET_LAYERS = "He et al. 2016 Table 1 (conv + fc) plus 4 projection shortcuts"

_WORKLOADS: tuple[Workload, ...] = (
    from_layers(CNN_SPECS["resnet50"], 25.6, f"{VARIANTS['resnet50'].source}; layers: layers.py"),
    from_layers(CNN_SPECS["resnet101"], 44.5, f"{VARIANTS['resnet101'].source}; layers: layers.py"),
    from_layers(CNN_SPECS["vgg16"], 138.4, _TV.format("VGG16_Weights") + "; layers: layers.py"),
    _spec("resnet152", 60.2, VARIANTS["resnet152"].source),
    _zoo("densenet121", 121, "Huang et al. 2017 Table 1 (120 conv + fc)"),
    _spec("mobilenet_v2", 3.5, VARIANTS["mobilenet_v2"].source),
    _spec("efficientnet_b0", 5.3, VARIANTS["efficientnet_b0"].source),
    _spec("efficientnet_b4", 19.0, VARIANTS["efficientnet_b4"].source, "380x380"),
    _spec(
        "resnext101_32x4d",
        44.18,
        _MMPRE.format("resnext101-32x4d_8xb32_in1k") + " (8.03 GMACs)",
    ),
    _spec(
        "se_resnext101_32x4d",
        48.96,
        "Hu et al. 2018, SENet, arXiv:1709.01507, Table 2 (SE-ResNeXt-101 32x4d: 8.04 GMACs,"
        " 48.96 M params in Cadene pretrained-models)",
    ),
    _cnn("inception_v3", 5.71, 27.2, 95, "299x299", _TV.format("Inception_V3") + "; 94 conv + fc"),
    _spec("wide_resnet101_2", 126.9, _TV.format("Wide_ResNet101_2") + " (22.75 GMACs)"),
    _cnn(
        "resnext152_32x4d",
        15.11,
        59.95,
        156,
        "224x224",
        _MMPRE.format("resnext152-32x4d_8xb32_in1k") + f"; layers: {_RESNET_LAYERS}",
    ),
    _cnn(
        "convnext_large",
        34.36,
        197.8,
        113,
        "224x224",
        _TV.format("ConvNeXt_Large")
        + "; layers: 36 blocks x (depthwise + 2 linear) + 4 stem/downsample + fc",
        depthwise=True,
    ),
    # Stash's training networks (the ddl kind)
    _cnn(
        "vgg11",
        7.61,
        132.86,
        11,
        "224x224",
        _TV.format("VGG11_Weights") + "; Simonyan & Zisserman 2015 Table 1 config A: 8 conv + 3 fc",
        kernels_per_layer=2,  # no batch norm: conv + ReLU
    ),
    _cnn(
        "alexnet",
        0.71,
        61.10,
        8,
        "224x224",
        _TV.format("AlexNet_Weights") + "; Krizhevsky et al. 2012: 5 conv + 3 fc",
        kernels_per_layer=2,  # no batch norm: conv + ReLU
    ),
    # Cocktail's Keras zoo (names prefixed keras_): layers = Keras depth.
    _cnn(
        "keras_nasnetlarge",
        _at_224(23.8, 331),
        88.9,
        533,
        "224x224",
        _KERAS.format("NASNetLarge", "23.8 G at 331 (Zoph et al. 2018 Table 2)"),
        depthwise=True,
        kernels_per_layer=1,
    ),
    _cnn(
        "keras_inceptionresnetv2",
        _at_224(13.2, 299),
        55.9,
        449,
        "224x224",
        _KERAS.format("InceptionResNetV2", "13.2 G at 299 (Bianco et al. 2018, Fig. 1)"),
        kernels_per_layer=1,
    ),
    _cnn(
        "keras_xception",
        _at_224(8.4, 299),
        22.9,
        81,
        "224x224",
        _KERAS.format("Xception", "8.4 G at 299 (Bianco et al. 2018, Fig. 1)"),
        depthwise=True,
        kernels_per_layer=1,
    ),
    _cnn(
        "keras_inceptionv3",
        _at_224(5.71, 299),
        23.9,
        189,
        "224x224",
        _KERAS.format("InceptionV3", "5.71 G at 299 (torchvision Inception_V3)"),
        kernels_per_layer=1,
    ),
    _cnn(
        "keras_densenet201",
        4.29,
        20.2,
        402,
        "224x224",
        _KERAS.format("DenseNet201", "4.29 G (torchvision DenseNet201)"),
        kernels_per_layer=1,
    ),
    _cnn(
        "keras_resnet50v2",
        4.09,
        25.6,
        103,
        "224x224",
        _KERAS.format("ResNet50V2", "4.09 G (He et al. 2016b, as ResNet-50)"),
        kernels_per_layer=1,
    ),
    _cnn(
        "keras_densenet121",
        2.83,
        8.1,
        242,
        "224x224",
        _KERAS.format("DenseNet121", "2.83 G (torchvision DenseNet121)"),
        kernels_per_layer=1,
    ),
    _cnn(
        "keras_resnet50",
        4.09,
        25.6,
        107,
        "224x224",
        _KERAS.format("ResNet50", "4.09 G (torchvision ResNet50)"),
        kernels_per_layer=1,
    ),
    _cnn(
        "keras_nasnetmobile",
        0.564,
        5.3,
        389,
        "224x224",
        _KERAS.format("NASNetMobile", "564 M (Zoph et al. 2018 Table 3)"),
        depthwise=True,
        kernels_per_layer=1,
    ),
    _cnn(
        "keras_mobilenetv2",
        0.30,
        3.5,
        105,
        "224x224",
        _KERAS.format("MobileNetV2", "300 M (Sandler et al. 2018 Table 4)"),
        depthwise=True,
        kernels_per_layer=1,
    ),
    _cnn(
        "keras_vgg16",
        15.47,
        138.4,
        16,
        "224x224",
        _KERAS.format("VGG16", "15.47 G (torchvision VGG16)"),
        kernels_per_layer=1,
    ),
    _cnn(
        "keras_mobilenet",
        0.569,
        4.3,
        55,
        "224x224",
        _KERAS.format("MobileNet", "569 M (Howard et al. 2017 Table 8)"),
        depthwise=True,
        kernels_per_layer=1,
    ),
)

WORKLOADS: dict[str, Workload] = {w.name: w for w in _WORKLOADS}


def model_names() -> list[str]:
    return sorted([*WORKLOADS, *BERT_SHAPES])


def workload(name: str, seq_len: int | None = None) -> Workload:
    """The workload of ``name`` (BERT at ``seq_len`` tokens, default 128); unknown names raise
    :class:`DataError` listing the closest catalog names."""
    if name in BERT_SHAPES:
        layers, hidden, heads, source = BERT_SHAPES[name]
        return bert(name, layers, hidden, heads, seq_len or DEFAULT_SEQ_LEN, source)
    if name in WORKLOADS:
        if seq_len is not None:
            raise DataError(None, "seq_len", f"no sequence length for CNN {name!r}")
        return WORKLOADS[name]
    raise DataError(None, "model", expected_one_of(name, model_names()))


def expected_one_of(name: str, choices: list[str]) -> str:
    """'one of ...' text for an unknown ``name``, closest matches first."""
    close = difflib.get_close_matches(name, choices, n=3, cutoff=0.5)
    hint = f" (closest: {', '.join(close)})" if close else ""
    return f"a known name{hint}, one of {', '.join(choices)} (got {name!r})"
