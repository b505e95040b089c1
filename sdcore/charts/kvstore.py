"""Figures for the key-value store quorum page: data from ``sdcore.kvstore`` in, ``go.Figure`` out."""

from __future__ import annotations

import math
import types
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING

import numpy as np
import plotly.graph_objects as go

from sdcore.charts.style import (
    BAD,
    GOOD,
    HIGHLIGHT,
    NEUTRAL,
    PALETTE,
    apply_style,
    colour,
    merge_layout,
    style_layout,
)
from sdcore.checks import number_text
from sdcore.kvstore.latency import LEG_DESCRIPTIONS, LEG_NAMES, LatencyDistribution, LegLatencies
from sdcore.kvstore.quorum import QuorumOverlap

if TYPE_CHECKING:
    import pandas as pd

    from sdcore.hashing.ring import RingPoints
    from sdcore.kvstore.placement import KeyReplicas
    from sdcore.kvstore.wars import StalenessResult

_WRITE_COLOUR = PALETTE[0]  # blue
_READ_COLOUR = HIGHLIGHT  # orange
_BOTH_COLOUR = GOOD  # bluish green


def consistency_curve_figure(
    results: Sequence[StalenessResult],
    *,
    labels: Sequence[str] | None = None,
    highlight_t_ms: float | None = None,
    target_probability: float | None = None,
    title: str | None = None,
) -> go.Figure:
    """P(read returns the latest write), in percent, against the time after the write commits.

    One curve per result (labelled "N=3, R=1, W=1" unless ``labels`` are given). ``highlight_t_ms`` draws
    a cursor at that time with each curve's value; ``target_probability`` (e.g. 0.999) a horizontal
    reference line.
    """
    if labels is not None and len(labels) != len(results):
        raise ValueError(
            f"labels must have one entry per result (got {len(labels)} labels, {len(results)} results)"
        )
    # Traces, the cursor line and the target line as plain dicts, set in one go: add_hline/add_vline and
    # add_trace one at a time cost several ms each (the page redraws this figure whenever the cursor moves).
    traces: list[dict] = []
    shapes: list[dict] = []
    annotations: list[dict] = []
    lowest = 100.0
    for i, result in enumerate(results):
        order = np.argsort(result.t_ms, kind="stable")
        y = 100.0 * result.consistent[order]
        lowest = min(lowest, float(y.min()))
        traces.append(
            {
                "type": "scatter",
                "x": result.t_ms[order],
                "y": y,
                "mode": "lines+markers" if len(order) <= 30 else "lines",
                "name": labels[i] if labels is not None else result.label,
                "line": {"color": colour(i), "width": 3},
                "hovertemplate": "t = %{x:.3g} ms<br>%{y:.2f}% consistent<extra>%{fullData.name}</extra>",
            }
        )
    if target_probability is not None:
        target = 100.0 * target_probability
        shapes.append(
            {
                "type": "line",
                "x0": 0,
                "x1": 1,
                "xref": "x domain",
                "y0": target,
                "y1": target,
                "yref": "y",
                "line": {"color": NEUTRAL, "dash": "dot"},
            }
        )
        annotations.append(
            {
                "text": f"{target_probability:.1%} target",
                "showarrow": False,
                "x": 1,
                "xanchor": "right",
                "xref": "x domain",
                "y": target,
                "yanchor": "top",
                "yref": "y",
            }
        )
        lowest = min(lowest, target)
    if highlight_t_ms is not None:
        shapes.append(
            {
                "type": "line",
                "x0": highlight_t_ms,
                "x1": highlight_t_ms,
                "xref": "x",
                "y0": 0,
                "y1": 1,
                "yref": "y domain",
                "line": {"color": NEUTRAL, "dash": "dash"},
            }
        )
        for i, result in enumerate(results):
            p = 100.0 * result.probability_at(highlight_t_ms)
            traces.append(
                {
                    "type": "scatter",
                    "x": [highlight_t_ms],
                    "y": [p],
                    "mode": "markers+text",
                    "cliponaxis": False,
                    "text": [f"{p:.1f}%"],
                    "textposition": "bottom right",
                    "marker": {"color": colour(i), "size": 13, "line": {"color": "white", "width": 2}},
                    "showlegend": False,
                    "hovertemplate": f"t = {number_text(highlight_t_ms)} ms<br>{p:.2f}% consistent<extra></extra>",
                }
            )
    over = dict(
        xaxis={"title": {"text": "time after the write commits (ms)"}},
        yaxis={
            "title": {"text": "reads returning the latest write"},
            "ticksuffix": "%",
            "range": [max(0.0, 10.0 * math.floor(lowest / 10.0) - 2.0), 100.0],
        },
        **({"shapes": shapes} if shapes else {}),
        **({"annotations": annotations} if annotations else {}),
    )
    return _one_pass(traces, over, title=title)


