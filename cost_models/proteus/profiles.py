"""Measured latency profiles: tables that override the analytical latency model.

Two layouts are read (with pandas):

* Proteus's published profile (``aggregate_profiled.csv``), header
  ``Model,Accel,Trials,batchsize,50th_pct,90th_pct,avg_latency(ms),Min,Max,Accuracy,
  Normalized_Accuracy``, latencies in ms, plus optional ``model_variants/<family>`` files
  (``variant,normalized_accuracy`` per line, no header). Proteus's conventions, kept here:
  only batch sizes 1, 2, 4, 8 are used (its profile's 16 is ignored); the ``50th_pct``
  column is the latency; where a (variant, accelerator, batch) appears twice the later row
  wins. Only the columns used are validated (``Trials`` and ``90th_pct`` are empty on some
  published rows).
* A generic layout ``variant,device,batch,latency_ms`` (header required, ms).

``LatencyProfile.accuracy`` holds normalised accuracy (best variant of a family = 100):
from the ``model_variants`` files when given, else from the CSV's ``Normalized_Accuracy``.
``LatencyProfile.families`` lists each family's variants by normalised accuracy ascending.

:func:`latency_table` is the override rule: a measured table wins over the analytical model.
Capacity of a (variant, device) is :func:`cost_models.latency.capacity` over the profiled
batches; :func:`proteus_capacity` applies Proteus's exact rule:
``floor(B * 1000 / p50_ms(B))`` for the largest ``B`` with ``p50_ms(B) < SLO / 2``.

Malformed files raise :class:`DataError` naming the file and ``line N: column X``.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from cost_models.devices import DeviceType, Precision
from cost_models.errors import DataError
from cost_models.proteus.latency import (
    DEFAULT_BATCHES,
    DEFAULT_ROOFLINE,
    Capacity,
    batch_latency_ms,
    capacity,
)
from cost_models.proteus.variants import ModelVariant
from cost_models.roofline import RooflineParams

PROTEUS_BATCHES: tuple[int, ...] = (1, 2, 4, 8)
PROTEUS_LATENCY_COLUMN = "50th_pct"
# Proteus's cluster: its VPUs were profiled as CPUs (Proteus repository, shared reference
# README), so both device types read the onnxruntime_cpu rows.
PROTEUS_DEVICE_ACCELS: dict[str, str] = {
    "CPU": "onnxruntime_cpu",
    "GPU_AMPERE": "onnxruntime_gpu_ampere",
    "VPU": "onnxruntime_cpu",
    "GPU_PASCAL": "onnxruntime_gpu_pascal",
}
GENERIC_COLUMNS: tuple[str, ...] = ("variant", "device", "batch", "latency_ms")


@dataclass
class LatencyProfile:
    latency_ms: dict[tuple[str, str], dict[int, float]]  # (variant, device) -> batch -> ms
    accuracy: dict[str, float] = field(default_factory=dict)  # normalised, best = 100
    families: dict[str, list[str]] = field(default_factory=dict)  # ascending accuracy

    @property
    def devices(self) -> list[str]:
        """Device (accelerator) names with at least one profiled variant, sorted."""
        return sorted({device for _, device in self.latency_ms})

    def capacity(
        self,
        variant: str,
        device: str,
        budget_ms: float,
        *,
        floor: bool = False,
        strict: bool = False,
    ) -> Capacity | None:
        """Capacity of ``variant`` on ``device`` under ``budget_ms`` (None if unprofiled)."""
        table = self.latency_ms.get((variant, device))
        if not table:
            return None
        return capacity(table, budget_ms, floor=floor, strict=strict)


def proteus_capacity(
    profile: LatencyProfile, variant: str, device: str, slo_ms: float
) -> Capacity | None:
    """Proteus's rule: largest batch with latency strictly below SLO/2, qps floored."""
    return profile.capacity(variant, device, slo_ms / 2.0, floor=True, strict=True)


def latency_table(
    variant: ModelVariant,
    device: DeviceType,
    profile: LatencyProfile | None = None,
    batches: Iterable[int] = DEFAULT_BATCHES,
    precision: Precision = Precision.FP16,
    params: RooflineParams = DEFAULT_ROOFLINE,
) -> dict[int, float]:
    """Batch -> latency (ms) of ``variant`` on ``device``: the profile's measured table
    (keyed by the variant's and device's names) when it has one, else the roofline at
    ``batches``. A measured table is used whole: it replaces, never mixes with, the model."""
    measured = profile.latency_ms.get((variant.name, device.name)) if profile else None
    if measured:
        return dict(measured)
    return {b: batch_latency_ms(variant, device, b, precision, params) for b in batches}


def _read_csv(path: Path, required: Sequence[str], header: bool = True) -> pd.DataFrame:
    """Read ``path`` as strings, blank lines dropped; frame index i is file line i + 1.

    The header is read as an ordinary row so that a row with more fields than the header is
    a parse error (pandas would otherwise silently take the first column as an index).
    """
    try:
        frame = pd.read_csv(
            path, header=None, dtype=str, keep_default_na=False, skip_blank_lines=False
        )
    except FileNotFoundError:
        raise DataError(path, "file", "an existing CSV file") from None
    except pd.errors.EmptyDataError:
        layout = "a header with columns" if header else "lines of"
        raise DataError(path, "line 1", f"{layout} {','.join(required)}") from None
    except pd.errors.ParserError as err:
        match = re.search(r"line (\d+)", str(err))
        where = f"line {match.group(1)}" if match else "file"
        raise DataError(path, where, "the same number of fields as the first line") from None
    if header:
        names = frame.iloc[0].str.strip()
        missing = [c for c in required if c not in set(names)]
        if missing:
            raise DataError(
                path,
                "line 1",
                f"a header with columns {', '.join(required)} (missing {', '.join(missing)})",
            )
        frame = frame.iloc[1:].set_axis(list(names), axis=1)
    elif frame.shape[1] == len(required):
        frame.columns = list(required)
    else:
        raise DataError(path, "line 1", f"{len(required)} fields: {','.join(required)}")
    blank = (frame == "").all(axis=1)
    return frame[~blank]


