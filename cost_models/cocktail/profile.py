"""Cocktail's own measured model profile, read from the files of its repository (in place).

Cocktail's schedulers carry, per model, a latency list and a top-1 accuracy list
(``modules/naiveSchedule.py``: ``model_lat_list``, ``top_accuracy_list``; transcribed in
``../shared/reference/cocktail/models.csv``, one row per (source file, model)), and start
``ceil(model handle size x instance handle size)`` server workers on each serving VM
(``modules/model_source.py`` with the ``HANDLE_SIZE_*`` constants of ``modules/constants.py``;
transcribed in ``handle_sizes_and_concurrency.csv``). From them:

* latency of one request of model m, ms: its ``latency_ms`` (the repository states neither
  unit nor hardware; its serving family is CPU ``c5.*``, so the same latency is used on every
  c5 type -- an assumption);
* top-1 accuracy: its ``top1_accuracy`` (percent in the file; a fraction here);
* requests/s one VM of type i serves with model m: ``workers(m, i) x 1000 / latency_ms(m)``,
  ``workers = ceil(h_model(m) x h_type(i))`` (each worker serves one request at a time).

Model handle sizes are matched to model names as ``model_source.py`` matches them, by name
prefix (``Mobil`` -> ``Mobilenet``, ``InceptionRe`` -> ``InceptionResnet``, ``Inception`` ->
``Inception``, ``ResN`` -> ``Resnet``, ...); instance handle sizes by type prefix
(``p2`` -> ``HANDLE_SIZE_P2``, ``c5.xlarge`` -> ``HANDLE_SIZE_C5X``, ``c5.2xlarge`` ->
``HANDLE_SIZE_C52X``, ``c5.4xlarge`` -> ``HANDLE_SIZE_C54X``, any other ``c5.`` ->
``HANDLE_SIZE_C5``). Never copies the files: they are read where they are.
"""

from __future__ import annotations

import csv
import math
from dataclasses import dataclass
from pathlib import Path

from cost_models.errors import DataError

# model name prefix -> the handle-size constant model_source.py uses (order matters: the
# longer prefix first, as its if/elif chain tests them)
MODEL_HANDLE = (
    ("Mobil", "HANDLE_SIZE_Mobilenet"),
    ("InceptionRe", "HANDLE_SIZE_InceptionResnet"),
    ("Inception", "HANDLE_SIZE_Inception"),
    ("ResN", "HANDLE_SIZE_Resnet"),
    ("Xcepti", "HANDLE_SIZE_Xception"),
    ("NASNetMo", "HANDLE_SIZE_Nasnetmobile"),
    ("NASNetLa", "HANDLE_SIZE_Nasnetlarge"),
    ("DenseNet12", "HANDLE_SIZE_Densenet121"),
    ("DenseNet20", "HANDLE_SIZE_Densenet201"),
    ("VGG", "HANDLE_SIZE_vgg16"),
)
TYPE_HANDLE = (
    ("p2", "HANDLE_SIZE_P2"),
    ("c5.xlarge", "HANDLE_SIZE_C5X"),
    ("c5.2xlarge", "HANDLE_SIZE_C52X"),
    ("c5.4xlarge", "HANDLE_SIZE_C54X"),
    ("c5.", "HANDLE_SIZE_C5"),
)
PERCENT = 100.0  # the profile's accuracies are percentages


@dataclass(frozen=True)
class Profile:
    """Per model (in the order asked): latency of one request (ms) and top-1 (fraction);
    per (model, instance type): server workers on one VM."""

    latency_ms: list[float]
    top1: list[float]
    workers: list[list[int]]

    def capacity_qps(self, m: int, i: int) -> float:
        """Requests/s one VM of type i serves with model m: workers / latency."""
        return self.workers[m][i] * 1e3 / self.latency_ms[m]


def _rows(path: Path) -> list[dict[str, str]]:
    try:
        with open(path, newline="", encoding="utf-8") as handle:
            return list(csv.DictReader(handle))
    except UnicodeDecodeError:
        raise DataError(path, "(file)", "UTF-8 CSV text") from None
    except csv.Error as exc:
        raise DataError(path, "(file)", f"comma-separated text ({exc})") from None


def _number(path: Path, where: str, text: str, low: float, high: float) -> float:
    try:
        value = float(text)
    except ValueError:
        raise DataError(path, where, f"a number (got {text!r})") from None
    if not (math.isfinite(value) and low < value <= high):
        raise DataError(path, where, f"a number in ({low:g}, {high:g}] (got {text!r})")
    return value


def read_handle_sizes(path: Path) -> dict[str, float]:
    """``constant -> value`` of the ``HANDLE_SIZE*`` rows of the handle-size file."""
    out = {}
    for line, row in enumerate(_rows(path), start=2):
        name = (row.get("constant") or "").strip()
        if name.startswith("HANDLE_SIZE"):
            out[name] = _number(path, f"line {line}, value", row.get("value") or "", 0.0, 1e3)
    return out


def _handle(
    path: Path, sizes: dict[str, float], name: str, table: tuple[tuple[str, str], ...]
) -> float:
    for prefix, constant in table:
        if name.startswith(prefix):
            if constant not in sizes:
                raise DataError(path, constant, f"a handle size for {name}")
            return sizes[constant]
    raise DataError(path, "constant", f"a handle size matching {name!r}")


def read_profile(
    models_csv: Path, handle_csv: Path, source_file: str, models: list[str], instances: list[str]
) -> Profile:
    """The profile of ``models`` on ``instances`` from the rows of ``models_csv`` whose
    ``source_file`` is ``source_file``, and the handle sizes of ``handle_csv``."""
    sizes = read_handle_sizes(handle_csv)
    found: dict[str, tuple[float, float]] = {}
    for line, row in enumerate(_rows(models_csv), start=2):
        name = (row.get("model") or "").strip()
        if (row.get("source_file") or "").strip() != source_file or name not in models:
            continue
        found[name] = (
            _number(models_csv, f"line {line}, latency_ms", row.get("latency_ms", ""), 0, 1e6),
            _number(models_csv, f"line {line}, top1_accuracy", row.get("top1_accuracy", ""), 0, 100)
            / PERCENT,
        )
    missing = [m for m in models if m not in found]
    if missing:
        raise DataError(models_csv, "model", f"a row of {source_file} for {', '.join(missing)}")
    type_handle = [_handle(handle_csv, sizes, i, TYPE_HANDLE) for i in instances]
    return Profile(
        latency_ms=[found[m][0] for m in models],
        top1=[found[m][1] for m in models],
        workers=[
            [math.ceil(_handle(handle_csv, sizes, m, MODEL_HANDLE) * h) for h in type_handle]
            for m in models
        ],
    )
