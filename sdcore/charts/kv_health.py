"""Figures for the healthy-replicas page: gossip spreading the news of a crash, phi over a silence, SWIM's
view of a dead member, two Merkle trees with their differing nodes, and a tombstone's fate per replica."""

from __future__ import annotations

import networkx as nx
import numpy as np
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from sdcore.charts.style import BAD, GOOD, HIGHLIGHT, NEUTRAL, PALETTE, apply_style
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


def gossip_graph_figure(result: GossipResult, r: int, *, height: int = 520) -> go.Figure:
    """The cluster at the end of round ``r``: each node coloured by what the live others believe of it, and this
    round's gossip messages (solid: delivered, dotted: lost)."""
    n = result.config.nodes
    pos = nx.circular_layout(nx.complete_graph(n))
    xy = np.array([pos[i] for i in range(n)])
    fig = go.Figure()
    ok_x, ok_y, lost_x, lost_y = [], [], [], []
    for _, src, dst, delivered in result.round_sends(r) if r >= 1 else []:
        xs, ys = (ok_x, ok_y) if delivered else (lost_x, lost_y)
        xs += [xy[src, 0], xy[dst, 0], None]
        ys += [xy[src, 1], xy[dst, 1], None]
    fig.add_trace(
        go.Scatter(
            x=ok_x,
            y=ok_y,
            mode="lines",
            line={"color": "#9A9A9A", "width": 1.3},
            name="gossip delivered",
            hoverinfo="skip",
        )
    )
    if lost_x:
        fig.add_trace(
            go.Scatter(
                x=lost_x,
                y=lost_y,
                mode="lines",
                line={"color": BAD, "width": 1.3, "dash": "dot"},
                name="not delivered (lost, or to a crashed node)",
                hoverinfo="skip",
            )
        )
    up, belief = result.up[r], result.belief[r]
    for state, (label, colour) in enumerate(NODE_STATES):
        idx, texts = [], []
        for j in range(n):
            watchers = up.copy()
            watchers[j] = False
            believing = int((belief[watchers, j] == ALIVE).sum())
            marked = int(watchers.sum()) - believing
            shown = (0 if marked == 0 else 1) if up[j] else (3 if believing == 0 else 2)
            if shown == state:
                idx.append(j)
                texts.append(
                    f"{node_label(j)}: {'running' if up[j] else 'crashed'}<br>{believing} of "
                    f"{int(watchers.sum())} live nodes believe it alive"
                )
        if idx:
            fig.add_trace(
                go.Scatter(
                    x=xy[idx, 0],
                    y=xy[idx, 1],
                    mode="markers+text",
                    name=label,
                    text=[node_label(j) for j in idx],
                    textposition="middle center",
                    textfont={"color": "white", "size": 12},
                    marker={"size": 34, "color": colour, "line": {"color": "white", "width": 1.5}},
                    hovertext=texts,
                    hoverinfo="text",
                )
            )
    fig.update_xaxes(visible=False, range=[-1.25, 1.25])
    fig.update_yaxes(visible=False, range=[-1.2, 1.2], scaleanchor="x")
    apply_style(fig, height=height)
    fig.update_layout(legend={"font": {"size": 14}}, margin={"l": 10, "r": 10, "t": 90, "b": 10})
    return fig


def spread_figure(result: GossipResult, cursor: int | None = None, *, height: int = 360) -> go.Figure:
    """For each crash: how many live nodes have marked the crashed node down, round by round."""
    fig = go.Figure()
    rounds = np.arange(result.rounds + 1)
    subjects = sorted({(d.subject, d.crash_round) for d in result.detections})
    for k, (subject, crash) in enumerate(subjects):
        marked = [d.marked_round for d in result.detections if (d.subject, d.crash_round) == (subject, crash)]
        count = [sum(m is not None and m <= r for m in marked) for r in rounds]
        fig.add_trace(
            go.Scatter(
                x=rounds,
                y=count,
                mode="lines",
                line={"shape": "hv", "width": 3, "color": PALETTE[(k * 3) % len(PALETTE)]},
                name=f"{node_label(subject)} (crashed in round {crash})",
            )
        )
        fig.add_vline(x=crash, line={"color": NEUTRAL, "dash": "dot"})
        fig.add_vline(
            x=crash + result.config.t_fail - 1,
            line={"color": NEUTRAL, "dash": "dash"},
            annotation_text="t_fail after its last heartbeat",
            annotation_position="top left",
            annotation_font_size=12,
        )
    if cursor is not None:
        fig.add_vline(x=cursor, line={"color": HIGHLIGHT, "width": 3})
    fig.update_xaxes(title="round")
    fig.update_yaxes(title="live nodes that marked it down", rangemode="tozero")
    return apply_style(fig, height=height)


