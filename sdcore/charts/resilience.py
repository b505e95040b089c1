"""Figures for the resilience page: the three runs on one time axis, and the breaker's state machine.

``timeline_figure`` is a grid: one column per run (no breaker, breaker, breaker + fallback), one row per
measure on a shared time axis — the dependency's health and the breaker's state as bands, the outcomes each
second stacked, the callers' median and p99 latency (log scale), the calls reaching the dependency against
the requests' own need, and the busiest the worker pool got against its size. A cursor (seconds) draws a
vertical line through every panel.

``state_machine_figure`` draws closed, open and half-open with the four transitions; each arrow is labelled
with how often it was taken up to the cursor, the ones taken drawn heavy and the last one highlighted, and the
state at the cursor filled.
"""

from __future__ import annotations

from types import MappingProxyType

import numpy as np
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from sdcore.charts.style import BAD, GOOD, HIGHLIGHT, NEUTRAL, PALETTE, apply_style
from sdcore.resilience.simulate import OUTCOMES, VARIANTS, Comparison, SimulationResult

STATE_COLOURS = MappingProxyType({"closed": GOOD, "open": BAD, "half_open": HIGHLIGHT})
STATE_LABELS = MappingProxyType({"closed": "closed", "open": "open", "half_open": "half-open"})
HEALTH_COLOURS = MappingProxyType({
    "healthy": "#D9D9D9", "failing": "#8E3B00", "slow": PALETTE[3], "recovering": PALETTE[4],
})  # fmt: skip
OUTCOME_COLOURS = MappingProxyType({
    "success": GOOD, "fallback": PALETTE[4], "rejected": HIGHLIGHT, "error": BAD,
})  # fmt: skip
ROWS = ("health & breaker", "requests / s", "latency (s)", "dependency calls / s", "workers busy")


def _bands(fig: go.Figure, r: SimulationResult, col: int, shown: set[str]) -> None:
    """Row 1: the dependency's health (upper lane) and the breaker's state (lower lane) as horizontal bars."""
    c = r.config
    lanes = [("dependency", [(a, b, p.label) for a, b, p in c.timeline.segments(c.duration)], HEALTH_COLOURS)]
    if c.breaker is not None:
        lanes.append(("breaker", r.state_bands(), STATE_COLOURS))
    for lane, segments, colours in lanes:
        for name, colour in colours.items():
            segs = [(a, b) for a, b, s in segments if s == name]
            if not segs:
                continue
            legend = f"{lane}: {STATE_LABELS.get(name, name) if lane == 'breaker' else name}"
            fig.add_trace(go.Bar(
                x=[b - a for a, b in segs], base=[a for a, _ in segs], y=[lane] * len(segs), orientation="h",
                marker={"color": colour, "line": {"width": 0}}, name=legend, legendgroup=legend,
                showlegend=legend not in shown, width=0.8,
                hovertemplate=f"{legend}<br>%{{base:.1f}} s to %{{x:.1f}} s later<extra></extra>",
            ), row=1, col=col)  # fmt: skip
            shown.add(legend)


def timeline_figure(cmp: Comparison, cursor: float | None = None, *, height: int = 1080) -> go.Figure:
    """The three runs side by side on one time axis (see the module docstring)."""
    runs = list(cmp.runs.items())
    fig = make_subplots(
        rows=len(ROWS), cols=len(runs), shared_xaxes=True, shared_yaxes="rows", vertical_spacing=0.035,
        horizontal_spacing=0.025, column_titles=[VARIANTS[v].label for v, _ in runs],
        row_heights=[0.11, 0.25, 0.22, 0.21, 0.21],
    )  # fmt: skip
    shown: set[str] = set()
    top = 1.0
    for col, (_, r) in enumerate(runs, start=1):
        c = r.config
        x = r.bin_edges[:-1] + c.bin_width / 2
        _bands(fig, r, col, shown)
        counts = r.outcome_counts() / c.bin_width
        for k, o in enumerate(OUTCOMES):
            fig.add_trace(go.Scatter(
                x=x, y=counts[k], mode="lines", stackgroup=f"outcomes{col}", name=o, legendgroup=o,
                showlegend=o not in shown, line={"width": 0.5, "color": OUTCOME_COLOURS[o]},
                fillcolor=OUTCOME_COLOURS[o], hovertemplate=f"{o}: %{{y:.0f}}/s at %{{x:.0f}} s<extra></extra>",
            ), row=2, col=col)  # fmt: skip
            shown.add(o)
        for q, dash, name in ((50, "solid", "p50 latency"), (99, "dot", "p99 latency")):
            y = r.latency_percentiles(q)
            top = max(top, float(np.nanmax(y)) if np.isfinite(y).any() else top)
            fig.add_trace(go.Scatter(
                x=x, y=y, mode="lines", name=name, legendgroup=name, showlegend=name not in shown,
                line={"color": PALETTE[0], "width": 2, "dash": dash},
                hovertemplate=f"{name}: %{{y:.3f}} s at %{{x:.0f}} s<extra></extra>",
            ), row=3, col=col)  # fmt: skip
            shown.add(name)
        need = c.request_rate * c.dependency_share
        fig.add_trace(go.Scatter(
            x=x, y=r.dependency_calls / c.bin_width, mode="lines", name="dependency calls", legendgroup="calls",
            showlegend="calls" not in shown, line={"color": PALETTE[7], "width": 2},
            hovertemplate="%{y:.0f} calls/s at %{x:.0f} s<extra></extra>",
        ), row=4, col=col)  # fmt: skip
        shown.add("calls")
        fig.add_hline(y=need, line={"color": NEUTRAL, "dash": "dash", "width": 1.5}, row=4, col=col)
        fig.add_trace(go.Scatter(
            x=x, y=r.pool_peak, mode="lines", name="workers busy (peak)", legendgroup="pool",
            showlegend="pool" not in shown, line={"color": PALETTE[3], "width": 2}, line_shape="hv",
            hovertemplate="%{y} workers busy at %{x:.0f} s<extra></extra>",
        ), row=5, col=col)  # fmt: skip
        shown.add("pool")
        fig.add_hline(y=c.pool_size, line={"color": BAD, "dash": "dash", "width": 1.5}, row=5, col=col)
    apply_style(fig, height=height)
    fig.update_layout(barmode="overlay", bargap=0.1, margin={"t": 40, "b": 110, "l": 70, "r": 20},
                      legend={"orientation": "h", "y": -0.05, "yanchor": "top", "x": 0, "font": {"size": 14}},
                      hovermode="closest")  # fmt: skip
    lo = 0.01
    fig.update_yaxes(type="log", range=[np.log10(lo), np.log10(max(top, 0.1) * 1.5)], dtick=1, row=3)
    fig.update_yaxes(categoryorder="array", categoryarray=["dependency", "breaker"], row=1)
    for row, title in enumerate(ROWS, start=1):
        fig.update_yaxes(title_text=title, title_font={"size": 13}, row=row, col=1)
    fig.update_yaxes(rangemode="tozero", autorange=True, row=5)
    fig.update_yaxes(rangemode="tozero", autorange=True, row=4)
    fig.update_yaxes(autorange=True, row=2)
    fig.update_xaxes(showgrid=True)
    fig.update_xaxes(range=[0, cmp.config.duration], row=len(ROWS))  # the axes the others match
    fig.update_xaxes(title_text="time (s)", row=len(ROWS))
    for ann in fig.layout.annotations:  # the column titles
        ann.font = {"size": 17}
    if cursor is not None:
        for col in range(1, len(runs) + 1):
            for row in range(1, len(ROWS) + 1):
                fig.add_vline(
                    x=cursor, line={"color": HIGHLIGHT, "width": 2, "dash": "dot"}, row=row, col=col
                )
    return fig


