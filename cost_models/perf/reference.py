"""Measured points of the public reference data, normalised for calibration and validation.

Reads (never copies) the folders of ``shared/reference`` (see its README):

* ``measured/nvidia_dle/inference.csv``: ResNet-50 v1.5 and BERT inference throughput;
  TensorFlow rows with ``xla = yes`` are skipped (XLA is not modelled separately); the NGC
  TensorFlow 1 tables are runtime ``tensorflow1``, TensorFlow 2 ``tensorflow``;
* ``measured/nvidia_dle/training.csv``: single-node rows (multi-node rows need an inter-node
  network model, which the planner does not have); PyTorch ResNet-50 rows state no batch per
  GPU, for which the DLE README's training commands use 256 (AMP, TF32) and 128 (FP32)
  (ASSUMPTION where the table is silent);
* A100 training rows labelled FP32 are read as TF32 (see :func:`dle_training`);
* ``ppipe/block_latency_us``: TensorRT TF32 chunk tables at MPS level 1, summed over chunks
  per batch, for the DNNs the catalog maps (:data:`PPIPE_MODELS`);
* ``cocktail/models.csv``: Keras ImageNet latencies, taken as batch-1 FP32 on a c5.xlarge as
  the issue reads them (the source states no hardware; see its README).

Held out from the fit (never read by :func:`all_points`): :func:`heldout_points` reads a folder
in the same two-file DLE schema, by default the committed ``benchmarks/data/nvidia_dle_heldout``
(ResNeXt101-32x4d, SE-ResNeXt101-32x4d, EfficientNet-B0/B4 rows; see its README); training rows
whose table states no batch per GPU take the one their README's training command configures
(:data:`HELDOUT_TRAINING_BATCH`, held-out rows only).

Proteus's ``aggregate_profiled.csv`` is not used: its hardware is not stated and its GPU
latencies grow linearly from batch 1 even for MobileNet (host-side work dominates), which no
device model can be fitted to honestly.
"""

from __future__ import annotations

import csv
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from cost_models.devices import Precision
from cost_models.errors import DataError

DLE = Path("measured") / "nvidia_dle"
# the held-out DLE ConvNets rows, relative to the project root (never fitted)
DLE_HELDOUT = Path("benchmarks") / "data" / "nvidia_dle_heldout"
PPIPE_TABLES = Path("ppipe") / "block_latency_us"
COCKTAIL_MODELS = Path("cocktail") / "models.csv"

# PPipe DNN name -> catalog name (same network, same input size). resnext152-32x4d and
# convnext_large are in the catalog but not mapped: with their published FLOPs PPipe's V100
# tables would run at ~90% of FP32 peak for grouped/depthwise convolutions while every other
# table runs at 10-30%, so their PPipe inputs are evidently not the published 224x224 ones.
PPIPE_MODELS = {
    "googlenet-v3-pytorch": "inception_v3",
    "wide_resnet101_2": "wide_resnet101_2",
}
COCKTAIL_DEVICE = "c5.xlarge"
# DLE BERT README: "All fine tuning results are on SQuAD v1.1 using a sequence length of 384"
_DLE_SQUAD_SEQ_LEN = 384
_MAX_BATCH_PER_GPU = 1024  # larger "batch / GPU" cells are accumulated batches (DLE README)


@dataclass(frozen=True)
class Point:
    source: str  # file relative to the reference folder, with its row or line
    model: str
    device: str
    precision: Precision
    runtime: str
    mode: str  # "inference" or "training"
    batch: int  # per GPU
    gpus: int
    seq_len: int | None
    accumulation_steps: int
    throughput_per_s: float  # measured, all GPUs together
    # True where the batches are padded only to their length bin, not to ``seq_len`` (the
    # maximum): the PyTorch BERT pre-training phase 2 rows (see :func:`dle_training`)
    length_binned: bool = False

    @property
    def latency_ms(self) -> float:
        """Measured time of one batch (per GPU: training step of one micro-batch)."""
        return self.batch * self.gpus * 1e3 / self.throughput_per_s


def _precision(text: str) -> Precision:
    t = text.strip().lower()
    if "mixed" in t or t in ("fp16", "amp"):
        return Precision.FP16
    return Precision(t)


