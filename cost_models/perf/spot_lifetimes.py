"""Spot / preemptible lifetimes from measurements, and Spot Advisor bands as hourly rates.

Distribution: the Kaplan-Meier estimate (``scipy.stats.ecdf`` on right-censored data) of the
lifetimes in ``shared/reference/spot/lifetimes.csv`` per instance family. Kaplan-Meier is
used because it needs no shape assumption (the p2.xlarge lifetimes of January 2022 are far
from exponential: many die within minutes, a tail survives for days) and it uses instances
still running when the tracker stopped as censored observations instead of dropping them.
Rows without a lifetime (the DST-affected November 2021 rows) are skipped. Families are the
AWS instance type, or for GCP the logged GPU type and count (``gcp-1x-k80`` ...).

Spot Advisor band: AWS's "frequency of interruption" is the share of instances of a type that
were interrupted within the trailing month; the band "<5%" means fewer than 5% of instances
were interrupted in a month. Read as a constant hazard over 730 h, a monthly share ``q``
is the hourly rate ``-ln(1 - q) / 730``. The measured lifetimes disagree by orders of
magnitude for GPU spot (see docs/performance_model.md): prefer :func:`fit` where data exist.
"""

from __future__ import annotations

import csv
import math
import re
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import numpy as np
from scipy import stats

from cost_models.errors import DataError

LIFETIMES = Path("spot") / "lifetimes.csv"
HOURS_PER_MONTH = 730.0  # 8760 h / 12, AWS's own month in its price pages
# Spot Advisor bands (monthly interruption frequency) -> (low, high) share; the rate of a band
# uses its midpoint, the last band ">20%" its lower edge.
ADVISOR_BANDS: dict[str, tuple[float, float]] = {
    "<5%": (0.0, 0.05),
    "5-10%": (0.05, 0.10),
    "10-15%": (0.10, 0.15),
    "15-20%": (0.15, 0.20),
    ">20%": (0.20, 0.20),
}


def advisor_hourly_rate(band: str) -> float:
    """Hourly interruption rate of a Spot Advisor band, as a constant hazard."""
    if band not in ADVISOR_BANDS:
        raise DataError(None, "interruption band", f"one of {', '.join(ADVISOR_BANDS)}")
    low, high = ADVISOR_BANDS[band]
    monthly = (low + high) / 2
    return -math.log(1.0 - monthly) / HOURS_PER_MONTH


@dataclass(frozen=True)
class Lifetimes:
    family: str
    observed: int  # instances with an end
    censored: int  # still running when last seen
    times_h: np.ndarray  # Kaplan-Meier support, hours
    survival: np.ndarray  # P(lifetime > times_h)

    def interruption_probability(self, horizon_h: float) -> float:
        """P(interrupted within ``horizon_h`` hours) (flat beyond the last observation)."""
        index = np.searchsorted(self.times_h, horizon_h, side="right") - 1
        return 0.0 if index < 0 else float(1.0 - self.survival[index])

    def median_h(self) -> float | None:
        """Median lifetime, None when more than half of the instances outlived the data."""
        below = np.nonzero(self.survival <= 0.5)[0]
        return float(self.times_h[below[0]]) if below.size else None

    def mean_h(self) -> float:
        """Area under the survival curve up to the last observation (a lower bound on the
        mean when the last instances were censored)."""
        widths = np.diff(np.concatenate([[0.0], self.times_h]))
        return float(np.sum(widths * np.concatenate([[1.0], self.survival[:-1]])))


def _time(text: str) -> datetime:
    return datetime.fromisoformat(text.split(" ")[0].replace("Z", "+00:00"))


def _family(row: dict[str, str]) -> str:
    if row["provider"] == "aws":
        return row["instance_type"]
    match = re.search(r"(\d+)x nvidia-tesla-(\w+)", row["instance_type"])
    return f"gcp-{match.group(1)}x-{match.group(2)}" if match else row["instance_type"]


def load(reference: Path) -> dict[str, tuple[list[float], list[float]]]:
    """Per family: (observed lifetimes, censored lifetimes), hours."""
    out: dict[str, tuple[list[float], list[float]]] = {}
    path = reference / LIFETIMES
    with path.open(newline="", encoding="utf-8") as f:
        for row in csv.DictReader(f):
            observed, censored = out.setdefault(_family(row), ([], []))
            if row["end_utc"]:
                if row["lifetime_seconds"]:
                    observed.append(float(row["lifetime_seconds"]) / 3600)
            elif row["last_seen_running_utc"]:
                seen = _time(row["last_seen_running_utc"]) - _time(row["start_utc"])
                censored.append(max(seen.total_seconds(), 1.0) / 3600)
    return out


def fit(reference: Path, family: str) -> Lifetimes:
    """Kaplan-Meier lifetimes of ``family`` (e.g. ``p2.xlarge``, ``gcp-1x-v100``)."""
    data = load(reference)
    if family not in data or not data[family][0]:
        raise DataError(reference / LIFETIMES, "family", f"one of {', '.join(sorted(data))}")
    observed, censored = data[family]
    result = stats.ecdf(stats.CensoredData(uncensored=observed, right=censored))
    sf = result.sf
    return Lifetimes(family, len(observed), len(censored), sf.quantiles, sf.probabilities)
