"""Pre-partitioning: contract a layer graph into ``C`` contiguous chunks (PPipe, section 5.2).

Given the layers in a topological order ``v_0 .. v_{L-1}`` (a networkx DiGraph whose nodes
carry ``out_bytes``; :func:`cost_models.ppipe.layers.layer_graph` builds it from a CNN), a cut
at position ``p`` (between ``v_{p-1}`` and ``v_p``) costs the bytes of every layer before ``p``
whose output is read at or after ``p`` (each tensor is sent once, whatever the number of
readers). A partition into ``C`` chunks is ``C`` contiguous
position ranges; it is admissible for bounds ``(lb, ub)`` when every chunk's share of the
model's runtime lies in ``[lb / C, ub / C]`` on every GPU type. We minimise the total bytes
of the ``C - 1`` cuts.

Exact dynamic programme instead of PPipe's MILP: with ``f[c][p]`` the least cost of splitting
the first ``p`` layers into ``c`` admissible chunks,
``f[c][p] = min_{q admissible for [q, p)} f[c-1][q] + cut(q)`` (``cut(0) = 0``), and the
answer is ``f[C][L]``; every partition is a path of this recursion, so it is optimal.
``O(C L^2)`` with ``L`` the layer count (vectorised over ``q``).

When no admissible partition exists, the bounds are relaxed in the order PPipe's public
code tries them (``milp_solver/ilp_v4.py``, ``find_best_contraction_mapping_tag``), from
0.7-1.3 to 0.4-4.0; none admissible at 0.4-4.0 raises :class:`DataError`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import networkx as nx
import numpy as np

from cost_models.errors import DataError

# (lb, ub) pairs tried in order; from PPipe's public milp_solver/ilp_v4.py.
BOUND_SCHEDULE: tuple[tuple[float, float], ...] = (
    (0.7, 1.3),
    (0.5, 1.5),
    (0.5, 2.0),
    (0.5, 2.5),
    (0.5, 3.0),
    (0.5, 3.5),
    (0.5, 4.0),
    (0.4, 4.0),
)


@dataclass(frozen=True)
class Prepartition:
    chunk_of_layer: list[int]  # chunk index of each layer, in topological order
    cut_bytes: list[int]  # bytes per sample crossing the cut after chunk c, c = 0 .. C-2
    bounds: tuple[float, float]  # the (lb, ub) that was admissible


def cut_costs(graph: nx.DiGraph, order: Sequence[str]) -> np.ndarray:
    """``cost[p]`` = bytes crossing a cut before position ``p`` (``cost[0] = cost[L] = 0``)."""
    position = {name: index for index, name in enumerate(order)}
    delta = np.zeros(len(order) + 1)
    for name in order:
        readers = [position[v] for v in graph.successors(name)]
        if any(r <= position[name] for r in readers):
            raise DataError(None, f"layer {name}", "a topological order (reader after writer)")
        if readers:
            delta[position[name] + 1] += graph.nodes[name]["out_bytes"]
            delta[max(readers) + 1] -= graph.nodes[name]["out_bytes"]
    return np.cumsum(delta)


def contract(
    graph: nx.DiGraph,
    order: Sequence[str],
    runtimes: Mapping[str, np.ndarray],
    chunks: int,
    schedule: Sequence[tuple[float, float]] = BOUND_SCHEDULE,
) -> Prepartition:
    """Least-traffic contiguous partition of ``order`` into ``chunks`` chunks (see module)."""
    layers = len(order)
    if not 1 <= chunks <= layers:
        raise DataError(None, "chunks", f"between 1 and the layer count {layers} (got {chunks})")
    cost = cut_costs(graph, order)
    prefix = {gpu: np.concatenate(([0.0], np.cumsum(times))) for gpu, times in runtimes.items()}
    for lb, ub in schedule:
        admissible = np.ones((layers + 1, layers + 1), dtype=bool)
        for sums in prefix.values():
            share = (sums[None, :] - sums[:, None]) / sums[-1] * chunks  # [q, p]
            admissible &= (share >= lb - 1e-12) & (share <= ub + 1e-12)
        admissible &= np.triu(np.ones_like(admissible), k=1)
        best = np.full(layers + 1, np.inf)
        best[0] = 0.0
        choice = np.zeros((chunks + 1, layers + 1), dtype=int)
        for c in range(1, chunks + 1):
            entering = np.where(
                admissible, (best + np.where(np.arange(layers + 1) > 0, cost, 0.0))[:, None], np.inf
            )
            choice[c] = np.argmin(entering, axis=0)
            best = entering[choice[c], np.arange(layers + 1)]
        if np.isfinite(best[layers]):
            ends = [layers]
            for c in range(chunks, 0, -1):
                ends.append(int(choice[c][ends[-1]]))
            starts = ends[::-1]  # starts[0] = 0, ..., starts[chunks] = layers
            chunk_of_layer = [c for c in range(chunks) for _ in range(starts[c], starts[c + 1])]
            cut_bytes = [round(float(cost[p])) for p in starts[1:-1]]
            return Prepartition(chunk_of_layer, cut_bytes, (lb, ub))
    raise DataError(
        None,
        "chunks",
        f"a partition into {chunks} chunks within the runtime "
        f"bounds {schedule[-1]} on every GPU type",
    )


def chunk_bounds(chunk_of_layer: Sequence[int]) -> np.ndarray:
    """Start position of every chunk, then the layer count: ``[0, s_1, ..., L]``."""
    starts = [0] + [
        p for p in range(1, len(chunk_of_layer)) if chunk_of_layer[p] != chunk_of_layer[p - 1]
    ]
    return np.array([*starts, len(chunk_of_layer)])
