"""Profile ingestion: Proteus's published format (real file when present) and synthetic CSVs."""

from __future__ import annotations

from pathlib import Path

import pytest

from cost_models.devices import DEVICES
from cost_models.errors import DataError
from cost_models.proteus.latency import Capacity, batch_latency_ms
from cost_models.proteus.profiles import (
    PROTEUS_DEVICE_ACCELS,
    latency_table,
    load_latency_csv,
    load_proteus_profile,
    proteus_capacity,
)
from cost_models.proteus.variants import VARIANTS

REFERENCE = Path(__file__).resolve().parents[3] / "shared" / "reference" / "proteus"
HEADER = (
    "Model,Accel,Trials,batchsize,50th_pct,90th_pct,avg_latency(ms),Min,Max,Accuracy,"
    "Normalized_Accuracy"
)


def _row(model: str, accel: str, batch: int, p50: float | str, norm: float = 100.0) -> str:
    return f"{model},{accel},100,{batch},{p50},{p50},{p50},1,999,80.0,{norm}"


def _write(path: Path, lines: list[str]) -> Path:
    path.write_text("\n".join(lines) + "\n")
    return path


@pytest.fixture
def proteus_csv(tmp_path: Path) -> Path:
    return _write(
        tmp_path / "profile.csv",
        [
            HEADER,
            _row("r18", "gpu", 1, 10.0, 90.0),
            _row("r18", "gpu", 2, 20.0, 90.0),
            _row("r18", "gpu", 4, 30.0, 90.0),
            _row("r18", "gpu", 8, 50.0, 90.0),
            _row("r18", "gpu", 16, 60.0, 90.0),  # ignored: Proteus uses batches 1, 2, 4, 8
            "",
            _row("r50", "gpu", 1, 40.0),
            _row("r50", "cpu", 1, 200.0),
            _row("r18", "gpu", 8, 45.0, 90.0),  # duplicate: the later row wins
        ],
    )


def test_proteus_synthetic(proteus_csv: Path) -> None:
    profile = load_proteus_profile(proteus_csv)
    assert profile.latency_ms[("r18", "gpu")] == {1: 10.0, 2: 20.0, 4: 30.0, 8: 45.0}
    assert profile.latency_ms[("r50", "cpu")] == {1: 200.0}
    assert profile.devices == ["cpu", "gpu"]
    assert profile.accuracy == {"r18": 90.0, "r50": 100.0}
    assert profile.families == {}
    # SLO 100 ms -> budget 50 ms, strictly below: batch 8 (45 ms) -> floor(8000/45) = 177.
    assert proteus_capacity(profile, "r18", "gpu", 100.0) == Capacity(8, 45.0, 177.0)
    # SLO 90 ms -> budget 45 ms: 45 is not strictly below, so batch 4: floor(4000/30) = 133.
    assert proteus_capacity(profile, "r18", "gpu", 90.0) == Capacity(4, 30.0, 133.0)
    assert proteus_capacity(profile, "r50", "cpu", 300.0) is None  # 200 ms >= 150 ms
    assert proteus_capacity(profile, "r50", "tpu", 300.0) is None  # never profiled
    # Non-strict generic capacity at the same budget keeps the boundary batch.
    assert profile.capacity("r18", "gpu", 45.0) == Capacity(8, 45.0, 8000 / 45.0)


def test_proteus_other_batches_and_column(proteus_csv: Path) -> None:
    profile = load_proteus_profile(proteus_csv, batches=(1, 16), column="avg_latency(ms)")
    assert profile.latency_ms[("r18", "gpu")] == {1: 10.0, 16: 60.0}
    assert ("r50", "cpu") in profile.latency_ms


def test_proteus_model_variants(proteus_csv: Path, tmp_path: Path) -> None:
    variants = tmp_path / "model_variants"
    variants.mkdir()
    (variants / "resnet").write_text("r50,100\nr18,89.5")  # no trailing newline, as published
    (variants / "bert").write_text("tiny,85.9\n")
    profile = load_proteus_profile(proteus_csv, variants)
    assert profile.families == {"bert": ["tiny"], "resnet": ["r18", "r50"]}
    assert profile.accuracy == {"r50": 100.0, "r18": 89.5, "tiny": 85.9}


