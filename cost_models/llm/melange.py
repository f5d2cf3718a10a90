"""Melange's published example inputs (``shared/reference/melange/example_inputs.json``).

The file transcribes ``melange/config/example.json`` of tyler-griggs/melange-release:
per GPU its hourly cost and its profiled maximum throughput (requests/s) per bucket, the
workload's share per (input-size, output-size) bucket, the total request rate (requests/s)
and the slice factor. Bucket edges are not part of the example.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cost_models.errors import DataError


@dataclass(frozen=True)
class MelangeExample:
    price_usd_per_h: dict[str, float]
    max_rate_qps: dict[str, list[list[float]]]  # per GPU, rows = input buckets
    shares: list[list[float]]  # rows = input buckets, columns = output buckets
    total_rate_qps: float
    slice_factor: int


def _matrix(value: Any, file: Path, key: str, shape: tuple[int, int] | None) -> list[list[float]]:
    ok = isinstance(value, list) and value and all(isinstance(r, list) and r for r in value)
    rows = [[float(v) for v in r] for r in value] if ok else []
    ok = ok and all(math.isfinite(v) and v >= 0 for r in rows for v in r)
    ok = ok and len({len(r) for r in rows}) == 1
    if shape is not None:
        ok = ok and (len(rows), len(rows[0])) == shape
    if not ok:
        want = f"{shape[0]} x {shape[1]}" if shape else "rectangular"
        raise DataError(file, key, f"a {want} matrix of finite non-negative numbers")
    return rows


def load(path: Path) -> MelangeExample:
    """Read and check the example; malformed content raises :class:`DataError`."""
    try:
        document = json.loads(path.read_text())
        config = document["example_config_as_written"]
        gpus = config["gpu_info"]
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise DataError(
            path, "example_config_as_written.gpu_info", f"Melange's example ({exc})"
        ) from None
    shares = _matrix(config.get("workload_distribution"), path, "workload_distribution", None)
    shape = (len(shares), len(shares[0]))
    prices, rates = {}, {}
    for name, info in gpus.items():
        cost = info.get("cost") if isinstance(info, dict) else None
        if not isinstance(cost, int | float) or not math.isfinite(cost) or cost <= 0:
            raise DataError(path, f"gpu_info.{name}.cost", "a positive hourly cost")
        prices[name] = float(cost)
        rates[name] = _matrix(info.get("tputs"), path, f"gpu_info.{name}.tputs", shape)
    rate = config.get("total_request_rate")
    if not isinstance(rate, int | float) or not math.isfinite(rate) or rate <= 0:
        raise DataError(path, "total_request_rate", "a positive request rate (requests/s)")
    slice_factor = config.get("slice_factor")
    if not isinstance(slice_factor, int) or slice_factor < 1:
        raise DataError(path, "slice_factor", "a positive integer")
    return MelangeExample(prices, rates, shares, float(rate), slice_factor)
