"""The cost-model view of a ``ppipe`` scenario: chunk tables and pipeline designs.

:func:`prepare` runs once per scenario (the engine calls it and passes the view to every
stage): it reads or computes every model's chunk latency table and enumerates and prunes
every model's SLO-feasible pipeline designs (:mod:`formulations.ppipe.designs`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

from cost_models.devices import DEVICES
from cost_models.ppipe.calibrated import SOURCE as CALIBRATED_SOURCE
from cost_models.ppipe.calibrated import analytical_table, gpu_rate
from cost_models.ppipe.layers import CNN_SPECS
from cost_models.ppipe.tables import ChunkTable, load_published_table
from formulations.ppipe.designs import Design, enumerate_designs, prune_dominated
from formulations.ppipe.inputs import PPipeInputs
from formulations.types import InputError, Provenance, RateSource


@dataclass(frozen=True)
class PPipeView:
    """Validated inputs, every model's chunk table (input order), every model's
    SLO-feasible non-dominated designs (on GPU types with or without GPUs)."""

    inputs: PPipeInputs
    tables: tuple[ChunkTable, ...]
    designs: tuple[Design, ...]


def chunk_tables(inputs: PPipeInputs) -> tuple[ChunkTable, ...]:
    """The chunk latency table of every model, in input order."""
    levels = {gpu.name: gpu.max_mps_level for gpu in inputs.gpus}
    names = [gpu.name for gpu in inputs.gpus]
    tables = []
    for index, model in enumerate(inputs.models):
        key = f"models[{index}]"
        if model.source == "analytical":
            if model.name not in CNN_SPECS:
                raise InputError(
                    None,
                    f"{key}.name",
                    f"one of {', '.join(CNN_SPECS)} for an analytical model",
                    model.name,
                )
            for gpu in inputs.gpus:
                if gpu.name not in DEVICES:
                    raise InputError(None, "gpus.name", f"one of {', '.join(DEVICES)}", gpu.name)
            tables.append(analytical_table(CNN_SPECS[model.name], names, levels, model.chunks))
        else:
            if inputs.reference_dir is None:
                raise InputError(
                    None,
                    "reference_dir",
                    "the folder of PPipe's published "
                    f"tables (needed by published model {model.name!r})",
                )
            tables.append(
                load_published_table(Path(inputs.reference_dir), model.name, names, levels)
            )
    return tuple(tables)


def rate_source(inputs: PPipeInputs, model: str, gpu: str) -> RateSource:
    """Where the chunk latencies of ``model`` on ``gpu`` come from: PPipe's published
    TensorRT tables (measured) or the calibrated model (its provenance and expected error)."""
    spec = next(m for m in inputs.models if m.name == model)
    what = f"{model} on {gpu}"
    if spec.source == "published":
        return RateSource(
            what, Provenance.MEASURED, None, f"PPipe's published tables in {inputs.reference_dir}"
        )
    rate = gpu_rate(gpu)
    return RateSource(what, Provenance(rate.provenance), rate.expected_error_pct, CALIBRATED_SOURCE)


# Most candidate designs of one model the enumeration may visit: about 8x PPipe's largest
# published instances (ablation set: 3 partitions, 2 GPU types at 4 MPS levels, 10 chunks:
# 1.2e6), about 20 s of enumeration on one core. Beyond it the scenario is refused (exit 2).
MAX_CANDIDATE_DESIGNS = 10_000_000


def candidate_designs(inputs: PPipeInputs, table: ChunkTable) -> int:
    """An upper bound on the designs of one model before the SLO filter: every split of its
    C chunks into k <= P contiguous stages, times (GPU type, MPS level, batch) per stage."""
    configs = sum(
        table.max_batch(gpu.name, m) for gpu in inputs.gpus for m in range(1, gpu.max_mps_level + 1)
    )
    return sum(
        math.comb(table.chunks - 1, k - 1) * configs**k
        for k in range(1, min(inputs.max_partitions, table.chunks) + 1)
    )


def check_size(inputs: PPipeInputs, tables: tuple[ChunkTable, ...]) -> None:
    """Refuse, naming the model's key, a scenario whose design enumeration would exceed
    MAX_CANDIDATE_DESIGNS."""
    for index, table in enumerate(tables):
        count = candidate_designs(inputs, table)
        if count > MAX_CANDIDATE_DESIGNS:
            raise InputError(
                None,
                f"models[{index}].chunks" if inputs.max_partitions <= 2 else "max_partitions",
                f"at most {MAX_CANDIDATE_DESIGNS:,} candidate pipeline designs per model "
                f"(model {inputs.models[index].name}: {table.chunks} chunks, "
                f"max_partitions = {inputs.max_partitions} and the GPU types' MPS levels and "
                f"batches give {count:,}); lower max_partitions, chunks or max_mps_level",
            )


def plan_designs(
    inputs: PPipeInputs, tables: tuple[ChunkTable, ...], max_partitions: int | None = None
) -> tuple[Design, ...]:
    """Every model's SLO-feasible, non-dominated designs under ``inputs`` (whose GPU pools
    may allow fewer MPS levels than the tables hold, as the baselines' do)."""
    designs: list[Design] = []
    for index, table in enumerate(tables):
        designs.extend(prune_dominated(enumerate_designs(inputs, index, table, max_partitions)))
    return tuple(designs)


def prepare(inputs: PPipeInputs) -> PPipeView:
    tables = chunk_tables(inputs)
    check_size(inputs, tables)
    return PPipeView(inputs, tables, plan_designs(inputs, tables))


def no_design_message(inputs: PPipeInputs, designs: tuple[Design, ...]) -> str | None:
    """Which model has no SLO-feasible design on the GPU types that have GPUs (None when
    every model has one)."""
    served = {d.model for d in designs if all(inputs.gpus[g].count > 0 for g in d.types)}
    missing = [m for i, m in enumerate(inputs.models) if i not in served]
    if not missing:
        return None
    model = missing[0]
    return (
        f"model {model.name}: no pipeline of at most {inputs.max_partitions} stages on "
        f"the available GPUs ({', '.join(g.name for g in inputs.gpus if g.count)}) meets "
        f"slo_us = {model.slo_us:.0f} with slo_reserve_us = {model.slo_reserve_us:.0f}"
    )