@pytest.mark.parametrize(
    ("files", "key", "expected"),
    [
        ({"a": "x,100\ny,abc\n"}, "line 2: column normalized_accuracy", "normalised accuracy"),
        ({"a": "x,100\ny,120\n"}, "line 2: column normalized_accuracy", "(0, 100]"),
        ({"a": "x,100\n", "b": "x,90\n"}, "line 1: column variant", "one family only"),
        ({"a": "x,100,3\n"}, "line 1", "2 fields"),
        ({"a": ""}, "line 1", "lines of variant,normalized_accuracy"),
    ],
)
def test_bad_model_variants(
    proteus_csv: Path, tmp_path: Path, files: dict[str, str], key: str, expected: str
) -> None:
    folder = tmp_path / "mv"
    folder.mkdir()
    for name, text in files.items():
        (folder / name).write_text(text)
    with pytest.raises(DataError) as err:
        load_proteus_profile(proteus_csv, folder)
    assert err.value.key == key and expected in err.value.expected
    assert err.value.file is not None


def test_missing_variants_dir(proteus_csv: Path, tmp_path: Path) -> None:
    with pytest.raises(DataError, match="model_variants"):
        load_proteus_profile(proteus_csv, tmp_path / "absent")


@pytest.mark.parametrize(
    ("lines", "key", "expected"),
    [
        (
            [HEADER, _row("a", "gpu", 1, 5.0), _row("a", "gpu", 2, "fast")],
            "line 3: column 50th_pct",
            "a positive latency in ms (got 'fast')",
        ),
        ([HEADER, _row("a", "gpu", 1, -5.0)], "line 2: column 50th_pct", "positive latency"),
        (
            [HEADER, _row("a", "gpu", 1, 5.0), "", _row("a", "gpu", 2, "")],
            "line 4: column 50th_pct",
            "positive latency",
        ),
        (
            [HEADER, _row("a", "gpu", 1, 5.0).replace(",1,5.0", ",1.5,5.0")],
            "line 2: column batchsize",
            "integer batch size",
        ),
        ([HEADER, _row("", "gpu", 1, 5.0)], "line 2: column Model", "a name"),
        (
            [HEADER, _row("a", "gpu", 1, 5.0) + ",extra"],
            "line 2",
            "number of fields as the first line",
        ),
        (["Model,Accel,batchsize", "a,gpu,1"], "line 1", "missing 50th_pct, Normalized_Accuracy"),
        ([HEADER, _row("a", "gpu", 16, 5.0)], "line 2", "batch size in (1, 2, 4, 8)"),
        ([], "line 1", "a header with columns"),
    ],
)
def test_malformed_proteus_csv(tmp_path: Path, lines: list[str], key: str, expected: str) -> None:
    path = tmp_path / "bad.csv"
    path.write_text("\n".join(lines))
    with pytest.raises(DataError) as err:
        load_proteus_profile(path)
    assert err.value.key == key
    assert expected in err.value.expected
    assert err.value.file == str(path)


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(DataError, match="an existing CSV file"):
        load_latency_csv(tmp_path / "nope.csv")


def test_generic_csv(tmp_path: Path) -> None:
    path = _write(
        tmp_path / "lat.csv",
        [
            "variant,device,batch,latency_ms",
            "resnet50,T4,1,2.5",
            "resnet50,T4,4,6.0",
            "resnet50 , T4 ,4,5.0",  # later row wins; names are stripped
            "bert_base,A100,1,3.0",
        ],
    )
    profile = load_latency_csv(path)
    assert profile.latency_ms == {
        ("resnet50", "T4"): {1: 2.5, 4: 5.0},
        ("bert_base", "A100"): {1: 3.0},
    }
    assert profile.capacity("resnet50", "T4", 5.0) == Capacity(4, 5.0, 800.0)


