"""Proteus-style accuracy scaling (``kind = "proteus"``); see ``milp.py`` for the MILP."""

from formulations.proteus.formulation import ProteusFormulation

FORMULATION = ProteusFormulation()

__all__ = ["FORMULATION", "ProteusFormulation"]
