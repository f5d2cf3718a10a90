"""Small builders for the replay tests: a recorder that logs completions, one-station runs."""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from formulations.replay.arrivals import given
from formulations.replay.core import BatchPolicy, PlanChange, Request, Simulation, Station
from formulations.replay.schema import ALL
from formulations.replay.stats import Recorder
from formulations.types import SimulateOptions, Table
from planner.scenario import Scenario


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


# ----------------------------------------------------------------- planner simulate options
Simulate = Callable[[SimulateOptions], list[Table]]


def class_rows(tables: Sequence[Table]) -> list[dict[str, Any]]:
    """The common report's first table (one row per plan and class) as dicts."""
    first = tables[0]
    return [dict(zip(first.columns, row, strict=True)) for row in first.rows]


def total_row(tables: Sequence[Table], plan: str) -> dict[str, Any]:
    (row,) = [r for r in class_rows(tables) if r["plan"] == plan and r["class"] == ALL]
    return row


def span_s(tables: Sequence[Table]) -> float:
    """Simulated seconds per run, from the first table's title."""
    found = re.search(r", ([0-9.e+-]+) s simulated each\)", tables[0].title)
    assert found is not None, tables[0].title
    return float(found.group(1))


def write_trace(path: Path, times_s: Sequence[float], classes: Sequence[str] | None) -> Path:
    header = "time_s" if classes is None else "time_s,class"
    lines = [header]
    for i, t in enumerate(times_s):
        lines.append(f"{t!r}" if classes is None else f"{t!r},{classes[i % len(classes)]}")
    path.write_text("\n".join(lines) + "\n")
    return path


def check_options(
    simulate: Simulate,
    plan: str,
    tmp_path: Path,
    *,
    duration_s: float,
    trace_span_s: float,
    warmup_share: float,
    runs: int = 2,
    trace_classes: bool = True,
    rate_rtol: float = 0.15,
) -> None:
    """What issue 12 asks of every kind's replay: ``rate_scale`` 2 doubles the arrivals of a
    span (within ``rate_rtol``), ``duration_s`` bounds the span, a trace file's arrivals are
    replayed exactly (its rows less the warm-up, every run), the same seed gives the same
    tables and another seed others."""
    base = SimulateOptions(runs, 3, duration_s=duration_s)
    once = simulate(base)
    assert span_s(once) <= duration_s * (1 + 1e-5)  # the title has 6 significant digits
    assert simulate(base) == once
    assert simulate(replace(base, seed=4)) != once
    doubled = simulate(replace(base, rate_scale=2.0))
    single, double = total_row(once, plan)["requests"], total_row(doubled, plan)["requests"]
    assert single > 200
    assert double / single == pytest.approx(2.0, rel=rate_rtol)
    labels = sorted({r["class"] for r in class_rows(once)} - {ALL})
    rows = 600
    times = np.sort(np.random.default_rng(5).uniform(0.0, trace_span_s, rows)).tolist()
    path = write_trace(tmp_path / "trace.csv", times, labels if trace_classes else None)
    replayed = simulate(SimulateOptions(runs, 3, trace=path))
    expected = runs * (rows - int(warmup_share * rows))
    assert total_row(replayed, plan)["requests"] == expected
    # bounded by a span: only the file's arrivals before it (less the warm-up share)
    half = trace_span_s / 2
    before = sum(1 for t in times if t < half)
    bounded = simulate(SimulateOptions(runs, 3, duration_s=half, trace=path))
    assert total_row(bounded, plan)["requests"] == runs * (before - int(warmup_share * before))


def engine_simulate(scenario: Path | Scenario, tmp_path: Path) -> Simulate:
    """``planner.simulate`` of ``scenario`` on one stored plan (solved once, verified at each
    replay), with the options given."""
    import planner

    plan_path = tmp_path / "plan.json"
    plan_path.write_text(planner.solve(scenario, baselines=False).to_json())

    def simulate(options: SimulateOptions) -> list[Table]:
        return planner.simulate(
            scenario,
            plan_path,
            options.runs,
            options.seed,
            rate_scale=options.rate_scale,
            duration_s=options.duration_s,
            trace=options.trace,
        )

    return simulate
