"""Fitted parameters of the performance model and the prediction of one measured point.

``calibration.json`` (next to this module) is written by ``benchmarks/calibrate.py``: the
fitted parameters, the data they came from (files, row counts), the fit's residuals and
the held-out validation errors per (device, precision, mode) group.
"""

from __future__ import annotations

import json
import statistics
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import numpy as np

from cost_models.devices import DeviceType, Precision, device
from cost_models.errors import DataError
from cost_models.perf.catalog import workload
from cost_models.perf.hardware import Runtime
from cost_models.perf.model import (
    PARAMETER_NAMES,
    Case,
    Cases,
    PerfParams,
    Timing,
    compile_cases,
    evaluate,
    timing_of,
)
from cost_models.perf.reference import Point, all_points
from cost_models.units import MS_PER_S

CALIBRATION_FILE = Path(__file__).with_name("calibration.json")


@dataclass(frozen=True)
class Query:
    model: str
    device: str
    batch: int
    precision: Precision
    mode: str = "inference"
    runtime: Runtime = Runtime.PYTORCH
    gpus: int = 1
    seq_len: int | None = None
    accumulation_steps: int = 1


def group_key(device_name: str, precision: Precision, mode: str) -> str:
    return f"{device_name}/{precision.value}/{mode}"


def case(query: Query) -> Case:
    """The model case of ``query``; bad values raise :class:`DataError`."""
    if query.batch < 1 or query.gpus < 1:
        raise DataError(
            None, "batch", f"batch >= 1 and gpus >= 1 (got {query.batch}, {query.gpus})"
        )
    if query.mode not in ("inference", "training"):
        raise DataError(None, "mode", f"inference or training (got {query.mode!r})")
    if query.mode == "inference" and query.gpus != 1:
        raise DataError(None, "gpus", f"1 for inference (got {query.gpus})")
    return Case(
        workload(query.model, query.seq_len),
        device(query.device),
        query.batch,
        query.precision,
        query.runtime,
        query.mode == "training",
        query.gpus,
        query.accumulation_steps,
    )


def timing(query: Query, params: PerfParams) -> Timing:
    """Model time of one batch (inference) or one training micro-batch step (per GPU)."""
    return timing_of(case(query), params)


def query_of(point: Point, binned_seq_len: int | None = None) -> Query:
    """The query a measured point answers. A length-binned point (batches padded to their
    length bin, :attr:`Point.length_binned`) processes ``binned_seq_len`` tokens per sample
    on average (fitted, :attr:`Calibration.binned_seq_len`), not its maximum ``seq_len``."""
    seq_len = binned_seq_len if point.length_binned and binned_seq_len else point.seq_len
    return Query(
        point.model,
        point.device,
        point.batch,
        point.precision,
        point.mode,
        Runtime(point.runtime),
        point.gpus,
        seq_len,
        point.accumulation_steps,
    )


def compile_points(points: list[Point], binned_seq_len: int | None) -> Cases:
    """All ``points`` as one array case set (for :func:`predicted_latencies_ms`)."""
    return compile_cases([case(query_of(p, binned_seq_len)) for p in points])


def predicted_latencies_ms(cases: Cases, params: PerfParams) -> np.ndarray:
    """Predicted counterparts of :attr:`Point.latency_ms` for compiled points."""
    return MS_PER_S * evaluate(cases, params).latency_s


@dataclass(frozen=True)
class Calibration:
    params: PerfParams
    fitted_groups: frozenset[str]  # group_key of every (device, precision, mode) fitted
    fitted_runtimes: frozenset[str]  # "device/runtime" pairs with fitted data
    model_out_mape_pct: dict[str, float]  # per group_key, leave-one-model-out
    model_out_overall_mape_pct: float
    gpu_out_overall_mape_pct: float  # leave-one-GPU-out, all points
    # mean padded tokens per sample of the length-binned measurements (Point.length_binned)
    binned_seq_len: int
    document: dict[str, Any]

    def provenance(self, device_name: str, runtime: Runtime) -> str:
        """``calibrated`` when the fit saw measurements of ``device_name`` with ``runtime``,
        else ``roofline`` (the fitted parameters transferred to an unmeasured pair)."""
        return (
            "calibrated" if f"{device_name}/{runtime.value}" in self.fitted_runtimes else "roofline"
        )

    def expected_error_pct(
        self, device_name: str, precision: Precision, mode: str, provenance: str
    ) -> float:
        """Expected error of a ``calibrated`` point: the leave-one-model-out MAPE of its
        (device, precision, mode) group (overall when the group has no data); of a
        ``roofline`` point (device or runtime never measured): the leave-one-GPU-out MAPE."""
        if provenance == "roofline":
            return self.gpu_out_overall_mape_pct
        return self.model_out_mape_pct.get(
            group_key(device_name, precision, mode), self.model_out_overall_mape_pct
        )


