"""Figures for the scale page: the architecture drawn with its load, per-tier utilization, what each practice
on the ladder buys, and a failure drill second by second against the same run with nothing broken."""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import networkx as nx
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
from sdcore.scale.architecture import PRACTICE_ORDER, PRACTICES, TIERS, Analysis, Architecture
from sdcore.scale.drills import DrillResult

# Utilization colours: green while comfortable, orange near the target, vermillion at and past 100%.
UTILIZATION_SCALE = ((0.0, GOOD), (0.6, HIGHLIGHT), (1.0, BAD))
LAYER = {
    "users": 0,
    "dns": 1,
    "cdn": 1,
    "load_balancer": 2,
    "web": 3,
    "sessions": 4,
    "cache": 4,
    "queue": 4,
    "workers": 5,
    "db_primary": 6,
    "db_replica": 7,
}
# Lanes chosen so that no edge runs through a node it does not touch, and labels clear the node below.
ROW = {
    "users": 0.0,
    "dns": 1.1,
    "cdn": -1.1,
    "load_balancer": 0.0,
    "web": 0.0,
    "sessions": 1.6,
    "cache": 0.8,
    "queue": -1.1,
    "workers": -1.1,
    "db_primary": -1.1,
    "db_replica": 0.8,
}
UTIL_CLIP = 3.0  # utilization drawn up to 300%; a dead tier (infinite) sits at the top


def _rate(r: float) -> str:
    return f"{r:,.0f}/s" if r >= 10 else f"{r:,.1f}/s"


def _label(name: str) -> str:
    return "Users" if name == "users" else TIERS[name].label


def architecture_graph(arch: Architecture) -> nx.DiGraph:
    """Users and the tiers as a directed graph; each edge carries its requests per second at peak."""
    g = nx.DiGraph()
    for a, b, rate in arch.edges:
        g.add_edge(a, b, rate=rate)
    for n in g.nodes:
        g.nodes[n]["layer"] = LAYER[n]
    return g


