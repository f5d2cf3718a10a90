"""The held-out NVIDIA DLE ConvNets rows (benchmarks/data/nvidia_dle_heldout): committed, so
these tests need no ``../shared/reference`` (the one comparing with the fitted points skips
without it)."""

from __future__ import annotations

import csv
import json
from dataclasses import astuple, replace

import pytest

from cost_models.perf import calibration
from cost_models.perf.calibration import CALIBRATION_FILE
from cost_models.perf.catalog import model_names, workload
from cost_models.perf.reference import (
    DLE_HELDOUT,
    HELDOUT_TRAINING_BATCH,
    PPIPE_MODELS,
    Point,
    all_points,
    dle_training,
    heldout_points,
)
from tests.conftest import REFERENCE, ROOT

FOLDER = ROOT / DLE_HELDOUT
COMMIT = "729963dd47e7c8bd462ad10bfac7a7b0b604e6dd"
# the shared DLE schema (shared/reference/measured/nvidia_dle/README.md): per-file columns,
# then the provenance columns both files end with
PROVENANCE_COLUMNS = [
    "other_values_as_written",
    "table_label",
    "heading_path",
    "notes",
    "source_file",
    "source_line",
    "source_commit",
]
INFERENCE_COLUMNS = [
    "model",
    "task",
    "framework",
    "gpu",
    "precision",
    "xla",
    "batch_size",
    "throughput_per_s",
    "throughput_unit",
    "latency_avg_ms",
    "latency_p90_ms",
    "latency_p95_ms",
    "latency_p99_ms",
    "image_size_or_seq_len",
    *PROVENANCE_COLUMNS,
]
TRAINING_COLUMNS = [
    "model",
    "task",
    "framework",
    "gpu",
    "num_nodes",
    "num_gpus",
    "precision",
    "xla",
    "batch_size_per_gpu",
    "throughput_per_s",
    "throughput_unit",
    "scaling_efficiency_or_speedup",
    "scaling_column",
    "mixed_precision_speedup",
    "time_to_train",
    "time_to_train_column",
    "seq_len",
    *PROVENANCE_COLUMNS,
]
HELDOUT_MODELS = {"resnext101_32x4d", "se_resnext101_32x4d", "efficientnet_b0", "efficientnet_b4"}


def _rows(name: str) -> tuple[list[str], list[dict[str, str]]]:
    with (FOLDER / name).open(newline="", encoding="utf-8") as f:
        reader = csv.DictReader(f)
        return list(reader.fieldnames or []), list(reader)


def _key(p: Point) -> tuple[object, ...]:
    """A point without its source: what the fit would have seen."""
    return astuple(replace(p, source=""))


def test_heldout_csvs_have_the_shared_schema_and_name_their_source_rows() -> None:
    for name, columns, count in (
        ("inference.csv", INFERENCE_COLUMNS, 307),
        ("training.csv", TRAINING_COLUMNS, 72),
    ):
        header, rows = _rows(name)
        assert header == columns
        assert len(rows) == count
        for row in rows:
            assert row["source_commit"] == COMMIT
            assert row["source_file"].endswith("/README.md") and int(row["source_line"]) > 0
            assert row["xla"] == "" and not row.get("num_nodes")
            assert any(gpu in row["gpu"] for gpu in ("T4", "V100", "A100"))


