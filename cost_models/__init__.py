"""Analytical latency, bandwidth and cost models. Never imports a solver."""
