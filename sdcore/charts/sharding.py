"""Figures for the sharding page: per-shard size and load against capacity, skew by key and strategy,
rows moved by re-sharding, the migration timeline, the slot map, the hot shard under each mitigation, and
the cost of a join against de-normalized copies."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np
import plotly.graph_objects as go

from sdcore.charts.style import (
    BAD,
    GOOD,
    HIGHLIGHT,
    NEUTRAL,
    PALETTE,
    colour,
    figure_from,
    merge_layout,
    style_layout,
)
from sdcore.sharding.hotkeys import MITIGATIONS, HotKeyReport
from sdcore.sharding.joins import FeedCost
from sdcore.sharding.keys import SHARD_KEYS
from sdcore.sharding.keyslot import SLOTS
from sdcore.sharding.layout import ShardLoads
from sdcore.sharding.resharding import Migration, Movement
from sdcore.sharding.strategies import STRATEGIES

if TYPE_CHECKING:
    from sdcore.sharding.experiment import ShardingResult

READS, WRITES = PALETTE[0], PALETTE[1]


def _title(text: str, x: float, y: float, size: int = 16) -> dict:
    """A subplot title, as ``make_subplots`` places it."""
    return {"font": {"size": size}, "showarrow": False, "text": text, "x": x, "xanchor": "center", "xref": "paper",
            "y": y, "yanchor": "bottom", "yref": "paper"}  # fmt: skip


def _hline(y: float, line: dict, xref: str, yref: str) -> dict:
    """A horizontal line across a subplot, as ``add_hline`` draws it (one dict: no per-line layout pass)."""
    return {"line": line, "type": "line", "x0": 0, "x1": 1, "xref": xref, "y0": y, "y1": y, "yref": yref}


def shard_figure(
    loads: ShardLoads, read_capacity: float, write_capacity: float, height: int = 560
) -> go.Figure:
    """Rows per shard on top; reads and writes per second below, with the per-shard capacity lines."""
    names = [f"S{i}" for i in range(loads.shards)]
    mean = loads.rows.mean() if loads.shards else 0
    # Two rows sharing x, laid out as make_subplots(rows=2, shared_xaxes=True, vertical_spacing=0.12) does,
    # with every line and label in one layout (add_hline per line re-walks the layout each time).
    shapes = [_hline(mean, {"color": "#000000", "dash": "dot", "width": 1}, "x domain", "y")]
    annotations = [_title("Rows stored", 0.5, 1.0), _title("Requests per second", 0.5, 0.44)]
    for cap, c, text in ((read_capacity, READS, "read cap"), (write_capacity, WRITES, "write cap")):
        shapes.append(_hline(cap, {"color": c, "dash": "dash", "width": 2}, "x2 domain", "y2"))
        annotations.append({"bgcolor": "rgba(255,255,255,0.85)", "font": {"color": c, "size": 13},
                            "showarrow": False, "text": f"{text} {cap:,.0f}/s", "x": 0, "xanchor": "left",
                            "xref": "x2 domain", "y": cap, "yanchor": "bottom", "yref": "y2"})  # fmt: skip
    traces = [
        {"type": "bar", "x": names, "y": loads.rows, "name": "rows", "marker": {"color": NEUTRAL}, "xaxis": "x",
         "yaxis": "y", "hovertemplate": "%{x}: %{y:,} rows<extra></extra>"},
        {"type": "bar", "x": names, "y": loads.reads, "name": "reads/s", "marker": {"color": READS},
         "xaxis": "x2", "yaxis": "y2", "hovertemplate": "%{x}: %{y:,.0f} reads/s<extra></extra>"},
        {"type": "bar", "x": names, "y": loads.writes, "name": "writes/s", "marker": {"color": WRITES},
         "xaxis": "x2", "yaxis": "y2", "hovertemplate": "%{x}: %{y:,.0f} writes/s<extra></extra>"},
    ]  # fmt: skip
    layout = _styled(height, {
        "xaxis": {"anchor": "y", "domain": [0.0, 1.0], "matches": "x2", "showticklabels": False},
        "yaxis": {"anchor": "x", "domain": [0.56, 1.0], "rangemode": "tozero"},
        "xaxis2": {"anchor": "y2", "domain": [0.0, 1.0]},
        "yaxis2": {"anchor": "x2", "domain": [0.0, 0.44], "rangemode": "tozero"},
        "annotations": annotations, "shapes": shapes, "barmode": "group", "bargap": 0.25,
        "margin": {"l": 60, "r": 20, "t": 40, "b": 90},
        "legend": {"orientation": "h", "y": -0.08, "yanchor": "top", "x": 0},
    })  # fmt: skip
    return figure_from(traces, layout)


def skew_heatmap(rows: Sequence, quantity: str = "reads") -> go.Figure:
    """Busiest shard over the mean, for every shard key (rows) under every strategy (columns)."""
    keys, strategies = list(SHARD_KEYS), list(STRATEGIES)
    z = np.full((len(keys), len(strategies)), np.nan)
    for r in rows:
        z[keys.index(r.key), strategies.index(r.strategy)] = getattr(r, quantity).max_over_mean
    text = [[f"{v:.2f}" for v in line] for line in z.tolist()]
    heat = {
        "type": "heatmap", "z": z, "x": strategies, "y": [SHARD_KEYS[k].label for k in keys], "text": text,
        "texttemplate": "%{text}", "textfont": {"size": 15}, "zmin": 1,
        "zmax": max(3.0, float(np.nanmax(z))), "showscale": False,
        "colorscale": [[0, "#FFFFFF"], [0.35, "#F0E442"], [1, BAD]], "xgap": 2, "ygap": 2,
        "hovertemplate": "%{y} · %{x}: busiest shard %{text}× the mean<extra></extra>",
    }  # fmt: skip
    layout = _styled(360, {"margin": {"l": 170, "r": 10, "t": 30, "b": 50},
                           "xaxis": {"side": "top", "tickangle": 0}, "yaxis": {"autorange": "reversed"}})  # fmt: skip
    return figure_from([heat], layout)


def movement_figure(movements: Sequence[Movement], highlight: str | None = None) -> go.Figure:
    """Share of rows each strategy moves for the same S -> S', theory as a black tick."""
    labels = [STRATEGIES[m.strategy].label for m in movements]
    colours = [HIGHLIGHT if m.strategy == highlight else PALETTE[0] for m in movements]
    traces = [{
        "type": "bar", "x": [float(m.fraction) for m in movements], "y": labels, "orientation": "h",
        "marker": {"color": colours}, "name": "measured", "text": [f"{m.fraction:.1%}" for m in movements],
        "textposition": "outside", "cliponaxis": False,
        "hovertemplate": "%{y}: %{x:.1%} of rows moved<extra></extra>",
    }]  # fmt: skip
    theory = [
        (m.expected, label) for m, label in zip(movements, labels, strict=True) if m.expected is not None
    ]
    if theory:
        traces.append({"type": "scatter", "x": [float(t) for t, _ in theory], "y": [lb for _, lb in theory],
                       "mode": "markers", "name": "theory",
                       "marker": {"symbol": "line-ns", "size": 26, "color": "#000000", "line": {"width": 3}},
                       "hovertemplate": "theory %{x:.1%}<extra></extra>"})  # fmt: skip
    layout = _styled(340, {
        "margin": {"l": 240, "r": 60, "t": 40, "b": 50},
        "xaxis": {"tickformat": ".0%", "range": [0, 1.12], "title": {"text": "rows moved"}},
        "yaxis": {"autorange": "reversed"},
    })  # fmt: skip
    return figure_from(traces, layout)


