"""Cells and their batched latency tau(b) on a GPU type.

A cell is the subgraph a request runs once per step with weights shared across steps
(BatchMaker, EuroSys '18, Sec. 3): one time step of a stacked LSTM (every layer, then the
output projection when the model has one), or one Tree-LSTM node. Its kernels are GEMMs
of the shapes below plus one element-wise kernel per layer; ``b`` cells of one type run as
one batched cell (the GEMMs get ``b`` rows).

GEMM shapes (``x`` input width, ``h`` hidden width, per layer, FLOPs = 2 x MACs):

* LSTM layer (Hochreiter & Schmidhuber 1997; the fused-gate form of cuDNN):
  ``[b, x + h] x [x + h, 4h]``, then the gates (element-wise, reads 4h + h, writes 2h);
* output projection (language model softmax, decoder vocabulary): ``[b, h] x [h, V]``,
  then the softmax (element-wise over V);
* binary Tree-LSTM (Tai et al., ACL 2015, Sec. 3.2), leaf: ``[b, x] x [x, 3h]`` (input,
  output, update gates; no children), internal node: ``[b, 2h] x [2h, 5h]`` (two forget
  gates), then the gates element-wise.

tau(b) comes from the calibrated performance model (:mod:`cost_models.perf.model`, fitted
by ``benchmarks/calibrate.py`` to the public measurements in ``cost_models/perf/
calibration.json``): the fitted per-kernel roofline (achieved FLOP rate with its fill term,
achieved DRAM bandwidth, power cap) gives each kernel's device time, and every kernel
adds one launch of the fitted fused-runtime dispatch cost (``dispatch_s_tensorrt``).
The model's per-call framework overhead (``call_s``, a whole forward pass of a framework)
is left out: BatchMaker launches a cell's kernels from its own C++ scheduler. A measured
table (``cell,gpu,batch_size,latency_us``) replaces the model where given, interpolated
linearly between measured batch sizes.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from numpy.typing import NDArray

from cost_models.devices import Precision, device
from cost_models.errors import DataError
from cost_models.perf.calibration import load as load_calibration
from cost_models.perf.catalog import KernelGroup, Workload
from cost_models.perf.hardware import Runtime
from cost_models.perf.model import Case, compile_cases, evaluate
from cost_models.units import US_PER_S

LSTM_GATES = 4  # input, forget, cell, output (Hochreiter & Schmidhuber 1997)
LSTM_GATE_READS = 5  # element-wise: 4 gate pre-activations and the previous cell state, per h
LSTM_GATE_WRITES = 2  # new cell state and hidden state, per h
LSTM_GATE_FLOPS = 10  # 3 sigmoids, 2 tanh, 3 multiplies, 2 adds per hidden unit (approx.)
TREE_LEAF_GATES = 3  # input, output, update (Tai et al. 2015, Eq. 9-14 without forget gates)
TREE_NODE_GATES = 5  # input, output, update and one forget gate per child (N = 2)
SOFTMAX_FLOPS = 3  # exp, add, divide per vocabulary entry (approx.)


@dataclass(frozen=True)
class Cell:
    """One cell type: its kernels (per sample FLOPs and activations, weights per batch)."""

    name: str
    kernels: tuple[KernelGroup, ...]
    params_millions: float

    @property
    def gflops_per_cell(self) -> float:
        return sum(k.count * k.flops for k in self.kernels) / 1e9


def _gemm(rows_in: int, cols_out: int) -> KernelGroup:
    """One GEMM of one sample: ``[1, rows_in] x [rows_in, cols_out]``."""
    return KernelGroup(1, 2.0 * rows_in * cols_out, float(rows_in * cols_out), rows_in + cols_out)


def _elementwise(flops: float, elements: float) -> KernelGroup:
    return KernelGroup(1, flops, 0.0, elements)


def lstm_cell(name: str, input_dim: int, hidden: int, layers: int, vocab: int) -> Cell:
    """One time step of a ``layers``-deep LSTM (first layer input ``input_dim``, the others
    ``hidden``), then an output projection to ``vocab`` entries (none when 0)."""
    kernels: list[KernelGroup] = []
    params = 0.0
    for layer in range(layers):
        x = input_dim if layer == 0 else hidden
        kernels.append(_gemm(x + hidden, LSTM_GATES * hidden))
        kernels.append(
            _elementwise(LSTM_GATE_FLOPS * hidden, (LSTM_GATE_READS + LSTM_GATE_WRITES) * hidden)
        )
        params += (x + hidden) * LSTM_GATES * hidden
    if vocab:
        kernels.append(_gemm(hidden, vocab))
        kernels.append(_elementwise(SOFTMAX_FLOPS * vocab, 2.0 * vocab))
        params += hidden * vocab
    return Cell(name, tuple(kernels), params / 1e6)


def tree_cells(input_dim: int, hidden: int) -> tuple[Cell, Cell]:
    """The leaf and internal-node cells of a binary Tree-LSTM."""
    leaf = (
        _gemm(input_dim, TREE_LEAF_GATES * hidden),
        _elementwise(LSTM_GATE_FLOPS * hidden, (TREE_LEAF_GATES + LSTM_GATE_WRITES) * hidden),
    )
    node = (
        _gemm(2 * hidden, TREE_NODE_GATES * hidden),
        _elementwise(LSTM_GATE_FLOPS * hidden, (TREE_NODE_GATES + 2 + LSTM_GATE_WRITES) * hidden),
    )
    return (
        Cell("leaf", leaf, input_dim * TREE_LEAF_GATES * hidden / 1e6),
        Cell("node", node, 2 * hidden * TREE_NODE_GATES * hidden / 1e6),
    )


def modelled_tau_us(
    cell: Cell, gpu: str, precision: Precision, max_batch: int
) -> NDArray[np.float64]:
    """tau(b) in us for b = 1 .. max_batch from the calibrated performance model."""
    calibration = load_calibration()
    work = Workload(cell.name, "transformer", "cell", cell.params_millions, cell.kernels, "")
    dev = device(gpu)
    if dev.kind != "gpu":
        raise DataError(None, "gpus.name", f"a GPU type (got {gpu!r}, a {dev.kind})")
    cases = [Case(work, dev, b, precision, Runtime.PYTORCH) for b in range(1, max_batch + 1)]
    times = evaluate(compile_cases(cases), calibration.params)
    launches = work.dispatches * calibration.params["dispatch_s_tensorrt"]
    return US_PER_S * (times.compute_s + times.memory_s + launches)


def read_tau_table(
    path: Path,
) -> dict[tuple[str, str], tuple[NDArray[np.int64], NDArray[np.float64]]]:
    """A measured table ``cell,gpu,batch_size,latency_us``: (cell, gpu) -> (batches, us)."""
    rows: dict[tuple[str, str], dict[int, float]] = {}
    with path.open(newline="") as handle:
        reader = csv.DictReader(handle)
        if reader.fieldnames != ["cell", "gpu", "batch_size", "latency_us"]:
            raise DataError(path, "header", "columns cell,gpu,batch_size,latency_us")
        for line, row in enumerate(reader, start=2):
            try:
                batch, value = int(row["batch_size"]), float(row["latency_us"])
            except (TypeError, ValueError):
                raise DataError(path, f"line {line}", "an integer batch_size, latency_us") from None
            if batch < 1 or not np.isfinite(value) or value <= 0:
                raise DataError(path, f"line {line}", "batch_size >= 1 and a finite latency_us > 0")
            rows.setdefault((row["cell"], row["gpu"]), {})[batch] = value
    out = {}
    for key, points in rows.items():
        batches = np.array(sorted(points), dtype=np.int64)
        out[key] = (batches, np.array([points[int(b)] for b in batches]))
    return out


def measured_tau_us(
    path: Path,
    points: tuple[NDArray[np.int64], NDArray[np.float64]],
    cell: str,
    gpu: str,
    max_batch: int,
) -> NDArray[np.float64]:
    """tau(b) for b = 1 .. max_batch, linear between measured batch sizes (no extrapolation)."""
    batches, values = points
    if batches[0] != 1 or batches[-1] < max_batch:
        raise DataError(
            path,
            f"{cell}/{gpu}",
            f"measured batch sizes 1 to at least {max_batch} (got {batches[0]}..{batches[-1]})",
        )
    return np.interp(np.arange(1, max_batch + 1), batches, values)


def batch_us(tau_us: NDArray[np.float64], cells: int) -> float:
    """Time to run ``cells`` cells of one type when one batched cell holds at most
    ``len(tau_us)`` of them (graph batching of large padded batches): full batches, then
    the remainder."""
    cap = len(tau_us)
    full, rest = divmod(cells, cap)
    return full * float(tau_us[-1]) + (float(tau_us[rest - 1]) if rest else 0.0)
