"""The cost-model view of a Cocktail scenario, computed once by :func:`prepare`.

Everything the MILP, the verifier, the baselines, the tables and the simulation read, by
index: ``m`` over ``models``, ``i`` over ``instances``, ``k`` over ``classes``, ``t`` over
intervals. Besides the cost-model arrays (latency, capacity, prices, spot risk, loads, the
correctness model) the view holds each class's candidate ensembles (minimal subsets meeting
its accuracy target, see the math in ``milp.py``) and the dominated instance types.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from cost_models.cloud import INSTANCES, InstanceType
from cost_models.cocktail.accuracy import (
    CorrectnessModel,
    enumerate_subsets,
    minimal_feasible,
    monte_carlo_correctness,
    read_correctness_csv,
)
from cost_models.cocktail.profile import read_profile
from cost_models.cocktail.spot import (
    MeasuredSpot,
    interruption_probability,
    interruption_rate_per_h,
    measured_spot_rates,
)
from cost_models.cocktail.zoo import ZOO, estimated_rate
from cost_models.errors import DataError
from cost_models.units import MS_PER_S, SECONDS_PER_HOUR
from formulations.cocktail.inputs import CocktailInputs, RequestClass
from formulations.cocktail.load import observed_load, planned_rates_qps
from formulations.types import Provenance, RateSource


@dataclass(frozen=True)
class ClassCandidates:
    """Candidate ensembles of one class (model indices)."""

    eligible: list[int]  # models meeting the class SLO on at least one instance type
    ensembles: list[tuple[int, ...]]  # minimal subsets meeting the accuracy target
    best_accuracy: float  # best vote accuracy of any subset within the size bound
    best_members: tuple[int, ...]


@dataclass(frozen=True)
class CocktailView:
    """The inputs' cost-model data, candidates and dominated instance types."""

    models: list[str]
    instances: list[str]
    classes: list[RequestClass]
    model_index: dict[str, int]  # index m of each model name
    instance_index: dict[str, int]  # index i of each instance type name
    interval_h: float
    latency_ms: np.ndarray  # [m, i], one request
    capacity_qps: np.ndarray  # [m, i], one VM
    rate_provenance: list[list[Provenance]]  # [m][i], where latency_ms[m, i] came from
    rate_error_pct: list[list[float | None]]  # [m][i], expected error (None: measured)
    rate_source: list[list[str]]  # [m][i], the model, file or scenario key used
    on_demand_usd_per_h: np.ndarray  # [i]
    spot_usd_per_h: np.ndarray  # [i]
    spot_loss_prob: np.ndarray  # [i], probability a spot VM is reclaimed within an interval
    spot_rate_per_h: np.ndarray  # [i], interruptions per spot VM-hour
    interruption_rate_scale: float  # stress multiplier on the Spot Advisor rates
    measured_spot: list[MeasuredSpot] | None  # [i], measured lifetimes; None: data absent
    planned_qps: np.ndarray  # [k, t], load the plan must serve (forecast or observed)
    actual_qps: np.ndarray  # [k, t], observed load (what the simulation replays)
    actual_requests: np.ndarray  # [k, t], observed requests (a trace's arrivals)
    correctness: CorrectnessModel
    min_on_demand_share: float
    max_ensemble_size: int
    startup_h: float  # billed start-up hours of every VM added
    max_vm_changes: int | None
    candidates: list[ClassCandidates]  # [k]
    dominated: frozenset[int]  # instance types another listed type dominates

    @property
    def n_intervals(self) -> int:
        return int(self.planned_qps.shape[1])

    @property
    def coupled(self) -> bool:
        """Start-up costs or a change limit link consecutive intervals."""
        return self.startup_h > 0 or self.max_vm_changes is not None

    def meets_slo(self, m: int, i: int, k: int) -> bool:
        return bool(self.latency_ms[m, i] <= self.classes[k].slo_ms)

    def spot_effective_qps(self, m: int, i: int) -> float:
        """Capacity a spot VM is credited with: discounted by its interruption probability."""
        return float(self.capacity_qps[m, i] * (1.0 - self.spot_loss_prob[i]))

    def accuracy(self, members: list[str]) -> float:
        """Vote accuracy of the ensemble of the named models."""
        return self.correctness.accuracy([self.model_index[m] for m in members])

    def requests(self) -> float:
        """Observed requests over the horizon (a trace's arrivals; qps x interval length)."""
        return float(self.actual_requests.sum())


