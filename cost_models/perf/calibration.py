"""Fitted parameters of the performance model and the prediction of one measured point.

``calibration.json`` (next to this module) is written by ``benchmarks/calibrate.py``: the
fitted parameters, the data they came from (files, row counts), the fit's residuals and
the held-out validation errors per (device, precision, mode) group.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

from cost_models.devices import Precision, device
from cost_models.errors import DataError
from cost_models.perf.catalog import workload
from cost_models.perf.hardware import Runtime
from cost_models.perf.model import PARAMETER_NAMES, PerfParams, Timing, inference, training_step
from cost_models.perf.reference import Point

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


def timing(query: Query, params: PerfParams) -> Timing:
    """Model time of one batch (inference) or one training micro-batch step (per GPU)."""
    if query.batch < 1 or query.gpus < 1:
        raise DataError(
            None, "batch", f"batch >= 1 and gpus >= 1 (got {query.batch}, {query.gpus})"
        )
    work = workload(query.model, query.seq_len)
    dev = device(query.device)
    if query.mode == "inference":
        if query.gpus != 1:
            raise DataError(None, "gpus", f"1 for inference (got {query.gpus})")
        return inference(work, dev, query.batch, query.precision, query.runtime, params)
    if query.mode == "training":
        return training_step(
            work,
            dev,
            query.batch,
            query.precision,
            query.runtime,
            params,
            gpus=query.gpus,
            accumulation_steps=query.accumulation_steps,
        )
    raise DataError(None, "mode", f"inference or training (got {query.mode!r})")


def query_of(point: Point) -> Query:
    return Query(
        point.model,
        point.device,
        point.batch,
        point.precision,
        point.mode,
        Runtime(point.runtime),
        point.gpus,
        point.seq_len,
        point.accumulation_steps,
    )


def predicted_latency_ms(point: Point, params: PerfParams) -> float:
    """Predicted counterpart of :attr:`Point.latency_ms`."""
    return 1e3 * timing(query_of(point), params).latency_s


@dataclass(frozen=True)
class Calibration:
    params: PerfParams
    fitted_groups: frozenset[str]  # group_key of every (device, precision, mode) fitted
    fitted_runtimes: frozenset[str]  # "device/runtime" pairs with fitted data
    heldout_mape_pct: dict[str, float]  # per group_key, from the held-out folds
    heldout_overall_mape_pct: float
    document: dict[str, Any]

    def expected_error_pct(self, device_name: str, precision: Precision, mode: str) -> float:
        """Held-out MAPE of the group, or the overall held-out MAPE for unseen groups."""
        return self.heldout_mape_pct.get(
            group_key(device_name, precision, mode), self.heldout_overall_mape_pct
        )


def parse(document: dict[str, Any], file: Path) -> Calibration:
    try:
        values = {name: float(document["parameters"][name]) for name in PARAMETER_NAMES}
        heldout = document["validation"]["heldout"]
        return Calibration(
            PerfParams(values),
            frozenset(document["fit"]["groups"]),
            frozenset(document["fit"]["device_runtimes"]),
            {k: float(v) for k, v in heldout["mape_pct_by_group"].items()},
            float(heldout["overall_mape_pct"]),
            document,
        )
    except (KeyError, TypeError, ValueError) as exc:
        raise DataError(
            file, str(exc), "a calibration written by benchmarks/calibrate.py"
        ) from None


@cache
def load(file: Path = CALIBRATION_FILE) -> Calibration:
    """The committed calibration (cached)."""
    try:
        document = json.loads(file.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as exc:
        raise DataError(file, "calibration", f"a readable JSON file ({exc})") from None
    return parse(document, file)
