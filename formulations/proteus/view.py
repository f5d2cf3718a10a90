"""The cost-model view of a Proteus scenario, computed once by :func:`prepare`.

Resolution: which variants each family has, each variant's normalised accuracy (best of
its family = 100, as Proteus scores accuracy), the demand of each family in each planning
window, the capacity of every (device type, variant) pair from the cost model (a measured
profile when one is given for the pair, else the calibrated performance model with the
scenario's measured latencies overriding it per batch size) and where that rate came from
(measured, calibrated or roofline, :class:`RateSource`), the headroom grid, and the device
pools of the model's pooling reduction (see ``milp.py``). Bad references raise
:class:`InputError` naming the key (the engine names the file).
"""

from __future__ import annotations

import csv
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

import numpy as np

from cost_models.devices import DEVICES
from cost_models.proteus.calibrated import Estimated, estimated_latencies_ms
from cost_models.proteus.latency import Capacity, capacity
from cost_models.proteus.profiles import LatencyProfile, load_latency_csv, load_proteus_profile
from cost_models.proteus.variants import VARIANTS, ModelVariant, families, normalized_accuracy
from cost_models.workload import read_arrivals_ms, window_count, window_rates_qps
from formulations.proteus.forecast import planned_demand
from formulations.proteus.inputs import (
    CustomVariant,
    ProfileSpec,
    ProteusInputs,
    StaticAllocations,
)
from formulations.tolerances import leq
from formulations.types import InputError, Provenance, RateSource

# Digits kept on the headroom grid: beta_0 - k x step is rounded so that the grid holds the
# decimal levels Proteus uses (1.05, 1.0, 0.95, ...), not their binary accumulation errors.
BETA_DIGITS = 9
# Proteus's step change point: steps of beta_step_above_1_5 while beta > 1.5
# (algorithms/ilp.py L374-L384 of Proteus's public code).
BETA_STEP_CHANGE = 1.5
# Size limits (sanity bounds, not from a source; the Proteus paper plans 30-100 windows on
# a grid of 18 levels for 40 devices): planning windows, headroom levels, and device slots
# listed in the plan (every device in every window).
MAX_WINDOWS = 10_000
MAX_LEVELS = 10_000
MAX_DEVICE_SLOTS = 1_000_000


@dataclass(frozen=True)
class VariantInfo:
    name: str
    family: str
    accuracy: float  # normalised, best of family = 100


@dataclass(frozen=True)
class Pools:
    """Device types merged by identical capacity signature; a pool is named by its first
    type (the pooling reduction of ``milp.py``)."""

    members: dict[str, list[str]]
    count: dict[str, int]


@dataclass(frozen=True)
class ProteusView:
    """Everything the MILP, the baselines and the verifier read."""

    inputs: ProteusInputs
    device_types: list[str]
    device_count: dict[str, int]
    families: list[str]
    slo_ms: dict[str, float]
    variants: dict[str, list[VariantInfo]]  # family -> variants, accuracy ascending
    capacity: dict[tuple[str, str], Capacity]  # (device type, variant) -> per device
    # (device type, variant) of ``capacity`` -> batch size -> latency, ms (the replay's)
    latency_ms: dict[tuple[str, str], dict[int, float]]
    # (device type, variant) of ``capacity`` -> where the latency at its batch came from
    rate: dict[tuple[str, str], RateSource]
    window_starts_s: list[float]
    demand_qps: np.ndarray  # windows x families, queries/s (what arrives)
    forecast_qps: np.ndarray  # windows x families, queries/s: the forecast (forecast.py)
    # windows x families, queries/s: what each window's plan is made for (forecast.py)
    planned_qps: np.ndarray
    replans: list[bool]  # window w is re-planned (forecast.py's schedule)
    last_replan: list[int]  # the last re-planned window <= w
    family_of: dict[str, str]  # variant name -> its family
    accuracy: dict[str, float]  # variant name -> normalised accuracy, %
    placeable: dict[str, list[VariantInfo]]  # family -> variants placeable on some type
    levels: list[float]  # headroom levels tried, highest first
    sommelier_levels: list[float]  # Sommelier's, from its own beta
    pools: Pools
    # Proteus's published static allocations by baseline name (clipper_ha, clipper_la,
    # sommelier): (device type, variant) -> devices
    static: dict[str, dict[tuple[str, str], int]]

    def effective_accuracy(
        self, routed_qps: Iterable[tuple[str, float]], demand: Mapping[str, float]
    ) -> float:
        """Proteus's effective accuracy: normalised accuracy of each served query, weighted
        by (variant, routed queries/s) and divided by the total demand, %; 0 without demand."""
        total = sum(demand.values())
        if total <= 0:
            return 0.0
        return sum(self.accuracy[v] * q for v, q in routed_qps) / total

    def demand(self, window: int) -> dict[str, float]:
        """What arrives in ``window``, queries/s per family."""
        return {f: float(self.demand_qps[window, i]) for i, f in enumerate(self.families)}

    def planned(self, window: int) -> dict[str, float]:
        """What ``window``'s plan is made for (the forecast at its last re-plan), queries/s
        per family."""
        return {f: float(self.planned_qps[window, i]) for i, f in enumerate(self.families)}

    def forecast(self, window: int) -> dict[str, float]:
        """The forecast for ``window`` (what a re-plan at ``window`` is made for)."""
        return {f: float(self.forecast_qps[window, i]) for i, f in enumerate(self.families)}

    @property
    def windows(self) -> int:
        return len(self.window_starts_s)

    @property
    def trace_mode(self) -> bool:
        return len(self.window_starts_s) > 1


