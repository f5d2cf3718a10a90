"""Rates of the Cocktail kind: measured rates override the calibrated estimates, provenance
reaches the plan, and spot risk is reported at the Spot Advisor and the measured rates."""

from __future__ import annotations

from pathlib import Path

import pytest

from cost_models.cocktail.spot import MIN_MATCH_H, measured_spot_rates
from formulations.cocktail import FORMULATION
from formulations.cocktail.spot_risk import spot_risk_table
from formulations.types import Provenance
from tests.cocktail.helpers import solve_view, tiny, view_of
from tests.conftest import run_cli, write_scenario

MEASURED = [
    {"model": "ResNet50", "instance_type": "g4dn.xlarge", "latency_ms": 8.0, "source": "lab"},
    {"model": "MobileNetV2", "instance_type": "c5.xlarge", "batch": 4, "latency_ms": 100.0},
]


def test_measured_rates_override_the_estimate_and_show_as_measured() -> None:
    view = view_of(tiny(measured=MEASURED))
    m, g, c = view.model_index, view.instance_index["g4dn.xlarge"], view.instance_index["c5.xlarge"]
    assert view.latency_ms[m["ResNet50"], g] == 8.0
    assert view.capacity_qps[m["ResNet50"], g] == pytest.approx(1e3 / 8.0)  # one T4
    # batch 4 in 100 ms on one CPU worker: 40 requests/s, each taking 100 ms
    assert view.latency_ms[m["MobileNetV2"], c] == 100.0
    assert view.capacity_qps[m["MobileNetV2"], c] == pytest.approx(40.0)
    assert view.rate_provenance[m["ResNet50"]][g] is Provenance.MEASURED
    assert view.rate_error_pct[m["ResNet50"]][g] is None
    assert view.rate_provenance[m["InceptionV3"]][g] is Provenance.CALIBRATED
    sources = FORMULATION.rate_sources(view)
    measured = [s for s in sources if s.provenance is Provenance.MEASURED]
    assert {s.what for s in measured} == {"ResNet50 on g4dn.xlarge", "MobileNetV2 on c5.xlarge"}
    assert any("lab" in s.source for s in measured)
    # every (model, type) is covered once
    assert sum(len(s.what.split(", ")) for s in sources if "models" not in s.what) >= 2


@pytest.mark.parametrize(
    ("entry", "key"),
    [
        ({"model": "VGG16", "instance_type": "c5.xlarge", "latency_ms": 5.0}, "measured[0].model"),
        (
            {"model": "ResNet50", "instance_type": "p3.2xlarge", "latency_ms": 5.0},
            "measured[0].instance_type",
        ),
        ({"model": "ResNet50", "instance_type": "c5.xlarge", "latency_ms": -1.0}, "latency_ms"),
    ],
)
def test_bad_measured_rates_exit_2_naming_the_key(
    tmp_path: Path, entry: dict[str, object], key: str
) -> None:
    path = write_scenario(tmp_path / "s.toml", tiny(measured=[entry]))
    result = run_cli("solve", str(path))
    out = result.stdout + result.stderr
    assert result.exit_code == 2
    assert key in out


def test_duplicate_measured_pairs_are_refused(tmp_path: Path) -> None:
    path = write_scenario(tmp_path / "s.toml", tiny(measured=[MEASURED[0], MEASURED[0]]))
    result = run_cli("solve", str(path))
    out = result.stdout + result.stderr
    assert result.exit_code == 2
    assert "one measured rate per (model, instance_type)" in out


def _lifetimes(tmp_path: Path, rows: list[tuple[str, float]]) -> Path:
    folder = tmp_path / "spot"
    folder.mkdir()
    lines = ["provider,instance_type,start_utc,end_utc,lifetime_seconds,last_seen_running_utc"]
    for inst, hours in rows:
        end = "2022-01-01T01:00:00Z"
        lines.append(f"aws,{inst},2022-01-01T00:00:00Z,{end},{hours * 3600},")
    (folder / "lifetimes.csv").write_text("\n".join(lines) + "\n", encoding="utf-8")
    return tmp_path


def test_measured_spot_rate_matches_the_kaplan_meier_probability(tmp_path: Path) -> None:
    # p2.xlarge: 3 of 4 VMs die within the hour: P = 0.75, hazard ln 4 per hour
    reference = _lifetimes(tmp_path, [("p2.xlarge", 0.5)] * 3 + [("p2.xlarge", 2.0)])
    own, proxy = measured_spot_rates(["p2.xlarge", "c5.xlarge"], 1.0, reference)
    assert own.rate_per_h == pytest.approx(1.3862943611, rel=1e-9)
    assert (own.family, own.proxy) == ("p2.xlarge", False)
    # c5.xlarge has no lifetimes: the p2.xlarge ones stand in, labelled as a proxy
    assert (proxy.family, proxy.proxy, proxy.rate_per_h) == ("p2.xlarge", True, own.rate_per_h)
    # a 10-s interval matches over MIN_MATCH_H, not over 10 s (no VM dies that young)
    (short,) = measured_spot_rates(["p2.xlarge"], 10 / 3600, reference)
    assert MIN_MATCH_H == 1.0 and short.rate_per_h == pytest.approx(own.rate_per_h)
    assert measured_spot_rates(["c5.xlarge"], 1.0, tmp_path / "absent") is None


def test_spot_risk_table_replays_both_rates(tmp_path: Path) -> None:
    view = view_of(tiny(min_on_demand_share=0.0))
    reference = _lifetimes(tmp_path, [("p2.xlarge", 0.01)] * 4)  # every VM dies in 36 s
    stressed = view.__class__(
        **{**view.__dict__, "measured_spot": measured_spot_rates(view.instances, 1.0, reference)}
    )
    deployment = solve_view(stressed).deployment
    (table,) = spot_risk_table(stressed, deployment)
    met = {row[0]: row[4] for row in table.rows}
    assert set(met) == {"Spot Advisor", "measured"}
    # the replay loses each spot VM at most once per interval (replaced after the start-up
    # delay), so the share cannot rise; the rates column shows the two bases
    assert met["measured"] <= met["Spot Advisor"]
    rates = {row[0]: row[2] for row in table.rows}
    assert rates["measured"] > 1e3 > 1e-3 > rates["Spot Advisor"]
    assert all("proxy p2.xlarge" in row[3] for row in table.rows if row[0] == "measured")
