"""Simulated requests per second of the shared replay core (formulations/replay).

    python benchmarks/replay_speed.py [--requests 1000000] [--simpy] [--memory]

Rows: ``workload, requests, wall_s, cpu_s, requests_per_s (wall), requests_per_cpu_s``;
``mm1`` and ``md1`` (utilisation 0.7, mean wait against theory: the issue's 2% check over a
million requests), then one row per serving kind, each replaying its shipped scenario's
plan (solved first, untimed) through the kind's own replay code at its planned load:
``proteus_edge_cluster`` (every device of ``scenarios/proteus/edge_cluster.toml`` with
accscale batching, as many runs of its 10 s as the requests need), ``ppipe_analytical``
(``scenarios/ppipe/analytical_l4_t4.toml``'s pipelines with reservation batching at 90% of
the planned rate), ``cellular_lstm_ptb`` (one GPU of the planned pool of
``scenarios/cellular/lstm_ptb.toml``), ``llm_chat`` (one replica of each pool of
``scenarios/llm/chat_llama2_7b.toml``, continuous batching, a tenth of the requests: every
request runs hundreds of decode iterations) and ``batch_bursty_day`` (the 24 intervals of
``scenarios/batch/bursty_day.toml``, MAP arrivals drawn in the timing, a tenth of the
requests). The issue's target: >= 1,000,000 requests in < 10 CPU s for Proteus and PPipe.
``--simpy`` replays the same M/M/1 in SimPy (when importable: it is not a dependency), the
measurement behind the engine choice; ``--memory`` gives the tracemalloc peak of M/M/1,
Proteus and PPipe at a tenth of the requests and at all of them (memory must not grow with
the number of requests).
"""

from __future__ import annotations

import argparse
import math
import os
import sys
import time
import tracemalloc
from collections.abc import Callable
from pathlib import Path
from typing import Any, cast

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from formulations.replay.arrivals import poisson  # noqa: E402
from formulations.replay.core import Simulation, Station, seeded  # noqa: E402
from formulations.replay.policies import (  # noqa: E402
    ExponentialService,
    FixedBatch,
    ProfileService,
    Service,
)
from formulations.replay.stats import Recorder  # noqa: E402

RHO = 0.7  # utilisation of the queueing workloads
COLUMNS = "workload,requests,wall_s,cpu_s,requests_per_s,requests_per_cpu_s,check"


