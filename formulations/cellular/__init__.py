"""Cellular batching (BatchMaker, EuroSys '18): GPU counts and maximum batches for RNNs."""

from formulations.cellular.formulation import CellularFormulation

FORMULATION = CellularFormulation()