def architecture_figure(
    arch: Architecture,
    utilization: Mapping[str, float] | Iterable[tuple[str, float]] | None = None,
    height: int = 470,
) -> go.Figure:
    """Requests flow left to right; each tier is coloured by its utilization (``utilization`` overrides, for a
    moment of a drill: a mapping or (tier, utilization) pairs, hashable for a figure cache) and the bottleneck
    is ringed. Edge width grows with the request rate.

    Built as one layout and a list of trace dicts, set at once (a trace object per edge and the axis
    updates one by one cost more than the rest of the figure)."""
    g = architecture_graph(arch)
    pos = nx.multipartite_layout(g, subset_key="layer", align="vertical")
    pos = {n: (float(p[0]), ROW.get(n, float(p[1]))) for n, p in pos.items()}  # keep each tier in its lane
    util = {t.name: t.utilization for t in arch.tiers}
    if utilization:
        util.update(utilization)
    bottleneck = arch.bottleneck.name
    top = max((r for _, _, r in arch.edges), default=1.0)
    traces, labels = [], []  # one trace per edge (its own width)
    for a, b, data in g.edges(data=True):
        (x0, y0), (x1, y1) = pos[a], pos[b]
        width = 1.5 + 6 * math.log1p(data["rate"]) / math.log1p(top)
        dashed = (a, b) in (("users", "dns"), ("db_primary", "db_replica"))
        traces.append({
            "type": "scatter", "x": [x0, x1], "y": [y0, y1], "mode": "lines", "hoverinfo": "text",
            "line": {"width": width, "color": "#B0B0B0", "dash": "dot" if dashed else "solid"},
            "text": f"{_label(a)} → {_label(b)}: {_rate(data['rate'])}", "showlegend": False,
        })  # fmt: skip
        labels.append({
            "x": (x0 + x1) / 2, "y": (y0 + y1) / 2, "text": _rate(data["rate"]), "showarrow": False,
            "font": {"size": 12, "color": "#555555"}, "bgcolor": "rgba(255,255,255,0.8)",
        })  # fmt: skip
    by_name = {t.name: t for t in arch.tiers}
    names = list(g.nodes)
    xs, ys = [pos[n][0] for n in names], [pos[n][1] for n in names]
    colours, texts, hovers, lines = [], [], [], []
    for n in names:
        if n in by_name:
            t = by_name[n]
            u = util.get(n, t.utilization)
            colours.append(min(u, 1.2) if math.isfinite(u) else 1.2)
            shown = "down" if not math.isfinite(u) else f"{100 * u:,.0f}%"
            texts.append(f"<b>{t.label}</b><br>×{t.instances:,} · {shown}")
            hovers.append(
                f"{t.label}: {t.instances:,} instances, {_rate(t.arrival_rate)} of "
                f"{_rate(t.capacity)} capacity ({shown})<br>{t.role}"
            )
        else:
            colours.append(None)
            texts.append(f"<b>{_label(n)}</b>")
            hovers.append(TIERS[n].description if n in TIERS else "Daily active users at their peak hour")
        lines.append(6 if n == bottleneck else 1)
    managed = [i for i, n in enumerate(names) if n not in by_name]
    queued = [i for i, n in enumerate(names) if n in by_name]
    traces.append({
        "type": "scatter", "x": [xs[i] for i in managed], "y": [ys[i] for i in managed], "mode": "markers+text",
        "name": "managed service",
        "marker": {"size": 34, "color": NEUTRAL, "symbol": "square", "line": {"width": 1, "color": "#333"}},
        "text": [texts[i] for i in managed], "textposition": "bottom center",
        "hovertext": [hovers[i] for i in managed], "hoverinfo": "text", "showlegend": False,
        "textfont": {"color": "#222222"},
    })  # fmt: skip
    traces.append({
        "type": "scatter", "x": [xs[i] for i in queued], "y": [ys[i] for i in queued], "mode": "markers+text",
        "name": "tiers",
        "marker": {
            "size": 44, "color": [colours[i] for i in queued], "cmin": 0, "cmax": 1.2,
            "colorscale": [[v / 1.2, c] for v, c in UTILIZATION_SCALE] + [[1.0, BAD]],
            "line": {"width": [lines[i] for i in queued], "color": "#000000"},
            "colorbar": {"title": {"text": "utilization"}, "tickformat": ".0%", "len": 0.8},
        },
        "text": [texts[i] for i in queued], "textposition": "bottom center",
        "hovertext": [hovers[i] for i in queued], "hoverinfo": "text", "showlegend": False,
        "textfont": {"color": "#222222"},
    })  # fmt: skip
    bx, by = pos[bottleneck]
    labels.append({
        "x": bx, "y": by, "text": "bottleneck", "showarrow": True, "arrowhead": 2, "ax": 0, "ay": -48,
        "font": {"size": 15, "color": "#000000"}, "bgcolor": HIGHLIGHT,
    })  # fmt: skip
    layout = merge_layout(style_layout(height), {
        "margin": {"l": 20, "r": 20, "t": 30, "b": 20}, "hovermode": "closest", "annotations": labels,
        "xaxis": {"visible": False, "range": [min(xs) - 0.1, max(xs) + 0.22]},
        "yaxis": {"visible": False, "range": [min(ys) - 0.75, max(ys) + 0.55]},
    })  # fmt: skip
    return figure_from(traces, layout)


def utilization_figure(arch: Architecture, height: int = 380) -> go.Figure:
    """One bar per tier: offered load / capacity at peak, against the target and the 100% line."""
    tiers = list(arch.tiers)
    u = [t.utilization for t in tiers]
    colours = [
        BAD if x >= 1 else (HIGHLIGHT if t.name == arch.bottleneck.name else PALETTE[0])
        for t, x in zip(tiers, u, strict=True)
    ]
    bars = {
        "type": "bar", "y": [t.label for t in tiers], "x": [min(x, UTIL_CLIP) for x in u], "orientation": "h",
        "marker": {"color": colours}, "text": [f"{100 * x:,.0f}%" for x in u], "textposition": "outside",
        "cliponaxis": False,
        "hovertext": [f"{t.label}: {t.arrival_rate:,.1f} of {t.capacity:,.1f} requests/s" for t in tiers],
        "hoverinfo": "text", "showlegend": False,
    }  # fmt: skip
    target = arch.config.target_utilization
    shapes = [_vline(target, {"color": NEUTRAL, "dash": "dot"}), _vline(1.0, {"color": BAD})]
    notes = [
        {"showarrow": False, "text": "target", "x": target, "xanchor": "center", "xref": "x", "y": 1,
         "yanchor": "bottom", "yref": "y domain"},
        {"showarrow": False, "text": "100%", "x": 1.0, "xanchor": "left", "xref": "x", "y": 1, "yanchor": "top",
         "yref": "y domain"},
    ]  # fmt: skip
    layout = merge_layout(style_layout(height), {
        "margin": {"l": 160, "r": 60, "t": 40, "b": 50}, "shapes": shapes, "annotations": notes,
        "xaxis": {"title": {"text": "utilization at peak (load ÷ capacity)"}, "tickformat": ".0%",
                  "range": [0, max(1.15, min(max(u), UTIL_CLIP) * 1.15)]},
        "yaxis": {"autorange": "reversed"},
    })  # fmt: skip
    return figure_from([bars], layout)