def _gpu(text: str) -> str:
    for name in ("A100", "V100", "T4"):
        if name in text:
            return name
    raise DataError(None, "gpu", f"a T4, V100 or A100 platform (got {text!r})")


def _runtime(framework: str) -> str:
    """``pytorch``, ``tensorflow1`` (the NGC TensorFlow 1 tables) or ``tensorflow`` (TF2)."""
    if framework.startswith("PyTorch"):
        return "pytorch"
    return "tensorflow1" if framework.strip() == "TensorFlow 1" else "tensorflow"


def _model(text: str) -> str:
    """Catalog name of a DLE ``model`` cell (as written: ``ResNet50 v1.5``, ``BERT-Large``,
    ``SE-ResNext101-32x4d``, ``efficientnet-b4``, ``EfficientNet v1-B0``, ...)."""
    t = text.lower()
    if "resnext101" in t:
        return "se_resnext101_32x4d" if t.startswith("se-") else "resnext101_32x4d"
    if "efficientnet" in t:  # not the widese/quant variants
        variant = re.fullmatch(r"efficientnet(?:-| v1-)b([04])", t)
        if variant:
            return f"efficientnet_b{variant.group(1)}"
    elif "resnet" in t:
        return "resnet50"
    elif "bert" in t:
        return "bert_large" if "large" in t else "bert_base"
    raise DataError(None, "model", f"a DLE model the catalog maps (got {text!r})")


def _seq_len(row: dict[str, str], key: str) -> int | None:
    """BERT's sequence length; ``None`` for a CNN (an image size such as ``380x380`` is the
    catalog workload's own input size, not a parameter)."""
    if "bert" not in row["model"].lower():
        return None
    match = re.search(r"(\d+)", row.get(key) or "")
    if match:
        return int(match.group(1))
    return _DLE_SQUAD_SEQ_LEN if "fine" in (row.get("task") or "") else None


def _number(text: str | None) -> float | None:
    try:
        value = float((text or "").replace(",", ""))
    except ValueError:
        return None
    return value if math.isfinite(value) and value > 0 else None


def dle_inference(reference: Path, folder: Path = DLE) -> list[Point]:
    """Points of ``reference / folder / "inference.csv"``; sources name ``folder``."""
    path = reference / folder / "inference.csv"
    points = []
    with path.open(newline="", encoding="utf-8") as f:
        for i, row in enumerate(csv.DictReader(f), start=2):
            throughput = _number(row["throughput_per_s"])
            if throughput is None or row["xla"] == "yes":
                continue
            points.append(
                Point(
                    f"{folder}/inference.csv:{i}",
                    _model(row["model"]),
                    _gpu(row["gpu"]),
                    _precision(row["precision"]),
                    _runtime(row["framework"]),
                    "inference",
                    int(row["batch_size"]),
                    1,
                    _seq_len(row, "image_size_or_seq_len"),
                    1,
                    throughput,
                )
            )
    return points


def _accumulation(row: dict[str, str], precision: Precision) -> int:
    """Gradient-accumulation steps of the row's precision, from the raw cells kept in
    ``other_values_as_written`` (the first value belongs to the first precision named)."""
    text = row["other_values_as_written"] or ""
    match = re.search(
        r"(?:Accumulation steps|Gradient Accumulation)[^=;(]*\(?([^=;)]*)\)?=\s*"
        r"(\d+)\s*(?:and|,)\s*(\d+)",
        text,
    )
    if not match:
        return 1
    first_is_amp = "mixed" in match.group(1).lower() or match.group(1).strip().startswith("FP16")
    amp = precision is Precision.FP16
    return int(match.group(2) if amp == first_is_amp else match.group(3))


# PyTorch BERT README (DLE commit 729963dd, PyTorch/LanguageModeling/BERT/README.md, release
# notes, January 2022): "Binned pretraining for phase2 with LDDL using a bin size of 64"
# (scripts/run_pretraining.sh: DATASET2=pretrain/phase2/bin_size_64, --bin-size 64): each
# phase-2 batch is padded to the longest sample of its 64-token bin, not to 512.
_BINNED_MAX_SEQ_LEN = 512


def _binned(row: dict[str, str], runtime: str, seq_len: int | None) -> bool:
    return (
        runtime == "pytorch"
        and row["task"] == "pre-training"
        and "bert" in row["model"].lower()
        and seq_len == _BINNED_MAX_SEQ_LEN
    )


