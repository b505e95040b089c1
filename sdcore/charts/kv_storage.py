"""Figures for the one-node storage page: the node (commit log, memtable, SSTables by level), a read's path,
bloom filter false positives against the formula and the published figures, and amplification side by side."""

from __future__ import annotations

import math
from collections.abc import Sequence

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
from sdcore.checks import number_text
from sdcore.kvstore.bloom import BloomPoint, PublishedRate
from sdcore.kvstore.lsm import (
    BLOOM_NO,
    COMPACTION_STYLES,
    DELETED,
    FALSE_POSITIVE,
    FOUND,
    NO_FILTER,
    ReadTrace,
    StoreEvent,
    StoreSnapshot,
    WorkloadResult,
)

LOG_COLOUR = PALETTE[3]  # reddish purple
MEMTABLE_COLOUR = PALETTE[4]  # sky blue
TABLE_COLOUR = PALETTE[0]  # blue
NEW_COLOUR = HIGHLIGHT  # orange: written by this operation
TOMBSTONE = "✝"
_MAX_ROWS = 12  # log records and memtable entries drawn before "… n more"
_SMALL = 13


def _text(v: str | None) -> str:
    return TOMBSTONE if v is None else v


def _box(
    x0: float,
    x1: float,
    y0: float,
    y1: float,
    fill: str,
    line: str = "white",
    width: float = 1.5,
    opacity: float = 1.0,
) -> dict:
    """A rectangle, as a shape of the layout (the figures set all their shapes at once: add_shape in a loop
    costs a validation of every shape so far each time)."""
    return {
        "type": "rect",
        "x0": x0,
        "x1": x1,
        "y0": y0,
        "y1": y1,
        "fillcolor": fill,
        "opacity": opacity,
        "line": {"color": line, "width": width},
        "layer": "below",
    }


def _note(x: float, y: float, text: str, **style: object) -> dict:
    """A text annotation on the data axes, without an arrow."""
    return {"x": x, "y": y, "text": text, "showarrow": False, **style}


