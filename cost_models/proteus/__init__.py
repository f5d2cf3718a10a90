"""Proteus cost model: the model-variant catalog (``variants``), analytical batch latency and
capacity under a latency budget (``latency``), and measured latency profiles that override
it (``profiles``); see each module's docstring for sources."""
