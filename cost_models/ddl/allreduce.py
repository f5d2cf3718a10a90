"""Gradient all-reduce of PyTorch DDP: buckets, alpha-beta ring cost, overlap with backward.

* Buckets: DDP packs gradients into buckets of ``bucket_cap_mb`` MiB (default 25, PyTorch
  ``DistributedDataParallel`` documentation) and all-reduces a bucket as soon as all its
  gradients exist. ``S`` gradient bytes give ``ceil(S / cap)`` buckets, all full but the last.
* Ring all-reduce of ``s`` bytes over ``p`` participants at ``B`` bytes/s per direction with
  per-step latency ``alpha`` (Thakur et al., "Optimization of collective communication
  operations in MPICH", IJHPCA 2005; Patarasuk & Yuan, JPDC 2009):
  ``2 (p - 1) alpha + 2 (p - 1) / p * s / B`` (reduce-scatter then all-gather).
* Hierarchical across ``N`` nodes of ``G`` GPUs (NCCL's tree/ring-of-rings shape): a bucket
  is reduce-scattered and all-gathered inside each node over its ring bandwidth (together:
  the intra-node ring formula with ``p = G``), and its shards are all-reduced across nodes;
  all ``G`` shards leave through the node's one NIC, so the inter-node part is the ring
  formula with ``p = N`` on the full bucket at the NIC rate.
* Overlap: gradients appear at a uniform rate during the backward pass (an assumption), so
  bucket ``k`` is ready at ``t_bwd x (bytes of buckets 1..k) / S``; buckets are
  communicated one at a time in order: ``finish_k = max(ready_k, finish_{k-1}) + c_k``.
  The exposed (stall) time is ``finish_last - t_bwd``; it is split into interconnect and
  network stall in proportion to the two parts' total busy time.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from cost_models.units import BITS_PER_BYTE, BYTES_PER_MIB, gb_per_s_to_bytes_per_s

# PyTorch DistributedDataParallel(bucket_cap_mb=25) default, MiB.
DEFAULT_BUCKET_MIB = 25.0
# Per-step latency of an intra-node NCCL ring step, s (assumption: NCCL's documented
# "LL" protocol latency is a few microseconds per hop over NVLink/PCIe).
DEFAULT_INTRA_ALPHA_S = 1e-5
# Per-step latency of an inter-node NCCL ring step over TCP sockets, s (assumption: tens of
# microseconds of kernel TCP round trip inside an EC2 cluster placement group).
DEFAULT_NETWORK_ALPHA_S = 5e-5
# Achieved fraction of the NIC's nominal rate for NCCL over TCP sockets (assumption).
DEFAULT_NETWORK_EFFICIENCY = 0.8


@dataclass(frozen=True)
class CommParams:
    bucket_mib: float = DEFAULT_BUCKET_MIB
    intra_alpha_s: float = DEFAULT_INTRA_ALPHA_S
    network_alpha_s: float = DEFAULT_NETWORK_ALPHA_S
    network_efficiency: float = DEFAULT_NETWORK_EFFICIENCY


def bucket_bytes(total_bytes: float, bucket_mib: float) -> list[float]:
    """DDP bucket sizes in bytes: full buckets of ``bucket_mib`` MiB, then the remainder."""
    cap = bucket_mib * BYTES_PER_MIB
    count = max(1, math.ceil(total_bytes / cap))
    return [cap] * (count - 1) + [total_bytes - cap * (count - 1)]


def ring_allreduce_s(
    size_bytes: float, participants: int, bandwidth_gb_per_s: float, alpha_s: float
) -> float:
    """Alpha-beta time of one ring all-reduce; zero for a single participant."""
    if participants <= 1:
        return 0.0
    steps = 2 * (participants - 1)
    bytes_per_s = gb_per_s_to_bytes_per_s(bandwidth_gb_per_s)
    return steps * alpha_s + steps / participants * size_bytes / bytes_per_s


@dataclass(frozen=True)
class CommStall:
    interconnect_busy_s: float  # all intra-node all-reduce work of one iteration
    network_busy_s: float  # all inter-node all-reduce work of one iteration
    interconnect_stall_s: float  # exposed (not hidden behind backward) share, intra-node
    network_stall_s: float  # exposed share, inter-node


def ddp_comm_stall(
    gradient_bytes: float,
    backward_s: float,
    gpus_per_node: int,
    nodes: int,
    ring_gb_per_s: float,
    nic_gbit_per_s: float,
    params: CommParams,
) -> CommStall:
    """Interconnect and network stall of one DDP iteration (see the module docstring)."""
    buckets = bucket_bytes(gradient_bytes, params.bucket_mib)
    nic_gb_per_s = nic_gbit_per_s / BITS_PER_BYTE * params.network_efficiency
    intra = [
        ring_allreduce_s(b, gpus_per_node, ring_gb_per_s, params.intra_alpha_s) for b in buckets
    ]
    inter = [ring_allreduce_s(b, nodes, nic_gb_per_s, params.network_alpha_s) for b in buckets]
    finish, produced = 0.0, 0.0
    for size, c_intra, c_inter in zip(buckets, intra, inter, strict=True):
        produced += size
        finish = max(backward_s * produced / gradient_bytes, finish) + c_intra + c_inter
    exposed = finish - backward_s
    busy = sum(intra) + sum(inter)
    share = sum(intra) / busy if busy > 0 else 0.0
    return CommStall(sum(intra), sum(inter), exposed * share, exposed * (1 - share))
