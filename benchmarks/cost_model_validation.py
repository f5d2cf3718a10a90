"""Predicted vs measured for every reference point the performance model can predict.

    python benchmarks/cost_model_validation.py [--reference DIR] [--csv out.csv] [--worst N]

Uses the committed calibration (cost_models/perf/calibration.json, in-sample for these
points), then the same figures for the committed held-out NVIDIA DLE ConvNets rows
(benchmarks/data/nvidia_dle_heldout: ResNeXt101-32x4d, SE-ResNeXt101-32x4d, EfficientNet-B0/B4,
never fitted). The cross-validation figures (each GPU, each network left out of the fit in
turn) are in that file under validation.leave_one_gpu_out / leave_one_model_out and printed at
the end. ``--csv`` writes every point of both sets, column ``set`` = fitted / heldout.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import pandas as pd

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks._reference import REFERENCE_ABSENT, reference_root  # noqa: E402
from benchmarks.calibrate import (  # noqa: E402
    mape_pct,
    max_ratio,
    missing_measurements,
    off_by,
    points_beyond,
)
from cost_models.perf import calibration  # noqa: E402
from cost_models.perf.reference import (  # noqa: E402
    DLE_HELDOUT,
    Point,
    all_points,
    heldout_points,
)
from planner.plan import write_csv_atomic  # noqa: E402

REFERENCE = reference_root()


HELDOUT_TITLE = f"held out (never fitted): NVIDIA DLE ConvNets ({DLE_HELDOUT})"
_POINT_FIELDS = ("source", "model", "device", "runtime", "mode", "batch", "gpus", "seq_len")
_WORST_COLUMNS = [
    "source",
    "model",
    "device",
    "precision",
    "runtime",
    "mode",
    "batch",
    "gpus",
    "measured_ms",
    "predicted_ms",
    "ratio",
]


def report(
    title: str, points: list[Point], cal: calibration.Calibration, worst_n: int
) -> pd.DataFrame:
    """Print predicted vs measured for ``points`` under ``title``: MAPE per (device,
    precision, mode), overall MAPE, max off, points off > 1.5x and the ``worst_n`` worst
    points; return the per-point frame."""
    cases = calibration.compile_points(points, cal.binned_seq_len)
    predictions = calibration.predicted_latencies_ms(cases, cal.params)
    rows = []
    for p, predicted in zip(points, predictions, strict=True):
        rows.append(
            {
                **{k: getattr(p, k) for k in _POINT_FIELDS},
                "precision": p.precision.value,
                "measured_ms": p.latency_ms,
                "predicted_ms": float(predicted),
                "ratio": predicted / p.latency_ms,
            }
        )
    frame = pd.DataFrame(rows)
    frame["abs_error_pct"] = 100 * (frame["ratio"] - 1).abs()
    print(f"{title}\n")
    groups = frame.groupby(["device", "precision", "mode"])["abs_error_pct"].agg(["count", "mean"])
    print(groups.rename(columns={"mean": "MAPE %"}).round(1).to_string())
    r = frame["ratio"].to_numpy()
    worst = frame.assign(off=off_by(r))
    print(
        f"\noverall: {len(frame)} points, MAPE {mape_pct(r):.1f}%, "
        f"max off {max_ratio(r):.2f}x, points off > 1.5x: {points_beyond(r)}"
    )
    print("\nworst points:")
    print(worst.nlargest(worst_n, "off")[_WORST_COLUMNS].round(2).to_string(index=False))
    return frame


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reference", type=Path, default=REFERENCE)
    parser.add_argument("--csv", type=Path)
    parser.add_argument("--worst", type=int, default=10)
    args = parser.parse_args()
    if missing_measurements(args.reference):
        return REFERENCE_ABSENT
    cal = calibration.load()
    fitted = report(
        f"in sample (fitted): {args.reference}", all_points(args.reference), cal, args.worst
    )
    print()
    heldout = report(HELDOUT_TITLE, heldout_points(ROOT / DLE_HELDOUT), cal, args.worst)
    print("\nheld out (calibration.json):")
    for scheme, result in cal.document["validation"].items():
        print(
            f"  {scheme}: MAPE {result['overall_mape_pct']:.1f}%, max off "
            f"{result['max_ratio']:.2f}x, points off > 1.5x: {result['points_beyond_1_5x']}"
        )
    if args.csv:
        frame = pd.concat(
            [fitted.assign(set="fitted"), heldout.assign(set="heldout")], ignore_index=True
        )
        records = frame.to_dict(orient="records")
        write_csv_atomic(args.csv, [{str(k): v for k, v in r.items()} for r in records])
        print(f"\nwrote {args.csv}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
