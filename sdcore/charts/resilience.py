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
from typing import Any

import numpy as np
import plotly.graph_objects as go

from sdcore.charts.style import (
    BAD,
    GOOD,
    HIGHLIGHT,
    NEUTRAL,
    PALETTE,
    figure_from,
    grid_layout,
    merge_layout,
    style_layout,
)
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


def _grid_ref(row: int, col: int, cols: int) -> str:
    """The axis suffix of subplot (row, col) in a grid ``cols`` wide ("" for the first, then 2, 3, ...)."""
    k = (row - 1) * cols + col
    return "" if k == 1 else str(k)


def _grid_layout(cols: int, titles: tuple[str, ...]) -> dict:
    """The subplot grid's layout (axes, domains, column titles), to fill in: one column per run."""
    return grid_layout(
        rows=len(ROWS), cols=cols, shared_xaxes=True, shared_yaxes="rows", vertical_spacing=0.035,
        horizontal_spacing=0.025, column_titles=titles, row_heights=(0.11, 0.25, 0.22, 0.21, 0.21),
    )  # fmt: skip


def _figure(traces: list[dict], layout: dict, height: int, validate: bool = False, **over: Any) -> go.Figure:
    """A styled figure from plain dicts: ``layout``, then the house style, then ``over``.

    Not validated by default (:func:`~sdcore.charts.style.figure_from`: checking the dicts cost most of a
    timeline); the tests build every figure both ways and require the same JSON."""
    layout = merge_layout(merge_layout(layout, style_layout(height)), over)
    if layout.get("title") == {}:
        del layout["title"]  # the house style's empty title, which plotly's validators drop
    return figure_from(traces, layout, validate=validate, empty_title=False)


def _bands(traces: list[dict], r: SimulationResult, ref: str, shown: set[str]) -> None:
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
            traces.append({
                "type": "bar", "x": [b - a for a, b in segs], "base": [a for a, _ in segs], "y": [lane] * len(segs),
                "orientation": "h", "marker": {"color": colour, "line": {"width": 0}}, "name": legend,
                "legendgroup": legend, "showlegend": legend not in shown, "width": 0.8,
                "hovertemplate": f"{legend}<br>%{{base:.1f}} s to %{{x:.1f}} s later<extra></extra>",
                "xaxis": f"x{ref}", "yaxis": f"y{ref}",
            })  # fmt: skip
            shown.add(legend)