def quorum_figure(overlap: QuorumOverlap, *, title: str | None = None) -> go.Figure:
    """N replicas on a ring with the write quorum (W), the read quorum (R) and their overlap.

    ``overlap`` comes from ``quorum_overlap(n, r, w)``: the worst-case placement, so when R + W <= N the
    picture shows a read quorum that misses the write quorum entirely.
    """
    n = overlap.n
    write, read = set(overlap.write_replicas), set(overlap.read_replicas)
    angles = [math.pi / 2 - 2 * math.pi * i / n for i in range(n)]  # clockwise from the top
    x = [math.cos(a) if n > 1 else 0.0 for a in angles]
    y = [math.sin(a) if n > 1 else 0.0 for a in angles]
    categories = (
        ("in both quorums", read & write, _BOTH_COLOUR, "W+R"),
        (f"write quorum (W={overlap.w})", write - read, _WRITE_COLOUR, "W"),
        (f"read quorum (R={overlap.r})", read - write, _READ_COLOUR, "R"),
        ("not waited for", set(range(n)) - read - write, "white", ""),
    )
    marker_size = 58 if n <= 7 else max(36, 58 * 7 / n)  # neighbours on the ring must not touch
    traces: list[dict] = []  # plain dicts, validated once by go.Figure: add_trace one by one costs more
    if n > 1:
        circle = np.linspace(0, 2 * np.pi, 200)
        traces.append(
            {
                "type": "scatter",
                "x": np.cos(circle),
                "y": np.sin(circle),
                "mode": "lines",
                "line": {"color": NEUTRAL, "width": 1},
                "hoverinfo": "skip",
                "showlegend": False,
            }
        )
    for name, members, fill, letters in categories:
        idx = sorted(members)
        traces.append(
            {
                "type": "scatter",
                "x": [x[i] for i in idx],
                "y": [y[i] for i in idx],
                "mode": "markers+text",
                "name": name,
                "text": [letters] * len(idx),
                "textfont": {"color": "black" if fill in ("white", _READ_COLOUR) else "white", "size": 16},
                "marker": {"size": marker_size, "color": fill, "line": {"color": "#333333", "width": 2}},
                "customdata": [i + 1 for i in idx],
                "hovertemplate": f"replica %{{customdata}}: {name}<extra></extra>",
                "showlegend": True,
            }
        )
    # Replica numbers just outside the ring.
    traces.append(
        {
            "type": "scatter",
            "x": [1.55 * xi if n > 1 else 0.0 for xi in x],
            "y": [1.55 * yi if n > 1 else -0.45 for yi in y],
            "mode": "text",
            "text": [f"replica {i + 1}" for i in range(n)],
            "textfont": {"color": NEUTRAL, "size": 13},
            "hoverinfo": "skip",
            "showlegend": False,
        }
    )
    total = overlap.r + overlap.w
    if overlap.strong:
        verdict = (
            f"R + W = {total} > N = {n}:<br>every read quorum shares at least {overlap.guaranteed_overlap} "
            f"replica{'s' if overlap.guaranteed_overlap > 1 else ''} with every write quorum"
        )
    else:
        verdict = f"R + W = {total} ≤ N = {n}:<br>this read quorum misses the write entirely, a stale read"
    over = dict(
        annotations=[
            {
                "text": verdict,
                "x": 0.5,
                "y": -0.02,
                "xref": "paper",
                "yref": "paper",
                "yanchor": "top",
                "showarrow": False,
                "font": {"color": GOOD if overlap.strong else BAD, "size": 15},
            }
        ],
        margin={"b": 90},
        xaxis={"visible": False, "range": [-2.0, 2.0]},
        yaxis={"visible": False, "range": [-1.85, 1.85], "scaleanchor": "x", "scaleratio": 1},
    )
    return _one_pass(traces, over, title=title, height=480)


