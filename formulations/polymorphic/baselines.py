"""The systems the plan is compared with, each a deployment of the same schema.

The paper (Azizimazreah & Chen, IEEE TC 71(3), 2022) compares against "a state-of-the-art
flexible dataflow approach" (1.52x) and "a resource partitioning approach" (1.63x); its
abstract does not name them and we could not read the full text, so each baseline here is
named for what it is:

* ``monolithic_flexible_dataflow``: one accelerator of the whole array, buffer and
  bandwidth, with the best dataflow per layer (the flexible-dataflow idea of FlexFlow,
  Lu et al., HPCA 2017), time-multiplexing the DNNs: DNN ``j`` gets the time share that
  maximises the scenario's objective (max-min: shares proportional to ``weight x time per
  inference``; weighted: minimum shares for the throughput floors, the rest to the DNN
  with the largest ``weight / time``);
* ``multi_clp_static_partition``: the array statically partitioned into one processor per
  DNN, each with a single dataflow for all its layers and no cross-layer reuse, sized by
  the same packing model (Multi-CLP, Shen et al., ISCA 2017, section 4: several
  convolutional-layer processors of optimised shape, each running its layers in one
  fixed dataflow, activations through DRAM); with phases it is chosen once for the
  expected mix (time-averaged weights, largest floors) and kept in every phase
  (:func:`.formulation.static_partition`);
* ``planaria_pod_fission``: the array split into fixed-size pods (``pod`` x ``pod`` PEs),
  each DNN getting whole pods with their buffer slice, weight stationary (Planaria,
  Ghodrati et al., MICRO 2020, sections 3-4: a TPU-like weight-stationary array that
  fissions into pods); with phases the pods are re-allocated per phase by the same MILP
  as the plan, with the same reconfiguration charges (Planaria re-fissions at run time).
"""

from __future__ import annotations

from formulations.polymorphic.deployment import Accelerator, PolymorphicDeployment, accelerator
from formulations.polymorphic.inputs import Objective
from formulations.polymorphic.view import (
    MONOLITHIC,
    Candidate,
    PolymorphicView,
    run,
    throughput,
)


def monolithic(view: PolymorphicView) -> PolymorphicDeployment:
    """Per phase, the time shares that maximise the phase's objective (module docstring);
    the array never changes shape, so no reconfiguration is charged."""
    inputs, array = view.inputs, view.inputs.array
    design = view.designs[MONOLITHIC]
    whole = {}
    for dnn in inputs.dnns:
        cycles, dram, _ = run(
            view.layers[dnn.name],
            array,
            design,
            array.rows,
            array.cols,
            array.buffer_share_steps,
            array.bandwidth_share_steps,
        )
        whole[dnn.name] = Candidate(
            array.rows,
            array.cols,
            array.buffer_share_steps,
            array.bandwidth_share_steps,
            float(cycles),
            float(dram),
            float(throughput(array, dnn.batch, cycles)),
        )
    seconds = {name: 1.0 / c.throughput_inferences_per_s for name, c in whole.items()}
    accelerators: list[Accelerator] = []
    for phase in view.phases:
        dnns = phase.dnns
        floor = {d.name: d.min_throughput_inferences_per_s * seconds[d.name] for d in dnns}
        if inputs.objective is Objective.MAX_MIN_NORMALISED:
            total = sum(d.weight * seconds[d.name] for d in dnns)
            share = {d.name: d.weight * seconds[d.name] / total for d in dnns}
        else:
            share = dict(floor)
            best = max(dnns, key=lambda d: d.weight / seconds[d.name])
            share[best.name] += max(0.0, 1.0 - sum(floor.values()))
        accelerators += [
            accelerator(view, MONOLITHIC, d.name, whole[d.name], 0, 0, share[d.name], phase.name)
            for d in dnns
            if share[d.name] > 0
        ]
    return PolymorphicDeployment(
        design=MONOLITHIC, time_multiplexed=True, accelerators=accelerators
    )
