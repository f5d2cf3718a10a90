"""The HTML report in headless Chromium: plots drawn with a size, no errors logged."""

from __future__ import annotations

from pathlib import Path

import pytest

import planner
from tests.conftest import ROOT, run_cli, write_scenario
from tests.sweep.chromium import CHROMIUM, check_page
from tests.sweep.conftest import TOY_DDL, write_sweep

needs_chromium = pytest.mark.skipif(
    not CHROMIUM.exists(),
    reason=f"{CHROMIUM} is absent (Debian: apt-get install -y chromium)",
)


def _assert_renders(page: Path, plots: int) -> None:
    text = page.read_text()
    assert "<script" not in text
    check = check_page(page)
    assert check.requests == [page.resolve().as_uri()]  # the page itself, nothing else
    assert len(check.plot_sizes) == plots == text.count('<figure class="plot"')
    for figure, width, height in check.plot_sizes:
        assert width > 0 and height > 0, figure
    assert check.errors == []
    assert check.screenshot_png.startswith(b"\x89PNG")
    page.with_suffix(".png").write_bytes(check.screenshot_png)


@needs_chromium
def test_plan_report_with_stall_bars(tmp_path: Path) -> None:
    scenario = write_scenario(tmp_path / "toy.toml", TOY_DDL)
    plan = tmp_path / "plan.json"
    assert run_cli("solve", scenario, "-o", plan).exit_code == 0
    page = tmp_path / "plan.html"
    result = run_cli("report", plan, "--scenario", scenario, "-o", page)
    assert result.exit_code == 0, result.stderr
    assert "Stall breakdown" in page.read_text()
    _assert_renders(page, plots=2)  # stall breakdown, baselines


@needs_chromium
def test_proteus_utilisation_and_front_reports(tmp_path: Path) -> None:
    scenario = ROOT / "scenarios" / "proteus" / "edge_cluster.toml"
    plan = tmp_path / "plan.json"
    plan.write_text(planner.solve(scenario, baselines=False).to_json())
    page = tmp_path / "plan.html"
    planner.report(plan, page, scenario)
    assert "utilisation_pct per device_type" in page.read_text()
    _assert_renders(page, plots=2)  # placements and device types
    front = tmp_path / "front.json"
    toy = write_scenario(tmp_path / "toy.toml", TOY_DDL)
    run_cli(
        "pareto", toy, "--x", "jobs[0].deadline_h", "--x-metric", "latest_finish_h", "-o", front
    )
    planner.report(front, tmp_path / "front.html")
    _assert_renders(tmp_path / "front.html", plots=1)


@needs_chromium
def test_sweep_report(tmp_path: Path, client: object) -> None:
    path = write_sweep(
        tmp_path,
        '[[axes]]\nkey = "jobs[0].deadline_h"\nvalues = [0.01, 3.0, 24.0]\n',
    )
    store = tmp_path / "out.parquet"
    planner.sweep(path, store, client=client)
    page = tmp_path / "sweep.html"
    assert run_cli("report", store, "-o", page).exit_code == 0
    text = page.read_text()
    assert "failed points" in text and "infeasible" in text
    _assert_renders(page, plots=2)  # objective and baselines against the deadline


def test_report_of_a_missing_file_is_an_input_error(tmp_path: Path) -> None:
    result = run_cli("report", tmp_path / "nope.json", "-o", tmp_path / "r.html")
    assert result.exit_code == 2 and "nope.json" in result.stderr
