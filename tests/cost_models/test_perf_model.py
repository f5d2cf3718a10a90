"""The calibrated performance model: catalog, physics and the committed calibration."""

from __future__ import annotations

from dataclasses import replace

import pytest

from cost_models.devices import Precision, device
from cost_models.errors import DataError
from cost_models.perf import calibration
from cost_models.perf.catalog import model_names, workload
from cost_models.perf.hardware import CLOCKS, Runtime, Unit, base_over_boost, unit
from cost_models.perf.model import (
    PARAMETER_NAMES,
    Case,
    PerfParams,
    compile_cases,
    evaluate,
    inference,
    timing_of,
    training_step,
)
from cost_models.perf.reference import dle_inference, dle_training
from cost_models.polymorphic.networks import network
from cost_models.ppipe.layers import CNN_SPECS
from cost_models.proteus.calibrated import estimated_latencies_ms
from cost_models.proteus.variants import VARIANTS
from tests.conftest import REFERENCE

REQUIRED = [
    "resnet50",
    "resnet101",
    "resnet152",
    "resnext101_32x4d",
    "se_resnext101_32x4d",
    "vgg16",
    "mobilenet_v2",
    "densenet121",
    "inception_v3",
    "efficientnet_b0",
    "efficientnet_b4",
    "bert_base",
    "bert_large",
]


def test_catalog_has_the_required_models_with_sources() -> None:
    for name in REQUIRED:
        w = workload(name)
        assert w.source and w.layers > 0 and w.gflops_per_sample > 0, name
    assert set(REQUIRED) <= set(model_names())


def test_bert_flops_grow_with_sequence_length() -> None:
    # Linear layers scale with S, attention with S^2: 4x the tokens is more than 4x the FLOPs.
    short, long = workload("bert_base", 128), workload("bert_base", 512)
    assert long.gflops_per_sample > 4 * short.gflops_per_sample
    # BERT-Base at 128 tokens: 2 * (12 * 128 * 12 * 768^2 + 2 * 12 * 128^2 * 768) = 22.3 GFLOP
    # for the matrix products; elementwise operators add ~0.1 G.
    assert short.gflops_per_sample == pytest.approx(22.3, rel=0.01)


def test_unknown_model_lists_close_matches() -> None:
    with pytest.raises(DataError, match="resnet50"):
        workload("resnet5")


def test_math_paths() -> None:
    assert unit(device("V100"), Precision.TF32) is Unit.CUDA_FP32  # no TF32 cores on Volta
    assert unit(device("A100"), Precision.TF32) is Unit.TENSOR_TF32
    assert unit(device("T4"), Precision.FP16) is Unit.TENSOR_FP16
    assert unit(device("K80"), Precision.FP16) is Unit.CUDA_FP32
    assert unit(device("c5.xlarge"), Precision.FP32) is Unit.CPU


def test_committed_calibration_is_complete_and_physical() -> None:
    cal = calibration.load()
    factors = set(cal.document["factors"])
    assert set(cal.params.values) == set(PARAMETER_NAMES) | factors
    # factors exist only where data constrain them: never for a GPU without measurements
    assert "gpu_V100" in factors and not any("H100" in name for name in factors)
    assert cal.params.factor("gpu_H100") == 1.0
    assert all(v > 0 for v in cal.params.values.values())
    assert all(cal.params[n] <= 1.0 for n in PARAMETER_NAMES if n.startswith("eta_"))
    assert cal.document["data"]["points"] > 500


def test_latency_grows_with_batch_and_more_gpus_give_more_throughput() -> None:
    p = calibration.load().params
    w, dev = workload("resnet50"), device("A100")
    lat = [inference(w, dev, b, Precision.FP16, Runtime.TENSORRT, p).latency_s for b in (1, 64)]
    assert lat[1] > lat[0]
    one = training_step(w, dev, 256, Precision.FP16, Runtime.PYTORCH, p)
    eight = training_step(w, dev, 256, Precision.FP16, Runtime.PYTORCH, p, gpus=8)
    speedup = 8 * one.latency_s / eight.latency_s
    assert 1.0 < speedup <= 8.0


def test_a_host_bound_pytorch_batch_is_reported_as_overhead() -> None:
    p = calibration.load().params
    t = inference(workload("resnet50"), device("A100"), 1, Precision.FP16, Runtime.PYTORCH, p)
    assert t.bound == "overhead"


def test_more_gpus_than_a_node_holds_is_an_error() -> None:
    p = calibration.load().params
    with pytest.raises(DataError, match="at most 8"):
        training_step(
            workload("resnet50"), device("A100"), 256, Precision.FP16, Runtime.PYTORCH, p, gpus=16
        )