def dle_training(
    reference: Path,
    folder: Path = DLE,
    batches: Mapping[tuple[str, str, str, str], int] | None = None,
) -> list[Point]:
    """Points of ``reference / folder / "training.csv"``; sources name ``folder``. ``batches``
    gives the batch per GPU of rows that state none, keyed by their ``(framework, model, gpu,
    precision)`` cells as written (:data:`HELDOUT_TRAINING_BATCH` for the held-out folder)."""
    path = reference / folder / "training.csv"
    points = []
    with path.open(newline="", encoding="utf-8") as f:
        for i, row in enumerate(csv.DictReader(f), start=2):
            throughput = _number(row["throughput_per_s"])
            nodes = _number(row["num_nodes"])
            if throughput is None or (nodes is not None and nodes > 1):
                continue
            precision = _precision(row["precision"])
            if precision is Precision.FP32 and "A100" in row["gpu"]:
                # TF >= 2.4 and the NGC containers run FP32 math on TF32 tensor cores on Ampere
                # by default; the TF2 BERT A100 table's batch column itself says TF32.
                precision = Precision.TF32
            model = _model(row["model"])
            batch = _number(row["batch_size_per_gpu"])
            if batch is None and model == "resnet50":
                batch = 128.0 if precision is Precision.FP32 else 256.0
            if batch is None and batches is not None:
                # held-out rows only (heldout_points): the batch the README's training
                # command configures, keyed by the row's cells as written
                configured = batches.get(
                    (row["framework"], row["model"], row["gpu"], row["precision"])
                )
                batch = None if configured is None else float(configured)
            # None: not stated; > 1024: PyTorch DGX-1 BERT cells holding accumulated batches.
            if batch is None or batch > _MAX_BATCH_PER_GPU:
                continue
            runtime = _runtime(row["framework"])
            seq_len = _seq_len(row, "seq_len")
            points.append(
                Point(
                    f"{folder}/training.csv:{i}",
                    model,
                    _gpu(row["gpu"]),
                    precision,
                    runtime,
                    "training",
                    int(batch),
                    int(row["num_gpus"]),
                    seq_len,
                    _accumulation(row, precision),
                    throughput,
                    _binned(row, runtime, seq_len),
                )
            )
    return points


