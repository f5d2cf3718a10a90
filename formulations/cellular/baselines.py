"""Baselines of the cellular-batching formulation, on the plan's GPUs.

* ``graph_batching``: what BatchMaker compares with (EuroSys '18, Sec. 2.2 and Sec. 7,
  TensorFlow and MXNet serving): a batch of up to G whole requests taken from one FIFO
  queue whenever the GPU frees, the unrolled graph padded to the batch's longest request.
* ``graph_batching_bucketed``: the same with length bucketing (MXNet's ``BucketingModule``,
  TensorFlow's ``bucket_by_sequence_length``; BatchMaker Sec. 2.2): one queue per length
  bucket, a batch padded to its bucket's longest length, the bucket whose oldest request
  is oldest served first.

Each keeps the plan's GPU types and counts and picks, from ``max_batch_candidates``, the
graph batch size G with the largest total capacity within the SLO (the smallest G on ties);
the verifier then says whether it serves the traffic.
"""

from __future__ import annotations

from formulations.cellular.deployment import CellularDeployment, Pool
from formulations.cellular.view import CellularView


def graph_baseline(view: CellularView, plan: CellularDeployment, policy: str) -> CellularDeployment:
    def total(size: int) -> float:
        sizes = (size,) * len(view.cell_names)
        return sum(p.count * view.capacity(p.gpu, policy, sizes) for p in plan.pools)

    best = max(sorted(view.inputs.max_batch_candidates), key=lambda g: (total(g), -g))
    pools = [
        Pool(gpu=p.gpu, count=p.count, max_batch=dict.fromkeys(view.cell_names, best))
        for p in plan.pools
    ]
    return CellularDeployment(policy=policy, pools=pools)  # type: ignore[arg-type]
