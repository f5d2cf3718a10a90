"""Spot interruption risk per planning interval, from AWS Spot Advisor bands.

Interruptions of one spot VM are a Poisson process with rate
``band.hourly_rate * scale`` per hour (``cost_models.cloud.InterruptionBand.hourly_rate``:
the band's monthly share spread over 730 hours). ``scale`` is a stress multiplier (1 = the
Spot Advisor figure; larger values model a worse market than the 2024 snapshot). The
probability that a VM is interrupted within an interval of ``interval_h`` hours is

    q = 1 - exp(-hourly_rate * scale * interval_h).
"""

from __future__ import annotations

import math

from cost_models.cloud import InstanceType


def interruption_probability(inst: InstanceType, interval_h: float, scale: float) -> float:
    """Probability that one spot VM of ``inst`` is reclaimed within ``interval_h`` hours."""
    return 1.0 - math.exp(-inst.interruption.hourly_rate * scale * interval_h)


def interruption_rate_per_h(inst: InstanceType, scale: float) -> float:
    """Interruptions per spot VM-hour of ``inst`` under stress multiplier ``scale``."""
    return inst.interruption.hourly_rate * scale
