"""Models and GPUs of the LLM cost model, with public facts and their sources.

Model shapes are each model's published Hugging Face ``config.json`` (``num_hidden_layers``,
``hidden_size``, ``num_attention_heads``, ``num_key_value_heads``, ``intermediate_size``,
``vocab_size``); the head dim is ``hidden_size / num_attention_heads``. Weights and KV cache
are FP16 (2 bytes per element), as vLLM serves these models by default.

GPUs reuse :data:`cost_models.devices.DEVICES` (peak FP16 tensor rate, HBM bandwidth,
memory, on-demand price) and :data:`cost_models.perf.hardware.INTERCONNECTS` (the link a
tensor-parallel group all-reduces over); A100-80GB, absent from the shared catalog, is
defined here from its datasheet.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from cost_models.devices import DEVICES, DeviceType
from cost_models.errors import DataError
from cost_models.perf.hardware import INTERCONNECTS, Interconnect

BYTES_PER_FP16 = 2  # IEEE half precision: 16 bits


@dataclass(frozen=True)
class LlmModel:
    """A decoder-only transformer (Llama architecture: gated MLP, untied embeddings)."""

    name: str
    layers: int
    hidden: int
    heads: int
    kv_heads: int
    intermediate: int  # FFN width (gate, up and down projections)
    vocab: int
    max_context_tokens: int
    source: str

    @property
    def head_dim(self) -> int:
        return self.hidden // self.heads

    @property
    def layer_params(self) -> int:
        """Weights of the transformer blocks: Q and O (hidden^2 each), K and V (hidden x
        kv_heads x head_dim each), gate, up and down (hidden x intermediate each); the norms'
        vectors are negligible and left out."""
        kv_width = self.kv_heads * self.head_dim
        per_layer = (
            2 * self.hidden**2 + 2 * self.hidden * kv_width + 3 * self.hidden * self.intermediate
        )
        return self.layers * per_layer

    @property
    def params(self) -> int:
        """All weights: the blocks plus the input embedding and the (untied) LM head."""
        return self.layer_params + 2 * self.vocab * self.hidden

    @property
    def weight_bytes(self) -> float:
        return float(self.params * BYTES_PER_FP16)

    @property
    def kv_bytes_per_token(self) -> float:
        """KV-cache bytes one token occupies: K and V, per layer, per KV head, head dim."""
        return float(2 * self.layers * self.kv_heads * self.head_dim * BYTES_PER_FP16)


_HF = "Hugging Face {} config.json"
MODELS: dict[str, LlmModel] = {
    m.name: m
    for m in (
        # Llama 2 paper (Touvron et al. 2023) Table 1: 7B, 13B, 70B (GQA for 70B only), 4k context
        LlmModel(
            "llama-2-7b",
            32,
            4096,
            32,
            32,
            11008,
            32000,
            4096,
            _HF.format("meta-llama/Llama-2-7b-hf"),
        ),
        LlmModel(
            "llama-2-13b",
            40,
            5120,
            40,
            40,
            13824,
            32000,
            4096,
            _HF.format("meta-llama/Llama-2-13b-hf"),
        ),
        LlmModel(
            "llama-2-70b",
            80,
            8192,
            64,
            8,
            28672,
            32000,
            4096,
            _HF.format("meta-llama/Llama-2-70b-hf"),
        ),
        # Mistral 7B (Jiang et al. 2023) Table 1; sliding-window attention (4096) is not
        # modelled: contexts here stay within the window
        LlmModel(
            "mistral-7b",
            32,
            4096,
            32,
            8,
            14336,
            32000,
            8192,
            _HF.format("mistralai/Mistral-7B-v0.1"),
        ),
    )
}


@dataclass(frozen=True)
class LlmGpu:
    """A GPU type for LLM serving: the device, the link of a tensor-parallel group."""

    device: DeviceType
    link: Interconnect

    @property
    def name(self) -> str:
        return self.device.name

    @property
    def price_usd_per_h(self) -> float:
        return self.device.price_usd_per_h


_A100_80GB = replace(
    DEVICES["A100"],
    name="A100-80GB",
    memory_bandwidth_gb_per_s=2039.0,
    memory_gib=80.0,
    price_usd_per_h=5.12,
    source="NVIDIA A100 SXM4 80GB datasheet (312 FP16 tensor TFLOPS dense, 2039 GB/s, 80 GB, "
    "400 W); price: p4de.24xlarge $40.96/h / 8, AWS EC2 on-demand price list, us-east-1, 2024",
)
# catalog name -> (device, the device name its interconnect is listed under)
_GPU_DEVICES: dict[str, tuple[DeviceType, str]] = {
    "L4": (DEVICES["L4"], "L4"),
    "A10G": (DEVICES["A10G"], "A10G"),
    "A100-40GB": (replace(DEVICES["A100"], name="A100-40GB"), "A100"),
    "A100-80GB": (_A100_80GB, "A100"),
    "H100": (DEVICES["H100"], "H100"),
}
GPUS: dict[str, LlmGpu] = {
    name: LlmGpu(dev, INTERCONNECTS[link]) for name, (dev, link) in _GPU_DEVICES.items()
}


def model(name: str) -> LlmModel:
    try:
        return MODELS[name]
    except KeyError:
        raise DataError(None, "model.name", f"one of {', '.join(MODELS)} (got {name!r})") from None


def gpu(name: str) -> LlmGpu:
    try:
        return GPUS[name]
    except KeyError:
        raise DataError(None, "gpus.name", f"one of {', '.join(GPUS)} (got {name!r})") from None
