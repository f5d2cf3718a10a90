"""Tables for people: one row per DNN (the primary table), then the layer dataflows."""

from __future__ import annotations

from collections import Counter

from cost_models.units import BYTES_PER_MIB, PERCENT_PER_FRACTION
from formulations.polymorphic.deployment import PolymorphicDeployment
from formulations.polymorphic.verify import effective
from formulations.polymorphic.view import PolymorphicView, buffer_bytes
from formulations.types import Table


def accelerator_table(view: PolymorphicView, deployment: PolymorphicDeployment) -> Table:
    array = view.inputs.array
    rates = effective(view, deployment)
    phased = bool(view.inputs.phases)
    rows = []
    for acc in deployment.accelerators:
        m = rates[acc.phase, acc.dnn]
        rows.append(
            [acc.phase] * phased
            + [
                acc.dnn,
                f"{acc.rows}x{acc.cols}",
                acc.row_offset,
                acc.col_offset,
                round(float(buffer_bytes(array, acc.buffer_steps)) / BYTES_PER_MIB, 3),
                round(acc.bandwidth_steps * array.dram_gb_per_s / array.bandwidth_share_steps, 3),
                round(PERCENT_PER_FRACTION * acc.time_share, 4),
                round(m.throughput_inferences_per_s, 3),
                round(PERCENT_PER_FRACTION * (m.cycles - m.compute_cycles) / m.cycles, 2),
                round(m.dram_gb_per_s, 3),
            ]
        )
    return Table(
        "Logical accelerators",
        ["phase"] * phased
        + [
            "dnn",
            "shape",
            "row_offset",
            "col_offset",
            "buffer_mib",
            "bandwidth_gb_per_s",
            "time_pct",
            "throughput_inferences_per_s",
            "stall_pct",
            "dram_gb_per_s",
        ],
        rows,
    )


def dataflow_table(deployment: PolymorphicDeployment) -> Table:
    phased = any(acc.phase is not None for acc in deployment.accelerators)
    rows = []
    for acc in deployment.accelerators:
        counts = Counter(acc.dataflows)
        rows.append(
            [acc.phase] * phased
            + [acc.dnn, len(acc.dataflows)]
            + [counts.get(d, 0) for d in ("os", "ws", "is")]
        )
    return Table(
        "Dataflows per DNN (layers)", ["phase"] * phased + ["dnn", "layers", "os", "ws", "is"], rows
    )
