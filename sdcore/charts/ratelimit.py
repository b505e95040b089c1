"""Figures for the rate-limiter page: data in (simulation results), ``go.Figure`` out.

Every time chart takes an optional ``cursor`` (seconds) drawn as a vertical line. Large traces are binned
or sampled so a figure stays a few thousand points however long the trace: counts per time bin for the
arrivals, and for the state curves a sample on a grid plus the extreme of each grid cell, so a spike
between two samples is not lost.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING

import numpy as np
import plotly.graph_objects as go

from sdcore.charts.style import (
    BAD,
    GOOD,
    NEUTRAL,
    colour,
    figure_from,
    grid_layout,
    merge_layout,
    style_layout,
)
from sdcore.checks import number_text
from sdcore.ratelimit.compare import Comparison
from sdcore.ratelimit.simulate import SimulationResult, state_curve

if TYPE_CHECKING:
    from sdcore.ratelimit.simulate import Bins
    from sdcore.ratelimit.tuning import PeakDistribution

MAX_MARKERS = 2_000  # up to this many requests per limiter, draw each one
CURVE_POINTS = 800  # grid for state curves of large traces
MAX_BARS = 400


def _results(results: SimulationResult | Sequence[SimulationResult] | Mapping[str, SimulationResult]):
    if isinstance(results, SimulationResult):
        return [results]
    if isinstance(results, Mapping):
        return list(results.values())
    return list(results)


# Every time chart is one layout and a list of traces, validated once by ``go.Figure``: adding traces to
# subplots, ``add_hline`` and ``add_vline`` one by one cost most of a cursor move (the page draws five
# charts per move). The shapes and annotations are the dicts plotly's helpers would add.
CURSOR_LINE = {"color": colour(7), "width": 2, "dash": "dash"}  # black: the other colours are data series
LIMIT_LINE = {"color": NEUTRAL, "dash": "dot"}


def _ref(i: int) -> str:
    """The axis suffix of panel ``i`` (from 1): "" for the first, then "2", "3", ..."""
    return "" if i == 1 else str(i)


def _vline(x: float, panel: int = 1, line: Mapping | None = None) -> dict:
    """What ``fig.add_vline(x=x, line=line)`` adds for one panel."""
    k = _ref(panel)
    return {"line": dict(line or CURSOR_LINE), "type": "line", "x0": x, "x1": x, "xref": f"x{k}", "y0": 0,
            "y1": 1, "yref": f"y{k} domain"}  # fmt: skip


def _hline(y, text: str, position: str = "top right") -> tuple[dict, dict]:
    """The shape and the annotation ``fig.add_hline(y=y, line=LIMIT_LINE, annotation_text=text)`` adds."""
    left = position == "top left"
    shape = {"line": dict(LIMIT_LINE), "type": "line", "x0": 0, "x1": 1, "xref": "x domain", "y0": y, "y1": y,
             "yref": "y"}  # fmt: skip
    note = {"showarrow": False, "text": text, "x": 0 if left else 1, "xanchor": "left" if left else "right",
            "xref": "x domain", "y": y, "yanchor": "bottom", "yref": "y"}  # fmt: skip
    return shape, note


def _cursor_lines(cursor: float | None, panels: int = 1) -> list[dict]:
    return [] if cursor is None else [_vline(float(cursor), i) for i in range(1, panels + 1)]


def _figure(
    traces: list[dict],
    layout: dict,
    *,
    height: int,
    title: str | None = None,
    shapes: Sequence[dict] = (),
    annotations: Sequence[dict] = (),
    x_range: Sequence[float] | None = None,
    validate: bool = False,
) -> go.Figure:
    """One figure from its traces and layout, in the house style (what ``apply_style`` sets, merged as its
    ``update_layout`` would); ``x_range`` on every time axis.

    Not validated by default: the builders write the dicts plotly's validators would produce, and checking
    them again cost most of a figure (tests/charts/test_charts_ratelimit.py requires the same JSON as the
    plotly helpers' figures, and as ``validate=True``, so a misspelt property still fails there)."""
    layout = dict(layout)
    if annotations:
        layout["annotations"] = [*layout.get("annotations", ()), *annotations]
    if shapes:
        layout["shapes"] = list(shapes)
    if x_range is not None:
        axes = [k for k in layout if k.startswith("xaxis")] or ["xaxis"]
        for k in axes:
            layout[k] = {**layout.get(k, {}), "range": [x_range[0], x_range[1]]}
    style = style_layout(height)
    if title:  # a title sits above the legend row (apply_style's)
        style["title"] = {"text": title, "y": 0.98, "yanchor": "top"}
        style["margin"]["t"] = 110
    layout = merge_layout(layout, style)
    return figure_from(traces, layout, validate=validate, empty_title=not title)


def _seconds(r: SimulationResult) -> np.ndarray:
    return r.time_us / 1e6


def _bin_edges(t: np.ndarray, bins: int) -> np.ndarray:
    lo, hi = (float(t.min()), float(t.max())) if len(t) else (0.0, 1.0)
    return np.linspace(lo, hi if hi > lo else lo + 1.0, bins + 1)


def _stacked_grid(titles: Sequence[str]) -> dict:
    """The layout of ``make_subplots(rows=len(titles), cols=1, shared_xaxes=True, subplot_titles=titles)``.
    Where the titles sit does not depend on their words, and a limiter's label names its settings: the grid
    is made (and kept by ``grid_layout``) once per number of panels, with stand-in titles put back here."""
    if not all(titles):  # make_subplots leaves out an empty title's annotation
        return grid_layout(rows=len(titles), cols=1, shared_xaxes=True, subplot_titles=tuple(titles))
    layout = grid_layout(
        rows=len(titles), cols=1, shared_xaxes=True, subplot_titles=tuple(map(str, range(len(titles))))
    )
    for note, text in zip(layout["annotations"], titles, strict=True):
        note["text"] = text
    return layout


def _binned_panels(
    panels: Sequence[tuple[str, np.ndarray, np.ndarray, np.ndarray, float]],
    *,
    cursor: float | None,
    height: int | None,
    x_range: Sequence[float] | None,
) -> go.Figure:
    """Admitted and rejected counts per time bin, one panel per ``(label, centers, admitted, rejected,
    width)``, stacked on a shared time axis; one panel's name is the figure's title (it sits above the
    legend, a subplot title would not)."""
    labels = [p[0] for p in panels]
    titles = tuple(labels) if len(labels) > 1 else None
    layout = (
        _stacked_grid(titles)
        if titles
        else grid_layout(rows=1, cols=1, shared_xaxes=True, subplot_titles=None)
    )
    traces = []
    for i, (_, centers, admitted, rejected, width) in enumerate(panels, start=1):
        k = _ref(i)
        for y, name, col in ((admitted, "admitted", GOOD), (rejected, "rejected", BAD)):
            traces.append({
                "type": "bar", "x": centers, "y": y, "width": width, "name": name,
                "marker": {"color": col, "line": {"width": 0}}, "legendgroup": name, "showlegend": i == 1,
                "hovertemplate": f"{name}: %{{y}} in [%{{x:.3f}} s ± {number_text(width / 2, 3)}]<extra></extra>",
                "xaxis": f"x{k}", "yaxis": f"y{k}",
            })  # fmt: skip
    layout.update(barmode="stack", bargap=0)
    last = f"xaxis{_ref(len(labels))}"
    layout[last] = {**layout.get(last, {}), "title": {"text": "time (s)"}}
    return _figure(
        traces,
        layout,
        height=height or 80 + 170 * len(labels) + (0 if titles else 70),
        title=None if titles else labels[0],
        shapes=_cursor_lines(cursor, len(labels)),
        x_range=x_range,
    )


def arrivals_figure(
    results: SimulationResult | Sequence[SimulationResult] | Mapping[str, SimulationResult],
    *,
    cursor: float | None = None,
    bins: int = 200,
    height: int | None = None,
    x_range: Sequence[float] | None = None,
) -> go.Figure:
    """Every limiter on one time axis: each request as a green (admitted) or red (rejected) mark, or, for
    traces over ``MAX_MARKERS`` requests, admitted and rejected counts per time bin, one panel each.
    ``x_range``: the time axis shown (default: all of it)."""
    rs = _results(results)
    if not rs:
        raise ValueError("arrivals_figure needs at least one simulation result")
    if max(len(r) for r in rs) <= MAX_MARKERS:
        traces = []
        for allowed, name, col, symbol in ((True, "admitted", GOOD, "circle"), (False, "rejected", BAD, "x")):
            xs, ys = [], []
            for r in rs:
                sel = r.allowed == allowed
                xs.append(_seconds(r)[sel])
                ys.append(np.full(int(sel.sum()), r.label, dtype=object))
            traces.append({
                "type": "scatter", "x": np.concatenate(xs), "y": np.concatenate(ys), "mode": "markers",
                "name": name, "marker": {"color": col, "symbol": symbol, "size": 9, "line": {"width": 0}},
                "hovertemplate": "%{y}<br>t = %{x:.3f} s<extra>" + name + "</extra>",
            })  # fmt: skip
        layout = {
            "yaxis": {"categoryorder": "array", "categoryarray": [r.label for r in rs][::-1]},
            "xaxis": {"title": {"text": "time (s)"}},
        }
        return _figure(
            traces, layout, height=height or 120 + 60 * len(rs), shapes=_cursor_lines(cursor), x_range=x_range
        )
    edges = _bin_edges(np.concatenate([_seconds(r) for r in rs]), bins)
    width = edges[1] - edges[0]
    centers = edges[:-1] + width / 2
    panels = []
    for r in rs:
        t = _seconds(r)
        admitted, _ = np.histogram(t[r.allowed], bins=edges)
        rejected, _ = np.histogram(t[~r.allowed], bins=edges)
        panels.append((r.label, centers, admitted, rejected, width))
    return _binned_panels(panels, cursor=cursor, height=height, x_range=x_range)


def _one_client(r: SimulationResult) -> SimulationResult:
    if len(r.clients()) > 1:
        raise ValueError(
            f"this chart shows one client; pass result.select(key) (clients: {r._some_clients()})"
        )
    return r


def _curve(r: SimulationResult, extreme: str) -> tuple[np.ndarray, np.ndarray]:
    """(times, state) to draw: for a small trace the exact curve through every request (the value just
    before and just after each one) plus a grid for the refill/drain in between; for a large one a grid
    of CURVE_POINTS with, in each cell, the extreme (``min`` or ``max``) of the values after requests."""
    t = _seconds(r)
    if len(t) == 0:
        return np.zeros(0), np.zeros(0)
    lo, hi = float(t[0]), float(t[-1])
    span = hi - lo if hi > lo else 1.0
    grid = np.linspace(lo, hi + span * 0.02, CURVE_POINTS // (4 if len(t) <= MAX_MARKERS else 1))
    if len(t) <= MAX_MARKERS:
        before = np.nextafter(t, -np.inf)
        x = np.concatenate([grid, before, t])
        y = np.concatenate([state_curve(r, grid), state_curve(r, np.maximum(before, 0.0)), r.state])
        order = np.argsort(x, kind="stable")
        return x[order], y[order]
    y = state_curve(r, grid)
    cell = np.clip(np.searchsorted(grid, t, side="right") - 1, 0, len(grid) - 1)
    reduce = np.minimum if extreme == "min" else np.maximum
    reduce.at(y, cell, r.state)
    return grid, y


def _time_axes(y_title: str) -> dict:
    return {
        "xaxis": {"title": {"text": "time (s)"}},
        "yaxis": {"title": {"text": y_title}, "rangemode": "tozero"},
    }


def token_level_figure(
    result: SimulationResult,
    *,
    cursor: float | None = None,
    height: int = 360,
    x_range: Sequence[float] | None = None,
) -> go.Figure:
    """Tokens in the bucket over time (dips at each request, linear refill in between) against the
    capacity. For a trace with several clients pass ``result.select(key)``."""
    r = _one_client(result)
    if r.algorithm != "token_bucket":
        raise ValueError(f"token_level_figure needs a token bucket result (got {r.label})")
    x, y = _curve(r, "min")
    cap = r.params["capacity_ut"] / 1e6
    traces = [{"type": "scatter", "x": x, "y": y, "mode": "lines", "name": "tokens",
               "line": {"color": colour(0), "width": 2}}]  # fmt: skip
    rej = ~r.allowed
    if 0 < rej.sum() <= MAX_MARKERS:
        traces.append({"type": "scatter", "x": _seconds(r)[rej], "y": np.zeros(int(rej.sum())), "mode": "markers",
                       "name": "rejected", "marker": {"color": BAD, "symbol": "x", "size": 8}})  # fmt: skip
    shape, note = _hline(cap, f"capacity {number_text(cap)}")
    return _figure(
        traces, _time_axes("tokens"), height=height, shapes=[shape, *_cursor_lines(cursor)],
        annotations=[note], x_range=x_range,
    )  # fmt: skip


def queue_figure(
    result: SimulationResult,
    *,
    cursor: float | None = None,
    height: int = 380,
    x_range: Sequence[float] | None = None,
) -> go.Figure:
    """Leaking bucket: requests waiting in the queue over time against the queue size, and the delay
    each admitted request waited (departure - arrival) on a second axis."""
    r = _one_client(result)
    if r.algorithm != "leaking_bucket":
        raise ValueError(f"queue_figure needs a leaking bucket result (got {r.label})")
    x, y = _curve(r, "max")
    t = _seconds(r)[r.allowed]
    delay = r.departure[r.allowed] - t
    if len(t) > MAX_MARKERS:  # the longest wait in each time bin
        edges = _bin_edges(t, CURVE_POINTS)
        cell = np.clip(np.searchsorted(edges, t, side="right") - 1, 0, CURVE_POINTS - 1)
        worst = np.full(CURVE_POINTS, np.nan)
        np.fmax.at(worst, cell, delay)
        t, delay = edges[:-1], worst
    traces = [
        {"type": "scatter", "x": x, "y": y, "mode": "lines", "line": {"color": colour(0), "shape": "hv"},
         "name": "queue length", "xaxis": "x", "yaxis": "y"},
        {"type": "scatter", "x": t, "y": delay, "mode": "markers", "name": "delay (s)",
         "marker": {"color": colour(1), "size": 5}, "xaxis": "x", "yaxis": "y2"},
    ]  # fmt: skip
    layout = grid_layout(specs=[[{"secondary_y": True}]])
    q = r.params["queue_size"]
    shape, note = _hline(q, f"queue size {q}", "top left")
    layout["xaxis"] = {**layout["xaxis"], "title": {"text": "time (s)"}}
    layout["yaxis"] = {**layout["yaxis"], "title": {"text": "waiting requests"}, "rangemode": "tozero"}
    layout["yaxis2"] = {**layout["yaxis2"], "title": {"text": "delay (s)"}, "rangemode": "tozero",
                        "showgrid": False, "tickmode": "auto"}  # fmt: skip
    return _figure(
        traces, layout, height=height, shapes=[shape, *_cursor_lines(cursor)], annotations=[note],
        x_range=x_range,
    )  # fmt: skip


def window_counts_figure(
    result: SimulationResult,
    *,
    cursor: float | None = None,
    height: int = 360,
    x_range: Sequence[float] | None = None,
) -> go.Figure:
    """Fixed window counter: admitted and rejected requests in each window against the limit (admitted
    never exceeds it; the 2x burst hides across two neighbouring windows)."""
    r = _one_client(result)
    if r.algorithm != "fixed_window":
        raise ValueError(f"window_counts_figure needs a fixed window result (got {r.label})")
    W = r.params["window_us"]
    k = r.time_us // W
    windows, inverse = np.unique(k, return_inverse=True)
    admitted = np.bincount(inverse, weights=r.allowed, minlength=len(windows))
    rejected = np.bincount(inverse, weights=~r.allowed, minlength=len(windows))
    start = windows * W / 1e6
    layout = _time_axes("requests per window")
    if len(windows) <= MAX_BARS:
        mid = start + W / 2e6
        traces = [
            {"type": "bar", "x": mid, "y": y, "width": W / 1e6 * 0.9, "name": name,
             "marker": {"color": col, "line": {"width": 0}}}
            for y, name, col in ((admitted, "admitted", GOOD), (rejected, "rejected", BAD))
        ]  # fmt: skip
        layout["barmode"] = "stack"
    else:
        traces = [
            {"type": "scatter", "x": start, "y": y, "mode": "lines", "line": {"color": col, "shape": "hv"},
             "name": name}
            for y, name, col in ((admitted, "admitted", GOOD), (rejected, "rejected", BAD))
        ]  # fmt: skip
    shape, note = _hline(r.limit, f"limit {r.limit}")
    return _figure(
        traces, layout, height=height, shapes=[shape, *_cursor_lines(cursor)], annotations=[note],
        x_range=x_range,
    )  # fmt: skip


def estimate_figure(
    result: SimulationResult,
    *,
    cursor: float | None = None,
    height: int = 360,
    x_range: Sequence[float] | None = None,
) -> go.Figure:
    """Sliding window counter: its estimate after each request against the exact number of its own
    admitted requests in ``(t - window, t]``, and the limit. Where the exact count passes the limit, the
    approximation let too many through; where it stays below while requests are rejected, too few."""
    r = _one_client(result)
    if r.algorithm != "sliding_window_counter":
        raise ValueError(f"estimate_figure needs a sliding window counter result (got {r.label})")
    t_us = r.time_us
    admitted = t_us[r.allowed]
    exact = np.cumsum(r.allowed) - np.searchsorted(admitted, t_us - r.params["window_us"], side="right")
    x, est, ex = _seconds(r), r.state, exact.astype(np.float64)
    if len(x) > MAX_MARKERS:  # the largest of each in every bin: peaks are what meet the limit
        edges = _bin_edges(x, CURVE_POINTS)
        cell = np.clip(np.searchsorted(edges, x, side="right") - 1, 0, CURVE_POINTS - 1)
        est_b, ex_b = np.full(CURVE_POINTS, np.nan), np.full(CURVE_POINTS, np.nan)
        np.fmax.at(est_b, cell, est)
        np.fmax.at(ex_b, cell, ex)
        x, est, ex = edges[:-1], est_b, ex_b
    traces = [
        {"type": "scatter", "x": x, "y": est, "mode": "lines", "name": "estimate", "connectgaps": True,
         "line": {"color": colour(0), "width": 2}},
        {"type": "scatter", "x": x, "y": ex, "mode": "lines", "name": "exact count in the window",
         "connectgaps": True, "line": {"color": colour(1), "width": 2, "dash": "dash", "shape": "hv"}},
    ]  # fmt: skip
    shape, note = _hline(r.limit, f"limit {r.limit}")
    return _figure(
        traces, _time_axes("requests in the rolling window"), height=height,
        shapes=[shape, *_cursor_lines(cursor)], annotations=[note], x_range=x_range,
    )  # fmt: skip


def _top_vline(x, text: str, line: Mapping, span: tuple[float, float] | None = None) -> tuple[dict, dict]:
    """The shape and the annotation ``fig.add_vline(x=x, line=line, annotation_text=text,
    annotation_position="top")`` adds; with the x axis' ``span``, a line near either end has its text on the
    inner side, so the text stays inside the figure ("99th percentile: 129" ran off its right edge)."""
    shape = {
        "line": dict(line),
        "type": "line",
        "x0": x,
        "x1": x,
        "xref": "x",
        "y0": 0,
        "y1": 1,
        "yref": "y domain",
    }
    anchor = "center"
    if span is not None and span[1] > span[0]:
        where = (x - span[0]) / (span[1] - span[0])
        anchor = "right" if where > 0.75 else "left" if where < 0.25 else "center"
    note = {"showarrow": False, "text": text, "x": x, "xanchor": anchor, "xref": "x", "y": 1, "yanchor": "bottom",
            "yref": "y domain"}  # fmt: skip
    return shape, note


def max_in_window_figure(
    comparison: Comparison | Mapping[str, int], limit: int | None = None, *, height: int = 360
) -> go.Figure:
    """The most requests each limiter admitted to one client in any window of the limit's length, as bars
    against the limit (red where it was exceeded). Takes a :class:`Comparison` or ``{label: count}`` with
    ``limit``. No time cursor: this is a summary over the whole trace."""
    if isinstance(comparison, Comparison):
        labels = [row.label for row in comparison.rows]
        values = [row.max_in_window for row in comparison.rows]
        limit = comparison.settings.limit
    else:
        if limit is None:
            raise ValueError("limit is needed when the counts are given as a mapping")
        labels, values = list(comparison), list(comparison.values())
    bars = {"type": "bar", "x": values, "y": labels, "orientation": "h",
            "marker": {"color": [BAD if v > limit else GOOD for v in values]}, "text": [str(v) for v in values],
            "textposition": "outside", "showlegend": False}  # fmt: skip
    # Above the plot: inside it, the label would sit on the first bar's count.
    span = (0.0, max([limit, *values]) * 1.15)
    shape, note = _top_vline(limit, f"limit {limit}", {"color": NEUTRAL, "dash": "dot"}, span)
    layout = {
        "yaxis": {"autorange": "reversed"},
        "xaxis": {"title": {"text": "most admitted in any window"}, "range": list(span)},
    }
    return _figure([bars], layout, height=height, shapes=[shape], annotations=[note])


def binned_arrivals_figure(
    bins: Mapping[str, Bins],
    *,
    cursor: float | None = None,
    height: int | None = None,
    x_range: Sequence[float] | None = None,
) -> go.Figure:
    """Admitted and rejected requests per time bin (:func:`~sdcore.ratelimit.simulate.bin_counts`), one
    panel per limiter (``{label: Bins}``), for slices with more requests than a browser draws one by one."""
    if not bins:
        raise ValueError("binned_arrivals_figure needs at least one limiter's bins")
    panels = [(label, b.centers, b.admitted, b.rejected, b.width) for label, b in bins.items()]
    return _binned_panels(panels, cursor=cursor, height=height, x_range=x_range)


def peak_distribution_figure(
    peaks: PeakDistribution, *, percentile: float | None = None, height: int = 360
) -> go.Figure:
    """How many clients have each peak (the most requests in any window of W), as bars (binned past
    ``MAX_BARS`` distinct peaks), with the peak at ``percentile`` (0 to 100) as a dotted line."""
    values, counts = peaks.histogram()
    if len(values) > MAX_BARS:
        edges = np.linspace(float(values.min()), float(values.max()) + 1, MAX_BARS + 1)
        counts, _ = np.histogram(values, bins=edges, weights=counts)
        values, width = (edges[:-1] + edges[1:]) / 2, float(edges[1] - edges[0])
    else:
        width = max(0.8, (float(values.max()) - float(values.min()) + 1) / 60) if len(values) else 0.8
    bars = {"type": "bar", "x": values, "y": counts, "width": width,
            "marker": {"color": colour(0), "line": {"width": 0}}, "showlegend": False,
            "hovertemplate": "peak %{x:,.0f}: %{y:,} clients<extra></extra>"}  # fmt: skip
    shapes, notes = [], []
    top = float(values.max()) + width if len(values) else 1.0
    span = (0.0, top * 1.08)
    if percentile is not None and len(peaks):
        at = peaks.percentile(percentile)
        shape, note = _top_vline(
            at,
            f"{number_text(percentile)}th percentile: {at:,}",
            {"color": NEUTRAL, "dash": "dot", "width": 2},
            span,
        )
        shapes, notes = [shape], [note]
    layout = {
        "xaxis": {
            "title": {"text": f"peak requests in any {number_text(peaks.window)} s window"},
            "range": list(span),
        },
        "yaxis": {
            "title": {"text": "clients"},
            "type": "log" if len(counts) and max(counts) > 50 else "linear",
        },
    }
    return _figure([bars], layout, height=height, shapes=shapes, annotations=notes)
