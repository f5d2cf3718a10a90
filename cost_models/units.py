"""Units: the one place where conversion factors are written down.

Every quantity in the project carries its unit in its name (``slo_ms``, ``price_usd_per_h``,
``bandwidth_gbit_per_s``, ``capacity_gib``); these constants convert between them. Words
used in names, one spelling each:

* request rates are ``*_qps`` (requests per second; never ``rps``);
* money is ``usd`` in names and ``USD`` in unit strings (``USD/h``, ``USD``);
* bytes: ``gb`` is 1e9 bytes, ``gib`` is 2**30 bytes, ``mb`` is 1e6 bytes;
* bandwidth: ``gbit_per_s`` is 1e9 bits/s (network links), ``gb_per_s`` is 1e9 bytes/s
  (memory, PCIe, NVLink); never the ambiguous ``gbps``;
* time: ``_s``, ``_ms``, ``_us``, ``_h``.

Unit strings of objectives and table columns are the ``UNIT_*`` constants below.
"""

from __future__ import annotations

# Time
SECONDS_PER_HOUR = 3600.0
MS_PER_S = 1e3
US_PER_S = 1e6
US_PER_MS = 1e3
NS_PER_US = 1e3

# Shares: tables show a share as a percentage (``*_pct`` columns)
PERCENT_PER_FRACTION = 100.0

# Frequency
HZ_PER_MHZ = 1e6  # SI prefix mega

# Bytes and bits
BYTES_PER_KB = 1e3
BYTES_PER_MB = 1e6
BYTES_PER_GB = 1e9
BYTES_PER_KIB = 2.0**10
BYTES_PER_MIB = 2.0**20
BYTES_PER_GIB = 2.0**30
BITS_PER_BYTE = 8.0

# Unit strings (objectives, table columns)
UNIT_USD = "USD"
UNIT_USD_PER_H = "USD/h"
UNIT_QPS = "requests/s"
UNIT_PERCENT = "%"
UNIT_US = "us"
UNIT_MS = "ms"
UNIT_H = "h"


def gbit_per_s_to_bytes_per_s(gbit_per_s: float) -> float:
    """A network bandwidth in Gbit/s (1e9 bits/s) as bytes per second."""
    return gbit_per_s * 1e9 / BITS_PER_BYTE


def gb_per_s_to_bytes_per_s(gb_per_s: float) -> float:
    """A memory or bus bandwidth in GB/s (1e9 bytes/s) as bytes per second."""
    return gb_per_s * BYTES_PER_GB
