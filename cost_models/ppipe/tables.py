"""Chunk latency tables of pre-partitioned CNNs, and the stage physics PPipe plans with.

A model is cut offline into ``C`` contiguous chunks (layer ranges, in order). A
:class:`ChunkTable` holds, for every GPU type and MPS level ``m`` (the GPU split into ``m``
equal slices), the latency in microseconds of every chunk at every batch size that was
profiled, plus the bytes of activations crossing each of the ``C - 1`` cuts (per sample).

Two sources fill it: PPipe's published TensorRT profiles (:func:`load_published_table`,
layout in ``shared/reference/README.md``) and the analytical layer model
(:func:`cost_models.ppipe.calibrated.analytical_table`).

Stage physics (PPipe, ATC '25, section 5; its public ``milp_solver/ilp_v4.py``):

* a stage running chunks ``[i, j)`` at level ``m`` and batch ``b`` takes
  ``l = sum_{c in [i, j)} max(lat[c, b], 1 us)`` per batch;
* one instance (MPS slice) serves ``min(1e6 b / l, nic(i), nic(j))`` requests/s, where
  ``nic(c) = 1e6 / (t(c) * m * gpus_per_server)`` and ``t(c)`` is the transfer time of the
  cut at ``c`` in us (1 us at ``c = 0`` or ``c = C``, where nothing crosses the NIC): the NIC
  of a server is shared by its GPUs and by their MPS slices;
* transfer time of a cut is ``bytes / (bandwidth_gbit_per_s * 1e9 / 8) * 1e6`` us per sample.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

import numpy as np

from cost_models.errors import DataError
from cost_models.units import US_PER_S, gbit_per_s_to_bytes_per_s

# Floor on a chunk's latency, us: PPipe clips every profiled chunk to >= 1 us "for numerical
# stability" (milp_solver/ilp_v4.py), so a zero-latency chunk never yields infinite throughput.
MIN_CHUNK_LATENCY_US = 1.0
# Transfer time used where no cut crosses the NIC (pipeline input/output), us; PPipe uses 1 us
# "to avoid division by zero" (milp_solver/ilp_v4.py).
NO_CUT_TRANSFER_US = 1.0
# Largest profiled batch per MPS level in PPipe's published tables (shared/reference README):
# batches 1..8 at m=1, 1..4 at m=2, 1..2 at m=3 and m=4. The analytical model uses the same.
MAX_BATCH_BY_MPS: dict[int, int] = {1: 8, 2: 4, 3: 2, 4: 2}

# Largest chunk-table or cut-size file read, bytes: PPipe's published files are under 1 KB
# (10 chunks x 8 batches); 16 MiB leaves room for any profile while bounding memory.
MAX_TABLE_FILE_BYTES = 16 * 2**20

BytesT = TypeVar("BytesT", float, np.ndarray)  # one byte count, or one per cut


def batch_build_us(batch_build_factor: float, batch: int, est_throughput_qps: float) -> float:
    """PPipe's estimate of the time to gather a batch of ``batch`` requests, us:
    ``batch_build_factor * 1e6 * (batch - 1) / est_throughput_qps``."""
    return batch_build_factor * US_PER_S * (batch - 1) / est_throughput_qps


def transfer_time_us(cut_bytes: BytesT, bandwidth_gbit_per_s: float) -> BytesT:
    """Time to push one sample's ``cut_bytes`` through a ``bandwidth_gbit_per_s`` NIC, in us."""
    return cut_bytes / gbit_per_s_to_bytes_per_s(bandwidth_gbit_per_s) * US_PER_S