_LATENCY_AXES = types.MappingProxyType(
    {
        "read": ("read_p999_ms", "read latency, 99.9th percentile (ms)"),
        "write": ("write_p999_ms", "write latency, 99.9th percentile (ms)"),
        "read+write": (None, "read + write latency, 99.9th percentiles (ms)"),
    }
)
_CONSISTENCY_AXES = types.MappingProxyType(
    {
        "p_consistent": "reads returning the latest write",
        "closed_form_staleness": "stale reads, random quorums (closed form)",
    }
)


def latency_consistency_figure(
    table: pd.DataFrame,
    *,
    latency: str = "read+write",
    metric: str = "p_consistent",
    title: str | None = None,
) -> go.Figure:
    """The latency / consistency trade-off across (R, W): one labelled point per row of ``quorum_table``.

    ``latency`` picks the x axis: "read", "write" or "read+write" (the sum of the two 99.9th percentiles).
    ``metric`` picks the y axis: "p_consistent" (WARS, at the table's t) or "closed_form_staleness".
    Strong quorums (R + W > N) and partial ones are drawn in different colours and symbols. Every point
    is labelled "R=..,W=.." on hover; on the chart, a label that would overlap an earlier one is left out.
    """
    if latency not in _LATENCY_AXES:
        raise ValueError(f"latency must be one of {', '.join(_LATENCY_AXES)} (got latency={latency!r})")
    if metric not in _CONSISTENCY_AXES:
        raise ValueError(f"metric must be one of {', '.join(_CONSISTENCY_AXES)} (got metric={metric!r})")
    column, x_title = _LATENCY_AXES[latency]
    x_all = (table["read_p999_ms"] + table["write_p999_ms"] if column is None else table[column]).to_numpy()
    y_all = 100.0 * table[metric].to_numpy()
    labelled = _unclutter(x_all, y_all, first=~table["strong"].to_numpy())  # partial quorums first
    y_title = _CONSISTENCY_AXES[metric]
    strong_all = table["strong"].to_numpy()
    r_all, w_all = table["r"].tolist(), table["w"].tolist()
    traces: list[dict] = []  # plain dicts and one layout, validated once (add_trace, update_* cost more)
    for strong, name, marker_colour, symbol in (
        (True, "strong (R + W > N)", GOOD, "circle"),
        (False, "partial (R + W ≤ N)", _WRITE_COLOUR, "diamond"),
    ):
        rows = strong_all == strong
        if not rows.any():
            continue
        picked = np.flatnonzero(rows).tolist()
        labels = [f"R={r_all[i]},W={w_all[i]}" for i in picked]
        traces.append(
            {
                "type": "scatter",
                "x": x_all[rows],
                "y": y_all[rows],
                "mode": "markers+text",
                "name": name,
                "text": [label if shown else "" for label, shown in zip(labels, labelled[rows], strict=True)],
                "customdata": labels,
                "textposition": "middle right",
                "textfont": {"size": 12},
                "cliponaxis": False,  # a label at the right edge stays readable
                "marker": {
                    "color": marker_colour,
                    "symbol": symbol,
                    "size": 12,
                    "line": {"color": "white", "width": 1},
                },
                "hovertemplate": "%{customdata}<br>%{x:.3g} ms<br>%{y:.2f}%<extra>%{fullData.name}</extra>",
            }
        )
    log_x = np.log10(x_all)
    span = max(float(np.ptp(log_x)), 0.1)
    over = {  # room on the right for the last label
        "xaxis": {"title": {"text": x_title}, "type": "log",
                  "range": [log_x.min() - 0.04 * span, log_x.max() + 0.16 * span]},
        "yaxis": {"title": {"text": y_title}, "ticksuffix": "%"},
    }  # fmt: skip
    return _one_pass(traces, over, title=title)


