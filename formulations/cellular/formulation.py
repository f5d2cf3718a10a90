"""The cellular-batching :class:`Formulation` (``kind = "cellular"``): BatchMaker capacity.

Modules
    inputs.py       scenario keys (pydantic)
    view.py         tau tables per GPU type and the capacity of every candidate configuration
    milp.py         the math docstring and the MILP
    deployment.py   the deployment schema
    refit.py        planner check: the committed pools re-evaluated under a changed scenario
    verify.py       the independent verifier
    baselines.py    graph batching with and without length bucketing, on the plan's GPUs
    tables.py       tables for people
    simulate.py     the seeded replay of the scheduler on formulations/replay (``planner simulate``)

The cost model is ``cost_models/cellular/``.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from cost_models.cellular.cells import read_tau_table
from cost_models.devices import Precision
from cost_models.perf.calibration import load as load_calibration
from cost_models.perf.hardware import Runtime
from cost_models.units import MS_PER_S, UNIT_USD_PER_H
from formulations.cellular.baselines import graph_baseline
from formulations.cellular.deployment import CellularDeployment
from formulations.cellular.inputs import CellularInputs
from formulations.cellular.milp import solve_plan
from formulations.cellular.refit import refit
from formulations.cellular.simulate import GpuSetup, PoolSetup, Stats, replay_pools
from formulations.cellular.tables import bucket_table, candidate_table, pool_table, replay_table
from formulations.cellular.verify import batches, cost_usd_per_h, figures, pool_problems, verify
from formulations.cellular.view import CellularView, prepare
from formulations.model import Sense
from formulations.replay.schema import PoolResult, ReplayReport
from formulations.types import (
    BaselineRun,
    Formulation,
    InfeasibleError,
    MilpSolver,
    ObjectiveSpec,
    Provenance,
    RateSource,
    Refit,
    SimulateOptions,
    Solution,
    Table,
    Verification,
    run_baseline,
)

SOURCES = {
    "graph_batching": "BatchMaker EuroSys '18 Sec. 2.2/7: whole requests, FIFO, padded to the "
    "longest of the batch (TensorFlow/MXNet serving)",
    "graph_batching_bucketed": "BatchMaker EuroSys '18 Sec. 2.2: length buckets (MXNet "
    "BucketingModule, TF bucket_by_sequence_length), padded to the bucket's longest",
}


class CellularFormulation(Formulation[CellularInputs, CellularView, CellularDeployment]):
    kind = "cellular"
    inputs_model = CellularInputs
    deployment_model = CellularDeployment
    objective = ObjectiveSpec("cost", UNIT_USD_PER_H, Sense.MINIMIZE)

    def prepare(self, inputs: CellularInputs) -> CellularView:
        return prepare(inputs)

    def solve(self, view: CellularView, solver: MilpSolver) -> Solution[CellularDeployment]:
        if not view.candidates or _most_qps(view) < view.total_rate_qps:
            raise InfeasibleError(self.explain_infeasible(view, "demand"))
        return solve_plan(view, solver)

    def verify(self, view: CellularView, deployment: CellularDeployment) -> Verification:
        return verify(view, deployment)

    def tables(self, view: CellularView, deployment: CellularDeployment) -> list[Table]:
        return [
            pool_table(view, deployment),
            bucket_table(view, deployment),
            candidate_table(view, deployment),
        ]

    def headline(
        self, view: CellularView, deployment: CellularDeployment
    ) -> dict[str, float | int | str | None]:
        if any(pool_problems(view, deployment.policy, p) for p in deployment.pools):
            return {"gpus": sum(p.count for p in deployment.pools)}
        pools = figures(view, deployment)
        worst = max(max(f.latency_ms) for f in pools)
        return {
            "gpus": sum(p.count for p in deployment.pools),
            "cost_usd_per_h": round(cost_usd_per_h(view, deployment), 4),
            "capacity_qps": round(
                sum(p.count * f.capacity_qps for p, f in zip(deployment.pools, pools, strict=True)),
                1,
            ),
            # None: some bucket is unstable (no finite latency) at the routed load
            f"worst_{view.inputs.percentile}_ms": round(worst, 2) if np.isfinite(worst) else None,
        }

    def rate_sources(self, view: CellularView) -> list[RateSource]:
        """Per GPU type: cells timed by the scenario's tau table are measured, the others
        come from the calibrated performance model (PyTorch, as cost_models/cellular/cells.py
        evaluates them)."""
        inputs = view.inputs
        table = read_tau_table(inputs.tau_table) if inputs.tau_table is not None else {}
        cal = load_calibration()
        precision = Precision(inputs.precision)
        out = []
        for gpu in view.max_count:
            measured = [c for c in view.cell_names if (c, gpu) in table]
            if measured:
                what = f"{gpu}: cells {', '.join(measured)}"
                out.append(RateSource(what, Provenance.MEASURED, None, str(inputs.tau_table)))
            modelled = [c for c in view.cell_names if c not in measured]
            if modelled:
                provenance = cal.provenance(gpu, Runtime.PYTORCH)
                out.append(
                    RateSource(
                        f"{gpu}: cells {', '.join(modelled)}",
                        Provenance(provenance),
                        cal.expected_error_pct(gpu, precision, "inference", provenance),
                        "calibrated performance model (cost_models/perf/calibration.json)",
                    )
                )
        return out

    def baselines(
        self, view: CellularView, solver: MilpSolver, solution: Solution[CellularDeployment]
    ) -> list[BaselineRun[CellularDeployment]]:
        return [
            run_baseline(
                "graph_batching",
                SOURCES["graph_batching"],
                lambda: graph_baseline(view, solution.deployment, "graph"),
            ),
            run_baseline(
                "graph_batching_bucketed",
                SOURCES["graph_batching_bucketed"],
                lambda: graph_baseline(view, solution.deployment, "graph_bucketed"),
            ),
        ]

    def explain_infeasible(self, view: CellularView, context: Any) -> str:
        p, slo = view.inputs.percentile, view.inputs.slo_ms
        if not view.candidates:
            worst = []
            for gpu in view.max_count:
                sizes = (max(view.inputs.max_batch_candidates),) * len(view.cell_names)
                at = view.latency_fn(gpu, "cellular", sizes)(np.array([1e-9]))[0] * MS_PER_S
                k = int(np.argmax(at))
                worst.append(f"{gpu} {at[k]:.1f} ms ({view.labels()[k]})")
            return (
                f"no GPU type meets {p} <= {slo:g} ms even when idle; the slowest bucket's "
                f"{p} at zero load: {'; '.join(worst)}"
            )
        return (
            f"traffic {view.total_rate_qps:.6g} requests/s exceeds the {_most_qps(view):.6g} "
            f"requests/s that every available GPU (max_count) serves within {p} <= {slo:g} ms"
        )

    def refit(
        self, view: CellularView, deployment: CellularDeployment, solver: MilpSolver
    ) -> Refit[CellularDeployment]:
        """The committed pools, at most their GPUs each (and what the scenario still has):
        the cheapest of them that serve the new traffic, or the short buckets and GPU
        types (``refit.py``)."""
        return refit(view, deployment, solver)

    def simulate(
        self,
        view: CellularView,
        deployment: CellularDeployment,
        solver: MilpSolver,
        options: SimulateOptions,
    ) -> list[Table]:
        """Replay the plan and both graph-batching baselines (see simulate.py): the common
        replay tables (docs/replay.md), then replayed against analytic percentiles."""
        options.refuse_unsupported(self.kind, frozenset({"rate_scale", "duration_s", "trace"}))
        runs, seed = options.runs, options.seed
        deployments = {"cellular": deployment}
        for name, policy in (
            ("graph_batching", "graph"),
            ("graph_batching_bucketed", "graph_bucketed"),
        ):
            deployments[name] = graph_baseline(view, deployment, policy)
        results = {}
        report: ReplayReport | None = None
        for name, dep in deployments.items():
            stats, utilisation, analytic = replay(view, dep, runs, seed, options)
            span_s = stats.fleet_span_s / runs
            if report is None:
                report = ReplayReport(runs, seed, span_s, None)
            report.add_plan(name, view.labels(), stats.counts, span_s)
            for pool, busy in zip(dep.pools, utilisation, strict=True):
                report.pools.append(
                    PoolResult(name, pool.gpu, pool.count, round(100 * busy, 2), 0.0)
                )
            results[name] = (stats, utilisation, analytic)
        assert report is not None
        return [*report.tables(), replay_table(view, deployments, results, runs, seed)]


def replay(
    view: CellularView,
    deployment: CellularDeployment,
    runs: int,
    seed: int,
    options: SimulateOptions | None = None,
) -> tuple[Stats, list[float], list[float]]:
    """Replayed statistics, each pool's GPU utilisation and the analytic percentile per
    bucket (ms)."""
    pools = figures(view, deployment)
    buckets = view.mix.buckets
    setups = []
    for pool, fig in zip(deployment.pools, pools, strict=True):
        setup = GpuSetup(
            view.inputs.model.structure,
            view.inputs.model.target_ratio,
            buckets,
            view.tau_us[pool.gpu],
            deployment.policy,
            batches(view, pool),
            view.inputs.scheduler,
        )
        setups.append(PoolSetup(setup, fig.load_qps, pool.count))
    requests = view.inputs.simulate_requests
    stats, utilisation = replay_pools(
        setups, requests, runs, seed, view.slo_s, options, view.labels()
    )
    analytic = [max(f.latency_ms[k] for f in pools) for k in range(len(buckets))]
    return stats, utilisation, analytic


def _most_qps(view: CellularView) -> float:
    """Requests/s every available GPU serves in its best configuration."""
    best: dict[str, float] = {}
    for c in view.candidates:
        best[c.gpu] = max(best.get(c.gpu, 0.0), c.capacity_qps)
    return sum(view.max_count[g] * r for g, r in best.items())
