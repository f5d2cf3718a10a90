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
of equal steps ``dt`` (the timeout a whole number of steps; ``P = expm(Q dt)`` is exact,
the grid only places arrival instants):

* the first request waits until release: the absorption time of the chain (if before T)
  or T;
* requests joining during step i: their expected number per state at the end of the step
  is ``pi(t_i) K`` with ``K = int_0^dt expm(Q (dt - s)) A expm(Q s) ds`` (A holds the d1
  blocks; K is the top-right block of ``expm([[Q, A], [0, Q]] dt)``, Van Loan 1978), so
  their batch sizes are exact and their total mass is E[K] - 1. The B-th request of a
  batch waits 0; others that see their batch fill within the same step wait dt/2; the
  rest wait dt/2 (the mean of a uniform position in the step) plus the time to release
  from the end of the step;
* every wait is thus exact to within dt/2 in distribution, and the request-weighted mass
  of each (wait, batch size) atom sums to 1.

One chain serves every batch size: levels only go up, so the chain for B is the chain for
the largest B with "level >= B - 1" read as "full" (its transient blocks are identical,
and a step from level l fills a batch of B with exactly B - 1 - l joiners). The phase at
the filling arrival, needed for ``alpha``, is ``int pi_{B-2}(t) dt d1`` with the occupancy
integral ``J = int_0^dt expm(Q s) ds`` (top-right block of ``expm([[Q, I], [0, 0]] dt)``).
So ``BufferModel`` takes three matrix exponentials per arrival process and time step, and
every (B, T) after that costs matrix products only.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray
from scipy.linalg import expm

from cost_models.batch.arrivals import MAP, FloatArray, stationary_of_stochastic
from cost_models.errors import DataError

DEFAULT_STEPS = 120  # time steps over [0, T] in buffer_outcome: wait error <= T / 240
STEP_TOL = 1e-9  # relative slack when checking that a timeout is a whole number of steps


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


def generator(arrivals: MAP, levels: int) -> tuple[FloatArray, FloatArray]:
    """(Q, A): the buffer's generator with ``levels`` levels (top one full) and its d1 part."""
    m = arrivals.phases
    n = levels * m
    q = np.zeros((n, n))
    a = np.zeros((n, n))
    for level in range(levels - 1):
        rows = slice(level * m, (level + 1) * m)
        q[rows, rows] = arrivals.d0
        a[rows, slice((level + 1) * m, (level + 2) * m)] = arrivals.d1
    return q + a, a


def _van_loan(
    upper_left: FloatArray, coupling: FloatArray, lower_right: FloatArray, dt: float
) -> tuple[FloatArray, FloatArray]:
    """(expm(UL dt), int_0^dt expm(UL (dt - s)) C expm(LR s) ds)."""
    n = upper_left.shape[0]
    block = np.zeros((2 * n, 2 * n))
    block[:n, :n] = upper_left
    block[:n, n:] = coupling
    block[n:, n:] = lower_right
    big = expm(block * dt)
    return big[:n, :n], big[:n, n:]


