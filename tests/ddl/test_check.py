"""``planner check`` on every shipped ddl scenario (issue 18): the committed configurations
are kept and re-evaluated under a changed scenario.

For ``ddl`` the "demand" is the work of each job, its epochs: the committed configuration
must still finish every job by its deadline (min_cost), within the budget (min_time), and
within the vCPU quotas. "One more device" is one more node allowed per configuration
(``max_nodes + 1``), and for ``shared_quota`` also a spot P quota raised by one p4d.24xlarge
(96 vCPUs); a price change doubles each committed instance type's price in its market.

Where the scenario leaves slack (deadlines of 24 or 36 h for jobs that take 3.0 or 25.4 h,
budgets of 300 or 600 USD for runs that cost 32-45 USD), 1.3 x the epochs still fits and the
check passes; for those, ``test_work_beyond_the_committed_capacity_is_short`` scales the
epochs just past what the committed configuration can do and asserts the shortfall. Since
the issue-10 refit 1.3 x also fits the two tight scenarios (BERT's $0.62 plan within $1:
$0.83; shared_quota's jobs at 73%, 75% and 59% of their deadlines, all on the calibrated
rates), so "more work" there is the change that does exceed the committed plan: 5 epochs
instead of 3 for BERT ($1.04 of $1), twice the epochs for shared_quota (all three jobs
late); it is short (exit 3) and the deficit is named.
"""

from __future__ import annotations

import copy
import json
import tomllib
from pathlib import Path
from typing import Any

import pytest

import planner
from cost_models.cloud import INSTANCES
from cost_models.ddl.estimate import Market, price_usd_per_h
from cost_models.units import UNIT_H, UNIT_USD
from formulations.ddl import FORMULATION
from formulations.ddl.verify import UNIT_VCPUS
from formulations.types import ExitCode
from tests.conftest import commit_plans, run_cli, write_scenario
from tests.ddl.helpers import SCENARIOS

NAMES = sorted(p.stem for p in SCENARIOS.glob("*.toml"))

# Expected exit per scenario: epochs x0.8, epochs x MORE (default 1.3), max_nodes + 1, price
# doubled. 6 (suboptimal) where a fresh plan is better by more than the default 1% --max-gap:
# * max_nodes + 1 on the min_time scenarios: the committed finish is 18-25% later than a
#   five-node one;
# * doubled prices on the single-job min_cost scenarios: the committed cost is 7-96% above a
#   fresh plan. Not on shared_quota (0): the one cheaper configuration, ResNet-50 on 1 x
#   p3.16xlarge spot ($82.49 against $89.88 for its doubled 3 x g5.12xlarge spot, 11.24 h
#   within 12 h), needs 64 spot P vCPUs that VGG-11's spot p4d holds (96 of 96), and every
#   other one costs more, so the doubled committed plan ($152.38) is still the optimum.
# 3 (short) on bert_base_mnli_budget under 5 epochs ($0.622 x 5/3 = $1.04) and doubled
# prices ($1.24): its $0.62 plan leaves 38% of the $1 budget. On the other min_time
# scenarios a dearer committed configuration is still the fastest within the budget (0).
# x0.8 exits 0 with the saving reported where a fresh plan for less work would not finish
# the committed work in time: vgg11_imagenet_deadline (24 epochs fit one g5.2xlarge spot
# within 24 h, 23.45 h, $8.54, against the committed p4d.24xlarge spot's $23.88, gap 180%;
# 30 epochs would take it about 29.3 h); shared_quota (its cheaper joint plan is 0.6% cheaper,
# within --max-gap).
EXPECTED = {
    "bert_base_mnli_budget": (0, 3, 6, 3),
    "bert_base_mnli_deadline": (0, 0, 0, 6),
    "resnet50_imagenet_budget": (0, 0, 6, 0),
    "resnet50_imagenet_deadline": (0, 0, 0, 6),
    "shared_quota": (0, 3, 0, 0),
    "vgg11_imagenet_budget": (0, 0, 6, 0),
    "vgg11_imagenet_deadline": (0, 0, 0, 6),
}
# "More work" where 1.3 x the epochs still fits every scenario's committed plan: a change
# that exceeds it (BERT 3 -> 5 epochs; shared_quota's 90/30/3 epochs -> 180/60/6).
MORE = {"bert_base_mnli_budget": 5 / 3, "shared_quota": 2.0}


