"""The BATCH buffer: batch-size and request-wait distributions from its transient CTMC.

The buffer opens a batch at the first request (timer starts), and releases it when B
requests wait or T seconds after the first, whichever is first (BATCH, SC '20, Sec. III;
its public code builds the same chain in ``solver.py: generateQ`` and reads the batch
size off ``pInit @ expm(Q T)`` in ``batchProbState``). Lambda runs every released batch at
once (no queueing behind the buffer), so the buffer alone sets the wait.

CTMC: state (level l, phase j), l = 0 .. B-1 means l + 1 requests wait; ``Q`` has d0 on
the diagonal blocks and d1 on the super-diagonal blocks, and level B-1 (full) absorbs
with its phase frozen. Started at level 0 in phase distribution ``alpha``:

* batch size at release: ``P(K = l + 1) = [alpha expm(Q T)]`` summed over level l's phases
  (level B-1 collects every batch that filled before T);
* ``alpha`` is exact here: the phase just after the first request of a batch is the
  stationary point of "phase at release (expm(Q T)) -> next arrival ((-d0)^-1 d1)". BATCH's
  ``initState`` uses a per-phase heuristic instead; for Poisson both are trivial;
* request-level size: a request sits in a batch of size k with probability
  ``k P(K = k) / E[K]``.

Request wait (time from a request's arrival to its batch's release) is computed on a grid
of ``steps`` equal steps of ``dt = T / steps`` (not an approximation of the chain: P =
expm(Q dt) is exact, the grid only places arrival instants):

* the first request waits until release: the absorption time of the chain (if before T)
  or T;
* requests joining during step i: ``pi(t_i) K`` with
  ``K = int_0^dt expm(Q (dt - s)) A expm(Q s) ds`` (A holds the d1 blocks; K is the top-right
  block of ``expm([[Q, A], [0, Q]] dt)``, Van Loan 1978) is exactly their state at the end
  of the step, so their batch sizes are exact and their total mass is E[K] - 1. The B-th
  request of a batch (entering the full level) waits 0; others that see their batch fill
  within the same step wait dt/2; the rest wait dt/2 (the mean of a uniform position in
  the step) plus the time to release from the end of the step;
* every wait is thus exact to within dt/2 in distribution, and the request-weighted mass
  of each (wait, batch size) atom sums to 1.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray
from scipy.linalg import expm  # type: ignore[import-untyped]  # scipy ships no stubs

from cost_models.batch.arrivals import MAP, FloatArray, stationary_of_stochastic
from cost_models.errors import DataError

DEFAULT_STEPS = 120  # time steps over [0, T]: wait error <= T / 240


@dataclass(frozen=True)
class BufferOutcome:
    """What one (arrivals, B, T) buffer produces, independent of Lambda memory."""

    batch_size: int  # B
    timeout_s: float  # T
    batch_size_probs: FloatArray  # P(K = k), k = 1..B, per released batch
    wait_s: FloatArray  # request wait atoms (s)
    atom_size: NDArray[np.int64]  # batch size of each atom's request
    atom_mass: FloatArray  # request-level probability of each atom (sums to 1)

    @property
    def mean_batch_size(self) -> float:
        k = np.arange(1, self.batch_size + 1)
        return float(self.batch_size_probs @ k)

    @property
    def request_size_probs(self) -> FloatArray:
        """P(a request's batch has size k), k = 1..B: k P(K = k) / E[K]."""
        k = np.arange(1, self.batch_size + 1)
        return self.batch_size_probs * k / self.mean_batch_size


def generator(arrivals: MAP, batch_size: int) -> tuple[FloatArray, FloatArray]:
    """(Q, A): the buffer's generator and its arrival part (d1 blocks), size B m."""
    m = arrivals.phases
    n = batch_size * m
    q = np.zeros((n, n))
    a = np.zeros((n, n))
    for level in range(batch_size - 1):
        rows = slice(level * m, (level + 1) * m)
        q[rows, rows] = arrivals.d0
        a[rows, slice((level + 1) * m, (level + 2) * m)] = arrivals.d1
    return q + a, a


def buffer_outcome(
    arrivals: MAP, batch_size: int, timeout_s: float, steps: int = DEFAULT_STEPS
) -> BufferOutcome:
    """Batch-size distribution and request (wait, batch size) atoms of one buffer."""
    if batch_size < 1:
        raise DataError(None, "batch_size", f"an integer >= 1, got {batch_size}")
    if not timeout_s > 0:
        raise DataError(None, "timeout_s", f"a positive timeout in seconds, got {timeout_s}")
    if steps < 1:
        raise DataError(None, "steps", f"an integer >= 1, got {steps}")
    m = arrivals.phases
    n_states = batch_size * m
    q, arr = generator(arrivals, batch_size)
    dt = timeout_s / steps
    block = np.zeros((2 * n_states, 2 * n_states))
    block[:n_states, :n_states] = q
    block[n_states:, n_states:] = q
    block[:n_states, n_states:] = arr
    big = expm(block * dt)
    step, joined = big[:n_states, :n_states], big[:n_states, n_states:]
    block[n_states:, n_states:] = 0.0
    block[:n_states, n_states:] = np.eye(n_states)
    occupancy = expm(block * dt)[:n_states, n_states:]  # J = int_0^dt expm(Q s) ds

    level_of = np.repeat(np.arange(batch_size), m)
    levels = np.zeros((n_states, batch_size))  # state -> its level (column)
    levels[np.arange(n_states), level_of] = 1.0
    # to_level[r] = P^r L: from each state, level after r steps (column B-1 = absorbed).
    to_level = np.empty((steps + 1, n_states, batch_size))
    to_level[0] = levels
    for r in range(1, steps + 1):
        to_level[r] = step @ to_level[r - 1]
    # from_start[i] = rows of P^i for the m level-0 states.
    from_start = np.empty((steps + 1, m, n_states))
    from_start[0] = np.eye(m, n_states)
    for i in range(1, steps + 1):
        from_start[i] = from_start[i - 1] @ step

    phase_sum = np.zeros((n_states, m))
    phase_sum[np.arange(n_states), np.tile(np.arange(m), batch_size)] = 1.0
    cycle = from_start[steps] @ phase_sum @ np.linalg.solve(-arrivals.d0, arrivals.d1)
    alpha = stationary_of_stochastic(cycle)
    batch_probs = alpha @ from_start[steps] @ levels

    absorbed = to_level[:, :, batch_size - 1]  # (steps + 1, states): absorbed within d steps
    half = dt / 2.0
    d_idx = np.arange(1, steps + 1)
    start = alpha @ from_start[0]
    first_full = start @ np.diff(absorbed, axis=0).T
    waits = [np.array([0.0]), (d_idx - 0.5) * dt, np.full(batch_size - 1, timeout_s)]
    sizes = [np.array([batch_size]), np.full(steps, batch_size), np.arange(1, batch_size)]
    masses = [
        np.array([start @ absorbed[0]]),
        first_full,
        (start @ to_level[steps])[: batch_size - 1],
    ]
    if batch_size > 1:
        pis = np.einsum("j,ijs->is", alpha, from_start[:steps])
        entry = pis @ joined  # (steps, states): requests joining in step i, at t_{i+1}
        remaining = steps - 1 - np.arange(steps)
        before_full = slice((batch_size - 2) * m, (batch_size - 1) * m)
        b_th = float((pis @ occupancy)[:, before_full].sum(axis=0) @ arrivals.d1.sum(axis=1))
        cum = entry @ absorbed.T  # (steps, steps + 1): absorbed within d' steps of t_{i+1}
        full_mass = np.diff(cum, axis=1) * (d_idx[None, :] <= remaining[:, None])
        timer = np.einsum("is,isk->ik", entry, to_level[remaining][:, :, : batch_size - 1])
        waits += [
            np.array([0.0, half]),
            np.broadcast_to(d_idx * dt, full_mass.shape).ravel(),
            np.repeat(half + remaining * dt, batch_size - 1),
        ]
        sizes += [
            np.array([batch_size, batch_size]),
            np.full(full_mass.size, batch_size),
            np.tile(np.arange(1, batch_size), steps),
        ]
        in_step = float(cum[:, 0].sum())
        masses += [np.array([b_th, in_step - b_th]), full_mass.ravel(), timer.ravel()]
    mass = np.concatenate(masses)
    mean_k = float(batch_probs @ np.arange(1, batch_size + 1))
    keep = mass > 0
    return BufferOutcome(
        batch_size=batch_size,
        timeout_s=timeout_s,
        batch_size_probs=batch_probs,
        wait_s=np.concatenate(waits)[keep],
        atom_size=np.concatenate(sizes).astype(np.int64)[keep],
        atom_mass=mass[keep] / mean_k,
    )
