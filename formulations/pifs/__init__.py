"""PIFS-Rec: DLRM embedding placement across CXL switch ports with in-switch reduction.

The MILP and its math are in :mod:`formulations.pifs.milp`; the stages are wired in
:mod:`formulations.pifs.formulation`.
"""

from formulations.pifs.formulation import PifsFormulation

FORMULATION = PifsFormulation()

__all__ = ["FORMULATION", "PifsFormulation"]
