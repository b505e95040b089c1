"""Figure builders: the right traces, the cursor line, bounded size on large traces, clear misuse errors."""

from __future__ import annotations

import numpy as np
import plotly.graph_objects as go
import pytest

from sdcore.charts import ratelimit as charts
from sdcore.charts.style import BAD, GOOD
from sdcore.ratelimit import LimiterSettings, boundary_burst, compare_limiters, many_clients, poisson


@pytest.fixture(scope="module")
def small():
    return compare_limiters(
        boundary_burst(10, 1.0).timestamps, settings=LimiterSettings(limit=10, window=1.0)
    )


@pytest.fixture(scope="module")
def large():
    return compare_limiters(poisson(1_000.0, 100.0, rng=1).timestamps, settings=LimiterSettings(limit=800))


def _points(fig: go.Figure) -> int:
    return sum(len(t.x) for t in fig.data if t.x is not None)


def _has_cursor(fig: go.Figure, x: float) -> bool:
    return any(s.type == "line" and s.x0 == x and s.x1 == x for s in fig.layout.shapes)


def test_arrivals_markers_for_a_small_trace(small):
    """20 requests x 7 limiters: every request drawn, admitted in green and rejected in red."""
    fig = charts.arrivals_figure(small.results, cursor=1.0)
    admitted, rejected = fig.data
    assert admitted.marker.color == GOOD and rejected.marker.color == BAD
    assert len(admitted.x) == sum(r.accepted for r in small.results.values())
    assert len(rejected.x) == sum(r.rejected for r in small.results.values())
    assert _has_cursor(fig, 1.0)


def test_arrivals_binned_for_a_large_trace(large):
    """100,000 requests: counts per bin, and the bins add up to the totals."""
    fig = charts.arrivals_figure(large.results, bins=150)
    assert _points(fig) == len(large.results) * 2 * 150
    tb = [t for t in fig.data if t.xaxis in ("x", None)]
    assert sum(sum(t.y) for t in tb if t.name == "admitted") == large.results["token_bucket"].accepted


@pytest.mark.parametrize(
    "builder, name",
    [
        (charts.token_level_figure, "token_bucket"),
        (charts.queue_figure, "leaking_bucket"),
        (charts.window_counts_figure, "fixed_window"),
        (charts.estimate_figure, "sliding_window_counter"),
    ],
)
def test_state_charts_small_and_large(small, large, builder, name):
    """Each state chart draws a figure with the cursor; on 100,000 requests it stays a few thousand
    points."""
    for c in (small, large):
        fig = builder(c.results[name], cursor=0.5)
        assert isinstance(fig, go.Figure) and _has_cursor(fig, 0.5)
        assert _points(fig) <= 5_000
    with pytest.raises(ValueError, match="needs a"):
        builder(small.results["sliding_log"])


def test_token_chart_dips_and_refills(small):
    """The drawn curve never exceeds the capacity and reaches the bottom during the burst."""
    fig = charts.token_level_figure(small.results["token_bucket"])
    y = np.asarray(fig.data[0].y, dtype=float)
    assert y.max() <= 10 + 1e-9 and y.min() < 1


def test_window_counts_match_the_simulation(small):
    """Fixed window on the boundary burst: 10 admitted in window [0, 1), 10 in [1, 2), none rejected."""
    fig = charts.window_counts_figure(small.results["fixed_window"])
    admitted = next(t for t in fig.data if t.name == "admitted")
    assert list(admitted.y) == [10, 10]


def test_multi_client_results_need_select():
    tr = many_clients(3, 2.0, 20.0, 5.0, rng=0)
    c = compare_limiters(tr.timestamps, tr.keys)
    with pytest.raises(ValueError, match=r"pass result.select\(key\)"):
        charts.token_level_figure(c.results["token_bucket"])
    fig = charts.token_level_figure(c.results["token_bucket"].select("abuser"))
    assert isinstance(fig, go.Figure)


def test_max_in_window_bars(small):
    """Bars red where the limit was exceeded, green where kept, with the limit line."""
    fig = charts.max_in_window_figure(small)
    colours = dict(zip(fig.data[0].y, fig.data[0].marker.color, strict=True))
    assert colours[small.results["fixed_window"].label] == BAD
    assert colours[small.results["sliding_log"].label] == GOOD
    assert any(s.x0 == 10 for s in fig.layout.shapes)
    with pytest.raises(ValueError, match="limit is needed"):
        charts.max_in_window_figure({"a": 3})


def test_binned_arrivals_one_panel_per_limiter_counts_every_request():
    from sdcore.ratelimit import bin_counts

    c = compare_limiters(poisson(3_000.0, 10.0, rng=2).timestamps, settings=LimiterSettings(limit=2_000))
    bins = {r.label: bin_counts(r.time_us / 1e6, r.allowed, 0.0, 10.0, 300) for r in c.results.values()}
    fig = charts.binned_arrivals_figure(bins, cursor=4.0)
    assert len(fig.data) == 2 * len(bins) and _has_cursor(fig, 4.0)
    first = next(iter(c.results.values()))
    assert sum(fig.data[0].y) + sum(fig.data[1].y) == len(first)
    assert fig.data[0].marker.color == GOOD and fig.data[1].marker.color == BAD
    with pytest.raises(ValueError, match="at least one"):
        charts.binned_arrivals_figure({})


def test_peak_distribution_marks_the_percentile():
    from sdcore.ratelimit import client_peaks

    tr = many_clients(30, 2.0, 30.0, 10.0, rng=0)
    peaks = client_peaks(tr.timestamps, tr.keys, 1.0)
    fig = charts.peak_distribution_figure(peaks, percentile=90)
    values, counts = peaks.histogram()
    assert list(fig.data[0].x) == values.tolist() and sum(fig.data[0].y) == len(peaks) == 31
    line = [s for s in fig.layout.shapes if s.type == "line"]
    assert len(line) == 1 and line[0].x0 == peaks.percentile(90)
    assert "90th percentile" in fig.layout.annotations[0].text
    many = client_peaks(np.arange(5_000) * 0.001, np.arange(5_000) % 900, 1.0)  # few distinct peaks
    assert sum(charts.peak_distribution_figure(many).data[0].y) == 900