def _grid(height: int, rows: int, cols: int, titles: tuple[str, ...] = (), **grid: Any) -> dict:
    """A styled subplot grid's layout (axes, domains, titles, then what ``apply_style`` sets), to fill in."""
    layout = grid_layout(rows=rows, cols=cols, subplot_titles=list(titles) or None, **grid)
    return merge_layout(layout, style_layout(height))


LADDER_PANELS = ("failed %", "p99 ms", "down min/yr", "$ / month")


def ladder_figure(steps: Sequence[Architecture], height: int = 430) -> go.Figure:
    """One row per step of the ladder (no practice, then one more each time), at the same users: requests
    failed, p99 latency, downtime per year and monthly cost.

    Built as one layout and a list of traces, set at once (subplot traces added one by one cost more than
    the rest of the page's figures)."""
    names = ["Nothing yet"] + [f"+ {PRACTICES[p].label}" for p in PRACTICE_ORDER[: len(steps) - 1]]
    panels = (
        [100 * s.error_rate for s in steps],
        [1000 * s.latency_p99 if s.latency_p99 else 0.0 for s in steps],
        [s.downtime_per_year / 60 for s in steps],
        [s.monthly_cost for s in steps],
    )
    layout = _grid(height, 1, 4, LADDER_PANELS, shared_yaxes=True, horizontal_spacing=0.03)
    traces = []
    for col, (title, values) in enumerate(zip(LADDER_PANELS, panels, strict=True), start=1):
        ref = "" if col == 1 else str(col)
        traces.append({
            "type": "bar", "y": names, "x": values, "orientation": "h",
            "marker": {"color": [BAD if (col == 1 and v > 1) else PALETTE[col - 1] for v in values]},
            "hovertext": [f"{n}: {v:,.1f} {title}" for n, v in zip(names, values, strict=True)],
            "hoverinfo": "text", "showlegend": False, "xaxis": f"x{ref}", "yaxis": f"y{ref}",
        })  # fmt: skip
        layout[f"yaxis{ref}"].update(autorange="reversed", tickfont={"size": 13})
        layout[f"xaxis{ref}"].update(tickfont={"size": 12}, nticks=3, tickformat="~s", tickangle=0)
    layout["margin"] = {"l": 20, "r": 20, "t": 50, "b": 40}
    for note in layout["annotations"]:
        note.setdefault("font", {})["size"] = 14
    return figure_from(traces, layout)


def ladder_steps_figure(result: Analysis, height: int = 430) -> go.Figure:
    """:func:`ladder_figure` of an analysis's steps (a figure cache keys it by the analysis object)."""
    return ladder_figure(result.steps, height)


def _vline(x: float, line: dict, row: int = 1) -> dict:
    """A vertical line across subplot ``row`` (of a one-column grid), as ``add_vline`` draws it, as a dict:
    a figure sets all its lines at once (``add_vline`` in a loop costs milliseconds a line)."""
    ref = "" if row == 1 else str(row)
    return {"type": "line", "line": line, "x0": x, "x1": x, "xref": f"x{ref}", "y0": 0, "y1": 1,
            "yref": f"y{ref} domain"}  # fmt: skip


