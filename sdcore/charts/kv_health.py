"""Figures for the healthy-replicas page: gossip spreading the news of a crash, phi over a silence, SWIM's
view of a dead member, two Merkle trees with their differing nodes, and a tombstone's fate per replica."""

from __future__ import annotations

import functools

import networkx as nx
import numpy as np
import plotly.graph_objects as go

from sdcore.charts.style import (
    BAD,
    GOOD,
    HIGHLIGHT,
    NEUTRAL,
    PALETTE,
    grid_layout,
    merge_layout,
    style_layout,
)
from sdcore.checks import number_text
from sdcore.kvstore.gossip import ALIVE, GossipResult, expected_spread_rounds
from sdcore.kvstore.merkle import AntiEntropy, MerkleTree
from sdcore.kvstore.phi import PHI_MODELS, HeartbeatResult
from sdcore.kvstore.swim import DEAD, SUSPECT, DetectionTrials, SwimResult
from sdcore.kvstore.tombstones import HOLDS, REPLICAS, TombstoneResult

MODEL_COLOURS = {"exponential": PALETTE[0], "normal": PALETTE[3]}
NODE_STATES = (
    ("up, seen up by every live node", GOOD),
    ("up, but marked down by some", HIGHLIGHT),
    ("crashed, news still spreading", PALETTE[3]),
    ("crashed, marked down by every live node", BAD),
)
MAX_DRAWN_LEVELS = 7  # a deeper tree is drawn down to this level (128 nodes across)


def node_label(i: int) -> str:
    return f"n{i}"


def _figure(traces: list[dict], height: int, over: dict) -> go.Figure:
    """One pass: trace dicts and one layout dict (apply_style's, updated by ``over``), validated once by
    go.Figure (add_trace, add_vline and update_* one by one cost most of a redraw)."""
    return go.Figure({"data": traces, "layout": merge_layout(style_layout(height), over)})


def _vline(x: float, line: dict) -> dict:
    """The shape ``fig.add_vline(x=x, line=line)`` adds."""
    return {"type": "line", "x0": x, "x1": x, "xref": "x", "y0": 0, "y1": 1, "yref": "y domain", "line": line}


def _vline_note(x: float, text: str, position: str, **extra) -> dict:
    """The annotation of ``add_vline(..., annotation_text=text, annotation_position=position)`` ("top left" or
    "top right"), with ``extra`` (e.g. ``font``) as ``annotation_*`` settings."""
    xanchor = {"top left": "right", "top right": "left"}[position]
    return {"text": text, "showarrow": False, "x": x, "xanchor": xanchor, "xref": "x", "y": 1,
            "yanchor": "top", "yref": "y domain", **extra}  # fmt: skip


def _vrect(x0: float, x1: float, fillcolor: str, opacity: float) -> dict:
    """The shape ``fig.add_vrect(x0=x0, x1=x1, fillcolor=fillcolor, opacity=opacity, line_width=0)`` adds."""
    return {"type": "rect", "x0": x0, "x1": x1, "xref": "x", "y0": 0, "y1": 1, "yref": "y domain",
            "fillcolor": fillcolor, "opacity": opacity, "line": {"width": 0}}  # fmt: skip


@functools.lru_cache(maxsize=64)
def _circle(n: int) -> np.ndarray:
    """Node positions of ``nx.circular_layout`` for n nodes (read-only, shared)."""
    pos = nx.circular_layout(nx.complete_graph(n))
    xy = np.array([pos[i] for i in range(n)])
    xy.setflags(write=False)
    return xy


