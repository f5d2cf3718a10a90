"""Trace files (formulations/replay/trace.py): strict validation, exact and scaled replay."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from formulations.replay import trace as trace_module
from formulations.replay.arrivals import Mix, poisson, stepped_classes
from formulations.replay.trace import TraceFile
from formulations.types import InputError
from tests.conftest import run_cli, write_scenario
from tests.proteus.helpers import tiny_proteus

CLASSES = ("vision", "text")


def _file(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "trace.csv"
    path.write_text(text)
    return path


@pytest.mark.parametrize(
    ("text", "where", "expected"),
    [
        ("time,class\n1,vision\n", "row 1 (header)", "a header `time_s`"),
        ("time_s,class,extra\n1,vision,2\n", "row 1 (header)", "a header `time_s`"),
        ("time_s,class\n0.5,vision\n0.2,text\n", "row 3, column time_s", "non-decreasing"),
        ("time_s,class\n0.5,vision\n\n", "row 3, column time_s", "a finite number"),
        ("time_s,class\n-1,vision\n", "row 2, column time_s", "a finite number"),
        ("time_s,class\nnan,vision\n", "row 2, column time_s", "a finite number"),
        ("time_s,class\n1e9,vision\n", "row 2, column time_s", "[0, 1e+06]"),
        ("time_s,class\n0.1,vision\n0.2,audio\n", "row 3, column class", "vision, text"),
        ("time_s\n0.1\n0.2,text\n", "row 3", "1 field(s)"),
    ],
)
def test_a_bad_trace_names_row_column_and_expectation(
    tmp_path: Path, text: str, where: str, expected: str
) -> None:
    with pytest.raises(InputError) as error:
        TraceFile.read(_file(tmp_path, text), CLASSES)
    message = str(error.value)
    assert message.startswith(str(tmp_path / "trace.csv")) and where in message
    assert expected in message


def test_missing_files_folders_and_too_many_rows_are_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with pytest.raises(InputError, match="no such path"):
        TraceFile.read(tmp_path / "absent.csv", CLASSES)
    with pytest.raises(InputError, match="is a folder"):
        TraceFile.read(tmp_path, CLASSES)
    monkeypatch.setattr(trace_module, "MAX_TRACE_ROWS", 2)
    with pytest.raises(InputError, match="at most 2 rows"):
        TraceFile.read(_file(tmp_path, "time_s\n0\n1\n2\n"), CLASSES)


def test_an_exact_replay_streams_the_file_and_stops_at_the_span(tmp_path: Path) -> None:
    text = "time_s,class\n" + "".join(f"{t / 10},{CLASSES[t % 2]}\n" for t in range(50))
    trace = TraceFile.read(_file(tmp_path, text), CLASSES)
    assert (trace.rows, trace.last_s) == (50, 4.9)
    assert trace.per_second.tolist() == [[5, 5]] * 5
    rng = np.random.default_rng(0)
    chunks = list(trace.chunks(rng, Mix(), chunk=8))
    times = np.concatenate([c.time_s for c in chunks])
    assert times.tolist() == [t / 10 for t in range(50)]
    assert np.concatenate([c.klass for c in chunks]).tolist() == [t % 2 for t in range(50)]
    until = np.concatenate([c.time_s for c in trace.chunks(rng, Mix(), until_s=2.0)])
    assert len(until) == 20 == trace.expected_requests(until_s=2.0)


def test_without_a_class_column_classes_come_from_the_mix(tmp_path: Path) -> None:
    trace = TraceFile.read(_file(tmp_path, "time_s\n" + "0.5\n" * 4000), CLASSES)
    (chunk,) = trace.chunks(np.random.default_rng(1), Mix((0.25, 0.75)))
    assert np.mean(chunk.klass) == pytest.approx(0.75, abs=0.03)


def test_a_scaled_replay_keeps_the_shape_per_second_and_class(tmp_path: Path) -> None:
    # 200 vision requests in second 0, 100 text ones in second 2
    text = "time_s,class\n" + "0.5,vision\n" * 200 + "2.5,text\n" * 100
    trace = TraceFile.read(_file(tmp_path, text), CLASSES)
    chunks = list(trace.chunks(np.random.default_rng(2), Mix(), rate_scale=3.0))
    times = np.concatenate([c.time_s for c in chunks])
    klass = np.concatenate([c.klass for c in chunks])
    assert np.all(np.diff(times) >= 0)
    vision, text_ = times[klass == 0], times[klass == 1]
    assert np.all(vision < 1.0) and np.all((text_ >= 2.0) & (text_ < 3.0))
    assert len(vision) == pytest.approx(600, abs=5 * 600**0.5)
    assert len(text_) == pytest.approx(300, abs=5 * 300**0.5)
    assert trace.expected_requests(3.0) == 900


def test_poisson_until_and_stepped_classes() -> None:
    rng = np.random.default_rng(3)
    times = np.concatenate([c.time_s for c in poisson(100.0, 10**6, rng, until_s=5.0)])
    assert times.max() < 5.0 and len(times) == pytest.approx(500, abs=5 * 500**0.5)
    rates = np.array([[10.0, 0.0], [0.0, 20.0]])
    (chunk,) = stepped_classes(rates, 10.0, rng)
    first = chunk.klass[chunk.time_s < 10.0]
    assert set(first.tolist()) <= {0} and set(chunk.klass[chunk.time_s >= 10].tolist()) <= {1}


def test_the_cli_exits_2_naming_the_row_and_lists_the_known_classes(tmp_path: Path) -> None:
    scenario = write_scenario(tmp_path / "s.toml", tiny_proteus())
    bad = _file(tmp_path, "time_s,class\n0.1,vision\n0.2,audio\n")
    result = run_cli("simulate", scenario, "--runs", "1", "--trace", bad)
    assert result.exit_code == 2, result.stdout
    assert "row 3, column class" in result.stderr and "vision, text" in result.stderr
    assert "Traceback" not in result.stderr
    result = run_cli("simulate", scenario, "--runs", "1", "--duration-s", "11")
    assert result.exit_code == 2 and "at most the plan's span, 10 s" in result.stderr
