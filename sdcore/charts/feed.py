"""Figures for the news-feed page: the celebrity's neighbourhood, write amplification per strategy, the
fanout-delay distribution, followers reached over time, and the queue with a time cursor.

Everything is sampled or binned to what a screen shows: a sample of followers, a histogram of delays, a
curve of a few hundred points, never one mark per follower.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import plotly.graph_objects as go

from sdcore.charts.style import (
    BAD,
    GOOD,
    HIGHLIGHT,
    NEUTRAL,
    PALETTE,
    figure_from,
    merge_layout,
    style_layout,
)
from sdcore.feed.graph import Neighbourhood
from sdcore.feed.simulate import FeedRun
from sdcore.feed.strategies import STRATEGIES

STRATEGY_COLOURS = {name: PALETTE[i] for i, name in enumerate(STRATEGIES)}


def _time_unit(seconds: float) -> tuple[float, str]:
    return (1000.0, "ms") if seconds < 2.0 else (1.0, "s")


def _figure(traces: list[dict], layout: dict, height: int, title: str | None = None) -> go.Figure:
    """A styled figure from plain dicts: ``layout``, then the house style (``apply_style``'s, with its title
    row when there is a ``title``). Not validated (``figure_from``: checking the dicts again cost most of a
    figure); tests build every figure with ``validate=True`` too and require the same JSON."""
    layout = merge_layout(layout, style_layout(height))
    if title:
        merge_layout(layout, {"title": {"text": title, "y": 0.98, "yanchor": "top"}, "margin": {"t": 110}})
    # untitled: the empty title apply_style leaves (a plain dict's is dropped)
    return figure_from(traces, layout, empty_title=not title)


def _message(text: str, height: int) -> go.Figure:
    """An empty chart that says why it is empty."""
    note = {"font": {"size": 16}, "showarrow": False, "text": text, "x": 0.5, "xref": "paper", "y": 0.5,
            "yref": "paper"}  # fmt: skip
    layout = {"annotations": [note], "xaxis": {"visible": False}, "yaxis": {"visible": False}}
    return _figure([], layout, height)


def neighbourhood_figure(hood: Neighbourhood, run: FeedRun) -> go.Figure:
    """The author in the middle, a sample of followers around it: filled if the strategy pushes the
    author's posts to them, hollow grey if they are inactive, orange if their feed merges at read time."""
    w, g = run.world, run.graph
    xs = np.array([p[0] for p in hood.positions])
    ys = np.array([p[1] for p in hood.positions])
    px, py = xs.tolist(), ys.tolist()
    lx: list[float | None] = []
    ly: list[float | None] = []
    for a, b in hood.edges:
        lx += [px[a], px[b], None]
        ly += [py[a], py[b], None]
    traces: list[dict] = [
        {"type": "scatter", "x": lx, "y": ly, "mode": "lines", "line": {"color": "#CCCCCC", "width": 1},
         "hoverinfo": "skip", "showlegend": False},
    ]  # fmt: skip
    followers = np.array(hood.nodes[1:], dtype=np.int64)
    pushed = _pushed_from(run, followers, hood.author)
    active = w.active[followers] if len(followers) else np.zeros(0, dtype=bool)
    groups = (
        ("pushed: in its cache", pushed, GOOD, "circle"),
        ("active, merged at read time", active & ~pushed, HIGHLIGHT, "diamond"),
        ("inactive: not fanned out", ~active, NEUTRAL, "circle-open"),
    )
    counts, followees = g.follower_counts, g.followee_counts
    for name, mask, colour, symbol in groups:
        if not mask.any():
            continue
        ids = followers[mask].tolist()
        traces.append({
            "type": "scatter", "x": xs[1:][mask], "y": ys[1:][mask], "mode": "markers", "name": name,
            "marker": {"color": colour, "size": 12, "symbol": symbol, "line": {"width": 2, "color": colour}},
            "text": [f"user {u}<br>{counts[u]:,} followers, follows {followees[u]:,}" for u in ids],
            "hoverinfo": "text",
        })  # fmt: skip
    traces.append({
        "type": "scatter", "x": [px[0]], "y": [py[0]], "mode": "markers+text", "name": f"user {hood.author}",
        "marker": {"color": PALETTE[5], "size": 30, "symbol": "star"}, "text": [f"user {hood.author}"],
        "textposition": "top center", "hovertext": [f"user {hood.author}: {hood.total_followers:,} followers"],
        "hoverinfo": "text", "showlegend": False,
    })  # fmt: skip
    layout = {"xaxis": {"visible": False}, "yaxis": {"visible": False, "scaleanchor": "x"}}
    shown = len(hood.nodes) - 1
    title = f"User {hood.author} and {shown:,} of its {hood.total_followers:,} followers"
    return _figure(traces, layout, 460, title)