def gossip_graph_figure(result: GossipResult, r: int, *, height: int = 520) -> go.Figure:
    """The cluster at the end of round ``r``: each node coloured by what the live others believe of it, and this
    round's gossip messages (solid: delivered, dotted: lost)."""
    n = result.config.nodes
    xy = _circle(n)
    ok_x, ok_y, lost_x, lost_y = [], [], [], []
    for _, src, dst, delivered in result.round_sends(r).tolist() if r >= 1 else []:
        xs, ys = (ok_x, ok_y) if delivered else (lost_x, lost_y)
        xs += [xy[src, 0], xy[dst, 0], None]
        ys += [xy[src, 1], xy[dst, 1], None]
    traces: list[dict] = [
        {
            "type": "scatter",
            "x": ok_x,
            "y": ok_y,
            "mode": "lines",
            "line": {"color": "#9A9A9A", "width": 1.3},
            "name": "gossip delivered",
            "hoverinfo": "skip",
        }  # fmt: skip
    ]
    if lost_x:
        traces.append(
            {
                "type": "scatter",
                "x": lost_x,
                "y": lost_y,
                "mode": "lines",
                "line": {"color": BAD, "width": 1.3, "dash": "dot"},
                "name": "not delivered (lost, or to a crashed node)",
                "hoverinfo": "skip",
            }  # fmt: skip
        )
    up, belief = result.up[r], result.belief[r]
    # For each node j, its watchers are the live nodes other than j: how many of them believe j alive.
    alive = (belief == ALIVE) & up[:, None]
    believing_all = (alive.sum(axis=0) - np.diagonal(alive)).tolist()
    watching_all = (int(up.sum()) - up.astype(int)).tolist()
    up_list = up.tolist()
    shown_all = [
        (0 if w - b == 0 else 1) if u else (3 if b == 0 else 2)
        for b, w, u in zip(believing_all, watching_all, up_list, strict=True)
    ]
    for state, (label, colour) in enumerate(NODE_STATES):
        idx = [j for j in range(n) if shown_all[j] == state]
        if idx:
            texts = [
                f"{node_label(j)}: {'running' if up_list[j] else 'crashed'}<br>{believing_all[j]} of "
                f"{watching_all[j]} live nodes believe it alive"
                for j in idx
            ]
            traces.append(
                {
                    "type": "scatter",
                    "x": xy[idx, 0],
                    "y": xy[idx, 1],
                    "mode": "markers+text",
                    "name": label,
                    "text": [node_label(j) for j in idx],
                    "textposition": "middle center",
                    "textfont": {"color": "white", "size": 12},
                    "marker": {"size": 34, "color": colour, "line": {"color": "white", "width": 1.5}},
                    "hovertext": texts,
                    "hoverinfo": "text",
                }
            )
    return _figure(
        traces,
        height,
        {
            "xaxis": {"visible": False, "range": [-1.25, 1.25]},
            "yaxis": {"visible": False, "range": [-1.2, 1.2], "scaleanchor": "x"},
            "legend": {"font": {"size": 14}},
            "margin": {"l": 10, "r": 10, "t": 90, "b": 10},
        },
    )


def spread_figure(result: GossipResult, cursor: int | None = None, *, height: int = 360) -> go.Figure:
    """For each crash: how many live nodes have marked the crashed node down, round by round."""
    rounds = np.arange(result.rounds + 1)
    subjects = sorted({(d.subject, d.crash_round) for d in result.detections})
    traces: list[dict] = []
    shapes: list[dict] = []
    annotations: list[dict] = []
    for k, (subject, crash) in enumerate(subjects):
        marked = [d.marked_round for d in result.detections if (d.subject, d.crash_round) == (subject, crash)]
        # count[r] = how many were marked by round r: a cumulative sum of marks per round
        kept = np.array([m for m in marked if m is not None and 0 <= m <= result.rounds], dtype=np.int64)
        per_round = np.bincount(kept, minlength=result.rounds + 1)
        early = sum(m is not None and m < 0 for m in marked)
        count = (np.cumsum(per_round) + early).tolist()
        traces.append(
            {
                "type": "scatter",
                "x": rounds,
                "y": count,
                "mode": "lines",
                "line": {"shape": "hv", "width": 3, "color": PALETTE[(k * 3) % len(PALETTE)]},
                "name": f"{node_label(subject)} (crashed in round {crash})",
            }
        )
        fail = crash + result.config.t_fail - 1
        shapes += [
            _vline(crash, {"color": NEUTRAL, "dash": "dot"}),
            _vline(fail, {"color": NEUTRAL, "dash": "dash"}),
        ]
        annotations.append(
            _vline_note(fail, "t_fail after its last heartbeat", "top left", font={"size": 12})
        )
    if cursor is not None:
        shapes.append(_vline(cursor, {"color": HIGHLIGHT, "width": 3}))
    over: dict = {
        "xaxis": {"title": {"text": "round"}},
        "yaxis": {"title": {"text": "live nodes that marked it down"}, "rangemode": "tozero"},
    }
    if shapes:
        over["shapes"] = shapes
    if annotations:
        over["annotations"] = annotations
    return _figure(traces, height, over)


