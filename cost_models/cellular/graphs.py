"""A request as a sequence of stages of cells.

* ``lstm`` (a language model scoring a sentence): one ``lstm`` cell per token, a chain;
* ``seq2seq`` (translation, Sutskever et al. 2014): one ``encoder`` cell per source token,
  then one ``decoder`` cell per target token (target tokens = ceil(target_ratio x source),
  greedy decoding to a known length; beam search is out of scope);
* ``treelstm`` (sentiment of a parsed sentence, Tai et al. 2015): a binary tree over the
  tokens; every leaf is a ``leaf`` cell, every internal node a ``node`` cell. The tree is
  the balanced one built by pairing neighbours level by level (an odd node is carried up),
  so level j holds the nodes whose children are all at levels below j.

A stage is ``(cell type index, cells)``: every cell of a stage is ready when the previous
stage is complete (for a tree this is level-synchronous: a node waits for its whole level
below, a slight over-estimate of the DAG's readiness).
"""

from __future__ import annotations

import math
from typing import Literal

Structure = Literal["lstm", "seq2seq", "treelstm"]
CELL_TYPES: dict[str, tuple[str, ...]] = {
    "lstm": ("lstm",),
    "seq2seq": ("encoder", "decoder"),
    "treelstm": ("leaf", "node"),
}

Stage = tuple[int, int]  # (cell type index, cells in the stage)


def target_tokens(source_tokens: int, target_ratio: float) -> int:
    return max(1, math.ceil(target_ratio * source_tokens))


def stages(structure: Structure, tokens: int, target_ratio: float = 1.0) -> list[Stage]:
    """The stages of one request of ``tokens`` tokens."""
    if tokens < 1:
        raise ValueError("a request has at least one token")
    if structure == "lstm":
        return [(0, 1)] * tokens
    if structure == "seq2seq":
        return [(0, 1)] * tokens + [(1, 1)] * target_tokens(tokens, target_ratio)
    out: list[Stage] = [(0, tokens)]
    nodes = tokens
    while nodes > 1:
        pairs, carried = divmod(nodes, 2)
        out.append((1, pairs))
        nodes = pairs + carried
    return out


def cells_per_type(structure: Structure, tokens: int, target_ratio: float = 1.0) -> list[int]:
    """Cells of each type one request of ``tokens`` tokens runs."""
    counts = [0] * len(CELL_TYPES[structure])
    for kind, cells in stages(structure, tokens, target_ratio):
        counts[kind] += cells
    return counts
