"""The ``planner check`` matrix (issue 18, "Done when"): every shipped scenario of every
serving kind, its plan committed (``solve -o``), then checked against five changes of the
scenario: demand x0.8, demand x1.3, one more device of an existing type, one device
fewer, and a price change. ``EXPECTED`` states the exit code of each, and the gap where
the committed plan is worse than a fresh optimum; docs/ci.md shows the same table.

How each kind's TOML expresses the five changes is the small per-kind table ``KINDS``
(key paths). Where a kind has no such key, the case says what stands in for it, and why:

* proteus: ``demand_scale``; ``devices.<type>.count`` +-1 (the first type, which every
  committed plan uses in full); no prices (the case is left out).
* ppipe: no demand, throughput is maximised; the committed pipelines' SLOs stand in for
  it (x0.8 demand = every ``models[].slo_us`` / 0.8, looser; x1.3 = / 1.3, stricter);
  ``gpus[0].count`` +-1; no prices: ``models[0].weight`` doubled re-prices the objective.
* cocktail: VMs are rented without an inventory, so one more *instance type* offered
  stands in for one more device and the committed plan's first instance type withdrawn
  for one fewer; ``classes[].load.qps[]``; ``spot_usd_per_h`` of a committed type x1.5.
  Checked over four of the 24 hours (04, 09, 16, 21 h) to keep each fresh solve small.
* pifs: demand is what the tables store and read, every table's ``dim`` (a preset's
  tables written out); ``fabric.ports`` +-1; ``capacity_planning.expander_price_usd``
  x1.5 (capacity-planning mode; latency mode has no price). ``meta856_16port`` (856
  tables, 4 s of CPU per solve) is checked as a 64-table copy, ``rm1_pages_groups`` (9 s)
  on half of its groups' tables.
* batch: serverless, so the concurrency quota ``max_concurrency`` is the capacity: doubled
  for "more", set just below the committed plan's peak concurrency for "fewer"; the
  arrival rates (a trace's gaps divided) are the demand; the architecture swapped (x86 <->
  arm Lambda prices) is the price change. A batching buffer makes demand act backwards on
  latency (fewer arrivals fill batches more slowly), so x1.3 stays covered and x0.8 may
  break the SLO: ``EXPECTED`` records exactly that. ``bursty_day`` (3 s per solve) is
  checked over four of its 24 hours.
* llm: ``workload.total_rate_qps``; every ``gpus[].max_count`` capped at what the plan
  uses, then +-1 of the plan's first GPU type; ``gpus[].price_usd_per_h`` x1.2.
  ``melange_example`` reads Melange's fixed ``example_inputs.json`` (no demand key; its
  GPUs are not capped), so only its price and capacity cases apply... and even those are
  keys of the reference file: it is left out (the contract suite checks its own plan).
* cellular: ``traffic[].rate_qps``; ``gpus[].max_count`` of the plan's first GPU type +1 /
  set to one fewer than the plan uses; ``gpus[].price_usd_per_h`` x1.5 for that type.

Not in the matrix: ``ddl`` (training jobs, no request demand: its epochs / deadlines /
quotas / prices table per shipped scenario is ``tests/ddl/test_check.py``) and
``polymorphic`` (no capacity to buy or remove: a fixed array partitioned among DNNs; its
throughput floors stand in for demand in ``tests/polymorphic/test_check.py``, on a tiny
array because a shipped scenario's solve takes 6-8 s of CPU).
"""

from __future__ import annotations

import copy
import tomllib
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import pytest

import planner
from formulations.batch.verify import hour_figures
from formulations.types import ExitCode
from planner.engine import prepared_view
from tests.batch.test_check import scaled as batch_scaled
from tests.conftest import REFERENCE, ROOT, write_scenario
from tests.pifs.test_check import scaled as pifs_scaled

