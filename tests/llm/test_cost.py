"""Golden numbers of the LLM cost model, derived by hand in the comments."""

from __future__ import annotations

import numpy as np
import pytest

from cost_models.llm import capacity
from cost_models.llm.capacity import Buckets
from cost_models.llm.catalog import GPUS, MODELS
from cost_models.llm.latency import LatencyParams, Replica


def replica(model: str = "llama-2-7b", gpu: str = "A100-80GB", tp: int = 1) -> Replica:
    return Replica(MODELS[model], GPUS[gpu], tp, LatencyParams(compute_efficiency=0.5))


def test_kv_bytes_per_token() -> None:
    # 2 (K, V) x layers x KV heads x head dim x 2 bytes
    assert MODELS["llama-2-7b"].kv_bytes_per_token == 2 * 32 * 32 * 128 * 2 == 524_288
    assert MODELS["llama-2-13b"].kv_bytes_per_token == 2 * 40 * 40 * 128 * 2 == 819_200
    assert MODELS["llama-2-70b"].kv_bytes_per_token == 2 * 80 * 8 * 128 * 2 == 327_680  # GQA
    assert MODELS["mistral-7b"].kv_bytes_per_token == 2 * 32 * 8 * 128 * 2 == 131_072


def test_parameter_counts_match_the_published_sizes() -> None:
    # 7B: 32 x (4 x 4096^2 + 3 x 4096 x 11008) + 2 x 32000 x 4096 = 6,738,149,376 (HF: 6.74B)
    assert MODELS["llama-2-7b"].params == 6_738_149_376
    assert MODELS["llama-2-13b"].params / 1e9 == pytest.approx(13.0, rel=0.01)
    assert MODELS["llama-2-70b"].params / 1e9 == pytest.approx(69.0, rel=0.01)
    assert MODELS["mistral-7b"].params / 1e9 == pytest.approx(7.24, rel=0.01)


def test_decode_is_memory_bound_at_batch_one() -> None:
    # weights 13,476,298,752 B / (2039e9 B/s x 0.75) = 8.8124 ms; KV read+write
    # (600 + 1) x 524,288 B / 1.52925e12 B/s = 0.2060 ms; overhead 2 ms -> 11.018 ms
    assert float(replica().decode_s(1, 600)) * 1e3 == pytest.approx(11.0184, abs=1e-3)


def test_prefill_is_compute_bound_for_long_prompts() -> None:
    # 2000 tokens: 2 x 6,476,005,376 x 2000 + 2 x 32 x 4096 x 2000^2 + 2 x 4096 x 32000
    # = 2.6953e13 FLOP / (312e12 x 0.5) = 172.78 ms, + 2 ms overhead
    assert float(replica().prompt_s(2000)) * 1e3 == pytest.approx(174.78, abs=0.05)


def test_kv_capacity_and_largest_batch() -> None:
    # A10G: 24 GiB x 0.9 = 23.19e9 B - 13.476e9 B weights = 9.716e9 B / 524,288 = 18,532
    a10g = replica(gpu="A10G")
    assert int(a10g.kv_capacity_tokens) == 18_532
    assert float(a10g.max_batch(2000, 256)) == 9  # floor(18,532 / 2000)
    assert float(a10g.max_batch(10, 256)) == 256  # capped at max_num_seqs
    assert replica("llama-2-70b", "A10G").kv_capacity_tokens == 0  # 138 GB of weights


def test_tensor_parallel_adds_allreduce() -> None:
    # tp 2 on NVLink 300 GB/s: per layer 2 x (2 x 1/2 x 8192 B / 300e9 + 2 x 8 us) per token
    r = replica(tp=2)
    expected = 2 * 32 * (8192 / 300e9 + 2 * 8e-6)
    assert float(r.allreduce_s(1.0)) == pytest.approx(expected)


def _bucket(i: float, o: float) -> Buckets:
    a = np.array([i]), np.array([o])
    return Buckets(a[0], a[1], a[0], a[0], a[1], a[1])


def test_continuous_rate_binds_one_slo() -> None:
    r = replica()
    rates = capacity.continuous_rates(r, _bucket(500, 250), 1.0, 0.05, 256)
    assert rates.rate_qps[0] > 0
    binding = [rates.ttft_s[0] / 1.0, rates.tpot_s[0] / 0.05]
    assert max(binding) == pytest.approx(1.0, rel=1e-6) or rates.batch[0] == 256
    above = capacity.continuous_state(
        r, np.array([500.0]), np.array([250.0]), rates.rate_qps * 1.001, 1.0, 0.05, 256
    )
    assert not above.feasible[0]


def test_prefill_only_rate_is_the_md1_closed_form() -> None:
    r = replica()
    tau = float(r.prompt_s(1000))
    w = 0.5 - tau  # no transfer
    rates = capacity.prefill_only_rates(r, _bucket(1000, 100), 0.5, np.zeros(1))
    assert rates.rate_qps[0] == pytest.approx(2 * w / (tau**2 + 2 * w * tau))
    lam = rates.rate_qps[0]
    assert tau + lam * tau**2 / (2 * (1 - lam * tau)) == pytest.approx(0.5)


def test_static_batching_is_slower_than_continuous() -> None:
    r = replica()
    b = Buckets(*(np.array([v]) for v in (300.0, 300.0, 100.0, 500.0, 100.0, 500.0)))
    static = capacity.static_rates(r, b, 5.0, 0.1, 256)
    continuous = capacity.continuous_rates(r, b, 5.0, 0.1, 256)
    assert 0 < static.rate_qps[0] < continuous.rate_qps[0]


def test_decode_context_is_the_time_average_of_a_running_sequence() -> None:
    """A sequence with output o decodes o iterations at mean context I + o/2, so the time
    average over sequences weights o by its length: checked against the average over a
    fine grid of uniform output lengths, and equal to I + O/2 when all outputs are O."""
    lo, hi, i = 1.0, 200.0, 125.5
    o = np.linspace(lo, hi, 200_001)
    expected = float(np.sum(o * (i + o / 2)) / np.sum(o))
    buckets = capacity.Buckets(
        np.array([i, i]),
        np.array([(lo + hi) / 2, 50.0]),
        np.array([1.0, 1.0]),
        np.array([250.0, 250.0]),
        np.array([lo, 50.0]),
        np.array([hi, 50.0]),
    )
    context = capacity.decode_context_tokens(buckets)
    assert context[0] == pytest.approx(expected, rel=1e-6)  # 192.2, not I + O/2 = 175.75
    assert context[0] > i + (lo + hi) / 4
    assert context[1] == pytest.approx(i + 25.0)
