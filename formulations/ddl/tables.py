"""Tables of a ``ddl`` plan: the recommendation per job with its stall breakdown (the
primary table), then per job the ranked candidates around it with a verdict for each."""

from __future__ import annotations

from cost_models.ddl.estimate import Estimate
from formulations.ddl.candidates import rank_key
from formulations.ddl.deployment import Assignment, DdlDeployment
from formulations.ddl.explain import verdict
from formulations.ddl.inputs import JobSpec, Mode
from formulations.ddl.rates import rate_label, spot_risk_table
from formulations.ddl.view import DdlView
from formulations.tolerances import close
from formulations.types import Table

STALL_COLUMNS = [
    "gpu_samples_per_s",  # the single-GPU training rate used (cost_models.ddl.estimate)
    "rate_source",
    "iteration_s",
    "compute_pct",
    "fetch_pct",
    "prep_pct",
    "interconnect_pct",
    "network_pct",
]  # the shares follow Estimate.breakdown_s's order


def stall_row(e: Estimate) -> list[float | str]:
    """The per-GPU rate and its provenance, iteration seconds and the five shares (%) of
    it, in :data:`STALL_COLUMNS` order, rounded for people (0.1 ms, 0.1 %)."""
    return [
        round(e.rate.samples_per_s_per_gpu, 1),
        rate_label(e.rate),
        round(e.iteration_s, 4),
        *(round(e.pct(s), 1) for s in e.breakdown_s().values()),
    ]


def tables(view: DdlView, deployment: DdlDeployment) -> list[Table]:
    chosen = {a.job: a for a in deployment.assignments}
    rows = []
    for spec in view.inputs.jobs:
        a = chosen[spec.name]
        e = view.estimate_of(a)
        rows.append(
            [
                spec.name,
                spec.model,
                a.instance_type,
                a.nodes,
                a.market.value,
                e.gpus,
                e.hours,
                e.cost_usd,
                spec.deadline_h,
                *stall_row(e),
            ]
        )
    out = [
        Table(
            "Recommended configuration per job",
            [
                "job",
                "model",
                "instance_type",
                "nodes",
                "market",
                "gpus",
                "hours",
                "cost_usd",
                "deadline_h",
                *STALL_COLUMNS,
            ],
            rows,
        )
    ]
    out += [candidates_table(view, spec, chosen[spec.name]) for spec in view.inputs.jobs]
    risk = spot_risk_table(view, deployment)
    return out if risk is None else [*out, risk]


def candidates_table(view: DdlView, spec: JobSpec, a: Assignment) -> Table:
    """Ranked candidates around the recommendation: every better-ranked one (why it was
    rejected), the recommendation, and up to ``top_candidates`` after it."""
    inputs = view.inputs
    cands = sorted(view.candidates[spec.name], key=lambda c: rank_key(inputs, c))
    pick = next(i for i, c in enumerate(cands) if c.estimate.config == a.config)
    best = rank_key(inputs, cands[pick])[0]
    rows = []
    for rank, c in enumerate(cands[: pick + inputs.top_candidates + 1], 1):
        e = c.estimate
        why = (
            "recommended"
            if rank - 1 == pick
            else verdict(
                view,
                spec,
                c,
                cands[pick],
                better=rank - 1 < pick,
                tie=close(rank_key(inputs, c)[0], best),
            )
        )
        rows.append(
            [
                rank,
                e.instance_type,
                e.nodes,
                e.market.value,
                e.gpus,
                e.hours,
                e.cost_usd,
                *stall_row(e),
                why,
            ]
        )
    return Table(
        f"Candidates for job {spec.name}, ranked by "
        f"{'cost' if inputs.objective is Mode.MIN_COST else 'time'}",
        [
            "rank",
            "instance_type",
            "nodes",
            "market",
            "gpus",
            "hours",
            "cost_usd",
            *STALL_COLUMNS,
            "verdict",
        ],
        rows,
        marked_row=pick,
        marker="the recommended configuration",
    )