Doc = dict[str, Any]
Stored = dict[str, Any]  # the committed plan's deployment, as its JSON holds it
CASES = ("demand x0.8", "demand x1.3", "device added", "device removed", "price change")
HOURS = [4, 9, 16, 21]  # the trough, morning, peak and evening of a day's 24 hours


def times(doc: Doc, path: str, factor: float) -> Doc:
    """``doc`` with the number (or every number of the list) at ``path`` times ``factor``;
    ``a[].b`` is ``b`` of every element of ``a``."""
    out = copy.deepcopy(doc)
    nodes: list[Any] = [out]
    *parents, last = path.split(".")
    for key in parents:
        if key.endswith("[]"):
            nodes = [item for node in nodes for item in node[key[:-2]]]
        else:
            nodes = [node[int(key)] if isinstance(node, list) else node[key] for node in nodes]
    for node in nodes:
        value = node[last]
        node[last] = [v * factor for v in value] if isinstance(value, list) else value * factor
    return out


def plus(doc: Doc, path: str, step: float) -> Doc:
    out = copy.deepcopy(doc)
    *parents, last = path.split(".")
    node = out
    for key in parents:
        node = node[int(key)] if isinstance(node, list) else node[key]
    node[last] += step
    return out


@dataclass(frozen=True)
class Keys:
    """How one kind's scenario expresses the matrix's changes. ``capacity(doc, plan,
    step)``: one device more (+1) or fewer (-1) of the type the plan uses first, and that
    type's name (what a shortfall of "device removed" must name)."""

    demand: Callable[[Doc, float, Path], Doc]
    capacity: Callable[[Doc, Stored, int], tuple[Doc, str]]
    price: Callable[[Doc, Stored], Doc | None] | None
    reduce: Callable[[str, Doc], Doc] = lambda name, doc: doc


# ---------------------------------------------------------------------- proteus
def proteus_demand(doc: Doc, factor: float, folder: Path) -> Doc:
    return {**doc, "demand_scale": factor * doc.get("demand_scale", 1.0)}


def proteus_capacity(doc: Doc, stored: Stored, step: int) -> tuple[Doc, str]:
    first = next(iter(doc["devices"]))
    return plus(doc, f"devices.{first}.count", step), first


# ---------------------------------------------------------------------- ppipe
def ppipe_capacity(doc: Doc, stored: Stored, step: int) -> tuple[Doc, str]:
    return plus(doc, "gpus.0.count", step), doc["gpus"][0]["name"]


# ---------------------------------------------------------------------- cocktail
def cocktail_types(stored: Stored) -> list[str]:
    used = {p["instance_type"] for i in stored["intervals"] for p in i["pools"]}
    return sorted(used)


def cocktail_capacity(doc: Doc, stored: Stored, step: int) -> tuple[Doc, str]:
    out = copy.deepcopy(doc)
    if step > 0:
        offered = next(t for t in ("c5.4xlarge", "m5.2xlarge") if t not in out["instance_types"])
        out["instance_types"].append(offered)
        return out, offered
    withdrawn = cocktail_types(stored)[0]
    out["instance_types"].remove(withdrawn)
    for prices in ("on_demand_usd_per_h", "spot_usd_per_h"):
        out.get(prices, {}).pop(withdrawn, None)
    return out, withdrawn


def cocktail_price(doc: Doc, stored: Stored) -> Doc:
    from cost_models.cloud import INSTANCES

    first = cocktail_types(stored)[0]
    return {**doc, "spot_usd_per_h": {first: 1.5 * INSTANCES[first].spot_usd_per_h}}


def cocktail_hours(name: str, doc: Doc) -> Doc:
    out = copy.deepcopy(doc)
    for c in out["classes"]:
        c["load"]["qps"] = [c["load"]["qps"][h] for h in HOURS]
    return out


# ---------------------------------------------------------------------- pifs
def pifs_capacity(doc: Doc, stored: Stored, step: int) -> tuple[Doc, str]:
    return plus(doc, "fabric.ports", step), "port"


