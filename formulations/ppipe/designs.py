"""Enumeration of every SLO-feasible pipeline design, and exact dominance pruning.

A *design* of model ``d`` fixes everything about one pipeline except its instance counts:
the GPU type of each used slot ``k = 0 .. K-1`` (``K <= P``), the chunk ranges
``[c_0 = 0, c_1), [c_1, c_2), ..., [c_{K-1}, c_K = C)``, and per slot an MPS level ``m_k``
and batch ``b_k`` (``b_k = b_0`` when ``same_batch_across_partitions``). Its latency is

    L = sum_k ( l_k + b_k * t(c_{k+1}) [c_{k+1} < C] ) + beta * 1e6 * (b_0 - 1) / est_qps
        + slo_reserve_us

(``l_k`` the stage latency of the chunk table, ``t`` the cut's transfer time, ``beta`` the
batch-build factor; PPipe charges the batch-build delay of the first slot's batch), and
its per-instance throughput in slot ``k`` is ``r_k = min(1e6 b_k / l_k, NIC(c_k), NIC(c_{k+1}))``.

Enumeration is a depth-first search over slots; every term of ``L`` is non-negative, so a
prefix whose partial latency already exceeds ``slo_us`` is cut off, and only designs with
``L <= slo_us`` are kept (a pipeline that violates the SLO may not be used at all). Each
slot's candidates of one GPU type (every MPS level, batch and end chunk) are checked at once
on the stage tables of :meth:`cost_models.ppipe.tables.ChunkTable.stage_latencies_us`, in
the order (level, batch, end), so the designs and their order are those of a scalar loop.

Dominance (exact): two designs with the same used-slot GPU types and the same MPS level in
every slot use exactly the same GPUs for the same instance counts ``n_k`` (physical GPUs
``n_k / m_k`` at slot index ``k`` on type ``g_k``); if ``r'_k >= r_k`` for every ``k`` then
replacing design ``e`` by ``e'`` in any plan, with the same ``n``, keeps every constraint
(GPU budgets and per-index rounding see only ``(k, g_k, m_k, n_k)``; the pipeline's
throughput ``T <= min_k r_k n_k <= min_k r'_k n_k``; at most one design per pipeline still
holds because ``e`` and ``e'`` belong to the same pipelines) and the objective. So only
the Pareto front of the ``r`` vectors within each (types, levels) group is kept; among equal
vectors the first enumerated is kept.

Dominance across MPS levels (exact): let ``e'`` have the same model and used-slot GPU types
as ``e``, levels with ``m_k`` dividing ``m'_k`` in every slot (and ``m' != m``), and
``(m'_k / m_k) r'_k >= r_k`` for every ``k``. Replacing ``e`` by ``e'`` with the integer
counts ``n'_k = (m'_k / m_k) n_k`` keeps every constraint and the objective: each slot uses
the same physical GPUs (``n'_k / m'_k = n_k / m_k`` at the same ``(k, g_k)``, so the budget
and rounding rows, which see ``(lcm / m) n``, are unchanged); the bound
``n'_k <= floor(N_g m'_k)`` holds because ``n_k / m_k <= N_g``; the pipeline's throughput
``T <= min_k r_k n_k <= min_k r'_k n'_k``; ``e'`` belongs to the same pipelines as ``e``
(the prefix rows see only types), and if the plan already runs ``e'`` the two merge into
one run with summed counts (:mod:`formulations.ppipe.milp`: never worse, one pipeline
fewer). The relation is transitive and never cycles (``sum_k m_k`` strictly grows along
it), so every design it removes is dominated by a design it keeps, and removing them all
at once is exact. Designs of different types are never compared (they use other GPUs).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np

from cost_models.ppipe.tables import ChunkTable, batch_build_us
from formulations.ppipe.inputs import PPipeInputs


@dataclass(frozen=True)
class StageDesign:
    gpu: int  # index into inputs.gpus
    mps: int
    batch: int
    start: int  # first chunk
    end: int  # one past the last chunk
    latency_us: float  # stage latency of one batch
    instance_qps: float  # throughput of one instance (MPS slice)


@dataclass(frozen=True)
class Design:
    model: int
    stages: tuple[StageDesign, ...]
    latency_us: float

    @property
    def types(self) -> tuple[int, ...]:
        return tuple(stage.gpu for stage in self.stages)

    @property
    def group(self) -> tuple[tuple[int, ...], tuple[int, ...]]:
        return self.types, tuple(stage.mps for stage in self.stages)


@dataclass(frozen=True)
class _Catalog:
    """Every stage of one GPU type at each of its (MPS level, batch) configurations
    ``i``: ``levels[i]``, ``batches[i]``, and ``latency_us[i, start, end - 1]`` (stage
    latency, us), ``instance_qps[i, start, end - 1]`` (throughput of one instance,
    requests/s) and ``cut_us[i, end - 1]`` (the batch's transfer at the cut after the stage,
    us; 0 at ``end = C``, where nothing crosses)."""

    levels: list[int]
    batches: list[int]
    latency_us: np.ndarray
    instance_qps: np.ndarray
    cut_us: np.ndarray


def _catalog(inputs: PPipeInputs, table: ChunkTable, gpu: int) -> _Catalog:
    pool = inputs.gpus[gpu]
    levels, batches, latency, rate = [], [], [], []
    for m in range(1, pool.max_mps_level + 1):
        stage_us = table.stage_latencies_us(pool.name, m)
        qps = table.instance_throughputs_qps(
            pool.name, m, inputs.bandwidth_gbit_per_s, pool.gpus_per_server
        )
        for b in range(1, table.max_batch(pool.name, m) + 1):
            levels.append(m)
            batches.append(b)
            latency.append(stage_us[b - 1])
            rate.append(qps[b - 1])
    bandwidth = inputs.bandwidth_gbit_per_s
    cuts = [table.cut_transfer_us(end, bandwidth) for end in range(1, table.chunks)]
    cut_us = np.array(batches, dtype=float)[:, None] * np.array([*cuts, 0.0])[None, :]
    return _Catalog(levels, batches, np.array(latency), np.array(rate), cut_us)


def enumerate_designs(
    inputs: PPipeInputs, index: int, table: ChunkTable, max_partitions: int | None = None
) -> list[Design]:
    """Every SLO-feasible design of model ``index`` with at most ``max_partitions`` slots."""
    model = inputs.models[index]
    slots = max_partitions or inputs.max_partitions
    catalogs = [_catalog(inputs, table, g) for g in range(len(inputs.gpus))]
    # the first stage's head: the SLO reserve and the time to gather its batch, us
    first_us = [
        np.array(
            [
                model.slo_reserve_us
                + batch_build_us(inputs.batch_build_factor, b, model.est_throughput_qps)
                for b in catalog.batches
            ]
        )
        for catalog in catalogs
    ]
    chunks = table.chunks

    def extend(
        start: int, spent_us: float, first_batch: int, prefix: tuple[StageDesign, ...]
    ) -> Iterator[Design]:
        for g, catalog in enumerate(catalogs):
            # every (configuration, end) at once: the latency so far plus this stage's,
            # plus its cut's transfer (entry [i, end - start - 1])
            head = spent_us if prefix else first_us[g][:, None]
            total = head + catalog.latency_us[:, start, start:] + catalog.cut_us[:, start:]
            feasible = total <= model.slo_us
            if prefix and inputs.same_batch_across_partitions:
                feasible &= (np.array(catalog.batches) == first_batch)[:, None]
            configs, offsets = np.nonzero(feasible)
            last = offsets + start  # end - 1
            ends = (last + 1).tolist()
            totals = total[configs, offsets].tolist()
            stage_us = catalog.latency_us[configs, start, last].tolist()
            stage_qps = catalog.instance_qps[configs, start, last].tolist()
            for i, end, spent, latency_us, qps in zip(
                configs.tolist(), ends, totals, stage_us, stage_qps, strict=True
            ):
                b = catalog.batches[i]
                stage = StageDesign(g, catalog.levels[i], b, start, end, latency_us, qps)
                if end == chunks:
                    yield Design(index, (*prefix, stage), spent)
                elif len(prefix) + 1 < slots:
                    yield from extend(
                        end, spent, prefix[0].batch if prefix else b, (*prefix, stage)
                    )

    return list(extend(0, 0.0, 0, ()))


def prune_dominated(designs: list[Design]) -> list[Design]:
    """Of one model's ``designs``, keep the Pareto front of per-slot instance throughputs in
    each (types, levels) group, then drop every design dominated across MPS levels (module
    docstring)."""
    groups: dict[tuple[tuple[int, ...], tuple[int, ...]], list[Design]] = defaultdict(list)
    for design in designs:
        groups[design.group].append(design)
    kept: list[Design] = []
    for members in groups.values():
        order = sorted(members, key=lambda d: [-s.instance_qps for s in d.stages])
        front: list[Design] = []
        for design in order:
            rates = [s.instance_qps for s in design.stages]
            if not any(
                all(s.instance_qps >= r for s, r in zip(f.stages, rates, strict=True))
                for f in front
            ):
                front.append(design)
        kept.extend(front)
    return _prune_across_levels(kept)


_BLOCK = 256  # designs compared at once (bounds the [f, e, k] arrays' memory)


def _prune_across_levels(designs: list[Design]) -> list[Design]:
    """``designs`` without those dominated across MPS levels, in their order: ``f``
    dominates ``e`` (same model and types) when its levels are multiples of ``e``'s, not all
    equal, and ``(m'_k / m_k) r'_k >= r_k`` in every slot."""
    by_types: dict[tuple[int, tuple[int, ...]], list[int]] = defaultdict(list)
    for index, design in enumerate(designs):
        by_types[(design.model, design.types)].append(index)
    dominated: set[int] = set()
    for members in by_types.values():
        levels = np.array([[s.mps for s in designs[i].stages] for i in members])
        rates = np.array([[s.instance_qps for s in designs[i].stages] for i in members])
        for first in range(0, len(members), _BLOCK):
            # [f, e, k] for a block of e: f's level is a multiple of e's, and f's throughput
            # per e-slice is enough
            lv, rt = levels[first : first + _BLOCK], rates[first : first + _BLOCK]
            multiple = levels[:, None, :] % lv[None, :, :] == 0
            enough = rates[:, None, :] * (levels[:, None, :] // lv[None, :, :]) >= rt[None, :, :]
            differ = (levels[:, None, :] != lv[None, :, :]).any(axis=2)
            beaten = ((multiple & enough).all(axis=2) & differ).any(axis=0)
            block = members[first : first + _BLOCK]
            dominated.update(i for i, hit in zip(block, beaten.tolist(), strict=True) if hit)
    return [design for index, design in enumerate(designs) if index not in dominated]
