"""Cost models of LLM serving with continuous batching (``kind = "llm"``).

* :mod:`cost_models.llm.catalog`: the models (layers, heads, KV heads, head dim, FFN
  width, vocabulary, from each model's published ``config.json``) and the GPUs (the shared
  device catalog plus A100-80GB, with interconnects and prices);
* :mod:`cost_models.llm.latency`: prefill and decode iteration latency from a roofline of
  the model's GEMMs and attention, KV-cache bytes per token, the KV capacity of a replica;
* :mod:`cost_models.llm.capacity`: per request-length bucket, the highest request rate one
  replica sustains within the TTFT and TPOT SLOs (continuous batching, request-level
  static batching, prefill-only and decode-only replicas);
* :mod:`cost_models.llm.melange`: the reader of Melange's published example inputs.

The equations and their sources are in ``docs/llm.md``.
"""
