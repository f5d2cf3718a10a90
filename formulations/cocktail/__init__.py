"""Cocktail (NSDI '22): per request class, a voting ensemble on on-demand and spot VMs, at
the lowest cost (math in ``milp.py``, modules listed in ``formulation.py``)."""

from formulations.cocktail.formulation import CocktailFormulation

FORMULATION = CocktailFormulation()

__all__ = ["FORMULATION"]
