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