def pifs_price(doc: Doc, stored: Stored) -> Doc | None:
    """Capacity-planning mode only (latency mode has no price)."""
    if "capacity_planning" not in doc:
        return None
    return times(doc, "capacity_planning.expander_price_usd", 1.5)


def pifs_reduced(name: str, doc: Doc) -> Doc:
    out = copy.deepcopy(doc)
    if name == "meta856_16port":
        out["workload"]["synthetic_tables"] = 64
    return out


# ---------------------------------------------------------------------- batch
def batch_capacity(doc: Doc, stored: Stored, step: int) -> tuple[Doc, str]:
    """Doubled quota, or a quota 10% below the committed plan's peak concurrency."""
    out = copy.deepcopy(doc)
    if step > 0:
        out["max_concurrency"] = 2 * doc.get("max_concurrency", 1000.0)
        return out, "concurrency"
    scenario = planner.scenario_from_dict(doc, file="batch.toml")
    view = prepared_view(scenario)
    deployment = scenario.formulation.deployment_model.model_validate(stored)
    peak = max(
        hour_figures(view, h, c).concurrency
        for h, c in zip(view.hours, deployment.hours, strict=True)
    )
    out["max_concurrency"] = 0.9 * peak
    return out, "concurrency"


def batch_price(doc: Doc, stored: Stored) -> Doc:
    return {**doc, "architecture": "x86" if doc.get("architecture") == "arm" else "arm"}


def batch_reduced(name: str, doc: Doc) -> Doc:
    out = copy.deepcopy(doc)
    out.pop("description", None)
    arrivals = out["arrivals"]
    if "inter_arrivals" in arrivals:
        arrivals["inter_arrivals"] = str(ROOT / "scenarios" / "batch" / arrivals["inter_arrivals"])
    if len(arrivals.get("rate_qps", [])) == 24:
        for key in ("rate_qps", "scv", "lag1_autocorrelation"):
            if key in arrivals:
                arrivals[key] = [arrivals[key][h] for h in HOURS]
    return out


# ---------------------------------------------------------------------- llm
def llm_capacity(doc: Doc, stored: Stored, step: int) -> tuple[Doc, str]:
    """Every GPU type capped at what the plan uses, then one more / fewer of the first."""
    used: dict[str, int] = {}
    for pool in stored["pools"]:
        gpu, tp, _ = pool["pool"].split("/")
        used[gpu] = used.get(gpu, 0) + pool["replicas"] * int(tp.removeprefix("tp"))
    out = copy.deepcopy(doc)
    for gpu in out["gpus"]:
        gpu["max_count"] = used.get(gpu["name"], 0)
    first = next(g for g in out["gpus"] if g["name"] in used)
    first["max_count"] += step
    return out, first["name"]


def llm_price(doc: Doc, stored: Stored) -> Doc:
    from cost_models.llm.catalog import GPUS

    out = copy.deepcopy(doc)
    for gpu in out["gpus"]:
        gpu["price_usd_per_h"] = 1.2 * GPUS[gpu["name"]].price_usd_per_h
    return out


# ---------------------------------------------------------------------- cellular
def cellular_first(stored: Stored) -> dict[str, Any]:
    pool: dict[str, Any] = stored["pools"][0]
    return pool


def cellular_capacity(doc: Doc, stored: Stored, step: int) -> tuple[Doc, str]:
    """One more GPU of the plan's first type available, or one fewer than the plan uses."""
    pool = cellular_first(stored)
    out = copy.deepcopy(doc)
    gpu = next(g for g in out["gpus"] if g["name"] == pool["gpu"])
    if step < 0 and pool["count"] == 1:  # max_count >= 1: the type is no longer offered
        out["gpus"].remove(gpu)
    else:
        gpu["max_count"] = gpu["max_count"] + 1 if step > 0 else pool["count"] - 1
    return out, pool["gpu"]


