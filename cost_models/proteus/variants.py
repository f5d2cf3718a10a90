"""Model-variant catalog: public model-zoo facts about the networks the planner places.

Every entry names its public source. Conventions:

* ``accuracy`` is in percent of ``metric``: ImageNet-1k top-1 for classifiers, COCO val2017
  mAP50-95 at 640x640 for YOLOv5, SST-2 accuracy (GLUE test server) for BERT.
* ``gflops_per_sample`` counts floating-point operations (one multiply-accumulate = 2 FLOPs)
  of one forward pass at ``input_size``. Sources that report multiply-accumulates
  (torchvision's "GFLOPS" column, the MobileNet and EfficientNet papers' "mult-adds" /
  "FLOPS") are doubled here; YOLOv5's table already reports FLOPs (its ``model_info`` doubles
  the profiler's MACs).
* ``params_millions`` is the published parameter count (BERT: computed from the published
  architecture, see :func:`_bert`).
* ``activation_mb_per_sample`` is an ESTIMATE (no zoo publishes it): megabytes (1e6 bytes) of
  activation traffic of one sample at 2 bytes per element (FP16), every layer output written
  once and read once. See :func:`conv_activation_mb` and :func:`_bert` for the rules.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass

from cost_models.devices import Precision
from cost_models.units import BYTES_PER_MB

# Bytes per stored element: TF32 runs on FP32 tensors, so it stores 4 bytes like FP32.
BYTES_PER_ELEMENT: dict[Precision, int] = {
    Precision.FP32: 4,
    Precision.TF32: 4,
    Precision.FP16: 2,
    Precision.INT8: 1,
}
_ACTIVATION_BYTES_PER_ELEMENT = BYTES_PER_ELEMENT[Precision.FP16]  # unit of the catalog field


@dataclass(frozen=True)
class ModelVariant:
    family: str
    name: str
    metric: str  # what ``accuracy`` measures
    accuracy: float  # percent of ``metric``
    gflops_per_sample: float  # FLOPs (2 per multiply-accumulate) per forward pass, 1e9
    params_millions: float
    input_size: str  # e.g. "224x224" or "seq 128"
    activation_mb_per_sample: float  # estimate, MB (1e6 bytes) at FP16, see module doc
    source: str

    def param_bytes(self, precision: Precision) -> float:
        """Bytes of weights stored at ``precision``."""
        return self.params_millions * 1e6 * BYTES_PER_ELEMENT[precision]

    def activation_bytes(self, precision: Precision) -> float:
        """Bytes of activation traffic of one sample at ``precision``."""
        scale = BYTES_PER_ELEMENT[precision] / _ACTIVATION_BYTES_PER_ELEMENT
        return self.activation_mb_per_sample * BYTES_PER_MB * scale


# --- Activation-traffic estimate for convolutional networks --------------------------------
# Rule: output elements of all conv/linear layers = multiply-accumulates / (MACs per output
# element), with the divisor taken from one hand-counted anchor network per layer style;
# traffic = elements x 2 bytes (FP16) x 2 (written once, read once). Calibration assumption.
#
# Anchor for standard convolutions: torchvision ResNet-50 at 224x224 has conv/fc outputs of
# 0.80 M (stem) + 4.42 M (stage 1) + 3.11 M (stage 2) + 2.16 M (stage 3) + 0.63 M (stage 4)
# = 11.11 M elements for 4.09 G multiply-accumulates -> 368 MACs per output element.
CONV_MACS_PER_OUTPUT = 368.0
# Anchor for depthwise-separable networks: MobileNet-V1 1.0 at 224x224 (Howard et al. 2017,
# Table 1 layer list) writes 5.04 M output elements for 569 M mult-adds -> 113.
DEPTHWISE_MACS_PER_OUTPUT = 113.0


def conv_activation_mb(gflops: float, macs_per_output: float) -> float:
    """Estimated activation traffic (MB at FP16) of a CNN with ``gflops`` FLOPs per sample."""
    elements = gflops * 1e9 / 2.0 / macs_per_output
    return elements * _ACTIVATION_BYTES_PER_ELEMENT * 2.0 / BYTES_PER_MB


# One CNN row: name, accuracy (%), reported G operations, params (M), input size, source.
_Row = tuple[str, float, float, float, str, str]


def _cnns(
    family: str,
    metric: str,
    flops_per_reported_op: float,
    macs_per_output: float,
    rows: tuple[_Row, ...],
) -> tuple[ModelVariant, ...]:
    """Catalog entries of one CNN family; ``flops_per_reported_op`` is 2 for sources that
    report multiply-accumulates and 1 for sources that already report FLOPs."""
    return tuple(
        ModelVariant(
            family,
            name,
            metric,
            accuracy,
            flops_per_reported_op * reported,
            params,
            size,
            conv_activation_mb(flops_per_reported_op * reported, macs_per_output),
            source,
        )
        for name, accuracy, reported, params, size, source in rows
    )


# --- BERT: FLOPs, parameters and activations from the published architecture ---------------
BERT_VOCAB = 30522  # WordPiece vocabulary (Devlin et al. 2019, uncased models)
BERT_POSITIONS = 512  # learned position embeddings
BERT_TOKEN_TYPES = 2
# Sequence length assumed for a query: run_classifier.py's default max_seq_length (google-
# research/bert), the length the GLUE results below were fine-tuned with (assumption).
BERT_SEQ_LEN = 128


# (layers L, hidden H, heads A) of each BERT variant: Turc et al. 2019 (google-research/bert
# README, "24 smaller BERT models") and Devlin et al. 2019 (base, large).
BERT_ARCHITECTURES: dict[str, tuple[int, int, int]] = {
    "bert_tiny": (2, 128, 2),
    "bert_mini": (4, 256, 4),
    "bert_small": (4, 512, 8),
    "bert_medium": (8, 512, 8),
    "bert_base": (12, 768, 12),
    "bert_large": (24, 1024, 16),
}


def _bert(name: str, sst2_accuracy: float, source: str) -> ModelVariant:
    """A BERT encoder (L layers, hidden H, A heads, FFN 4H; :data:`BERT_ARCHITECTURES`) on a
    BERT_SEQ_LEN-token query.

    * parameters = embeddings (V + P + T) H + 2H, plus per layer 12 H^2 + 13 H (QKV, output
      projection, FFN 4H, two LayerNorms), plus the pooler H^2 + H (BERT-base: 109.5 M vs the
      published 110 M; BERT-large: 335 M vs 340 M);
    * MACs per sample = S * 12 L H^2 (linear layers) + 2 L S^2 H (QK^T and attention x V);
      embeddings and the classifier head are ignored;
    * activation elements (estimate) = L * S * (10 H + A S): Q, K, V, attention output,
      projection, FFN intermediate (4H) and FFN output per token, plus the A x S attention
      probabilities per token; traffic = elements x 2 bytes (FP16) x 2 (write + read).
    """
    layers, hidden, heads = BERT_ARCHITECTURES[name]
    s, h, n = BERT_SEQ_LEN, hidden, layers
    params = (
        (BERT_VOCAB + BERT_POSITIONS + BERT_TOKEN_TYPES) * h
        + 2 * h
        + n * (12 * h * h + 13 * h)
        + h * h
        + h
    )
    macs = s * 12 * n * h * h + 2 * n * s * s * h
    elements = n * s * (10 * h + heads * s)
    return ModelVariant(
        "bert",
        name,
        "SST-2 accuracy (GLUE test)",
        sst2_accuracy,
        2.0 * macs / 1e9,
        params / 1e6,
        f"seq {s}",
        elements * _ACTIVATION_BYTES_PER_ELEMENT * 2.0 / BYTES_PER_MB,
        f"{source}; params/FLOPs computed from L={n}, H={h}, A={heads} (see _bert)",
    )


_TOP1 = "ImageNet top-1"
_COCO = "COCO mAP50-95"
# torchvision's "GFLOPS" column counts multiply-accumulates (ResNet-50: 4.09, the ~4 G
# multiply-adds of He et al. 2016, Table 1), so every torchvision entry below is 2 x that.
_TV = (
    "torchvision model docs (pytorch.org/vision/stable/models.html), "
    "{}_Weights.IMAGENET1K_V1: Acc@1, Params, GFLOPS (multiply-accumulates, doubled)"
)
_MBV1 = (
    "Howard et al. 2017, MobileNets, arXiv:1704.04861, Table 6 (width multiplier "
    "{}, 224x224): top-1, mult-adds (doubled), parameters"
)
_EFF = (
    "Tan & Le 2019, EfficientNet, arXiv:1905.11946, Table 2: top-1, params, FLOPS "
    "(multiply-adds, doubled); resolution from tensorflow/tpu efficientnet_builder.py"
)
_SMALL_BERT = (
    "google-research/bert README, '24 smaller BERT models' GLUE test table, "
    "SST-2 column (Turc et al. 2019, arXiv:1908.08962)"
)
_BERT_PAPER = "Devlin et al. 2019, BERT, arXiv:1810.04805, Table 1 (GLUE test), SST-2 column"
_YOLO = (
    "ultralytics/yolov5 README, v7.0 pretrained checkpoints table: mAPval 50-95 at 640, "
    "params (M), FLOPs @640 (B, already FLOPs)"
)

_R224 = "224x224"

_CATALOG: tuple[ModelVariant, ...] = (
    # ResNet (He et al. 2016), torchvision weights.
    *_cnns(
        "resnet",
        _TOP1,
        2.0,
        CONV_MACS_PER_OUTPUT,
        (
            ("resnet18", 69.758, 1.81, 11.7, _R224, _TV.format("ResNet18")),
            ("resnet34", 73.314, 3.66, 21.8, _R224, _TV.format("ResNet34")),
            ("resnet50", 76.130, 4.09, 25.6, _R224, _TV.format("ResNet50")),
            ("resnet101", 77.374, 7.80, 44.5, _R224, _TV.format("ResNet101")),
            ("resnet152", 78.312, 11.51, 60.2, _R224, _TV.format("ResNet152")),
        ),
    ),
    # DenseNet (Huang et al. 2017), torchvision weights. Concatenations re-read earlier
    # feature maps, so the conv-output rule underestimates their traffic.
    *_cnns(
        "densenet",
        _TOP1,
        2.0,
        CONV_MACS_PER_OUTPUT,
        (
            ("densenet121", 74.434, 2.83, 8.0, _R224, _TV.format("DenseNet121")),
            ("densenet161", 77.138, 7.73, 28.7, _R224, _TV.format("DenseNet161")),
            ("densenet169", 75.600, 3.36, 14.1, _R224, _TV.format("DenseNet169")),
            ("densenet201", 76.896, 4.29, 20.0, _R224, _TV.format("DenseNet201")),
        ),
    ),
    # MobileNet V1 width multipliers (the paper's), V2 and V3 (torchvision weights).
    *_cnns(
        "mobilenet",
        _TOP1,
        2.0,
        DEPTHWISE_MACS_PER_OUTPUT,
        (
            ("mobilenet_v1_x0_25", 50.6, 0.041, 0.5, _R224, _MBV1.format("0.25")),
            ("mobilenet_v1_x0_5", 63.7, 0.149, 1.3, _R224, _MBV1.format("0.5")),
            ("mobilenet_v1_x0_75", 68.4, 0.325, 2.6, _R224, _MBV1.format("0.75")),
            ("mobilenet_v1", 70.6, 0.569, 4.2, _R224, _MBV1.format("1.0")),
            ("mobilenet_v2", 71.878, 0.30, 3.5, _R224, _TV.format("MobileNet_V2")),
            ("mobilenet_v3_small", 67.668, 0.06, 2.5, _R224, _TV.format("MobileNet_V3_Small")),
            ("mobilenet_v3_large", 74.042, 0.22, 5.5, _R224, _TV.format("MobileNet_V3_Large")),
        ),
    ),
    # EfficientNet B0..B7 (paper numbers; Proteus's profile uses the same accuracies).
    *_cnns(
        "efficientnet",
        _TOP1,
        2.0,
        DEPTHWISE_MACS_PER_OUTPUT,
        (
            ("efficientnet_b0", 77.1, 0.39, 5.3, _R224, _EFF),
            ("efficientnet_b1", 79.1, 0.70, 7.8, "240x240", _EFF),
            ("efficientnet_b2", 80.1, 1.0, 9.2, "260x260", _EFF),
            ("efficientnet_b3", 81.6, 1.8, 12.0, "300x300", _EFF),
            ("efficientnet_b4", 82.9, 4.2, 19.0, "380x380", _EFF),
            ("efficientnet_b5", 83.6, 9.9, 30.0, "456x456", _EFF),
            ("efficientnet_b6", 84.0, 19.0, 43.0, "528x528", _EFF),
            ("efficientnet_b7", 84.3, 37.0, 66.0, "600x600", _EFF),
        ),
    ),
    # BERT family: Google's compact models (Turc et al.) and the original base/large.
    _bert("bert_tiny", 83.2, _SMALL_BERT),
    _bert("bert_mini", 85.9, _SMALL_BERT),
    _bert("bert_small", 89.7, _SMALL_BERT),
    _bert("bert_medium", 89.6, _SMALL_BERT),
    _bert("bert_base", 93.5, _BERT_PAPER),
    _bert("bert_large", 94.9, _BERT_PAPER),
    # YOLOv5 v7.0: the table reports FLOPs; standard convolutions (ResNet-50 anchor).
    *_cnns(
        "yolov5",
        _COCO,
        1.0,
        CONV_MACS_PER_OUTPUT,
        (
            ("yolov5n", 28.0, 4.5, 1.9, "640x640", _YOLO),
            ("yolov5s", 37.4, 16.5, 7.2, "640x640", _YOLO),
            ("yolov5m", 45.4, 49.0, 21.2, "640x640", _YOLO),
            ("yolov5l", 49.0, 109.1, 46.5, "640x640", _YOLO),
            ("yolov5x", 50.7, 205.7, 86.7, "640x640", _YOLO),
        ),
    ),
)

VARIANTS: dict[str, ModelVariant] = {v.name: v for v in _CATALOG}


def families() -> dict[str, list[ModelVariant]]:
    """Variants of each family, sorted by accuracy ascending (ties by name)."""
    grouped: dict[str, list[ModelVariant]] = defaultdict(list)
    for variant in VARIANTS.values():
        grouped[variant.family].append(variant)
    return {
        family: sorted(members, key=lambda v: (v.accuracy, v.name))
        for family, members in sorted(grouped.items())
    }


def normalized_accuracy(variant: ModelVariant) -> float:
    """Accuracy relative to the best catalog variant of the same family, in percent.

    The best variant scores 100, as Proteus normalises accuracy within a family so that
    families with different metrics can be averaged.
    """
    best = max(
        [variant.accuracy] + [v.accuracy for v in VARIANTS.values() if v.family == variant.family]
    )
    return 100.0 * variant.accuracy / best