def timeline_figure(cmp: Comparison, cursor: float | None = None, *, height: int = 1080) -> go.Figure:
    """The three runs side by side on one time axis (see the module docstring).

    Built as one layout and a list of traces and shapes (adding subplot traces, lines and axis updates one by
    one cost half a second a figure), and not validated again (see ``_figure``)."""
    runs = list(cmp.runs.items())
    cols = len(runs)
    layout = _grid_layout(cols, tuple(VARIANTS[v].label for v, _ in runs))
    traces: list[dict] = []
    shapes: list[dict] = []
    shown: set[str] = set()
    top = 1.0

    def ref(row: int, col: int) -> str:
        return _grid_ref(row, col, cols)

    def axes(row: int, col: int) -> dict[str, str]:
        return {"xaxis": f"x{ref(row, col)}", "yaxis": f"y{ref(row, col)}"}

    def hline(y: float, line: dict, row: int, col: int) -> None:
        shapes.append({"type": "line", "line": line, "x0": 0, "x1": 1, "xref": f"x{ref(row, col)} domain",
                       "y0": y, "y1": y, "yref": f"y{ref(row, col)}"})  # fmt: skip

    for col, (_, r) in enumerate(runs, start=1):
        c = r.config
        x = r.bin_edges[:-1] + c.bin_width / 2
        _bands(traces, r, ref(1, col), shown)
        counts = r.outcome_counts() / c.bin_width
        for k, o in enumerate(OUTCOMES):
            traces.append({
                "type": "scatter", "x": x, "y": counts[k], "mode": "lines", "stackgroup": f"outcomes{col}",
                "name": o, "legendgroup": o, "showlegend": o not in shown,
                "line": {"width": 0.5, "color": OUTCOME_COLOURS[o]}, "fillcolor": OUTCOME_COLOURS[o],
                "hovertemplate": f"{o}: %{{y:.0f}}/s at %{{x:.0f}} s<extra></extra>", **axes(2, col),
            })  # fmt: skip
            shown.add(o)
        for q, dash, name in ((50, "solid", "p50 latency"), (99, "dot", "p99 latency")):
            y = r.latency_percentiles(q)
            top = max(top, float(np.nanmax(y)) if np.isfinite(y).any() else top)
            traces.append({
                "type": "scatter", "x": x, "y": y, "mode": "lines", "name": name, "legendgroup": name,
                "showlegend": name not in shown, "line": {"color": PALETTE[0], "width": 2, "dash": dash},
                "hovertemplate": f"{name}: %{{y:.3f}} s at %{{x:.0f}} s<extra></extra>", **axes(3, col),
            })  # fmt: skip
            shown.add(name)
        need = c.request_rate * c.dependency_share
        traces.append({
            "type": "scatter", "x": x, "y": r.dependency_calls / c.bin_width, "mode": "lines",
            "name": "dependency calls", "legendgroup": "calls", "showlegend": "calls" not in shown,
            "line": {"color": PALETTE[7], "width": 2}, "hovertemplate": "%{y:.0f} calls/s at %{x:.0f} s<extra></extra>",
            **axes(4, col),
        })  # fmt: skip
        shown.add("calls")
        hline(need, {"color": NEUTRAL, "dash": "dash", "width": 1.5}, 4, col)
        traces.append({
            "type": "scatter", "x": x, "y": r.pool_peak, "mode": "lines", "name": "workers busy (peak)",
            "legendgroup": "pool", "showlegend": "pool" not in shown,
            "line": {"color": PALETTE[3], "width": 2, "shape": "hv"},
            "hovertemplate": "%{y} workers busy at %{x:.0f} s<extra></extra>", **axes(5, col),
        })  # fmt: skip
        shown.add("pool")
        hline(c.pool_size, {"color": BAD, "dash": "dash", "width": 1.5}, 5, col)
    lo = 0.01
    last = len(ROWS)
    for col in range(1, cols + 1):
        for row in range(1, last + 1):
            xa, ya = layout[f"xaxis{ref(row, col)}"], layout[f"yaxis{ref(row, col)}"]
            xa["showgrid"] = True
            if row == 1:
                ya.update(categoryorder="array", categoryarray=["dependency", "breaker"])
            elif row == 2:
                ya["autorange"] = True
            elif row == 3:
                ya.update(type="log", range=[np.log10(lo), np.log10(max(top, 0.1) * 1.5)], dtick=1)
            else:
                ya.update(rangemode="tozero", autorange=True)
            if col == 1:
                ya["title"] = {"text": ROWS[row - 1], "font": {"size": 13}}
            if row == last:
                xa.update(
                    range=[0, cmp.config.duration], title={"text": "time (s)"}
                )  # the axes the others match
    for ann in layout["annotations"]:  # the column titles
        ann["font"] = {"size": 17}
    if cursor is not None:
        for col in range(1, cols + 1):
            for row in range(1, last + 1):
                shapes.append({"type": "line", "line": {"color": HIGHLIGHT, "width": 2, "dash": "dot"},
                               "x0": cursor, "x1": cursor, "xref": f"x{ref(row, col)}", "y0": 0, "y1": 1,
                               "yref": f"y{ref(row, col)} domain"})  # fmt: skip
    return _figure(traces, layout, height, barmode="overlay", bargap=0.1,
                   margin={"t": 40, "b": 110, "l": 70, "r": 20},
                   legend={"orientation": "h", "y": -0.05, "yanchor": "top", "x": 0, "font": {"size": 14}},
                   hovermode="closest", shapes=shapes)  # fmt: skip


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
    annotations: list[dict] = []
    for a, b, label, (dx, dy), shift in _EDGES:
        (x0, y0), (x1, y1) = _NODES[a], _NODES[b]
        n = sum(t.from_state == a and t.to_state == b for t in taken)
        vx, vy = x1 - x0, y1 - y0
        length = float(np.hypot(vx, vy))
        ux, uy = vx / length, vy / length
        px, py = -uy * shift, ux * shift
        pad = 0.27
        colour = HIGHLIGHT if (a, b) == last else ("#333333" if n else "#BBBBBB")
        annotations.append({
            "x": x1 - ux * pad + px, "y": y1 - uy * pad + py, "ax": x0 + ux * pad + px, "ay": y0 + uy * pad + py,
            "xref": "x", "yref": "y", "axref": "x", "ayref": "y", "showarrow": True, "arrowhead": 3,
            "arrowsize": 1.2, "arrowwidth": 4 if (a, b) == last else (2.5 if n else 1.5), "arrowcolor": colour,
            "text": "",
        })  # fmt: skip
        annotations.append({
            "x": (x0 + x1) / 2 + dx + px, "y": (y0 + y1) / 2 + dy + py, "text": f"{label} ×{n}", "showarrow": False,
            "font": {"size": 15, "color": "#333333" if n else NEUTRAL},
        })  # fmt: skip
    traces = []
    for state, (x, y) in _NODES.items():
        fill = STATE_COLOURS[state] if state == now else "white"
        traces.append({
            "type": "scatter", "x": [x], "y": [y], "mode": "markers+text", "text": [STATE_LABELS[state]],
            "textposition": "middle center", "hoverinfo": "skip", "showlegend": False,
            "textfont": {"size": 16, "color": "white" if state == now else "#222222"},
            "marker": {"size": 92, "color": fill, "line": {"color": STATE_COLOURS[state], "width": 4}},
        })  # fmt: skip
    layout = {
        "annotations": annotations,
        "xaxis": {"visible": False, "range": [-0.45, 2.45]},
        "yaxis": {"visible": False, "range": [-0.45, 1.6], "scaleanchor": "x"},
    }
    return _figure(traces, layout, height, margin={"l": 10, "r": 10, "t": 10, "b": 10})
