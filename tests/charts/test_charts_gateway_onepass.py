"""The gateway's outcome and timeline figures are built in one pass without plotly's validators; built with
them (``figure_from(validate=True)``) and by the old builders (kept here as the reference: traces added one
by one, ``make_subplots``, ``update_layout``, ``apply_style``), every figure is the same JSON."""

from __future__ import annotations

import json
from dataclasses import replace

import plotly.graph_objects as go
import plotly.io as pio
import pytest
from plotly.subplots import make_subplots

from lessons.api_gateway import SCENARIOS
from sdcore.charts import gateway as charts
from sdcore.charts.gateway import STATUS_COLOURS, STATUS_NAMES
from sdcore.charts.style import apply_style
from sdcore.ratelimit.gateway import PROFILES, status_timeline


def old_outcome_figure(rows, title=None) -> go.Figure:
    who = [r["who"] for r in rows]
    fig = go.Figure()
    for status in (200, 429, 403):
        fig.add_trace(
            go.Bar(
                x=who,
                y=[r[str(status)] for r in rows],
                name=STATUS_NAMES[status],
                marker_color=STATUS_COLOURS[status],
                hovertemplate="%{x}: %{y:,} " + STATUS_NAMES[status] + "<extra></extra>",
            )
        )
    fig.update_layout(barmode="stack", yaxis_title="requests")
    return apply_style(fig, title=title, height=360)


def old_timeline_figure(timeline, order=None) -> go.Figure:
    clients = list(order or timeline)
    fig = make_subplots(
        rows=len(clients), cols=1, shared_xaxes=True, subplot_titles=clients, vertical_spacing=0.06
    )
    in_legend: set[int] = set()
    for i, c in enumerate(clients, start=1):
        edges = timeline[c]["edges"]
        mids = (edges[:-1] + edges[1:]) / 2
        width = float(edges[1] - edges[0]) if len(edges) > 1 else 1.0
        for status in (200, 429, 403):
            counts = timeline[c].get(status)
            if counts is None:
                continue
            fig.add_trace(
                go.Bar(
                    x=mids,
                    y=counts / width,
                    width=width,
                    name=STATUS_NAMES[status],
                    marker_color=STATUS_COLOURS[status],
                    showlegend=status not in in_legend,
                    legendgroup=str(status),
                    hovertemplate="t=%{x:.1f} s: %{y:.1f} req/s<extra>" + c + "</extra>",
                ),
                row=i,
                col=1,
            )
            in_legend.add(status)
        fig.update_yaxes(title_text="req/s", row=i, col=1)
    fig.update_layout(barmode="stack", bargap=0)
    fig.update_xaxes(title_text="time (s)", row=len(clients), col=1)
    return apply_style(fig, height=140 + 150 * len(clients))


def _json(fig) -> dict:
    return json.loads(pio.to_json(fig, validate=False))


CASES = [(name, SCENARIOS[name].clients) for name in SCENARIOS] + [
    ("API gateway with per-endpoint rules", ("crawler",)),  # one row: the axes named x and y
    ("Crawler vs users", tuple(PROFILES)),
]


@pytest.mark.parametrize(("name", "clients"), CASES)
def test_the_one_pass_figures_equal_the_validated_and_the_old_ones(monkeypatch, name, clients):
    run = replace(SCENARIOS[name], clients=clients, duration=20, seed=1).run()
    timeline = status_timeline(run)
    order = list(reversed(list(timeline)))
    builds = [
        (
            lambda: charts.outcome_figure(run.by_client(), "Per client"),
            lambda: old_outcome_figure(run.by_client(), "Per client"),
        ),
        (lambda: charts.outcome_figure(run.by_endpoint()), lambda: old_outcome_figure(run.by_endpoint())),
        (lambda: charts.timeline_figure(timeline), lambda: old_timeline_figure(timeline)),
        (lambda: charts.timeline_figure(timeline, order), lambda: old_timeline_figure(timeline, order)),
    ]
    fast = [_json(new()) for new, _ in builds]
    assert fast == [_json(old()) for _, old in builds]
    plain = charts.figure_from
    monkeypatch.setattr(
        charts, "figure_from", lambda traces, layout, **kw: plain(traces, layout, validate=True, **kw)
    )
    assert [_json(new()) for new, _ in builds] == fast
