"""Scenario inputs of the ``ppipe`` kind, and the loader of PPipe's published instances.

A scenario either lists its GPU pools and models itself (``[[gpus]]``, ``[[models]]``) or
names one of PPipe's 90 published planning instances (``[published_instance]`` with the
``instances.json`` file and the instance key); the loader expands the latter into the
former, reading latency tables from the folder that holds ``instances.json``.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, model_validator

from cost_models.ppipe.tables import MAX_BATCH_BY_MPS
from formulations.types import DataFile, DataFolder, InputError

Mode = Literal["compat", "general"]

# Sane ranges of the scenario's numbers (issue 19): every number is finite, and these bounds
# are far beyond any real cluster or model while keeping the MILP's coefficients sane.
MAX_GPUS_PER_TYPE = 100_000  # GPUs of one type (PPipe's clusters: 100 GPUs in all)
MAX_GPUS_PER_SERVER = 64  # GPUs sharing one NIC (8 on DGX-class servers)
MAX_GPU_TYPES = 8  # GPU types in one scenario (PPipe: 2)
MAX_MODELS = 32  # models served together (PPipe: 3)
MAX_SLO_US = 1e9  # 1000 s: any end-to-end latency SLO, us
MAX_RATE_QPS = 1e9  # request-rate estimate, requests/s
MAX_WEIGHT = 1e6  # workload weight (PPipe's: 0.3-0.37)
MIN_BANDWIDTH_GBIT_PER_S = 1e-3  # 1 Mbit/s NIC; below, no cut crosses in any SLO
MAX_BANDWIDTH_GBIT_PER_S = 1e5  # 100 Tbit/s NIC (PPipe's: 10 Gbit/s)
MAX_BATCH_BUILD_FACTOR = 100.0  # multiple of the batch-gathering time (PPipe's: 1.3)
Name = Annotated[str, Field(min_length=1, max_length=200)]


class GpuPool(BaseModel):
    """One GPU type and how many of it the cluster has."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: Name = Field(description="GPU type (a cost_models.devices name, e.g. L4, T4)")
    count: int = Field(ge=0, le=MAX_GPUS_PER_TYPE, description="GPUs of this type in the cluster")
    gpus_per_server: int = Field(
        ge=1, le=MAX_GPUS_PER_SERVER, description="GPUs sharing one server NIC"
    )
    max_mps_level: int = Field(
        1, ge=1, le=max(MAX_BATCH_BY_MPS), description="MPS levels 1..max_mps_level are allowed"
    )
    low_class: bool = Field(False, description="counts towards the low-class GPU share")


