"""The systems a ``ppipe`` plan is compared with, each a deployment on the scenario's inputs.

Every baseline's deployment is written in the scenario's mode (a compat plan gives each
design its own full-length GPU-type sequence of the scenario's ``max_partitions``, as
:func:`formulations.ppipe.milp.assign_sequences` does), so the engine verifies it with the
plan's verifier against the same GPU pools, SLOs and chunk tables:

* ``np``: PPipe's NP baseline (no partitioning, no MPS);
* ``dart_r``: PPipe's DART-r baseline (fixed one high-class + one low-class GPU units);
* ``general`` / ``compat``: this formulation in the other mode.

The authors' own DART-r plans are not re-planned here: :func:`published_dart_r` reads their
planned throughputs (``../shared/reference/ppipe/dart_r_published_plans.csv``, one row per
instance and DNN) and checks each row against the published instance it belongs to, for
``benchmarks/ppipe_reference.py`` to put PPipe / DART-r (authors') next to PPipe / DART-r
(ours). The general plan of a
  compat scenario may run several pipelines per GPU-type sequence, which the scenario's
  compat rule forbids, so the verifier reports it ``infeasible`` (its objective is still
  shown: the general optimum is an upper bound on compat's); a compat plan is always a
  valid general plan, so the compat baseline of a general scenario is written in general
  mode.
"""

from __future__ import annotations

import csv
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from formulations.model import Model
from formulations.ppipe.deployment import PPipeDeployment, build_deployment
from formulations.ppipe.designs import Design
from formulations.ppipe.inputs import Mode, PPipeInputs
from formulations.ppipe.milp import Picked, pipelines, solve_designs
from formulations.ppipe.view import PPipeView, plan_designs
from formulations.tolerances import close
from formulations.types import (
    BaselineRun,
    InputError,
    MilpSolver,
    Sense,
    require_solution,
    run_baseline,
)

NP_SOURCE = (
    "PPipe (Kong et al., USENIX ATC '25), section 7 baseline NP: the planning MILP with one "
    "partition and MPS level 1 (public code milp_solver/run_ilp_v4_in_batch.py, "
    "get_baseline_multitask_plan)"
)
DART_R_SOURCE = (
    "PPipe (Kong et al., USENIX ATC '25), section 7 baseline DART-r: min(N_hi, N_lo) fixed "
    "units of one high- plus one low-class GPU and the larger pool's surplus serving whole "
    "models (public code milp_solver/run_ilp_v4_in_batch.py, get_multidnn_dart_plan; here "
    "units and surplus are split among models jointly by a small MILP, docs/ppipe.md)"
)
OTHER_MODE_SOURCE = (
    "this formulation in {mode} mode (compat = PPipe's MILP, general = several pipelines "
    "per GPU-type sequence, beyond PPipe; docs/ppipe.md)"
)
DART_R_NEEDS = "DART-r needs one high-class and one low-class GPU type"


def baseline_inputs(inputs: PPipeInputs, max_partitions: int) -> PPipeInputs:
    """The same cluster and models with MPS level 1 only and at most ``max_partitions``."""
    gpus = [gpu.model_copy(update={"max_mps_level": 1}) for gpu in inputs.gpus]
    return inputs.model_copy(update={"gpus": gpus, "max_partitions": max_partitions})


def _deployment(inputs: PPipeInputs, picked: Sequence[Picked]) -> PPipeDeployment:
    """A baseline's picked designs as a deployment in the scenario's mode."""
    return build_deployment(inputs, inputs.mode, pipelines(inputs, inputs.mode, picked))


def other_mode(view: PPipeView, solver: MilpSolver) -> PPipeDeployment:
    """The plan of the mode the scenario did not ask for, written in general mode (the
    general plan of a compat scenario, or the compat plan of a general one)."""
    inputs = view.inputs
    other: Mode = "general" if inputs.mode == "compat" else "compat"
    picked = solve_designs(inputs, view.designs, other, solver).picked
    return build_deployment(inputs, "general", pipelines(inputs, "general", picked))


def np_baseline(view: PPipeView, solver: MilpSolver) -> PPipeDeployment:
    """NP: the planning MILP with ``P = 1`` and MPS level 1 only (compat mode)."""
    np_inputs = baseline_inputs(view.inputs, 1)
    designs = plan_designs(np_inputs, view.tables)
    return _deployment(view.inputs, solve_designs(np_inputs, designs, "compat", solver).picked)