def _load_profile(spec: ProfileSpec) -> LatencyProfile:
    if spec.format == "proteus":
        return load_proteus_profile(spec.path, spec.variants_dir)
    return load_latency_csv(spec.path)


def _family_variants(
    inputs: ProteusInputs, profile: LatencyProfile | None
) -> dict[str, list[tuple[str, float, ModelVariant | CustomVariant | None]]]:
    """family -> [(variant name, normalised accuracy, analytical description or None)]."""
    custom = {v.name: v for v in inputs.variants}
    for i, v in enumerate(inputs.variants):
        if v.family not in inputs.families:
            raise InputError(
                None,
                f"variants[{i}].family",
                f"one of the families ({', '.join(inputs.families)})",
                v.family,
            )
    profile_families = profile.families if profile is not None else {}
    catalog_families = families()
    resolved: dict[str, list[tuple[str, float, ModelVariant | CustomVariant | None]]] = {}
    for family, spec in inputs.families.items():
        if spec.variants is not None:
            names = spec.variants
        elif any(v.family == family for v in inputs.variants):
            names = [v.name for v in inputs.variants if v.family == family]
        elif family in profile_families:
            names = list(profile_families[family])
        elif family in catalog_families:
            names = [v.name for v in catalog_families[family]]
        else:
            raise InputError(
                None,
                f"families.{family}",
                "a family of the catalog, of the profile or of [[variants]] "
                f"(catalog families: {', '.join(catalog_families)})",
                family,
            )
        members: list[tuple[str, float, ModelVariant | CustomVariant | None]] = []
        for j, name in enumerate(names):
            if name in custom:
                members.append((name, custom[name].normalized_accuracy, custom[name]))
            elif profile is not None and name in profile.accuracy:
                members.append((name, profile.accuracy[name], VARIANTS.get(name)))
            elif name in VARIANTS:
                members.append((name, normalized_accuracy(VARIANTS[name]), VARIANTS[name]))
            else:
                raise InputError(
                    None,
                    f"families.{family}.variants[{j}]",
                    "a variant of the catalog, of the profile or of [[variants]]",
                    name,
                )
        resolved[family] = members
    return resolved


def _custom_as_variant(v: CustomVariant) -> ModelVariant:
    return ModelVariant(
        v.family,
        v.name,
        "normalised accuracy",
        v.normalized_accuracy,
        v.gflops_per_sample,
        v.params_millions,
        "n/a",
        v.activation_mb_per_sample,
        "scenario [[variants]]",
    )


@dataclass(frozen=True)
class PairLatencies:
    """Latency (ms) of one device of a type running a variant at each allowed batch size."""

    latency_ms: dict[int, float]
    profiled: bool  # the measured profile's table (Proteus's capacity rule applies)
    measured: frozenset[int]  # batch sizes whose latency was measured
    measured_source: str
    estimate: Estimated | None  # the model's estimate of the other batch sizes

    def rate(self, what: str, batch: int) -> RateSource:
        """Provenance of the latency at ``batch``."""
        if batch in self.measured or self.estimate is None:
            return RateSource(what, Provenance.MEASURED, None, self.measured_source)
        e = self.estimate
        return RateSource(what, Provenance(e.provenance), e.expected_error_pct, e.source)