def _pushed_from(run: FeedRun, followers: np.ndarray, author: int) -> np.ndarray:
    """Per follower: whether the run pushes ``author``'s posts along that follow (False if there is none)."""
    return np.array([_pushed(run, int(u), author) for u in followers.tolist()], dtype=bool)


def _pushed(run: FeedRun, follower: int, author: int) -> bool:
    g = run.graph
    lo, hi = int(g.followees_ptr[follower]), int(g.followees_ptr[follower + 1])
    i = lo + int(np.searchsorted(g.followees_idx[lo:hi], author))
    return bool(i < hi and g.followees_idx[i] == author and run.pushed[i])


def amplification_figure(runs: Mapping[str, FeedRun]) -> go.Figure:
    """Cache writes per post and lists read per feed load, one bar per strategy (log scale)."""
    names = list(runs)
    labels = [STRATEGIES[n].label.split(" (")[0] for n in names]
    costs = [runs[n].costs() for n in names]
    colours = [STRATEGY_COLOURS[n] for n in names]
    writes = [c.writes_per_post for c in costs]
    reads = [c.reads_per_load for c in costs]
    top = max([*writes, *reads, 1.0])
    # Two panels side by side, laid out in one pass as make_subplots(cols=2, horizontal_spacing=0.12) does.
    log_axis = {"type": "log", "range": [-1, np.log10(top) + 0.6], "dtick": 1}
    traces = [
        {"type": "bar", "x": labels, "y": values, "marker": {"color": colours},
         "text": [f"{v:,.1f}" for v in values], "textposition": "outside", "showlegend": False,
         "cliponaxis": False, "xaxis": f"x{n}", "yaxis": f"y{n}"}
        for n, values in (("", writes), ("2", reads))
    ]  # fmt: skip
    layout = {
        "xaxis": {"anchor": "y", "domain": [0.0, 0.44]},
        "yaxis": {"anchor": "x", "domain": [0.0, 1.0], **log_axis},
        "xaxis2": {"anchor": "y2", "domain": [0.56, 1.0]},
        "yaxis2": {"anchor": "x2", "domain": [0.0, 1.0], **log_axis},
        "annotations": [
            {"font": {"size": 16}, "showarrow": False, "text": text, "x": x, "xanchor": "center",
             "xref": "paper", "y": 1.0, "yanchor": "bottom", "yref": "paper"}
            for text, x in (("Cache writes per post", 0.22), ("Lists read per feed load", 0.78))
        ],
    }  # fmt: skip
    return _figure(traces, layout, 400)


def _dashed(x: float, y: tuple[float, float], name: str, colour: str) -> dict:
    """A vertical marker line (a median, a p99, the last follower) as a legend entry."""
    return {"type": "scatter", "x": [x, x], "y": list(y), "mode": "lines", "name": name,
            "line": {"color": colour, "dash": "dash", "width": 2}, "hoverinfo": "name"}  # fmt: skip


def delay_figure(run: FeedRun) -> go.Figure:
    """Histogram of how long each post took to reach its last follower (posts with anything pushed)."""
    w = run.world
    mask = w.accepted & (run.writes_per_post > 0)
    d = run.delay[mask]
    if len(d) == 0:
        return _message("No post was fanned out: every feed merges at read time.", 360)
    scale, unit = _time_unit(float(d.max()))
    edges = np.linspace(0.0, float(d.max()) * scale * 1.0001 + 1e-9, 41)
    counts, _ = np.histogram(d * scale, bins=edges)
    traces = [
        {"type": "bar", "x": (edges[:-1] + edges[1:]) / 2, "y": counts, "width": np.diff(edges),
         "marker": {"color": PALETTE[0]}, "name": "posts",
         "hovertemplate": f"%{{x:.1f}} {unit}: %{{y}} posts<extra></extra>"},
    ]  # fmt: skip
    top = float(counts.max())
    for q, name, colour in ((50, "median", GOOD), (99, "p99", BAD)):
        v = float(np.percentile(d, q)) * scale
        traces.append(_dashed(v, (0.8, top * 1.2), f"{name} {v:,.1f} {unit}", colour))
    layout = {
        "xaxis": {"title": {"text": f"until the last follower has it ({unit})"}},
        "yaxis": {"title": {"text": "posts"}, "type": "log", "dtick": 1, "tickformat": ",d"},
    }
    return _figure(traces, layout, 360)