def _one_pass(traces: list[dict], over: dict, *, title: str | None = None, height: int = 420) -> go.Figure:
    """``go.Figure(traces)`` styled by apply_style and updated by ``over``, in one validation."""
    if title:  # a titled figure: apply_style's own path (rare; the page's figures have no title)
        fig = apply_style(go.Figure(data=traces), title=title, height=height)
        return fig.update_layout(over)
    return go.Figure({"data": traces, "layout": merge_layout(style_layout(height), over)})


def _unclutter(x: np.ndarray, y: np.ndarray, first: np.ndarray) -> np.ndarray:
    """Which points keep a visible label (drawn to the right of the point). A label is about a tenth of
    the x span (in decades) wide and an eighteenth of the y span high; it is left out when it would cover
    another point or a label already kept. Points where ``first`` is True are labelled first."""
    log_x = np.log10(np.maximum(x, 1e-12))
    dx = 0.1 * max(float(np.ptp(log_x)), 1e-9)
    dy = max(float(np.ptp(y)), 1.0) / 18.0
    shown = np.zeros(len(x), dtype=bool)
    for i in np.lexsort((x, ~first)):
        covers_point = (np.abs(y - y[i]) < 0.6 * dy) & (log_x > log_x[i]) & (log_x < log_x[i] + dx)
        hits_label = (np.abs(y - y[i]) < dy) & shown & (np.abs(log_x - log_x[i]) < dx)
        shown[i] = not (covers_point.any() or hits_label.any())
    return shown


def quorum_heatmap_figure(
    table: pd.DataFrame, *, value: str = "p_consistent", title: str | None = None
) -> go.Figure:
    """A grid of R (rows) by W (columns) showing ``value`` from ``quorum_table`` in percent.

    ``value`` is "p_consistent" (high is good, blue) or "closed_form_staleness" (high is bad, vermillion).
    """
    if value not in _CONSISTENCY_AXES:
        raise ValueError(f"value must be one of {', '.join(_CONSISTENCY_AXES)} (got value={value!r})")
    n = int(table["n"].iloc[0])
    grid = np.full((n, n), np.nan)
    grid[table["r"].to_numpy() - 1, table["w"].to_numpy() - 1] = 100.0 * table[value].to_numpy()
    if value == "p_consistent":  # high is good; stretch the colours over the values present
        top, zmin, zmax = _WRITE_COLOUR, min(90.0, 10.0 * math.floor(np.nanmin(grid) / 10.0)), 100.0
    else:
        top, zmin, zmax = BAD, 0.0, max(10.0, 10.0 * math.ceil(np.nanmax(grid) / 10.0))
    ticks = list(range(1, n + 1))
    traces: list[dict] = [
        {
            "type": "heatmap",
            "z": grid,
            "x": ticks,
            "y": ticks,
            "zmin": zmin,
            "zmax": zmax,
            "colorscale": [[0.0, "#FFFFFF"], [1.0, top]],
            "text": [[f"{v:.1f}%" if n <= 6 else f"{v:.0f}%" for v in row] for row in grid.tolist()],
            "texttemplate": "%{text}",
            "textfont": {"size": 15 if n <= 5 else 13 if n <= 7 else 11},
            "colorbar": {"ticksuffix": "%"},
            "hovertemplate": "R=%{y}, W=%{x}: %{text}<extra></extra>",
            "showscale": True,
        }
    ]
    # The staircase R + W = N + 1: cells below and to the right of it are strong quorums.
    stairs_x, stairs_y = [], []
    for r in range(1, n + 1):
        stairs_x += [n - r + 0.5, n - r + 0.5]
        stairs_y += [r - 0.5, r + 0.5]
    traces.append(
        {
            "type": "scatter",
            "x": stairs_x,
            "y": stairs_y,
            "mode": "lines",
            "line": {"color": "black", "width": 3, "dash": "dash"},
            "name": "strong quorums (R + W > N): below and right of the dashed line",
            "hoverinfo": "skip",
        }
    )
    over = {
        "showlegend": True,
        "xaxis": {"title": {"text": "W (write quorum)"}, "tickvals": ticks, "range": [0.5, n + 0.5]},
        "yaxis": {"title": {"text": "R (read quorum)"}, "tickvals": ticks, "range": [n + 0.5, 0.5]},
    }
    return _one_pass(traces, over, title=title, height=max(360, 70 * n + 120))


