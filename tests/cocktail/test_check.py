"""`planner check` on Cocktail plans: the committed schedule refitted to a changed scenario.

Cocktail rents VMs from a cloud without an inventory, so "one more device of an existing
type" has no analogue in a scenario; its counterpart is one more instance type offered
(the committed plan still covers the load; a fresh plan may use the new type: exit 0 or 6).

The shipped scenarios are checked over four of their 24 hours (the trough, the morning, the
peak and the evening: 04:00, 09:00, 16:00, 21:00), so that each check's fresh solve stays
small; everything else (models, instance types, classes, targets, forecasts) is the shipped
scenario's.
"""

from __future__ import annotations

import copy
import json
import random
import re
import tomllib
from pathlib import Path
from typing import Any

import pytest

import planner
from cost_models.cloud import INSTANCES
from formulations.cocktail.view import CocktailView
from formulations.types import ExitCode
from planner.engine import CheckReport, check, prepared_view
from planner.scenario import scenario_from_dict
from tests.cocktail.helpers import tiny
from tests.conftest import run_cli, write_scenario

ROOT = Path(__file__).resolve().parents[2]
SHIPPED = sorted((ROOT / "scenarios" / "cocktail").glob("*.toml"))
HOURS = [4, 9, 16, 21]


def four_hours(document: dict[str, Any]) -> dict[str, Any]:
    out = copy.deepcopy(document)
    for c in out["classes"]:
        c["load"]["qps"] = [c["load"]["qps"][h] for h in HOURS]
    return out


def _scaled(document: dict[str, Any], factor: float) -> dict[str, Any]:
    out = copy.deepcopy(document)
    for c in out["classes"]:
        c["load"]["qps"] = [factor * q for q in c["load"]["qps"]]
    return out


