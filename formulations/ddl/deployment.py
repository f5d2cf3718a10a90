"""The ``ddl`` deployment (one configuration per job) and how it is read off a solution."""

from __future__ import annotations

from collections.abc import Iterable

from pydantic import BaseModel, ConfigDict, Field

from cost_models.ddl.estimate import Market
from formulations.ddl.candidates import Candidate
from formulations.ddl.milp import DdlModel
from formulations.types import SolveResult


class Assignment(BaseModel):
    """The configuration chosen for one job."""

    model_config = ConfigDict(extra="forbid")

    job: str
    instance_type: str
    nodes: int = Field(ge=1)
    market: Market

    @property
    def config(self) -> tuple[str, int, Market]:
        """(instance type, nodes, market), comparable with ``Estimate.config``."""
        return self.instance_type, self.nodes, self.market


class DdlDeployment(BaseModel):
    model_config = ConfigDict(extra="forbid")

    assignments: list[Assignment]


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
