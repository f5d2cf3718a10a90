"""Arrival streams as sorted numpy chunks, drawn lazily so memory stays flat.

Each :class:`Chunk` holds up to :data:`CHUNK` requests: arrival times (s), class, size (the
kind's work unit; 1 when unused) and route index (into the simulation's routes). Sources:

* :func:`poisson`: a Poisson stream of ``rate_qps``, classes and routes drawn i.i.d.;
* :func:`stepped`: a Poisson stream whose rate changes every ``step_s`` (a trace of per-step
  rates, as Proteus's traces give per-second counts);
* :func:`given`: arrival times from a trace file, in chunks.

Every source draws from the numpy Generator it is given, in one fixed order, so a seed
reproduces the stream exactly.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

CHUNK = 16384  # requests drawn at a time

Sizes = Callable[[NDArray[np.int64], np.random.Generator], NDArray[np.int64]]


@dataclass(frozen=True)
class Chunk:
    time_s: NDArray[np.float64]
    klass: NDArray[np.int64]
    size: NDArray[np.int64]
    route: NDArray[np.int64]


@dataclass(frozen=True)
class Mix:
    """What each request is: class shares, route shares per class, and its size."""

    class_shares: Sequence[float] = (1.0,)
    route_shares: Sequence[Sequence[float]] | None = None  # per class, over the routes
    sizes: Sizes | None = None  # (classes, rng) -> sizes; None: every size is 1

    def label(
        self, n: int, rng: np.random.Generator
    ) -> tuple[NDArray[np.int64], NDArray[np.int64], NDArray[np.int64]]:
        """Class, size and route index of ``n`` requests."""
        shares = np.asarray(self.class_shares, dtype=float)
        if len(shares) == 1:
            klass = np.zeros(n, dtype=np.int64)
        else:
            klass = rng.choice(len(shares), size=n, p=shares / shares.sum())
        route = np.zeros(n, dtype=np.int64)
        if self.route_shares is not None:
            for k, row in enumerate(self.route_shares):
                mine = np.flatnonzero(klass == k)
                p = np.asarray(row, dtype=float)
                route[mine] = rng.choice(len(p), size=len(mine), p=p / p.sum())
        size = np.ones(n, dtype=np.int64) if self.sizes is None else self.sizes(klass, rng)
        return klass, size, route


def poisson(
    rate_qps: float,
    requests: int,
    rng: np.random.Generator,
    mix: Mix | None = None,
    chunk: int = CHUNK,
) -> Iterator[Chunk]:
    """``requests`` Poisson arrivals at ``rate_qps`` (from time 0)."""
    if rate_qps <= 0:
        raise ValueError(f"rate_qps must be > 0, got {rate_qps}")
    mix = mix or Mix()
    start_s, left = 0.0, requests
    while left > 0:
        n = min(chunk, left)
        times = start_s + np.cumsum(rng.exponential(1.0 / rate_qps, n))
        start_s, left = float(times[-1]), left - n
        yield Chunk(times, *mix.label(n, rng))


def stepped(
    rates_qps: Sequence[float],
    step_s: float,
    rng: np.random.Generator,
    mix: Mix | None = None,
    chunk: int = CHUNK,
) -> Iterator[Chunk]:
    """Poisson arrivals at ``rates_qps[i]`` during step ``i`` of ``step_s`` seconds: a
    count per step (Poisson) placed uniformly within it."""
    mix = mix or Mix()
    times: list[NDArray[np.float64]] = []
    held = 0
    for i, rate in enumerate(rates_qps):
        n = int(rng.poisson(max(rate, 0.0) * step_s))
        times.append(np.sort((i + rng.random(n)) * step_s))
        held += n
        if held >= chunk:
            yield from given(np.concatenate(times), rng, mix, chunk)
            times, held = [], 0
    if held:
        yield from given(np.concatenate(times), rng, mix, chunk)


def given(
    times_s: NDArray[np.float64],
    rng: np.random.Generator,
    mix: Mix | None = None,
    chunk: int = CHUNK,
) -> Iterator[Chunk]:
    """The arrivals at ``times_s`` (sorted), labelled by ``mix``."""
    mix = mix or Mix()
    if len(times_s) > 1 and np.any(np.diff(times_s) < 0):
        raise ValueError("arrival times must be sorted")
    for lo in range(0, len(times_s), chunk):
        part = np.asarray(times_s[lo : lo + chunk], dtype=float)
        yield Chunk(part, *mix.label(len(part), rng))