def _event_lines(result: DrillResult, rows: int) -> tuple[list[dict], list[dict]]:
    """The drill's first event of each kind: a dotted line through each of ``rows`` subplots and a label."""
    labels = {
        "fail": "fails",
        "detected": "health check",
        "failover": "failover",
        "dns_failover": "DNS failover",
        "spike": "×2 traffic",
        "replaced": "replaced",
        "scaled": "scaled out",
    }
    seen: set[str] = set()
    shapes, notes = [], []
    for e in result.after.events:
        if e.kind not in labels or e.kind in seen:
            continue
        seen.add(e.kind)
        for row in range(1, rows + 1):
            shapes.append(_vline(e.time / 60, {"color": NEUTRAL, "dash": "dot"}, row))
        notes.append({
            "x": e.time / 60, "y": 1.0 - 0.055 * (len(seen) - 1), "yref": "paper", "text": labels[e.kind],
            "showarrow": False, "xanchor": "left", "yanchor": "top", "bgcolor": "rgba(255,255,255,0.85)",
            "font": {"size": 13, "color": "#333"},
        })  # fmt: skip
    return shapes, notes


def drill_figure(result: DrillResult, cursor: float | None = None, height: int = 520) -> go.Figure:
    """Requests per second served and failed, with the healthy run dashed, and the typical latency."""
    a, b = result.after, result.before
    minutes = a.times / 60
    layout = _grid(height, 2, 1, shared_xaxes=True, row_heights=(0.65, 0.35), vertical_spacing=0.06)
    top = {"xaxis": "x", "yaxis": "y"}
    traces = [
        {"type": "scatter", "x": minutes, "y": b.goodput, "name": "served, nothing broken",
         "line": {"color": NEUTRAL, "dash": "dash", "width": 2}, **top},
        {"type": "scatter", "x": minutes, "y": a.goodput, "name": "served", "line": {"color": GOOD, "width": 3},
         **top},
        {"type": "scatter", "x": minutes, "y": a.errors, "name": "failed", "fill": "tozeroy",
         "line": {"color": BAD, "width": 2}, **top},
        {"type": "scatter", "x": minutes, "y": 1000 * a.latency, "name": "latency", "line": {"color": PALETTE[0]},
         "showlegend": False, "xaxis": "x2", "yaxis": "y2"},
    ]  # fmt: skip
    shapes, notes = _event_lines(result, 2)
    if cursor is not None:
        shapes += [_vline(cursor / 60, {"color": PALETTE[7], "width": 2}, row) for row in (1, 2)]
    layout.update(shapes=shapes, annotations=notes)
    layout["yaxis"].update(title={"text": "requests/s"}, rangemode="tozero")
    layout["yaxis2"].update(title={"text": "latency (ms)"}, rangemode="tozero")
    layout["xaxis2"]["title"] = {"text": "minutes"}
    return figure_from(traces, layout)


def drill_utilization_figure(
    result: DrillResult, cursor: float | None = None, height: int = 380
) -> go.Figure:
    """Each tier's offered load ÷ live capacity over the drill (a tier with nothing alive is drawn at the top)."""
    a = result.after
    minutes = a.times / 60
    traces = [
        {"type": "scatter", "x": minutes, "y": np.minimum(np.nan_to_num(u, posinf=UTIL_CLIP), UTIL_CLIP),
         "name": TIERS[name].label, "line": {"color": PALETTE[i % len(PALETTE)]}}
        for i, (name, u) in enumerate(a.utilization.items())
    ]  # fmt: skip
    shapes = [{"type": "line", "line": {"color": BAD}, "x0": 0, "x1": 1, "xref": "x domain", "y0": 1.0, "y1": 1.0,
               "yref": "y"}]  # fmt: skip
    notes = [{"showarrow": False, "text": "100%", "x": 0, "xanchor": "left", "xref": "x domain", "y": 1.0,
              "yanchor": "bottom", "yref": "y"}]  # fmt: skip
    if cursor is not None:
        shapes.append(_vline(cursor / 60, {"color": PALETTE[7], "width": 2}))
    layout = merge_layout(style_layout(height), {"margin": {"t": 80}})
    layout.update(shapes=shapes, annotations=notes,
                  yaxis={"title": {"text": "utilization"}, "tickformat": ".0%", "range": [0, UTIL_CLIP * 1.02]},
                  xaxis={"title": {"text": "minutes"}})  # fmt: skip
    return figure_from(traces, layout)
