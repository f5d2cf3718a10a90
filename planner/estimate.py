"""``planner.estimate``: latency and throughput of one (model, device, batch, precision) point.

Provenance: ``measured`` when the exact point (model, device, batch, precision, mode,
runtime, GPUs, sequence length) is in the public reference data (read from
``../shared/reference`` when that folder exists; never copied): the measured value is
returned (the median when the sources list it more than once) and ``expected_error_pct`` is
the largest deviation of those listings from it. ``calibrated`` when the fit saw
measurements of that device with that runtime: ``expected_error_pct`` is the
leave-one-model-out MAPE of the (device, precision, mode) group. ``roofline`` when the
calibrated parameters are transferred to a device or runtime without measurements (e.g.
H100, K80, A10G): the leave-one-GPU-out MAPE (see docs/performance_model.md).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from cost_models.devices import DEVICES, Precision
from cost_models.errors import DataError
from cost_models.perf import calibration
from cost_models.perf.catalog import expected_one_of
from cost_models.perf.hardware import Runtime
from cost_models.units import MS_PER_S
from formulations.types import InputError

REFERENCE = calibration.REFERENCE

MODES = ("inference", "training")


@dataclass(frozen=True)
class Estimate:
    latency_ms: float  # one batch (training: one step of one micro-batch per GPU)
    throughput_per_s: float  # samples per second over all GPUs
    bound: str  # "compute", "memory" or "overhead"
    provenance: str  # "measured", "calibrated" or "roofline"
    expected_error_pct: float


def _choice(value: str, choices: list[str], key: str) -> str:
    if value not in choices:
        raise InputError(None, key, expected_one_of(value, choices), value)
    return value


def estimate(
    model: str,
    device: str,
    batch: int,
    precision: str,
    mode: str = "inference",
    runtime: str | None = None,
    gpus: int = 1,
    seq_len: int | None = None,
    reference: Path = REFERENCE,
) -> Estimate:
    """Estimate one point with the calibrated performance model (default runtime: PyTorch on
    GPUs, Keras on CPUs). Unknown names raise :class:`InputError` listing close matches."""
    _choice(device, sorted(DEVICES), "device")
    _choice(precision, [p.value for p in Precision], "precision")
    _choice(mode, list(MODES), "mode")
    if runtime is not None:
        _choice(runtime, [r.value for r in Runtime], "runtime")
    rt = Runtime(runtime) if runtime else calibration.default_runtime(DEVICES[device])
    query = calibration.Query(model, device, batch, Precision(precision), mode, rt, gpus, seq_len)
    try:
        prediction = calibration.predict(query)
    except DataError as exc:
        raise InputError(None, exc.key, exc.expected) from None
    timing = prediction.timing
    measured = calibration.measured_point(query, reference)
    if measured is not None:
        return Estimate(
            measured.latency_ms,
            batch * gpus * MS_PER_S / measured.latency_ms,
            timing.bound,
            "measured",
            measured.spread_pct,
        )
    return Estimate(
        MS_PER_S * timing.latency_s,
        batch * gpus / timing.latency_s,
        timing.bound,
        prediction.provenance,
        prediction.expected_error_pct,
    )