def migration_figure(mig: Migration) -> go.Figure:
    """The migration's steps, back to back, as a timeline."""
    steps = [s for s in mig.steps if np.isfinite(s.duration_s)]
    floor = mig.total_s * 0.004 if np.isfinite(mig.total_s) else 0
    bar = {
        "type": "bar", "y": [s.name for s in steps], "x": [float(max(s.duration_s, floor)) for s in steps],
        "base": [float(s.start_s) for s in steps], "orientation": "h",
        "marker": {"color": [colour(i) for i in range(len(steps))]},
        "customdata": [[s.what, float(s.duration_s)] for s in steps],
        "hovertemplate": "%{y}: %{customdata[1]:,.1f} s<br>%{customdata[0]}<extra></extra>", "showlegend": False,
    }  # fmt: skip
    layout = _styled(330, {
        "margin": {"l": 130, "r": 30, "t": 30, "b": 50},
        "xaxis": {"title": {"text": "seconds from the start of the migration"}, "rangemode": "tozero"},
        "yaxis": {"autorange": "reversed"},
    })  # fmt: skip
    return figure_from([bar], layout)


def slot_map_figure(before: np.ndarray, after: np.ndarray) -> go.Figure:
    """Who owns each of the 16,384 slots, before and after: only whole slots change colour."""
    traces = []
    for row, owner in (("before", before), ("after", after)):
        cut = np.flatnonzero(np.diff(owner)) + 1
        starts = np.concatenate(([0], cut))
        ends = np.concatenate((cut, [SLOTS]))
        shards = owner[starts]
        traces.append({
            "type": "bar", "y": [row] * len(starts), "x": ends - starts, "base": starts.tolist(),
            "orientation": "h", "showlegend": False,
            "marker": {"color": [colour(s) for s in shards.tolist()], "line": {"color": "#FFFFFF", "width": 1}},
            "customdata": np.stack([starts, ends - 1, shards], axis=1),
            "hovertemplate": "slots %{customdata[0]:,}–%{customdata[1]:,}: shard S%{customdata[2]}<extra></extra>",
        })  # fmt: skip
    layout = _styled(220, {"barmode": "overlay", "margin": {"l": 80, "r": 20, "t": 20, "b": 50},
                           "xaxis": {"range": [0, SLOTS], "title": {"text": "slot"}},
                           "yaxis": {"autorange": "reversed"}})  # fmt: skip
    return figure_from(traces, layout)


