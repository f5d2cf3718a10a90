"""Analytical cost model of a systolic PE array running DNN layers as GEMMs.

* :mod:`.gemm`: a layer as a GEMM ``(M x K) . (K x N)`` and the three dataflows;
* :mod:`.systolic`: fold counts and compute cycles on an ``R x C`` array (SCALE-Sim's
  compute model), and on-chip buffer accesses per operand;
* :mod:`.memory`: DRAM traffic per dataflow and buffer size, stall cycles against a
  bandwidth share, and the saving when a layer's output stays in the buffer;
* :mod:`.networks`: GEMM layer lists of public networks, with sources.
"""
