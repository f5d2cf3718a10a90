"""Intra-node GPU interconnect of each AWS GPU instance type, as a networkx graph, and the
bandwidth a ring all-reduce reaches over it.

Graph: nodes are ``gpu<i>`` (kind "gpu"), CPU sockets ``cpu<s>`` (kind "cpu"), PCIe
switches (kind "switch") and NVSwitch fabrics (kind "nvswitch"); every edge carries
``link`` (a key of :data:`LINKS`) and ``bandwidth_gb_per_s``, the usable rate per direction
(nominal rate x efficiency). Links are full duplex, so each edge is two directed channels.

Ring bandwidth (what NCCL's ring all-reduce sees): every hop of a ring order ``g0 -> g1 ->
... -> g0`` is routed along a fewest-hop path (the widest of those) of the graph; a
ring of rate r loads each directed channel with r x (hops crossing it). Like NCCL's
channels we pack rings greedily: take the ring order with the highest rate the residual
channel capacities allow, subtract its load, repeat until no ring gets a positive rate; the
ring bandwidth is the sum of the rates. When the GPUs are connected through NVLink /
NVSwitch alone, rings use only those links (NCCL prefers NVLink to PCIe). Candidate ring
orders: all ``(G-1)!`` orders starting at gpu0 for G <= 8 GPUs; on a tree (PCIe-only
instances) the depth-first order of the GPUs, which crosses each tree edge once per
direction and so reaches the tree's bottleneck rate, the best any ring can do on a tree.

Topology facts and their sources:

* K80 board (p2): two GK210 GPUs behind the board's own PCIe switch, one Gen3 x16 uplink
  (NVIDIA Tesla K80 board specification BD-07317). Boards on the root ports of one socket
  per 16 cores is our assumption (p2.8xlarge: 1 socket, p2.16xlarge: 2; AWS does not
  publish the wiring).
* p3.8xlarge / p3.16xlarge / p3dn.24xlarge: V100 SXM2 in NVIDIA's hybrid cube-mesh (the
  DGX-1V wiring; AWS P3 page: "NVLink" GPU peer-to-peer), 6 NVLink 2.0 links per GPU, some
  pairs joined by two links. Link counts are those ``nvidia-smi topo -m`` reports on
  p3.16xlarge (NV1 / NV2); p3.8xlarge holds one 4-GPU quad of that mesh.
* p4d.24xlarge: 8 A100 on NVSwitch, 600 GB/s bidirectional NVLink per GPU (NVIDIA A100
  datasheet; AWS P4d page: "600 GB/s NVSwitch GPU interconnect").
* g4dn / g5: GPUs on PCIe only (AWS G4dn and G5 pages list no NVLink); T4 is Gen3 x16,
  A10G Gen4 x16 (NVIDIA T4 / A10 datasheets). GPUs on the root ports of one socket, the
  8-GPU sizes on two sockets (our assumption: 96- and 192-vCPU sizes are dual-socket hosts).
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from functools import cache

import networkx as nx
import numpy as np

from cost_models.cloud import instance
from cost_models.errors import DataError


@dataclass(frozen=True)
class Link:
    nominal_gb_per_s: float  # per direction, GB/s (1e9 bytes/s)
    efficiency: float  # achieved fraction by NCCL ring traffic (calibration assumption)
    source: str


# Achieved fraction of a link's nominal rate for bulk NCCL transfers: an assumption (protocol
# overheads: PCIe TLP headers, NVLink packet headers; nccl-tests bus bandwidths typically
# land at 70-90% of nominal). Cross-socket links carry GPU peer traffic staged through host
# memory (no GPU peer-to-peer across sockets), which we assume halves the usable rate.
_EFFICIENCY = 0.8
_STAGED_EFFICIENCY = 0.5

LINKS: dict[str, Link] = {
    # PCIe Gen3: 8 GT/s per lane, 128b/130b encoding -> 0.985 GB/s per lane per direction.
    "pcie3_x16": Link(15.75, _EFFICIENCY, "PCI-SIG PCIe 3.0 base specification"),
    # PCIe Gen4: 16 GT/s per lane, 128b/130b -> 1.969 GB/s per lane per direction.
    "pcie4_x16": Link(31.5, _EFFICIENCY, "PCI-SIG PCIe 4.0 base specification"),
    # NVLink 2.0: 25 GB/s per direction per link (V100 datasheet: 300 GB/s over 6 links).
    "nvlink2": Link(25.0, _EFFICIENCY, "NVIDIA V100 datasheet"),
    # A100 to NVSwitch: 12 NVLink 3.0 links, 600 GB/s bidirectional = 300 GB/s per direction.
    "nvlink3_nvswitch": Link(300.0, _EFFICIENCY, "NVIDIA A100 datasheet"),
    # Intel QPI at 9.6 GT/s x 2 bytes = 19.2 GB/s per direction (Xeon E5-2686 v4, p2).
    "qpi": Link(19.2, _STAGED_EFFICIENCY, "Intel Xeon E5-2600 v4 product brief"),
    # Intel UPI at 10.4 GT/s x 2 bytes = 20.8 GB/s per direction (Xeon 8259CL, g4dn).
    "upi": Link(20.8, _STAGED_EFFICIENCY, "Intel Xeon Scalable 2nd gen product brief"),
    # AMD xGMI-2 socket link: x16 at 16 GT/s = 32 GB/s per direction (EPYC 7002, g5).
    "xgmi": Link(32.0, _STAGED_EFFICIENCY, "AMD EPYC 7002 series architecture overview"),
}

_NVLINK_KINDS = frozenset({"nvlink2", "nvlink3_nvswitch"})

# nvidia-smi topo -m on p3.16xlarge: NVLink link count between GPU pairs (hybrid cube-mesh).
_CUBE_MESH_LINKS: dict[tuple[int, int], int] = {
    (0, 1): 1,
    (0, 2): 1,
    (0, 3): 2,
    (0, 4): 2,
    (1, 2): 2,
    (1, 3): 1,
    (1, 5): 2,
    (2, 3): 2,
    (2, 6): 1,
    (3, 7): 1,
    (4, 5): 1,
    (4, 6): 1,
    (4, 7): 2,
    (5, 6): 2,
    (5, 7): 1,
    (6, 7): 2,
}


def _add(graph: nx.Graph, u: str, v: str, link: str, count: int = 1) -> None:
    spec = LINKS[link]
    graph.add_edge(
        u, v, link=link, bandwidth_gb_per_s=count * spec.nominal_gb_per_s * spec.efficiency
    )


def _gpu(graph: nx.Graph, i: int) -> str:
    name = f"gpu{i}"
    graph.add_node(name, kind="gpu")
    return name


def _sockets(graph: nx.Graph, sockets: int, socket_link: str) -> list[str]:
    cpus = [f"cpu{s}" for s in range(sockets)]
    graph.add_nodes_from(cpus, kind="cpu")
    for a, b in itertools.pairwise(cpus):
        _add(graph, a, b, socket_link)
    return cpus


def _pcie_host(gpus: int, sockets: int, pcie: str, socket_link: str) -> nx.Graph:
    """GPUs spread evenly over the root ports of ``sockets`` CPU sockets."""
    graph = nx.Graph()
    cpus = _sockets(graph, sockets, socket_link)
    for i in range(gpus):
        _add(graph, cpus[i * sockets // gpus], _gpu(graph, i), pcie)
    return graph


def _k80_host(boards: int, sockets: int) -> nx.Graph:
    """K80 boards (2 GPUs behind an on-board PCIe switch) on the sockets' root ports."""
    graph = nx.Graph()
    cpus = _sockets(graph, sockets, "qpi")
    for b in range(boards):
        switch = f"k80board{b}"
        graph.add_node(switch, kind="switch")
        _add(graph, cpus[b * sockets // boards], switch, "pcie3_x16")
        for i in (2 * b, 2 * b + 1):
            _add(graph, switch, _gpu(graph, i), "pcie3_x16")
    return graph


def _cube_mesh(gpus: int) -> nx.Graph:
    """V100 hybrid cube-mesh restricted to the first ``gpus`` GPUs, plus their PCIe ports."""
    graph = _pcie_host(gpus, 1 if gpus <= 4 else 2, "pcie3_x16", "upi")
    for (a, b), links in _CUBE_MESH_LINKS.items():
        if a < gpus and b < gpus:
            _add(graph, f"gpu{a}", f"gpu{b}", "nvlink2", links)
    return graph


def _nvswitch(gpus: int) -> nx.Graph:
    graph = _pcie_host(gpus, 2, "pcie4_x16", "upi")
    graph.add_node("nvswitch", kind="nvswitch")
    for i in range(gpus):
        _add(graph, f"gpu{i}", "nvswitch", "nvlink3_nvswitch")
    return graph


_BUILDERS = {
    "p2.xlarge": lambda: _pcie_host(1, 1, "pcie3_x16", "qpi"),  # one GK210 die exposed
    "p2.8xlarge": lambda: _k80_host(4, 1),
    "p2.16xlarge": lambda: _k80_host(8, 2),
    "p3.2xlarge": lambda: _cube_mesh(1),
    "p3.8xlarge": lambda: _cube_mesh(4),
    "p3.16xlarge": lambda: _cube_mesh(8),
    "p3dn.24xlarge": lambda: _cube_mesh(8),
    "p4d.24xlarge": lambda: _nvswitch(8),
    "g4dn.xlarge": lambda: _pcie_host(1, 1, "pcie3_x16", "upi"),
    "g4dn.2xlarge": lambda: _pcie_host(1, 1, "pcie3_x16", "upi"),
    "g4dn.12xlarge": lambda: _pcie_host(4, 1, "pcie3_x16", "upi"),
    "g4dn.metal": lambda: _pcie_host(8, 2, "pcie3_x16", "upi"),
    "g5.xlarge": lambda: _pcie_host(1, 1, "pcie4_x16", "xgmi"),
    "g5.2xlarge": lambda: _pcie_host(1, 1, "pcie4_x16", "xgmi"),
    "g5.12xlarge": lambda: _pcie_host(4, 1, "pcie4_x16", "xgmi"),
    "g5.48xlarge": lambda: _pcie_host(8, 2, "pcie4_x16", "xgmi"),
}

TOPOLOGY_INSTANCES = tuple(_BUILDERS)
"""Instance types whose interconnect is modelled (all GPU types of cost_models.cloud)."""


def topology(instance_type: str) -> nx.Graph:
    """The interconnect graph of ``instance_type`` (a fresh copy; unknown types: DataError)."""
    if instance_type not in _BUILDERS:
        raise DataError(
            None,
            "instance_type",
            f"a GPU instance type with a known interconnect: "
            f"{', '.join(TOPOLOGY_INSTANCES)} (got {instance_type!r})",
        )
    graph = _BUILDERS[instance_type]()
    gpus = sum(1 for _, kind in graph.nodes(data="kind") if kind == "gpu")
    if gpus != instance(instance_type).gpus:
        raise DataError(
            None,
            f"topology.{instance_type}",
            f"{instance(instance_type).gpus} GPUs as in cost_models.cloud",
        )
    return graph


@dataclass(frozen=True)
class RingBandwidth:
    gb_per_s: float  # sum of the packed rings' rates, GB/s per direction
    rings: int  # rings packed (NCCL channels)
    bottleneck_link: str  # link kind that limits the first (widest) ring; "" for one GPU


def _route(graph: nx.Graph, source: str, target: str) -> list[str]:
    """Fewest-hop path from source to target, the widest among those."""
    return max(
        nx.all_shortest_paths(graph, source, target),
        key=lambda path: min(
            graph[u][v]["bandwidth_gb_per_s"] for u, v in itertools.pairwise(path)
        ),
    )


def _ring_orders(graph: nx.Graph, gpus: list[str]) -> list[tuple[str, ...]]:
    if nx.is_tree(graph):
        order = [n for n in nx.dfs_preorder_nodes(graph, gpus[0]) if n in set(gpus)]
        return [tuple(order)]
    if len(gpus) > 8:
        raise DataError(None, "topology", "at most 8 GPUs on a non-tree interconnect")
    return [(gpus[0], *rest) for rest in itertools.permutations(gpus[1:])]


@cache
def ring_bandwidth(instance_type: str) -> RingBandwidth:
    """Ring all-reduce bandwidth inside one instance of ``instance_type`` (cached)."""
    graph = topology(instance_type)
    gpus = sorted(
        (n for n, kind in graph.nodes(data="kind") if kind == "gpu"), key=lambda n: int(n[3:])
    )
    if len(gpus) == 1:
        return RingBandwidth(0.0, 0, "")
    nvlink = graph.edge_subgraph(
        (u, v) for u, v, link in graph.edges(data="link") if link in _NVLINK_KINDS
    )
    if set(gpus) <= set(nvlink.nodes) and nx.is_connected(nvlink):
        graph = nx.Graph(nvlink)
    routes = {(a, b): _route(graph, a, b) for a in gpus for b in gpus if a != b}
    channels = [(u, v) for u, v in graph.edges] + [(v, u) for u, v in graph.edges]
    index = {c: i for i, c in enumerate(channels)}
    residual = np.array([graph[u][v]["bandwidth_gb_per_s"] for u, v in channels])
    orders = _ring_orders(graph, gpus)
    load = np.zeros((len(orders), len(channels)))  # hops of ring r crossing channel c
    for r, order in enumerate(orders):
        for a, b in zip(order, order[1:] + order[:1], strict=True):
            for channel in itertools.pairwise(routes[a, b]):
                load[r, index[channel]] += 1
    crossed = load > 0
    total, rings, bottleneck = 0.0, 0, ""
    while True:
        per_channel = np.where(crossed, residual / np.where(crossed, load, 1.0), np.inf)
        rates = per_channel.min(axis=1)
        best = int(np.argmax(rates))
        rate = float(rates[best])
        if rate <= 1e-9:
            break
        if not bottleneck:
            u, v = channels[int(np.argmin(per_channel[best]))]
            bottleneck = graph[u][v]["link"]
        residual = residual - rate * load[best]
        total += rate
        rings += 1
    return RingBandwidth(total, rings, bottleneck)