@pytest.fixture(scope="module", params=SHIPPED, ids=lambda p: p.stem)
def committed(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Any:
    """(scenario document, plan path) of a shipped scenario over four hours."""
    path: Path = request.param
    document = four_hours(tomllib.loads(path.read_text()))
    plan = planner.solve(scenario_from_dict(document, base_dir=path.parent), baselines=False)
    out = tmp_path_factory.mktemp("committed") / f"{path.stem}.json"
    out.write_text(plan.to_json())
    return document, out, path.parent


def _check(committed: Any, document: dict[str, Any]) -> tuple[CheckReport, CocktailView]:
    _, plan, base_dir = committed
    scenario = scenario_from_dict(document, base_dir=base_dir)
    return check(plan, scenario), prepared_view(scenario)


# x0.8: a fresh plan serves the strict class with InceptionResNetV2 where the committed plan
# has NASNetLarge (1 on-demand + 1 spot g4dn.xlarge instead of the refit's 1 + 2 at the lower
# load, one $0.158 spot VM-hour less each time): at 04:00 -- imagenet_day, 9.894 against
# 10.052 USD, gap 1.6% -- and at 04:00 and 09:00 -- imagenet_day_ewma, 6.736 against 7.052
# USD, gap 4.7%; the refit keeps the committed ensembles (members are decisions). That fresh
# plan would not serve the committed load, so the verdict is exit 0 with the saving shown
# (likewise Cocktail's profile, 5.394 against 5.162 USD/h). imagenet_day_cpu's fresh plan
# keeps the committed ensembles and types: its refit is the fresh optimum. (Before the
# issue-10 refits of the performance model the gaps were imagenet_day 4.5% -> 2.4% -> 1.6%,
# imagenet_day_ewma 12.3% -> 6.8% -> 4.7%.)
DOWN_GAP = {
    "cocktail_profile": 0.044944,
    "imagenet_day": 0.015969,
    "imagenet_day_cpu": 0.0,
    "imagenet_day_ewma": 0.046912,
}
# 1.5 x the spot price of the first committed type: on Cocktail's profile a fresh plan moves
# load elsewhere where another offered type is then cheaper. On the zoo's scenarios the fresh
# plan is the committed one: on the GPU scenarios g4dn.xlarge, the only type used, stays the
# cheapest at that price; on imagenet_day_cpu (before the issue-10 refit: gap 2.7% -> 1.1%,
# Xception's VMs moving from c5.2xlarge to c5.4xlarge) a c5.4xlarge spot VM is now the
# cheaper per request/s for Xception ($0.27 / 18.43 against $0.2025 / 12.47), but with whole
# VMs and 20% of each pool's load on on-demand VMs (c5.2xlarge's $0.34 / 12.47 against
# $0.68 / 18.43) no hour gets cheaper: 09:00's 63 req/s tie at $1.49 (1 + 3 c5.4xlarge
# against the committed 2 + 4 c5.2xlarge), so the gap is 0.
PRICE_GAP = {
    "cocktail_profile": 0.141258,
    "imagenet_day": 0.0,
    "imagenet_day_cpu": 0.0,
    "imagenet_day_ewma": 0.0,
}
# p2.xlarge offered to Cocktail's profile: a fresh plan uses it and is 1.4% cheaper; refitted
# to the committed scenario (no p2.xlarge) its classes fall short, so exit 0, saving shown
MORE_GAP = {"cocktail_profile": 0.013947}


def _exit_for(gap: float) -> ExitCode:
    return ExitCode.SUBOPTIMAL if gap > 0.01 else ExitCode.OK


def test_demand_down_is_covered_and_the_counts_shrink(committed: Any) -> None:
    document, plan, _ = committed
    report, _ = _check(committed, _scaled(document, 0.8))
    assert report.shortfalls == [] and report.violations == []
    expected = DOWN_GAP[plan.stem]
    assert report.exit_code is ExitCode.OK
    assert report.gap == pytest.approx(expected, rel=0.01, abs=1e-6)
    assert report.fresh_covers_committed is (False if expected > 0.01 else None)
    # VMs the lower load does not need are released: keeping every committed VM would be
    # over 5% above a fresh optimum, and the refit saves more than what remains (the rest of
    # the gap is the fresh plan's other ensembles, above)
    stored = json.loads(plan.read_text())["objective"]
    assert (stored - report.fresh.value) / report.fresh.value > 0.05
    assert stored - report.committed.value > report.committed.value - report.fresh.value


def test_demand_up_names_every_short_class_and_its_deficit(committed: Any) -> None:
    document, _, _ = committed
    report, view = _check(committed, _scaled(document, 1.3))
    assert report.exit_code is ExitCode.INFEASIBLE
    names = [c.name for c in view.classes]
    short = set()
    for s in report.shortfalls:
        found = re.fullmatch(r"class (\w+) \(interval (\d+); (\d+) of 4 intervals short\)", s.what)
        assert found, s.what
        k, t = names.index(found.group(1)), int(found.group(2))
        short.add(found.group(1))
        assert s.unit == "requests/s"
        assert s.required == pytest.approx(view.planned_qps[k, t])
        assert 0.0 <= s.available < s.required
    # at 1.3 times the load every class's peak hour exceeds what the committed VMs serve --
    # on the zoo's scenarios; with Cocktail's profile one c5 VM runs up to 40 server workers
    # (230 req/s of MobileNet per c5.xlarge), so a class on shared pools may fit in their slack
    if "profile" in document:
        assert short
    else:
        assert short == set(names)


def test_one_more_instance_type_offered_is_covered(committed: Any) -> None:
    document, _, _ = committed
    more = copy.deepcopy(document)
    # Cocktail's profile has worker counts for c5 and p2 types only (its handle sizes)
    offered = ("p2.xlarge",) if "profile" in more else ("c5.4xlarge", "m5.2xlarge")
    more["instance_types"].append(next(t for t in offered if t not in more["instance_types"]))
    report, _ = _check(committed, more)
    assert report.shortfalls == [] and report.violations == []
    # on the zoo's scenarios the committed types stay the cheapest: a fresh plan does not
    # use the new one
    expected = MORE_GAP.get(committed[1].stem, 0.0)
    assert report.exit_code is ExitCode.OK
    assert report.gap == pytest.approx(expected, rel=0.01, abs=1e-9)
    assert report.fresh_covers_committed is (False if expected > 0.01 else None)


def test_a_price_change_is_covered_and_priced_at_the_new_prices(committed: Any) -> None:
    document, plan, _ = committed
    dearer = copy.deepcopy(document)
    stored = json.loads(plan.read_text())
    used = {p["instance_type"] for i in stored["deployment"]["intervals"] for p in i["pools"]}
    spot = INSTANCES[sorted(used)[0]].spot_usd_per_h
    dearer["spot_usd_per_h"] = {sorted(used)[0]: 1.5 * spot}
    report, _ = _check(committed, dearer)
    assert report.shortfalls == [] and report.violations == []
    expected = PRICE_GAP[plan.stem]
    assert report.exit_code is _exit_for(expected)
    assert report.gap == pytest.approx(expected, rel=0.01, abs=1e-6)
    assert report.committed.value >= stored["objective"]


# ---- a tampered plan never passes, never crashes ----------------------------------------

FIELDS = (
    "policy",
    "intervals",
    "classes",
    "name",
    "members",
    "routes",
    "model",
    "instance_type",
    "qps",
    "pools",
    "on_demand",
    "spot",
)


def _paths(value: Any, path: tuple[str | int, ...] = ()) -> list[tuple[str | int, ...]]:
    """Every key path below ``value`` (dicts and lists, leaves included)."""
    out = [path] if path else []
    if isinstance(value, dict):
        for key, item in value.items():
            out += _paths(item, (*path, key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            out += _paths(item, (*path, index))
    return out


def _mutations(value: Any) -> list[tuple[str, Any]]:
    """(how, new value) for one field; ``how = "delete"`` removes it."""
    out: list[tuple[str, Any]] = [("delete", None), ("null", None), ("dict", {"x": 1})]
    if isinstance(value, bool) or not isinstance(value, int | float):
        out.append(("number", 3))
    if isinstance(value, int | float) and not isinstance(value, bool):
        out += [("string", "7"), ("bool", True), ("negative", -value - 1), ("doubled", 2 * value)]
        out += [("float", value + 0.5)] if isinstance(value, int) else []
    if isinstance(value, str):
        out += [("empty", ""), ("unknown", "NoSuchName"), ("list", [value])]
    if isinstance(value, list):
        out += [("empty_list", []), ("string", "x"), ("dropped_first", value[1:])]
        out += [("duplicated_first", [value[0], *value])] if value else []
    return out


def _set(document: dict[str, Any], path: tuple[str | int, ...], how: str, new: Any) -> None:
    parent: Any = document
    for key in path[:-1]:
        parent = parent[key]
    if how == "delete":
        del parent[path[-1]]
    else:
        parent[path[-1]] = new


# Mutations that leave the plan meaning the same, and why they may pass with exit 0.
HARMLESS = {
    # policy only names what produced the plan; deleting it leaves the default "milp"
    ("policy", "delete"),
}


def test_no_tampered_plan_passes_or_crashes(tmp_path: Path) -> None:
    scenario = write_scenario(tmp_path / "tiny.toml", tiny())
    plan = tmp_path / "plan.json"
    assert run_cli("solve", str(scenario), "-o", str(plan)).exit_code == 0
    original = json.loads(plan.read_text())
    rng = random.Random(0)
    by_field: dict[str, list[tuple[str | int, ...]]] = {}
    for path in _paths(original["deployment"]):
        field = next(str(k) for k in reversed(path) if isinstance(k, str))
        if isinstance(path[-1], int):  # a list element: tamper with the list's entry
            field = f"{field}[]"
        by_field.setdefault(field, []).append(path)
    assert set(FIELDS) <= set(by_field), set(FIELDS) - set(by_field)
    outcomes: dict[int, int] = {}
    for field, paths in sorted(by_field.items()):
        path = rng.choice(paths)
        target: Any = original["deployment"]
        for key in path:
            target = target[key]
        for how, new in _mutations(target):
            tampered = copy.deepcopy(original)
            _set(tampered["deployment"], path, how, new)
            if tampered == original:
                continue  # e.g. a 0 doubled: the same plan
            plan.write_text(json.dumps(tampered))
            result = run_cli("check", str(plan), "--scenario", str(scenario))
            where = f"deployment.{'.'.join(map(str, path))} {how}: {result.stdout[-300:]}"
            assert result.exit_code != ExitCode.INTERNAL_ERROR, where
            if (field, how) not in HARMLESS:
                assert result.exit_code != ExitCode.OK, where
            outcomes[result.exit_code] = outcomes.get(result.exit_code, 0) + 1
    assert set(outcomes) <= {0, 2, 3}, outcomes


# ---- other changes, on the tiny scenario ----------------------------------------------


@pytest.fixture(scope="module")
def tiny_plan(tmp_path_factory: pytest.TempPathFactory) -> Path:
    plan = planner.solve(scenario_from_dict(tiny()), baselines=False)
    out = tmp_path_factory.mktemp("tiny") / "plan.json"
    out.write_text(plan.to_json())
    return out


def _tiny_check(plan: Path, document: dict[str, Any]) -> CheckReport:
    return check(plan, scenario_from_dict(document))


def test_a_higher_accuracy_target_names_the_ensemble_below_it(tiny_plan: Path) -> None:
    document = tiny()
    # the committed InceptionV3 alone has 78.25%; other ensembles reach 81.3%
    document["classes"][1]["accuracy_target"] = 0.80
    report = _tiny_check(tiny_plan, document)
    assert report.exit_code is ExitCode.INFEASIBLE
    (short,) = report.shortfalls
    assert short.what == "class relaxed: vote accuracy of InceptionV3 (interval 0)"
    assert short.unit == "%" and short.required == pytest.approx(80.0)
    assert short.available == pytest.approx(78.25)


def test_a_tighter_slo_leaves_the_class_without_capacity(tiny_plan: Path) -> None:
    document = tiny()
    # the committed InceptionV3 takes 3.0 ms on g4dn.xlarge; DenseNet121 takes 1.6 ms
    document["classes"][1]["slo_ms"] = 2.5
    report = _tiny_check(tiny_plan, document)
    assert report.exit_code is ExitCode.INFEASIBLE
    assert [s.what for s in report.shortfalls] == [
        "class relaxed (interval 0; 2 of 2 intervals short)"
    ]
    assert report.shortfalls[0].available == 0.0


def test_a_class_dropped_from_the_scenario_is_covered(tiny_plan: Path) -> None:
    document = tiny()
    document["classes"] = document["classes"][:1]
    report = _tiny_check(tiny_plan, document)
    assert report.shortfalls == [] and report.violations == []
    # the dropped class's VMs are released: the remaining ones are the fresh optimum
    assert (report.exit_code, report.gap) == (ExitCode.OK, 0.0)


def test_an_interval_the_plan_lacks_is_short_for_every_loaded_class(tiny_plan: Path) -> None:
    document = tiny()
    for c in document["classes"]:
        c["load"]["qps"] = [*c["load"]["qps"], 10.0]
    report = _tiny_check(tiny_plan, document)
    assert report.exit_code is ExitCode.INFEASIBLE
    assert {s.what for s in report.shortfalls} == {
        "class strict (interval 2; 1 of 3 intervals short)",
        "class relaxed (interval 2; 1 of 3 intervals short)",
    }
    assert all(s.available == 0.0 and s.required == 10.0 for s in report.shortfalls)
    assert any("plan has 2 intervals, the scenario 3" in v for v in report.violations)
