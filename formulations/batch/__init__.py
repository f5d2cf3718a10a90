"""BATCH (Ali et al., SC '20): Lambda memory, batch size and timeout per hour under a tail SLO."""

from formulations.batch.formulation import BatchFormulation

FORMULATION = BatchFormulation()
