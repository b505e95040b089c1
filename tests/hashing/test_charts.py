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


def _json(fig) -> dict:
    import json

    import plotly.io as pio

    return json.loads(pio.to_json(fig, validate=False))


def test_the_unvalidated_figures_are_what_plotly_validates(monkeypatch):
    # the figures skip plotly's validation: built with it, every property checked, the JSON must be the same
    from sdcore.charts import hashing as charts
    from sdcore.hashing.experiment import Change, NodeSet, PlacementSpec, run_change

    reports = [
        run_change(PlacementSpec(scheme, vnodes, hash_name, 1.25), NodeSet.uniform(n), change, keys=3000, seed=2,
                   compare=False)
        for scheme, vnodes, hash_name, n, change in (
            ("ring", 100, "murmur3", 4, None), ("ring", 1, "md5", 5, Change("remove", "S3")),
            ("bounded", 20, "poor", 4, Change("add", "S5", 2.0)), ("jump", 100, "sha1", 6, Change("add", "S7")),
        )
    ]  # fmt: skip
    curve = spread_vs_vnodes(["a", "b", "c"], [1, 10, 100])
    builds = [lambda: charts.spread_figure(curve), lambda: charts.spread_figure(curve, 10)]
    for r in reports:
        builds.append(lambda r=r: charts.report_load_figure(r))
        if r.change and r.movement.moved:
            builds.append(lambda r=r: charts.report_flows_figure(r))
        if r.spec.scheme in ("ring", "bounded"):  # the schemes with a ring to draw
            builds.append(lambda r=r: charts.report_ring_figure(r, 3000, 2, 60))
    builds.append(lambda: charts.load_bar_figure(load_stats([0, 1, 1], ["a", "b"])))
    fast = [_json(build()) for build in builds]
    plain = charts._figure
    monkeypatch.setattr(charts, "_figure", lambda *a, **k: plain(*a, validate=True, **k))
    assert [_json(build()) for build in builds] == fast
