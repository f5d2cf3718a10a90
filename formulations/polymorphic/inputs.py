"""Scenario schema of the ``polymorphic`` formulation (validated TOML)."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Any, Self

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationInfo,
    field_validator,
    model_validator,
)

from cost_models.polymorphic.networks import NETWORKS
from cost_models.units import HZ_PER_MHZ
from formulations.types import InputError

MAX_ARRAY_SIDE = 4096  # PEs per array side (4,096 x 4,096 is 256 TPU v1 arrays of 256 x 256)
MAX_SHARE_STEPS = 64  # buffer or bandwidth shares in 1/steps
MAX_PHASES = 12  # phases of a time-varying mix (e.g. the hours of a day in 2-hour blocks)
MAX_RECONFIGURATION_CYCLES = 10**12  # cycles lost per reconfiguration (1.4 ks at 700 MHz)
# Model size bound (exit 2 beyond it, naming the key). The cost model is evaluated on
# every (rows, cols, buffer steps, bandwidth steps) of each DNN: the shipped 16 x 16 tiles
# x 8 x 8 shares are 16,384 entries (about 0.07 s CPU per DNN and design); the bound is 64x
# that (32 x 32 tiles x 32 x 32 shares, benchmarks/scaling.py's 4x array): measured for
# ResNet-50, 3.9 s CPU and 380 MB peak RSS per DNN and design.
MAX_GRID_ENTRIES = 2**20


# Objective weights (dimensionless, or s per inference as 1 / throughput): the shipped ones
# span 1.1e-6..100; beyond these bounds weighted throughputs leave HiGHS's numerical range
# (a weight of 1e30 ends the solve with status "Unknown").
MIN_WEIGHT = 1e-9
MAX_WEIGHT = 1e6


class Objective(StrEnum):
    MAX_MIN_NORMALISED = "max_min_normalised"  # max over plans of min_j throughput_j / weight_j
    MAX_WEIGHTED = "max_weighted"  # max sum_j weight_j * throughput_j


class ArraySpec(BaseModel):
    """``[array]``: the physical PE array, its buffer and its DRAM interface."""

    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)

    rows: int = Field(gt=0, le=MAX_ARRAY_SIDE, description="PE rows")
    cols: int = Field(gt=0, le=MAX_ARRAY_SIDE, description="PE columns")
    tile: int = Field(gt=0, description="logical accelerators are multiples of tile x tile PEs")
    clock_mhz: float = Field(gt=0, le=10_000, allow_inf_nan=False)
    word_bytes: int = Field(1, gt=0, le=8, description="bytes per operand (1 = int8)")
    buffer_mib: float = Field(
        gt=0, allow_inf_nan=False, description="on-chip buffer shared by all accelerators"
    )
    buffer_share_steps: int = Field(
        8, gt=0, le=MAX_SHARE_STEPS, description="buffer shares in 1/steps"
    )
    dram_gb_per_s: float = Field(
        gt=0, allow_inf_nan=False, description="DRAM bandwidth, 1e9 bytes/s"
    )
    bandwidth_share_steps: int = Field(
        8, gt=0, le=MAX_SHARE_STEPS, description="DRAM shares in 1/steps"
    )

    @model_validator(mode="after")
    def _tile_divides(self) -> Self:
        if self.rows % self.tile or self.cols % self.tile:
            raise ValueError(
                f"tile ({self.tile}) must divide rows ({self.rows}) and cols ({self.cols})"
            )
        tiles = (self.rows // self.tile) * (self.cols // self.tile)
        entries = tiles * self.buffer_share_steps * self.bandwidth_share_steps
        if entries > MAX_GRID_ENTRIES:
            # share steps are at most 64 each, so beyond the bound the tiles dominate
            raise InputError(
                None,
                "array.tile",
                f"a candidate grid of at most {MAX_GRID_ENTRIES:,} entries per DNN "
                f"((rows / tile) x (cols / tile) x buffer_share_steps x bandwidth_share_steps "
                f"= {tiles:,} x {self.buffer_share_steps} x {self.bandwidth_share_steps} "
                f"= {entries:,}): a larger tile",
                self.tile,
            )
        return self


class DnnSpec(BaseModel):
    """``[[dnns]]``: one network that runs concurrently with the others."""

    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)

    name: str = Field(min_length=1)
    network: str = Field(description=f"one of {', '.join(NETWORKS)}")
    batch: int = Field(1, gt=0, le=4096, description="inferences per pass")
    weight: float = Field(
        1.0,
        ge=MIN_WEIGHT,
        le=MAX_WEIGHT,
        allow_inf_nan=False,
        description="throughput is normalised by this weight",
    )
    min_throughput_inferences_per_s: float = Field(0.0, ge=0, allow_inf_nan=False)

    @field_validator("network")
    @classmethod
    def _known_network(cls, value: str) -> str:
        if value not in NETWORKS:
            raise ValueError(f"one of {', '.join(NETWORKS)}")
        return value


class PhaseDnn(BaseModel):
    """``[[phases.dnns]]``: a DNN of ``[[dnns]]`` present in the phase; ``weight`` and the
    floor default to the DNN's own."""

    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)

    name: str = Field(min_length=1, description="a name of [[dnns]]")
    weight: float | None = Field(None, ge=MIN_WEIGHT, le=MAX_WEIGHT, allow_inf_nan=False)
    min_throughput_inferences_per_s: float | None = Field(None, ge=0, allow_inf_nan=False)


