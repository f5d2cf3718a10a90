"""Issue 19 at the boundary: non-finite or absurd numbers, empty traces and scenarios
whose plan would be too large exit 2 naming the file and key, never a plan or a hang."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.conftest import run_cli, to_toml
from tests.proteus.helpers import tiny_proteus


def _solve(tmp_path: Path, document: dict[str, Any]) -> str:
    path = tmp_path / "s.toml"
    path.write_text(to_toml(document))  # (write_scenario's round-trip check fails on NaN)
    result = run_cli("solve", str(path))
    assert result.exit_code == 2, result.stdout + result.stderr
    assert "s.toml" in result.stderr or "trace" in result.stderr
    return result.stderr


def _with(change: dict[str, Any], **top: Any) -> dict[str, Any]:
    document = tiny_proteus(**top)
    for key, value in change.items():
        family, field = key.split(".")
        document["families"][family][field] = value
    return document


@pytest.mark.parametrize(
    ("change", "key"),
    [
        ({"vision.slo_ms": float("inf")}, "slo_ms"),
        ({"vision.slo_ms": float("nan")}, "slo_ms"),
        ({"vision.demand_qps": float("inf")}, "demand_qps"),
        ({"vision.demand_qps": 1e30}, "demand_qps"),
    ],
)
def test_family_numbers_are_finite_and_bounded(
    tmp_path: Path, change: dict[str, Any], key: str
) -> None:
    assert key in _solve(tmp_path, _with(change))


@pytest.mark.parametrize(
    ("top", "key"),
    [
        ({"beta": 1e308}, "beta"),
        ({"beta": float("inf")}, "beta"),
        ({"beta_step": 1e-12}, "beta_step"),
        ({"demand_scale": float("nan")}, "demand_scale"),
        ({"batch_sizes": [1, 10**30]}, "batch_sizes"),
    ],
)
def test_scenario_numbers_are_finite_and_bounded(
    tmp_path: Path, top: dict[str, Any], key: str
) -> None:
    assert key in _solve(tmp_path, tiny_proteus(**top))


def test_device_count_is_bounded(tmp_path: Path) -> None:
    document = tiny_proteus()
    document["devices"]["gpu"]["count"] = 10**30
    assert "count" in _solve(tmp_path, document)


def _traced(tmp_path: Path, text: str, **top: Any) -> dict[str, Any]:
    trace = tmp_path / "trace.txt"
    trace.write_text(text)
    document = tiny_proteus(**top)
    document["families"]["vision"] = {"slo_ms": 60.0, "trace": str(trace)}
    return document


@pytest.mark.parametrize("text", ["", "arrival_ms,qos,deadline_ms\n", "\n\n"])
def test_empty_trace_is_refused(tmp_path: Path, text: str) -> None:
    assert "trace.txt" in _solve(tmp_path, _traced(tmp_path, text))


def test_window_longer_than_a_day_is_refused(tmp_path: Path) -> None:
    """A huge window_s made demand ~1e-30 queries/s, which HiGHS could not solve (exit 1)."""
    document = _traced(tmp_path, "0\n5\n", trace={"window_s": 1e30})
    assert "window_s" in _solve(tmp_path, document)


def test_too_many_windows_names_window_s(tmp_path: Path) -> None:
    document = _traced(tmp_path, "0\n1000000000\n", trace={"window_s": 1.0})
    assert "trace.window_s" in _solve(tmp_path, document)


def test_warm_start_is_clipped_to_the_window_bounds() -> None:
    """The previous window's counts may exceed this window's count bounds (they depend on
    demand); CBC refuses such a start (issue 19: paper_cluster --backend cbc exited 1)."""
    from formulations.proteus.milp import build, candidates, solve_window
    from planner import scenario_from_dict
    from planner.backends import make_solver
    from planner.engine import TimedSolver
    from tests.proteus.helpers import view_of

    scenario = scenario_from_dict(tiny_proteus())
    view = view_of(scenario)
    usable = candidates(view)
    model = build(view, usable, view.demand(0), view.levels[0])
    too_many = {name: 1e6 for name in model.n.names()}
    seen: list[dict[str, float]] = []
    inner = TimedSolver(make_solver(scenario.solver))

    class Recording:
        settings = inner.settings

        def solve(self, model: Any, warm_start: Any = None) -> Any:
            if warm_start is not None:
                seen.append(dict(warm_start))
            return inner.solve(model, warm_start)

    solve_window(view, Recording(), 0, usable, warm_start=too_many)
    assert seen and all(
        seen[0][name] <= upper for name, upper in zip(model.n.names(), model.upper, strict=True)
    )
