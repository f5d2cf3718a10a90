"""The ``pifs`` formulation: DLRM embedding placement across CXL switch ports with
in-switch reduction (PIFS-Rec, MICRO '24), wired to the engine's stages.

Modules: ``inputs.py`` (scenario schema), ``view.py`` (cost-model view, ``prepare``),
``milp.py`` (the math and the model builder), ``refit.py`` (``planner check``: the
committed placement re-evaluated), ``aggregate.py`` (pooled-port relaxation,
split and the pooled rounds), ``lagrange.py`` (the pooled model's Lagrangian bound and
the table choices it prices), ``strategy.py`` (the solve strategy: pooled
rounds, then the per-port MILP), ``deployment.py`` (deployment schema), ``verify.py``
(independent verifier, infeasibility explanation), ``baselines.py`` (Pond-, BEACON-,
PIFS-Rec- and TorchRec-like placements), ``tables.py`` (tables and headline numbers). The
cost model is :mod:`cost_models.pifs` (``topology``, ``hotness``, ``workload``, ``busy``).
"""

from __future__ import annotations

from typing import Any, ClassVar

from cost_models.units import UNIT_US, UNIT_USD
from formulations.pifs import baselines, refit, strategy, tables, verify, view
from formulations.pifs.deployment import PifsDeployment
from formulations.pifs.inputs import PifsInputs
from formulations.pifs.view import PifsView
from formulations.types import (
    BaselineRun,
    Formulation,
    MilpSolver,
    ObjectiveSpec,
    Refit,
    Sense,
    Solution,
    Table,
    Verification,
)

LATENCY = ObjectiveSpec("batch_latency", UNIT_US, Sense.MINIMIZE)
EXPANDER_COST = ObjectiveSpec("expander_cost", UNIT_USD, Sense.MINIMIZE)


class PifsFormulation(Formulation[PifsInputs, PifsView, PifsDeployment]):
    kind: ClassVar[str] = "pifs"
    inputs_model: ClassVar[type[PifsInputs]] = PifsInputs
    deployment_model: ClassVar[type[PifsDeployment]] = PifsDeployment
    objective: ClassVar[ObjectiveSpec] = LATENCY

    def objective_of(self, view: PifsView) -> ObjectiveSpec:
        """Batch latency, or in capacity-planning mode the cost of the expanders bought."""
        return LATENCY if view.inputs.capacity_planning is None else EXPANDER_COST

    def prepare(self, inputs: PifsInputs) -> PifsView:
        return view.prepare(inputs)

    def solve(self, view: PifsView, solver: MilpSolver) -> Solution[PifsDeployment]:
        return strategy.solve(view, solver)

    def verify(self, view: PifsView, deployment: PifsDeployment) -> Verification:
        return verify.verify(view, deployment)

    def tables(self, view: PifsView, deployment: PifsDeployment) -> list[Table]:
        return tables.tables(view, deployment)

    def baselines(
        self, view: PifsView, solver: MilpSolver, solution: Solution[PifsDeployment]
    ) -> list[BaselineRun[PifsDeployment]]:
        return baselines.baseline_runs(view)

    def headline(self, view: PifsView, deployment: PifsDeployment) -> dict[str, Any]:
        return tables.headline(view, deployment)

    def refit(
        self, view: PifsView, deployment: PifsDeployment, solver: MilpSolver
    ) -> Refit[PifsDeployment]:
        """Keep the committed placement (every placement row: which share of which bucket
        lives where; ``switch_reduced``; ``expanders_bought``), re-derive only whole pages
        of buckets whose page count changed, and name each overfull location, the switch
        buffer or a missed latency target as a shortfall (see :mod:`formulations.pifs.refit`).
        Nothing is solved: the placement is re-evaluated with the cost model."""
        return refit.refit(view, deployment)

    def explain_infeasible(self, view: PifsView, context: Any) -> str:
        return verify.explain_infeasible(view)
