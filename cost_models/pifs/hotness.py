"""Hotness buckets: how an embedding table's lookups concentrate on a few rows.

A table's rows are split into buckets, each with a share of the rows and a share of the
lookups (both sum to 1 over the buckets). Two sources:

* a Zipf exponent ``s``: rows ranked 1..n are looked up with probability proportional to
  ``rank**-s``; bucket k holds the ranks in ``(n * 2**-(K-k), n * 2**-(K-k-1)]`` for
  k = 1..K-1 and bucket 0 the hottest ``n * 2**-(K-1)`` rows, so each bucket doubles in rows
  and the hottest bucket is smallest. The lookup share of ranks (a, b] is
  ``(H(b) - H(a)) / H(n)`` with the generalised harmonic number H computed exactly for
  the first 10,000 ranks and by the midpoint (Euler-Maclaurin) integral beyond (relative
  error below 1e-9 for the exponents we use);
* a measured reuse histogram such as Meta's ``locality_stats.txt`` (facebookresearch/
  dlrm_datasets, MIT licence): per lookup-count bin, the share of unique rows and the
  share of lookups. The file prints shares to three decimals, so the hottest bins show a
  row share of 0.000; for those we estimate the row share from the bin's lower edge,
  ``lookup_share * avg_col_size / lower_edge`` (an upper bound on the rows that can carry
  that many lookups; labelled estimate), and renormalise the row shares to sum to 1.
  Applying the trace-wide histogram to every table is an assumption: the file publishes
  one histogram for all 788 tables.
"""

from __future__ import annotations

import functools
import itertools
import math
import re
from dataclasses import dataclass
from pathlib import Path

from cost_models.errors import DataError

_EXACT_RANKS = 10_000


@dataclass(frozen=True)
class Bucket:
    """One hotness bucket of a table: share of its rows and share of its lookups."""

    label: str
    row_share: float
    lookup_share: float


@functools.lru_cache(maxsize=16)
def _head_sums(s: float) -> tuple[float, ...]:
    """sum_{k=1}^{m} k**-s for every m = 0 .. _EXACT_RANKS (index m), computed once per
    exponent (a scenario's tables all share it; 3,424 tables took minutes when each bucket
    edge summed its head again). Each is the correctly rounded exact sum, as math.fsum of
    the first m terms gives it: Shewchuk's exact partials are carried from m to m + 1."""
    partials: list[float] = []
    sums = [0.0]
    for k in range(1, _EXACT_RANKS + 1):
        x = k**-s
        kept = 0
        for y in partials:
            if abs(x) < abs(y):
                x, y = y, x
            high = x + y
            low = y - (high - x)
            if low:
                partials[kept] = low
                kept += 1
            x = high
        partials[kept:] = [x]
        sums.append(math.fsum(partials))
    return tuple(sums)


def _harmonic(m: float, s: float) -> float:
    """Generalised harmonic number sum_{k=1}^{m} k**-s (m may be large)."""
    m_int = int(m)
    head = min(m_int, _EXACT_RANKS)
    total = _head_sums(s)[head]
    if m_int > head:
        lo, hi = head + 0.5, m_int + 0.5
        total += math.log(hi / lo) if s == 1.0 else (hi ** (1 - s) - lo ** (1 - s)) / (1 - s)
    return total


def zipf_buckets(rows: int, exponent: float, n_buckets: int) -> tuple[Bucket, ...]:
    """Buckets of a ``rows``-row table whose lookups follow Zipf(``exponent``)."""
    if rows < 1 or n_buckets < 1 or exponent < 0:
        raise DataError(None, "hotness", "rows >= 1, buckets >= 1 and a Zipf exponent >= 0")
    edges = [0]
    for k in range(n_buckets - 1, 0, -1):
        edges.append(max(edges[-1], round(rows * 2.0**-k)))
    edges.append(rows)
    total = _harmonic(rows, exponent)
    buckets = []
    for k, (a, b) in enumerate(itertools.pairwise(edges)):
        if b > a:
            share = (_harmonic(b, exponent) - _harmonic(a, exponent)) / total
            buckets.append(Bucket(f"z{k}", (b - a) / rows, share))
    return tuple(buckets)


@dataclass(frozen=True)
class LocalityStats:
    """A parsed reuse histogram: buckets and the trace's headline numbers."""

    buckets: tuple[Bucket, ...]
    avg_indices: float  # lookups in the traced batch (all tables)
    avg_unique_rows: float
    avg_col_size: float  # lookups per unique row


_HEADER = {
    "avg_indices": re.compile(r"^Avg # of indices:\s*([0-9.eE+]+)"),
    "avg_unique_rows": re.compile(r"^Avg # of unique cols:\s*([0-9.eE+]+)"),
    "avg_col_size": re.compile(r"^Avg col size:\s*([0-9.eE+]+)"),
}
_BIN = re.compile(r"^\((\d+)(?:,\s*(\d+)\]|\+):\s*([0-9.]+)\s*$")


def read_locality_stats(path: str | Path) -> LocalityStats:
    """Parse a ``locality_stats.txt`` stanza into hotness buckets (hottest first)."""
    file = Path(path)
    try:
        lines = file.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as exc:
        raise DataError(file, "(file)", f"a readable text file ({exc})") from None
    header: dict[str, float] = {}
    sections: list[list[tuple[str, int, float]]] = []
    for number, raw in enumerate(lines, start=1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        for key, pattern in _HEADER.items():
            if match := pattern.match(line):
                header[key] = float(match.group(1))
        if line.startswith(("Histogram", "Ratio")):
            sections.append([])
        elif match := _BIN.match(line):
            if not sections:
                raise DataError(file, f"line {number}", "a section title before the bins")
            lo, hi, share = match.groups()
            label = f"({lo},{hi}]" if hi else f"({lo}+"
            sections[-1].append((label, int(lo), float(share)))
    missing = [k for k in _HEADER if k not in header]
    if missing:
        raise DataError(file, missing[0], "a header line with this statistic")
    if len(sections) != 2 or len(sections[0]) != len(sections[1]) or not sections[0]:
        raise DataError(file, "(bins)", "two histograms (rows, then lookups) with the same bins")
    rows, lookups = sections
    if [r[0] for r in rows] != [x[0] for x in lookups]:
        raise DataError(file, "(bins)", "the same bin labels in both histograms")
    for name, section in (("row", rows), ("lookup", lookups)):
        total = sum(s for _, _, s in section)
        if not 0.95 <= total <= 1.05:
            raise DataError(file, f"{name} shares", f"shares summing to 1 (sum {total:.3f})")
    col = header["avg_col_size"]
    est = [
        r if r > 0 else (x * col / max(lo, 1))
        for (_, lo, r), (_, _, x) in zip(rows, lookups, strict=True)
    ]
    row_total = sum(est)
    lookup_total = sum(x for _, _, x in lookups)
    buckets = tuple(
        Bucket(label, r / row_total, x / lookup_total)
        for r, (label, _, x) in zip(est, lookups, strict=True)
        if r > 0 or x > 0
    )
    hottest_first = tuple(reversed(buckets))
    return LocalityStats(hottest_first, header["avg_indices"], header["avg_unique_rows"], col)