def leg_latency_figure(latency: LegLatencies, *, title: str | None = None) -> go.Figure:
    """The analytic CDF of each WARS leg (W, A, R, S) on a log time axis: what a latency model looks like."""
    x = np.geomspace(
        min(_power_of_two_at_quantile(d, 0.001) for d in latency.legs) / 2.0,
        max(_power_of_two_at_quantile(d, 0.999) for d in latency.legs),
        400,
    )
    traces = [
        {
            "type": "scatter",
            "x": x,
            "y": 100.0 * distribution.cdf(x),
            "mode": "lines",
            "name": f"{leg}: {LEG_DESCRIPTIONS[leg]}",
            "line": {"color": colour(i), "width": 3, "dash": ("solid", "dash", "dot", "dashdot")[i]},
            "hovertemplate": "%{x:.3g} ms: %{y:.1f}%<extra>" + leg + "</extra>",
        }
        for i, (leg, distribution) in enumerate(zip(LEG_NAMES, latency.legs, strict=True))
    ]
    over = {
        "xaxis": {"title": {"text": "one-way latency (ms)"}, "type": "log"},
        "yaxis": {"title": {"text": "messages faster than this"}, "ticksuffix": "%", "range": [0, 101]},
    }
    return _one_pass(traces, over, title=title)


def _power_of_two_at_quantile(distribution: LatencyDistribution, q: float) -> float:
    """The smallest power of two (ms) at which the CDF reaches ``q``: a plot bound, not a quantile."""
    x = 1.0
    while distribution.cdf(x) < q:
        x *= 2.0
    while x > 1e-9 and distribution.cdf(x / 2.0) >= q:
        x /= 2.0
    return x


_KEY_DASHES = ("solid", "dash", "dot", "dashdot")


