"""The cost-model view of a cellular-batching scenario, and ``prepare(inputs) -> view``.

Per GPU type: tau(b) of every cell type (measured table or the calibrated performance
model, ``cost_models.cellular.cells``); per (GPU type, maximum batch per cell type) in the
product of the candidates: the capacity, the largest per-GPU load at which every length
bucket meets the latency SLO (``cost_models.cellular.latency``).
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from cost_models.cellular.cells import (
    Cell,
    lstm_cell,
    measured_tau_us,
    modelled_tau_us,
    read_tau_table,
    tree_cells,
)
from cost_models.cellular.graphs import CELL_TYPES
from cost_models.cellular.latency import (
    Bucket,
    Mix,
    capacity_qps,
    cellular_latency,
    graph_latency,
    mix_of,
)
from cost_models.devices import Precision, device
from cost_models.errors import DataError
from cost_models.units import MS_PER_S, US_PER_S
from formulations.cellular.inputs import CellularInputs, ModelSpec

QUANTILES = {"p50": 0.50, "p90": 0.90, "p95": 0.95, "p99": 0.99}
POLICIES = ("cellular", "graph", "graph_bucketed")


@dataclass(frozen=True)
class Candidate:
    """One (GPU type, maximum batch per cell type) and its capacity within the SLO."""

    gpu: str
    max_batch: tuple[int, ...]
    capacity_qps: float


@dataclass(frozen=True)
class CellularView:
    inputs: CellularInputs
    cell_names: tuple[str, ...]
    mix: Mix
    tau_us: dict[str, tuple[NDArray[np.float64], ...]]  # gpu -> per cell type, b = 1..max
    tau_source: str
    price_usd_per_h: dict[str, float]
    max_count: dict[str, int]
    quantile: float
    slo_s: float
    total_rate_qps: float
    candidates: list[Candidate]  # every (gpu, max batch) with a positive capacity
    max_table_batch: int

    def labels(self) -> list[str]:
        return [b.label for b in self.inputs.traffic]

    def latency_fn(
        self, gpu: str, policy: str, max_batch: Sequence[int], quantile: float | None = None
    ) -> Callable[[NDArray[np.float64]], NDArray[np.float64]]:
        """Per-GPU loads (requests/s) -> (loads, buckets) latency quantile in s."""
        q = self.quantile if quantile is None else quantile
        taus = self.tau_us[gpu]
        if policy == "cellular":
            return lambda r: cellular_latency(self.mix, taus, max_batch, r, q).latency_s
        return lambda r: graph_latency(
            self.mix, taus, max_batch[0], r, q, policy == "graph_bucketed"
        )

    def capacity(self, gpu: str, policy: str, max_batch: Sequence[int]) -> float:
        return capacity_qps(
            self.latency_fn(gpu, policy, max_batch), self.slo_s, saturation_bound(self, gpu)
        )


def saturation_bound(view: CellularView, gpu: str) -> float:
    """A load no GPU of type ``gpu`` sustains: every cell type run alone, at the largest
    batch of the table, must keep up (requests/s)."""
    taus = view.tau_us[gpu]
    per_type = [
        view.max_table_batch * US_PER_S / (float(t[-1]) * cells)
        for t, cells in zip(taus, view.mix.cells, strict=True)
        if cells > 0
    ]
    return min(per_type)


def cells_of(model: ModelSpec) -> tuple[Cell, ...]:
    if model.structure == "lstm":
        return (lstm_cell("lstm", model.input_dim, model.hidden, model.layers, model.vocab),)
    if model.structure == "seq2seq":
        return (
            lstm_cell("encoder", model.input_dim, model.hidden, model.layers, 0),
            lstm_cell("decoder", model.input_dim, model.hidden, model.layers, model.vocab),
        )
    return tree_cells(model.input_dim, model.hidden)


def prepare(inputs: CellularInputs) -> CellularView:
    names = CELL_TYPES[inputs.model.structure]
    cells = cells_of(inputs.model)
    precision = Precision(inputs.precision)
    largest = max(inputs.max_batch_candidates)
    tau: dict[str, tuple[NDArray[np.float64], ...]] = {}
    prices: dict[str, float] = {}
    table = read_tau_table(inputs.tau_table) if inputs.tau_table is not None else {}
    for g, spec in enumerate(inputs.gpus):
        try:
            dev = device(spec.name)
        except DataError as exc:
            raise DataError(None, f"gpus[{g}].name", exc.expected) from None
        if dev.kind != "gpu":
            raise DataError(None, f"gpus[{g}].name", f"a GPU type (got {spec.name!r})")
        prices[spec.name] = spec.price_usd_per_h or dev.price_usd_per_h
        per_cell = []
        for cell in cells:
            points = table.get((cell.name, spec.name))
            if points is not None:
                assert inputs.tau_table is not None
                per_cell.append(
                    measured_tau_us(inputs.tau_table, points, cell.name, spec.name, largest)
                )
            else:
                per_cell.append(modelled_tau_us(cell, spec.name, precision, largest))
        tau[spec.name] = tuple(per_cell)
    buckets = tuple(Bucket(b.min_tokens, b.max_tokens, b.rate_qps) for b in inputs.traffic)
    total = sum(b.rate_qps for b in inputs.traffic)
    shares = tuple(Bucket(b.lo_tokens, b.hi_tokens, b.share / total) for b in buckets)
    mix = mix_of(inputs.model.structure, inputs.model.target_ratio, shares, len(names))
    view = CellularView(
        inputs=inputs,
        cell_names=names,
        mix=mix,
        tau_us=tau,
        tau_source=_tau_source(inputs, table, names),
        price_usd_per_h=prices,
        max_count={g.name: g.max_count for g in inputs.gpus},
        quantile=QUANTILES[inputs.percentile],
        slo_s=inputs.slo_ms / MS_PER_S,
        total_rate_qps=total,
        candidates=[],
        max_table_batch=largest,
    )
    for spec in inputs.gpus:
        for combo in itertools.product(sorted(inputs.max_batch_candidates), repeat=len(names)):
            capacity = view.capacity(spec.name, "cellular", combo)
            if capacity > 0:
                view.candidates.append(Candidate(spec.name, combo, capacity))
    return view


def _tau_source(
    inputs: CellularInputs, table: Mapping[tuple[str, str], object], names: Sequence[str]
) -> str:
    measured = [f"{c}/{g.name}" for g in inputs.gpus for c in names if (c, g.name) in table]
    model = "calibrated performance model (cost_models/perf/calibration.json)"
    if not measured:
        return model
    return f"measured ({inputs.tau_table}: {', '.join(measured)}); others: {model}"


def bucket_rates(view: CellularView) -> NDArray[np.float64]:
    return np.array([b.rate_qps for b in view.inputs.traffic])
