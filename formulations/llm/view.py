"""The cost-model view of an ``llm`` scenario: buckets, pools and their per-replica rates.

A *pool* is a GPU type, a tensor-parallel degree and a role: ``both`` (a colocated replica
runs prefill and decode with continuous batching), or ``prefill`` / ``decode`` (separate
pools, offered with ``allow_disaggregation``). A replica of a pool uses ``tp`` GPUs.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from enum import StrEnum

import numpy as np

from cost_models.llm import capacity
from cost_models.llm.capacity import Buckets, Rates
from cost_models.llm.catalog import LlmModel, gpu, model
from cost_models.llm.latency import LatencyParams, Replica, calibrated_fp16_efficiency
from cost_models.llm.melange import load as load_melange
from cost_models.units import MS_PER_S, gbit_per_s_to_bytes_per_s
from formulations.llm.inputs import GpuSpec, LlmInputs


class Role(StrEnum):
    BOTH = "both"
    PREFILL = "prefill"
    DECODE = "decode"


class Batching(StrEnum):
    CONTINUOUS = "continuous"  # iteration-level scheduling (Orca, vLLM)
    STATIC = "static"  # request-level batches (the baseline)


@dataclass(frozen=True)
class Pool:
    gpu: str
    tp: int
    role: Role
    max_num_seqs: int
    price_usd_per_h: float  # per GPU

    @property
    def key(self) -> str:
        return f"{self.gpu}/tp{self.tp}/{self.role.value}"

    @property
    def replica_price_usd_per_h(self) -> float:
        return self.tp * self.price_usd_per_h


@dataclass(frozen=True)
class LlmView:
    inputs: LlmInputs
    slice_factor: int
    bucket_labels: tuple[str, ...]
    rate_qps: np.ndarray  # per bucket
    buckets: Buckets | None  # mean and edge lengths (None with profiled rates only)
    pools: tuple[Pool, ...]
    # per pool key and batching: the per-replica rate table (0: the pool cannot serve it)
    rates: dict[tuple[str, Batching], Rates]
    replicas: dict[tuple[str, int], Replica]  # (gpu, tp) -> latency model (cost model only)
    max_gpus: dict[str, int | None]
    kv_bytes_per_request: np.ndarray | None  # prompt KV bytes moved prefill -> decode
    kv_link_bytes_per_s: float
    llm: LlmModel | None
    ttft_slo_s: float | None
    tpot_slo_s: float | None

    def pool(self, key: str) -> Pool | None:
        return next((p for p in self.pools if p.key == key), None)

    def cap(self, key: str, batching: Batching) -> np.ndarray | None:
        """Per bucket, the highest rate one replica of pool ``key`` sustains (None when the
        batching policy has no table for that pool)."""
        table = self.rates.get((key, batching))
        return None if table is None else table.rate_qps

    def slice_rate_qps(self, bucket: int) -> float:
        return float(self.rate_qps[bucket]) / self.slice_factor


def _label(lo_in: int, hi_in: int, lo_out: int, hi_out: int) -> str:
    return f"in {lo_in}-{hi_in} / out {lo_out}-{hi_out}"


def _buckets(inputs: LlmInputs) -> tuple[list[str], Buckets | None]:
    workload = inputs.workload
    assert workload is not None
    rows, cols = len(workload.shares), len(workload.shares[0])
    if workload.input_edges_tokens is None or workload.output_edges_tokens is None:
        return [f"bucket ({i},{j})" for i in range(rows) for j in range(cols)], None
    ie, oe = workload.input_edges_tokens, workload.output_edges_tokens
    cells = [(i, j) for i in range(rows) for j in range(cols)]
    labels = [_label(ie[i], ie[i + 1], oe[j], oe[j + 1]) for i, j in cells]
    lo_in = np.array([ie[i] for i, _ in cells], dtype=float)
    hi_in = np.array([ie[i + 1] for i, _ in cells], dtype=float)
    lo_out = np.array([oe[j] for _, j in cells], dtype=float)
    hi_out = np.array([oe[j + 1] for _, j in cells], dtype=float)
    mid_in, mid_out = (lo_in + hi_in) / 2, (lo_out + hi_out) / 2
    return labels, Buckets(mid_in, mid_out, lo_in, hi_in, lo_out, hi_out)


def _latency_params(inputs: LlmInputs) -> LatencyParams:
    spec = inputs.cost_model
    params = LatencyParams(
        spec.compute_efficiency or calibrated_fp16_efficiency(),
        gpu_memory_utilization=spec.gpu_memory_utilization,
    )
    if spec.memory_efficiency is not None:
        params = replace(params, memory_efficiency=spec.memory_efficiency)
    if spec.iteration_overhead_ms is not None:
        params = replace(params, iteration_overhead_s=spec.iteration_overhead_ms / MS_PER_S)
    return params


def _melange_inputs(inputs: LlmInputs) -> LlmInputs:
    """The Melange example as ordinary profiled inputs."""
    assert inputs.melange is not None
    example = load_melange(inputs.melange.path)
    return inputs.model_validate(
        {
            **inputs.model_dump(exclude={"melange"}),
            "workload": {"total_rate_qps": example.total_rate_qps, "shares": example.shares},
            "gpus": [
                {"name": name, "price_usd_per_h": price, "max_rate_qps": example.max_rate_qps[name]}
                for name, price in example.price_usd_per_h.items()
            ],
        }
    )


def prepare(inputs: LlmInputs) -> LlmView:
    planned = _melange_inputs(inputs) if inputs.melange is not None else inputs
    workload = planned.workload
    assert workload is not None
    labels, buckets = _buckets(planned)
    rate = workload.total_rate_qps * np.array([s for row in workload.shares for s in row])
    llm = model(planned.model.name) if planned.model is not None else None
    slo = planned.slo
    ttft_s = slo.ttft_ms / MS_PER_S if slo is not None else None
    tpot_s = slo.tpot_ms / MS_PER_S if slo is not None else None
    params = _latency_params(planned)
    link = gbit_per_s_to_bytes_per_s(planned.kv_link_gbit_per_s)
    kv_bytes = None
    if llm is not None and buckets is not None:
        kv_bytes = buckets.input_tokens * llm.kv_bytes_per_token
    pools: list[Pool] = []
    rates: dict[tuple[str, Batching], Rates] = {}
    replicas: dict[tuple[str, int], Replica] = {}
    for spec in planned.gpus:
        pools_of, tables = _pools_of(spec, planned, llm, buckets, params, ttft_s, tpot_s, link)
        pools += pools_of
        rates.update(tables)
        if llm is not None and spec.max_rate_qps is None:
            for tp in spec.tp_degrees:
                replicas[spec.name, tp] = Replica(llm, gpu(spec.name), tp, params)
    return LlmView(
        inputs=planned,
        slice_factor=planned.slice_factor,
        bucket_labels=tuple(labels),
        rate_qps=rate,
        buckets=buckets,
        pools=tuple(pools),
        rates=rates,
        replicas=replicas,
        max_gpus={g.name: g.max_count for g in planned.gpus},
        kv_bytes_per_request=kv_bytes,
        kv_link_bytes_per_s=link,
        llm=llm,
        ttft_slo_s=ttft_s,
        tpot_slo_s=tpot_s,
    )


def _pools_of(
    spec: GpuSpec,
    inputs: LlmInputs,
    llm: LlmModel | None,
    buckets: Buckets | None,
    params: LatencyParams,
    ttft_s: float | None,
    tpot_s: float | None,
    link_bytes_per_s: float,
) -> tuple[list[Pool], dict[tuple[str, Batching], Rates]]:
    """The pools of one GPU type and their rate tables."""
    if spec.max_rate_qps is not None:
        assert spec.price_usd_per_h is not None
        pool = Pool(spec.name, 1, Role.BOTH, spec.max_num_seqs, spec.price_usd_per_h)
        profiled = np.array([r for row in spec.max_rate_qps for r in row], dtype=float)
        zeros = np.zeros_like(profiled)
        return [pool], {(pool.key, Batching.CONTINUOUS): Rates(profiled, zeros, zeros, zeros)}
    assert llm is not None and buckets is not None and ttft_s is not None and tpot_s is not None
    device = gpu(spec.name)
    price = spec.price_usd_per_h or device.price_usd_per_h
    roles = [Role.BOTH, Role.PREFILL, Role.DECODE] if inputs.allow_disaggregation else [Role.BOTH]
    pools, tables = [], {}
    for tp in spec.tp_degrees:
        replica = Replica(llm, device, tp, params)
        transfer_s = buckets.input_tokens * llm.kv_bytes_per_token / link_bytes_per_s
        m = spec.max_num_seqs
        for role in roles:
            pool = Pool(spec.name, tp, role, m, price)
            pools.append(pool)
            if role is Role.BOTH:
                tables[pool.key, Batching.CONTINUOUS] = capacity.continuous_rates(
                    replica, buckets, ttft_s, tpot_s, m
                )
                tables[pool.key, Batching.STATIC] = capacity.static_rates(
                    replica, buckets, ttft_s, tpot_s, m
                )
            elif role is Role.PREFILL:
                tables[pool.key, Batching.CONTINUOUS] = capacity.prefill_only_rates(
                    replica, buckets, ttft_s, transfer_s
                )
            else:
                tables[pool.key, Batching.CONTINUOUS] = capacity.decode_only_rates(
                    replica, buckets, tpot_s, m
                )
    return pools, tables