def cellular_price(doc: Doc, stored: Stored) -> Doc:
    from cost_models.devices import device

    out = copy.deepcopy(doc)
    name = cellular_first(stored)["gpu"]
    gpu = next(g for g in out["gpus"] if g["name"] == name)
    gpu["price_usd_per_h"] = 1.5 * (gpu.get("price_usd_per_h") or device(name).price_usd_per_h)
    return out


KINDS: dict[str, Keys] = {
    "proteus": Keys(proteus_demand, proteus_capacity, None),
    "ppipe": Keys(
        lambda doc, f, _: times(doc, "models[].slo_us", 1 / f),
        ppipe_capacity,
        lambda doc, _: times(doc, "models.0.weight", 2.0),
    ),
    "cocktail": Keys(
        lambda doc, f, _: times(doc, "classes[].load.qps", f),
        cocktail_capacity,
        cocktail_price,
        cocktail_hours,
    ),
    "pifs": Keys(lambda doc, f, _: pifs_scaled(doc, f), pifs_capacity, pifs_price, pifs_reduced),
    "batch": Keys(batch_scaled, batch_capacity, batch_price, batch_reduced),
    "llm": Keys(lambda doc, f, _: times(doc, "workload.total_rate_qps", f), llm_capacity, llm_price),
    "cellular": Keys(
        lambda doc, f, _: times(doc, "traffic[].rate_qps", f), cellular_capacity, cellular_price
    ),
}


def document(path: Path) -> Doc:
    """The shipped scenario as a document (ppipe's published instance expanded, so that its
    SLOs and GPU counts can be changed), reduced where ``Keys.reduce`` says so."""
    kind = path.parent.name
    if kind == "ppipe":
        scenario = planner.load_scenario(path)
        doc: Doc = {
            "kind": "ppipe",
            "name": scenario.name,
            "solver": scenario.solver.model_dump(exclude_none=True),
            **scenario.inputs.model_dump(mode="json", exclude_none=True),
        }
    else:
        doc = tomllib.loads(path.read_text())
    doc.pop("description", None)
    return KINDS[kind].reduce(path.stem, doc)


def scenario_of(path: Path, doc: Doc) -> planner.Scenario:
    return planner.scenario_from_dict(doc, base_dir=path.parent, file=f"{path.stem}.toml")


SHIPPED = sorted(p for kind in KINDS for p in (ROOT / "scenarios" / kind).glob("*.toml"))
LEFT_OUT = {"llm/melange_example": "reads Melange's fixed example_inputs.json: no demand key"}


@dataclass(frozen=True)
class Committed:
    path: Path
    doc: Doc
    plan_file: Path
    stored: Stored


@cache
def _committed(path: Path, folder: Path) -> Committed:
    doc = document(path)
    plan = planner.solve(scenario_of(path, doc), baselines=False)
    plan_file = folder / f"{path.parent.name}-{path.stem}.json"
    plan_file.write_text(plan.to_json())
    return Committed(path, doc, plan_file, plan.to_dict()["deployment"])


def changed(c: Committed, case: str, folder: Path) -> tuple[Doc | None, str]:
    """The scenario document of ``case`` (None: the kind has no such change) and the name a
    "device removed" shortfall must carry."""
    keys = KINDS[c.path.parent.name]
    if case.startswith("demand"):
        return keys.demand(c.doc, float(case.removeprefix("demand x")), folder), ""
    if case.startswith("device"):
        return keys.capacity(c.doc, c.stored, 1 if case == "device added" else -1)
    return (None if keys.price is None else keys.price(c.doc, c.stored)), ""


def run(c: Committed, case: str, folder: Path) -> tuple[planner.CheckReport | None, str]:
    doc, name = changed(c, case, folder)
    if doc is None:
        return None, name
    return planner.check(c.plan_file, scenario_of(c.path, doc)), name