def _loads(inputs: CocktailInputs) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Observed requests/s, planned requests/s and observed requests, [k, t]; every class
    over the same horizon."""
    loads = [observed_load(c.load, inputs.interval_h) for c in inputs.classes]
    needed = [len(rates) for rates, _ in loads]
    from_numbers = {n for n, c in zip(needed, inputs.classes, strict=True) if c.load.qps}
    if len(from_numbers) > 1 or (from_numbers and max(needed) > min(from_numbers)):
        raise DataError(
            None, "classes.load", f"the same number of intervals for every class (got {needed})"
        )
    n_intervals = max(needed)
    if n_intervals == 0:
        raise DataError(None, "classes.load", "at least one interval of load (traces are empty)")
    # a trace ending early has no requests in the intervals after its last arrival
    observed = [np.pad(rates, (0, n_intervals - len(rates))) for rates, _ in loads]
    requests = [np.pad(count, (0, n_intervals - len(count))) for _, count in loads]
    planned = [planned_rates_qps(c.load, r) for c, r in zip(inputs.classes, observed, strict=True)]
    return (
        np.array(observed, dtype=float),
        np.array(planned, dtype=float),
        np.array(requests, dtype=float),
    )


def _class_candidates(
    correctness: CorrectnessModel, eligible: list[int], max_size: int, target: float
) -> ClassCandidates:
    subsets = enumerate_subsets(eligible, min(max_size, len(eligible)))
    if not subsets:
        return ClassCandidates([], [], 0.0, ())
    accuracies = correctness.accuracies(subsets)
    best = int(np.argmax(accuracies))
    return ClassCandidates(
        eligible=eligible,
        ensembles=minimal_feasible(subsets, accuracies, target),
        best_accuracy=float(accuracies[best]),
        best_members=subsets[best],
    )


def _dominated(
    latency: np.ndarray,
    capacity: np.ndarray,
    on_demand: np.ndarray,
    spot: np.ndarray,
    loss: np.ndarray,
) -> frozenset[int]:
    """Instance types another listed type dominates: for every model no slower, no less
    capacity, and no dearer on-demand or spot, with no higher interruption risk (ties keep
    the first listed). Leaving them out is exact: swapping each of their VMs for one of the
    dominating type keeps every constraint and costs no more."""
    n_i = latency.shape[1]

    def covers(j: int, i: int) -> bool:
        return bool(
            np.all(latency[:, j] <= latency[:, i])
            and np.all(capacity[:, j] >= capacity[:, i])
            and on_demand[j] <= on_demand[i]
            and spot[j] <= spot[i]
            and loss[j] <= loss[i]
        )

    return frozenset(
        i
        for i in range(n_i)
        if any(covers(j, i) and (j < i or not covers(i, j)) for j in range(n_i) if j != i)
    )


MAX_MODEL_VARIABLES = 2_000_000  # columns of the largest single MILP: HiGHS keeps a few
# hundred bytes per column and row, so such a model stays within a few GB


def _check_model_size(
    inputs: CocktailInputs, candidates: list[ClassCandidates], n_i: int, n_t: int
) -> None:
    """Refuse a scenario whose largest MILP would exceed MAX_MODEL_VARIABLES, naming the key
    that makes it large (an upper estimate: every model on every instance type)."""
    n_m, n_k = len(inputs.models), len(inputs.classes)
    pools = n_m * n_i
    per_interval = sum(len(c.ensembles) for c in candidates) + n_k * pools + 2 * pools
    coupled = inputs.vm_startup_s > 0 or inputs.max_vm_changes is not None
    size = (per_interval + 4 * pools) * n_t if coupled else per_interval
    if size <= MAX_MODEL_VARIABLES:
        return
    if coupled:
        key = "vm_startup_s" if inputs.vm_startup_s > 0 else "max_vm_changes"
        why = f"{key} couples the {n_t:,} intervals into one model"
    else:
        key, why = "classes", f"{n_k} classes with their candidate ensembles"
    raise DataError(
        None, key, f"a MILP of at most {MAX_MODEL_VARIABLES:,} variables ({why}: ~{size:,})"
    )


Rates = tuple[
    list[float],
    np.ndarray,
    np.ndarray,
    list[list[Provenance]],
    list[list[float | None]],
    list[list[str]],
]


def _rates(inputs: CocktailInputs, types: list[InstanceType]) -> Rates:
    """Top-1 per model, and per (model, instance type): latency of one request (ms),
    requests/s of one VM, provenance, expected error (%; None when measured) and source.

    Estimates come from the calibrated zoo model, or from Cocktail's profile with
    ``[profile]`` (measured); ``[[measured]]`` entries override either."""
    models = inputs.models
    shape = (len(models), len(types))
    if inputs.profile is not None:
        spec = inputs.profile
        profile = read_profile(
            spec.models_csv,
            spec.handle_sizes_csv,
            spec.source_file,
            models,
            inputs.instance_types,
        )
        top1 = profile.top1
        latency = np.array([[profile.latency_ms[m]] * shape[1] for m in range(shape[0])])
        workers = np.array(profile.workers, dtype=float)
        provenance = [[Provenance.MEASURED] * shape[1] for _ in models]
        error: list[list[float | None]] = [[None] * shape[1] for _ in models]
        source = [[f"{spec.models_csv.name} ({spec.source_file})"] * shape[1] for _ in models]
    else:
        zoo = [ZOO[m] for m in models]
        top1 = [m.top1 for m in zoo]
        rates = [[estimated_rate(m, t) for t in types] for m in zoo]
        latency = np.array([[r.latency_ms for r in row] for row in rates])
        workers = np.array([[r.devices for r in row] for row in rates], dtype=float)
        provenance = [[Provenance(r.provenance) for r in row] for row in rates]
        error = [[r.expected_error_pct for r in row] for row in rates]
        source = [
            [f"cost_models/perf {r.device}/{r.runtime.value} fp32 batch 1" for r in row]
            for row in rates
        ]
    m_of = {name: m for m, name in enumerate(models)}
    i_of = {name: i for i, name in enumerate(inputs.instance_types)}
    for n, rate in enumerate(inputs.measured):
        m, i = m_of[rate.model], i_of[rate.instance_type]
        latency[m, i] = rate.latency_ms
        workers[m, i] = (rate.workers or workers[m, i]) * rate.batch
        provenance[m][i] = Provenance.MEASURED
        error[m][i] = None
        source[m][i] = f"measured[{n}] batch {rate.batch}: {rate.source}"
    capacity = workers * MS_PER_S / latency
    return top1, latency, capacity, provenance, error, source


def prepare(inputs: CocktailInputs) -> CocktailView:
    """The cost-model view of ``inputs`` (raises DataError on bad data files)."""
    types: list[InstanceType] = [INSTANCES[i] for i in inputs.instance_types]
    observed, planned, requests = _loads(inputs)
    top1, latency, capacity, provenance, error, source = _rates(inputs, types)
    spec = inputs.correctness
    if spec.matrix is not None:
        matrix = read_correctness_csv(spec.matrix, inputs.models)
    else:
        matrix = monte_carlo_correctness(top1, spec.n_samples, spec.correlation, spec.seed)
    correctness = CorrectnessModel.from_matrix(matrix, spec.vote)
    on_demand = np.array(
        [inputs.on_demand_usd_per_h.get(t.name, t.on_demand_usd_per_h) for t in types]
    )
    spot = np.array([inputs.spot_usd_per_h.get(t.name, t.spot_usd_per_h) for t in types])
    scale = inputs.interruption_rate_scale
    loss = np.array([interruption_probability(t, inputs.interval_h, scale) for t in types])
    candidates = [
        _class_candidates(
            correctness,
            [m for m in range(len(inputs.models)) if bool(np.any(latency[m] <= cls.slo_ms))],
            inputs.max_ensemble_size,
            cls.accuracy_target,
        )
        for cls in inputs.classes
    ]
    _check_model_size(inputs, candidates, len(types), observed.shape[1])
    return CocktailView(
        models=list(inputs.models),
        instances=list(inputs.instance_types),
        classes=list(inputs.classes),
        model_index={name: m for m, name in enumerate(inputs.models)},
        instance_index={name: i for i, name in enumerate(inputs.instance_types)},
        interval_h=inputs.interval_h,
        latency_ms=latency,
        capacity_qps=capacity,
        rate_provenance=provenance,
        rate_error_pct=error,
        rate_source=source,
        on_demand_usd_per_h=on_demand,
        spot_usd_per_h=spot,
        spot_loss_prob=loss,
        spot_rate_per_h=np.array([interruption_rate_per_h(t, scale) for t in types]),
        interruption_rate_scale=scale,
        measured_spot=measured_spot_rates(inputs.instance_types, inputs.interval_h),
        planned_qps=planned,
        actual_qps=observed,
        actual_requests=requests,
        correctness=correctness,
        min_on_demand_share=inputs.min_on_demand_share,
        max_ensemble_size=inputs.max_ensemble_size,
        startup_h=inputs.vm_startup_s / SECONDS_PER_HOUR,
        max_vm_changes=inputs.max_vm_changes,
        candidates=candidates,
        dominated=_dominated(latency, capacity, on_demand, spot, loss),
    )


def unreachable_message(view: CocktailView, k: int) -> str:
    """Why class ``k`` has no candidate ensemble."""
    cls, cand = view.classes[k], view.candidates[k]
    if not cand.eligible:
        return (
            f"class {cls.name!r}: no model meets the latency SLO of {cls.slo_ms:g} ms on "
            f"any of the instance types {', '.join(view.instances)}"
        )
    members = "+".join(view.models[m] for m in cand.best_members)
    return (
        f"class {cls.name!r}: accuracy target {cls.accuracy_target:.4f} is not reachable; "
        f"the best vote accuracy of ensembles of up to {view.max_ensemble_size} models "
        f"meeting SLO {cls.slo_ms:g} ms is {cand.best_accuracy:.4f} ({members})"
    )


def rate_sources(view: CocktailView) -> list[RateSource]:
    """The view's rates grouped per instance type and (provenance, expected error, source)."""
    out = []
    for i, inst in enumerate(view.instances):
        groups: dict[tuple[Provenance, float | None, str], list[str]] = {}
        for m, model in enumerate(view.models):
            key = (view.rate_provenance[m][i], view.rate_error_pct[m][i], view.rate_source[m][i])
            groups.setdefault(key, []).append(model)
        for (provenance, error, source), models in groups.items():
            names = ", ".join(models) if len(models) <= 3 else f"{len(models)} models"
            out.append(RateSource(f"{names} on {inst}", provenance, error, source))
    return out