def pair_latencies_ms(
    inputs: ProteusInputs,
    profile: LatencyProfile | None,
    device_type: str,
    variant: str,
    described: ModelVariant | CustomVariant | None,
) -> PairLatencies | None:
    """Latency (ms) of one device of ``device_type`` running ``variant`` at every allowed
    batch size (None: neither measured nor describable).

    A measured profile entry wins whole; otherwise the calibrated performance model
    (:mod:`cost_models.proteus.calibrated`), with the scenario's ``measured_latency`` rows
    overriding it at their batch sizes.
    """
    spec = inputs.devices[device_type]
    if profile is not None and spec.profile_accel is not None and inputs.profile is not None:
        measured = profile.latency_ms.get((variant, spec.profile_accel))
        if measured is not None:
            usable = {b: ms for b, ms in measured.items() if b in inputs.batch_sizes}
            source = f"profile {inputs.profile.path.name} ({spec.profile_accel})"
            return PairLatencies(usable, True, frozenset(usable), source, None) if usable else None
    given = {
        m.batch: m.latency_ms
        for m in inputs.measured_latency
        if m.variant == variant and m.device == device_type and m.batch in inputs.batch_sizes
    }
    source = "scenario measured_latency"
    if spec.catalog_device is None or described is None:
        return PairLatencies(given, False, frozenset(given), source, None) if given else None
    layers = described.layers if isinstance(described, CustomVariant) else None
    model = described if isinstance(described, ModelVariant) else _custom_as_variant(described)
    estimate = estimated_latencies_ms(
        model,
        DEVICES[spec.catalog_device],
        [b for b in inputs.batch_sizes if b not in given],
        inputs.precision,
        inputs.runtime,
        layers,
    )
    return PairLatencies(
        {b: given.get(b) or estimate.latency_ms[b] for b in inputs.batch_sizes},
        False,
        frozenset(given),
        source,
        estimate,
    )


def pair_capacity(latencies: PairLatencies | None, budget_ms: float) -> Capacity | None:
    """Capacity of one device under ``budget_ms`` (None: cannot meet it). Profiled
    latencies follow Proteus's rule (strictly below the budget, capacity floored to whole
    queries/s); others fit when at most the budget."""
    if latencies is None or not latencies.latency_ms:
        return None
    profiled = latencies.profiled
    return capacity(latencies.latency_ms, budget_ms, floor=profiled, strict=profiled)


def _demand(inputs: ProteusInputs) -> tuple[list[float], np.ndarray]:
    arrivals: dict[str, np.ndarray] = {}
    for family, spec in inputs.families.items():
        if spec.trace is not None:
            arrivals[family] = read_arrivals_ms(spec.trace)
            if not len(arrivals[family]):
                raise InputError(spec.trace, "line 1", "at least one arrival (arrival_ms,...)")
    window_s = inputs.trace.window_s
    windows = max((window_count(a, window_s) for a in arrivals.values()), default=1)
    if inputs.trace.max_windows is not None:
        windows = min(windows, inputs.trace.max_windows)
    if windows > MAX_WINDOWS:
        raise InputError(
            None,
            "trace.window_s",
            f"at most {MAX_WINDOWS:,} planning windows (the traces span {windows:,} windows "
            f"of {window_s:g} s; use a longer window_s or set trace.max_windows)",
            window_s,
        )
    rates = {
        f: window_rates_qps(a, window_s, inputs.trace.statistic, n_windows=windows)
        for f, a in arrivals.items()
    }
    demand = np.zeros((windows, len(inputs.families)))
    for i, (family, spec) in enumerate(inputs.families.items()):
        if spec.demand_qps is not None:
            demand[:, i] = spec.demand_qps
        else:
            series = rates[family][:windows]
            demand[: len(series), i] = series
    starts = [w * inputs.trace.window_s for w in range(windows)] if rates else [0.0]
    return starts, demand * inputs.demand_scale


