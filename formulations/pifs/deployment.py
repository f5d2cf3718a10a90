"""The ``pifs`` deployment: where each hotness bucket lives, which tables the switch pools.

:func:`to_deployment` writes a :class:`formulations.pifs.view.Placement` (the MILP's, a
split plan's or a baseline's) in this schema; :func:`parse` reads a stored deployment back
into per-table arrays for the verifier and the tables, listing what is malformed in it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, PrivateAttr, TypeAdapter

from cost_models.pifs.busy import BatchCost, ReductionSite, batch_cost
from formulations.pifs.inputs import MAX_PORTS
from formulations.pifs.view import MAX_PAGES_PER_BUCKET, PifsView, Placement
from formulations.tolerances import close

# a stored plan is input: exact types (no "0.5" for 0.5, no true for 1), finite numbers
_STRICT = ConfigDict(extra="forbid", strict=True, allow_inf_nan=False)
VALIDATE_CHUNK = 20_000  # placement rows validated per call (a signal is seen in between)


class BucketPlacement(BaseModel):
    """Where (a share of) one hotness bucket of one table lives. Every field is deployed
        from and verified: the names must be the scenario's, ``fraction`` must match ``pages``
        in page mode, where ``bucket_pages`` (the bucket's whole pages) must be the scenario's
    (``pages`` and ``bucket_pages`` are absent otherwise)."""

    model_config = _STRICT
    table: str = Field(min_length=1)
    bucket: str = Field(min_length=1)
    location: str = Field(min_length=1)  # "host" or "port<i>"
    fraction: float = Field(ge=0, le=1)
    pages: int | None = Field(
        None, ge=0, le=MAX_PAGES_PER_BUCKET, description="whole pages (page mode)"
    )
    bucket_pages: int | None = Field(
        None, ge=1, le=MAX_PAGES_PER_BUCKET, description="the bucket's pages (page mode)"
    )


class PifsDeployment(BaseModel):
    model_config = _STRICT
    placements: list[BucketPlacement] = Field(min_length=1)
    switch_reduced: list[str] = Field(default_factory=list, description="tables pooled in-switch")
    reduction_site: ReductionSite = Field(
        "port",
        description="where switch_reduced tables are pooled (cost_models.pifs.busy): at the "
        "switch's downstream ports (PIFS-Rec, what the planner plans), across ports in the "
        "switch (BEACON-S) or in the expanders (BEACON-D); the BEACON baselines' plans only",
    )
    expanders_bought: int | None = Field(
        None, ge=0, le=MAX_PORTS, description="capacity-planning mode only"
    )
    # an in-memory deployment (a baseline's, :func:`in_memory`): its placement as arrays
    _arrays: tuple[PifsView, Placement] | None = PrivateAttr(None)

    @property
    def held_placement(self) -> Placement | None:
        """An in-memory deployment's placement (``None`` for one with placement rows)."""
        return None if self._arrays is None else self._arrays[1]

    def written(self) -> PifsDeployment:
        """This deployment with its placement rows (an in-memory one's built now)."""
        if self._arrays is None:
            return self
        view, placement = self._arrays
        return to_deployment(view, placement, self.expanders_bought)

    def model_dump(self, **kwargs: Any) -> dict[str, Any]:
        written = self.written()
        if written is not self:
            return written.model_dump(**kwargs)
        return super().model_dump(**kwargs)

    def model_dump_json(self, **kwargs: Any) -> str:
        written = self.written()
        if written is not self:
            return written.model_dump_json(**kwargs)
        return super().model_dump_json(**kwargs)


_ROWS = TypeAdapter(list[BucketPlacement])


def in_memory(view: PifsView, placement: Placement, bought: int | None) -> PifsDeployment:
    """``placement`` as a deployment held as arrays (no placement rows until written): the
    baselines' deployments, K (P + 1) rows each for an interleaving over P ports, which the
    engine only verifies and scores."""
    tables = view.workload.tables
    deployment = PifsDeployment.model_construct(
        placements=[],
        switch_reduced=[tables[t].name for t in np.flatnonzero(placement.reduced)],
        reduction_site=placement.site,
        expanders_bought=bought,
    )
    deployment._arrays = (view, placement)
    return deployment


def to_deployment(view: PifsView, placement: Placement, bought: int | None) -> PifsDeployment:
    """``placement`` in the deployment schema (zero shares left out)."""
    tables, bk = view.workload.tables, view.buckets
    reduced = [tables[t].name for t in np.flatnonzero(placement.reduced)]
    locs = view.location_names
    ks, ls = np.nonzero(placement.units > 0)
    amounts = placement.units[ks, ls]
    table_names = [t.name for t in tables]
    labels = [[b.label for b in t.buckets] for t in tables]
    page_mode = view.page_bytes is not None
    rows = [
        {
            "table": table_names[t],
            "bucket": labels[t][b],
            "location": locs[l_],
            "fraction": a / n,
            "pages": round(a) if page_mode else None,
            "bucket_pages": round(n) if page_mode else None,
        }
        for t, b, l_, a, n in zip(
            bk.table[ks].tolist(),
            bk.bucket[ks].tolist(),
            ls.tolist(),
            amounts.tolist(),
            bk.units[ks].tolist(),
            strict=True,
        )
    ]
    validated = [
        row
        for start in range(0, len(rows), VALIDATE_CHUNK)
        for row in _ROWS.validate_python(rows[start : start + VALIDATE_CHUNK])
    ]
    return PifsDeployment.model_validate(
        {
            "placements": validated,
            "switch_reduced": reduced,
            "reduction_site": placement.site,
            "expanders_bought": bought,
        }
    )


@dataclass(frozen=True)
class Parsed:
    """A stored deployment as arrays: per-table (buckets x locations) fractions and pages,
    the reduced-table mask, where they are pooled, and what is malformed in it."""

    fractions: list[np.ndarray]
    pages: list[np.ndarray]
    reduced: np.ndarray
    violations: list[str]
    site: ReductionSite = "port"


def parse(view: PifsView, deployment: PifsDeployment) -> Parsed:
    """Read ``deployment`` against the view (unknown names, duplicates, page counts); an
    in-memory one is read from its arrays (it has no names to check)."""
    work, bk = view.workload, view.buckets
    placement = deployment.held_placement
    if placement is not None:
        pages = placement.units if view.page_bytes is not None else np.zeros_like(placement.units)
        return Parsed(
            bk.fractions(placement.units),
            bk.by_table(pages),
            np.asarray(placement.reduced, dtype=bool).copy(),
            [],
            placement.site,
        )
    n_l = len(view.location_names)
    locs = {name: i for i, name in enumerate(view.location_names)}
    tables = {t.name: i for i, t in enumerate(work.tables)}
    bucket_ix = [{b.label: j for j, b in enumerate(t.buckets)} for t in work.tables]
    first_k = np.searchsorted(bk.table, np.arange(bk.n_tables))
    rows = deployment.placements
    t_ix = [tables.get(p.table, -1) for p in rows]
    b_ix = [
        -1 if t < 0 else bucket_ix[t].get(p.bucket, -1) for t, p in zip(t_ix, rows, strict=True)
    ]
    l_ix = np.array([locs.get(p.location, -1) for p in rows], dtype=np.int64)
    t_arr, b_arr = np.array(t_ix, dtype=np.int64), np.array(b_ix, dtype=np.int64)
    known = (t_arr >= 0) & (b_arr >= 0) & (l_ix >= 0)
    violations = [
        f"placement {(rows[i].table, rows[i].bucket, rows[i].location)}: "
        "unknown table, bucket or location"
        for i in np.flatnonzero(~known).tolist()
    ]
    good = np.flatnonzero(known)
    k = first_k[t_arr[good]] + b_arr[good]
    cell = k * n_l + l_ix[good]
    order = np.argsort(cell, kind="stable")  # a repeated cell after its first listing
    repeated = np.sort(order[1:][cell[order][1:] == cell[order][:-1]])
    violations += [
        f"placement {(rows[i].table, rows[i].bucket, rows[i].location)}: listed twice"
        for i in good[repeated].tolist()
    ]
    fraction = np.array([rows[i].fraction for i in good.tolist()], dtype=float)
    flat_fractions = np.zeros((len(bk.table), n_l))
    np.add.at(flat_fractions, (k, l_ix[good]), fraction)
    flat_pages = np.zeros((len(bk.table), n_l))
    if view.page_bytes is not None:
        for j, i in enumerate(good.tolist()):
            p, t, b = rows[i], t_ix[i], b_ix[i]
            key = (p.table, p.bucket, p.location)
            if p.pages is None:
                violations.append(f"placement {key}: page mode needs whole pages")
                continue
            flat_pages[k[j], l_ix[i]] += p.pages
            if p.bucket_pages != view.pages(t, b):
                violations.append(
                    f"placement {key}: bucket_pages {p.bucket_pages}, but the bucket has "
                    f"{view.pages(t, b)} pages"
                )
            if not close(p.fraction, p.pages / view.pages(t, b)):
                violations.append(
                    f"placement {key}: fraction {p.fraction} is not "
                    f"{p.pages} of {view.pages(t, b)} pages"
                )
    else:
        violations += [
            f"placement {(p.table, p.bucket, p.location)}: pages given, but the scenario "
            "places fractions (no placement.page_kib)"
            for p in rows
            if p.pages is not None or p.bucket_pages is not None
        ]
    reduced = np.zeros(len(work.tables), dtype=bool)
    for name in deployment.switch_reduced:
        if name not in tables:
            violations.append(f"switch_reduced: unknown table {name}")
        else:
            reduced[tables[name]] = True
    return Parsed(
        bk.by_table(flat_fractions),
        bk.by_table(flat_pages),
        reduced,
        violations,
        deployment.reduction_site,
    )


def parsed_cost(view: PifsView, parsed: Parsed) -> BatchCost:
    """Bytes and busy times of one batch under a parsed deployment."""
    return batch_cost(
        view.fabric,
        view.workload,
        parsed.fractions,
        parsed.reduced,
        view.window_samples,
        parsed.site,
    )