@dataclass(frozen=True)
class ChunkTable:
    """Latency (us) of each chunk per GPU type, MPS level and batch, and bytes per cut.

    ``latency_us[(gpu, m)]`` has shape ``(C, B_m)``: row ``c`` = chunk ``c``, column ``k`` =
    batch ``k + 1``. ``cut_bytes[c]`` = bytes per sample crossing the cut after chunk ``c``.
    """

    model: str
    latency_us: Mapping[tuple[str, int], np.ndarray]
    cut_bytes: Sequence[int]

    @property
    def chunks(self) -> int:
        return len(self.cut_bytes) + 1

    def gpus(self) -> list[str]:
        return sorted({gpu for gpu, _ in self.latency_us})

    def mps_levels(self, gpu: str) -> list[int]:
        return sorted(m for g, m in self.latency_us if g == gpu)

    def max_batch(self, gpu: str, mps: int) -> int:
        return int(self.latency_us[(gpu, mps)].shape[1])

    def has(self, gpu: str, mps: int, batch: int) -> bool:
        return (gpu, mps) in self.latency_us and 1 <= batch <= self.max_batch(gpu, mps)

    def stage_latencies_us(self, gpu: str, mps: int) -> np.ndarray:
        """Latency of one batch through chunks ``[start, end)``, us, for every batch, start
        and end: entry ``[batch - 1, start, end - 1]`` (0 where ``end <= start``), each chunk
        clipped to >= 1 us. Each entry is the running sum from ``start`` (the zeros before
        it add nothing), so it equals summing the stage's chunks in order."""
        chunk_us = np.maximum(self.latency_us[(gpu, mps)], MIN_CHUNK_LATENCY_US)  # [chunk, b]
        index = np.arange(self.chunks)
        # [start, chunk, batch]: the chunk's latency when the stage starting at ``start``
        # holds it, else 0
        held = np.where((index[None, :] >= index[:, None])[:, :, None], chunk_us[None], 0.0)
        return np.cumsum(held, axis=1).transpose(2, 0, 1)

    def stage_latency_us(self, gpu: str, mps: int, batch: int, start: int, end: int) -> float:
        """Latency of one batch through chunks ``[start, end)``, each clipped to >= 1 us."""
        return float(self.stage_latencies_us(gpu, mps)[batch - 1, start, end - 1])

    def cut_transfer_us(self, cut: int, bandwidth_gbit_per_s: float) -> float:
        """Transfer time per sample of the cut at chunk boundary ``cut`` (0 < cut < C), us."""
        return transfer_time_us(self.cut_bytes[cut - 1], bandwidth_gbit_per_s)

    def nic_transfers_us(self, bandwidth_gbit_per_s: float) -> np.ndarray:
        """Transfer time per sample at every chunk boundary ``0 .. C``, us: the cut's, but
        1 us at the model's input and output (nothing crosses the NIC there)."""
        cuts = transfer_time_us(np.asarray(self.cut_bytes, dtype=float), bandwidth_gbit_per_s)
        return np.concatenate(([NO_CUT_TRANSFER_US], cuts, [NO_CUT_TRANSFER_US]))

    def instance_throughputs_qps(
        self, gpu: str, mps: int, bandwidth_gbit_per_s: float, gpus_per_server: int
    ) -> np.ndarray:
        """Requests/s of one instance (MPS slice) of stage ``[start, end)`` at every batch,
        start and end, compute- or NIC-bound: entry ``[batch - 1, start, end - 1]``
        (meaningless where ``end <= start``)."""
        latency = self.stage_latencies_us(gpu, mps)
        batches = np.arange(1, latency.shape[0] + 1, dtype=float)
        with np.errstate(divide="ignore"):  # the empty stages (end <= start) only
            compute = (US_PER_S * batches)[:, None, None] / latency
        nic = US_PER_S / (self.nic_transfers_us(bandwidth_gbit_per_s) * (mps * gpus_per_server))
        return np.minimum(np.minimum(compute, nic[None, None, 1:]), nic[None, :-1, None])

    def instance_throughput_qps(
        self,
        gpu: str,
        mps: int,
        batch: int,
        start: int,
        end: int,
        bandwidth_gbit_per_s: float,
        gpus_per_server: int,
    ) -> float:
        """Requests/s of one instance (MPS slice) of stage ``[start, end)``: compute or NIC."""
        rates = self.instance_throughputs_qps(gpu, mps, bandwidth_gbit_per_s, gpus_per_server)
        return float(rates[batch - 1, start, end - 1])


def _read_text(path: Path) -> str:
    """The UTF-8 text of a regular data file of at most MAX_TABLE_FILE_BYTES (FIFOs, devices
    and folders are refused before opening: reading them could block or never end)."""
    if not path.is_file():
        raise DataError(path, "file", "a regular file (not a folder, FIFO or device)")
    size = path.stat().st_size
    if size > MAX_TABLE_FILE_BYTES:
        raise DataError(path, "file", f"at most {MAX_TABLE_FILE_BYTES:,} bytes (has {size:,})")
    try:
        return path.read_text(encoding="utf-8")
    except UnicodeDecodeError as error:
        raise DataError(path, f"byte {error.start}", "UTF-8 text") from None
    except OSError as error:
        raise DataError(path, "file", f"a readable file ({error.strerror})") from None


def _read_csv_rows(path: Path) -> list[list[float]]:
    rows: list[list[float]] = []
    for number, line in enumerate(_read_text(path).splitlines(), start=1):
        if not line.strip():
            continue
        try:
            values = [float(cell) for cell in line.split(",")]
        except ValueError:
            raise DataError(path, f"line {number}", "comma-separated numbers") from None
        if not all(math.isfinite(v) and v >= 0 for v in values):
            raise DataError(path, f"line {number}", "finite non-negative numbers")
        rows.append(values)
    if not rows:
        raise DataError(path, "line 1", "at least one row")
    return rows


def load_published_table(
    folder: Path, model: str, gpus: Sequence[str], mps_levels: Mapping[str, int]
) -> ChunkTable:
    """Read PPipe's published layout: ``block_latency_us/<model>-<GPU>-<m>.csv`` and
    ``cut_bytes/<model>.csv`` under ``folder``, for levels ``1..mps_levels[gpu]``."""
    cut_path = folder / "cut_bytes" / f"{model}.csv"
    if not cut_path.exists():
        raise DataError(cut_path, "file", f"the cut sizes of model {model!r}")
    cut_rows = _read_csv_rows(cut_path)
    if any(len(row) != 1 or row[0] != int(row[0]) for row in cut_rows):
        raise DataError(cut_path, "lines", "one integer byte count per line")
    cut_bytes = [int(row[0]) for row in cut_rows]
    latency: dict[tuple[str, int], np.ndarray] = {}
    for gpu in gpus:
        for mps in range(1, mps_levels[gpu] + 1):
            path = folder / "block_latency_us" / f"{model}-{gpu}-{mps}.csv"
            if not path.exists():
                raise DataError(path, "file", f"the {gpu} profile of {model!r} at MPS level {mps}")
            rows = _read_csv_rows(path)
            if len({len(row) for row in rows}) != 1:
                raise DataError(path, "columns", "the same number of batch sizes on every row")
            if len(rows) != len(cut_bytes) + 1:
                raise DataError(path, "rows", f"{len(cut_bytes) + 1} chunks (one more than cuts)")
            latency[(gpu, mps)] = np.array(rows, dtype=float)
    return ChunkTable(model, latency, cut_bytes)