def dart_r_applies(inputs: PPipeInputs) -> bool:
    """DART-r needs exactly one high-class and one low-class GPU type."""
    classes = [gpu.low_class for gpu in inputs.gpus]
    return len(classes) == 2 and sum(classes) == 1


def dart_r(view: PPipeView, solver: MilpSolver) -> PPipeDeployment:
    """DART-r on designs enumerated with ``P = 2`` and MPS level 1 (it needs
    :func:`dart_r_applies`).

    A unit is one high-class GPU ``h`` plus one low-class GPU ``l``; it serves one model
    with the best of: a whole-model pipeline on each GPU, or a two-stage pipeline
    ``(h, l)`` or ``(l, h)``, each stage with one instance, at rate ``a_d`` requests/s. The
    surplus GPUs of the larger pool ``g+`` serve whole models, one instance each, at
    ``b_d``. The allocation MILP:

    Sets: models ``d``. Parameters: ``U = min(N_h, N_l)`` units, ``S = N_{g+} - U``
    surplus GPUs, rates ``a_d``, ``b_d`` (requests/s), weights ``w_d``.
    Variables: ``t >= 0``; ``u[d]`` integer in ``0 .. U``; ``s[d]`` integer in ``0 .. S``.
    Constraints: ``units``: ``sum_d u_d <= U``; ``surplus``: ``sum_d s_d <= S``;
    ``maxmin[d]``: ``w_d t <= a_d u_d + b_d s_d``. Objective: maximise ``t``.

    Model ``d``'s units run its best option's pipeline(s) with ``u_d`` instances per stage
    and its surplus a whole-model pipeline with ``s_d`` instances (merged with a unit's
    whole-model pipeline of the same design), so its throughput is ``a_d u_d + b_d s_d``.
    """
    inputs = view.inputs
    classes = [gpu.low_class for gpu in inputs.gpus]
    dart_inputs = baseline_inputs(inputs, 2)
    designs = plan_designs(dart_inputs, view.tables)
    high = classes.index(False)
    low = classes.index(True)
    units = min(inputs.gpus[high].count, inputs.gpus[low].count)
    surplus_gpu = max((high, low), key=lambda g: inputs.gpus[g].count)
    surplus = inputs.gpus[surplus_gpu].count - units

    def best(d: int, types: tuple[int, ...]) -> tuple[float, Design | None]:
        """The fastest design of model ``d`` on ``types`` at one instance per stage."""
        found = [e for e in designs if e.model == d and e.types == types]
        if not found:
            return 0.0, None
        top = max(found, key=lambda e: min(s.instance_qps for s in e.stages))
        return min(s.instance_qps for s in top.stages), top

    options: list[list[Design]] = []
    unit_qps, single_qps, single = [], [], []
    for d in range(len(inputs.models)):
        (rate_h, on_h), (rate_l, on_l) = best(d, (high,)), best(d, (low,))
        (rate_hl, on_hl), (rate_lh, on_lh) = best(d, (high, low)), best(d, (low, high))
        choices = [
            (rate_h + rate_l, [e for e in (on_h, on_l) if e is not None]),
            (rate_hl, [on_hl] if on_hl else []),
            (rate_lh, [on_lh] if on_lh else []),
        ]
        rate, chosen = max(choices, key=lambda c: c[0])
        unit_qps.append(rate)
        options.append(chosen)
        rate_s, on_s = best(d, (surplus_gpu,))
        single_qps.append(rate_s)
        single.append(on_s)

    model = Model("dart_r", Sense.MAXIMIZE)
    t = model.add_variable("t", cost=1.0)
    names = [m.name for m in inputs.models]
    u = model.add_variables("u", names, upper=units, integer=True)
    s = model.add_variables("s", names, upper=surplus, integer=True)
    ones = np.ones(len(names))
    zeros = np.zeros(len(names), dtype=np.int64)
    model.add_rows("units", 1, zeros, u.cols, ones, upper=units)
    model.add_rows("surplus", 1, zeros, s.cols, ones, upper=surplus)
    for d, demand in enumerate(inputs.models):
        model.add_constraint(
            "maxmin",
            demand.weight * t <= unit_qps[d] * u[demand.name] + single_qps[d] * s[demand.name],
            demand.name,
        )
    result = require_solution(solver.solve(model), "DART-r allocation")
    unit_counts = np.rint(u.values(result)).astype(int).tolist()
    surplus_counts = np.rint(s.values(result)).astype(int).tolist()
    picked: list[Picked] = []
    for d in range(len(inputs.models)):
        instances: dict[Design, int] = {}
        if unit_counts[d]:
            for design in options[d]:
                instances[design] = instances.get(design, 0) + unit_counts[d]
        on_s = single[d]
        if surplus_counts[d] and on_s is not None:
            instances[on_s] = instances.get(on_s, 0) + surplus_counts[d]
        picked.extend((e, (n,) * len(e.stages)) for e, n in instances.items())
    return _deployment(inputs, picked)


