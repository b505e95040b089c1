"""Figures for the cluster page: the sequence diagram of every message, and the ring with crashed nodes greyed.

The sequence diagram has one lane per participant (the client, then each node) and time going down. Each
message is an arrow from its sender's lane at the time it was sent to its receiver's lane at the time it
arrived, coloured by kind; a lost message is a dashed grey line ending in a red cross; a node's message to
itself (0 ms) is a short stub. Crashed nodes are shaded on their lane, a partition is a band across the
diagram, a timeout is an hourglass on the coordinator's lane. With a cursor (a trace event's index) only
what has happened by then is drawn, and messages still on the wire stop at the cursor.

Messages take milliseconds while a scenario waits hundreds between steps, so quiet stretches longer than
``QUIET_MS`` are cut down to that length (marked ≈ on the time axis, whose labels stay true times).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from types import MappingProxyType

import numpy as np
import plotly.graph_objects as go

from sdcore.charts.kvstore import preference_ring_figure
from sdcore.charts.style import BAD, GOOD, HIGHLIGHT, NEUTRAL, PALETTE, apply_style
from sdcore.hashing.ring import RingPoints
from sdcore.kvstore.cluster import CATEGORIES, CLIENT, Message
from sdcore.kvstore.placement import KeyReplicas
from sdcore.kvstore.scenario import ScenarioRun

CATEGORY_COLOURS = MappingProxyType(
    {
        "request": PALETTE[0],  # blue
        "ack": GOOD,  # bluish green
        "response": PALETTE[4],  # sky blue
        "timeout": BAD,  # vermillion
        "hint": PALETTE[1],  # orange
        "handoff": PALETTE[3],  # reddish purple
        "read repair": PALETTE[7],  # black
    }
)
LOST = "lost message"
DOWN_FILL = "rgba(127,127,127,0.28)"
PARTITION_FILL = "rgba(213,94,0,0.08)"
_STUB = 0.22  # width of a self-message stub, in lanes
QUIET_MS = 12.0


class TimeAxis:
    """True time (ms) -> drawn position: gaps between events longer than ``quiet_ms`` shrink to it."""

    def __init__(self, times: Sequence[float], quiet_ms: float = QUIET_MS):
        t = np.unique(np.asarray([0.0, *times], dtype=float))
        self.t = t
        self.y = np.concatenate(([0.0], np.cumsum(np.minimum(np.diff(t), quiet_ms))))
        self.cuts = [(a, b) for a, b in zip(t[:-1], t[1:], strict=True) if b - a > quiet_ms]

    def __call__(self, ms: float) -> float:
        return float(np.interp(ms, self.t, self.y))

    @property
    def span(self) -> float:
        return float(self.y[-1])

    def ticks(self, count: int = 12) -> tuple[list[float], list[str]]:
        """About ``count`` tick positions spread over the drawn axis, labelled with true times."""
        marks = np.linspace(0.0, self.span, count)
        idx = sorted({int(np.argmin(np.abs(self.y - m))) for m in marks})
        return [float(self.y[i]) for i in idx], [f"{self.t[i]:.0f}" for i in idx]


def _hover(m: Message) -> str:
    route = f"{m.src} → {m.dst}"
    took = f"sent {m.sent_ms:.1f} ms, {m.outcome} at {m.deliver_ms:.1f} ms"
    return f"{m.op + ' · ' if m.op else ''}{m.kind} {route}<br>{m.summary}<br>{took}"


def sequence_figure(run: ScenarioRun, cursor: int | None = None, *, height: int | None = None) -> go.Figure:
    """The messages of a run as a sequence diagram, up to trace event ``cursor`` (everything if ``None``)."""
    lanes = (CLIENT, *run.nodes)
    x_of = {name: i for i, name in enumerate(lanes)}
    last = len(run.events) - 1 if cursor is None else max(-1, min(cursor, len(run.events) - 1))
    now = run.events[last].time_ms if last >= 0 else 0.0
    ax = TimeAxis([e.time_ms for e in run.events])
    end = max(ax.span, 1.0)
    # Shapes, annotations and traces as plain dicts set in one go: plotly's add_shape/add_annotation/add_hline
    # validate a whole layout list per call, which made this figure cost ~60 ms (it is drawn per cursor step).
    shapes: list[dict] = [
        {"type": "line", "x0": i, "x1": i, "y0": 0, "y1": end, "line": {"color": "#BBBBBB", "width": 1},
         "layer": "below"}
        for i in range(len(lanes))
    ]  # fmt: skip
    annotations: list[dict] = [
        {"x": len(lanes) - 0.3, "y": (ax(a) + ax(b)) / 2, "text": f"≈ {b - a:.0f} ms", "showarrow": False,
         "xanchor": "right", "font": {"size": 11, "color": NEUTRAL}}
        for a, b in ax.cuts
    ]  # fmt: skip
    issued: dict[float, list[str]] = {}
    for e in run.events[: last + 1]:
        if e.kind == "issue":
            issued.setdefault(e.time_ms, []).append(e.op)
    for t, labels in issued.items():
        annotations.append(
            {"x": 0, "y": ax(t), "text": " ".join(labels), "showarrow": False, "xanchor": "right",
             "xshift": -6, "font": {"size": 13, "color": PALETTE[0]}}
        )  # fmt: skip
    for f in run.faults:
        if f.start_seq > last:
            continue
        y0 = ax(f.start_ms)
        y1 = max(ax(now if f.end_seq is None or f.end_seq > last else f.end_ms), y0 + 2)
        if f.kind == "crash":
            i = x_of[f.nodes[0]]
            shapes.append(
                {"type": "rect", "x0": i - 0.14, "x1": i + 0.14, "y0": y0, "y1": y1, "fillcolor": DOWN_FILL,
                 "line": {"width": 0}, "layer": "below"}
            )  # fmt: skip
            annotations.append(
                {"x": i, "y": y0, "text": f"{f.nodes[0]} down ✖", "showarrow": False, "xanchor": "right",
                 "xshift": -16, "font": {"size": 12, "color": BAD}}
            )  # fmt: skip
        else:
            shapes.append(
                {"type": "rect", "x0": 0.5, "x1": len(lanes) - 0.5, "y0": y0, "y1": y1,
                 "fillcolor": PARTITION_FILL, "line": {"width": 0}, "layer": "below"}
            )  # fmt: skip
            annotations.append(
                {"x": 0.55, "y": y0, "xanchor": "left", "showarrow": False, "yshift": -9,
                 "text": "partition " + " | ".join(",".join(g) for g in f.groups),
                 "font": {"size": 12, "color": BAD}}
            )  # fmt: skip
    segments: dict[str, tuple[list, list, list, list]] = {c: ([], [], [], []) for c in (*CATEGORIES, LOST)}
    for m in run.messages:
        if m.sent_seq > last:
            continue
        x0, x1 = x_of[m.src], x_of[m.dst]
        arrived = m.outcome_seq <= last
        lost = arrived and m.outcome.startswith("lost")
        xs, ys, sizes, texts = segments[LOST if lost else m.category]
        hover = _hover(m) if arrived else f"{m.kind} {m.src} → {m.dst}<br>{m.summary}<br>on the wire"
        y_sent = ax(m.sent_ms)
        if x0 == x1:  # a node's message to itself takes no time: a stub out and back
            xs += [x0, x0 + _STUB, x0, None]
            ys += [y_sent, y_sent + 0.6, y_sent + 1.2, None]
            sizes += [0, 0, 8 if arrived else 0, 0]
            texts += [hover] * 3 + [None]
            continue
        t_end = m.deliver_ms if arrived else now
        frac = (t_end - m.sent_ms) / (m.deliver_ms - m.sent_ms) if m.deliver_ms > m.sent_ms else 1.0
        xs += [x0, x0 + (x1 - x0) * frac, None]
        ys += [y_sent, ax(t_end), None]
        sizes += [0, 11 if arrived else 0, 0]
        texts += [hover, hover, None]
    traces: list[dict] = []
    for category, (xs, ys, sizes, texts) in segments.items():
        if not xs:
            continue
        lost = category == LOST
        colour = BAD if lost else CATEGORY_COLOURS[category]
        traces.append(
            {
                "type": "scatter",
                "x": xs,
                "y": ys,
                "mode": "lines+markers",
                "name": category,
                "hovertext": texts,
                "hoverinfo": "text",
                "line": {
                    "color": NEUTRAL if lost else colour,
                    "width": 2,
                    "dash": "dash" if lost else "solid",
                },
                "marker": {
                    "symbol": "x" if lost else "arrow",
                    "angleref": "up" if lost else "previous",
                    "size": [z * 1.3 if lost else z for z in sizes],
                    "color": colour,
                    "line": {"width": 0},
                },
            }
        )
    timeouts = [e for e in run.events[: last + 1] if e.kind == "timeout"]
    if timeouts:
        traces.append(
            {
                "type": "scatter",
                "x": [x_of.get(e.node, 0) for e in timeouts],
                "y": [ax(e.time_ms) for e in timeouts],
                "mode": "markers",
                "name": "timeout",
                "marker": {"symbol": "hourglass", "size": 16, "color": CATEGORY_COLOURS["timeout"]},
                "hovertext": [e.detail for e in timeouts],
                "hoverinfo": "text",
            }
        )
    if cursor is not None and last >= 0:
        y_now = ax(now)  # the cursor: a line across the plot (what add_hline draws) and its label
        shapes.append(
            {"type": "line", "x0": 0, "x1": 1, "xref": "x domain", "y0": y_now, "y1": y_now, "yref": "y",
             "line": {"color": HIGHLIGHT, "width": 2, "dash": "dot"}}
        )  # fmt: skip
        annotations.append(
            {"x": len(lanes) - 0.3, "y": y_now, "xanchor": "right", "yanchor": "bottom", "showarrow": False,
             "text": f"event {last + 1} · {now:.1f} ms", "font": {"size": 13, "color": HIGHLIGHT}}
        )  # fmt: skip
    fig = go.Figure(data=traces)
    apply_style(fig, height=height or int(min(1800, max(560, 140 + 4.0 * end))))
    tickvals, ticktext = ax.ticks()
    fig.update_layout(
        xaxis={
            "tickvals": list(range(len(lanes))),
            "ticktext": list(lanes),
            "side": "top",
            "tickfont": {"size": 17},
            "range": [-0.5, len(lanes) - 0.3],
            "showgrid": False,
            "zeroline": False,
        },
        yaxis={
            "title": {"text": "time (ms; quiet stretches cut, ≈)"},
            "range": [end + 3, -3],
            "zeroline": False,
            "tickvals": tickvals,
            "ticktext": ticktext,
        },
        legend={"orientation": "h", "y": -0.01, "yanchor": "top", "x": 0},
        margin={"t": 50, "b": 30},
        **({"shapes": shapes} if shapes else {}),
        **({"annotations": annotations} if annotations else {}),
    )
    return fig


def cluster_ring_figure(
    points: RingPoints,
    placements: Sequence[KeyReplicas],
    colours: Mapping[str, str],
    down: frozenset[str] = frozenset(),
    *,
    height: int = 520,
) -> go.Figure:
    """The ring with each key's preference list (``preference_ring_figure``); crashed nodes greyed."""
    shown = {x: ("#D9D9D9" if x in down else c) for x, c in colours.items()}
    fig = preference_ring_figure(points, placements, shown, height=height)
    for trace in fig.data:
        if trace.name in down:
            trace.name = f"{trace.name} (down)"
    return fig
