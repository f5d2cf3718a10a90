"""PIFS-Rec cost model: CXL fabric topology, DLRM embedding workloads, hotness buckets and
the per-resource busy time of a batch (see each module's docstring for sources)."""
