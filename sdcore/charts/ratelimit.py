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
from plotly.subplots import make_subplots

from sdcore.charts.style import BAD, GOOD, NEUTRAL, apply_style, colour
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


def _cursor(fig: go.Figure, cursor: float | None) -> go.Figure:
    if cursor is not None:
        # Black: the palette's other colours are data series on these charts.
        fig.add_vline(x=float(cursor), line={"color": colour(7), "width": 2, "dash": "dash"})
    return fig


def _seconds(r: SimulationResult) -> np.ndarray:
    return r.time_us / 1e6


def _bin_edges(t: np.ndarray, bins: int) -> np.ndarray:
    lo, hi = (float(t.min()), float(t.max())) if len(t) else (0.0, 1.0)
    return np.linspace(lo, hi if hi > lo else lo + 1.0, bins + 1)


def arrivals_figure(
    results: SimulationResult | Sequence[SimulationResult] | Mapping[str, SimulationResult],
    *,
    cursor: float | None = None,
    bins: int = 200,
    height: int | None = None,
) -> go.Figure:
    """Every limiter on one time axis: each request as a green (admitted) or red (rejected) mark, or, for
    traces over ``MAX_MARKERS`` requests, admitted and rejected counts per time bin, one panel each."""
    rs = _results(results)
    if not rs:
        raise ValueError("arrivals_figure needs at least one simulation result")
    if max(len(r) for r in rs) <= MAX_MARKERS:
        fig = go.Figure()
        for allowed, name, col, symbol in ((True, "admitted", GOOD, "circle"), (False, "rejected", BAD, "x")):
            xs, ys = [], []
            for r in rs:
                sel = r.allowed == allowed
                xs.append(_seconds(r)[sel])
                ys.append(np.full(int(sel.sum()), r.label, dtype=object))
            fig.add_trace(
                go.Scatter(
                    x=np.concatenate(xs),
                    y=np.concatenate(ys),
                    mode="markers",
                    name=name,
                    marker={"color": col, "symbol": symbol, "size": 9, "line": {"width": 0}},
                    hovertemplate="%{y}<br>t = %{x:.3f} s<extra>" + name + "</extra>",
                )
            )
        fig.update_yaxes(categoryorder="array", categoryarray=[r.label for r in rs][::-1])
        fig.update_xaxes(title_text="time (s)")
        apply_style(fig, height=height or 120 + 60 * len(rs))
        return _cursor(fig, cursor)

    edges = _bin_edges(np.concatenate([_seconds(r) for r in rs]), bins)
    width = edges[1] - edges[0]
    # One panel: its name as the figure's title, which sits above the legend (a subplot title would not).
    titles = [r.label for r in rs] if len(rs) > 1 else None
    fig = make_subplots(rows=len(rs), cols=1, shared_xaxes=True, subplot_titles=titles)
    for i, r in enumerate(rs, start=1):
        t = _seconds(r)
        for allowed, name, col in ((True, "admitted", GOOD), (False, "rejected", BAD)):
            counts, _ = np.histogram(t[r.allowed == allowed], bins=edges)
            fig.add_trace(
                go.Bar(
                    x=edges[:-1] + width / 2,
                    y=counts,
                    width=width,
                    name=name,
                    marker={"color": col, "line": {"width": 0}},
                    legendgroup=name,
                    showlegend=i == 1,
                    hovertemplate=f"{name}: %{{y}} in [%{{x:.3f}} s ± {width / 2:.3g}]<extra></extra>",
                ),
                row=i,
                col=1,
            )
    fig.update_layout(barmode="stack", bargap=0)
    fig.update_xaxes(title_text="time (s)", row=len(rs), col=1)
    apply_style(
        fig,
        height=height or 80 + 170 * len(rs) + (0 if titles else 70),
        title=None if titles else rs[0].label,
    )
    return _cursor(fig, cursor)


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