def beta_grid(inputs: ProteusInputs, start: float | None = None) -> list[float]:
    """The headroom levels tried from ``start`` (default: the scenario's beta), highest
    first (just ``start`` when not degrading)."""
    beta_0 = inputs.beta if start is None else start
    if not inputs.degrade:
        return [beta_0]
    steps = (beta_0 - inputs.beta_floor) / min(inputs.beta_step, inputs.beta_step_above_1_5)
    if steps + 1 > MAX_LEVELS:
        raise InputError(
            None,
            "beta_step",
            f"a headroom grid of at most {MAX_LEVELS:,} levels from beta {beta_0:g} down "
            f"to beta_floor {inputs.beta_floor:g} (these steps give {steps + 1:,.0f})",
            inputs.beta_step,
        )
    levels = []
    beta = round(beta_0, BETA_DIGITS)
    while beta >= inputs.beta_floor:
        levels.append(beta)
        step = inputs.beta_step_above_1_5 if beta > BETA_STEP_CHANGE else inputs.beta_step
        beta = round(beta - step, BETA_DIGITS)
    return levels


def make_pools(
    device_types: list[str],
    device_count: Mapping[str, int],
    table: Mapping[tuple[str, str], Capacity],
) -> Pools:
    by_signature: dict[tuple[tuple[str, int, float], ...], list[str]] = {}
    for d in device_types:
        signature = tuple(sorted((v, c.batch, c.qps) for (dd, v), c in table.items() if dd == d))
        by_signature.setdefault(signature, []).append(d)
    members = {group[0]: group for group in by_signature.values()}
    return Pools(members, {p: sum(device_count[d] for d in group) for p, group in members.items()})


def prepare(inputs: ProteusInputs) -> ProteusView:
    profile = _load_profile(inputs.profile) if inputs.profile is not None else None
    if profile is not None:
        known = {accel for _, accel in profile.latency_ms}
        for name, spec in inputs.devices.items():
            if spec.profile_accel is not None and spec.profile_accel not in known:
                raise InputError(
                    None,
                    f"devices.{name}.profile_accel",
                    f"an accelerator of the profile ({', '.join(sorted(known))})",
                    spec.profile_accel,
                )
    members = _family_variants(inputs, profile)
    known_variants = {name for entries in members.values() for name, _, _ in entries}
    for i, m in enumerate(inputs.measured_latency):
        if m.variant not in known_variants:
            raise InputError(
                None,
                f"measured_latency[{i}].variant",
                "a variant of the scenario's families",
                m.variant,
            )
    table: dict[tuple[str, str], Capacity] = {}
    latency_ms: dict[tuple[str, str], dict[int, float]] = {}
    rate: dict[tuple[str, str], RateSource] = {}
    variants: dict[str, list[VariantInfo]] = {}
    for family, entries in members.items():
        slo_ms = inputs.families[family].slo_ms
        variants[family] = sorted(
            (VariantInfo(n, family, acc) for n, acc, _ in entries),
            key=lambda v: (v.accuracy, v.name),
        )
        for name, _, described in entries:
            for device_type in inputs.devices:
                pair = pair_latencies_ms(inputs, profile, device_type, name, described)
                cap = pair_capacity(pair, slo_ms * inputs.latency_budget_fraction)
                if pair is not None and cap is not None and cap.qps > 0:
                    table[(device_type, name)] = cap
                    latency_ms[(device_type, name)] = pair.latency_ms
                    rate[(device_type, name)] = pair.rate(f"{name} on {device_type}", cap.batch)
    starts, demand = _demand(inputs)
    device_types = list(inputs.devices)
    device_count = {d: s.count for d, s in inputs.devices.items()}
    slots = sum(device_count.values()) * len(starts)
    if slots > MAX_DEVICE_SLOTS:
        raise InputError(
            None,
            "devices",
            f"at most {MAX_DEVICE_SLOTS:,} device slots in the plan (it lists every device in "
            f"every window: {sum(device_count.values()):,} devices x {len(starts):,} windows)",
        )
    by_name = {v.name: v for group in variants.values() for v in group}
    planned = planned_demand(inputs.forecast, demand)
    return ProteusView(
        inputs=inputs,
        device_types=device_types,
        device_count=device_count,
        families=list(inputs.families),
        slo_ms={f: s.slo_ms for f, s in inputs.families.items()},
        variants=variants,
        capacity=table,
        latency_ms=latency_ms,
        rate=rate,
        window_starts_s=starts,
        demand_qps=demand,
        forecast_qps=planned.forecast_qps,
        planned_qps=planned.planned_qps,
        replans=planned.replans,
        last_replan=planned.last_replan,
        family_of={name: v.family for name, v in by_name.items()},
        accuracy={name: v.accuracy for name, v in by_name.items()},
        placeable={
            f: [v for v in variants[f] if any((d, v.name) in table for d in device_types)]
            for f in variants
        },
        levels=beta_grid(inputs),
        sommelier_levels=beta_grid(inputs, inputs.sommelier_beta),
        pools=make_pools(device_types, device_count, table),
        static=(
            load_static(inputs.static_allocations, device_count, set(by_name))
            if inputs.static_allocations is not None
            else {}
        ),
    )