def reached_figure(run: FeedRun, post: int, cursor: float | None = None) -> go.Figure:
    """Share of the post's pushed followers who have it, against seconds since it was published."""
    t = run.reached(post)
    if len(t) == 0:
        return _message(f"Post {post} was not fanned out: its followers merge it at read time (0 s).", 360)
    scale, unit = _time_unit(float(t[-1]))
    idx = np.unique(np.linspace(0, len(t) - 1, min(len(t), 300)).astype(np.int64))
    end = float(t[-1]) * scale
    traces = [
        {"type": "scatter", "x": np.concatenate(([0.0], t[idx] * scale)),
         "y": np.concatenate(([0.0], (idx + 1) / len(t))), "mode": "lines",
         "line": {"color": PALETTE[0], "width": 3}, "name": "followers reached",
         "hovertemplate": f"%{{x:.2f}} {unit}: %{{y:.0%}}<extra></extra>"},
        _dashed(end, (0, 1.02), f"last follower: {end:,.1f} {unit}", BAD),
    ]  # fmt: skip
    if cursor is not None:
        since = (cursor - float(run.world.post_time[post])) * scale
        if 0 <= since <= end:
            traces.append({"type": "scatter", "x": [since, since], "y": [0, 1.02], "mode": "lines",
                           "name": "cursor", "line": {"color": NEUTRAL, "width": 2}, "hoverinfo": "name"})  # fmt: skip
    layout = {
        "xaxis": {"title": {"text": f"{unit} since the post was published"}, "rangemode": "tozero"},
        "yaxis": {"title": {"text": "followers who have it"}, "tickformat": ".0%", "range": [0, 1.05]},
    }
    return _figure(traces, layout, 360)


def queue_figure(run: FeedRun, cursor: float | None = None) -> go.Figure:
    """Batches waiting for a worker and feed writes not yet done, over virtual time, with the cursor."""
    t, waiting, pending = run.queue_curve(300)
    scale, unit = _time_unit(float(t[-1]))
    top = max(int(waiting.max()), 1)
    # One x axis, a secondary y axis on the right (make_subplots' secondary_y layout), and the cursor as
    # add_vline's line, all in one layout: no per-update walks of the figure.
    layout = {
        "xaxis": {"anchor": "y", "domain": [0.0, 0.94], "title": {"text": f"virtual time ({unit})"}},
        "yaxis": {"anchor": "x", "domain": [0.0, 1.0], "title": {"text": "writes"}, "rangemode": "tozero"},
        "yaxis2": {"anchor": "x", "overlaying": "y", "side": "right", "title": {"text": "batches"},
                   "range": [0, top * 1.1], "dtick": max(1, -(-top // 5)), "tickformat": ",d",
                   "showgrid": False},
    }  # fmt: skip
    if cursor is not None:
        layout["shapes"] = [{"line": {"color": NEUTRAL, "width": 2}, "type": "line", "x0": cursor * scale,
                             "x1": cursor * scale, "xref": "x", "y0": 0, "y1": 1, "yref": "y domain"}]  # fmt: skip
    traces = [
        {"type": "scatter", "x": t * scale, "y": pending, "name": "writes not yet done", "mode": "lines",
         "line": {"color": PALETTE[1], "width": 3}, "xaxis": "x", "yaxis": "y"},
        {"type": "scatter", "x": t * scale, "y": waiting, "name": "batches waiting", "mode": "lines",
         "line": {"color": PALETTE[0], "width": 2, "dash": "dot"}, "xaxis": "x", "yaxis": "y2"},
    ]  # fmt: skip
    return _figure(traces, layout, 380)
