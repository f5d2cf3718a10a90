"""Spot interruption risk per planning interval, from AWS Spot Advisor bands and from
measured spot lifetimes.

Planning (Spot Advisor): interruptions of one spot VM are a Poisson process with rate
``band.hourly_rate * scale`` per hour (``cost_models.cloud.InterruptionBand.hourly_rate``:
the band's monthly share spread over 730 hours). ``scale`` is a stress multiplier (1 = the
Spot Advisor figure; larger values model a worse market than the 2024 snapshot). The
probability that a VM is interrupted within an interval of ``interval_h`` hours is

    q = 1 - exp(-hourly_rate * scale * interval_h).

Measured (the plan's second spot check): the Kaplan-Meier lifetimes of
:mod:`cost_models.perf.spot_lifetimes` (``../shared/reference/spot/``, read in place) give
``q_meas = P(lifetime <= h)`` of the instance's family over ``h = max(interval_h,
MIN_MATCH_H)``, expressed as the constant hazard with the same probability,
``-ln(1 - q_meas) / h`` per hour (the replay redraws each spot VM's loss per interval, so the
per-interval probability is what it must reproduce; intervals shorter than an hour match
over an hour, as the logs resolve minutes and a 10-s interval would see no death at all;
capped at :data:`MAX_MEASURED_RATE_PER_H` where every observed VM died within an interval).
The data cover AWS p2.xlarge / p2.8xlarge (and GCP preemptible GPUs) only. Types without
measured lifetimes (c5, m5, g4dn, g5, ...) take the p2.xlarge lifetimes (January 2022,
us-east-1d, median 26 min) as a labelled **stress proxy**: the only large AWS sample, from
an older GPU family; no measurement says c5 or g4dn spot VMs live that briefly.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

from cost_models.cloud import InstanceType
from cost_models.perf import spot_lifetimes

REFERENCE = Path(__file__).resolve().parents[2].parent / "shared" / "reference"
PROXY_FAMILY = "p2.xlarge"  # the largest measured AWS sample (462 lifetimes, Jan 2022)
MIN_MATCH_H = 1.0  # h: shortest horizon the measured probability is matched over
MAX_MEASURED_RATE_PER_H = 3600.0  # per hour: one interruption per second of VM life


def interruption_probability(inst: InstanceType, interval_h: float, scale: float) -> float:
    """Probability that one spot VM of ``inst`` is reclaimed within ``interval_h`` hours."""
    return 1.0 - math.exp(-inst.interruption.hourly_rate * scale * interval_h)


def interruption_rate_per_h(inst: InstanceType, scale: float) -> float:
    """Interruptions per spot VM-hour of ``inst`` under stress multiplier ``scale``."""
    return inst.interruption.hourly_rate * scale


@dataclass(frozen=True)
class MeasuredSpot:
    """The measured interruption rate used for one instance type."""

    rate_per_h: float  # constant hazard with the measured per-interval probability
    family: str  # the measured family whose lifetimes were used
    proxy: bool  # True: the type has no measured lifetimes; ``family`` stands in (stress)
    median_h: float | None  # the family's median lifetime (None: over half outlived the data)


def measured_spot_rates(
    instance_types: list[str], interval_h: float, reference: Path = REFERENCE
) -> list[MeasuredSpot] | None:
    """Per instance type, the measured interruption rate (see the module docstring); None
    when ``reference`` holds no spot lifetimes."""
    if not (reference / spot_lifetimes.LIFETIMES).is_file():
        return None
    families = spot_lifetimes.load(reference)
    out = []
    fitted: dict[str, spot_lifetimes.Lifetimes] = {}
    for name in instance_types:
        has_data = name in families and bool(families[name][0])
        family = name if has_data else PROXY_FAMILY
        if family not in fitted:
            fitted[family] = spot_lifetimes.fit(reference, family)
        lifetimes = fitted[family]
        horizon_h = max(interval_h, MIN_MATCH_H)
        q = lifetimes.interruption_probability(horizon_h)
        rate = -math.log1p(-q) / horizon_h if q < 1.0 else MAX_MEASURED_RATE_PER_H
        out.append(
            MeasuredSpot(
                min(rate, MAX_MEASURED_RATE_PER_H), family, not has_data, lifetimes.median_h()
            )
        )
    return out