class BufferModel:
    """Buffers of every batch size <= ``max_batch_size`` and timeout <= ``max_steps`` steps."""

    def __init__(self, arrivals: MAP, max_batch_size: int, step_s: float, max_steps: int) -> None:
        if max_batch_size < 1:
            raise DataError(None, "batch_size", f"an integer >= 1, got {max_batch_size}")
        if not step_s > 0:
            raise DataError(None, "time_step_s", f"a positive step in seconds, got {step_s}")
        if max_steps < 1:
            raise DataError(None, "steps", f"an integer >= 1, got {max_steps}")
        self.arrivals = arrivals
        self.max_batch_size = max_batch_size
        self.step_s = step_s
        self.max_steps = max_steps
        m = arrivals.phases
        levels = max(max_batch_size, 2)
        n_states = levels * m
        q, arr = generator(arrivals, levels)
        step, self._joined = _van_loan(q, arr, q, step_s)
        _, self._occupancy = _van_loan(q, np.eye(n_states), np.zeros_like(q), step_s)
        self._level_of = np.repeat(np.arange(levels), m)
        level_ind = np.zeros((n_states, levels))
        level_ind[np.arange(n_states), self._level_of] = 1.0
        # to_level[r][s, l]: P(level l after r steps | state s); tail: P(level >= l).
        to_level = np.empty((max_steps + 1, n_states, levels))
        to_level[0] = level_ind
        for r in range(1, max_steps + 1):
            to_level[r] = step @ to_level[r - 1]
        self._to_level = to_level
        self._tail = np.cumsum(to_level[:, :, ::-1], axis=2)[:, :, ::-1]
        # from_start[i]: rows of P^i for the level-0 states (one per start phase).
        from_start = np.empty((max_steps + 1, m, n_states))
        from_start[0] = np.eye(m, n_states)
        for i in range(1, max_steps + 1):
            from_start[i] = from_start[i - 1] @ step
        self._from_start = from_start
        self._start_occupancy = from_start[:max_steps] @ self._occupancy
        self._next_phase = np.linalg.solve(-arrivals.d0, arrivals.d1)

    def steps_of(self, timeout_s: float) -> int:
        steps = round(timeout_s / self.step_s)
        if not (1 <= steps <= self.max_steps) or abs(steps * self.step_s - timeout_s) > (
            STEP_TOL * timeout_s
        ):
            raise DataError(
                None,
                "timeouts_s",
                f"positive multiples of time_step_s = {self.step_s} s up to "
                f"{self.max_steps} steps, got {timeout_s}",
            )
        return steps

    def outcome(self, batch_size: int, timeout_s: float) -> BufferOutcome:
        """Batch-size distribution and request (wait, batch size) atoms of one buffer."""
        if not 1 <= batch_size <= self.max_batch_size:
            raise DataError(None, "batch_size", f"1..{self.max_batch_size}, got {batch_size}")
        if not timeout_s > 0:
            raise DataError(None, "timeout_s", f"a positive timeout in seconds, got {timeout_s}")
        n = self.steps_of(timeout_s)
        if batch_size == 1:
            one = np.ones(1)
            return BufferOutcome(1, timeout_s, one, np.zeros(1), np.ones(1, dtype=np.int64), one)
        m = self.arrivals.phases
        dt = self.step_s
        tr = (batch_size - 1) * m  # transient states: levels 0 .. B-2
        full_level = batch_size - 1
        fs = self._from_start[: n + 1, :, :tr]
        timer_phase = fs[n].reshape(m, batch_size - 1, m).sum(axis=1)
        before_full = slice(tr - m, tr)
        full_phase = self._start_occupancy[:n, :, before_full].sum(axis=0) @ self.arrivals.d1
        alpha = stationary_of_stochastic((timer_phase + full_phase) @ self._next_phase)

        transient_probs = alpha @ fs[n].reshape(m, batch_size - 1, m).sum(axis=2)
        batch_probs = np.append(transient_probs, max(0.0, 1.0 - transient_probs.sum()))

        reach = self._tail[: n + 1, :tr, full_level]  # (n + 1, tr): full within r steps
        d_idx = np.arange(1, n + 1)
        start = np.zeros(tr)
        start[:m] = alpha
        first_full = np.diff(start @ reach.T)
        first_timer = start @ self._to_level[n][:tr, : batch_size - 1]

        pis = np.einsum("j,ijs->is", alpha, fs[:n])  # (n, tr): state at t_i
        entry = pis @ self._joined[:tr, :tr]  # joiners still waiting at t_{i+1}
        fill = reach[1]  # P(batch fills within one step | state)
        joiners_if_full = (batch_size - 1 - self._level_of[:tr]) * fill
        b_th = float(pis.sum(axis=0) @ fill)
        in_step = float(pis.sum(axis=0) @ joiners_if_full)
        remaining = n - 1 - np.arange(n)
        cum = entry @ reach.T  # (n, n + 1): batch full within d' steps of t_{i+1}
        full_mass = np.diff(cum, axis=1) * (d_idx[None, :] <= remaining[:, None])
        timer = np.einsum("is,isk->ik", entry, self._to_level[remaining][:, :tr, : batch_size - 1])
        waits = [
            (d_idx - 0.5) * dt,
            np.full(batch_size - 1, timeout_s),
            np.array([0.0, dt / 2.0]),
            d_idx * dt,
            np.repeat(dt / 2.0 + remaining * dt, batch_size - 1),
        ]
        sizes = [
            np.full(n, batch_size),
            np.arange(1, batch_size),
            np.array([batch_size, batch_size]),
            np.full(n, batch_size),
            np.tile(np.arange(1, batch_size), n),
        ]
        masses = [
            first_full,
            first_timer,
            np.array([b_th, in_step - b_th]),
            full_mass.sum(axis=0),
            timer.ravel(),
        ]
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


def buffer_outcome(
    arrivals: MAP, batch_size: int, timeout_s: float, steps: int = DEFAULT_STEPS
) -> BufferOutcome:
    """One buffer on its own grid of ``steps`` steps over [0, T]."""
    if not timeout_s > 0:
        raise DataError(None, "timeout_s", f"a positive timeout in seconds, got {timeout_s}")
    model = BufferModel(arrivals, max(batch_size, 1), timeout_s / steps, steps)
    return model.outcome(batch_size, timeout_s)
