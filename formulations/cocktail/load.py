"""Requests/s per interval of one class: observed rates, and the rates the plan serves."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from formulations.types import InputError

if TYPE_CHECKING:
    from formulations.cocktail.inputs import LoadSpec


def class_rates_qps(spec: LoadSpec, interval_h: float, key: str) -> tuple[np.ndarray, np.ndarray]:
    """(observed, planned) requests/s per interval.

    Without a forecast the plan serves the observed rates.
    """
    if spec.qps is None or spec.forecast != "none":
        raise InputError(None, key, "qps numbers without forecast (traces come with "
                         "cost_models.workload)")
    observed = np.asarray(spec.qps, dtype=float)
    return observed, observed