_NODES = MappingProxyType({"closed": (0.0, 0.0), "open": (2.0, 0.0), "half_open": (1.0, 1.25)})
# (from, to, label, offset of the label from the arrow's middle, perpendicular shift of the arrow)
_EDGES = (
    ("closed", "open", "trip", (0.0, -0.17), 0.0),
    ("open", "half_open", "wait passed", (0.5, 0.12), 0.11),
    ("half_open", "open", "trial failed", (-0.3, -0.16), 0.11),
    ("half_open", "closed", "trials passed", (-0.33, 0.0), 0.0),
)


def state_machine_figure(r: SimulationResult, cursor: float | None = None, *, height: int = 430) -> go.Figure:
    """Closed, open and half-open with the transitions taken up to ``cursor`` (all if None)."""
    taken = [t for t in r.transitions if cursor is None or t.time <= cursor]
    now = taken[-1].to_state if taken else "closed"
    last = (taken[-1].from_state, taken[-1].to_state) if taken else None
    fig = go.Figure()
    for a, b, label, (dx, dy), shift in _EDGES:
        (x0, y0), (x1, y1) = _NODES[a], _NODES[b]
        n = sum(t.from_state == a and t.to_state == b for t in taken)
        vx, vy = x1 - x0, y1 - y0
        length = float(np.hypot(vx, vy))
        ux, uy = vx / length, vy / length
        px, py = -uy * shift, ux * shift
        pad = 0.27
        colour = HIGHLIGHT if (a, b) == last else ("#333333" if n else "#BBBBBB")
        fig.add_annotation(
            x=x1 - ux * pad + px, y=y1 - uy * pad + py, ax=x0 + ux * pad + px, ay=y0 + uy * pad + py,
            xref="x", yref="y", axref="x", ayref="y", showarrow=True, arrowhead=3, arrowsize=1.2,
            arrowwidth=4 if (a, b) == last else (2.5 if n else 1.5), arrowcolor=colour, text="",
        )  # fmt: skip
        fig.add_annotation(
            x=(x0 + x1) / 2 + dx + px, y=(y0 + y1) / 2 + dy + py, text=f"{label} ×{n}", showarrow=False,
            font={"size": 15, "color": "#333333" if n else NEUTRAL},
        )  # fmt: skip
    for state, (x, y) in _NODES.items():
        fill = STATE_COLOURS[state] if state == now else "white"
        fig.add_trace(go.Scatter(
            x=[x], y=[y], mode="markers+text", text=[STATE_LABELS[state]], textposition="middle center",
            textfont={"size": 16, "color": "white" if state == now else "#222222"}, hoverinfo="skip",
            marker={"size": 92, "color": fill, "line": {"color": STATE_COLOURS[state], "width": 4}},
            showlegend=False,
        ))  # fmt: skip
    apply_style(fig, height=height)
    fig.update_xaxes(visible=False, range=[-0.45, 2.45])
    fig.update_yaxes(visible=False, range=[-0.45, 1.6], scaleanchor="x")
    fig.update_layout(margin={"l": 10, "r": 10, "t": 10, "b": 10})
    return fig