def token_level_figure(
    result: SimulationResult, *, cursor: float | None = None, height: int = 360
) -> go.Figure:
    """Tokens in the bucket over time (dips at each request, linear refill in between) against the
    capacity. For a trace with several clients pass ``result.select(key)``."""
    r = _one_client(result)
    if r.algorithm != "token_bucket":
        raise ValueError(f"token_level_figure needs a token bucket result (got {r.label})")
    x, y = _curve(r, "min")
    cap = r.params["capacity_ut"] / 1e6
    fig = go.Figure(go.Scatter(x=x, y=y, mode="lines", name="tokens", line={"color": colour(0), "width": 2}))
    fig.add_hline(y=cap, line={"color": NEUTRAL, "dash": "dot"}, annotation_text=f"capacity {cap:g}")
    rej = ~r.allowed
    if 0 < rej.sum() <= MAX_MARKERS:
        fig.add_trace(
            go.Scatter(
                x=_seconds(r)[rej],
                y=np.zeros(int(rej.sum())),
                mode="markers",
                name="rejected",
                marker={"color": BAD, "symbol": "x", "size": 8},
            )
        )
    fig.update_xaxes(title_text="time (s)")
    fig.update_yaxes(title_text="tokens", rangemode="tozero")
    return _cursor(apply_style(fig, height=height), cursor)


def queue_figure(result: SimulationResult, *, cursor: float | None = None, height: int = 380) -> go.Figure:
    """Leaking bucket: requests waiting in the queue over time against the queue size, and the delay
    each admitted request waited (departure - arrival) on a second axis."""
    r = _one_client(result)
    if r.algorithm != "leaking_bucket":
        raise ValueError(f"queue_figure needs a leaking bucket result (got {r.label})")
    x, y = _curve(r, "max")
    fig = make_subplots(specs=[[{"secondary_y": True}]])
    fig.add_trace(
        go.Scatter(x=x, y=y, mode="lines", line_shape="hv", name="queue length", line={"color": colour(0)}),
        secondary_y=False,
    )
    t = _seconds(r)[r.allowed]
    delay = r.departure[r.allowed] - t
    if len(t) > MAX_MARKERS:  # the longest wait in each time bin
        edges = _bin_edges(t, CURVE_POINTS)
        cell = np.clip(np.searchsorted(edges, t, side="right") - 1, 0, CURVE_POINTS - 1)
        worst = np.full(CURVE_POINTS, np.nan)
        np.fmax.at(worst, cell, delay)
        t, delay = edges[:-1], worst
    fig.add_trace(
        go.Scatter(x=t, y=delay, mode="markers", name="delay (s)", marker={"color": colour(1), "size": 5}),
        secondary_y=True,
    )
    q = r.params["queue_size"]
    fig.add_hline(
        y=q,
        line={"color": NEUTRAL, "dash": "dot"},
        annotation_text=f"queue size {q}",
        annotation_position="top left",
    )
    fig.update_xaxes(title_text="time (s)")
    fig.update_yaxes(title_text="waiting requests", rangemode="tozero", secondary_y=False)
    fig.update_yaxes(
        title_text="delay (s)", rangemode="tozero", showgrid=False, tickmode="auto", secondary_y=True
    )
    return _cursor(apply_style(fig, height=height), cursor)


