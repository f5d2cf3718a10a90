"""Tables for people: placement per location (the primary table), busy time per resource,
batch latency and throughput, and per-table choices."""

from __future__ import annotations

from collections import defaultdict

import numpy as np

from cost_models.pifs.busy import BatchCost
from cost_models.pifs.workload import EmbeddingTable
from cost_models.units import BYTES_PER_GIB, BYTES_PER_MB, PERCENT_PER_FRACTION, US_PER_S
from formulations.pifs.deployment import PifsDeployment, parse, parsed_cost
from formulations.pifs.view import PifsView
from formulations.types import Table

SHOWN_TABLES = 6  # table names listed per location before "... (+n)"


def deployment_cost(view: PifsView, deployment: PifsDeployment) -> BatchCost:
    """Bytes and busy times of one batch under a stored deployment."""
    return parsed_cost(view, parse(view, deployment))


def headline(view: PifsView, deployment: PifsDeployment) -> dict[str, float | int | str | None]:
    """Latency, throughput, the bottleneck and the busy time of each kind of resource."""
    c = deployment_cost(view, deployment)
    busy = c.busy_us
    return {
        "latency_us": c.latency_us,
        "throughput_samples_per_s": c.throughput_samples_per_s(view.workload.batch_size),
        "bottleneck": max(busy, key=lambda k: busy[k]),
        "host_dram_busy_us": float(c.location_busy_us[0]),
        "max_port_busy_us": float(c.location_busy_us[1:].max()),
        "upstream_busy_us": c.upstream_busy_us,
        "reduction_busy_us": c.reduction_busy_us,
        "expanders_bought": deployment.expanders_bought,
    }


def _host_lookup_share(table: EmbeddingTable, frac: np.ndarray) -> float:
    return sum(b.lookup_share * frac[j, 0] for j, b in enumerate(table.buckets))


def tables(view: PifsView, deployment: PifsDeployment) -> list[Table]:
    fabric, work = view.fabric, view.workload
    parsed = parse(view, deployment)
    fractions, reduced = parsed.fractions, parsed.reduced
    held: dict[str, set[str]] = defaultdict(set)
    n_buckets: dict[str, int] = defaultdict(int)
    for p in deployment.placements:
        held[p.location].add(p.table)
        n_buckets[p.location] += 1
    cost = parsed_cost(view, parsed)
    rate = work.batches_per_s
    rows = []
    for i, loc in enumerate(fabric.locations):
        busy = float(cost.location_busy_us[i])
        util = busy / US_PER_S * rate if rate else busy / cost.latency_us
        names = sorted(held[loc.name])
        shown = ", ".join(names[:SHOWN_TABLES]) + (
            f", ... (+{len(names) - SHOWN_TABLES})" if len(names) > SHOWN_TABLES else ""
        )
        rows.append(
            [
                loc.name,
                len(names),
                n_buckets[loc.name],
                shown,
                round(cost.location_bytes[i] / BYTES_PER_GIB, 4),
                round(loc.capacity_bytes / BYTES_PER_GIB, 2),
                round(PERCENT_PER_FRACTION * cost.location_bytes[i] / loc.capacity_bytes, 2)
                if loc.capacity_bytes
                else 0.0,
                round(cost.location_lookup_bytes[i] / BYTES_PER_MB, 3),
                round(busy, 3),
                round(PERCENT_PER_FRACTION * util, 2),
            ]
        )
    primary = Table(
        "Placement per location",
        [
            "location",
            "tables",
            "buckets",
            "holds",
            "stored_gib",
            "capacity_gib",
            "capacity_used_pct",
            "lookup_mb_per_batch",
            "busy_us",
            "bandwidth_utilisation_pct",
        ],
        rows,
    )
    busy_us = cost.busy_us
    resources = Table(
        "Busy time per resource (one batch)",
        ["resource", "busy_us", "latency_pct"],
        [
            [name, round(v, 3), round(PERCENT_PER_FRACTION * v / cost.latency_us, 2)]
            for name, v in busy_us.items()
        ],
    )
    resources.rows.append(
        [
            "critical_chain_latency",
            round(cost.chain_us, 4),
            round(PERCENT_PER_FRACTION * cost.chain_us / cost.latency_us, 2),
        ]
    )
    summary = Table(
        "Batch latency and throughput",
        [
            "latency_us",
            "throughput_samples_per_s",
            "bottleneck",
            "tables_reduced_in_switch",
            "reduction_site",
        ],
        [
            [
                round(cost.latency_us, 3),
                round(cost.throughput_samples_per_s(work.batch_size), 1),
                max(busy_us, key=lambda k: busy_us[k]),
                int(reduced.sum()),
                parsed.site,
            ]
        ],
    )
    per_table = Table(
        "Per table",
        ["table", "reduced_in_switch", "ports_holding", "host_lookups_pct"],
        [
            [
                t.name,
                bool(reduced[i]),
                int(cost.ports_holding[i]),
                round(PERCENT_PER_FRACTION * float(_host_lookup_share(t, fractions[i])), 2),
            ]
            for i, t in enumerate(work.tables)
        ],
    )
    return [primary, resources, summary, per_table]
