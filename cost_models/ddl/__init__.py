"""Stall model of data-parallel DNN training on cloud GPU instances (Stash, ICDCS '23).

``workloads`` (models and datasets), ``topology`` (intra-node interconnect graphs and ring
bandwidth), ``allreduce`` (DDP bucketed alpha-beta all-reduce with overlap), ``estimate``
(compute, data, interconnect, network stalls; time and dollars, spot overhead).
"""
