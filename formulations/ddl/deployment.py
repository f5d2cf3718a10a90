"""The ``ddl`` deployment (one configuration per job) and how it is read off a solution."""

from __future__ import annotations

from collections.abc import Iterable

from pydantic import BaseModel, ConfigDict, Field

from cost_models.ddl.estimate import Market
from formulations.ddl.candidates import Candidate
from formulations.ddl.inputs import MAX_JOBS, MAX_NODES
from formulations.ddl.milp import DdlModel
from formulations.types import SolveResult


class Assignment(BaseModel):
    """The configuration chosen for one job: every field is what a user launches (the job
    on ``nodes`` instances of ``instance_type`` in ``market``), and the verifier checks each
    against the scenario (a job and an instance type it names, nodes within max_nodes, a
    market it allows)."""

    model_config = ConfigDict(extra="forbid")

    job: str = Field(min_length=1)
    instance_type: str = Field(min_length=1)
    nodes: int = Field(ge=1, le=MAX_NODES, strict=True)
    market: Market

    @property
    def config(self) -> tuple[str, int, Market]:
        """(instance type, nodes, market), comparable with ``Estimate.config``."""
        return self.instance_type, self.nodes, self.market


class DdlDeployment(BaseModel):
    model_config = ConfigDict(extra="forbid")

    assignments: list[Assignment] = Field(min_length=1, max_length=MAX_JOBS)


def deployment_of(candidates: Iterable[Candidate]) -> DdlDeployment:
    """The deployment that runs each job on its candidate (plan and baselines alike)."""
    return DdlDeployment(
        assignments=[
            Assignment(
                job=c.job,
                instance_type=c.estimate.instance_type,
                nodes=c.estimate.nodes,
                market=c.estimate.market,
            )
            for c in candidates
        ]
    )


def chosen_candidates(model: DdlModel, result: SolveResult) -> list[Candidate]:
    """Per job, in scenario order, the candidate whose binary ``x`` is largest (1 up to the
    solver's integrality tolerance; the row ``one_config`` makes it unique)."""
    x = model.x.values(result)
    return [model.candidates[int(cols[x[cols].argmax()])] for cols in model.columns_by_job.values()]
