"""The Lagrangian bound of the pooled model (formulations/pifs/lagrange.py): weak duality at
any admissible prices against the per-port optimum, and the bound Kelley's prices reach."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from formulations.pifs.lagrange import TIME_ROWS, _Tables, dual_bound
from tests.pifs.helpers import plan, tiny, view_of

PRICE_DRAWS = 200


@pytest.mark.parametrize("seed", range(4))
def test_every_price_gives_a_bound_below_the_per_port_optimum(seed: int, tmp_path: Path) -> None:
    doc = tiny(200 + seed, pages=False, n_tables=4, ports=3)
    exact = plan(tmp_path, {**doc, "placement": {"aggregate_ports": "never"}}).objective.value
    view = view_of(doc)
    rng = np.random.default_rng(seed)
    # without the port-count cut, and with the cut of a plan as good as the optimum
    for latency_bound_us in (None, exact):
        data = _Tables(view, latency_bound_us)
        values = []
        for _ in range(PRICE_DRAWS):
            prices = rng.uniform(0.0, 1.0, 7) * data.box
            time = prices[list(TIME_ROWS)]
            prices[list(TIME_ROWS)] = time / max(1.0, time.sum() * rng.uniform(1.0, 1.5))
            choices = data.choose(prices)
            values.append(choices.constant_us + float(prices @ choices.activity))
        assert max(values) <= exact * (1 + 1e-9)
        best = dual_bound(view, latency_bound_us)
        assert best.bound_us <= exact * (1 + 1e-9)
        assert best.bound_us >= max(values) * (1 - 1e-6)  # Kelley beats random prices