def preference_ring_figure(
    points: RingPoints,
    placements: Sequence[KeyReplicas],
    colours: Mapping[str, str] | None = None,
    *,
    title: str | None = None,
    height: int = 640,
) -> go.Figure:
    """The ring seen from above (0 at the top, clockwise) with each key's N replicas.

    Points are coloured by node. Each key sits inside the ring on its own radius, with an arc clockwise to
    the last of its replicas and a spoke out to each replica's point (drawn large, outlined). Points the
    walk passed over because their node already holds a copy are grey crosses.
    """
    colours = dict(colours) if colours is not None else {n: colour(i) for i, n in enumerate(points.nodes)}
    deg = points.positions.astype(np.float64) / 2**32 * 360.0
    traces: list[dict] = []  # plain dicts, validated once by go.Figure (add_trace one by one costs more)
    for i, name in enumerate(points.nodes):
        sel = points.owner == i
        traces.append(
            {
                "type": "scatterpolar",
                "r": np.ones(int(sel.sum())),
                "theta": deg[sel],
                "mode": "markers",
                "marker": {"size": 11, "color": colours.get(name, NEUTRAL), "line": {"width": 0}},
                "name": name,
                "legendgroup": name,
                "hovertemplate": f"a point of {name}<extra></extra>",
            }
        )
    skipped_theta, skipped_text = [], []
    for j, p in enumerate(placements):
        radius = 0.8 - 0.5 * j / max(1, len(placements) - 1) if len(placements) > 1 else 0.7
        dash = _KEY_DASHES[j % len(_KEY_DASHES)]
        start = p.position / 2**32 * 360.0
        angles = [a / 2**32 * 360.0 for a in p.replica_points]
        end = angles[-1] if angles[-1] >= start else angles[-1] + 360.0
        arc = np.linspace(start, end, max(2, int((end - start) / 2) + 2))
        traces.append(
            {
                "type": "scatterpolar",
                "r": np.full(len(arc), radius),
                "theta": arc,
                "mode": "lines",
                "line": {"color": "#333333", "width": 2, "dash": dash},
                "name": f"{p.key} → {', '.join(p.replicas)}",
                "legendgroup": p.key,
                "hoverinfo": "skip",
            }
        )
        for order, (node, angle) in enumerate(zip(p.replicas, angles, strict=True)):
            role = "coordinator" if order == 0 else f"replica {order + 1}"
            traces.append(
                {
                    "type": "scatterpolar",
                    "r": [radius, 1.0],
                    "theta": [angle, angle],
                    "mode": "lines+markers",
                    "line": {"color": colours.get(node, NEUTRAL), "width": 3, "dash": dash},
                    "marker": {
                        "size": [0, 20],
                        "color": colours.get(node, NEUTRAL),
                        "line": {"color": "black", "width": 2},
                    },
                    "legendgroup": p.key,
                    "showlegend": False,
                    "hovertemplate": f"{p.key}: {role} on {node}<extra></extra>",
                }
            )
        traces.append(
            {
                "type": "scatterpolar",
                "r": [radius],
                "theta": [start],
                "mode": "markers+text",
                "text": [p.key],
                "textposition": "top center",
                "textfont": {"size": 14, "color": "black"},
                "marker": {"size": 16, "color": "black", "symbol": "star"},
                "legendgroup": p.key,
                "showlegend": False,
                "hovertemplate": f"{p.key}: hashes here; replicas on {', '.join(p.replicas)}<extra></extra>",
            }
        )
        skipped_theta += [a / 2**32 * 360.0 for a in p.skipped_points]
        skipped_text += [p.key] * len(p.skipped_points)
    if skipped_theta:
        traces.append(
            {
                "type": "scatterpolar",
                "r": np.ones(len(skipped_theta)),
                "theta": skipped_theta,
                "mode": "markers",
                "marker": {
                    "size": 13,
                    "color": NEUTRAL,
                    "symbol": "x-thin",
                    "line": {"width": 3, "color": NEUTRAL},
                },
                "name": "skipped: node already holds a copy",
                "text": skipped_text,
                "hovertemplate": "%{text}: skipped, this node already holds a copy<extra></extra>",
            }
        )
    over = {
        "polar": {
            "radialaxis": {"visible": False, "range": [0, 1.1]},
            "angularaxis": {"direction": "clockwise", "rotation": 90, "showticklabels": False, "ticks": ""},
        },
        # Legend below: a legend beside a polar chart squeezes the ring into a small square.
        "legend": {"orientation": "h", "y": -0.02, "x": 0, "yanchor": "top"},
        "margin": {"l": 20, "r": 20},
    }
    return _one_pass(traces, over, title=title, height=height)