def detection_histogram(result: GossipResult, *, height: int = 360) -> go.Figure:
    """Rounds from a crash until each live node marked the dead node down, with t_fail - 1 (the delay of a node
    whose news was fresh at the crash) and that plus the rounds gossip takes to reach everyone."""
    delays = result.delays()
    fig = go.Figure()
    if delays.size:
        values, counts = np.unique(delays, return_counts=True)
        fig.add_trace(go.Bar(x=values, y=counts, marker_color=PALETTE[0], name="live nodes"))
    t_fail = result.config.t_fail
    fig.add_vline(
        x=t_fail - 1,
        line={"color": NEUTRAL, "dash": "dash"},
        annotation_text="t_fail − 1: fresh news",
        annotation_position="top left",
        annotation_font_size=12,
    )
    spread = expected_spread_rounds(result.config.nodes, result.config.fanout)
    fig.add_vline(
        x=t_fail - 1 + spread,
        line={"color": HIGHLIGHT, "dash": "dot"},
        annotation_text="+ rounds to reach everyone",
        annotation_position="top right",
        annotation_font_size=12,
    )
    fig.update_xaxes(
        title="rounds from the crash to being marked down",
        dtick=1 if delays.size and delays.max() - delays.min() < 25 else None,
    )
    fig.update_yaxes(title="live nodes")
    fig.update_layout(showlegend=False)
    return apply_style(fig, height=height)


def messages_figure(result: GossipResult, swim: SwimResult | None = None, *, height: int = 360) -> go.Figure:
    """Messages per round: gossip, SWIM probes, and every node heartbeating every other directly."""
    rounds = np.arange(1, result.rounds + 1)
    fig = go.Figure()
    fig.add_trace(
        go.Scatter(
            x=rounds,
            y=result.all_to_all(),
            name="all-to-all heartbeats",
            mode="lines",
            line={"color": BAD, "width": 3},
        )
    )
    fig.add_trace(
        go.Scatter(
            x=rounds,
            y=result.messages,
            name="gossip messages",
            mode="lines",
            line={"color": PALETTE[0], "width": 3},
        )
    )
    fig.add_trace(
        go.Scatter(
            x=rounds,
            y=result.entries,
            name="gossip list entries carried",
            mode="lines",
            line={"color": PALETTE[0], "width": 2, "dash": "dot"},
        )
    )
    if swim is not None:
        fig.add_trace(
            go.Scatter(
                x=np.arange(1, swim.config.periods + 1),
                y=swim.messages,
                mode="lines",
                name="SWIM messages (per period)",
                line={"color": PALETTE[3], "width": 3},
            )
        )
    fig.update_xaxes(title="round")
    fig.update_yaxes(title="per round", rangemode="tozero")
    return apply_style(fig, height=height)


def phi_figure(result: HeartbeatResult, *, height: int = 430) -> go.Figure:
    """phi over time under both models, the threshold, the heartbeats as ticks, and the false convictions."""
    s = result.scenario
    cap = 2.0 * s.threshold
    fig = go.Figure()
    for model, run in result.runs.items():
        colour = MODEL_COLOURS[model]
        fig.add_trace(
            go.Scatter(
                x=run.times,
                y=np.minimum(run.phi, cap),
                mode="lines",
                name=PHI_MODELS[model].label,
                line={"color": colour, "width": 3},
            )
        )
        for start, end in run.false_convictions:
            fig.add_vrect(x0=start, x1=end, fillcolor=colour, opacity=0.18, line_width=0)
        fig.add_trace(
            go.Scatter(
                x=[run.convicted_at],
                y=[s.threshold],
                mode="markers",
                showlegend=False,
                marker={"symbol": "x", "size": 14, "color": colour, "line": {"width": 2}},
                hovertext=f"{PHI_MODELS[model].label} convicts at {run.convicted_at:.1f} s",
                hoverinfo="text",
            )
        )
    fig.add_hline(
        y=s.threshold,
        line={"color": BAD, "dash": "dash"},
        annotation_text=f"threshold {s.threshold:g}",
        annotation_position="top left",
    )
    fig.add_trace(
        go.Scatter(
            x=result.arrivals,
            y=np.full(result.arrivals.size, -0.04 * cap),
            mode="markers",
            marker={"symbol": "line-ns-open", "size": 9, "color": NEUTRAL},
            name="heartbeat",
        )
    )
    fig.add_vline(x=s.crash_at, line={"color": BAD}, annotation_text="crash", annotation_position="top right")
    if s.pause > 0:
        fig.add_vrect(
            x0=s.pause_at,
            x1=s.pause_at + s.pause,
            fillcolor=NEUTRAL,
            opacity=0.15,
            line_width=0,
            annotation_text="pause",
            annotation_position="top left",
        )
    fig.update_xaxes(title="time (s)")
    fig.update_yaxes(title=f"phi (cut at {cap:g})", range=[-0.08 * cap, cap * 1.05])
    return apply_style(fig, height=height)