def detection_histogram(result: GossipResult, *, height: int = 360) -> go.Figure:
    """Rounds from a crash until each live node marked the dead node down, with t_fail - 1 (the delay of a node
    whose news was fresh at the crash) and that plus the rounds gossip takes to reach everyone."""
    delays = result.delays()
    traces: list[dict] = []
    if delays.size:
        values, counts = np.unique(delays, return_counts=True)
        traces.append(
            {"type": "bar", "x": values, "y": counts, "marker": {"color": PALETTE[0]}, "name": "live nodes"}
        )
    t_fail = result.config.t_fail
    spread = expected_spread_rounds(result.config.nodes, result.config.fanout)
    fresh, everyone = t_fail - 1, t_fail - 1 + spread
    dtick = 1 if delays.size and delays.max() - delays.min() < 25 else None
    return _figure(
        traces,
        height,
        {
            "shapes": [
                _vline(fresh, {"color": NEUTRAL, "dash": "dash"}),
                _vline(everyone, {"color": HIGHLIGHT, "dash": "dot"}),
            ],
            "annotations": [
                _vline_note(fresh, "t_fail − 1: fresh news", "top left", font={"size": 12}),
                _vline_note(everyone, "+ rounds to reach everyone", "top right", font={"size": 12}),
            ],
            "xaxis": {
                "title": {"text": "rounds from the crash to being marked down"},
                **({"dtick": dtick} if dtick is not None else {}),
            },  # fmt: skip
            "yaxis": {"title": {"text": "live nodes"}},
            "showlegend": False,
        },
    )


def messages_figure(result: GossipResult, swim: SwimResult | None = None, *, height: int = 360) -> go.Figure:
    """Messages per round: gossip, SWIM probes, and every node heartbeating every other directly."""
    rounds = np.arange(1, result.rounds + 1)
    traces: list[dict] = [
        {"type": "scatter", "x": rounds, "y": result.all_to_all(), "name": "all-to-all heartbeats",
         "mode": "lines", "line": {"color": BAD, "width": 3}},
        {"type": "scatter", "x": rounds, "y": result.messages, "name": "gossip messages", "mode": "lines",
         "line": {"color": PALETTE[0], "width": 3}},
        {"type": "scatter", "x": rounds, "y": result.entries, "name": "gossip list entries carried",
         "mode": "lines", "line": {"color": PALETTE[0], "width": 2, "dash": "dot"}},
    ]  # fmt: skip
    if swim is not None:
        traces.append(
            {
                "type": "scatter",
                "x": np.arange(1, swim.config.periods + 1),
                "y": swim.messages,
                "mode": "lines",
                "name": "SWIM messages (per period)",
                "line": {"color": PALETTE[3], "width": 3},
            }  # fmt: skip
        )
    return _figure(
        traces,
        height,
        {
            "xaxis": {"title": {"text": "round"}},
            "yaxis": {"title": {"text": "per round"}, "rangemode": "tozero"},
        },
    )