def document(name: str) -> dict[str, Any]:
    return tomllib.loads((SCENARIOS / f"{name}.toml").read_text())


@pytest.fixture(scope="module")
def committed(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Each scenario's plan, solved once and saved as a committed plan file."""
    return commit_plans(tmp_path_factory.mktemp("committed"), SCENARIOS, list(NAMES))


def plan_of(path: Path) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(path.read_text())
    return data


def scaled(doc: dict[str, Any], factor: float) -> dict[str, Any]:
    """Every job's epochs times ``factor``, rounded to whole epochs (BERT's 3 become 2 and 4)."""
    out = copy.deepcopy(doc)
    for job in out["jobs"]:
        job["epochs"] = max(1, round(job["epochs"] * factor))
    return out


def dearer(doc: dict[str, Any], assignments: list[dict[str, Any]]) -> dict[str, Any]:
    """Each committed instance type's price doubled in the market it was bought in."""
    out = copy.deepcopy(doc)
    for a in assignments:
        market = Market(a["market"])
        key = "spot_usd_per_h" if market is Market.SPOT else "on_demand_usd_per_h"
        price = price_usd_per_h(INSTANCES[a["instance_type"]], market)
        out.setdefault(key, {})[a["instance_type"]] = 2 * price
    return out


def check(plan: Path, doc: dict[str, Any]) -> planner.CheckReport:
    return planner.check(plan, planner.scenario_from_dict(doc))


@pytest.mark.parametrize("name", NAMES)
def test_committed_plan_checks_clean_on_its_own_scenario(
    committed: dict[str, Path], name: str
) -> None:
    report = planner.check(committed[name], SCENARIOS / f"{name}.toml")
    assert report.exit_code is ExitCode.OK
    assert not report.scenario_changed and not report.shortfalls and report.gap == 0


@pytest.mark.parametrize("name", NAMES)
def test_less_work_passes(committed: dict[str, Path], name: str) -> None:
    report = check(committed[name], scaled(document(name), 0.8))
    assert report.exit_code == EXPECTED[name][0], report.to_dict()
    assert report.feasible and report.scenario_changed


@pytest.mark.parametrize("name", NAMES)
def test_more_work(committed: dict[str, Path], name: str) -> None:
    report = check(committed[name], scaled(document(name), MORE.get(name, 1.3)))
    assert report.exit_code == EXPECTED[name][1], report.to_dict()
    if report.exit_code is ExitCode.INFEASIBLE:
        # min_cost: each short job is named with the hours it now needs against its
        # deadline; min_time: the budget with the dollars the committed plan now costs.
        assert report.shortfalls
        for s in report.shortfalls:
            if document(name).get("objective") == "min_time":
                assert (s.what, s.unit) == ("budget", UNIT_USD)
            else:
                assert s.what.startswith("job ") and s.what.endswith("(deadline)")
                assert s.unit == UNIT_H
            assert s.required > s.available
    else:
        assert not report.shortfalls


def test_more_work_names_the_deficits(committed: dict[str, Path]) -> None:
    bert = check(
        committed["bert_base_mnli_deadline"], scaled(document("bert_base_mnli_deadline"), 10.0)
    )
    [short] = bert.shortfalls
    assert short.what == "job bert-mnli (deadline)"
    assert (short.available, short.unit) == (0.5, UNIT_H)
    # 5 x the work fits the deadline since the issue-10 refit (5 x 0.0590 h = 0.295 h < 0.5 h),
    # so 10 x: 30 epochs on the committed 1 x p4d.24xlarge spot: 10 x its 0.0590 h (MNLI fits
    # the page cache, so every epoch takes the same time) = 0.5900 h.
    fresh = planner.solve(SCENARIOS / "bert_base_mnli_deadline.toml", baselines=False)
    assert short.required == pytest.approx(10 * fresh.to_frame()["hours"].iloc[0], rel=1e-9)
    assert short.required == pytest.approx(0.5900, abs=5e-4)
    shared = check(
        committed["shared_quota"], scaled(document("shared_quota"), MORE["shared_quota"])
    )
    # Twice the epochs: ResNet-50's 180 no longer fit (2 x 8.80 h = 17.60 h of 12 h), nor do
    # VGG-11's 60 and BERT's 6.
    assert [(s.what, s.available) for s in shared.shortfalls] == [
        ("job resnet50 (deadline)", 12.0),
        ("job vgg11 (deadline)", 4.0),
        ("job bert-mnli (deadline)", 0.1),
    ]
    resnet, vgg, bert = shared.shortfalls
    assert resnet.required == pytest.approx(17.60, abs=5e-3)
    # VGG-11 on 1 x p4d.24xlarge spot, 5,005 iterations per epoch (1,281,167 / 256 up): the
    # cold epoch reads every image from EBS, 256 x 107,714.3 B / 125 MB/s = 0.2206 s per
    # iteration, behind which the GPU step hides; the 576 GiB page cache holds ImageNet, so
    # the 59 warm epochs run at the GPU step (compute + all-reduce), then the spot overhead.
    view = FORMULATION.prepare(planner.load_scenario(SCENARIOS / "shared_quota.toml").inputs)
    plan = FORMULATION.deployment_model.model_validate(
        plan_of(committed["shared_quota"])["deployment"]
    )
    [vgg11] = [a for a in plan.assignments if a.job == "vgg11"]
    assert (vgg11.instance_type, vgg11.nodes, vgg11.market) == ("p4d.24xlarge", 1, "spot")
    estimate = view.estimate_of(vgg11)  # per-iteration terms do not depend on the epochs
    t_gpu = estimate.compute_s + estimate.interconnect_stall_s + estimate.network_stall_s
    cold = 256 * 138e9 / 1_281_167 / 125e6
    train_h = 5_005 * (cold + 59 * t_gpu) / 3600
    assert vgg.required == pytest.approx(train_h * estimate.hours / estimate.train_h, rel=1e-9)
    assert vgg.required == pytest.approx(5.750, abs=5e-3)
    assert bert.required == pytest.approx(0.1176, abs=5e-4)  # 6/3 x 0.0588 h


@pytest.mark.parametrize("name", NAMES)
def test_one_more_node_passes(committed: dict[str, Path], name: str) -> None:
    doc = document(name)
    doc["max_nodes"] = doc.get("max_nodes", 4) + 1
    report = check(committed[name], doc)
    assert report.exit_code == EXPECTED[name][2], report.to_dict()
    assert report.feasible
    if report.exit_code is ExitCode.SUBOPTIMAL:  # the fresh plan uses the fifth node
        assert report.gap > report.max_gap and report.fresh is not None
        assert report.fresh.value < report.committed.value


def test_a_larger_quota_passes_and_shows_the_saving(committed: dict[str, Path]) -> None:
    doc = document("shared_quota")
    [spot_p] = [q for q in doc["quotas"] if (q["group"], q["market"]) == ("P", "spot")]
    spot_p["vcpus"] += INSTANCES["p4d.24xlarge"].vcpus
    report = check(committed["shared_quota"], doc)
    # A fresh plan moves BERT to the second spot p4d ($0.58 instead of $1.93 on demand):
    # $74.84 in all instead of $76.19 (gap 1.8%; $77.88 instead of $81.51 before the
    # issue-10 refit).
    assert report.exit_code is ExitCode.SUBOPTIMAL and report.feasible
    assert report.committed.value == pytest.approx(76.19, abs=0.005)
    assert report.fresh is not None and report.fresh.value == pytest.approx(74.84, abs=0.005)


@pytest.mark.parametrize("name", NAMES)
def test_price_change(committed: dict[str, Path], name: str) -> None:
    assignments = plan_of(committed[name])["deployment"]["assignments"]
    doc = document(name)
    report = check(committed[name], dearer(doc, assignments))
    assert report.exit_code == EXPECTED[name][3], report.to_dict()
    if report.exit_code is ExitCode.INFEASIBLE:  # the budget no longer pays for the VMs
        [short] = report.shortfalls
        cost = plan_of(committed[name])["headline"]["total_cost_usd"]
        assert (short.what, short.unit, short.available) == ("budget", UNIT_USD, doc["budget_usd"])
        assert short.required == pytest.approx(2 * cost, rel=1e-9)
        return
    assert report.feasible
    before = plan_of(committed[name])["objective"]
    if document(name).get("objective") == "min_cost":  # the same VMs at twice the price
        assert report.committed.value == pytest.approx(2 * before, rel=1e-9)
    else:  # prices do not change hours
        assert report.committed.value == pytest.approx(before, rel=1e-9)


@pytest.mark.parametrize("name", NAMES)
def test_work_beyond_the_committed_capacity_is_short(committed: dict[str, Path], name: str) -> None:
    """Every job's epochs doubled until the committed configurations no longer do (a
    deadline missed, or the budget exceeded): the step before passes, that one exits 3
    naming the job or the budget with the amount needed."""
    doc = document(name)
    if doc.get("objective") == "min_time":
        what, unit, available = "budget", UNIT_USD, doc["budget_usd"]
    else:  # the job with the least slack misses its deadline first
        rows = planner.solve(SCENARIOS / f"{name}.toml", baselines=False).to_frame()
        tightest = int((rows["deadline_h"] / rows["hours"]).to_numpy().argmin())
        what, unit = f"job {rows['job'].iloc[tightest]} (deadline)", UNIT_H
        available = rows["deadline_h"].iloc[tightest]
    factor = 1
    while True:
        report = check(committed[name], scaled(doc, 2 * factor))
        if not report.feasible:
            break
        factor *= 2
        assert factor < 1024, "the committed plan never runs short"
    assert report.exit_code is ExitCode.INFEASIBLE
    short = {s.what: s for s in report.shortfalls}
    assert short[what].unit == unit and short[what].available == available
    assert short[what].required > available
    # When no plan can do the work at all, the report says why instead of giving a gap.
    assert report.fresh is not None or report.fresh_reason.startswith(("job ", "the jobs "))
    assert check(committed[name], scaled(doc, factor)).feasible


def test_a_smaller_quota_is_short_in_vcpus(committed: dict[str, Path]) -> None:
    doc = document("shared_quota")
    [spot_p] = [q for q in doc["quotas"] if (q["group"], q["market"]) == ("P", "spot")]
    spot_p["vcpus"] = 48
    report = check(committed["shared_quota"], doc)
    assert report.exit_code is ExitCode.INFEASIBLE
    [short] = report.shortfalls
    assert (short.what, short.required, short.available, short.unit) == (
        "quota P/spot",
        96,
        48,
        UNIT_VCPUS,
    )


def test_cli_json_report_of_a_shortfall(committed: dict[str, Path], tmp_path: Path) -> None:
    scenario = write_scenario(
        tmp_path / "more.toml", scaled(document("bert_base_mnli_deadline"), 10.0)
    )
    run = run_cli(
        "check",
        str(committed["bert_base_mnli_deadline"]),
        "--scenario",
        str(scenario),
        "--format",
        "json",
    )
    assert run.exit_code == ExitCode.INFEASIBLE
    report = json.loads(run.stdout)
    assert report["verdict"] == "infeasible" and report["scenario_changed"] is True
    [short] = report["shortfalls"]
    assert short["what"] == "job bert-mnli (deadline)" and short["unit"] == UNIT_H
    assert short["required"] > short["available"] == 0.5
