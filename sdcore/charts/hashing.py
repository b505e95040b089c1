"""Figures for the consistent-hashing page."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np
import plotly.graph_objects as go

from sdcore.charts.style import BAD, NEUTRAL, colour, figure_from, merge_layout, style_layout
from sdcore.hashing.analysis import LoadStats, SpreadCurve
from sdcore.hashing.hashfuncs import hash_keys, make_keys
from sdcore.hashing.ring import RING_SIZE, RingPoints

if TYPE_CHECKING:
    from sdcore.hashing.experiment import ChangeReport

MAX_DRAWN_POINTS = 3000


def _figure(traces: list[dict], layout: dict, height: int, *, validate: bool = False, **over) -> go.Figure:
    """The figure from plain dicts: ``layout``, then the house style (``apply_style``), then ``over``.

    Not validated by default (:func:`~sdcore.charts.style.figure_from`: adding traces one by one and checking
    them cost most of a rerun); the tests build every figure both ways and require the same JSON."""
    layout = merge_layout(merge_layout(layout, style_layout(height)), over)
    return figure_from(traces, layout, validate=validate)


def _deg(pos) -> np.ndarray:
    return np.asarray(pos, dtype=np.float64) / RING_SIZE * 360.0


def node_colours(names: Sequence[str]) -> dict[str, str]:
    """Node i keeps colour i (in join order) on every chart of the page."""
    return {n: colour(i) for i, n in enumerate(names)}


def ring_figure(
    points: RingPoints,
    key_hashes: np.ndarray,
    key_names: Sequence[str],
    owners: Sequence[str],
    previous_owners: Sequence[str] | None = None,
    colours: dict[str, str] | None = None,
    height: int = 520,
) -> go.Figure:
    """The ring seen from above, 0 at the top, clockwise: points coloured by node, a sample of keys inside
    the ring with an arc to the point that owns each, and the keys that moved in the last change enlarged
    with where they came from."""
    colours = colours or node_colours(points.nodes)
    traces: list[dict] = []
    pos_deg = _deg(points.positions)
    stride = max(1, len(points) // MAX_DRAWN_POINTS)
    for i, name in enumerate(points.nodes):
        sel = np.nonzero(points.owner == i)[0][::stride]
        traces.append({
            "type": "scatterpolar", "r": np.ones(len(sel)), "theta": pos_deg[sel], "mode": "markers",
            "marker": {"size": 9, "color": colours.get(name, NEUTRAL), "line": {"width": 0}}, "name": name,
            "legendgroup": name, "hovertemplate": f"{name} point<br>position %{{customdata:,}}<extra></extra>",
            "customdata": points.positions[sel],
        })  # fmt: skip
    # Arcs: from each sampled key clockwise to the first point of its owner.
    key_deg = _deg(key_hashes)
    order = np.argsort(points.positions, kind="stable")
    sorted_pos = points.positions[order]
    sorted_owner = [
        points.nodes[k] for k in points.owner[order].tolist()
    ]  # the owner of each point, in order
    starts = np.searchsorted(sorted_pos, key_hashes, side="left").tolist()
    total = len(order)
    by_node: dict[str, list[float | None]] = {}
    for j, kd, owner in zip(starts, key_deg.tolist(), owners, strict=True):
        for step in range(total):  # first point of the owner clockwise (bounded loads may skip some)
            q = (j + step) % total
            if sorted_owner[q] == owner:
                break
        p = order[q]
        end = pos_deg[p] if pos_deg[p] >= kd else pos_deg[p] + 360.0
        thetas = np.linspace(kd, end, max(2, int((end - kd) / 3) + 2))
        arc = by_node.setdefault(owner, [])
        arc.extend(thetas.tolist())
        arc.append(None)
    for name, thetas in by_node.items():
        traces.append({
            "type": "scatterpolar", "r": [None if t is None else 0.86 for t in thetas], "theta": thetas,
            "mode": "lines", "line": {"width": 2, "color": colours.get(name, NEUTRAL)}, "opacity": 0.45,
            "showlegend": False, "legendgroup": name, "hoverinfo": "skip",
        })  # fmt: skip
    moved = np.zeros(len(owners), dtype=bool)
    if previous_owners is not None:
        moved = np.array([a != b for a, b in zip(owners, previous_owners, strict=True)], dtype=bool)
    stay = ~moved
    traces.append({
        "type": "scatterpolar", "r": np.full(int(stay.sum()), 0.86), "theta": key_deg[stay], "mode": "markers",
        "marker": {"size": 6, "color": "#555555"}, "name": "keys",
        "text": [f"{k} → {o}" for k, o, s in zip(key_names, owners, stay, strict=True) if s],
        "hovertemplate": "%{text}<extra></extra>",
    })  # fmt: skip
    if moved.any():
        traces.append({
            "type": "scatterpolar", "r": np.full(int(moved.sum()), 0.86), "theta": key_deg[moved],
            "mode": "markers",
            "marker": {"size": 13, "color": BAD, "symbol": "diamond", "line": {"width": 1, "color": "white"}},
            "name": "moved keys",
            "text": [f"{k}: {p} → {o}" for k, o, p, m in zip(key_names, owners, previous_owners, moved, strict=True)
                     if m],
            "hovertemplate": "%{text}<extra></extra>",
        })  # fmt: skip
    layout = {
        "polar": {
            "radialaxis": {"visible": False, "range": [0, 1.08]},
            "angularaxis": {"direction": "clockwise", "rotation": 90, "showticklabels": False, "ticks": ""},
        },
    }
    # The ring has no axes to label: thin margins, and the legend in the house's row above, so the circle takes
    # the column's whole width and the figure is no taller than the circle (no blank band under it).
    return _figure(traces, layout, height, margin={"l": 10, "r": 10, "t": 60, "b": 10})


def load_bar_figure(
    after: LoadStats, before: LoadStats | None = None, colours: dict[str, str] | None = None
) -> go.Figure:
    """Keys per node, with each node's fair share as a black tick (and the load before the change, faded)."""
    colours = colours or node_colours(after.nodes)
    traces: list[dict] = []
    if before is not None:
        traces.append({
            "type": "bar", "x": list(before.nodes), "y": list(before.counts), "name": "before",
            "marker": {"color": [colours.get(n, NEUTRAL) for n in before.nodes], "opacity": 0.35},
            "hovertemplate": "%{x} before: %{y:,} keys<extra></extra>",
        })  # fmt: skip
    traces.append({
        "type": "bar", "x": list(after.nodes), "y": list(after.counts), "name": "now",
        "marker": {"color": [colours.get(n, NEUTRAL) for n in after.nodes]},
        "hovertemplate": "%{x}: %{y:,} keys<extra></extra>",
    })  # fmt: skip
    traces.append({
        "type": "scatter", "x": list(after.nodes), "y": list(after.ideal), "mode": "markers",
        "marker": {"symbol": "line-ew-open", "size": 40, "color": "black", "line": {"width": 3, "color": "black"}},
        "name": "fair share", "hovertemplate": "%{x} fair share: %{y:,.0f}<extra></extra>",
    })  # fmt: skip
    layout = {"barmode": "group", "yaxis": {"title": {"text": "keys"}}, "xaxis": {"title": {"text": "node"}}}
    return _figure(traces, layout, 380)


