"""Write ``fitted_trace_inter_arrivals.csv``: seeded inter-arrival times of three hours.

Each hour samples 1,500 consecutive inter-arrival times from a known MAP(2)
(``cost_models.batch.arrivals.correlated_h2``: H2 marginal with correlation g); the
scenario ``fitted_trace.toml`` fits a MAP(2) back to each hour. Run from the repository
root: ``python scenarios/batch/make_inter_arrivals.py``.
"""

from __future__ import annotations

import csv
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from cost_models.batch.arrivals import correlated_h2, sample_inter_arrivals  # noqa: E402

SEED = 2020
SAMPLES_PER_HOUR = 1500
# (p, mean of the slow phase s, mean of the fast phase s, g) per hour
HOURS = [(0.2, 0.2, 0.03, 0.5), (0.1, 0.3, 0.02, 0.7), (0.3, 0.12, 0.04, 0.3)]
OUT = Path(__file__).with_name("fitted_trace_inter_arrivals.csv")


def main() -> None:
    rng = np.random.default_rng(SEED)
    with OUT.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["hour", "inter_arrival_s"])
        for hour, params in enumerate(HOURS):
            for gap_s in sample_inter_arrivals(correlated_h2(*params), SAMPLES_PER_HOUR, rng):
                writer.writerow([hour, f"{gap_s:.6g}"])


if __name__ == "__main__":
    main()