def test_many_cases_at_once_equal_one_by_one() -> None:
    p = calibration.load().params
    cases = [
        Case(workload("resnet50"), device("T4"), 8, Precision.FP16, Runtime.PYTORCH),
        Case(workload("bert_large", 384), device("V100"), 4, Precision.FP32, Runtime.TENSORFLOW),
        Case(workload("bert_large"), device("A100"), 32, Precision.FP16, Runtime.PYTORCH, True, 8),
        Case(workload("keras_mobilenet"), device("c5.xlarge"), 1, Precision.FP32, Runtime.KERAS),
    ]
    together = evaluate(compile_cases(cases), p).latency_s
    assert together == pytest.approx([timing_of(c, p).latency_s for c in cases])


def test_a_board_with_less_power_is_never_faster() -> None:
    p = calibration.load().params
    w, t4 = workload("bert_large", 384), device("T4")
    full = inference(w, t4, 8, Precision.FP32, Runtime.TENSORFLOW, p).latency_s
    capped = replace(t4, power_w=t4.power_w / 4)
    assert inference(w, capped, 8, Precision.FP32, Runtime.TENSORFLOW, p).latency_s > full


def test_attention_score_traffic_grows_with_the_square_of_the_sequence() -> None:
    short, long = workload("bert_base", 128), workload("bert_base", 512)
    scores = [sum(g.count * g.score_elements for g in w.kernels) for w in (short, long)]
    assert scores[1] == pytest.approx(16 * scores[0])


def test_every_gpu_has_datasheet_clocks_and_runs_between_base_and_boost() -> None:
    p = calibration.load().params
    assert all(0.0 < c.base_mhz < c.boost_mhz for c in CLOCKS.values())
    assert base_over_boost(device("T4")) == pytest.approx(585 / 1590)
    assert base_over_boost(device("c5.xlarge")) == 1.0  # CPU peaks are at all-core turbo
    assert 0.0 < p["clock_exponent"] <= 1.0
    # A compute-bound batch on a 300 W V100 is slower at the sustained clock than it would
    # be at the boost clock (exponent 1), and faster than at the base clock (exponent 0).
    w, v100 = workload("resnet50"), device("V100")

    def latency_s(exponent: float) -> float:
        q = PerfParams({**p.values, "clock_exponent": exponent})
        return inference(w, v100, 256, Precision.FP32, Runtime.PYTORCH, q).latency_s

    assert latency_s(1.0) < latency_s(p["clock_exponent"]) < latency_s(0.0)


def test_an_efficiency_factor_scales_only_its_own_gpu() -> None:
    p = calibration.load().params
    w = workload("bert_large", 384)

    def latency_s(dev: str, gpu_factor: float) -> float:
        q = PerfParams({**p.values, "gpu_T4": gpu_factor})
        return inference(w, device(dev), 8, Precision.FP16, Runtime.TENSORFLOW, q).latency_s

    assert latency_s("T4", 2.0) < latency_s("T4", 1.0)
    assert latency_s("V100", 2.0) == latency_s("V100", 1.0)


def _reference() -> None:
    if not REFERENCE.is_dir():
        pytest.skip(f"reference data not found at {REFERENCE}")


def test_tensorflow_1_and_2_rows_are_separate_runtimes() -> None:
    _reference()
    runtimes = {p.runtime for p in dle_inference(REFERENCE) if p.model == "bert_base"}
    assert runtimes == {"tensorflow", "tensorflow1"}


def test_a_measured_point_is_found_with_its_listings() -> None:
    _reference()
    query = calibration.Query("resnet50", "T4", 8, Precision.FP16)  # PyTorch, inference
    measured = calibration.measured_point(query, REFERENCE)
    assert measured is not None
    assert 8 * 1e3 / measured.latency_ms == pytest.approx(652.0)  # NVIDIA DLE: 652 img/s
    assert measured.spread_pct == 0.0 and len(measured.sources) == 1
    assert calibration.measured_point(replace(query, batch=7), REFERENCE) is None


def test_pytorch_bert_phase_2_rows_are_length_binned_and_never_measured() -> None:
    """NVIDIA's PyTorch BERT phase 2 pads each batch to its 64-token LDDL bin, not to 512:
    those rows (and only those) are read at the fitted mean padded length, and planner
    estimate never returns them as measurements of 512-token sequences."""
    _reference()
    points = dle_training(REFERENCE)
    binned = [p for p in points if p.length_binned]
    assert len(binned) == 6
    assert {(p.model, p.runtime, p.seq_len) for p in binned} == {("bert_large", "pytorch", 512)}
    # the same table's phase 1 (seq 128) and every TF BERT row at 512 are not binned
    phase_1 = [p for p in points if p.runtime == "pytorch" and p.seq_len == 128]
    assert phase_1 and not any(p.length_binned for p in phase_1)
    assert all(not p.length_binned for p in points if p.runtime != "pytorch")
    length = calibration.load().binned_seq_len
    assert 128 <= length < 512
    point = binned[0]
    assert calibration.query_of(point, length).seq_len == length
    assert calibration.query_of(point).seq_len == 512
    assert calibration.measured_point(calibration.query_of(point), REFERENCE) is None


