"""Cellular batching (BatchMaker, Gao et al., EuroSys '18): cells, request graphs, latency.

``cells``: the GEMM shapes of LSTM and Tree-LSTM cells and their batched latency tau(b) per
GPU type (the calibrated performance model of :mod:`cost_models.perf`, or a measured table);
``graphs``: a request as stages of cells (a chain for LSTM and Seq2Seq, a tree for Tree-LSTM);
``latency``: the analytic latency percentiles of cellular and graph batching, and the
capacity of one GPU within a latency SLO.
"""