def load_static(
    spec: StaticAllocations, device_count: Mapping[str, int], variants: set[str]
) -> dict[str, dict[tuple[str, str], int]]:
    """Each named allocation's ``required_predictors``: (device type, variant) -> devices.

    Raises :class:`InputError` naming the CSV (and line) when a named ``source_file`` has
    no entries, or an entry names an unknown device type or variant. An allocation with
    more devices of a type than the cluster has is the baselines' to refuse."""
    wanted = {
        name: source
        for name, source in (
            ("clipper_ha", spec.clipper_ha),
            ("clipper_la", spec.clipper_la),
            ("sommelier", spec.sommelier),
        )
        if source is not None
    }
    out: dict[str, dict[tuple[str, str], int]] = {name: {} for name in wanted}
    with spec.path.open(newline="") as handle:
        for line, row in enumerate(csv.DictReader(handle), start=2):
            for name, source in wanted.items():
                if row.get("source_file") != source or row.get("section") != "required_predictors":
                    continue
                variant, device_type = row.get("key_1", ""), row.get("key_2", "")
                if device_type not in device_count:
                    raise InputError(
                        spec.path,
                        f"line {line}: key_2",
                        "a device type of the scenario",
                        device_type,
                    )
                if variant not in variants:
                    raise InputError(
                        spec.path, f"line {line}: key_1", "a variant of the scenario", variant
                    )
                try:
                    count = int(row.get("value_as_written", ""))
                except ValueError:
                    raise InputError(
                        spec.path,
                        f"line {line}: value_as_written",
                        "a whole number of devices",
                        row.get("value_as_written"),
                    ) from None
                pair = (device_type, variant)
                out[name][pair] = out[name].get(pair, 0) + count
    for name, source in wanted.items():
        if not out[name]:
            raise InputError(
                spec.path, f"static_allocations.{name}", "required_predictors rows", source
            )
    return out


def infeasibility_reason(view: ProteusView, window: int) -> str:
    """Name the requirement that cannot be met in ``window`` (computed from the inputs)."""
    inputs = view.inputs
    for family, names in view.placeable.items():
        if not names:
            budget = view.slo_ms[family] * inputs.latency_budget_fraction
            return (
                f"family {family} has no variant that meets SLO {view.slo_ms[family]:g} ms "
                f"(latency budget {budget:g} ms = {inputs.latency_budget_fraction:g} x SLO) "
                "on any device"
            )
    total_devices = sum(view.device_count.values())
    needed = inputs.min_devices_per_family * len(view.families)
    if needed > total_devices:
        return (
            f"{len(view.families)} families x min_devices_per_family "
            f"{inputs.min_devices_per_family} = {needed} devices, but the cluster has "
            f"{total_devices}"
        )
    floor = view.levels[-1]
    demand = view.planned(window)
    for family in view.families:
        # Every device of every type hosting the family's fastest variant there.
        best = sum(
            max(
                (
                    view.capacity[(d, v.name)].qps
                    for v in view.placeable[family]
                    if (d, v.name) in view.capacity
                ),
                default=0.0,
            )
            * view.device_count[d]
            for d in view.device_types
        )
        if not leq(floor * demand[family], best):
            return (
                f"family {family} needs {floor:g} x {demand[family]:.1f} qps but the whole "
                f"cluster serves at most {best:.1f} qps of it"
            )
    start_s = view.window_starts_s[window]
    when = f" in window starting {start_s:g} s" if view.trace_mode else ""
    return (
        f"demand{when} cannot be served with headroom beta >= {floor:g} on "
        f"{total_devices} devices (families compete for the same devices)"
    )
