"""BATCH (Ali et al., SC '20) cost model: MAP arrivals, buffer batching, Lambda latency and cost."""