def node_figure(
    snapshot: StoreSnapshot,
    memtable_limit: int,
    events: Sequence[StoreEvent] = (),
    *,
    level_names: Sequence[str] | None = None,
    validate: bool = False,
) -> go.Figure:
    """The node after one operation: the commit log and the memtable (memory) on the left, the SSTables on
    disk on the right, one band per level (size-tiered: the runs, newest first). Tables this operation
    wrote are orange, a tombstone is ✝ (red in the memtable), a crashed node's memtable is crossed out."""
    new = {t for e in events for t in e.outputs}
    shapes: list[dict] = []
    notes: list[dict] = []
    hovers: list[dict] = []
    rows = max(min(memtable_limit, _MAX_ROWS), 5)
    title_y = rows + 0.6
    # commit log: x 0..2.6
    log = snapshot.log
    notes.append(_note(1.3, title_y, "<b>Commit log</b> (disk, synced)"))
    shown = log[-(rows - 1) :] if len(log) > rows else log
    for i, r in enumerate(shown):
        y = rows - i - 0.5
        shapes.append(_box(0, 2.6, y - 0.42, y + 0.42, LOG_COLOUR, opacity=0.9))
        text = f"#{r.seq} {r.op} {r.key}" + (f" = {r.value}" if r.value else "")
        notes.append(_note(1.3, y, text, font={"size": _SMALL, "color": "white"}))
    if len(log) > len(shown):
        notes.append(
            _note(
                1.3,
                rows - len(shown) - 0.5,
                f"… and {len(log) - len(shown)} earlier",
                font={"size": _SMALL, "color": NEUTRAL},
            )
        )
    if not log:
        notes.append(
            _note(
                1.3, rows - 0.5, "empty: truncated at the last flush", font={"size": _SMALL, "color": NEUTRAL}
            )
        )
    # memtable: x 2.9..5.3, one slot per entry it can hold
    notes.append(
        _note(4.1, title_y, f"<b>Memtable</b> (memory, {len(snapshot.memtable)} of {memtable_limit})")
    )
    slots = min(memtable_limit, rows)
    for i in range(slots):
        y = rows - i - 0.5
        shapes.append(_box(2.9, 5.3, y - 0.42, y + 0.42, "#F2F2F2", line="#BBBBBB", width=1))
    for i, (k, v, _seq) in enumerate(snapshot.memtable[:slots]):
        y = rows - i - 0.5
        shapes.append(_box(2.9, 5.3, y - 0.42, y + 0.42, BAD if v is None else MEMTABLE_COLOUR, opacity=0.9))
        notes.append(_note(4.1, y, f"{k} = {_text(v)}", font={"size": _SMALL, "color": "black"}))
    if len(snapshot.memtable) > slots:
        notes.append(
            _note(
                4.1,
                rows - slots - 0.3,
                f"… {len(snapshot.memtable) - slots} more",
                font={"size": _SMALL, "color": NEUTRAL},
            )
        )
    if snapshot.down:
        for y0, y1 in ((rows, rows - slots), (rows - slots, rows)):
            shapes.append(
                {"type": "line", "x0": 2.9, "x1": 5.3, "y0": y0, "y1": y1, "line": {"color": BAD, "width": 4}}
            )
        notes.append(
            _note(
                4.1, rows - slots / 2, "<b>CRASHED</b>: memtable lost", bgcolor="white", font={"color": BAD}
            )
        )
    # SSTables: x 5.7..11.5, one band per level in use
    levels = [(i, lv) for i, lv in enumerate(snapshot.levels) if lv or i == 0]
    names = level_names or [f"L{i}" for i in range(len(snapshot.levels))]
    notes.append(_note(8.6, title_y, "<b>SSTables</b> (disk, immutable, sorted)"))
    band = rows / max(len(levels), 2)
    widest = max([sum(t.size for t in lv) for _, lv in levels] + [memtable_limit * 4, 1])
    scale = 5.6 / widest
    for row, (i, tables) in enumerate(levels):
        ytop = rows - row * band
        y0, y1 = ytop - band * 0.92, ytop - band * 0.32
        size = sum(t.size for t in tables)
        notes.append(
            _note(
                5.7,
                ytop - band * 0.16,
                f"<b>{names[i]}</b>: {len(tables)} tables, {size} entries",
                xanchor="left",
                font={"size": _SMALL},
            )
        )
        x = 5.7
        gap = 0.06 if len(tables) < 40 else 0.0
        for t in tables:
            w = max(t.size * scale - gap, 0.02)
            shapes.append(
                _box(
                    x, x + w, y0, y1, NEW_COLOUR if t.table_id in new else TABLE_COLOUR, width=1 if gap else 0
                )
            )
            if w > 0.5 and band > 1.2:
                label = f"T{t.table_id}<br>{t.size}" + (f" {t.tombstones}{TOMBSTONE}" if t.tombstones else "")
                notes.append(_note(x + w / 2, (y0 + y1) / 2, label, font={"size": _SMALL, "color": "white"}))
            hovers.append(
                {
                    "type": "scatter",
                    "x": [x + w / 2],
                    "y": [(y0 + y1) / 2],
                    "mode": "markers",
                    "marker": {"size": 12, "opacity": 0},
                    "showlegend": False,
                    "hovertemplate": (
                        f"T{t.table_id}: {t.size} entries, keys {t.min_key} … {t.max_key}<br>"
                        f"{t.tombstones} tombstones, seq {t.min_seq}–{t.max_seq}<br>"
                        f"bloom filter {t.bloom_bits} bits, {t.bloom_hashes} probes<extra></extra>"
                    ),
                }
            )
            x += w + gap
        if not tables:
            notes.append(
                _note(
                    5.8,
                    (y0 + y1) / 2,
                    "no tables yet",
                    xanchor="left",
                    font={"size": _SMALL, "color": NEUTRAL},
                )
            )
    layout = merge_layout(
        {
            "shapes": shapes,
            "annotations": notes,
            "xaxis": {"visible": False, "range": [-0.05, 11.5]},
            "yaxis": {"visible": False, "range": [-0.1, rows + 1.0]},
        },
        style_layout(70 + 34 * rows),
    )
    merge_layout(layout, {"margin": {"l": 5, "r": 5, "t": 5, "b": 5}, "showlegend": False})
    return figure_from(hovers, layout, validate=validate)


_STEP_COLOUR = {
    FOUND: GOOD,
    DELETED: BAD,
    FALSE_POSITIVE: HIGHLIGHT,
    NO_FILTER: HIGHLIGHT,
    BLOOM_NO: "#BBBBBB",
}