def test_every_heldout_row_is_a_point_of_a_catalog_workload() -> None:
    points = heldout_points(FOLDER)
    _, inference_rows = _rows("inference.csv")
    _, training_rows = _rows("training.csv")
    stated = [r for r in training_rows if r["batch_size_per_gpu"]]
    modes = [p.mode for p in points]
    assert modes.count("inference") == len(inference_rows)
    assert len(stated) == 8  # TF1 ResNeXt: the only batches the tables state
    # + 56 rows whose batch the README's training command configures (HELDOUT_TRAINING_BATCH)
    assert modes.count("training") == 64
    assert {p.model for p in points} == HELDOUT_MODELS
    assert {p.device for p in points} == {"T4", "V100", "A100"}
    assert set(model_names()) >= HELDOUT_MODELS
    cases = calibration.compile_points(points, None)  # every point is a valid model case
    assert len(calibration.predicted_latencies_ms(cases, calibration.load().params)) == len(points)
    # where a table states the input size (TF2 EfficientNet), it is the catalog workload's
    inference = points[: len(inference_rows)]
    for line, (p, row) in enumerate(zip(inference, inference_rows, strict=True), start=2):
        assert p.source == f"{DLE_HELDOUT.name}/inference.csv:{line}"
        if row["image_size_or_seq_len"]:
            assert workload(p.model).input_size == row["image_size_or_seq_len"]


def test_no_heldout_model_is_in_the_committed_fit() -> None:
    document = json.loads(CALIBRATION_FILE.read_text(encoding="utf-8"))
    folds = document["validation"]["leave_one_model_out"]["folds"]
    fitted = {f["left_out"].removeprefix("model ") for f in folds}
    assert {"resnet50", "bert_base", "bert_large"} <= fitted
    assert not HELDOUT_MODELS & (fitted | set(PPIPE_MODELS.values()))
    assert all(not m.startswith("keras_") for m in HELDOUT_MODELS)
    files = {f["file"] for f in document["data"]["files"]}
    assert not any(DLE_HELDOUT.name in f for f in files)


def test_heldout_points_are_disjoint_from_the_fitted_points() -> None:
    if not REFERENCE.is_dir():
        pytest.skip(f"reference data not found at {REFERENCE}")
    fitted = {_key(p) for p in all_points(REFERENCE)}
    heldout = heldout_points(FOLDER)
    assert heldout and not fitted & {_key(p) for p in heldout}
    assert not {p.model for p in heldout} & {p.model for p in all_points(REFERENCE)}


def _training_key(row: dict[str, str]) -> tuple[str, str, str, str]:
    return (row["framework"], row["model"], row["gpu"], row["precision"])


def test_heldout_training_batches_fill_only_rows_without_a_stated_batch() -> None:
    _, rows = _rows("training.csv")
    unstated = [r for r in rows if not r["batch_size_per_gpu"]]
    assert not {_training_key(r) for r in rows if r["batch_size_per_gpu"]} & set(
        HELDOUT_TRAINING_BATCH
    )
    assert set(HELDOUT_TRAINING_BATCH) <= {_training_key(r) for r in unstated}  # no stale keys
    filled = [r for r in unstated if _training_key(r) in HELDOUT_TRAINING_BATCH]
    assert len(unstated) == 64 and len(filled) == 56
    # left without a batch: the PyTorch EfficientNet "DGX-1 (8x V100 32GB)" section, whose
    # paragraph says 16GB (configs.yml DGX1V-16G and DGX1V-32G batches differ 2x)
    skipped = [r for r in unstated if _training_key(r) not in HELDOUT_TRAINING_BATCH]
    assert len(skipped) == 8
    assert {(r["framework"], r["gpu"]) for r in skipped} == {
        ("PyTorch", "NVIDIA DGX-1 (8x V100 32GB)")
    }
    assert {r["model"] for r in skipped} == {"efficientnet-b0", "efficientnet-b4"}
    points = {p.source: p for p in heldout_points(FOLDER) if p.mode == "training"}
    for line, row in enumerate(rows, start=2):
        point = points.get(f"{DLE_HELDOUT.name}/training.csv:{line}")
        expected = row["batch_size_per_gpu"] or HELDOUT_TRAINING_BATCH.get(_training_key(row))
        assert (point.batch if point else None) == (int(expected) if expected else None)


def test_heldout_training_batches_leave_the_fitted_points_unchanged() -> None:
    if not REFERENCE.is_dir():
        pytest.skip(f"reference data not found at {REFERENCE}")
    assert dle_training(REFERENCE, batches=HELDOUT_TRAINING_BATCH) == dle_training(REFERENCE)
