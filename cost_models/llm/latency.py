"""Prefill and decode iteration latency of one replica (a model on ``tp`` GPUs).

A roofline of the model's GEMMs and attention (the terms of DistServe's analytic latency
model, Zhong et al. OSDI '24, Appendix A, with its coefficients derived from the device's
peaks instead of fitted to profiles), per iteration:

    prefill of prompts with T tokens in all, sum of squared lengths Q, n prompts:
        flops = 2 P_blocks T + 2 L h Q + 2 h V n      (GEMMs; causal attention QK^T and AV;
                                                       LM head on each prompt's last token)
        bytes = W + T k                               (weights once; K and V written)
    decode of B sequences holding C context tokens in all:
        flops = (2 P_blocks + 2 h V) B + 4 L h C
        bytes = W + (C + B) k                         (weights, KV read and written)
    time = max(flops / (tp F eta_c), bytes / (tp M eta_m)) + allreduce(tokens) + o

with P_blocks the blocks' weights, L layers, h hidden size, V vocabulary, W weight bytes,
k KV bytes per token, F the FP16 tensor peak, M the HBM bandwidth, eta_c the calibrated
FP16 tensor-core efficiency of :mod:`cost_models.perf` (fitted with scipy to NVIDIA's
published BERT/ResNet measurements), eta_m the roofline's streaming-read efficiency, o a
per-iteration overhead (scheduler, sampling; an assumption, overridable). Decode is
memory-bound until ``B`` is large, which this max() expresses. Tensor parallelism splits
flops and bytes over ``tp`` GPUs and adds two ring all-reduces per layer of
``tokens x h`` FP16 values: ``2 (tp-1)/tp x bytes / link + 2 (tp-1) x alpha`` each.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from cost_models.devices import Precision
from cost_models.llm.catalog import BYTES_PER_FP16, LlmGpu, LlmModel
from cost_models.perf.calibration import load as load_calibration
from cost_models.roofline import DEFAULT_MEMORY_EFFICIENCY
from cost_models.units import BYTES_PER_GIB, gb_per_s_to_bytes_per_s

# vLLM's default share of GPU memory it may use (weights, activations, KV cache):
# vllm.engine.arg_utils.EngineArgs.gpu_memory_utilization = 0.90.
DEFAULT_GPU_MEMORY_UTILIZATION = 0.90
# Per-iteration fixed cost, seconds: scheduling, sampling, detokenisation and kernel
# launches of one vLLM step. ASSUMPTION: vLLM's v0.6 performance post (blog.vllm.ai,
# 2024-09-05) reports CPU overheads of a few ms per step before its fixes; 2 ms is used.
DEFAULT_ITERATION_OVERHEAD_S = 2e-3
# NCCL ring step latency on NVLink/PCIe, seconds. ASSUMPTION: small all-reduces take
# ~5-10 us per ring step in nccl-tests on DGX systems; 8 us is used.
DEFAULT_LINK_LATENCY_S = 8e-6
# vLLM's default cap on sequences in one batch (EngineArgs.max_num_seqs = 256).
DEFAULT_MAX_NUM_SEQS = 256


def calibrated_fp16_efficiency() -> float:
    """The calibrated performance model's achieved fraction of the FP16 tensor peak
    (``eta_tensor_fp16`` in cost_models/perf/calibration.json)."""
    return float(load_calibration().params.values["eta_tensor_fp16"])


@dataclass(frozen=True)
class LatencyParams:
    compute_efficiency: float
    memory_efficiency: float = DEFAULT_MEMORY_EFFICIENCY
    iteration_overhead_s: float = DEFAULT_ITERATION_OVERHEAD_S
    link_latency_s: float = DEFAULT_LINK_LATENCY_S
    gpu_memory_utilization: float = DEFAULT_GPU_MEMORY_UTILIZATION


@dataclass(frozen=True)
class Replica:
    """One serving instance: ``model`` sharded over ``tp`` GPUs of type ``gpu``."""

    model: LlmModel
    gpu: LlmGpu
    tp: int
    params: LatencyParams

    # ------------------------------------------------------------------ rates per second
    @property
    def flops_per_s(self) -> float:
        peak = self.gpu.device.peak_tflops(Precision.FP16) * 1e12
        return self.tp * peak * self.params.compute_efficiency

    @property
    def bytes_per_s(self) -> float:
        bandwidth = gb_per_s_to_bytes_per_s(self.gpu.device.memory_bandwidth_gb_per_s)
        return self.tp * bandwidth * self.params.memory_efficiency

    def allreduce_s(self, tokens: np.ndarray | float) -> np.ndarray:
        """Two ring all-reduces per layer of ``tokens x hidden`` FP16 values (0 at tp = 1)."""
        tokens = np.asarray(tokens, dtype=float)
        if self.tp == 1:
            return np.zeros_like(tokens)
        p = self.tp
        payload = tokens * self.model.hidden * BYTES_PER_FP16
        link = gb_per_s_to_bytes_per_s(self.gpu.link.bandwidth_gb_per_s)
        one = 2 * (p - 1) / p * payload / link + 2 * (p - 1) * self.params.link_latency_s
        return 2 * self.model.layers * one

    # ------------------------------------------------------------------ iterations
    def prefill_s(
        self, tokens: np.ndarray | float, squares: np.ndarray | float, prompts: np.ndarray | float
    ) -> np.ndarray:
        """One prefill iteration over prompts with ``tokens`` tokens in all, ``squares`` the
        sum of their squared lengths, ``prompts`` of them."""
        m = self.model
        t, q, n = (np.asarray(v, dtype=float) for v in (tokens, squares, prompts))
        flops = 2 * m.layer_params * t + 2 * m.layers * m.hidden * q + 2 * m.hidden * m.vocab * n
        moved = m.weight_bytes + t * m.kv_bytes_per_token
        busy = np.maximum(flops / self.flops_per_s, moved / self.bytes_per_s)
        return busy + self.allreduce_s(t) + self.params.iteration_overhead_s

    def prompt_s(self, prompt_tokens: np.ndarray | float) -> np.ndarray:
        """Prefill of one prompt of ``prompt_tokens`` tokens."""
        s = np.asarray(prompt_tokens, dtype=float)
        return self.prefill_s(s, s * s, np.ones_like(s))

    def decode_lines(
        self, context_tokens: np.ndarray | float
    ) -> list[tuple[np.ndarray, np.ndarray]]:
        """The decode iteration time as ``max_i (a_i + b_i B)`` over ``B`` sequences of mean
        context ``context_tokens``: one (intercept s, slope s per sequence) pair for the
        compute roof and one for the memory roof, communication and overhead included."""
        m = self.model
        c = np.asarray(context_tokens, dtype=float)
        fixed = self.params.iteration_overhead_s + self.allreduce_s(0.0)
        comm_slope = self.allreduce_s(1.0) - self.allreduce_s(0.0)
        flops_per_seq = 2 * m.layer_params + 2 * m.hidden * m.vocab + 4 * m.layers * m.hidden * c
        compute = (fixed + np.zeros_like(c), comm_slope + flops_per_seq / self.flops_per_s)
        memory = (
            fixed + m.weight_bytes / self.bytes_per_s + np.zeros_like(c),
            comm_slope + (c + 1) * m.kv_bytes_per_token / self.bytes_per_s,
        )
        return [compute, memory]

    def decode_s(self, batch: np.ndarray | float, context_tokens: np.ndarray | float) -> np.ndarray:
        """One decode iteration of ``batch`` sequences of mean context ``context_tokens``."""
        b = np.asarray(batch, dtype=float)
        return np.maximum.reduce([a + s * b for a, s in self.decode_lines(context_tokens)])

    # ------------------------------------------------------------------ memory
    @property
    def kv_capacity_tokens(self) -> float:
        """Tokens of KV cache the replica holds: ``tp`` GPUs' memory at vLLM's utilisation
        share, minus the weights (activation scratch is left out), over the bytes per token;
        0 when the weights do not fit."""
        memory = self.tp * self.gpu.device.memory_gib * BYTES_PER_GIB
        free = memory * self.params.gpu_memory_utilization - self.model.weight_bytes
        return max(0.0, free / self.model.kv_bytes_per_token)

    def max_batch(self, tokens_per_sequence: np.ndarray | float, max_num_seqs: int) -> np.ndarray:
        """The largest batch whose sequences of ``tokens_per_sequence`` tokens fit the KV
        cache, capped at ``max_num_seqs``."""
        per_seq = np.asarray(tokens_per_sequence, dtype=float)
        return np.minimum(np.floor(self.kv_capacity_tokens / per_seq), float(max_num_seqs))