def _at(frame: pd.DataFrame, mask: pd.Series, column: str) -> tuple[str, str]:
    """``line N: column X`` of the first row where ``mask`` holds, and the raw text there."""
    index = int(mask.index.to_numpy()[mask.to_numpy().argmax()])
    return f"line {index + 1}: column {column}", repr(frame.at[index, column])


def _numbers(frame: pd.DataFrame, column: str, path: Path, expected: str) -> pd.Series:
    """``column`` as floats; the first non-numeric, non-finite or non-positive entry raises."""
    values = pd.to_numeric(frame[column].str.strip(), errors="coerce")
    bad = ~(values > 0) | (values == math.inf)
    if bad.any():
        key, got = _at(frame, bad, column)
        raise DataError(path, key, f"{expected} (got {got})")
    return values.astype(float)


def _batches(frame: pd.DataFrame, column: str, path: Path) -> pd.Series:
    expected = "a positive integer batch size"
    values = _numbers(frame, column, path, expected)
    fractional = values != values.round()
    if fractional.any():
        key, got = _at(frame, fractional, column)
        raise DataError(path, key, f"{expected} (got {got})")
    return values.astype(int)


def _names(frame: pd.DataFrame, column: str, path: Path) -> pd.Series:
    names = frame[column].str.strip()
    empty = names == ""
    if empty.any():
        raise DataError(path, _at(frame, empty, column)[0], "a name")
    return names


def _table(
    path: Path,
    variants: Iterable[str],
    devices: Iterable[str],
    batches: Iterable[int],
    latencies: Iterable[float],
    keep: Sequence[int] | None = None,
) -> dict[tuple[str, str], dict[int, float]]:
    """Nest rows into (variant, device) -> batch -> ms; later rows win; ``keep`` filters."""
    table: dict[tuple[str, str], dict[int, float]] = {}
    for variant, device, batch, latency in zip(variants, devices, batches, latencies, strict=True):
        if keep is None or batch in keep:
            table.setdefault((variant, device), {})[int(batch)] = float(latency)
    if not table:
        wanted = "" if keep is None else f" with a batch size in {tuple(keep)}"
        raise DataError(path, "line 2", f"at least one latency row{wanted}")
    return table


def _read_variants_dir(variants_dir: Path) -> tuple[dict[str, float], dict[str, str]]:
    """Normalised accuracy per variant and family per variant from ``model_variants/``."""
    if not variants_dir.is_dir():
        raise DataError(variants_dir, "model_variants", "a folder of <family> files")
    accuracy: dict[str, float] = {}
    family_of: dict[str, str] = {}
    for path in sorted(p for p in variants_dir.iterdir() if p.is_file()):
        frame = _read_csv(path, ("variant", "normalized_accuracy"), header=False)
        names = _names(frame, "variant", path)
        values = _numbers(frame, "normalized_accuracy", path, "a normalised accuracy in (0, 100]")
        for index, name, value in zip(frame.index, names, values, strict=True):
            where = f"line {index + 1}: column "
            if value > 100.0:
                raise DataError(
                    path,
                    where + "normalized_accuracy",
                    f"a normalised accuracy in (0, 100] (got {value})",
                )
            if name in family_of:
                raise DataError(
                    path,
                    where + "variant",
                    f"a variant in one family only ({name!r} is also in {family_of[name]!r})",
                )
            family_of[name] = path.name
            accuracy[name] = float(value)
    if not family_of:
        raise DataError(variants_dir, "model_variants", "at least one non-empty family file")
    return accuracy, family_of


def load_proteus_profile(
    csv_path: Path | str,
    variants_dir: Path | str | None = None,
    batches: Sequence[int] = PROTEUS_BATCHES,
    column: str = PROTEUS_LATENCY_COLUMN,
) -> LatencyProfile:
    """Read Proteus's ``aggregate_profiled.csv`` (and its ``model_variants`` folder)."""
    path = Path(csv_path)
    frame = _read_csv(path, ("Model", "Accel", "batchsize", column, "Normalized_Accuracy"))
    models = _names(frame, "Model", path)
    table = _table(
        path,
        models,
        _names(frame, "Accel", path),
        _batches(frame, "batchsize", path),
        _numbers(frame, column, path, "a positive latency in ms"),
        keep=batches,
    )
    if variants_dir is None:
        normalised = _numbers(frame, "Normalized_Accuracy", path, "a positive accuracy")
        accuracy = dict(zip(models, normalised.astype(float), strict=True))
        return LatencyProfile(table, accuracy)
    accuracy, family_of = _read_variants_dir(Path(variants_dir))
    families: dict[str, list[str]] = {}
    for name in sorted(family_of, key=lambda v: (family_of[v], accuracy[v], v)):
        families.setdefault(family_of[name], []).append(name)
    return LatencyProfile(table, accuracy, families)


def load_latency_csv(path: Path | str) -> LatencyProfile:
    """Read the generic ``variant,device,batch,latency_ms`` layout (later rows win)."""
    csv_path = Path(path)
    frame = _read_csv(csv_path, GENERIC_COLUMNS)
    table = _table(
        csv_path,
        _names(frame, "variant", csv_path),
        _names(frame, "device", csv_path),
        _batches(frame, "batch", csv_path),
        _numbers(frame, "latency_ms", csv_path, "a positive latency in ms"),
    )
    return LatencyProfile(table)