def phi_figure(result: HeartbeatResult, *, height: int = 430) -> go.Figure:
    """phi over time under both models, the threshold, the heartbeats as ticks, and the false convictions."""
    s = result.scenario
    cap = 2.0 * s.threshold
    traces: list[dict] = []
    shapes: list[dict] = []
    for model, run in result.runs.items():
        colour = MODEL_COLOURS[model]
        traces.append(
            {
                "type": "scatter",
                "x": run.times,
                "y": np.minimum(run.phi, cap),
                "mode": "lines",
                "name": PHI_MODELS[model].label,
                "line": {"color": colour, "width": 3},
            }  # fmt: skip
        )
        shapes += [_vrect(start, end, colour, 0.18) for start, end in run.false_convictions]
        traces.append(
            {
                "type": "scatter",
                "x": [run.convicted_at],
                "y": [s.threshold],
                "mode": "markers",
                "showlegend": False,
                "marker": {"symbol": "x", "size": 14, "color": colour, "line": {"width": 2}},
                "hovertext": f"{PHI_MODELS[model].label} convicts at {run.convicted_at:.1f} s",
                "hoverinfo": "text",
            }
        )
    # add_hline(y=threshold, annotation "top left"), then the heartbeats, the crash line and the pause
    shapes.append({"type": "line", "x0": 0, "x1": 1, "xref": "x domain", "y0": s.threshold, "y1": s.threshold,
                   "yref": "y", "line": {"color": BAD, "dash": "dash"}})  # fmt: skip
    annotations = [
        {
            "text": f"threshold {number_text(s.threshold)}",
            "showarrow": False,
            "x": 0,
            "xanchor": "left",
            "xref": "x domain",
            "y": s.threshold,
            "yanchor": "bottom",
            "yref": "y",
        }  # fmt: skip
    ]
    traces.append(
        {
            "type": "scatter",
            "x": result.arrivals,
            "y": np.full(result.arrivals.size, -0.04 * cap),
            "mode": "markers",
            "marker": {"symbol": "line-ns-open", "size": 9, "color": NEUTRAL},
            "name": "heartbeat",
        }
    )
    shapes.append(_vline(s.crash_at, {"color": BAD}))
    annotations.append(_vline_note(s.crash_at, "crash", "top right"))
    if s.pause > 0:
        shapes.append(_vrect(s.pause_at, s.pause_at + s.pause, NEUTRAL, 0.15))
        annotations.append({"text": "pause", "showarrow": False, "x": s.pause_at, "xanchor": "left", "xref": "x",
                            "y": 1, "yanchor": "top", "yref": "y domain"})  # fmt: skip
    return _figure(
        traces,
        height,
        {
            "shapes": shapes,
            "annotations": annotations,
            "xaxis": {"title": {"text": "time (s)"}},
            "yaxis": {
                "title": {"text": f"phi (cut at {number_text(cap)})"},
                "range": [-0.08 * cap, cap * 1.05],
            },
        },
    )


def swim_figure(result: SwimResult, *, height: int = 360) -> go.Figure:
    """How many live members suspect, or have declared dead, the crashed member, period by period."""
    c = result.config
    periods = np.arange(result.view.shape[0])
    live = result.up
    col = result.view[:, :, c.crash_node]
    suspect = ((col == SUSPECT) & live).sum(axis=1)
    dead = ((col == DEAD) & live).sum(axis=1)
    traces = [
        {"type": "bar", "x": periods, "y": dead, "name": "declared it dead", "marker": {"color": BAD}},
        {"type": "bar", "x": periods, "y": suspect, "name": "suspect it", "marker": {"color": HIGHLIGHT}},
    ]
    over: dict = {
        "barmode": "stack",
        "bargap": 0.1,
        "xaxis": {"title": {"text": "protocol period"}},
        "yaxis": {"title": {"text": f"live members (of {c.nodes - (1 if c.crash_period else 0)})"}},
    }
    if c.crash_period:
        over["shapes"] = [_vline(c.crash_period - 0.5, {"color": NEUTRAL, "dash": "dot"})]
        over["annotations"] = [_vline_note(c.crash_period - 0.5, "crash", "top left")]
    return _figure(traces, height, over)


def swim_trials_figure(trials: DetectionTrials, *, height: int = 360) -> go.Figure:
    """Periods to first detection over many crashes, against the paper's geometric law."""
    values, counts = np.unique(trials.periods, return_counts=True)
    p = 1.0 / trials.expected
    ks = np.arange(1, max(int(values.max()), 4) + 1)
    traces = [
        {"type": "bar", "x": values, "y": counts / trials.periods.size, "name": "measured",
         "marker": {"color": PALETTE[3]}},
        {"type": "scatter", "x": ks, "y": p * (1 - p) ** (ks - 1), "mode": "markers+lines",
         "name": "paper: geometric", "line": {"color": NEUTRAL, "dash": "dash"}, "marker": {"size": 9}},
    ]  # fmt: skip
    return _figure(
        traces,
        height,
        {
            "xaxis": {"title": {"text": "periods from the crash to the first suspicion"}, "dtick": 1},
            "yaxis": {"title": {"text": "share of crashes"}},
        },
    )


