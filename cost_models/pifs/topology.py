"""CXL fabric topology for embedding placement, as a networkx graph.

Nodes: ``host`` (the CPU that runs the DLRM and reduces what reaches it), ``host_dram``
(local DRAM), ``switch`` (the CXL fabric switch, optionally with a reduction engine),
``port<i>`` (a downstream switch port) and ``expander<i>`` (the CXL memory expander behind
it). Memory nodes carry ``bandwidth_gb_per_s``, ``capacity_gib`` and ``latency_ns``; links
carry ``bandwidth_gb_per_s`` (per direction) and ``latency_ns``. A path's bandwidth is its
bottleneck (minimum over links and the memory device at its end) and its latency is the sum.

Units: GB = 1e9 bytes (link and DRAM rates are quoted in GB/s), GiB = 2**30 bytes
(capacities are quoted in GiB).

Defaults and their public sources (override every one in a scenario):

* CXL 2.0 uses the PCIe 5.0 PHY: 32 GT/s per lane with 128b/130b encoding, 3.94 GB/s per
  lane and direction, so x8 = 31.5 GB/s and x16 = 63.0 GB/s per direction (PCI-SIG,
  PCI Express Base Specification 5.0; CXL Consortium, CXL 2.0 Specification, 2020).
* Expander DRAM: DDR5-4800 moves 4800 MT/s x 8 B = 38.4 GB/s per channel (JEDEC
  JESD79-5); expanders such as Micron CZ120 and Samsung CMM-D have one or two channels
  behind a PCIe 5.0 x8 link (vendor product briefs). Streaming efficiency 50-80% of peak is
  the range the issue brief gives; we assume 70% (calibration assumption).
* Latency: local DRAM ~100 ns; a direct-attached CXL expander adds 70-150 ns and each
  switch hop ~100 ns (Li et al., "Pond: CXL-Based Memory Pooling Systems for Cloud
  Platforms", ASPLOS '23, section 2; Sun et al., "Demystifying CXL Memory with Genuine
  CXL-Ready Systems and Devices", MICRO '23). We take 100 ns, +90 ns per expander and
  +100 ns per switch hop, split 50/50 over the two link traversals.
* Host DRAM: 8 channels of DDR5-4800 (a 4th-gen Xeon socket) = 307.2 GB/s peak at the same
  70% efficiency (assumption).
* The switch's reduction engine (PIFS-Rec's in-switch processing unit): its throughput,
  latency and buffer are calibration assumptions, not measurements: by default it is sized
  to keep up with eight x8 ports (252 GB/s of rows read), adds 50 ns, and has 4 MiB of
  buffer for partial sums.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from typing import Final

import networkx as nx
import numpy as np

from cost_models.errors import DataError
from cost_models.units import BITS_PER_BYTE, BYTES_PER_GB, BYTES_PER_GIB, BYTES_PER_MIB

PCIE5_GB_PER_S_PER_LANE = 32.0 * 128 / 130 / BITS_PER_BYTE  # GB/s per lane and direction (PCIe 5.0)
DDR5_4800_GB_PER_S_PER_CHANNEL = (
    4800e6 * 8 / BYTES_PER_GB
)  # 8-byte transfers: 38.4 GB/s (JEDEC JESD79-5)
DRAM_EFFICIENCY = 0.7  # achieved fraction of peak DRAM bandwidth (assumption, 50-80% range)

DEFAULT_HOST_DRAM_GB_PER_S = 8 * DDR5_4800_GB_PER_S_PER_CHANNEL * DRAM_EFFICIENCY
DEFAULT_HOST_LATENCY_NS = 100.0  # local DRAM load-to-use (Pond, ASPLOS '23)
DEFAULT_UPSTREAM_LANES: Final = 16  # host root port to switch: x16
DEFAULT_PORT_LANES: Final = 8  # switch downstream port to expander: x8
DEFAULT_SWITCH_HOP_NS = 100.0  # per switch traversal (Pond, ASPLOS '23)
DEFAULT_EXPANDER_CHANNELS = 2  # DDR5 channels per expander (Micron CZ120 product brief)
DEFAULT_EXPANDER_LATENCY_NS = 90.0  # added by the expander over local DRAM (70-150 ns range)
DEFAULT_EXPANDER_CAPACITY_GIB = 128.0  # Micron CZ120: 128 or 256 GB modules
DEFAULT_REDUCTION_GB_PER_S = 8 * DEFAULT_PORT_LANES * PCIE5_GB_PER_S_PER_LANE  # assumption
DEFAULT_REDUCTION_LATENCY_NS = 50.0  # assumption
DEFAULT_SWITCH_BUFFER_MIB = 4.0  # assumption


@dataclass(frozen=True)
class Expander:
    """One CXL memory expander behind a downstream port."""

    capacity_gib: float = DEFAULT_EXPANDER_CAPACITY_GIB
    channels: int = DEFAULT_EXPANDER_CHANNELS
    channel_gb_per_s: float = DDR5_4800_GB_PER_S_PER_CHANNEL
    efficiency: float = DRAM_EFFICIENCY
    latency_ns: float = DEFAULT_EXPANDER_LATENCY_NS
    port_lanes: int = DEFAULT_PORT_LANES

    @property
    def device_gb_per_s(self) -> float:
        return self.channels * self.channel_gb_per_s * self.efficiency

    @property
    def link_gb_per_s(self) -> float:
        return self.port_lanes * PCIE5_GB_PER_S_PER_LANE


@dataclass(frozen=True)
class FabricSpec:
    """Everything the topology graph is built from (one host, one switch)."""

    expanders: tuple[Expander, ...]
    host_dram_gb_per_s: float = DEFAULT_HOST_DRAM_GB_PER_S
    host_capacity_gib: float = 0.0  # host DRAM set aside for embeddings
    host_latency_ns: float = DEFAULT_HOST_LATENCY_NS
    upstream_lanes: int = DEFAULT_UPSTREAM_LANES
    switch_hop_ns: float = DEFAULT_SWITCH_HOP_NS
    reduction_gb_per_s: float | None = DEFAULT_REDUCTION_GB_PER_S  # None: no engine
    reduction_latency_ns: float = DEFAULT_REDUCTION_LATENCY_NS
    switch_buffer_mib: float = DEFAULT_SWITCH_BUFFER_MIB


@dataclass(frozen=True)
class Location:
    """A place embedding rows can live: host DRAM or one expander, seen from the host."""

    name: str
    capacity_bytes: float
    bandwidth_gb_per_s: float  # bottleneck between the memory and the switch (or host)
    latency_ns: float  # path latency host -> memory
    is_cxl: bool


@dataclass(frozen=True)
class Fabric:
    """The resources the busy-time model charges, derived from the topology graph."""

    graph: nx.DiGraph
    host: Location
    ports: tuple[Location, ...]
    upstream_gb_per_s: float
    reduction_gb_per_s: float | None
    reduction_latency_ns: float
    switch_buffer_bytes: float

    @property
    def locations(self) -> tuple[Location, ...]:
        return (self.host, *self.ports)

    @property
    def has_reduction(self) -> bool:
        return self.reduction_gb_per_s is not None

    def port_device_and_link_gb_per_s(self) -> tuple[np.ndarray, np.ndarray]:
        """Per port, its expander's DRAM rate and its link's rate (GB/s), from the graph
        (a port's ``bandwidth_gb_per_s`` is the smaller of the two)."""
        g = self.graph
        ports = range(len(self.ports))
        device = [g.nodes[f"expander{i}"]["bandwidth_gb_per_s"] for i in ports]
        link = [g.edges["switch", f"port{i}"]["bandwidth_gb_per_s"] for i in ports]
        return np.array(device, dtype=float), np.array(link, dtype=float)


def build_graph(spec: FabricSpec) -> nx.DiGraph:
    """The topology as a directed graph (edges point from the host towards memory)."""
    if not spec.expanders:
        raise DataError(None, "fabric.ports", "at least one downstream port")
    g = nx.DiGraph()
    g.add_node("host", kind="host")
    g.add_node(
        "host_dram",
        kind="memory",
        bandwidth_gb_per_s=spec.host_dram_gb_per_s,
        capacity_gib=spec.host_capacity_gib,
        latency_ns=spec.host_latency_ns,
    )
    g.add_edge("host", "host_dram", bandwidth_gb_per_s=spec.host_dram_gb_per_s, latency_ns=0.0)
    g.add_node(
        "switch",
        kind="switch",
        reduction_gb_per_s=spec.reduction_gb_per_s,
        reduction_latency_ns=spec.reduction_latency_ns,
        buffer_mib=spec.switch_buffer_mib,
    )
    g.add_edge(
        "host",
        "switch",
        bandwidth_gb_per_s=spec.upstream_lanes * PCIE5_GB_PER_S_PER_LANE,
        latency_ns=spec.switch_hop_ns / 2,
    )
    for i, exp in enumerate(spec.expanders):
        port, dev = f"port{i}", f"expander{i}"
        g.add_node(port, kind="port")
        g.add_node(
            dev,
            kind="memory",
            bandwidth_gb_per_s=exp.device_gb_per_s,
            capacity_gib=exp.capacity_gib,
            latency_ns=spec.host_latency_ns + exp.latency_ns,
        )
        g.add_edge(
            "switch", port, bandwidth_gb_per_s=exp.link_gb_per_s, latency_ns=spec.switch_hop_ns / 2
        )
        g.add_edge(port, dev, bandwidth_gb_per_s=exp.link_gb_per_s, latency_ns=0.0)
    return g


def path_bandwidth_gb_per_s(g: nx.DiGraph, src: str, dst: str) -> float:
    """Bottleneck bandwidth along the path from ``src`` to memory node ``dst``."""
    path = nx.shortest_path(g, src, dst)
    links = [g.edges[a, b]["bandwidth_gb_per_s"] for a, b in itertools.pairwise(path)]
    return min([*links, g.nodes[dst]["bandwidth_gb_per_s"]])


def path_latency_ns(g: nx.DiGraph, src: str, dst: str) -> float:
    """Sum of link latencies from ``src`` to memory node ``dst`` plus the memory's own."""
    path = nx.shortest_path(g, src, dst)
    links = sum(g.edges[a, b]["latency_ns"] for a, b in itertools.pairwise(path))
    return links + g.nodes[dst]["latency_ns"]


def _location(g: nx.DiGraph, name: str, node: str, src: str, is_cxl: bool) -> Location:
    return Location(
        name=name,
        capacity_bytes=g.nodes[node]["capacity_gib"] * BYTES_PER_GIB,
        bandwidth_gb_per_s=path_bandwidth_gb_per_s(g, src, node),
        latency_ns=path_latency_ns(g, "host", node),
        is_cxl=is_cxl,
    )


def build_fabric(spec: FabricSpec) -> Fabric:
    """Resources of the fabric: host DRAM, each port (switch-side bottleneck), upstream."""
    g = build_graph(spec)
    ports = tuple(
        _location(g, f"port{i}", f"expander{i}", "switch", True) for i in range(len(spec.expanders))
    )
    return Fabric(
        graph=g,
        host=_location(g, "host", "host_dram", "host", False),
        ports=ports,
        upstream_gb_per_s=g.edges["host", "switch"]["bandwidth_gb_per_s"],
        reduction_gb_per_s=spec.reduction_gb_per_s,
        reduction_latency_ns=spec.reduction_latency_ns,
        switch_buffer_bytes=spec.switch_buffer_mib * BYTES_PER_MIB,
    )