@dataclass(frozen=True)
class Prediction:
    """A model prediction of one query with its provenance (``calibrated`` or ``roofline``)
    and expected error (see :meth:`Calibration.expected_error_pct`)."""

    timing: Timing
    provenance: str
    expected_error_pct: float


def default_runtime(dev: DeviceType) -> Runtime:
    """PyTorch on GPUs, Keras on CPUs: the runtimes most of the fitted measurements used."""
    return Runtime.KERAS if dev.kind == "cpu" else Runtime.PYTORCH


def predict(query: Query, cal: Calibration | None = None) -> Prediction:
    """:func:`timing` of ``query`` with the committed calibration (or ``cal``), its
    provenance and expected error; bad values raise :class:`DataError`."""
    cal = cal or load()
    provenance = cal.provenance(query.device, query.runtime)
    error = cal.expected_error_pct(query.device, query.precision, query.mode, provenance)
    return Prediction(timing(query, cal.params), provenance, error)


def parse(document: dict[str, Any], file: Path) -> Calibration:
    try:
        values = {name: float(document["parameters"][name]) for name in PARAMETER_NAMES}
        values.update({name: float(v) for name, v in document["factors"].items()})
        model_out = document["validation"]["leave_one_model_out"]
        gpu_out = document["validation"]["leave_one_gpu_out"]
        return Calibration(
            PerfParams(values),
            frozenset(document["fit"]["groups"]),
            frozenset(document["fit"]["device_runtimes"]),
            {k: float(v) for k, v in model_out["mape_pct_by_group"].items()},
            float(model_out["overall_mape_pct"]),
            float(gpu_out["overall_mape_pct"]),
            int(document["data_parameters"]["binned_seq_len"]),
            document,
        )
    except (KeyError, TypeError, ValueError) as exc:
        raise DataError(
            file, str(exc), "a calibration written by benchmarks/calibrate.py"
        ) from None


# The public reference data (../shared/reference next to the project; read, never copied).
REFERENCE = Path(__file__).resolve().parents[3] / "shared" / "reference"


@dataclass(frozen=True)
class Measured:
    """The measurement of one point: the median of its listings (several when the sources
    list it more than once, e.g. DGX-1 16 GB and 32 GB), the largest deviation of a listing
    from that median, and where the listings are."""

    latency_ms: float
    spread_pct: float
    sources: tuple[str, ...]


def measured_point(query: Query, reference: Path | None = None) -> Measured | None:
    """The measurement of exactly ``query``'s point (model, device, batch, precision, mode,
    runtime, GPUs, sequence length) in the reference data (default :data:`REFERENCE`, read at
    the call); None when absent (or when the reference folder is)."""
    listed = _measured_index(REFERENCE if reference is None else reference).get(query_of_key(query))
    if not listed:
        return None
    latency_ms = statistics.median(ms for ms, _ in listed)
    spread_pct = 100.0 * max(abs(ms / latency_ms - 1.0) for ms, _ in listed)
    return Measured(latency_ms, spread_pct, tuple(source for _, source in listed))


def query_of_key(query: Query) -> tuple[object, ...]:
    return (
        query.model,
        query.device,
        query.batch,
        query.precision,
        query.mode,
        query.runtime,
        query.gpus,
        query.seq_len,
    )


@cache
def _measured_index(reference: Path) -> dict[tuple[object, ...], list[tuple[float, str]]]:
    index: dict[tuple[object, ...], list[tuple[float, str]]] = {}
    if not reference.is_dir():
        return index
    for point in all_points(reference):
        if point.length_binned:
            continue  # not a measurement of full-length sequences
        key = query_of_key(query_of(point))
        index.setdefault(key, []).append((point.latency_ms, point.source))
    return index


@cache
def load(file: Path = CALIBRATION_FILE) -> Calibration:
    """The committed calibration (cached)."""
    try:
        document = json.loads(file.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as exc:
        raise DataError(file, "calibration", f"a readable JSON file ({exc})") from None
    return parse(document, file)