def baselines(view: PPipeView, solver: MilpSolver) -> list[BaselineRun[PPipeDeployment]]:
    """The other mode (when ``compare_modes``), NP and DART-r, in that order."""
    runs = []
    if view.inputs.compare_modes:
        other = "general" if view.inputs.mode == "compat" else "compat"
        runs.append(
            run_baseline(
                other, OTHER_MODE_SOURCE.format(mode=other), lambda: other_mode(view, solver)
            )
        )
    runs.append(run_baseline("np", NP_SOURCE, lambda: np_baseline(view, solver)))
    if dart_r_applies(view.inputs):
        runs.append(run_baseline("dart_r", DART_R_SOURCE, lambda: dart_r(view, solver)))
    else:
        runs.append(run_baseline("dart_r", DART_R_SOURCE, lambda: None, DART_R_NEEDS))
    return runs


@dataclass(frozen=True)
class PublishedDartR:
    """The authors' DART-r plan of one published instance: planned throughput per DNN
    (requests/s, instance order) and the objective min over DNNs of throughput / weight."""

    key: str
    throughput_qps: tuple[float, ...]
    objective: float


def published_dart_r(
    path: Path, instances: Mapping[str, Mapping[str, Any]]
) -> dict[str, PublishedDartR]:
    """The authors' DART-r plans by instance key (``<set>/<GPU pair>/<weights>/<dnns>``).

    Each row's planned throughput is its ``milp_xput`` (the plan's ``xput``: what DART-r's
    allocation plans, as our objective is). Raises :class:`InputError` naming the file and
    line when a row names no published instance, disagrees with it (GPU counts, bandwidth,
    weights, SLO), or a plan lacks a DNN of its instance."""
    found: dict[str, dict[int, float]] = {}
    with Path(path).open(newline="") as handle:
        for line, row in enumerate(csv.DictReader(handle), start=2):
            try:
                weights = row["workload_weights"].split(";")
                key = f"{row['experiment']}/{row['gpu_types']}/{'-'.join(weights)}/"
                index = int(row["dnn_index"])
                xput = float(row["milp_xput"])
                slo_us, bw = float(row["sla_us"]), float(row["bw_gbps"])
                counts = [int(c) for c in row["gpu_counts"].split("-")]
            except (KeyError, ValueError, AttributeError) as error:
                raise InputError(path, f"line {line}", f"a DART-r plan row ({error})") from None
            matches = [
                k
                for k, v in instances.items()
                if k.startswith(key)
                and index < len(v["dnns"])
                and v["dnns"][index] == row["dnn_name"]
            ]
            if len(matches) != 1:
                raise InputError(
                    path, f"line {line}", "a row of exactly one published instance", key
                )
            instance = instances[matches[0]]
            checks = [
                ("gpu_counts", list(instance["gpu_limits"]) == counts),
                ("bw_gbps", close(float(instance["bw_gbps"]), bw)),
                ("sla_us", close(float(instance["per_dnn"][row["dnn_name"]]["slo_us"]), slo_us)),
                (
                    "workload_weights",
                    all(
                        close(float(a), float(b))
                        for a, b in zip(weights, instance["workload_weights"], strict=True)
                    ),
                ),
            ]
            for column, ok in checks:
                if not ok:
                    raise InputError(
                        path, f"line {line}: {column}", f"the value of instance {matches[0]}"
                    )
            found.setdefault(matches[0], {})[index] = xput
    out = {}
    for key, by_index in found.items():
        instance = instances[key]
        if sorted(by_index) != list(range(len(instance["dnns"]))):
            raise InputError(
                path, key, f"one row per DNN of the instance ({len(instance['dnns'])})"
            )
        throughput = tuple(by_index[i] for i in range(len(by_index)))
        objective = min(
            q / w for q, w in zip(throughput, instance["workload_weights"], strict=True)
        )
        out[key] = PublishedDartR(key, throughput, objective)
    return out