def spread_figure(curve: SpreadCurve, current_vnodes: int | None = None) -> go.Figure:
    """Load spread (CV of the ring shares) against virtual nodes per server, measured and in theory."""
    label = "measured" if curve.samples == 1 else f"measured (mean of {curve.samples} clusters)"
    traces = [
        {"type": "scatter", "x": curve.vnodes, "y": curve.measured_cv, "mode": "lines+markers", "name": label,
         "line": {"color": colour(0), "width": 3}, "hovertemplate": "%{x} vnodes: CV %{y:.3f}<extra></extra>"},
        {"type": "scatter", "x": curve.vnodes, "y": curve.theory_cv, "mode": "lines",
         "name": "theory √((n−1)/(kn+1))", "line": {"color": NEUTRAL, "dash": "dash", "width": 3},
         "hovertemplate": "%{x} vnodes: theory %{y:.3f}<extra></extra>"},
    ]  # fmt: skip
    layout: dict = {
        "xaxis": {"type": "log", "title": {"text": "virtual nodes per server (log scale)"}},
        "yaxis": {"title": {"text": "coefficient of variation of load"}, "rangemode": "tozero"},
    }
    if current_vnodes is not None:
        # On a log axis a shape takes the data value but an annotation takes its log10 (a plotly quirk).
        layout["shapes"] = [{
            "type": "line", "line": {"color": BAD, "dash": "dot"}, "x0": current_vnodes, "x1": current_vnodes,
            "xref": "x", "y0": 0, "y1": 1, "yref": "y domain",
        }]  # fmt: skip
        layout["annotations"] = [{
            "x": float(np.log10(current_vnodes)), "y": 1, "yref": "paper", "text": f"you: {current_vnodes}",
            "showarrow": False, "xanchor": "left", "yanchor": "top", "font": {"color": BAD},
        }]  # fmt: skip
    return _figure(traces, layout, 380)


def flows_figure(flows: dict[tuple[str, str], int], colours: dict[str, str] | None = None) -> go.Figure:
    """Where the moved keys went: a Sankey diagram from old owner to new owner."""
    names = list(dict.fromkeys([n for pair in flows for n in pair]))
    colours = colours or node_colours(names)
    left = {n: i for i, n in enumerate(names)}
    right = {n: i + len(names) for i, n in enumerate(names)}
    sankey = {
        "type": "sankey",
        "node": {
            "label": [f"{n} (before)" for n in names] + [f"{n} (after)" for n in names],
            "color": [colours.get(n, NEUTRAL) for n in names] * 2,
            "pad": 18,
        },
        "link": {
            "source": [left[a] for a, _ in flows],
            "target": [right[b] for _, b in flows],
            "value": list(flows.values()),
            "color": "rgba(127,127,127,0.35)",
        },
    }
    return _figure([sankey], {}, 360)


# -- one report's figures (what the page draws, built once per cached report with ui.cache.figure) ----------


def report_colours(report: ChangeReport) -> dict[str, str]:
    """Every node before or after the change, in join order, with its colour."""
    return node_colours(list(dict.fromkeys([*report.before.names, *report.after.names])))


def report_ring_figure(report: ChangeReport, keys: int, seed: int, sample: int) -> go.Figure:
    """:func:`ring_figure` of the cluster after the change, with the first ``sample`` of the ``keys`` seeded
    keys and, after a change, where each came from."""
    after = report.after
    names = make_keys(keys, seed, first=sample)
    prev = [report.before.names[i] for i in report.owners_before[:sample]] if report.change else None
    return ring_figure(
        report.spec.build(after).ring_points(),
        hash_keys(names, report.spec.hash_name, 32),
        names,
        [after.names[i] for i in report.owners_after[:sample]],
        prev,
        report_colours(report),
    )


def report_load_figure(report: ChangeReport) -> go.Figure:
    """:func:`load_bar_figure` of the report: keys per node now, and before the change if there was one."""
    return load_bar_figure(
        report.loads, report.loads_before if report.change else None, report_colours(report)
    )


def report_flows_figure(report: ChangeReport) -> go.Figure:
    """:func:`flows_figure` of the keys the change moved."""
    return flows_figure(dict(report.movement.flows), report_colours(report))