class PhaseSpec(BaseModel):
    """``[[phases]]``: a stretch of time with its own DNN mix."""

    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)

    name: str = Field(min_length=1)
    duration_s: float = Field(gt=0, le=10**9, allow_inf_nan=False)
    dnns: list[PhaseDnn] = Field(min_length=1, max_length=16)

    @field_validator("dnns")
    @classmethod
    def _unique_names(cls, value: list[PhaseDnn]) -> list[PhaseDnn]:
        return _distinct(value, "DNN")


@dataclass(frozen=True)
class Phase:
    """One phase as the model sees it: its DNNs with their weights and floors resolved.

    ``previous[j]``: the index of the last phase before this one in which DNN ``j`` ran
    (wrapping round when the phases are cyclic), whose accelerator this one is compared
    with for the reconfiguration charge; absent for a DNN's first appearance."""

    name: str | None  # None: the scenario has no phases
    duration_s: float
    dnns: tuple[DnnSpec, ...]
    previous: dict[str, int]


def _distinct(value: list[Any], what: str) -> list[Any]:
    names = [item.name for item in value]
    if len(set(names)) != len(names):
        raise ValueError(f"distinct {what} names (got {names})")
    return value


class PolymorphicInputs(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)

    objective: Objective = Objective.MAX_MIN_NORMALISED
    cross_layer_reuse: bool = True
    array: ArraySpec
    # Planaria's fission granularity: its 128 x 128 array splits into 16 pods of 32 x 32
    # (Ghodrati et al., MICRO 2020, section 4); PEs, a multiple of the tile.
    pod: int = Field(32, gt=0)
    dnns: list[DnnSpec] = Field(min_length=1, max_length=16)
    # time-varying mix (docs/polymorphic.md, "Phases"); none: one mix all the time
    phases: list[PhaseSpec] = Field(default_factory=list, max_length=MAX_PHASES)
    # cycles a logical accelerator is idle when its shape, buffer or bandwidth share changes between
    # two phases in which its DNN runs (required with phases)
    reconfiguration_cycles: int | None = Field(
        None, ge=0, le=MAX_RECONFIGURATION_CYCLES, strict=True
    )
    cyclic_phases: bool = False  # True: the last phase is followed by the first again

    @field_validator("dnns")
    @classmethod
    def _unique_names(cls, value: list[DnnSpec]) -> list[DnnSpec]:
        return _distinct(value, "DNN")

    @field_validator("phases")
    @classmethod
    def _unique_phases(cls, value: list[PhaseSpec]) -> list[PhaseSpec]:
        return _distinct(value, "phase")

    @model_validator(mode="after")
    def _phases_consistent(self) -> Self:
        if not self.phases:
            for key in ("reconfiguration_cycles", "cyclic_phases"):
                if getattr(self, key) not in (None, False):
                    raise InputError(None, key, "no such key without phases", getattr(self, key))
            return self
        if self.reconfiguration_cycles is None:
            raise InputError(
                None,
                "reconfiguration_cycles",
                "cycles lost per reconfiguration (required with phases)",
            )
        known = {d.name for d in self.dnns}
        for index, phase in enumerate(self.phases):
            for k, dnn in enumerate(phase.dnns):
                if dnn.name not in known:
                    raise InputError(
                        None,
                        f"phases[{index}].dnns[{k}].name",
                        f"a name listed in dnns {sorted(known)}",
                        dnn.name,
                    )
            reconfiguration_s = self.reconfiguration_cycles / (self.array.clock_mhz * HZ_PER_MHZ)
            if reconfiguration_s >= phase.duration_s:
                raise InputError(
                    None,
                    f"phases[{index}].duration_s",
                    f"longer than one reconfiguration ({reconfiguration_s:.6g} s)",
                    phase.duration_s,
                )
        idle = sorted(known - {d.name for phase in self.phases for d in phase.dnns})
        if idle:
            raise InputError(None, "dnns", "every DNN in the dnns of some phase", idle)
        return self

    def phase_list(self) -> list[Phase]:
        """The phases with resolved DNNs (one phase of every DNN when none are given)."""
        if not self.phases:
            return [Phase(None, 1.0, tuple(self.dnns), {})]
        spec = {d.name: d for d in self.dnns}
        mixes = [
            tuple(
                spec[d.name].model_copy(
                    update={
                        key: value
                        for key, value in (
                            ("weight", d.weight),
                            ("min_throughput_inferences_per_s", d.min_throughput_inferences_per_s),
                        )
                        if value is not None
                    }
                )
                for d in phase.dnns
            )
            for phase in self.phases
        ]
        count = len(self.phases)
        out = []
        for p, phase in enumerate(self.phases):
            previous = {}
            for dnn in mixes[p]:
                earlier = (
                    range(p - 1, p - 1 - count, -1) if self.cyclic_phases else range(p - 1, -1, -1)
                )
                for q in earlier:
                    if any(d.name == dnn.name for d in mixes[q % count]) and q % count != p:
                        previous[dnn.name] = q % count
                        break
            out.append(Phase(phase.name, phase.duration_s, mixes[p], previous))
        return out

    def expected_mix(self) -> PolymorphicInputs:
        """The phases folded into one mix (for a partition chosen once): every DNN with its
        time-averaged weight (0 while absent) and its largest floor; itself when unphased."""
        if not self.phases:
            return self
        total_s = sum(p.duration_s for p in self.phases)
        dnns = []
        for dnn in self.dnns:
            present = [
                (phase.duration_s, d)
                for phase in self.phase_list()
                for d in phase.dnns
                if d.name == dnn.name
            ]
            dnns.append(
                dnn.model_copy(
                    update={
                        "weight": sum(s * d.weight for s, d in present) / total_s,
                        "min_throughput_inferences_per_s": max(
                            d.min_throughput_inferences_per_s for _, d in present
                        ),
                    }
                )
            )
        return self.model_copy(
            update={
                "dnns": dnns,
                "phases": [],
                "reconfiguration_cycles": None,
                "cyclic_phases": False,
            }
        )

    def tie_break(self, minimum: float) -> PolymorphicInputs:
        """The max-min tie-break (:func:`.formulation.solve_design`): maximise the
        time-averaged sum of normalised throughputs (weights ``1 / weight``) with every
        DNN's floor raised to ``minimum x weight`` in every phase."""

        def raised(weight: float, floor: float) -> dict[str, Any]:
            return {
                "weight": 1 / weight,
                "min_throughput_inferences_per_s": max(floor, minimum * weight),
            }

        dnns = [
            d.model_copy(update=raised(d.weight, d.min_throughput_inferences_per_s))
            for d in self.dnns
        ]
        phases = [
            spec.model_copy(
                update={
                    "dnns": [
                        PhaseDnn(name=d.name, **raised(d.weight, d.min_throughput_inferences_per_s))
                        for d in resolved.dnns
                    ]
                }
            )
            for spec, resolved in zip(
                self.phases, self.phase_list() if self.phases else [], strict=True
            )
        ]
        return self.model_copy(
            update={"objective": Objective.MAX_WEIGHTED, "dnns": dnns, "phases": phases}
        )

    def reconfiguration_share(self, phase: Phase) -> float:
        """``rho_p``: the share of the phase a reconfigured accelerator is idle (0..1)."""
        cycles = self.reconfiguration_cycles or 0
        return cycles / (self.array.clock_mhz * HZ_PER_MHZ) / phase.duration_s

    @field_validator("pod")
    @classmethod
    def _pod_on_grid(cls, value: int, info: ValidationInfo) -> int:
        array = info.data.get("array")
        if array is not None and (value % array.tile or array.rows % value or array.cols % value):
            raise ValueError(
                f"a multiple of the tile ({array.tile}) dividing rows ({array.rows}) and cols "
                f"({array.cols}) (got {value})"
            )
        return value