def queue(service: Callable[[], Service], requests: int) -> tuple[float, str]:
    """One M/x/1 run at utilisation 0.7 (mean service 1 s); its mean wait."""
    rng = seeded(1)
    recorder = Recorder(1, requests // 20)
    station = Station("server", FixedBatch(service()))
    Simulation([station], recorder, [math.inf]).run(poisson(RHO, requests, rng))
    counts = recorder.classes[0]
    return counts.wait_sum_s / counts.served, ""


def _planned(path: Path) -> tuple[Any, Any]:
    """The prepared view and the solved deployment of a shipped scenario (untimed)."""
    import planner
    from planner.engine import prepared_view

    scenario = planner.load_scenario(path)
    return prepared_view(scenario), planner.solve(scenario, baselines=False).deployment


def proteus(requests: int) -> Callable[[], int]:
    """Runs of the edge cluster's plan until ``requests`` arrived; the requests replayed."""
    from formulations.proteus.simulate import BATCHING, PLAN, replay_plan

    view, deployment = _planned(ROOT / "scenarios" / "proteus" / "edge_cluster.toml")
    per_run = float(view.demand_qps.sum(axis=1) @ np.full(view.windows, view.inputs.trace.window_s))
    runs = max(1, math.ceil(requests / per_run))

    def run() -> int:
        replay = replay_plan(view, deployment, BATCHING[PLAN], runs, 0)
        return replay.total.requests

    return run


def ppipe(requests: int) -> Callable[[], int]:
    from formulations.ppipe.simulate import replay

    view, deployment = _planned(ROOT / "scenarios" / "ppipe" / "analytical_l4_t4.toml")

    def run() -> int:
        result = replay(view, deployment, 0.9 * deployment.objective_qps, requests, 0)
        return requests + 0 * len(result.counts)

    return run


def llm(requests: int) -> Callable[[], int]:
    from formulations.llm import simulate as llm_simulate
    from formulations.types import SimulateOptions

    view, deployment = _planned(ROOT / "scenarios" / "llm" / "chat_llama2_7b.toml")
    pools = len(llm_simulate.replay_plan(view, deployment, SimulateOptions(1, 0)).pools)

    def run() -> int:
        llm_simulate.REQUESTS_PER_RUN = max(1, requests // pools)
        replay = llm_simulate.replay_plan(view, deployment, SimulateOptions(1, 0))
        return sum(p.tokens.requests for p in replay.pools) * 10 // 9  # with the warm-up

    return run


def batch(requests: int) -> Callable[[], int]:
    from formulations.batch import simulate as batch_simulate
    from formulations.replay.core import seeded as seeded_rng
    from formulations.types import SimulateOptions

    view, deployment = _planned(ROOT / "scenarios" / "batch" / "bursty_day.toml")

    def run() -> int:
        batch_simulate.REQUESTS_PER_INTERVAL = max(1, requests // len(view.hours))
        times = batch_simulate._map_times(view, SimulateOptions(1, 0), seeded_rng(0))
        batch_simulate.replay_deployment(view, deployment, times, (0,))
        return len(times)

    return run


def timed_kind(name: str, make: Callable[[int], Callable[[], int]], requests: int) -> None:
    run = make(requests)
    start_wall, start_cpu = time.perf_counter(), time.process_time()
    replayed = run()
    report(name, replayed, start_wall, start_cpu, "")


def peak_mib(run: Callable[[], object]) -> float:
    tracemalloc.start()
    run()
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    return peak / 2**20


def cellular(requests: int) -> None:
    import planner
    from formulations.cellular.deployment import CellularDeployment
    from formulations.cellular.formulation import CellularFormulation
    from formulations.cellular.inputs import CellularInputs
    from formulations.cellular.simulate import GpuSetup, replay_gpu
    from formulations.cellular.verify import batches, figures

    path = ROOT / "scenarios" / "cellular" / "lstm_ptb.toml"
    scenario = planner.load_scenario(path)
    formulation = scenario.formulation
    assert isinstance(formulation, CellularFormulation)
    view = formulation.prepare(cast(CellularInputs, scenario.inputs))
    deployment = cast(CellularDeployment, planner.solve(path, baselines=False).deployment)
    pool = deployment.pools[0]
    fig = figures(view, deployment)[0]
    setup = GpuSetup(
        view.inputs.model.structure,
        view.inputs.model.target_ratio,
        view.mix.buckets,
        view.tau_us[pool.gpu],
        "cellular",
        batches(view, pool),
        view.inputs.scheduler,
    )
    start_wall, start_cpu = time.perf_counter(), time.process_time()
    replay_gpu(setup, fig.load_qps, requests, 0, view.slo_s)
    report("cellular_lstm_ptb", requests, start_wall, start_cpu, "")


def simpy_mm1(requests: int) -> float:
    """The same M/M/1 in SimPy: one generator process per request, a Resource server."""
    import numpy as np
    import simpy  # type: ignore[import-not-found]

    rng = np.random.default_rng(1)
    gaps = rng.exponential(1.0 / RHO, requests).tolist()
    work = rng.exponential(1.0, requests).tolist()
    env = simpy.Environment()
    server = simpy.Resource(env, capacity=1)
    waited = [0.0]

    def customer(i: int):  # type: ignore[no-untyped-def]
        arrived = env.now
        with server.request() as slot:
            yield slot
            waited[0] += env.now - arrived
            yield env.timeout(work[i])

    def source():  # type: ignore[no-untyped-def]
        for i in range(requests):
            yield env.timeout(gaps[i])
            env.process(customer(i))

    env.process(source())
    env.run()
    return waited[0] / requests


def report(name: str, requests: int, start_wall: float, start_cpu: float, check: str) -> None:
    wall, cpu = time.perf_counter() - start_wall, time.process_time() - start_cpu
    print(
        f"{name},{requests},{wall:.2f},{cpu:.2f},{requests / wall:.0f},{requests / cpu:.0f},{check}"
    )


def timed_queue(name: str, service: Callable[[], Service], expected: float, n: int) -> None:
    start_wall, start_cpu = time.perf_counter(), time.process_time()
    wait, _ = queue(service, n)
    error = wait / expected - 1
    verdict = "ok" if abs(error) <= 0.02 else "OFF"
    report(
        name,
        n,
        start_wall,
        start_cpu,
        f"mean wait {wait:.4f} s vs {expected:.4f} ({error:+.2%}, {verdict})",
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--requests", type=int, default=1_000_000)
    parser.add_argument("--simpy", action="store_true", help="also time SimPy on M/M/1")
    parser.add_argument("--memory", action="store_true", help="tracemalloc peaks of M/M/1")
    args = parser.parse_args()
    n = args.requests
    print(f"# {os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f} (1 min)")
    print(COLUMNS)
    timed_queue("mm1", lambda: ExponentialService(1.0, seeded(11)), RHO / (1 - RHO), n)
    timed_queue("md1", lambda: ProfileService([1.0]), RHO / (2 * (1 - RHO)), n)
    timed_kind("proteus_edge_cluster", proteus, n)
    timed_kind("ppipe_analytical", ppipe, n)
    cellular(n)
    timed_kind("llm_chat", llm, n // 10)
    timed_kind("batch_bursty_day", batch, n // 10)
    if args.simpy:
        try:
            import simpy  # noqa: F401
        except ImportError:
            print("simpy,not installed (pip install simpy to compare)")
        else:
            start_wall, start_cpu = time.perf_counter(), time.process_time()
            wait = simpy_mm1(n)
            report("mm1_simpy", n, start_wall, start_cpu, f"mean wait {wait:.4f} s")
    if args.memory:
        for requests in (n // 10, n):
            peak = peak_mib(
                lambda n=requests: queue(lambda: ExponentialService(1.0, seeded(11)), n)  # type: ignore[misc]
            )
            print(f"memory,mm1,{requests},tracemalloc_peak_mib,{peak:.2f}")
        for name, make in (("proteus_edge_cluster", proteus), ("ppipe_analytical", ppipe)):
            for requests in (n // 10, n):
                print(
                    f"memory,{name},{requests},tracemalloc_peak_mib,{peak_mib(make(requests)):.2f}"
                )


if __name__ == "__main__":
    main()
