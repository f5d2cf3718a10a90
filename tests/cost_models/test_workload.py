"""Traces, windowing, forecasts and Zipf shares: synthetic golden numbers and the real traces."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from cost_models.errors import DataError
from cost_models.workload import (
    ewma,
    moving_average,
    read_arrivals_ms,
    window_count,
    window_rates_qps,
    zipf_shares,
)

TRACES = Path(__file__).resolve().parents[3] / "shared" / "reference" / "proteus" / "traces"


def test_read_arrivals(tmp_path: Path) -> None:
    path = tmp_path / "t.txt"
    path.write_text("arrival_ms,qos_level,deadline_ms\n5,1,300\n\n5,1,300\n17.5\n  20 ,x\n")
    np.testing.assert_array_equal(read_arrivals_ms(path), [5.0, 5.0, 17.5, 20.0])
    empty = tmp_path / "empty.txt"
    empty.write_text("")
    assert read_arrivals_ms(empty).size == 0


@pytest.mark.parametrize(
    ("text", "key", "expected"),
    [
        ("1,1,300\nabc,1,300\n", "line 2", "an arrival time in ms"),
        ("1\n,1,300\n", "line 2", "an arrival time in ms"),
        ("1\n2\n-3\n", "line 3", ">= 0"),
        ("1\nnan\n", "line 2", "an arrival time"),
        ("10\n20\n\n15\n", "line 4", "non-decreasing order (got 15 after 20)"),
        ("5\narrival_ms\n", "line 2", "an arrival time"),  # a header only counts on line 1
    ],
)
def test_read_arrivals_garbage(tmp_path: Path, text: str, key: str, expected: str) -> None:
    path = tmp_path / "bad.txt"
    path.write_text(text)
    with pytest.raises(DataError) as err:
        read_arrivals_ms(path)
    assert err.value.file == str(path) and err.value.key == key
    assert expected in err.value.expected


def test_read_missing_file(tmp_path: Path) -> None:
    with pytest.raises(DataError, match="readable text trace"):
        read_arrivals_ms(tmp_path / "absent.txt")


# 0-10 s: 3 requests; 10-20 s: 0; 20-30 s: 5 (4 of them in 25-26 s). 10000 is on a boundary.
ARRIVALS = np.array([0.0, 500.0, 9999.9, 20000.0, 25000.0, 25100.0, 25200.0, 25999.0])


def test_mean_windows() -> None:
    assert window_count(ARRIVALS) == 3
    np.testing.assert_allclose(window_rates_qps(ARRIVALS), [0.3, 0.0, 0.5])
    np.testing.assert_allclose(window_rates_qps(ARRIVALS, window_s=5.0), [0.4, 0.2, 0, 0, 0.2, 0.8])
    boundary = np.array([9999.0, 10000.0])
    np.testing.assert_allclose(window_rates_qps(boundary), [0.1, 0.1])


def test_peak_windows() -> None:
    # 1 s sub-windows: peak 2 req/s in window 0 (0 and 500 ms), 4 req/s in window 2.
    np.testing.assert_allclose(window_rates_qps(ARRIVALS, statistic="peak"), [2.0, 0.0, 4.0])
    np.testing.assert_allclose(
        window_rates_qps(ARRIVALS, statistic="peak", peak_sub_window_s=0.5), [2.0, 0.0, 6.0]
    )


def test_start_and_alignment() -> None:
    np.testing.assert_allclose(window_rates_qps(ARRIVALS, start_ms=20000.0), [0.5])
    np.testing.assert_allclose(window_rates_qps(ARRIVALS, n_windows=5), [0.3, 0, 0.5, 0, 0])
    np.testing.assert_allclose(window_rates_qps(ARRIVALS, n_windows=1), [0.3])
    assert window_count(ARRIVALS, start_ms=30000.0) == 0
    assert window_rates_qps(np.array([]), statistic="peak").size == 0


@pytest.mark.parametrize(
    ("kwargs", "key"),
    [
        ({"window_s": 0.0}, "window_s"),
        ({"statistic": "median"}, "statistic"),
        ({"statistic": "peak", "peak_sub_window_s": 3.0}, "peak_sub_window_s"),
        ({"statistic": "peak", "peak_sub_window_s": 20.0}, "peak_sub_window_s"),
        ({"statistic": "peak", "peak_sub_window_s": -1.0}, "peak_sub_window_s"),
        ({"n_windows": -1}, "n_windows"),
    ],
)
def test_window_argument_errors(kwargs: dict[str, object], key: str) -> None:
    with pytest.raises(DataError) as err:
        window_rates_qps(ARRIVALS, **kwargs)  # type: ignore[arg-type]
    assert err.value.key == key


def test_unsorted_arrivals_rejected() -> None:
    with pytest.raises(DataError, match="non-decreasing"):
        window_rates_qps(np.array([5.0, 1.0]))


def test_moving_average() -> None:
    rates = np.array([10.0, 20.0, 30.0, 40.0])
    # f0 = r0; f1 = 10; f2 = (10+20)/2; f3 = (20+30)/2 with k = 2.
    np.testing.assert_allclose(moving_average(rates, 2), [10.0, 10.0, 15.0, 25.0])
    np.testing.assert_allclose(moving_average(rates, 1), [10.0, 10.0, 20.0, 30.0])
    np.testing.assert_allclose(moving_average(rates, 10), [10.0, 10.0, 15.0, 20.0])
    assert moving_average(np.array([]), 3).size == 0
    with pytest.raises(DataError):
        moving_average(rates, 0)


def test_ewma() -> None:
    rates = np.array([10.0, 20.0, 30.0])
    # f1 = 0.5*10 + 0.5*10 = 10; f2 = 0.5*20 + 0.5*10 = 15.
    np.testing.assert_allclose(ewma(rates, 0.5), [10.0, 10.0, 15.0])
    np.testing.assert_allclose(ewma(rates, 1.0), [10.0, 10.0, 20.0])
    for alpha in (0.0, 1.5):
        with pytest.raises(DataError):
            ewma(rates, alpha)


def test_zipf_shares() -> None:
    # exponent 1, n = 3: (1, 1/2, 1/3) / (11/6) = (6/11, 3/11, 2/11).
    np.testing.assert_allclose(zipf_shares(3, 1.0), [6 / 11, 3 / 11, 2 / 11])
    np.testing.assert_allclose(zipf_shares(4, 0.0), [0.25] * 4)
    assert zipf_shares(1, 2.0).tolist() == [1.0]
    for n, exponent in ((0, 1.0), (3, -1.0)):
        with pytest.raises(DataError):
            zipf_shares(n, exponent)


@pytest.mark.parametrize(
    ("trace", "requests"),
    [
        ("zipf_exponential_300", 75_253),
        ("zipf_exponential_bursty_300", 175_818),
    ],
)
def test_reference_traces(trace: str, requests: int) -> None:
    folder = TRACES / trace
    if not folder.is_dir():
        pytest.skip(f"Proteus reference traces not found at {folder}")
    arrivals = {p.stem: read_arrivals_ms(p) for p in sorted(folder.glob("*.txt"))}
    assert len(arrivals) == 9
    assert sum(len(a) for a in arrivals.values()) == requests
    windows = max(window_count(a) for a in arrivals.values())
    assert windows == 30  # ~290 s of arrivals in 10 s windows
    for a in arrivals.values():
        mean = window_rates_qps(a, n_windows=windows)
        assert mean.sum() * 10.0 == pytest.approx(len(a))
        assert np.all(window_rates_qps(a, statistic="peak", n_windows=windows) >= mean - 1e-9)
