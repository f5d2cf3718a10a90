"""PPipe: pool-based pipeline parallelism of CNN inference over heterogeneous GPU pools.

Reproduces the planning MILP of PPipe (Kong et al., USENIX ATC '25) on any backend; the
math is in :mod:`formulations.ppipe.milp` and :mod:`formulations.ppipe.designs`, the stages
in :mod:`formulations.ppipe.formulation`.
"""

from formulations.ppipe.formulation import PPipeFormulation

FORMULATION = PPipeFormulation()
