"""Ensemble vote accuracy from a correctness model, and the candidate ensembles of a class.

Correctness model: a 0/1 matrix ``C`` (validation samples x models), ``C[n, m] = 1`` when
model ``m`` classifies sample ``n`` correctly. Either user-supplied (CSV: a header naming the
models, then one row of 0/1 per sample) or drawn by :func:`monte_carlo_correctness`: a
Gaussian copula with one shared "difficulty" factor per sample,

    C[n, m] = 1  iff  sqrt(rho) * z_n + sqrt(1 - rho) * e_nm < Phi^-1(top1_m),

``z_n, e_nm ~ N(0, 1)`` i.i.d. (seeded). Each model is then correct with probability
``top1_m`` and the latent correlation between any two models is ``rho`` (``rho = 0``:
independent errors; ``rho = 1``: every model fails on the hardest samples first). ``rho`` is
a calibration assumption, not a measurement: ImageNet classifiers share most of their errors.

Vote rule (weighted majority, pessimistic): only correctness is known, not which wrong class
each model predicts, so we assume the wrong members agree on one wrong label. A sample is
then classified correctly by ensemble ``S`` iff

    sum_{m in S, C[n,m]=1} w_m  >  sum_{m in S, C[n,m]=0} w_m,

and on an exact tie iff the tie-break member (the member of ``S`` with the highest weight,
then the highest accuracy on ``C``, then the first in the zoo's order) is correct. Weights:
``majority`` gives every member weight 1; ``weighted`` gives each member its accuracy on
``C``. Real plurality votes with scattered wrong labels are at least this accurate, so the
vote accuracy below is a lower bound for them.

Candidate ensembles of a class: every subset of the models that meet the class's latency SLO,
up to ``max_size`` members, whose vote accuracy meets the class's target, keeping only the
*minimal* ones (no proper subset meets the target). Pruning a non-minimal subset is exact for
the planner: its members' loads and capacities are a superset of the minimal subset's, so
switching to the subset keeps every constraint satisfied at no extra cost.
"""

from __future__ import annotations

import csv
import itertools
from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from statistics import NormalDist

import numpy as np

from cost_models.errors import DataError

_SUBSET_CHUNK = 512  # subsets evaluated per matrix product (bounds memory, not results)
MAX_SAMPLES = 1_000_000  # validation samples of a correctness model (ImageNet val: 50,000)


class VoteRule(StrEnum):
    MAJORITY = "majority"
    WEIGHTED = "weighted"


def monte_carlo_correctness(
    top1: Sequence[float], n_samples: int, correlation: float, seed: int
) -> np.ndarray:
    """Seeded Gaussian-copula correctness matrix (``n_samples`` x models, bool)."""
    if not 0.0 <= correlation <= 1.0:
        raise DataError(None, "correctness.correlation", "a number in [0, 1]")
    if any(not 0.0 < p < 1.0 for p in top1):
        raise DataError(None, "top1", "accuracies strictly between 0 and 1")
    rng = np.random.default_rng(seed)
    shared = rng.standard_normal((n_samples, 1))
    own = rng.standard_normal((n_samples, len(top1)))
    latent = np.sqrt(correlation) * shared + np.sqrt(1.0 - correlation) * own
    thresholds = np.array([NormalDist().inv_cdf(p) for p in top1])
    return latent < thresholds


def read_correctness_csv(path: Path, models: Sequence[str]) -> np.ndarray:
    """Read a user-supplied correctness matrix (UTF-8 CSV, streamed; at most
    :data:`MAX_SAMPLES` sample rows); columns are returned in ``models`` order."""
    rows: list[list[bool]] = []
    line = 0  # the last line read
    try:
        with open(path, newline="", encoding="utf-8") as handle:
            reader = csv.reader(handle)
            header = [h.strip() for h in next(reader, [])]
            if not any(header):
                raise DataError(path, "header", "a header row naming the models")
            missing = [m for m in models if m not in header]
            if missing:
                raise DataError(
                    path, "header", f"a column for every model (missing {', '.join(missing)})"
                )
            order = [header.index(m) for m in models]
            line = 1
            for line, row in enumerate(reader, start=2):
                cells = [c.strip() for c in row]
                if len(cells) != len(header) or any(c not in ("0", "1") for c in cells):
                    raise DataError(
                        path, f"line {line}", f"{len(header)} comma-separated 0/1 values"
                    )
                if len(rows) == MAX_SAMPLES:
                    raise DataError(path, f"line {line}", f"at most {MAX_SAMPLES:,} sample rows")
                rows.append([cells[j] == "1" for j in order])
    except UnicodeDecodeError:
        raise DataError(path, f"line {line + 1}", "UTF-8 text") from None
    except csv.Error as exc:
        raise DataError(path, f"line {line + 1}", f"comma-separated text ({exc})") from None
    if not rows:
        raise DataError(path, "line 2", "at least one sample row of 0/1 values")
    return np.array(rows, dtype=bool)


