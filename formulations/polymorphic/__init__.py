"""Polymorphic Accelerators: logical accelerators for concurrent DNNs on one PE array."""

from formulations.polymorphic.formulation import PolymorphicFormulation

FORMULATION = PolymorphicFormulation()
