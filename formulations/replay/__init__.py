"""The shared discrete-event replay of serving plans (``planner simulate``); see docs/replay.md.

Not a kind: serving kinds build :class:`Station` s with a batching policy from
:mod:`formulations.replay.policies`, feed arrivals from :mod:`formulations.replay.arrivals`
and report a :class:`formulations.replay.schema.ReplayReport`.

Modules
    core.py       requests, stations, plan changes and the heapq event loop
    arrivals.py   Poisson, stepped-rate and trace arrivals in numpy chunks
    policies.py   service-time models and the batching policies
    stats.py      streamed counts and the log-histogram percentile sketch
    schema.py     the common output of ``planner simulate`` (tables and JSON keys)
"""
