"""Arrival streams as sorted numpy chunks, drawn lazily so memory stays flat.

Each :class:`Chunk` holds up to :data:`CHUNK` requests: arrival times (s), class, size (the
kind's work unit; 1 when unused) and route index (into the simulation's routes). Sources:

* :func:`poisson`: a Poisson stream of ``rate_qps``, classes and routes drawn i.i.d.;
* :func:`stepped`: a Poisson stream whose rate changes every ``step_s`` (a trace of per-step
  rates, as Proteus's traces give per-second counts);
* :func:`stepped_classes`: the same with a rate per step and class (a trace file's
  per-second counts, rescaled: :mod:`formulations.replay.trace`);
* :func:`given`: arrival times from a trace file, in chunks.

Every source draws from the numpy Generator it is given, in one fixed order, so a seed
reproduces the stream exactly.
"""

from __future__ import annotations

import math
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
        return (klass, *self.label_classes(klass, rng))

    def label_classes(
        self, klass: NDArray[np.int64], rng: np.random.Generator
    ) -> tuple[NDArray[np.int64], NDArray[np.int64]]:
        """Size and route index of requests whose classes are given (a trace's)."""
        n = len(klass)
        route = np.zeros(n, dtype=np.int64)
        if self.route_shares is not None:
            for k, row in enumerate(self.route_shares):
                mine = np.flatnonzero(klass == k)
                p = np.asarray(row, dtype=float)
                route[mine] = rng.choice(len(p), size=len(mine), p=p / p.sum())
        size = np.ones(n, dtype=np.int64) if self.sizes is None else self.sizes(klass, rng)
        return size, route


def poisson(
    rate_qps: float,
    requests: int,
    rng: np.random.Generator,
    mix: Mix | None = None,
    chunk: int = CHUNK,
    until_s: float = math.inf,
) -> Iterator[Chunk]:
    """``requests`` Poisson arrivals at ``rate_qps`` (from time 0), or those before
    ``until_s`` if fewer (a replay of a given span)."""
    if rate_qps <= 0:
        raise ValueError(f"rate_qps must be > 0, got {rate_qps}")
    mix = mix or Mix()
    start_s, left = 0.0, requests
    while left > 0:
        n = min(chunk, left)
        times = start_s + np.cumsum(rng.exponential(1.0 / rate_qps, n))
        start_s, left = float(times[-1]), left - n
        if start_s >= until_s:
            times = times[times < until_s]
            left = 0
            if not len(times):
                return
        yield Chunk(times, *mix.label(len(times), rng))


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


def stepped_classes(
    rates_qps: NDArray[np.float64],
    step_s: float,
    rng: np.random.Generator,
    mix: Mix | None = None,
    chunk: int = CHUNK,
) -> Iterator[Chunk]:
    """Poisson arrivals at ``rates_qps[i, k]`` of class k during step ``i`` of ``step_s``
    seconds: a count per step and class (Poisson) placed uniformly within the step; the
    mix gives sizes and routes (its class shares are unused)."""
    mix = mix or Mix()
    times: list[NDArray[np.float64]] = []
    classes: list[NDArray[np.int64]] = []
    held = 0
    for i, row in enumerate(np.maximum(np.asarray(rates_qps, dtype=float), 0.0)):
        n = rng.poisson(row * step_s)
        klass = np.repeat(np.arange(len(row), dtype=np.int64), n)
        at = (i + rng.random(len(klass))) * step_s
        order = np.argsort(at, kind="stable")
        times.append(at[order])
        classes.append(klass[order])
        held += len(klass)
        if held >= chunk or i == len(rates_qps) - 1:
            time_s, klass = np.concatenate(times), np.concatenate(classes)
            for lo in range(0, len(time_s), chunk):
                part = klass[lo : lo + chunk]
                yield Chunk(time_s[lo : lo + chunk], part, *mix.label_classes(part, rng))
            times, classes, held = [], [], 0


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