# Batch per GPU of the held-out training rows whose tables state none (DLE commit 729963dd),
# keyed by the training.csv cells (framework, model, gpu, precision) as written; see the
# "Batch per GPU (training)" section of benchmarks/data/nvidia_dle_heldout/README.md.
#
# PyTorch: the READMEs' "Training performance benchmark" commands (resnext101-32x4d/README.md
# lines 495-506, se-resnext101-32x4d/README.md 497-508, efficientnet/README.md 507-519) run
# `launch.py --model <arch> --precision <FP32|TF32|AMP> --mode benchmark_training --platform
# <DGX1V|DGXA100>` (1 GPU, or under `multiproc.py --nproc_per_node 8`) with no `-b`, and
# launch.py line 38 takes the batch from PyTorch/Classification/ConvNets/configs.yml
# `models[<arch>][<platform>][<precision>]` (the mode entries set no batch). Precision as
# written -> configs.yml key: TF32 -> TF32, FP32 -> FP32, "mixed precision" -> AMP. Platform:
# DGX A100 headings -> DGXA100; ResNeXt/SE-ResNeXt DGX-1 16GB and 32GB headings -> DGX1V (the
# commands' key; its DGX1V-16G/-32G entries are aliases of DGX1V, configs.yml lines 183-186,
# 219-222). configs.yml has no DGX1V entry for efficientnet-b0/b4, so the EfficientNet DGX-1
# commands name no existing key: the "DGX-1 (8x V100 16GB)" section (heading line 607, its
# paragraph line 609 "efficientnet/training/<AMP|FP32>/*.sh ... on NVIDIA DGX-1 (8x V100
# 16GB)", i.e. efficientnet/training/{AMP,FP32}/DGX1V-16G_efficientnet-b0_*.sh, `--platform
# DGX1V-16G`; there is no DGX-1 script for b4, whose rows take the same heading's entry) ->
# DGX1V-16G. The "DGX-1 (8x V100 32GB)" section (heading line 623, paragraph
# line 625 saying "(8x V100 16GB)") names two platforms whose batches differ 2x (DGX1V-16G,
# DGX1V-32G), so its 8 rows are left without a batch (skipped).
#
# TensorFlow 2 EfficientNet v1: README lines 366/370 name `bash ./scripts/{B0,B4}/training/
# {AMP, FP32, TF32}/train_benchmark_8x{A100-80G, V100-32G}.sh`; in the snapshot these are
# TensorFlow2/Classification/ConvNets/efficientnet_v1/{B0,B4}/training/<precision>/
# train_benchmark_8x<platform>.sh (B0 TF32: " train_benchmark_8xA100-80G.sh", with a leading
# space), whose `--train_batch_size` is "the training batch size per GPU" (README line 264).
# The tables scale weakly (constant batch per GPU), so the 1-GPU rows take the 8-GPU script's
# batch. The scripts also pass `--use_xla` (as the TF2 inference scripts do; the tables do not
# say XLA and are read as the plain runtime, like the TF2 inference rows).
_PT = "PyTorch"
_TF2 = "TensorFlow 2"
_A100_PT_RNXT = "NVIDIA DGX A100 (8x A100 80GB)"
_V100_16_PT_RNXT = "NVIDIA DGX-1 16GB (8x V100 16GB)"
_V100_32_PT_RNXT = "NVIDIA DGX-1 32GB (8x V100 32GB)"
_A100_PT_EFF = "NVIDIA A100 (8x A100 80GB)"
_V100_16_PT_EFF = "NVIDIA DGX-1 (8x V100 16GB)"
_A100_TF2 = "NVIDIA DGX A100 (8x A100 80GB)"
_V100_TF2 = "NVIDIA DGX-1 (8x V100 32GB)"
_AMP = "mixed precision"
HELDOUT_TRAINING_BATCH: dict[tuple[str, str, str, str], int] = {
    # configs.yml resnext101-32x4d: DGXA100 AMP line 191, TF32 line 196
    (_PT, "ResNeXt101-32x4d", _A100_PT_RNXT, "TF32"): 128,
    (_PT, "ResNeXt101-32x4d", _A100_PT_RNXT, _AMP): 128,
    # configs.yml resnext101-32x4d: DGX1V AMP line 177, FP32 line 182
    (_PT, "ResNeXt101-32x4d", _V100_16_PT_RNXT, "FP32"): 64,
    (_PT, "ResNeXt101-32x4d", _V100_16_PT_RNXT, _AMP): 128,
    (_PT, "ResNeXt101-32x4d", _V100_32_PT_RNXT, "FP32"): 64,
    (_PT, "ResNeXt101-32x4d", _V100_32_PT_RNXT, _AMP): 128,
    # configs.yml se-resnext101-32x4d: DGXA100 AMP line 227, TF32 line 232
    (_PT, "SE-ResNeXt101-32x4d", _A100_PT_RNXT, "TF32"): 128,
    (_PT, "SE-ResNeXt101-32x4d", _A100_PT_RNXT, _AMP): 128,
    # configs.yml se-resnext101-32x4d: DGX1V AMP line 213, FP32 line 218
    (_PT, "SE-ResNeXt101-32x4d", _V100_16_PT_RNXT, "FP32"): 64,
    (_PT, "SE-ResNeXt101-32x4d", _V100_16_PT_RNXT, _AMP): 112,
    (_PT, "SE-ResNeXt101-32x4d", _V100_32_PT_RNXT, "FP32"): 64,
    (_PT, "SE-ResNeXt101-32x4d", _V100_32_PT_RNXT, _AMP): 112,
    # configs.yml efficientnet-b0: DGXA100 AMP line 321, TF32 line 326
    (_PT, "efficientnet-b0", _A100_PT_EFF, "TF32"): 256,
    (_PT, "efficientnet-b0", _A100_PT_EFF, _AMP): 256,
    # configs.yml efficientnet-b0: DGX1V-16G AMP line 301, FP32 line 306
    (_PT, "efficientnet-b0", _V100_16_PT_EFF, "FP32"): 64,
    (_PT, "efficientnet-b0", _V100_16_PT_EFF, _AMP): 128,
    # configs.yml efficientnet-b4: DGXA100 AMP line 447, TF32 line 452
    (_PT, "efficientnet-b4", _A100_PT_EFF, "TF32"): 64,
    (_PT, "efficientnet-b4", _A100_PT_EFF, _AMP): 128,
    # configs.yml efficientnet-b4: DGX1V-16G AMP line 427, FP32 line 432
    (_PT, "efficientnet-b4", _V100_16_PT_EFF, "FP32"): 16,
    (_PT, "efficientnet-b4", _V100_16_PT_EFF, _AMP): 32,
    # efficientnet_v1/B0/training/: TF32/" train_benchmark_8xA100-80G.sh" line 24,
    # AMP/train_benchmark_8xA100-80G.sh line 25, FP32/train_benchmark_8xV100-32G.sh line 24,
    # AMP/train_benchmark_8xV100-32G.sh line 25
    (_TF2, "EfficientNet v1-B0", _A100_TF2, "TF32"): 512,
    (_TF2, "EfficientNet v1-B0", _A100_TF2, _AMP): 1024,
    (_TF2, "EfficientNet v1-B0", _V100_TF2, "FP32"): 256,
    (_TF2, "EfficientNet v1-B0", _V100_TF2, _AMP): 512,
    # efficientnet_v1/B4/training/: TF32/train_benchmark_8xA100-80G.sh line 24,
    # AMP/train_benchmark_8xA100-80G.sh line 25, FP32/train_benchmark_8xV100-32G.sh line 24,
    # AMP/train_benchmark_8xV100-32G.sh line 25
    (_TF2, "EfficientNet v1-B4", _A100_TF2, "TF32"): 80,
    (_TF2, "EfficientNet v1-B4", _A100_TF2, _AMP): 160,
    (_TF2, "EfficientNet v1-B4", _V100_TF2, "FP32"): 32,
    (_TF2, "EfficientNet v1-B4", _V100_TF2, _AMP): 64,
}