def read_path_figure(trace: ReadTrace, *, validate: bool = False) -> go.Figure:
    """A get's path left to right: each place it looked, coloured by what happened there. A disk read has a
    thick black outline; the green (or red, a tombstone) box is where the answer came from."""
    steps = trace.steps
    per_row = 7
    n_rows = max(1, math.ceil(len(steps) / per_row))
    shapes: list[dict] = []
    notes: list[dict] = []
    for i, s in enumerate(steps):
        r, c = divmod(i, per_row)
        y = n_rows - r - 0.5
        fill = _STEP_COLOUR.get(s.outcome, "#E6E6E6")
        shapes.append(
            _box(
                c,
                c + 0.9,
                y - 0.4,
                y + 0.4,
                fill,
                line="black" if s.disk_read else "#BBBBBB",
                width=3 if s.disk_read else 1,
            )
        )
        where = s.where if s.level < 1 or s.table_id is None else f"{s.where} (L{s.level})"
        notes.append(
            _note(c + 0.45, y, f"<b>{where}</b><br>{s.outcome.replace(': ', ':<br>')}", font={"size": 12})
        )
        if i + 1 < len(steps) and c + 1 < per_row:
            notes.append(
                {
                    "x": c + 0.98,
                    "y": y,
                    "ax": c + 0.9,
                    "ay": y,
                    "xref": "x",
                    "yref": "y",
                    "axref": "x",
                    "ayref": "y",
                    "text": "",
                    "showarrow": True,
                    "arrowhead": 2,
                    "arrowwidth": 1.5,
                    "arrowcolor": NEUTRAL,
                }
            )
    layout = merge_layout(
        {
            "shapes": shapes,
            "annotations": notes,
            "xaxis": {"visible": False, "range": [-0.05, per_row]},
            "yaxis": {"visible": False, "range": [0, n_rows]},
        },
        style_layout(95 * n_rows + 20),
    )
    merge_layout(layout, {"margin": {"l": 5, "r": 5, "t": 5, "b": 5}, "showlegend": False})
    return figure_from([], layout, validate=validate)


def bloom_figure(
    points: Sequence[BloomPoint],
    published: Sequence[PublishedRate],
    chosen: float | None = None,
    *,
    height: int = 430,
    validate: bool = False,
) -> go.Figure:
    """False-positive rate (log scale) against bits per key: the formula for each filter, the rate measured
    on keys never added, and the figures RocksDB's wiki and LevelDB's docs publish.

    Built in one pass from trace and layout dicts (``validate``: through plotly's validators, for the tests)."""
    xs = [p.bits_per_key for p in points]
    traces: list[dict] = [
        {
            "type": "scatter",
            "x": xs,
            "y": [p.expected for p in points],
            "mode": "lines",
            "name": "formula (1 − e^(−kn/m))^k",
            "line": {"color": NEUTRAL, "width": 3},
        }
    ]
    measured = [(p.bits_per_key, p.measured, p) for p in points if p.false_positives > 0]
    traces.append(
        {
            "type": "scatter",
            "x": [m[0] for m in measured],
            "y": [m[1] for m in measured],
            "mode": "markers",
            "name": "measured",
            "marker": {"color": PALETTE[0], "size": 9},
            "customdata": [[m[2].k_hashes, m[2].false_positives, m[2].queries] for m in measured],
            "hovertemplate": "%{x} bits/key, k=%{customdata[0]}: %{customdata[1]} of %{customdata[2]} "
            "absent keys said maybe (%{y:.3%})<extra></extra>",
        }
    )
    symbols = {"RocksDB wiki": "diamond", "LevelDB docs": "star"}
    for i, source in enumerate(dict.fromkeys(p.source for p in published)):
        pts = [p for p in published if p.source == source]
        traces.append(
            {
                "type": "scatter",
                "x": [p.bits_per_key for p in pts],
                "y": [p.false_positive_rate for p in pts],
                "mode": "markers",
                "name": source,
                "marker": {
                    "color": colour(5 + i * 2),
                    "size": 14,
                    "symbol": symbols.get(source, "square"),
                    "line": {"color": "white", "width": 1},
                },
                "hovertemplate": f"{source}: %{{x}} bits/key ≈ %{{y:.1%}}<extra></extra>",
            }
        )
    layout = style_layout(height)
    if chosen is not None and chosen > 0:  # what add_vline draws, without its cost
        layout["shapes"] = [
            {
                "type": "line",
                "x0": chosen,
                "x1": chosen,
                "xref": "x",
                "y0": 0,
                "y1": 1,
                "yref": "y domain",
                "line": {"color": HIGHLIGHT, "width": 2, "dash": "dash"},
            }
        ]
        layout["annotations"] = [
            {
                "text": f"{number_text(chosen)} bits/key",
                "showarrow": False,
                "x": chosen,
                "xanchor": "left",
                "xref": "x",
                "y": 1,
                "yanchor": "top",
                "yref": "y domain",
            }
        ]
    ticks = (1e-4, 1e-3, 1e-2, 0.1, 0.5)
    merge_layout(
        layout,
        {
            "yaxis": {
                "type": "log",
                "title": {"text": "false-positive rate"},
                "tickvals": list(ticks),
                "ticktext": ["0.01%", "0.1%", "1%", "10%", "50%"],
            },
            "xaxis": {"title": {"text": "bits per key"}},
        },
    )
    return figure_from(traces, layout, validate=validate)


_AMP_TITLES = ("Write amp.", "Read amp. (reads/get)", "Space amp.")
_AMP_SPACING = 0.1


