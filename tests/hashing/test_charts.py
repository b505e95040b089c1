"""The hashing figures draw the numbers they are given."""

import math

from sdcore.charts.hashing import load_bar_figure, spread_figure
from sdcore.hashing import load_stats, spread_vs_vnodes


def test_spread_figure_marks_the_current_vnodes_in_log_coordinates_right():
    """The cursor line sits at the data value and its label at log10 of it (plotly's convention for
    annotations on log axes), so the axis is not stretched to 10**100."""
    curve = spread_vs_vnodes(["a", "b", "c"], [1, 10, 100, 1000])
    fig = spread_figure(curve, current_vnodes=100)
    assert fig.layout.shapes[0].x0 == 100
    assert math.isclose(fig.layout.annotations[0].x, 2.0)
    assert list(fig.data[0].y) == list(curve.measured_cv) and list(fig.data[1].y) == list(curve.theory_cv)


def test_load_bars_show_counts_and_fair_shares():
    stats = load_stats([0, 0, 1, 2, 2, 2], ["a", "b", "c"])
    fig = load_bar_figure(stats)
    bars, ideal = fig.data
    assert list(bars.y) == [2, 1, 3] and list(ideal.y) == [2.0, 2.0, 2.0]
