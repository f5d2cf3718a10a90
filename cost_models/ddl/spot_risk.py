"""Deadline risk of a training job on spot nodes, at the Spot Advisor rate and at the measured one.

The expected-hours model of :mod:`.estimate` charges spot interruptions at first order in
``N lambda``; it says nothing about the spread, and the Spot Advisor band's rate is orders of
magnitude below the measured GPU spot lifetimes (docs/performance_model.md). This module
simulates the job's wall-clock time under interruptions and reports the share of runs that
finish after a limit (the deadline, else the plan's expected hours).

Model of one run (synchronous data parallel: a reclaimed node stops the whole job):

* the job needs ``train_h`` hours of training and writes a checkpoint of ``write_h`` hours
  after every ``interval_h`` hours of training;
* each of the ``N`` nodes has a lifetime drawn independently; when the first node dies, the
  training since the last completed checkpoint is lost, a replacement node is started
  (``restart_h`` of wall time, during which the other nodes age too) with a fresh lifetime
  counted from when training resumes; a node that dies during a restart needs its own
  replacement, and training resumes ``restart_h`` after that death;
* the run ends when the training is done, or as soon as its wall time passes the limit
  (a miss: the simulation need not go on);
* lifetimes: ``advisor``: exponential at the band's hourly rate
  (:func:`cost_models.perf.spot_lifetimes.advisor_hourly_rate`); ``measured``: the
  Kaplan-Meier distribution of the instance type's measured lifetimes
  (:func:`cost_models.perf.spot_lifetimes.fit`, ``../shared/reference/spot/``), drawn by
  inverting its survival curve; a draw beyond the last observed lifetime (the share of
  instances that outlived the tracker) never ends during the job, which is optimistic.

Measured lifetimes exist for p2.xlarge (462 interruptions, January 2022 and March 2020) and
p2.8xlarge (9); p2.16xlarge uses p2.8xlarge's, the largest measured size of its family. The
p3 instances of the 2020 log were never interrupted (two censored runs each), which is no
lifetime distribution: p3, p3dn, p4d, g4dn and g5 fall back to the Spot Advisor band.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import numpy as np

from cost_models.cloud import instance
from cost_models.errors import DataError
from cost_models.perf.spot_lifetimes import LIFETIMES, Lifetimes, advisor_hourly_rate, fit, load

# The public reference data (never copied into the project): ../shared/reference next to it.
REFERENCE = Path(__file__).resolve().parents[3] / "shared" / "reference"
RUNS = 2000  # Monte Carlo runs per configuration (a share's standard error <= 1.1 points)
SEED = 20260  # fixed: the same plan always reports the same risk


@dataclass(frozen=True)
class Schedule:
    """What one run must do: training hours, checkpointing, restarts, nodes and the limit."""

    train_h: float
    write_h: float  # one checkpoint write
    interval_h: float  # training hours between checkpoints
    restart_h: float
    nodes: int
    limit_h: float  # a run that finishes later misses


@dataclass(frozen=True)
class Risk:
    lifetimes: str  # "advisor <band>" or "measured <type> (n interruptions)"
    miss_pct: float  # share of runs finishing after the limit
    p90_h: float | None  # 90th percentile of the finish time, None when beyond the limit


def measured_family(instance_type: str, reference: Path = REFERENCE) -> Lifetimes | None:
    """Measured lifetimes of ``instance_type``, or of the largest measured instance type of
    its family; None when neither was ever interrupted or the data are absent."""
    available = _measured(reference)
    if instance_type in available:
        return available[instance_type]
    family = instance_type.split(".")[0]
    same = [t for t in available if t.split(".")[0] == family]
    return available[max(same, key=lambda t: instance(t).gpus)] if same else None


@cache
def _measured(reference: Path) -> dict[str, Lifetimes]:
    if not (reference / LIFETIMES).is_file():
        return {}
    out = {}
    for family in load(reference):
        try:
            out[family] = fit(reference, family)
        except DataError:  # no interruption observed: no distribution
            continue
    return out


def _finish_h(s: Schedule, draw: _Draw) -> float:
    """Wall-clock hours of one run (a value above ``s.limit_h`` once it is a miss)."""
    lives = draw(s.nodes)
    wall, done = 0.0, 0.0
    period_h = s.interval_h + s.write_h
    while True:
        remaining = s.train_h - done
        needed = remaining + math.floor(remaining / s.interval_h) * s.write_h
        first = int(np.argmin(lives))
        if lives[first] >= needed:
            return wall + needed
        # up < 0: this node died during the previous restart (it outlived the node that
        # died first, so by less than restart_h): no training happened since, and the job
        # resumes one restart after this death
        up = float(lives[first])
        done += min(remaining, math.floor(max(up, 0.0) / period_h) * s.interval_h)
        wall += up + s.restart_h
        if wall > s.limit_h:
            return wall
        lives = lives - up - s.restart_h
        lives[first] = draw(1)[0]


class _Draw:
    """Lifetimes in hours, ``count`` at a time, from one distribution."""

    def __init__(self, rng: np.random.Generator, rate_per_h: float, km: Lifetimes | None):
        self.rng, self.rate, self.km = rng, rate_per_h, km

    def __call__(self, count: int) -> np.ndarray:
        if self.km is None:
            if self.rate <= 0:
                return np.full(count, math.inf)
            return self.rng.exponential(1.0 / self.rate, count)
        # inverse of the survival curve: the first time at which P(lifetime > t) <= 1 - u
        u = self.rng.random(count)
        index = np.searchsorted(-self.km.survival, -(1.0 - u), side="left")
        times = np.append(self.km.times_h, math.inf)
        return times[np.minimum(index, len(self.km.times_h))]


def _risk(s: Schedule, draw: _Draw, label: str) -> Risk:
    finish = np.array([_finish_h(s, draw) for _ in range(RUNS)])
    p90 = float(np.percentile(finish, 90))
    miss = 100.0 * float(np.mean(finish > s.limit_h))
    return Risk(label, miss, p90 if p90 <= s.limit_h else None)


def risk_at_rate(s: Schedule, rate_per_h: float, label: str, seed: int = SEED) -> Risk:
    """Late share of ``s`` when every node's lifetime is exponential at ``rate_per_h``
    interruptions per node-hour (0: never interrupted)."""
    return _risk(s, _Draw(np.random.default_rng(seed), rate_per_h, None), label)


def risk_at_lifetimes(s: Schedule, km: Lifetimes, label: str, seed: int = SEED) -> Risk:
    """Late share of ``s`` when every node's lifetime follows the Kaplan-Meier curve ``km``."""
    return _risk(s, _Draw(np.random.default_rng(seed), 0.0, km), label)


def deadline_risk(
    instance_type: str, s: Schedule, reference: Path = REFERENCE
) -> tuple[Risk, Risk | None]:
    """(risk at the Spot Advisor rate, risk at the measured lifetimes or None when the
    family has none) of one spot configuration."""
    band = instance(instance_type).interruption.value
    advisor = risk_at_rate(s, advisor_hourly_rate(band), f"advisor {band}")
    km = measured_family(instance_type, reference)
    if km is None:
        return advisor, None
    return advisor, risk_at_lifetimes(s, km, f"measured {km.family} ({km.observed} ends)")
