"""Spot deadline risk (cost_models.ddl.spot_risk): hand-checked runs, seeding, monotonicity,
and which instance types have measured lifetimes."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest

from cost_models.cloud import InterruptionBand
from cost_models.ddl.spot_risk import (
    REFERENCE,
    Schedule,
    deadline_risk,
    measured_family,
    risk_at_lifetimes,
    risk_at_rate,
)
from cost_models.perf.spot_lifetimes import LIFETIMES, Lifetimes, advisor_hourly_rate

# 10 h of training on 4 nodes, a 36 s checkpoint every hour, 5 min restarts.
TEN_HOURS = Schedule(
    train_h=10.0, write_h=0.01, interval_h=1.0, restart_h=300 / 3600, nodes=4, limit_h=11.0
)


def fixed_lifetimes(hours: float) -> Lifetimes:
    """Every instance dies exactly ``hours`` after it starts (a one-point survival curve)."""
    return Lifetimes("fixed", 1, 0, np.array([hours]), np.array([0.0]))


def test_zero_rate_is_never_late_and_finishes_on_schedule() -> None:
    # No interruption: 10 h of training plus floor(10 / 1) = 10 checkpoints of 0.01 h.
    risk = risk_at_rate(TEN_HOURS, 0.0, "none")
    assert (risk.miss_pct, risk.p90_h) == (0.0, pytest.approx(10.1))
    # The same run against a limit below 10.1 h is late every time.
    tight = risk_at_rate(Schedule(10.0, 0.01, 1.0, 300 / 3600, 4, limit_h=10.09), 0.0, "none")
    assert (tight.miss_pct, tight.p90_h) == (100.0, None)


def test_fixed_lifetimes_by_hand() -> None:
    # One node living 1.5 h, 2 h of training, checkpoints (0.1 h) every training hour,
    # 0.1 h restarts: it dies at 1.5 h with 1 h checkpointed (the first 1.1 h period), the
    # job resumes at 1.6 h with 1 h + one checkpoint to go (1.1 h < a fresh 1.5 h life):
    # done at 2.7 h.
    one = Schedule(train_h=2.0, write_h=0.1, interval_h=1.0, restart_h=0.1, nodes=1, limit_h=2.7)
    risk = risk_at_lifetimes(one, fixed_lifetimes(1.5), "fixed")
    assert (risk.miss_pct, risk.p90_h) == (0.0, pytest.approx(2.7))
    late = risk_at_lifetimes(
        Schedule(2.0, 0.1, 1.0, 0.1, 1, limit_h=2.69), fixed_lifetimes(1.5), "fixed"
    )
    assert (late.miss_pct, late.p90_h) == (100.0, None)
    # Two nodes dying together at 1.5 h: the second death falls in the first one's restart,
    # its replacement is also ready at 1.6 h, and no checkpointed work is lost twice: the
    # same 2.7 h.
    two = Schedule(2.0, 0.1, 1.0, 0.1, nodes=2, limit_h=2.7)
    assert risk_at_lifetimes(two, fixed_lifetimes(1.5), "fixed").p90_h == pytest.approx(2.7)


def test_seeded_runs_are_reproducible() -> None:
    # A rate that makes about half the runs late, so the seed visibly matters.
    s = Schedule(10.0, 0.01, 1.0, 300 / 3600, nodes=4, limit_h=11.0)
    first = risk_at_rate(s, 0.05, "r", seed=1)
    assert 10 < first.miss_pct < 90
    assert risk_at_rate(s, 0.05, "r", seed=1) == first
    assert risk_at_rate(s, 0.05, "r", seed=2) != first
    # The plan-level risk uses the module's fixed seed: the same plan reports the same risk.
    assert deadline_risk("g5.12xlarge", s) == deadline_risk("g5.12xlarge", s)


def test_a_higher_rate_never_lowers_the_late_share() -> None:
    rates = [0.0, 1e-3, 1e-2, 0.03, 0.1, 0.3, 1.0]  # interruptions per node-hour
    late = [risk_at_rate(TEN_HOURS, r, "r").miss_pct for r in rates]
    assert late == sorted(late), late
    assert (late[0], late[-1]) == (0.0, 100.0)
    # The Spot Advisor bands in order give non-decreasing rates and late shares.
    bands = [b.value for b in InterruptionBand]
    hourly = [advisor_hourly_rate(b) for b in bands]
    assert hourly == sorted(hourly)
    busy = Schedule(200.0, 0.01, 1.0, 300 / 3600, nodes=8, limit_h=215.0)
    shares = [risk_at_rate(busy, r, b).miss_pct for r, b in zip(hourly, bands, strict=True)]
    assert shares == sorted(shares), shares


def test_measured_lifetimes_by_family() -> None:
    if not (REFERENCE / LIFETIMES).is_file():
        pytest.skip(f"spot lifetimes absent: {REFERENCE / LIFETIMES}")
    p2 = measured_family("p2.xlarge")
    assert p2 is not None and p2.family == "p2.xlarge" and p2.observed > 100
    # p2.16xlarge was never tracked: the largest measured size of its family stands in.
    big = measured_family("p2.16xlarge")
    assert big is not None and big.family == "p2.8xlarge"
    # p3 instances were never interrupted in the data: no distribution, Advisor only.
    for name in ("p3.2xlarge", "p3.16xlarge", "p4d.24xlarge", "g5.12xlarge"):
        assert measured_family(name) is None, name
    advisor, measured = deadline_risk("p2.xlarge", TEN_HOURS)
    assert advisor.lifetimes == "advisor 10-15%"
    assert measured is not None and measured.lifetimes.startswith("measured p2.xlarge (")
    # Measured GPU spot lifetimes are far shorter than the Advisor band says.
    assert measured.miss_pct > advisor.miss_pct


def test_without_reference_data_there_is_no_measured_risk(tmp_path: Path) -> None:
    assert measured_family("p2.xlarge", tmp_path) is None
    advisor, measured = deadline_risk("p2.xlarge", TEN_HOURS, tmp_path)
    assert measured is None and not math.isnan(advisor.miss_pct)
