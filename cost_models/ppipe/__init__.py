"""PPipe cost model: chunk latency tables, CNN layer specs and pre-partitioning."""