def swim_figure(result: SwimResult, *, height: int = 360) -> go.Figure:
    """How many live members suspect, or have declared dead, the crashed member, period by period."""
    c = result.config
    periods = np.arange(result.view.shape[0])
    live = result.up
    col = result.view[:, :, c.crash_node]
    suspect = ((col == SUSPECT) & live).sum(axis=1)
    dead = ((col == DEAD) & live).sum(axis=1)
    fig = go.Figure()
    fig.add_trace(go.Bar(x=periods, y=dead, name="declared it dead", marker_color=BAD))
    fig.add_trace(go.Bar(x=periods, y=suspect, name="suspect it", marker_color=HIGHLIGHT))
    if c.crash_period:
        fig.add_vline(
            x=c.crash_period - 0.5,
            line={"color": NEUTRAL, "dash": "dot"},
            annotation_text="crash",
            annotation_position="top left",
        )
    fig.update_layout(barmode="stack", bargap=0.1)
    fig.update_xaxes(title="protocol period")
    fig.update_yaxes(title=f"live members (of {c.nodes - (1 if c.crash_period else 0)})")
    return apply_style(fig, height=height)


def swim_trials_figure(trials: DetectionTrials, *, height: int = 360) -> go.Figure:
    """Periods to first detection over many crashes, against the paper's geometric law."""
    values, counts = np.unique(trials.periods, return_counts=True)
    fig = go.Figure()
    fig.add_trace(go.Bar(x=values, y=counts / trials.periods.size, name="measured", marker_color=PALETTE[3]))
    p = 1.0 / trials.expected
    ks = np.arange(1, max(int(values.max()), 4) + 1)
    fig.add_trace(
        go.Scatter(
            x=ks,
            y=p * (1 - p) ** (ks - 1),
            mode="markers+lines",
            name="paper: geometric",
            line={"color": NEUTRAL, "dash": "dash"},
            marker={"size": 9},
        )
    )
    fig.update_xaxes(title="periods from the crash to the first suspicion", dtick=1)
    fig.update_yaxes(title="share of crashes")
    return apply_style(fig, height=height)


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
    fig = make_subplots(
        rows=2, cols=1, shared_xaxes=True, vertical_spacing=0.1, subplot_titles=("Replica A", "Replica B")
    )
    ex, ey = [], []
    for (lv, i), (x, y) in pos.items():
        if lv < levels:
            for ch in (2 * i, 2 * i + 1):
                cx, cy = pos[(lv + 1, ch)]
                ex += [x, cx, None]
                ey += [y, cy, None]
    for row, tree in ((1, a), (2, b)):
        fig.add_trace(
            go.Scatter(
                x=ex,
                y=ey,
                mode="lines",
                line={"color": "#CCCCCC", "width": 1},
                hoverinfo="skip",
                showlegend=False,
            ),
            row=row,
            col=1,
        )
        for label, pick, colour in (
            ("hash differs", lambda k: k in differing, BAD),
            ("compared, equal", lambda k: k in compared and k not in differing, GOOD),
            ("not compared", lambda k: k not in compared, "#D9D9D9"),
        ):
            keys = [k for k in pos if pick(k)]
            if not keys:
                continue
            fig.add_trace(
                go.Scatter(
                    x=[pos[k][0] for k in keys],
                    y=[pos[k][1] for k in keys],
                    mode="markers",
                    name=label,
                    legendgroup=label,
                    showlegend=row == 1,
                    marker={"size": max(5, 16 - 1.5 * levels), "color": colour, "line": {"width": 0}},
                    hovertext=[f"level {lv}, node {i}: {tree.node(lv, i).hex()[:10]}…" for lv, i in keys],
                    hoverinfo="text",
                ),
                row=row,
                col=1,
            )
    for row in (1, 2):
        fig.update_yaxes(visible=False, range=[-levels - 0.6, 0.6], row=row, col=1)
        fig.update_xaxes(visible=False, row=row, col=1)
    apply_style(fig, height=height)
    fig.update_layout(
        margin={"l": 10, "r": 10, "t": 40, "b": 60},
        legend={"orientation": "h", "yanchor": "top", "y": -0.02, "x": 0},
    )
    return fig


