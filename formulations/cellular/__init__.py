"""Cellular batching (BatchMaker, Gao et al., EuroSys '18): GPUs and maximum batches for RNN serving."""

from formulations.cellular.formulation import CellularFormulation

FORMULATION = CellularFormulation()
