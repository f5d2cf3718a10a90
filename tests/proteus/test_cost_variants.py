"""Golden numbers for the variant catalog: published facts and the documented estimate rules."""

from __future__ import annotations

import pytest

from cost_models.devices import Precision
from cost_models.proteus.variants import (
    CONV_MACS_PER_OUTPUT,
    DEPTHWISE_MACS_PER_OUTPUT,
    VARIANTS,
    ModelVariant,
    families,
    normalized_accuracy,
)

REQUIRED = (
    [f"resnet{n}" for n in (18, 34, 50, 101, 152)]
    + [f"efficientnet_b{i}" for i in range(8)]
    + ["mobilenet_v1", "mobilenet_v2", "mobilenet_v3_small", "mobilenet_v3_large"]
    + ["densenet121", "densenet169", "densenet201"]
    + [f"bert_{s}" for s in ("tiny", "mini", "small", "medium", "base", "large")]
    + [f"yolov5{s}" for s in "nsmlx"]
)


@pytest.mark.parametrize("name", REQUIRED)
def test_required_variant_is_complete(name: str) -> None:
    v = VARIANTS[name]
    assert v.name == name
    assert v.metric and v.source and v.input_size
    assert 0 < v.accuracy <= 100
    assert v.gflops_per_sample > 0 and v.params_millions > 0 and v.activation_mb_per_sample > 0


def test_published_facts() -> None:
    # torchvision ResNet50_Weights.IMAGENET1K_V1: 76.130 %, 25.6 M params, 4.09 GMACs.
    r50 = VARIANTS["resnet50"]
    assert (r50.accuracy, r50.params_millions) == (76.130, 25.6)
    assert r50.gflops_per_sample == pytest.approx(8.18)
    # YOLOv5 README reports FLOPs directly: YOLOv5s 16.5 B, 37.4 mAP50-95, 7.2 M.
    y = VARIANTS["yolov5s"]
    assert (y.accuracy, y.gflops_per_sample, y.params_millions) == (37.4, 16.5, 7.2)
    assert y.metric == "COCO mAP50-95" and y.input_size == "640x640"
    # MobileNet V1 1.0: 569 M mult-adds -> 1.138 GFLOPs.
    assert VARIANTS["mobilenet_v1"].gflops_per_sample == pytest.approx(1.138)


def test_bert_base_from_architecture() -> None:
    b = VARIANTS["bert_base"]
    # L=12, H=768, S=128: MACs = 128*12*12*768^2 + 2*12*128^2*768 = 11.174 G.
    macs = 128 * 12 * 12 * 768**2 + 2 * 12 * 128**2 * 768
    assert macs == 11_173_625_856
    assert b.gflops_per_sample == pytest.approx(2 * macs / 1e9)
    # 109.48 M parameters, within 1 % of the published 110 M.
    assert b.params_millions == pytest.approx(110.0, rel=0.01)
    assert VARIANTS["bert_large"].params_millions == pytest.approx(340.0, rel=0.02)
    # activations: 12 * 128 * (10*768 + 12*128) elements, x 2 bytes x 2 (write + read).
    assert b.activation_mb_per_sample == pytest.approx(12 * 128 * (7680 + 1536) * 4 / 1e6)
    assert b.metric == "SST-2 accuracy (GLUE test)" and b.accuracy == 93.5


def test_conv_activation_rule() -> None:
    # ResNet-50: 4.09e9 MACs / 368 = 11.11 M elements x 2 B x 2 = 44.46 MB.
    assert CONV_MACS_PER_OUTPUT == 368.0 and DEPTHWISE_MACS_PER_OUTPUT == 113.0
    assert VARIANTS["resnet50"].activation_mb_per_sample == pytest.approx(44.4565, abs=1e-3)
    # MobileNet-V1: 569e6 / 113 = 5.035 M elements -> 20.14 MB.
    assert VARIANTS["mobilenet_v1"].activation_mb_per_sample == pytest.approx(20.1416, abs=1e-3)


def test_bytes_by_precision() -> None:
    r50 = VARIANTS["resnet50"]
    assert r50.param_bytes(Precision.FP32) == pytest.approx(102.4e6)
    assert r50.param_bytes(Precision.TF32) == pytest.approx(102.4e6)
    assert r50.param_bytes(Precision.FP16) == pytest.approx(51.2e6)
    assert r50.activation_bytes(Precision.FP16) == pytest.approx(44.4565e6, rel=1e-5)
    assert r50.activation_bytes(Precision.FP32) == pytest.approx(2 * 44.4565e6, rel=1e-5)


def test_families_sorted_ascending() -> None:
    fams = families()
    assert set(fams) == {"resnet", "densenet", "mobilenet", "efficientnet", "bert", "yolov5"}
    for members in fams.values():
        accuracies = [v.accuracy for v in members]
        assert accuracies == sorted(accuracies)
    assert [v.name for v in fams["yolov5"]] == [
        "yolov5n",
        "yolov5s",
        "yolov5m",
        "yolov5l",
        "yolov5x",
    ]
    assert sum(len(m) for m in fams.values()) == len(VARIANTS)


def test_normalized_accuracy() -> None:
    assert normalized_accuracy(VARIANTS["efficientnet_b7"]) == pytest.approx(100.0)
    # Same numbers as Proteus's model_variants/efficientnet: 77.1 / 84.3 = 91.459 %.
    assert normalized_accuracy(VARIANTS["efficientnet_b0"]) == pytest.approx(91.45907473)
    assert normalized_accuracy(VARIANTS["yolov5n"]) == pytest.approx(100 * 28.0 / 50.7)
    # A variant outside the catalog is normalised against its family (or itself).
    custom = ModelVariant("newfam", "x", "m", 42.0, 1.0, 1.0, "1", 1.0, "test")
    assert normalized_accuracy(custom) == 100.0
