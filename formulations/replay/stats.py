"""Streamed statistics of a replay: counts per class, log-bucket latency histograms, busy time.

Memory is flat in the number of requests: a class keeps five counters, two sums and one
fixed histogram; latencies are buffered :data:`FLUSH_EVERY` at a time and added to the
histogram with one vectorised ``bincount``.

The percentile sketch is a fixed log-spaced histogram (:data:`EDGES_S`, 200 bins per decade,
so a bin is 1.16% wide) from 0.1 us to 1e5 s; a quantile is the geometric midpoint of the bin
that holds it, so it is within 0.58% of the exact sample quantile (the tests check it
against :func:`numpy.percentile`). Two histograms merge by adding their counts, which makes
runs and pools combine exactly (a t-digest merges only approximately).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np
from numpy.typing import NDArray

if TYPE_CHECKING:
    from formulations.replay.core import Request

BINS_PER_DECADE = 200  # 10 ** (1 / 200) = 1.0116: a bin is 1.16% wide
LOW_S, HIGH_S = 1e-7, 1e5  # latencies outside [0.1 us, 1e5 s] land in the end bins
EDGES_S = np.logspace(-7, 5, 12 * BINS_PER_DECADE + 1)
FLUSH_EVERY = 8192  # latencies buffered before they are added to the histograms


@dataclass
class LogHistogram:
    """Counts of values in the bins of :data:`EDGES_S` (plus one bin below, one above)."""

    counts: NDArray[np.float64] = field(default_factory=lambda: np.zeros(len(EDGES_S) + 1))

    def add(self, values_s: NDArray[np.float64], weight: float = 1.0) -> None:
        bins = np.searchsorted(EDGES_S, values_s)
        self.counts += weight * np.bincount(bins, minlength=len(self.counts))

    def merge(self, other: LogHistogram, weight: float = 1.0) -> None:
        """Add ``other``'s values, each counting ``weight`` (e.g. pools of different load)."""
        self.counts += weight * other.counts

    @property
    def total(self) -> float:
        return float(self.counts.sum())

    def quantile_s(self, quantile: float) -> float:
        """The ``quantile`` (0..1) of the values: the geometric midpoint of its bin (nan when
        empty; the edge of the end bins for values outside the histogram)."""
        total = self.total
        if total == 0:
            return float("nan")
        index = int(np.searchsorted(np.cumsum(self.counts), quantile * total))
        index = min(index, len(self.counts) - 1)
        if index == 0:
            return LOW_S
        if index == len(EDGES_S):
            return HIGH_S
        return float(np.sqrt(EDGES_S[index - 1] * EDGES_S[index]))

    def share_at_most(self, limit_s: float) -> float:
        """Share of the values at most ``limit_s`` (to the bin; exact counts are kept by
        :class:`Recorder` for the deadline)."""
        total = self.total
        if total == 0:
            return float("nan")
        return float(self.counts[: int(np.searchsorted(EDGES_S, limit_s)) + 1].sum() / total)


@dataclass
class ClassCounts:
    """What happened to the requests of one class (family, bucket, priority class)."""

    requests: int = 0  # arrived (after the warm-up)
    served: int = 0  # completed, on time or late
    late: int = 0  # completed after their deadline
    dropped: int = 0  # shed by a policy, never completed
    latency_sum_s: float = 0.0  # over served requests: completion - arrival
    wait_sum_s: float = 0.0  # over served requests: first dispatch - arrival
    histogram: LogHistogram = field(default_factory=LogHistogram)

    @property
    def on_time(self) -> int:
        return self.served - self.late

    def merge(self, other: ClassCounts) -> None:
        self.requests += other.requests
        self.served += other.served
        self.late += other.late
        self.dropped += other.dropped
        self.latency_sum_s += other.latency_sum_s
        self.wait_sum_s += other.wait_sum_s
        self.histogram.merge(other.histogram)


