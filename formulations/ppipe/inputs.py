"""Scenario inputs of the ``ppipe`` kind, and the loader of PPipe's published instances.

A scenario either lists its GPU pools and models itself (``[[gpus]]``, ``[[models]]``) or
names one of PPipe's 90 published planning instances (``[published_instance]`` with the
``instances.json`` file and the instance key); the loader expands the latter into the
former, reading latency tables from the folder that holds ``instances.json``.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, model_validator

from cost_models.ppipe.tables import MAX_BATCH_BY_MPS
from formulations.types import DataPath, InputError

Mode = Literal["compat", "general"]


class GpuPool(BaseModel):
    """One GPU type and how many of it the cluster has."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = Field(description="GPU type (a cost_models.devices name, e.g. L4, T4)")
    count: int = Field(ge=0, description="GPUs of this type in the cluster")
    gpus_per_server: int = Field(ge=1, description="GPUs sharing one server NIC")
    max_mps_level: int = Field(
        1, ge=1, le=max(MAX_BATCH_BY_MPS), description="MPS levels 1..max_mps_level are allowed"
    )
    low_class: bool = Field(False, description="counts towards the low-class GPU share")


class ModelDemand(BaseModel):
    """One CNN to serve: where its chunk latencies come from, its SLO and workload weight."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = Field(description="published model name, or a key of cost_models CNN_SPECS")
    source: Literal["published", "analytical"] = "published"
    weight: float = Field(1.0, gt=0, description="workload weight (objective: min tput/weight)")
    slo_us: float = Field(gt=0, description="end-to-end latency SLO, microseconds")
    slo_reserve_us: float = Field(0.0, ge=0, description="latency held back when planning, us")
    est_throughput_qps: float = Field(gt=0, description="request rate for batch-build delay")
    chunks: int = Field(10, ge=1, le=64, description="pre-partition chunks (analytical only)")


class PublishedInstance(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    file: DataPath = Field(description="PPipe's instances.json")
    key: str = Field(description="instance key, e.g. maf19/L4-T4/0.3-0.33-0.37/<dnns>")


class PPipeInputs(BaseModel):
    """Everything a ``kind = "ppipe"`` scenario holds besides kind/name/description/solver."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    mode: Mode = Field(
        "compat",
        description="compat: PPipe's MILP; general: several "
        "pipelines with different cuts per GPU-type sequence",
    )
    compare_modes: bool = Field(True, description="also solve the other mode and report it")
    gpus: list[GpuPool] = Field(min_length=1)
    models: list[ModelDemand] = Field(min_length=1)
    max_partitions: int = Field(2, ge=1, le=4)
    bandwidth_gbit_per_s: float = Field(gt=0, description="server NIC bandwidth, Gbit/s")
    batch_build_factor: float = Field(1.3, ge=0)
    same_batch_across_partitions: bool = True
    integer_gpus_per_partition_index: bool = True
    reference_dir: DataPath | None = Field(
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
        return {**instance_inputs(instances[ref.key], ref.file.parent.resolve()), **rest}

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
        data = json.loads(Path(path).read_text())
    except (OSError, json.JSONDecodeError) as error:
        raise InputError(path, "instances", f"a readable JSON object ({error})") from None
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
