"""A seeded discrete-event replay of continuous batching, to check a plan's SLOs.

Every colocated pool's traffic (its slices' rates) is split evenly over its replicas, so one
replica of each pool is replayed with Poisson arrivals at ``rate / replicas`` per bucket,
request lengths uniform within the bucket's edges. The scheduler is vLLM's, simplified
(vllm/core/scheduler.py ``Scheduler._schedule_default``): when a request waits, the
sequence slots (``max_num_seqs``) and the KV cache (the request's full length reserved)
allow, one prompt is prefilled (one iteration of ``prefill_s``; the first token comes out
with it); otherwise one decode iteration of every running sequence (``decode_s`` at their
mean context) gives each one token. TTFT = first token - arrival; TPOT = (finish - first
token) / (output - 1). Disaggregated pools are not replayed (their rows say so).
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass

import numpy as np

from cost_models.llm.latency import Replica
from cost_models.units import MS_PER_S
from formulations.llm.deployment import LlmDeployment
from formulations.llm.view import Batching, LlmView, Role
from formulations.types import InputError

REQUESTS_PER_RUN = 1500  # requests replayed per replica and run
WARMUP_SHARE = 0.1  # first requests left out of the statistics (the empty start)


@dataclass(frozen=True)
class Replay:
    """Per-request results of one replica's replay (warm-up removed)."""

    ttft_s: np.ndarray
    tpot_s: np.ndarray


def replay_replica(
    replica: Replica,
    rate_qps: np.ndarray,
    input_range: tuple[np.ndarray, np.ndarray],
    output_range: tuple[np.ndarray, np.ndarray],
    max_num_seqs: int,
    requests: int,
    rng: np.random.Generator,
) -> Replay:
    """Replay ``requests`` Poisson arrivals of the buckets' mix on one replica."""
    total = float(rate_qps.sum())
    arrivals = np.cumsum(rng.exponential(1.0 / total, requests))
    bucket = rng.choice(len(rate_qps), size=requests, p=rate_qps / total)
    lo_in, hi_in = input_range
    lo_out, hi_out = output_range
    prompt = rng.integers(lo_in[bucket], hi_in[bucket], endpoint=True)
    output = np.maximum(rng.integers(lo_out[bucket], hi_out[bucket], endpoint=True), 1)
    capacity = replica.kv_capacity_tokens
    first = np.full(requests, np.nan)
    finish = np.full(requests, np.nan)
    waiting: deque[int] = deque()
    running: list[int] = []
    generated: dict[int, int] = {}
    reserved = 0.0
    now, nxt = 0.0, 0
    while nxt < requests or waiting or running:
        while nxt < requests and arrivals[nxt] <= now:
            waiting.append(nxt)
            nxt += 1
        head = waiting[0] if waiting else None
        if (
            head is not None
            and len(running) < max_num_seqs
            and reserved + prompt[head] + output[head] <= capacity
        ):
            waiting.popleft()
            now += float(replica.prompt_s(float(prompt[head])))
            first[head] = now
            reserved += prompt[head] + output[head]
            if output[head] <= 1:
                finish[head] = now
                reserved -= prompt[head] + output[head]
            else:
                generated[head] = 1
                running.append(head)
        elif running:
            ids = np.array(running)
            context = float(np.mean(prompt[ids] + np.array([generated[i] for i in running])))
            now += float(replica.decode_s(float(len(running)), context))
            still = []
            for i in running:
                generated[i] += 1
                if generated[i] >= output[i]:
                    finish[i] = now
                    reserved -= prompt[i] + output[i]
                    del generated[i]
                else:
                    still.append(i)
            running = still
        elif head is not None:  # the head does not fit an empty replica: it never will
            raise InputError(
                None,
                "gpus",
                f"a request of {prompt[head] + output[head]} tokens fitting the KV cache",
            )
        else:
            now = float(arrivals[nxt])
    keep = slice(int(WARMUP_SHARE * requests), None)
    ttft = (first - arrivals)[keep]
    long = (output > 1)[keep]
    tpot = ((finish - first)[keep][long]) / (output[keep][long] - 1)
    return Replay(ttft, tpot)


def simulate(view: LlmView, deployment: LlmDeployment, runs: int, seed: int) -> list[list[object]]:
    """One row per pool: replicas, replayed rate, mean TTFT/TPOT and the share of requests
    within each SLO (over ``runs`` seeded runs of :data:`REQUESTS_PER_RUN` requests)."""
    if view.buckets is None or view.ttft_slo_s is None or view.tpot_slo_s is None:
        raise InputError(
            None, "gpus", "a scenario with the cost model (profiled rates have no latency model)"
        )
    if deployment.batching is not Batching.CONTINUOUS:
        raise InputError(None, "batching", "a continuous-batching deployment to replay")
    b = view.buckets
    index = {label: i for i, label in enumerate(view.bucket_labels)}
    rows: list[list[object]] = []
    for plan in deployment.pools:
        pool = view.pool(plan.pool)
        if pool is None or plan.replicas == 0:
            continue
        rate = np.zeros(len(view.bucket_labels))
        for a in deployment.assignments:
            if a.pool == plan.pool:
                rate[index[a.bucket]] += view.slice_rate_qps(index[a.bucket]) * a.slices
        per_replica = rate / plan.replicas
        if pool.role is not Role.BOTH or per_replica.sum() <= 0:
            rows.append(
                [plan.pool, plan.replicas, float(per_replica.sum()), None, None, None, None]
            )
            continue
        replica = view.replicas[pool.gpu, pool.tp]
        ttft, tpot = [], []
        for run in range(runs):
            rng = np.random.default_rng([seed, run])
            result = replay_replica(
                replica,
                per_replica,
                (b.input_min_tokens, b.input_max_tokens),
                (b.output_min_tokens, b.output_max_tokens),
                pool.max_num_seqs,
                REQUESTS_PER_RUN,
                rng,
            )
            ttft.append(result.ttft_s)
            tpot.append(result.tpot_s)
        all_ttft, all_tpot = np.concatenate(ttft), np.concatenate(tpot)
        rows.append(
            [
                plan.pool,
                plan.replicas,
                float(per_replica.sum()),
                MS_PER_S * float(all_ttft.mean()),
                MS_PER_S * float(all_tpot.mean()),
                float(np.mean(all_ttft <= view.ttft_slo_s)),
                float(np.mean(all_tpot <= view.tpot_slo_s)),
            ]
        )
    return rows