def test_dispatches_count_the_kernels_an_eager_runtime_launches() -> None:
    # ResNet-50: stem conv + BN + ReLU (3), 16 bottlenecks x 3 convs x 3, 4 projection
    # shortcuts (conv + BN: 2 each), max pool, 16 adds, average pool, fc
    assert workload("resnet50").dispatches == 3 + 16 * 9 + 4 * 2 + 1 + 16 + 1 + 1 == 174
    assert workload("resnet50").layers == 72
    # VGG-16 has no batch norm: 13 x (conv + ReLU), 5 pools, 3 fc
    assert workload("vgg16").dispatches == 13 * 2 + 5 + 3
    # spread from published totals: 3 launches per weighted layer; Keras: 1 per Keras layer
    assert workload("inception_v3").dispatches == 3 * workload("inception_v3").layers
    assert workload("keras_resnet50").dispatches == workload("keras_resnet50").layers
    # BERT: one launch per operator, 10 per encoder layer
    assert workload("bert_base").dispatches == 10 * 12


def test_proteus_uses_measurements_when_every_batch_is_measured() -> None:
    _reference()
    t4 = device("T4")
    measured = estimated_latencies_ms(VARIANTS["resnet50"], t4, [1, 2, 4, 8])
    assert measured.provenance == "measured" and "inference.csv rows" in measured.source
    assert 8 * 1e3 / measured.latency_ms[8] == pytest.approx(652.0)
    # batch 3 is not measured: the whole curve comes from the model
    modelled = estimated_latencies_ms(VARIANTS["resnet50"], t4, [1, 3, 8])
    assert modelled.provenance == "calibrated"
    assert modelled.latency_ms[8] != pytest.approx(measured.latency_ms[8], rel=1e-6)


# Published totals (GMACs, M parameters) the layer-by-layer specs must reproduce: torchvision's
# model docs (ResNet-152, Wide ResNet-101-2, MobileNet-V2), mmpretrain (ResNeXt-101 32x4d),
# Cadene pretrained-models / SENet Table 2 (SE-ResNeXt-101 32x4d), Tan & Le 2019 Table 2
# (EfficientNet-B0: 0.39 G FLOPs as MACs, 5.3 M; B4 at 380x380: 4.2 G, 19 M).
PUBLISHED_TOTALS = {
    "resnet152": (11.51, 60.2),
    "wide_resnet101_2": (22.75, 126.9),
    "mobilenet_v2": (0.30, 3.5),
    "resnext101_32x4d": (8.03, 44.18),
    "se_resnext101_32x4d": (8.04, 48.96),
    "efficientnet_b0": (0.39, 5.3),
    "efficientnet_b4": (4.2, 19.0),
}


@pytest.mark.parametrize("name", sorted(PUBLISHED_TOTALS))
def test_layer_specs_reproduce_the_published_totals(name: str) -> None:
    gmacs, params_millions = PUBLISHED_TOTALS[name]
    work = workload(name)
    assert work.layers == len(CNN_SPECS[name].layers)  # one kernel per layer, not spread
    # EfficientNet-B4's published 4.2 G is rounded from the paper's 4.2B (ours 4.42 at 380)
    assert work.gflops_per_sample / 2 == pytest.approx(gmacs, rel=0.06)
    weights = sum(g.count * g.weight_elements for g in work.kernels) / 1e6
    assert weights == pytest.approx(params_millions, rel=0.02)


def test_grouped_and_depthwise_convolutions_count_one_group_of_inputs() -> None:
    resnext, wide = CNN_SPECS["resnext101_32x4d"], CNN_SPECS["wide_resnet101_2"]
    grouped = {layer.name: layer for layer in resnext.layers}["layer1.0.conv2"]
    dense = {layer.name: layer for layer in wide.layers}["layer1.0.conv2"]
    # 128 channels in 32 groups of 4 vs 128 dense: 3x3 at 56x56, 128 outputs
    assert grouped.flops == 2 * 4 * 9 * 128 * 56 * 56
    assert dense.flops == 2 * 128 * 9 * 128 * 56 * 56
    # MobileNet-V2 built here (depthwise as groups = channels) and the polymorphic kind's
    # GEMM lowering of the same stage table (its own conv arithmetic) agree on the network's
    # multiply-accumulates, and both match torchvision's published 300.8 M
    polymorphic = sum(g.macs for g in network("mobilenet_v2", 1))
    assert CNN_SPECS["mobilenet_v2"].macs == pytest.approx(polymorphic, rel=1e-3)
    assert CNN_SPECS["mobilenet_v2"].macs == pytest.approx(300.8e6, rel=2e-3)
