"""GPU-mix planning for LLM serving with continuous batching, Melange-style (see
``formulation.py``)."""

from formulations.llm.formulation import LlmFormulation

FORMULATION = LlmFormulation()