def merkle_sweep_figure(sweep: tuple[AntiEntropy, ...], current: int, *, height: int = 380) -> go.Figure:
    """Per tree depth: hashes compared, keys streamed, and keys a perfect repair would send; sending every key."""
    depths = [s.depth for s in sweep]
    fig = go.Figure()
    fig.add_trace(
        go.Scatter(
            x=depths,
            y=[s.send_everything for s in sweep],
            name="send every key",
            mode="lines",
            line={"color": BAD, "width": 3, "dash": "dash"},
        )
    )
    fig.add_trace(
        go.Scatter(
            x=depths,
            y=[s.streamed for s in sweep],
            name="keys streamed",
            mode="lines+markers",
            line={"color": PALETTE[0], "width": 3},
        )
    )
    fig.add_trace(
        go.Scatter(
            x=depths,
            y=[max(s.needed, 0.9) for s in sweep],
            name="keys that differ",
            mode="lines",
            line={"color": GOOD, "width": 2, "dash": "dot"},
        )
    )
    fig.add_trace(
        go.Scatter(
            x=depths,
            y=[s.diff.hashes_compared for s in sweep],
            name="hashes compared",
            mode="lines+markers",
            line={"color": PALETTE[3], "width": 3},
        )
    )
    fig.add_vline(x=current, line={"color": HIGHLIGHT, "width": 2})
    fig.update_xaxes(title="tree depth (2^depth leaves)", dtick=2)
    fig.update_yaxes(title="count (log scale)", type="log", dtick=1)
    return apply_style(fig, height=height)


def tombstone_figure(result: TombstoneResult, *, height: int = 360) -> go.Figure:
    """What each replica holds for the key, day by day, with the delete, the purge and the repairs marked."""
    s = result.scenario
    colours = (PALETTE[0], NEUTRAL, "#F2F2F2", "#3B3B3B")
    z = result.holds.T.astype(float)
    scale = []
    for k, c in enumerate(colours):
        scale += [[k / len(colours), c], [(k + 1) / len(colours), c]]
    fig = go.Figure(
        go.Heatmap(
            z=z,
            x=np.arange(z.shape[1]),
            y=list(REPLICAS),
            colorscale=scale,
            zmin=-0.5,
            zmax=len(colours) - 0.5,
            showscale=False,
            xgap=1,
            ygap=4,
            hovertext=[[HOLDS[int(v)] for v in row] for row in z],
            hoverinfo="text+x",
        )
    )
    for k, label in enumerate(HOLDS):
        fig.add_trace(
            go.Scatter(
                x=[None],
                y=[None],
                mode="markers",
                name=label,
                marker={
                    "size": 14,
                    "symbol": "square",
                    "color": colours[k],
                    "line": {"color": "#999999", "width": 1},
                },
            )
        )
    marks = [(s.delete_day, "delete", BAD, "dash"), (s.purge_day, "tombstones purged", HIGHLIGHT, "dash")]
    if result.resurrected_on is not None:
        marks.append((result.resurrected_on, "resurrected", BAD, "solid"))
    for k, (x, text, colour, dash) in enumerate(marks):
        fig.add_vline(x=x, line={"color": colour, "dash": dash, "width": 3 if dash == "solid" else 2})
        fig.add_annotation(
            x=x,
            y=1.0,
            yref="paper",
            yanchor="bottom",
            text=text,
            showarrow=False,
            font={"color": colour, "size": 14},
            xanchor="left" if k % 2 else "right",
            yshift=2 + 20 * (k == 2),
        )
    repair_days = np.arange(s.repair_every, s.horizon + 1, s.repair_every)
    fig.add_trace(
        go.Scatter(
            x=repair_days,
            y=["A"] * repair_days.size,
            mode="markers",
            name="repair",
            marker={"symbol": "triangle-down", "size": 12, "color": GOOD},
            yaxis="y",
            hoverinfo="x",
        )
    )
    fig.update_xaxes(title="day", range=[-0.5, s.horizon + 0.5])
    fig.update_yaxes(autorange="reversed")
    apply_style(fig, height=height)
    fig.update_layout(
        margin={"l": 40, "r": 20, "t": 60, "b": 50},
        legend={"orientation": "h", "yanchor": "top", "y": -0.3, "x": 0},
    )
    return fig
