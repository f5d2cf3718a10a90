"""Spot lifetimes (Kaplan-Meier on the measured lifetimes) and Spot Advisor band rates."""

from __future__ import annotations

import math

import pytest

from cost_models.errors import DataError
from cost_models.perf.spot_lifetimes import advisor_hourly_rate, fit
from tests.conftest import REFERENCE


def test_advisor_band_rate() -> None:
    # "<5%": midpoint 2.5% of instances per 730 h month -> -ln(0.975) / 730 per hour.
    assert advisor_hourly_rate("<5%") == pytest.approx(-math.log(0.975) / 730)
    with pytest.raises(DataError):
        advisor_hourly_rate("5%")


def test_measured_p2_lifetimes_are_short() -> None:
    if not (REFERENCE / "spot" / "lifetimes.csv").exists():
        pytest.skip("shared/reference/spot not available")
    life = fit(REFERENCE, "p2.xlarge")
    median = life.median_h()
    assert median is not None and median < 1.0
    assert 0.0 <= life.interruption_probability(0.1) <= life.interruption_probability(12) <= 1