def hot_shard_figure(report: HotKeyReport) -> go.Figure:
    """The hot shard's reads and writes under each mitigation, as a share of the per-shard capacity."""
    s = report.settings
    labels = [MITIGATIONS[o.name].label for o in report.options]
    reads = [float(o.hot_reads / s.read_capacity) for o in report.options]
    writes = [float(o.hot_writes / s.write_capacity) for o in report.options]
    traces = [
        {"type": "bar", "y": labels, "x": values, "name": name, "orientation": "h", "marker": {"color": c},
         "text": [f"{v:.0%}" for v in values], "textposition": "outside", "cliponaxis": False,
         "hovertemplate": "%{y}: %{x:.0%} of capacity<extra></extra>"}
        for name, values, c in (("reads / read cap", reads, READS), ("writes / write cap", writes, WRITES))
    ]  # fmt: skip
    top = max([*reads, *writes, 1.0])
    layout = _styled(400, {
        "barmode": "group",
        "margin": {"l": 220, "r": 60, "t": 50, "b": 50},
        "shapes": [{"line": {"color": BAD, "dash": "dash", "width": 2}, "type": "line", "x0": 1.0, "x1": 1.0,
                    "xref": "x", "y0": 0, "y1": 1, "yref": "y domain"}],  # the capacity: add_vline's line
        "xaxis": {"tickformat": ".0%", "range": [0, top * 1.18],
                  "title": {"text": "busiest shard, share of its capacity"}},
        "yaxis": {"autorange": "reversed"},
    })  # fmt: skip
    return figure_from(traces, layout)


def join_figure(feed: FeedCost) -> go.Figure:
    """Per feed read: shards asked and rows shipped, normalized vs de-normalized; per rename: rows rewritten."""
    designs = ["join", "copy"]
    rename = float(feed.rename_rows.mean()) if len(feed.rename_rows) else 0.0
    worst = float(feed.rename_rows.max()) if len(feed.rename_rows) else 0.0
    # Three panels side by side, laid out as make_subplots(cols=3, horizontal_spacing=0.1) does.
    w = (1 - 2 * 0.1) / 3
    starts = [i * (w + 0.1) for i in range(3)]
    domains = [[starts[0], w], [starts[1], starts[1] + w], [starts[2], 1.0]]
    titles = ("Shards asked<br>per feed", "Rows shipped<br>per feed", "Rows written<br>per rename")
    over: dict = {}
    for i, dom in enumerate(domains, start=1):
        n = "" if i == 1 else str(i)
        over[f"xaxis{n}"] = {"anchor": f"y{n}", "domain": dom}
        over[f"yaxis{n}"] = {"anchor": f"x{n}", "domain": [0.0, 1.0]}
    over["annotations"] = [
        _title(t, (d[0] + d[1]) / 2, 1.0, size=15) for t, d in zip(titles, domains, strict=True)
    ]
    over["margin"] = {"l": 60, "r": 20, "t": 80, "b": 50}
    traces = [
        {"type": "bar", "x": designs, "y": [feed.normalized_shards, feed.denormalized_shards],
         "showlegend": False, "marker": {"color": [PALETTE[0], GOOD]},
         "hovertemplate": "%{x}: %{y:.1f} shards<extra></extra>", "xaxis": "x", "yaxis": "y"},
        {"type": "bar", "x": designs, "y": [feed.normalized_rows, feed.denormalized_rows], "showlegend": False,
         "marker": {"color": [PALETTE[0], GOOD]}, "hovertemplate": "%{x}: %{y:.0f} rows<extra></extra>",
         "xaxis": "x2", "yaxis": "y2"},
        {"type": "bar", "x": ["join", "copy", "copy max"], "y": [1, rename, worst], "showlegend": False,
         "marker": {"color": [PALETTE[0], GOOD, BAD]}, "hovertemplate": "%{x}: %{y:,.0f} rows<extra></extra>",
         "xaxis": "x3", "yaxis": "y3"},
    ]  # fmt: skip
    return figure_from(traces, _styled(380, over))


def _styled(height: int, over: dict) -> dict:
    """What :func:`apply_style` sets for ``height``, then ``over`` merged in as ``update_layout`` does."""
    return merge_layout(style_layout(height), over)


def result_movement_figure(result: ShardingResult) -> go.Figure:
    """:func:`movement_figure` of a run, its own strategy highlighted."""
    return movement_figure(result.movements, result.config.strategy)


def result_slot_map_figure(result: ShardingResult) -> go.Figure:
    """:func:`slot_map_figure` of a slots run: the slot owners before and after re-sharding."""
    return slot_map_figure(result.placement.state, result.resharded.state)
