"""Stash (ICDCS '23) as a MILP: the cheapest cloud GPU configuration that trains each job
before its deadline, or the earliest finish within a budget (see ``formulation.py``)."""

from formulations.ddl.formulation import DdlFormulation

FORMULATION = DdlFormulation()
