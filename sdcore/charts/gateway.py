"""Figures for the API gateway page: who got served, over time, and what each algorithm costs per client."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from sdcore.charts.style import BAD, GOOD, NEUTRAL, apply_style, colour

STATUS_COLOURS = {200: GOOD, 429: "#E69F00", 403: BAD}
STATUS_NAMES = {200: "200 served", 429: "429 limited", 403: "403 denied"}


def outcome_figure(rows: Sequence[dict], title: str | None = None) -> go.Figure:
    """Stacked bars per client (or endpoint): requests served, limited and denied."""
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


def timeline_figure(timeline: dict, order: Sequence[str] | None = None) -> go.Figure:
    """One row per client: requests per time bin, stacked by status, on a shared time axis."""
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
