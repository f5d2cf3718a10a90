"""Cloud instance catalog (AWS EC2): resources, on-demand and spot prices, interruption band.

Sources, for every row:
* vCPUs, memory, GPUs and network: the AWS EC2 instance-type pages (accelerated computing:
  P2, P3, P4, G4dn, G5; compute optimised: C5; general purpose: M5).
* ``on_demand_usd_per_h``: AWS EC2 on-demand price list, Linux, us-east-1, 2024.
* ``spot_usd_per_h``: typical us-east-1 price in the EC2 spot price history, 2024; spot
  prices move hourly, so these are representative values: override them in a scenario.
* ``interruption``: the AWS Spot Advisor's frequency-of-interruption band (share of spot
  instances reclaimed per month) for the type in us-east-1, a 2024 snapshot.
* ``network_gbps``: nominal; "up to N" instances are listed at their baseline, not burst.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from cost_models.errors import DataError


class InterruptionBand(StrEnum):
    """AWS Spot Advisor frequency-of-interruption bands (per month)."""

    UNDER_5 = "<5%"
    FROM_5_TO_10 = "5-10%"
    FROM_10_TO_15 = "10-15%"
    FROM_15_TO_20 = "15-20%"
    OVER_20 = ">20%"

    @property
    def monthly_rate(self) -> float:
        """Representative share of instances interrupted per month: the band's midpoint
        (25% for the open-ended top band)."""
        return {
            InterruptionBand.UNDER_5: 0.025,
            InterruptionBand.FROM_5_TO_10: 0.075,
            InterruptionBand.FROM_10_TO_15: 0.125,
            InterruptionBand.FROM_15_TO_20: 0.175,
            InterruptionBand.OVER_20: 0.25,
        }[self]

    @property
    def hourly_rate(self) -> float:
        """Interruptions per instance-hour, assuming a 730-hour month and a constant rate."""
        return self.monthly_rate / 730.0


@dataclass(frozen=True)
class InstanceType:
    name: str
    vcpus: int
    memory_gib: float
    gpu: str | None  # device name in cost_models.devices.DEVICES
    gpus: int
    network_gbps: float
    on_demand_usd_per_h: float
    spot_usd_per_h: float
    interruption: InterruptionBand


_B = InterruptionBand

INSTANCES: dict[str, InstanceType] = {
    i.name: i
    for i in (
        InstanceType("c5.xlarge", 4, 8, None, 0, 1.25, 0.17, 0.068, _B.UNDER_5),
        InstanceType("c5.2xlarge", 8, 16, None, 0, 2.5, 0.34, 0.135, _B.UNDER_5),
        InstanceType("c5.4xlarge", 16, 32, None, 0, 5.0, 0.68, 0.27, _B.FROM_5_TO_10),
        InstanceType("m5.xlarge", 4, 16, None, 0, 1.25, 0.192, 0.077, _B.UNDER_5),
        InstanceType("m5.2xlarge", 8, 32, None, 0, 2.5, 0.384, 0.155, _B.FROM_5_TO_10),
        InstanceType("p2.xlarge", 4, 61, "K80", 1, 1.25, 0.90, 0.27, _B.FROM_10_TO_15),
        InstanceType("p2.8xlarge", 32, 488, "K80", 8, 10, 7.20, 2.16, _B.FROM_15_TO_20),
        InstanceType("p2.16xlarge", 64, 732, "K80", 16, 25, 14.40, 4.32, _B.OVER_20),
        InstanceType("p3.2xlarge", 8, 61, "V100", 1, 2.5, 3.06, 0.918, _B.FROM_10_TO_15),
        # GPU peer-to-peer over NVLink (AWS P3 page); topology in cost_models/ddl/topology.py.
        InstanceType("p3.8xlarge", 32, 244, "V100", 4, 10, 12.24, 3.67, _B.FROM_15_TO_20),
        InstanceType("p3.16xlarge", 64, 488, "V100", 8, 25, 24.48, 7.34, _B.OVER_20),
        InstanceType("p3dn.24xlarge", 96, 768, "V100", 8, 100, 31.212, 9.36, _B.OVER_20),
        InstanceType("p4d.24xlarge", 96, 1152, "A100", 8, 400, 32.7726, 9.83, _B.OVER_20),
        InstanceType("g4dn.xlarge", 4, 16, "T4", 1, 5, 0.526, 0.158, _B.FROM_5_TO_10),
        InstanceType("g4dn.2xlarge", 8, 32, "T4", 1, 10, 0.752, 0.226, _B.FROM_5_TO_10),
        InstanceType("g4dn.12xlarge", 48, 192, "T4", 4, 50, 3.912, 1.174, _B.FROM_10_TO_15),
        InstanceType("g4dn.metal", 96, 384, "T4", 8, 100, 7.824, 2.347, _B.FROM_10_TO_15),
        InstanceType("g5.xlarge", 4, 16, "A10G", 1, 2.5, 1.006, 0.302, _B.FROM_5_TO_10),
        InstanceType("g5.2xlarge", 8, 32, "A10G", 1, 5, 1.212, 0.364, _B.FROM_5_TO_10),
        InstanceType("g5.12xlarge", 48, 192, "A10G", 4, 40, 5.672, 1.702, _B.FROM_10_TO_15),
        InstanceType("g5.48xlarge", 192, 768, "A10G", 8, 100, 16.288, 4.886, _B.FROM_15_TO_20),
    )
}


def instance(name: str) -> InstanceType:
    """Look an instance type up by name; unknown names raise :class:`DataError`."""
    try:
        return INSTANCES[name]
    except KeyError:
        raise DataError(
            None, "instance_type", f"one of {', '.join(sorted(INSTANCES))} (got {name!r})"
        ) from None