def ppipe(reference: Path) -> list[Point]:
    points = []
    for dnn, model in PPIPE_MODELS.items():
        for path in sorted((reference / PPIPE_TABLES).glob(f"{dnn}-*-1.csv")):
            gpu = path.name[len(dnn) + 1 :].rsplit("-", 1)[0]
            with path.open(newline="", encoding="utf-8") as f:
                rows = [[float(v) for v in r] for r in csv.reader(f) if r]
            for column in range(len(rows[0])):
                total_us = sum(r[column] for r in rows)
                batch = column + 1
                points.append(
                    Point(
                        f"{PPIPE_TABLES}/{path.name}:col{column + 1}",
                        model,
                        gpu,
                        Precision.TF32,
                        "tensorrt",
                        "inference",
                        batch,
                        1,
                        None,
                        1,
                        batch * 1e6 / total_us,
                    )
                )
    return points


def cocktail(reference: Path) -> list[Point]:
    path = reference / COCKTAIL_MODELS
    points = []
    with path.open(newline="", encoding="utf-8") as f:
        for i, row in enumerate(csv.DictReader(f), start=2):
            if row["source_file"] != "modules/naiveSchedule.py":
                continue  # the CYAN copies repeat these rows; cifar.py is CIFAR-100
            points.append(
                Point(
                    f"{COCKTAIL_MODELS}:{i}",
                    f"keras_{row['model'].lower()}",
                    COCKTAIL_DEVICE,
                    Precision.FP32,
                    "keras",
                    "inference",
                    1,
                    1,
                    None,
                    1,
                    1e3 / float(row["latency_ms"]),
                )
            )
    return points


def heldout_points(folder: Path) -> list[Point]:
    """Points of a folder holding ``inference.csv`` and ``training.csv`` in the DLE schema
    (the committed held-out set is ``project root / DLE_HELDOUT``), read by the same readers
    as the fitted DLE rows, plus :data:`HELDOUT_TRAINING_BATCH` for training rows that state no
    batch per GPU; sources name the folder."""
    name = Path(folder.name)
    return [
        *dle_inference(folder.parent, name),
        *dle_training(folder.parent, name, HELDOUT_TRAINING_BATCH),
    ]


def all_points(reference: Path) -> list[Point]:
    """Every measured point the model can predict; missing folders raise FileNotFoundError."""
    return [
        *dle_inference(reference),
        *dle_training(reference),
        *ppipe(reference),
        *cocktail(reference),
    ]
