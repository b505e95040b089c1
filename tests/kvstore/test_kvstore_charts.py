"""Figures for the quorum page: they show the numbers they are given, in the shared palette."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from sdcore.charts.kvstore import (
    consistency_curve_figure,
    latency_consistency_figure,
    leg_latency_figure,
    quorum_figure,
    quorum_heatmap_figure,
)
from sdcore.charts.style import BAD, GOOD
from sdcore.kvstore import LATENCY_PRESETS, quorum_overlap, quorum_table, simulate_staleness

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def table():
    return quorum_table(4, "linkedin-disk", 5_000, 1, t_ms=1.0)


def test_curve_shows_each_result_in_percent():
    """One line per result, y = 100 x P(consistent) in the order of increasing t; the highlighted t
    carries one marker per curve at that curve's value."""
    times = [5.0, 0.0, 20.0, 1.0]
    results = [simulate_staleness(3, 1, w, "linkedin-disk", times, 5_000, 2) for w in (1, 2)]
    fig = consistency_curve_figure(results, highlight_t_ms=5.0, target_probability=0.999)
    lines = [t for t in fig.data if t.showlegend is not False]
    assert [t.name for t in lines] == ["N=3, R=1, W=1", "N=3, R=1, W=2"]
    for trace, result in zip(lines, results, strict=True):
        assert list(trace.x) == [0.0, 1.0, 5.0, 20.0]
        order = np.argsort(times)
        np.testing.assert_allclose(trace.y, 100 * result.consistent[order])
    markers = [t for t in fig.data if t.showlegend is False]
    assert [m.y[0] for m in markers] == pytest.approx([100 * r.probability_at(5.0) for r in results])
    assert fig.layout.yaxis.ticksuffix == "%"
    json.loads(fig.to_json())


def test_curve_labels_must_match():
    """A wrong number of labels is a clear error."""
    result = simulate_staleness(3, 1, 1, "linkedin-ssd", [0.0], 100, 0)
    with pytest.raises(ValueError, match="one entry per result"):
        consistency_curve_figure([result], labels=["a", "b"])


def replicas_by_category(fig):
    return {t.name: sorted(t.customdata) for t in fig.data if t.customdata is not None}


def test_quorum_picture_partial():
    """N=5, R=2, W=2: replicas 1-2 take the write, 4-5 the read, none both; the verdict is a stale read
    in the 'bad' colour."""
    fig = quorum_figure(quorum_overlap(5, 2, 2))
    groups = replicas_by_category(fig)
    assert groups["write quorum (W=2)"] == [1, 2]
    assert groups["read quorum (R=2)"] == [4, 5]
    assert groups["in both quorums"] == []
    assert groups["not waited for"] == [3]
    (verdict,) = fig.layout.annotations
    assert "misses the write" in verdict.text and verdict.font.color == BAD


def test_quorum_picture_strong():
    """N=5, R=3, W=3: replica 3 is in both quorums; the verdict says they always overlap, in 'good'."""
    fig = quorum_figure(quorum_overlap(5, 3, 3))
    groups = replicas_by_category(fig)
    assert groups["in both quorums"] == [3]
    assert groups["write quorum (W=3)"] == [1, 2]
    assert groups["read quorum (R=3)"] == [4, 5]
    (verdict,) = fig.layout.annotations
    assert "at least 1 replica with every write quorum" in verdict.text and verdict.font.color == GOOD


def test_trade_off_scatter_has_one_labelled_point_per_quorum(table):
    """Every (R, W) row is a point at (read + write p99.9, 100 x P(consistent)), named R=..,W=..
    in its hover label, strong and partial quorums in separate traces."""
    fig = latency_consistency_figure(table)
    points = {}
    for trace in fig.data:
        for x, y, label in zip(trace.x, trace.y, trace.customdata, strict=True):
            points[label] = (x, y, trace.name)
    assert len(points) == len(table) == 16
    for row in table.itertuples():
        x, y, name = points[f"R={row.r},W={row.w}"]
        assert x == pytest.approx(row.read_p999_ms + row.write_p999_ms)
        assert y == pytest.approx(100 * row.p_consistent)
        assert name.startswith("strong" if row.strong else "partial")
    visible = [text for trace in fig.data for text in trace.text if text]
    assert visible and all(text.startswith("R=") for text in visible)
    read_only = latency_consistency_figure(table, latency="read", metric="closed_form_staleness")
    xs = sorted(x for trace in read_only.data for x in trace.x)
    assert xs == pytest.approx(sorted(table.read_p999_ms))
    with pytest.raises(ValueError, match="latency must be one of read, write, read\\+write"):
        latency_consistency_figure(table, latency="p50")


def test_heatmap_cells_are_the_table_values(table):
    """Cell (R, W) shows 100 x the chosen column."""
    fig = quorum_heatmap_figure(table)
    z = np.asarray(fig.data[0].z)
    for row in table.itertuples():
        assert z[row.r - 1, row.w - 1] == pytest.approx(100 * row.p_consistent)
    stale = np.asarray(quorum_heatmap_figure(table, value="closed_form_staleness").data[0].z)
    assert stale[0, 0] == pytest.approx(75.0)  # N=4, R=W=1: C(3,1)/C(4,1)
    with pytest.raises(ValueError, match="value must be one of"):
        quorum_heatmap_figure(table, value="latency")


def test_leg_figure_draws_four_cdfs():
    """Four legs, each CDF rising from near 0% to near 100% over the plotted range."""
    fig = leg_latency_figure(LATENCY_PRESETS["yammer"].latency)
    assert [t.name[0] for t in fig.data] == ["W", "A", "R", "S"]
    for trace in fig.data:
        y = np.asarray(trace.y)
        assert np.all(np.diff(y) >= 0)
        assert y[0] < 5 and y[-1] > 99


def test_engine_import_stays_light():
    """Importing the engine does not import plotly, pandas or streamlit (charts and the table import
    what they need when used)."""
    code = "import sys, sdcore.kvstore; print(sorted(m for m in ('plotly', 'pandas', 'streamlit') if m in sys.modules))"
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, check=True
    )
    assert out.stdout.strip() == "[]"


def test_ten_nodes_get_ten_distinct_colours_and_the_axis_stops_at_100_percent():
    from sdcore.charts.hashing import node_colours

    colours = node_colours([f"N{i}" for i in range(10)])
    assert len(set(colours.values())) == 10
    fig = quorum_heatmap_figure(quorum_table(10, LATENCY_PRESETS["linkedin-ssd"].latency, 2_000, 0))
    heat = fig.data[0]
    assert heat.textfont.size <= 11 and all(
        t.endswith("%") and "." not in t for row in heat.text for t in row
    )
    result = simulate_staleness(3, 1, 1, LATENCY_PRESETS["linkedin-ssd"].latency, [0.0, 1.0, 5.0], 2_000, 0)
    curve = consistency_curve_figure([result])
    assert curve.layout.yaxis.range[1] == 100.0
