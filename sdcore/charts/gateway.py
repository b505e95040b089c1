"""Figures for the API gateway page: who got served, over time, and what each algorithm costs per client."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import plotly.graph_objects as go

from sdcore.charts.style import (
    BAD,
    GOOD,
    NEUTRAL,
    apply_style,
    colour,
    figure_from,
    grid_layout,
    merge_layout,
    style_layout,
)

STATUS_COLOURS = {200: GOOD, 429: "#E69F00", 403: BAD}
STATUS_NAMES = {200: "200 served", 429: "429 limited", 403: "403 denied"}


def outcome_figure(rows: Sequence[dict], title: str | None = None) -> go.Figure:
    """Stacked bars per client (or endpoint): requests served, limited and denied (one pass, unvalidated)."""
    who = [r["who"] for r in rows]
    traces = [
        {
            "type": "bar",
            "x": who,
            "y": [r[str(status)] for r in rows],
            "name": STATUS_NAMES[status],
            "marker": {"color": STATUS_COLOURS[status]},
            "hovertemplate": "%{x}: %{y:,} " + STATUS_NAMES[status] + "<extra></extra>",
        }
        for status in (200, 429, 403)
    ]
    layout = merge_layout(style_layout(360), {"barmode": "stack", "yaxis": {"title": {"text": "requests"}}})
    if title:  # what apply_style adds for a title: the title above the legend row, and room for both
        layout = merge_layout(
            layout, {"title": {"text": title, "y": 0.98, "yanchor": "top"}, "margin": {"t": 110}}
        )
    return figure_from(traces, layout, empty_title=not title)


def timeline_figure(timeline: dict, order: Sequence[str] | None = None) -> go.Figure:
    """One row per client: requests per time bin, stacked by status, on a shared time axis (one pass,
    unvalidated)."""
    clients = list(order or timeline)
    n = len(clients)
    layout = grid_layout(rows=n, cols=1, shared_xaxes=True, subplot_titles=clients, vertical_spacing=0.06)
    traces: list[dict] = []
    in_legend: set[int] = set()
    for i, c in enumerate(clients, start=1):
        edges = timeline[c]["edges"]
        mids = (edges[:-1] + edges[1:]) / 2
        width = float(edges[1] - edges[0]) if len(edges) > 1 else 1.0
        axis = "" if i == 1 else str(i)
        for status in (200, 429, 403):
            counts = timeline[c].get(status)
            if counts is None:
                continue
            traces.append(
                {
                    "type": "bar",
                    "x": mids,
                    "y": counts / width,
                    "width": width,
                    "name": STATUS_NAMES[status],
                    "marker": {"color": STATUS_COLOURS[status]},
                    "showlegend": status not in in_legend,
                    "legendgroup": str(status),
                    "hovertemplate": "t=%{x:.1f} s: %{y:.1f} req/s<extra>" + c + "</extra>",
                    "xaxis": "x" + axis,
                    "yaxis": "y" + axis,
                }
            )
            in_legend.add(status)
        layout["yaxis" + axis]["title"] = {"text": "req/s"}
    last = "" if n == 1 else str(n)
    layout["xaxis" + last]["title"] = {"text": "time (s)"}
    layout = merge_layout(
        style_layout(140 + 150 * n), merge_layout(layout, {"barmode": "stack", "bargap": 0})
    )
    return figure_from(traces, layout)


def state_cost_figure(costs: Sequence, labels: dict[str, str] | None = None) -> go.Figure:
    """Bytes held per client against the limit, log-log, one line per algorithm (measured)."""
    fig = go.Figure()
    algorithms = list(dict.fromkeys(c.algorithm for c in costs))
    for i, a in enumerate(algorithms):
        pts = sorted((c.limit, c.python_bytes, c.numbers) for c in costs if c.algorithm == a)
        fig.add_trace(
            go.Scatter(
                x=[p[0] for p in pts],
                y=[p[1] for p in pts],
                customdata=[p[2] for p in pts],
                mode="lines+markers",
                name=(labels or {}).get(a, a),
                line={"color": colour(i), "width": 3},
                hovertemplate="limit %{x:,}: %{y:,} bytes (%{customdata:,} numbers)<extra></extra>",
            )
        )
    decades = [10**k for k in range(0, 10)]
    fig.update_xaxes(type="log", title="limit (requests per day)", tickvals=decades, tickformat="~s")
    fig.update_yaxes(
        type="log", title="memory per client (bytes, measured)", tickvals=decades, tickformat="~s"
    )
    return apply_style(fig, height=380)


def retry_histogram(retry_after: np.ndarray) -> go.Figure:
    """How long limited clients are told to wait (whole seconds, as the header says)."""
    fig = go.Figure(go.Histogram(x=np.ceil(retry_after), marker_color=NEUTRAL, nbinsx=30))
    fig.update_layout(xaxis_title="Retry-After (s)", yaxis_title="429 responses")
    return apply_style(fig, height=300)