def window_counts_figure(
    result: SimulationResult, *, cursor: float | None = None, height: int = 360
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
    fig = go.Figure()
    if len(windows) <= MAX_BARS:
        mid = start + W / 2e6
        for y, name, col in ((admitted, "admitted", GOOD), (rejected, "rejected", BAD)):
            fig.add_trace(
                go.Bar(
                    x=mid, y=y, width=W / 1e6 * 0.9, name=name, marker={"color": col, "line": {"width": 0}}
                )
            )
        fig.update_layout(barmode="stack")
    else:
        fig.add_trace(
            go.Scatter(
                x=start, y=admitted, mode="lines", line_shape="hv", name="admitted", line={"color": GOOD}
            )
        )
        fig.add_trace(
            go.Scatter(
                x=start, y=rejected, mode="lines", line_shape="hv", name="rejected", line={"color": BAD}
            )
        )
    fig.add_hline(y=r.limit, line={"color": NEUTRAL, "dash": "dot"}, annotation_text=f"limit {r.limit}")
    fig.update_xaxes(title_text="time (s)")
    fig.update_yaxes(title_text="requests per window", rangemode="tozero")
    return _cursor(apply_style(fig, height=height), cursor)


def estimate_figure(result: SimulationResult, *, cursor: float | None = None, height: int = 360) -> go.Figure:
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
    fig = go.Figure()
    fig.add_trace(
        go.Scatter(
            x=x, y=est, mode="lines", name="estimate", connectgaps=True, line={"color": colour(0), "width": 2}
        )
    )
    fig.add_trace(
        go.Scatter(
            x=x,
            y=ex,
            mode="lines",
            line_shape="hv",
            name="exact count in the window",
            connectgaps=True,
            line={"color": colour(1), "width": 2, "dash": "dash"},
        )
    )
    fig.add_hline(y=r.limit, line={"color": NEUTRAL, "dash": "dot"}, annotation_text=f"limit {r.limit}")
    fig.update_xaxes(title_text="time (s)")
    fig.update_yaxes(title_text="requests in the rolling window", rangemode="tozero")
    return _cursor(apply_style(fig, height=height), cursor)


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
    fig = go.Figure(
        go.Bar(
            x=values,
            y=labels,
            orientation="h",
            marker={"color": [BAD if v > limit else GOOD for v in values]},
            text=[str(v) for v in values],
            textposition="outside",
            showlegend=False,
        )
    )
    # Above the plot: inside it, the label would sit on the first bar's count.
    fig.add_vline(
        x=limit,
        line={"color": NEUTRAL, "dash": "dot"},
        annotation_text=f"limit {limit}",
        annotation_position="top",
    )
    fig.update_yaxes(autorange="reversed")
    fig.update_xaxes(title_text="most admitted in any window", range=[0, max([limit, *values]) * 1.15])
    return apply_style(fig, height=height)


def binned_arrivals_figure(
    bins: Mapping[str, Bins], *, cursor: float | None = None, height: int | None = None
) -> go.Figure:
    """Admitted and rejected requests per time bin (:func:`~sdcore.ratelimit.simulate.bin_counts`), one
    panel per limiter (``{label: Bins}``), for slices with more requests than a browser draws one by one."""
    if not bins:
        raise ValueError("binned_arrivals_figure needs at least one limiter's bins")
    labels = list(bins)
    titles = labels if len(labels) > 1 else None
    fig = make_subplots(rows=len(labels), cols=1, shared_xaxes=True, subplot_titles=titles)
    for i, label in enumerate(labels, start=1):
        b = bins[label]
        for y, name, col in ((b.admitted, "admitted", GOOD), (b.rejected, "rejected", BAD)):
            fig.add_trace(
                go.Bar(
                    x=b.centers,
                    y=y,
                    width=b.width,
                    name=name,
                    marker={"color": col, "line": {"width": 0}},
                    legendgroup=name,
                    showlegend=i == 1,
                    hovertemplate=f"{name}: %{{y}} in [%{{x:.3f}} s ± {b.width / 2:.3g}]<extra></extra>",
                ),
                row=i,
                col=1,
            )
    fig.update_layout(barmode="stack", bargap=0)
    fig.update_xaxes(title_text="time (s)", row=len(labels), col=1)
    apply_style(
        fig,
        height=height or 80 + 170 * len(labels) + (0 if titles else 70),
        title=None if titles else labels[0],
    )
    return _cursor(fig, cursor)


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
    fig = go.Figure(
        go.Bar(
            x=values,
            y=counts,
            width=width,
            marker={"color": colour(0), "line": {"width": 0}},
            showlegend=False,
            hovertemplate="peak %{x:,.0f}: %{y:,} clients<extra></extra>",
        )
    )
    if percentile is not None and len(peaks):
        at = peaks.percentile(percentile)
        fig.add_vline(
            x=at,
            line={"color": NEUTRAL, "dash": "dot", "width": 2},
            annotation_text=f"{percentile:g}th percentile: {at:,}",
            annotation_position="top",
        )
    top = float(values.max()) + width if len(values) else 1.0
    fig.update_xaxes(title_text=f"peak requests in any {peaks.window:g} s window", range=[0, top * 1.08])
    fig.update_yaxes(title_text="clients", type="log" if len(counts) and max(counts) > 50 else "linear")
    return apply_style(fig, height=height)
