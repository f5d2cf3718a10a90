"""Small builders for the replay tests: a recorder that logs completions, one-station runs."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from formulations.replay.arrivals import given
from formulations.replay.core import BatchPolicy, PlanChange, Request, Simulation, Station
from formulations.replay.stats import Recorder


class Log(Recorder):
    """A recorder that also keeps every completion time by request id (tests only)."""

    def __init__(self, classes: int = 1) -> None:
        super().__init__(classes)
        self.done_s: dict[int, float] = {}

    def served(self, request: Request, now: float) -> None:
        super().served(request, now)
        self.done_s[request.rid] = now


def run_one(
    policy: BatchPolicy,
    times_s: Sequence[float],
    slo_s: float = 1e9,
    changes: Sequence[PlanChange] = (),
    workers: int = 1,
) -> tuple[Log, Station]:
    """Replay arrivals at ``times_s`` on one station; the log and the station."""
    log = Log()
    station = Station("device", policy, workers)
    simulation = Simulation([station], log, [slo_s])
    simulation.run(given(np.array(times_s, dtype=float), np.random.default_rng(0)), changes)
    return log, station