class Recorder:
    """Streams every request's outcome into :class:`ClassCounts` per class.

    Requests whose id is below ``warmup_requests`` (the empty-system start) are left out of
    every count; their service still loads the devices.
    """

    def __init__(self, classes: int, warmup_requests: int = 0) -> None:
        self.classes = [ClassCounts() for _ in range(classes)]
        self.warmup_requests = warmup_requests
        self._class_buffer: list[int] = []
        self._latency_buffer: list[float] = []

    def arrived(self, request: Request) -> None:
        if request.rid >= self.warmup_requests:
            self.classes[request.klass].requests += 1

    def served(self, request: Request, now: float) -> None:
        if request.rid < self.warmup_requests:
            return
        counts = self.classes[request.klass]
        counts.served += 1
        latency_s = now - request.arrival_s
        counts.latency_sum_s += latency_s
        counts.wait_sum_s += request.started_s - request.arrival_s
        if now > request.deadline_s:
            counts.late += 1
        self._class_buffer.append(request.klass)
        self._latency_buffer.append(latency_s)
        if len(self._latency_buffer) >= FLUSH_EVERY:
            self.flush()

    def dropped(self, request: Request) -> None:
        if request.rid >= self.warmup_requests:
            self.classes[request.klass].dropped += 1

    def flush(self) -> None:
        """Add the buffered latencies to the histograms (call once at the end of a run)."""
        if not self._latency_buffer:
            return
        klass = np.asarray(self._class_buffer)
        latency_s = np.asarray(self._latency_buffer)
        for k in np.unique(klass):
            self.classes[int(k)].histogram.add(latency_s[klass == k])
        self._class_buffer.clear()
        self._latency_buffer.clear()


class TokenRecorder:
    """Time to first token and time per output token of streamed requests (LLM serving),
    streamed like :class:`Recorder`: sums, counts within each SLO and a log histogram each.
    TPOT is (finish - first token) / (output tokens - 1), over requests of >= 2 tokens."""

    def __init__(self, ttft_slo_s: float, tpot_slo_s: float, warmup_requests: int = 0) -> None:
        self.ttft_slo_s, self.tpot_slo_s = ttft_slo_s, tpot_slo_s
        self.warmup_requests = warmup_requests
        self.requests = 0  # finished, after the warm-up
        self.streamed = 0  # of which with >= 2 output tokens (a TPOT)
        self.ttft_sum_s = self.tpot_sum_s = 0.0
        self.ttft_met = self.tpot_met = 0
        self.ttft = LogHistogram()
        self.tpot = LogHistogram()
        self._ttft_buffer: list[float] = []
        self._tpot_buffer: list[float] = []

    def finished(self, request: Request, ttft_s: float, tpot_s: float | None) -> None:
        if request.rid < self.warmup_requests:
            return
        self.requests += 1
        self.ttft_sum_s += ttft_s
        self.ttft_met += ttft_s <= self.ttft_slo_s
        self._ttft_buffer.append(ttft_s)
        if tpot_s is not None:
            self.streamed += 1
            self.tpot_sum_s += tpot_s
            self.tpot_met += tpot_s <= self.tpot_slo_s
            self._tpot_buffer.append(tpot_s)
        if len(self._ttft_buffer) >= FLUSH_EVERY:
            self.flush()

    def flush(self) -> None:
        if self._ttft_buffer:
            self.ttft.add(np.asarray(self._ttft_buffer))
            self._ttft_buffer.clear()
        if self._tpot_buffer:
            self.tpot.add(np.asarray(self._tpot_buffer))
            self._tpot_buffer.clear()

    def merge(self, other: TokenRecorder) -> None:
        other.flush()
        self.flush()
        self.requests += other.requests
        self.streamed += other.streamed
        self.ttft_sum_s += other.ttft_sum_s
        self.tpot_sum_s += other.tpot_sum_s
        self.ttft_met += other.ttft_met
        self.tpot_met += other.tpot_met
        self.ttft.merge(other.ttft)
        self.tpot.merge(other.tpot)