def _tree_positions(levels: int) -> dict[tuple[int, int], tuple[float, float]]:
    width = 2**levels
    return {(lv, i): ((i + 0.5) * width / 2**lv, -lv) for lv in range(levels + 1) for i in range(2**lv)}


def merkle_trees_figure(ae: AntiEntropy, a: MerkleTree, b: MerkleTree, *, height: int = 520) -> go.Figure:
    """Both replicas' trees (down to ``MAX_DRAWN_LEVELS``), the nodes whose hashes differ highlighted."""
    levels = min(ae.depth, MAX_DRAWN_LEVELS)
    pos = _tree_positions(levels)
    differing = {(lv, i) for lv, i in ae.diff.nodes if lv <= levels}
    # A node below a differing one was compared too; the others were never looked at.
    compared = {(0, 0)} | {(lv + 1, 2 * i + c) for lv, i in differing if lv < levels for c in (0, 1)}
    layout = _grid_layout_2x1()
    ex, ey = [], []
    for (lv, i), (x, y) in pos.items():
        if lv < levels:
            for ch in (2 * i, 2 * i + 1):
                cx, cy = pos[(lv + 1, ch)]
                ex += [x, cx, None]
                ey += [y, cy, None]
    groups = (
        ("hash differs", [k for k in pos if k in differing], BAD),
        ("compared, equal", [k for k in pos if k in compared and k not in differing], GOOD),
        ("not compared", [k for k in pos if k not in compared], "#D9D9D9"),
    )
    traces: list[dict] = []
    for row, tree in ((1, a), (2, b)):
        axes = {"xaxis": "x" if row == 1 else f"x{row}", "yaxis": "y" if row == 1 else f"y{row}"}
        traces.append(
            {
                "type": "scatter",
                "x": ex,
                "y": ey,
                "mode": "lines",
                "line": {"color": "#CCCCCC", "width": 1},
                "hoverinfo": "skip",
                "showlegend": False,
                **axes,
            }  # fmt: skip
        )
        for label, keys, colour in groups:
            if not keys:
                continue
            traces.append(
                {
                    "type": "scatter",
                    "x": [pos[k][0] for k in keys],
                    "y": [pos[k][1] for k in keys],
                    "mode": "markers",
                    "name": label,
                    "legendgroup": label,
                    "showlegend": row == 1,
                    "marker": {"size": max(5, 16 - 1.5 * levels), "color": colour, "line": {"width": 0}},
                    "hovertext": [f"level {lv}, node {i}: {tree.node(lv, i).hex()[:10]}…" for lv, i in keys],
                    "hoverinfo": "text",
                    **axes,
                }
            )
    for name in ("yaxis", "yaxis2"):
        layout[name].update(visible=False, range=[-levels - 0.6, 0.6])
    for name in ("xaxis", "xaxis2"):
        layout[name]["visible"] = False
    merge_layout(layout, style_layout(height))
    merge_layout(
        layout,
        {
            "margin": {"l": 10, "r": 10, "t": 40, "b": 60},
            "legend": {"orientation": "h", "yanchor": "top", "y": -0.02, "x": 0},
        },
    )
    return go.Figure({"data": traces, "layout": layout})


def _grid_layout_2x1() -> dict:
    return grid_layout(
        rows=2, cols=1, shared_xaxes=True, vertical_spacing=0.1, subplot_titles=["Replica A", "Replica B"]
    )