class ModelDemand(BaseModel):
    """One CNN to serve: where its chunk latencies come from, its SLO and workload weight."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: Name = Field(description="published model name, or a key of cost_models CNN_SPECS")
    source: Literal["published", "analytical"] = "published"
    weight: float = Field(
        1.0,
        gt=0,
        le=MAX_WEIGHT,
        allow_inf_nan=False,
        description="workload weight (objective: min tput/weight)",
    )
    slo_us: float = Field(
        gt=0, le=MAX_SLO_US, allow_inf_nan=False, description="end-to-end latency SLO, us"
    )
    slo_reserve_us: float = Field(
        0.0, ge=0, allow_inf_nan=False, description="latency held back when planning, us"
    )
    est_throughput_qps: float = Field(
        gt=0,
        le=MAX_RATE_QPS,
        allow_inf_nan=False,
        description="estimated request rate, requests/s: sets the batch-building delay "
        "batch_build_factor x (batch - 1) / est_throughput_qps",
    )
    chunks: int = Field(10, ge=1, le=64, description="pre-partition chunks (analytical only)")

    @model_validator(mode="after")
    def _reserve_within_slo(self) -> ModelDemand:
        if self.slo_reserve_us >= self.slo_us:
            raise ValueError(
                f"slo_reserve_us below slo_us (got {self.slo_reserve_us} >= {self.slo_us})"
            )
        return self


class PublishedInstance(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    file: DataFile = Field(description="PPipe's instances.json")
    key: Name = Field(description="instance key, e.g. maf19/L4-T4/0.3-0.33-0.37/<dnns>")


class PPipeInputs(BaseModel):
    """Everything a ``kind = "ppipe"`` scenario holds besides kind/name/description/solver."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    mode: Mode = Field(
        "compat",
        description="compat: PPipe's MILP; general: several "
        "pipelines with different cuts per GPU-type sequence",
    )
    compare_modes: bool = Field(True, description="also solve the other mode and report it")
    gpus: list[GpuPool] = Field(min_length=1, max_length=MAX_GPU_TYPES)
    models: list[ModelDemand] = Field(min_length=1, max_length=MAX_MODELS)
    max_partitions: int = Field(2, ge=1, le=4)
    bandwidth_gbit_per_s: float = Field(
        ge=MIN_BANDWIDTH_GBIT_PER_S,
        le=MAX_BANDWIDTH_GBIT_PER_S,
        allow_inf_nan=False,
        description="server NIC bandwidth, Gbit/s",
    )
    batch_build_factor: float = Field(1.3, ge=0, le=MAX_BATCH_BUILD_FACTOR, allow_inf_nan=False)
    same_batch_across_partitions: bool = True
    integer_gpus_per_partition_index: bool = True
    reference_dir: DataFolder | None = Field(
        None, description="folder in PPipe's published layout (block_latency_us/, cut_bytes/)"
    )

    @model_validator(mode="before")
    @classmethod
    def _expand_published_instance(cls, data: Any, info: ValidationInfo) -> Any:
        if not isinstance(data, dict) or "published_instance" not in data:
            return data
        rest = {k: v for k, v in data.items() if k != "published_instance"}
        ref = PublishedInstance.model_validate(data["published_instance"], context=info.context)
        instances = load_instances(ref.file)
        if ref.key not in instances:
            raise ValueError(
                f"published_instance.key: one of the {len(instances)} keys of "
                f"{ref.file} (got {ref.key!r})"
            )
        try:
            expanded = instance_inputs(instances[ref.key], ref.file.parent.resolve())
        except (KeyError, TypeError, ValueError, AttributeError) as error:
            raise InputError(
                ref.file,
                f"{ref.key}",
                "a PPipe instance object with gpus, gpu_limits, gpus_per_server, mps_levels, "
                "dnns, workload_weights, per_dnn, max_partitions, bw_gbps, batch_build_factor "
                "and the two options, as in PPipe's instances.json",
                f"{type(error).__name__}: {error}",
            ) from None
        return {**expanded, **rest}

    @model_validator(mode="after")
    def _check(self) -> PPipeInputs:
        names = [gpu.name for gpu in self.gpus]
        if len(set(names)) != len(names):
            raise ValueError(f"gpus: distinct GPU types (got {names})")
        models = [model.name for model in self.models]
        if len(set(models)) != len(models):
            raise ValueError(f"models: distinct model names (got {models})")
        return self


def load_instances(path: Path) -> dict[str, dict[str, Any]]:
    """PPipe's published planning instances, by key (see shared/reference/README.md)."""
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as error:
        raise InputError(path, "instances", f"a readable UTF-8 JSON object ({error})") from None
    except RecursionError:
        raise InputError(path, "instances", "JSON nested to a sane depth") from None
    if not isinstance(data, dict):
        raise InputError(path, "instances", "a JSON object keyed by instance")
    return data


def instance_inputs(instance: dict[str, Any], reference_dir: Path) -> dict[str, Any]:
    """Raw :class:`PPipeInputs` fields for one published instance (the second GPU is low-class,
    as in every published instance: T4 or P4 next to L4 or V100). The published file spells
    rates ``est_throughput_rps`` and the NIC ``bw_gbps`` (Gbit/s); they become
    ``est_throughput_qps`` and ``bandwidth_gbit_per_s`` here."""
    gpus = [
        {
            "name": name,
            "count": count,
            "gpus_per_server": per_server,
            "max_mps_level": mps,
            "low_class": index == 1,
        }
        for index, (name, count, per_server, mps) in enumerate(
            zip(
                instance["gpus"],
                instance["gpu_limits"],
                instance["gpus_per_server"],
                instance["mps_levels"],
                strict=True,
            )
        )
    ]
    models = [
        {
            "name": dnn,
            "source": "published",
            "weight": weight,
            "slo_us": instance["per_dnn"][dnn]["slo_us"],
            "slo_reserve_us": instance["per_dnn"][dnn]["slo_reserve_us"],
            "est_throughput_qps": instance["per_dnn"][dnn]["est_throughput_rps"],
        }
        for dnn, weight in zip(instance["dnns"], instance["workload_weights"], strict=True)
    ]
    return {
        "gpus": gpus,
        "models": models,
        "max_partitions": instance["max_partitions"],
        "bandwidth_gbit_per_s": instance["bw_gbps"],
        "batch_build_factor": instance["batch_build_factor"],
        "same_batch_across_partitions": instance["same_batch_across_partitions"],
        "integer_gpus_per_partition_index": instance["integer_gpus_per_partition_index"],
        "reference_dir": str(reference_dir),
    }
