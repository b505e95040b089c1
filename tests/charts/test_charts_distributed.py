"""The distributed page's sync figure, built as one layout and a list of traces, equals the figure drawn
with ``add_trace`` per subplot before (the reference below, kept as it was), as the JSON a browser receives,
for every preset and for options and panels of every kind."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Mapping

import numpy as np
import plotly.graph_objects as go
import plotly.io as pio
import pytest
from plotly.subplots import make_subplots

from lessons import distributed_rate_limiting as dl
from sdcore.charts import distributed as charts
from sdcore.charts.style import NEUTRAL, apply_style, colour
from sdcore.checks import number_text
from sdcore.ratelimit.sync import SYNC_OPTIONS, SyncResult, compare_sync


def old_sync_figure(results: Mapping[str, SyncResult]) -> go.Figure:
    """One panel per option, side by side: each client's admitted requests per second, window by window,
    against the limit (dashed) and, where counters are spread over M instances, M x the limit (dotted)."""
    if not results:
        raise ValueError("sync_figure needs at least one option's result")
    titles = [f"Synced every {number_text(r.config.sync_every)} s" if o == "synced" else SYNC_OPTIONS[o].label
              for o, r in results.items()]  # fmt: skip
    fig = make_subplots(
        rows=1, cols=len(results), shared_yaxes=True, horizontal_spacing=0.025, subplot_titles=titles
    )
    top = max(r.worst_case / r.config.window for r in results.values())
    for col, r in enumerate(results.values(), start=1):
        c = r.config
        x = np.append(r.window_starts, c.duration)
        for i, name in enumerate(r.clients):
            y = r.admitted[i] / c.window
            fig.add_trace(
                go.Scatter(
                    x=x, y=np.append(y, y[-1]), mode="lines", line={"shape": "hv", "width": 2, "color": colour(i)},
                    name=name, legendgroup=name, showlegend=col == 1,
                    hovertemplate=f"{name}: %{{y:.1f}} admitted/s from t = %{{x:g}} s<extra></extra>",
                ),
                row=1, col=col,
            )  # fmt: skip
        refs = [(r.intended_rate, "dash", "limit")]
        if r.worst_case > c.limit:
            refs.append((r.worst_case / c.window, "dot", "M × limit"))
        for y, dash, name in refs:
            fig.add_trace(
                go.Scatter(x=[0, c.duration], y=[y, y], mode="lines", line={"color": NEUTRAL, "width": 3, "dash": dash},
                           name=name, legendgroup=name, showlegend=name not in {t.name for t in fig.data},
                           hovertemplate=f"{name}: {number_text(y)}/s<extra></extra>"),
                row=1, col=col,
            )  # fmt: skip
        fig.update_xaxes(title_text="time (s)", row=1, col=col)
    fig.update_yaxes(title_text="admitted per second", range=[0, top * 1.08], row=1, col=1)
    fig = apply_style(fig, height=420)
    fig.update_layout(margin={"t": 80}, legend={"y": 1.0, "yref": "container", "yanchor": "top"})
    fig.update_annotations(font_size=15)
    return fig


def spec(fig: go.Figure) -> dict:
    return json.loads(pio.to_json(fig, validate=False))


@pytest.mark.parametrize("preset", list(dl.PRESETS))
def test_the_sync_figure_is_the_one_drawn_trace_by_trace(preset):
    v = {p.name: p.default for p in dl.PARAMS} | dict(dl.PRESETS[preset].values)
    cfg = dl.sync_config(v)
    for change in ({}, {"instances": 1}, {"policy": "sticky"}, {"clients": 9}, {"sync_every": 0.1}):
        results = compare_sync(dataclasses.replace(cfg, **change))
        items = list(results.items())
        for part in (results, dict(items[:1]), dict(items[1:3])):
            assert spec(charts.sync_figure(part)) == spec(old_sync_figure(part)), change


def test_an_empty_comparison_is_refused():
    with pytest.raises(ValueError, match="at least one option's result"):
        charts.sync_figure({})