def merkle_sweep_figure(sweep: tuple[AntiEntropy, ...], current: int, *, height: int = 380) -> go.Figure:
    """Per tree depth: hashes compared, keys streamed, and keys a perfect repair would send; sending every key."""
    depths = [s.depth for s in sweep]
    traces = [
        {"type": "scatter", "x": depths, "y": [s.send_everything for s in sweep], "name": "send every key",
         "mode": "lines", "line": {"color": BAD, "width": 3, "dash": "dash"}},
        {"type": "scatter", "x": depths, "y": [s.streamed for s in sweep], "name": "keys streamed",
         "mode": "lines+markers", "line": {"color": PALETTE[0], "width": 3}},
        {"type": "scatter", "x": depths, "y": [max(s.needed, 0.9) for s in sweep], "name": "keys that differ",
         "mode": "lines", "line": {"color": GOOD, "width": 2, "dash": "dot"}},
        {"type": "scatter", "x": depths, "y": [s.diff.hashes_compared for s in sweep], "name": "hashes compared",
         "mode": "lines+markers", "line": {"color": PALETTE[3], "width": 3}},
    ]  # fmt: skip
    return _figure(
        traces,
        height,
        {
            "shapes": [_vline(current, {"color": HIGHLIGHT, "width": 2})],
            "xaxis": {"title": {"text": "tree depth (2^depth leaves)"}, "dtick": 2},
            "yaxis": {"title": {"text": "count (log scale)"}, "type": "log", "dtick": 1},
        },
    )


def tombstone_figure(result: TombstoneResult, *, height: int = 360) -> go.Figure:
    """What each replica holds for the key, day by day, with the delete, the purge and the repairs marked."""
    s = result.scenario
    colours = (PALETTE[0], NEUTRAL, "#F2F2F2", "#3B3B3B")
    z = result.holds.T.astype(float)
    scale = []
    for k, c in enumerate(colours):
        scale += [[k / len(colours), c], [(k + 1) / len(colours), c]]
    traces: list[dict] = [
        {
            "type": "heatmap",
            "z": z,
            "x": np.arange(z.shape[1]),
            "y": list(REPLICAS),
            "colorscale": scale,
            "zmin": -0.5,
            "zmax": len(colours) - 0.5,
            "showscale": False,
            "xgap": 1,
            "ygap": 4,
            "hovertext": [[HOLDS[int(v)] for v in row] for row in z.tolist()],
            "hoverinfo": "text+x",
        }
    ]
    for k, label in enumerate(HOLDS):
        traces.append(
            {"type": "scatter", "x": [None], "y": [None], "mode": "markers", "name": label,
             "marker": {"size": 14, "symbol": "square", "color": colours[k], "line": {"color": "#999999", "width": 1}}}
        )  # fmt: skip
    marks = [(s.delete_day, "delete", BAD, "dash"), (s.purge_day, "tombstones purged", HIGHLIGHT, "dash")]
    if result.resurrected_on is not None:
        marks.append((result.resurrected_on, "resurrected", BAD, "solid"))
    shapes, annotations = [], []
    for k, (x, text, colour, dash) in enumerate(marks):
        shapes.append(_vline(x, {"color": colour, "dash": dash, "width": 3 if dash == "solid" else 2}))
        annotations.append(
            {
                "x": x,
                "y": 1.0,
                "yref": "paper",
                "yanchor": "bottom",
                "text": text,
                "showarrow": False,
                "font": {"color": colour, "size": 14},
                "xanchor": "left" if k % 2 else "right",
                "yshift": 2 + 20 * (k == 2),
            }  # fmt: skip
        )
    repair_days = np.arange(s.repair_every, s.horizon + 1, s.repair_every)
    traces.append(
        {"type": "scatter", "x": repair_days, "y": ["A"] * repair_days.size, "mode": "markers", "name": "repair",
         "marker": {"symbol": "triangle-down", "size": 12, "color": GOOD}, "yaxis": "y", "hoverinfo": "x"}
    )  # fmt: skip
    return _figure(
        traces,
        height,
        {
            "shapes": shapes,
            "annotations": annotations,
            "xaxis": {"title": {"text": "day"}, "range": [-0.5, s.horizon + 0.5]},
            "yaxis": {"autorange": "reversed"},
            "margin": {"l": 40, "r": 20, "t": 60, "b": 50},
            "legend": {"orientation": "h", "yanchor": "top", "y": -0.3, "x": 0},
        },
    )
