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
``L <= slo_us`` are kept (a pipeline that violates the SLO may not be used at all).

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
from itertools import product

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
    """Stage latency / instance throughput of every (gpu, mps, batch, start, end)."""

    latency_us: dict[tuple[int, int, int, int, int], float]
    instance_qps: dict[tuple[int, int, int, int, int], float]
    configs: dict[int, list[tuple[int, int]]]  # gpu -> (mps, batch) pairs


def _catalog(inputs: PPipeInputs, table: ChunkTable) -> _Catalog:
    chunks = table.chunks
    latency: dict[tuple[int, int, int, int, int], float] = {}
    rate: dict[tuple[int, int, int, int, int], float] = {}
    configs: dict[int, list[tuple[int, int]]] = {}
    for g, gpu in enumerate(inputs.gpus):
        configs[g] = [
            (m, b)
            for m in range(1, gpu.max_mps_level + 1)
            for b in range(1, table.max_batch(gpu.name, m) + 1)
        ]
        for (m, b), start in product(configs[g], range(chunks)):
            ends = range(start + 1, chunks + 1)
            latencies = table.stage_latencies_us(gpu.name, m, b, start).tolist()
            rates = table.instance_throughputs_qps(
                gpu.name, m, b, start, inputs.bandwidth_gbit_per_s, gpu.gpus_per_server
            ).tolist()
            for end, stage_us, stage_qps in zip(ends, latencies, rates, strict=True):
                latency[(g, m, b, start, end)] = stage_us
                rate[(g, m, b, start, end)] = stage_qps
    return _Catalog(latency, rate, configs)


def enumerate_designs(
    inputs: PPipeInputs, index: int, table: ChunkTable, max_partitions: int | None = None
) -> list[Design]:
    """Every SLO-feasible design of model ``index`` with at most ``max_partitions`` slots."""
    model = inputs.models[index]
    slots = max_partitions or inputs.max_partitions
    catalog = _catalog(inputs, table)
    chunks = table.chunks

    def extend(
        start: int, spent_us: float, first_batch: int, prefix: tuple[StageDesign, ...]
    ) -> Iterator[Design]:
        for g in range(len(inputs.gpus)):
            for m, b in catalog.configs[g]:
                if prefix and inputs.same_batch_across_partitions and b != first_batch:
                    continue
                head = (
                    spent_us
                    if prefix
                    else (
                        model.slo_reserve_us
                        + batch_build_us(inputs.batch_build_factor, b, model.est_throughput_qps)
                    )
                )
                for end in range(start + 1, chunks + 1):
                    key = (g, m, b, start, end)
                    total = head + catalog.latency_us[key]
                    if end < chunks:
                        total += b * table.cut_transfer_us(end, inputs.bandwidth_gbit_per_s)
                    if total > model.slo_us:
                        continue
                    stage = StageDesign(
                        g, m, b, start, end, catalog.latency_us[key], catalog.instance_qps[key]
                    )
                    if end == chunks:
                        yield Design(index, (*prefix, stage), total)
                    elif len(prefix) + 1 < slots:
                        yield from extend(
                            end, total, prefix[0].batch if prefix else b, (*prefix, stage)
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