@pytest.mark.parametrize(
    ("lines", "key"),
    [
        (["variant,device,batch,latency_ms", "a,T4,1,2", "a,T4,zero,2"], "line 3: column batch"),
        (["variant,device,batch,latency_ms", "a,T4,0,2"], "line 2: column batch"),
        (["variant,device,batch,latency_ms", "a,T4,1,inf"], "line 2: column latency_ms"),
        (["variant,device,batch,latency_ms", "a,,1,2"], "line 2: column device"),
        (["variant,device,batch", "a,T4,1"], "line 1"),
        (["variant,device,batch,latency_ms"], "line 2"),
    ],
)
def test_malformed_generic_csv(tmp_path: Path, lines: list[str], key: str) -> None:
    path = _write(tmp_path / "bad.csv", lines)
    with pytest.raises(DataError) as err:
        load_latency_csv(path)
    assert err.value.key == key


@pytest.fixture
def reference() -> Path:
    if not (REFERENCE / "aggregate_profiled.csv").exists():
        pytest.skip(f"Proteus reference data not found at {REFERENCE}")
    return REFERENCE


def test_reference_profile(reference: Path) -> None:
    profile = load_proteus_profile(
        reference / "aggregate_profiled.csv", reference / "model_variants"
    )
    assert profile.devices == sorted(set(PROTEUS_DEVICE_ACCELS.values()))
    assert sum(len(v) for v in profile.families.values()) == 46
    assert len(profile.families) == 9
    assert len(profile.latency_ms) == 46 * 3
    assert all(set(t) <= {1, 2, 4, 8} for t in profile.latency_ms.values())
    # gpt2-xl was profiled on Pascal at batch 1 only.
    assert profile.latency_ms[("gpt2-xl", "onnxruntime_gpu_pascal")] == pytest.approx(
        {1: 491.6403293609619}
    )
    # efficientnet-b1 on CPU appears twice; the later block wins (p50 at batch 8 = 299.515).
    assert profile.latency_ms[("efficientnet-b1", "onnxruntime_cpu")][8] == pytest.approx(
        299.5152473449707
    )
    assert profile.families["yolo"] == ["yolov5n", "yolov5m", "yolov5s", "yolov5l", "yolov5x"]
    assert profile.accuracy["albert-xxlarge-v2"] == 100.0
    # resnet50_v1 on Ampere: p50(8) = 147.40 ms < 150 ms -> floor(8000 / 147.4) = 54 qps.
    assert proteus_capacity(profile, "resnet50_v1", "onnxruntime_gpu_ampere", 300.0) == (
        Capacity(8, 147.40, 54.0)
    )
    # efficientnet-b7 on Ampere: only batch 1 (52.52 ms) fits -> floor(1000 / 52.52) = 19.
    assert proteus_capacity(profile, "efficientnet-b7", "onnxruntime_gpu_ampere", 300.0) == (
        Capacity(1, 52.52, 19.0)
    )
    # The README's never-placeable variants at SLO 300 ms.
    for variant in ("t5-large", "gpt2-medium", "gpt2-large", "gpt2-xl"):
        assert all(
            proteus_capacity(profile, variant, accel, 300.0) is None for accel in profile.devices
        )


def test_reference_profile_without_variants(reference: Path) -> None:
    profile = load_proteus_profile(reference / "aggregate_profiled.csv")
    assert len(profile.accuracy) == 46
    assert profile.accuracy["yolov5s"] == pytest.approx(89.54635108481261)


def test_latency_table_profile_overrides_model(tmp_path: Path) -> None:
    r50, t4, a100 = VARIANTS["resnet50"], DEVICES["T4"], DEVICES["A100"]
    profile = load_latency_csv(
        _write(
            tmp_path / "m.csv",
            ["variant,device,batch,latency_ms", "resnet50,T4,1,3.5", "resnet50,T4,2,5.0"],
        )
    )
    assert latency_table(r50, t4, profile) == {1: 3.5, 2: 5.0}
    # Not profiled on A100 (and no profile at all): the roofline at the requested batches.
    analytical = {b: batch_latency_ms(r50, a100, b) for b in (1, 4)}
    assert latency_table(r50, a100, profile, batches=(1, 4)) == analytical
    assert latency_table(r50, a100, None, batches=(1, 4)) == analytical
    assert set(latency_table(r50, t4)) == {1, 2, 4, 8, 16}
