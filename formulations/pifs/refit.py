"""``planner check`` for ``pifs``: keep the committed placement, re-evaluate it.

Kept exactly as committed (nothing is moved, pooled differently or bought): every
placement row (which share of which hotness bucket of which table lives at which
location), ``switch_reduced`` (the tables pooled in the switch) and ``expanders_bought``.

Re-derived, in page mode only: when a bucket's size in whole pages changed since the plan
(its table's rows, ``dim`` or ``bytes_per_element``, the hotness or ``page_kib`` changed),
the bucket keeps its committed share at each location and those shares are rounded to
whole pages of the new size (largest remainder). A bucket is re-derived only when its
stored rows are consistent (every row carries the same committed ``bucket_pages``, the
rows' pages sum to it and each fraction is its pages over it), so a tampered row is never
repaired: the verifier judges it.

Everything else is recomputed by the cost model under the new scenario: bytes stored,
busy times, batch latency. The committed plan covers the scenario when every location
holds what is stored there, the switch buffer holds the partial sums, and (capacity
planning) the batch latency meets the target; each requirement it misses is a
:class:`Shortfall` naming the overfull location ("port3 capacity", GiB stored against GiB
there), a location the fabric no longer has ("port7 (not in the fabric)", GiB placed
there against 0), the switch buffer (MiB) or the missed target (samples/s the target asks
of a batch against samples/s the placement gives). In latency mode without a target any
placement that fits covers the scenario; how much slower it is than a fresh placement is
``planner check``'s gap (exit 6 beyond ``--max-gap``).
"""

from __future__ import annotations

from collections import defaultdict

import numpy as np

from cost_models.units import BYTES_PER_GIB
from formulations.pifs.deployment import BucketPlacement, PifsDeployment, parse, parsed_cost
from formulations.pifs.verify import resource_shortfalls, target_shortfall
from formulations.pifs.view import PifsView
from formulations.tolerances import close
from formulations.types import Refit, Shortfall


def refit(view: PifsView, deployment: PifsDeployment) -> Refit[PifsDeployment]:
    """The committed deployment under ``view``'s scenario and what it no longer covers."""
    refitted = _whole_pages(view, deployment)
    parsed = parse(view, refitted)
    cost = parsed_cost(view, parsed)
    shortfalls: list[Shortfall] = resource_shortfalls(view, cost, parsed.pages)
    shortfalls += _gone(view, refitted)
    missed = target_shortfall(view, cost)
    if missed is not None:
        shortfalls.append(missed)
    return Refit(refitted, shortfalls)


def _gone(view: PifsView, deployment: PifsDeployment) -> list[Shortfall]:
    """Locations the placement uses that the scenario's fabric no longer has (a port
    removed): what they hold (GiB, by the scenario's table sizes) against 0 there."""
    work = view.workload
    tables = {t.name: t for t in work.tables}
    known = set(view.location_names)
    gone: dict[str, float] = defaultdict(float)
    for p in deployment.placements:
        table = tables.get(p.table)
        labels = [] if table is None else [b.label for b in table.buckets]
        if p.location not in known and table is not None and p.bucket in labels:
            gone[p.location] += p.fraction * table.bucket_bytes(labels.index(p.bucket))
    return [
        Shortfall(
            f"{location} (not in the fabric)", stored / BYTES_PER_GIB, 0.0, "GiB", resource=True
        )
        for location, stored in sorted(gone.items())
    ]


def _largest_remainder(shares: np.ndarray, total: int) -> np.ndarray:
    """Whole units summing to ``total`` in proportion to ``shares`` (ties: first listed)."""
    want = shares / shares.sum() * total
    base = np.floor(want)
    left = int(total - base.sum())
    order = np.argsort(-(want - base), kind="stable")
    base[order[:left]] += 1
    return base.astype(np.int64)


def _whole_pages(view: PifsView, deployment: PifsDeployment) -> PifsDeployment:
    """In page mode, consistent buckets whose page count changed, rounded to the new size
    (see the module docstring); the deployment itself when nothing changed."""
    if view.page_bytes is None:
        return deployment
    tables = {t.name: i for i, t in enumerate(view.workload.tables)}
    bucket_ix = [{b.label: j for j, b in enumerate(t.buckets)} for t in view.workload.tables]
    rows_of: dict[tuple[str, str], list[int]] = defaultdict(list)
    for i, p in enumerate(deployment.placements):
        rows_of[p.table, p.bucket].append(i)
    rows = list(deployment.placements)
    changed = False
    for (table, bucket), members in rows_of.items():
        t = tables.get(table)
        b = None if t is None else bucket_ix[t].get(bucket)
        if t is None or b is None:
            continue
        pages = [rows[i].pages for i in members]
        totals = {rows[i].bucket_pages for i in members}
        if any(p is None for p in pages) or len(totals) != 1:
            continue
        counts = np.array(pages, dtype=np.int64)
        (committed,) = totals
        now = view.pages(t, b)
        consistent = committed == int(counts.sum()) and all(
            close(rows[i].fraction, int(c) / committed)
            for i, c in zip(members, counts, strict=True)
        )
        if not consistent or committed == now:
            continue
        changed = True
        for i, c in zip(members, _largest_remainder(counts.astype(float), now), strict=True):
            rows[i] = BucketPlacement(
                table=table,
                bucket=bucket,
                location=rows[i].location,
                fraction=int(c) / now,
                pages=int(c),
                bucket_pages=now,
            )
    if not changed:
        return deployment
    return deployment.model_copy(update={"placements": [r for r in rows if r.fraction > 0]})