@dataclass(frozen=True)
class CorrectnessModel:
    """Correctness patterns with their counts (identical rows merged: same accuracies)."""

    patterns: np.ndarray  # distinct rows of C, bool (P x models)
    counts: np.ndarray  # samples per pattern
    weights: np.ndarray  # vote weight per model
    rank: np.ndarray  # tie-break priority per model (0 = first)

    @classmethod
    def from_matrix(cls, matrix: np.ndarray, rule: VoteRule) -> CorrectnessModel:
        if matrix.ndim != 2 or matrix.shape[0] == 0:
            raise DataError(None, "correctness", "a non-empty samples x models 0/1 matrix")
        patterns, counts = np.unique(matrix.astype(bool), axis=0, return_counts=True)
        accuracy = matrix.mean(axis=0)
        weights = np.ones(matrix.shape[1]) if rule is VoteRule.MAJORITY else accuracy
        order = sorted(range(matrix.shape[1]), key=lambda m: (-weights[m], -accuracy[m], m))
        rank = np.empty(matrix.shape[1], dtype=int)
        rank[order] = np.arange(matrix.shape[1])
        return cls(patterns, counts, weights, rank)

    @property
    def n_samples(self) -> int:
        return int(self.counts.sum())

    def tie_breaker(self, members: Sequence[int]) -> int:
        return min(members, key=lambda m: self.rank[m])

    def _vote_ok(self, chunk: Sequence[Sequence[int]]) -> np.ndarray:
        """Whether each subset's vote is right on each pattern (patterns x subsets, bool)."""
        correct_w = self.patterns * self.weights  # weight of each model where it is right
        mask = np.zeros((self.patterns.shape[1], len(chunk)))
        for j, members in enumerate(chunk):
            mask[list(members), j] = 1.0
        right = correct_w @ mask
        total = self.weights @ mask
        margin = 2.0 * right - total  # right - wrong
        tie_ok = self.patterns[:, [self.tie_breaker(s) for s in chunk]]
        tol = 1e-9 * np.maximum(total, 1.0)
        return np.asarray((margin > tol) | ((np.abs(margin) <= tol) & tie_ok))

    def accuracies(self, subsets: Sequence[Sequence[int]]) -> np.ndarray:
        """Vote accuracy (fraction of samples) of each subset (model indices)."""
        out = np.empty(len(subsets))
        for start in range(0, len(subsets), _SUBSET_CHUNK):
            chunk = subsets[start : start + _SUBSET_CHUNK]
            out[start : start + len(chunk)] = (self.counts @ self._vote_ok(chunk)) / self.n_samples
        return out

    def accuracy(self, members: Sequence[int]) -> float:
        return float(self.accuracies([tuple(members)])[0])

    def importance(self, members: Sequence[int]) -> np.ndarray:
        """Share of samples on which each member's answer agrees with the ensemble's vote
        (right when the vote is right, wrong when it is wrong), in ``members`` order:
        Cocktail's per-model importance, counted on the correctness model."""
        vote = self._vote_ok([tuple(members)])[:, 0]
        agree = self.patterns[:, list(members)] == vote[:, None]
        return np.asarray((self.counts @ agree) / self.n_samples, dtype=float)


def enumerate_subsets(eligible: Sequence[int], max_size: int) -> list[tuple[int, ...]]:
    """Every non-empty subset of ``eligible`` with at most ``max_size`` members."""
    return [s for k in range(1, max_size + 1) for s in itertools.combinations(eligible, k)]


def minimal_feasible(
    subsets: Sequence[tuple[int, ...]], accuracies: np.ndarray, target: float
) -> list[tuple[int, ...]]:
    """Subsets meeting ``target`` none of whose proper subsets (in ``subsets``) meets it."""
    feasible = {frozenset(s) for s, a in zip(subsets, accuracies, strict=True) if a >= target}
    keep = []
    for s, a in zip(subsets, accuracies, strict=True):
        if a < target:
            continue
        proper = (frozenset(c) for k in range(1, len(s)) for c in itertools.combinations(s, k))
        if not any(c in feasible for c in proper):
            keep.append(s)
    return keep