def amplification_figure(
    results: Sequence[WorkloadResult], *, height: int = 400, validate: bool = False
) -> go.Figure:
    """Write, read and space amplification measured for each compaction style, side by side.

    Three panels in a row, laid out as ``make_subplots(rows=1, cols=3, horizontal_spacing=0.1,
    subplot_titles=…)`` lays them out, and built in one step (make_subplots and per-panel updates cost more
    than the drawing)."""
    width = (1.0 - _AMP_SPACING * 2) / 3
    layout: dict = {"annotations": []}
    for col in range(3):
        x0 = (width + _AMP_SPACING) * col
        domain = [x0, min(x0 + width, 1.0)]
        top = max(
            [0.1]
            + [
                [
                    r.write_amplification,
                    r.read_amplification,
                    max(r.space_amplification, r.peak_space_amplification),
                ][col]
                for r in results
            ]
        )
        axis = "" if col == 0 else str(col + 1)
        layout[f"xaxis{axis}"] = {
            "anchor": f"y{axis}",
            "domain": domain,
            "tickangle": 0,
            "tickfont": {"size": 13},
        }
        layout[f"yaxis{axis}"] = {"anchor": f"x{axis}", "domain": [0.0, 1.0], "range": [0, top * 1.25]}
        layout["annotations"].append(
            {
                "font": {"size": 14},
                "showarrow": False,
                "text": _AMP_TITLES[col],
                "x": (domain[0] + domain[1]) / 2,
                "xanchor": "center",
                "xref": "paper",
                "y": 1.0,
                "yanchor": "bottom",
                "yref": "paper",
            }
        )
    traces: list[dict] = []
    for i, r in enumerate(results):
        label = COMPACTION_STYLES[r.compaction].label
        values = (r.write_amplification, r.read_amplification, r.space_amplification)
        for col, v in enumerate(values):
            axis = "" if col == 0 else str(col + 1)
            traces.append(
                {
                    "type": "bar",
                    "x": [label],
                    "y": [v],
                    "name": label,
                    "marker": {"color": colour(i)},
                    "showlegend": col == 0,
                    "text": [f"{v:.2f}"],
                    "textposition": "inside",
                    "insidetextanchor": "end",
                    "textangle": 0,
                    "hovertemplate": f"{label}: %{{y:.3f}}<extra></extra>",
                    "xaxis": f"x{axis}",
                    "yaxis": f"y{axis}",
                }
            )
        traces.append(
            {
                "type": "scatter",
                "x": [label],
                "y": [r.peak_space_amplification],
                "mode": "markers",
                "name": "peak during a merge",
                "marker": {"symbol": "line-ew-open", "size": 40, "color": BAD, "line": {"width": 3}},
                "showlegend": i == 0,
                "hovertemplate": "peak %{y:.2f}<extra></extra>",
                "xaxis": "x3",
                "yaxis": "y3",
            }
        )
    layout = merge_layout(layout, style_layout(height))
    merge_layout(layout, {"margin": {"t": 50}, "bargap": 0.3, "showlegend": False})
    return figure_from(traces, layout, validate=validate)


def space_over_time_figure(
    results: Sequence[WorkloadResult], *, height: int = 380, validate: bool = False
) -> go.Figure:
    """Entries on disk per live key as the writes go in: the saw-tooth of merges, for each style."""
    traces = []
    for i, r in enumerate(results):
        ratio = [d / lv if lv else None for d, lv in zip(r.series_disk, r.series_live, strict=True)]
        traces.append(
            {
                "type": "scatter",
                "x": list(r.series_ops),
                "y": ratio,
                "mode": "lines",
                "name": COMPACTION_STYLES[r.compaction].label,
                "line": {"color": colour(i), "width": 2.5},
                "hovertemplate": "after %{x:,} writes: %{y:.2f}× the live data<extra></extra>",
            }
        )
    layout = style_layout(height)
    layout["shapes"] = [  # what add_hline draws, without its cost
        {
            "type": "line",
            "x0": 0,
            "x1": 1,
            "xref": "x domain",
            "y0": 1.0,
            "y1": 1.0,
            "yref": "y",
            "line": {"color": NEUTRAL, "dash": "dot"},
        }
    ]
    layout["annotations"] = [
        {
            "text": "live data only",
            "showarrow": False,
            "x": 1,
            "xanchor": "right",
            "xref": "x domain",
            "y": 1.0,
            "yanchor": "top",
            "yref": "y",
        }
    ]
    merge_layout(
        layout,
        {
            "xaxis": {"title": {"text": "writes so far"}},
            "yaxis": {"title": {"text": "on disk ÷ live keys"}, "rangemode": "tozero"},
        },
    )
    return figure_from(traces, layout, validate=validate)
