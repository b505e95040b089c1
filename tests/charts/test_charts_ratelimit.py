"""The rate limiter's time charts, built as one layout and a list of traces, equal the figures the plotly
helpers drew before (``add_trace`` to subplots, ``add_hline``, ``add_vline``, ``update_xaxes``): the
reference builders below are those, kept as they were. Compared as the JSON a browser receives, on every
preset's traffic at several cursors and zooms, and on small seeded traces that reach the other branches
(markers, bars past MAX_BARS windows, no rejection).
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence

import numpy as np
import plotly.graph_objects as go
import plotly.io as pio
import pytest
from plotly.subplots import make_subplots

from lessons import rate_limiter as rl
from sdcore.charts import ratelimit as charts
from sdcore.charts.ratelimit import CURVE_POINTS, MAX_BARS, MAX_MARKERS, _results
from sdcore.charts.style import BAD, GOOD, NEUTRAL, apply_style, colour
from sdcore.checks import number_text
from sdcore.ratelimit import compare_limiters
from sdcore.ratelimit.simulate import Bins, SimulationResult, state_curve

# --- the reference: the builders as they were ---------------------------------------------------------


def inner_side(x: float, right_end: float) -> str:
    """A line's text near an end of the axis (0 .. right_end) goes on the inner side, to stay in the figure."""
    return "right" if x > 0.75 * right_end else "left" if x < 0.25 * right_end else "center"


def old_cursor(fig: go.Figure, cursor: float | None) -> go.Figure:
    if cursor is not None:
        # Black: the palette's other colours are data series on these charts.
        fig.add_vline(x=float(cursor), line={"color": colour(7), "width": 2, "dash": "dash"})
    return fig


def old_seconds(r: SimulationResult) -> np.ndarray:
    return r.time_us / 1e6


def old_bin_edges(t: np.ndarray, bins: int) -> np.ndarray:
    lo, hi = (float(t.min()), float(t.max())) if len(t) else (0.0, 1.0)
    return np.linspace(lo, hi if hi > lo else lo + 1.0, bins + 1)


def old_arrivals_figure(
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
                xs.append(old_seconds(r)[sel])
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
        return old_cursor(fig, cursor)

    edges = old_bin_edges(np.concatenate([old_seconds(r) for r in rs]), bins)
    width = edges[1] - edges[0]
    # One panel: its name as the figure's title, which sits above the legend (a subplot title would not).
    titles = [r.label for r in rs] if len(rs) > 1 else None
    fig = make_subplots(rows=len(rs), cols=1, shared_xaxes=True, subplot_titles=titles)
    for i, r in enumerate(rs, start=1):
        t = old_seconds(r)
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
    return old_cursor(fig, cursor)


def old_one_client(r: SimulationResult) -> SimulationResult:
    if len(r.clients()) > 1:
        raise ValueError(
            f"this chart shows one client; pass result.select(key) (clients: {r._some_clients()})"
        )
    return r


def old_curve(r: SimulationResult, extreme: str) -> tuple[np.ndarray, np.ndarray]:
    """(times, state) to draw: for a small trace the exact curve through every request (the value just
    before and just after each one) plus a grid for the refill/drain in between; for a large one a grid
    of CURVE_POINTS with, in each cell, the extreme (``min`` or ``max``) of the values after requests."""
    t = old_seconds(r)
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


def old_token_level_figure(
    result: SimulationResult, *, cursor: float | None = None, height: int = 360
) -> go.Figure:
    """Tokens in the bucket over time (dips at each request, linear refill in between) against the
    capacity. For a trace with several clients pass ``result.select(key)``."""
    r = old_one_client(result)
    if r.algorithm != "token_bucket":
        raise ValueError(f"token_level_figure needs a token bucket result (got {r.label})")
    x, y = old_curve(r, "min")
    cap = r.params["capacity_ut"] / 1e6
    fig = go.Figure(go.Scatter(x=x, y=y, mode="lines", name="tokens", line={"color": colour(0), "width": 2}))
    fig.add_hline(
        y=cap, line={"color": NEUTRAL, "dash": "dot"}, annotation_text=f"capacity {number_text(cap)}"
    )
    rej = ~r.allowed
    if 0 < rej.sum() <= MAX_MARKERS:
        fig.add_trace(
            go.Scatter(
                x=old_seconds(r)[rej],
                y=np.zeros(int(rej.sum())),
                mode="markers",
                name="rejected",
                marker={"color": BAD, "symbol": "x", "size": 8},
            )
        )
    fig.update_xaxes(title_text="time (s)")
    fig.update_yaxes(title_text="tokens", rangemode="tozero")
    return old_cursor(apply_style(fig, height=height), cursor)


def old_queue_figure(
    result: SimulationResult, *, cursor: float | None = None, height: int = 380
) -> go.Figure:
    """Leaking bucket: requests waiting in the queue over time against the queue size, and the delay
    each admitted request waited (departure - arrival) on a second axis."""
    r = old_one_client(result)
    if r.algorithm != "leaking_bucket":
        raise ValueError(f"queue_figure needs a leaking bucket result (got {r.label})")
    x, y = old_curve(r, "max")
    fig = make_subplots(specs=[[{"secondary_y": True}]])
    fig.add_trace(
        go.Scatter(x=x, y=y, mode="lines", line_shape="hv", name="queue length", line={"color": colour(0)}),
        secondary_y=False,
    )
    t = old_seconds(r)[r.allowed]
    delay = r.departure[r.allowed] - t
    if len(t) > MAX_MARKERS:  # the longest wait in each time bin
        edges = old_bin_edges(t, CURVE_POINTS)
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
    return old_cursor(apply_style(fig, height=height), cursor)


def old_window_counts_figure(
    result: SimulationResult, *, cursor: float | None = None, height: int = 360
) -> go.Figure:
    """Fixed window counter: admitted and rejected requests in each window against the limit (admitted
    never exceeds it; the 2x burst hides across two neighbouring windows)."""
    r = old_one_client(result)
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
    return old_cursor(apply_style(fig, height=height), cursor)


def old_estimate_figure(
    result: SimulationResult, *, cursor: float | None = None, height: int = 360
) -> go.Figure:
    """Sliding window counter: its estimate after each request against the exact number of its own
    admitted requests in ``(t - window, t]``, and the limit. Where the exact count passes the limit, the
    approximation let too many through; where it stays below while requests are rejected, too few."""
    r = old_one_client(result)
    if r.algorithm != "sliding_window_counter":
        raise ValueError(f"estimate_figure needs a sliding window counter result (got {r.label})")
    t_us = r.time_us
    admitted = t_us[r.allowed]
    exact = np.cumsum(r.allowed) - np.searchsorted(admitted, t_us - r.params["window_us"], side="right")
    x, est, ex = old_seconds(r), r.state, exact.astype(np.float64)
    if len(x) > MAX_MARKERS:  # the largest of each in every bin: peaks are what meet the limit
        edges = old_bin_edges(x, CURVE_POINTS)
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
    return old_cursor(apply_style(fig, height=height), cursor)


def old_binned_arrivals_figure(
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
    return old_cursor(fig, cursor)


def old_max_in_window_figure(comparison, limit=None, *, height: int = 360) -> go.Figure:
    if isinstance(comparison, Mapping):
        labels, values = list(comparison), list(comparison.values())
    else:
        labels = [row.label for row in comparison.rows]
        values = [row.max_in_window for row in comparison.rows]
        limit = comparison.settings.limit
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
    fig.add_vline(
        x=limit,
        line={"color": NEUTRAL, "dash": "dot"},
        annotation_text=f"limit {limit}",
        annotation_position="top",
        annotation_xanchor=inner_side(limit, max([limit, *values]) * 1.15),
    )
    fig.update_yaxes(autorange="reversed")
    fig.update_xaxes(title_text="most admitted in any window", range=[0, max([limit, *values]) * 1.15])
    return apply_style(fig, height=height)


def old_peak_distribution_figure(peaks, *, percentile=None, height: int = 360) -> go.Figure:
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
            annotation_text=f"{number_text(percentile)}th percentile: {at:,}",
            annotation_position="top",
            annotation_xanchor=inner_side(at, (float(values.max()) + width) * 1.08),
        )
    top = float(values.max()) + width if len(values) else 1.0
    fig.update_xaxes(
        title_text=f"peak requests in any {number_text(peaks.window)} s window", range=[0, top * 1.08]
    )
    fig.update_yaxes(title_text="clients", type="log" if len(counts) and max(counts) > 50 else "linear")
    return apply_style(fig, height=height)


# --- the comparison -----------------------------------------------------------------------------------

DETAIL = {
    "token_bucket": ("token_level_figure", old_token_level_figure),
    "leaking_bucket": ("queue_figure", old_queue_figure),
    "fixed_window": ("window_counts_figure", old_window_counts_figure),
    "sliding_window_counter": ("estimate_figure", old_estimate_figure),
}


def spec(fig: go.Figure) -> dict:
    return json.loads(pio.to_json(fig, validate=False))


def preset_run(preset: str):
    v = {p.name: p.default for p in rl.PARAMS} | dict(rl.PRESETS[preset].values)
    settings = rl.settings_from(v)
    trace = rl.traffic_from(v).build()
    return v, settings, trace, compare_limiters(trace.timestamps, trace.keys, settings)


@pytest.mark.parametrize("preset", list(rl.PRESETS))
def test_every_preset_draws_the_same_figures_at_every_cursor(preset):
    v, settings, trace, comparison = preset_run(preset)
    shown, W = rl.shown_algorithms(v["algorithm"]), settings.window
    lo, hi = rl.time_range(trace)
    key = rl.clients_by_volume(trace)[0] if trace.keys is not None else None
    views = {n: r.select(key) if key else r for n, r in comparison.results.items()}
    for zoom in (0, 5, 20):
        for t in (lo, (lo + hi) / 2, hi, rl.default_cursor(comparison, shown, key)):
            a, b = rl.view_range(t, lo, hi, zoom * W)
            for names in (shown, shown[:1], shown[:2]):
                slices = rl.arrival_slices(comparison, names, a, b)
                if bins := rl.arrival_bins(slices, a, b):
                    want = old_binned_arrivals_figure(bins, cursor=t).update_xaxes(range=[a, b])
                    assert spec(charts.binned_arrivals_figure(bins, cursor=t, x_range=(a, b))) == spec(want)
                want = old_arrivals_figure(slices, cursor=t).update_xaxes(range=[a, b])
                assert spec(charts.arrivals_figure(slices, cursor=t, x_range=(a, b))) == spec(want)
            for name, (new, old) in DETAIL.items():
                part, rg = rl.time_slice(views[name], a - 2 * W, b), rl.chart_range(name, a, b, W)
                want = old(part, cursor=t).update_xaxes(range=rg)
                assert spec(getattr(charts, new)(part, cursor=t, x_range=rg)) == spec(want), (name, zoom, t)
    for name, (new, old) in DETAIL.items():
        assert spec(getattr(charts, new)(views[name])) == spec(old(views[name]))
    pair = list(comparison.results.values())[:2]
    assert spec(charts.arrivals_figure(pair, height=420)) == spec(old_arrivals_figure(pair, height=420))


@pytest.mark.parametrize("seed", range(4))
def test_small_and_long_seeded_traces_draw_the_same_figures(seed):
    """Markers (few requests), bars and lines past MAX_BARS windows, with and without rejections."""
    rng = np.random.default_rng(seed)
    for n, duration, limit in ((40, 5.0, 3), (1_500, 30.0, 1_000), (3_000, 900.0, 4)):
        ts = np.sort(rng.uniform(0, duration, n))
        settings = rl.limiter_settings(limit, 1.0, limit, float(limit), limit, float(limit))
        comparison = compare_limiters(ts, None, settings)
        rs = list(comparison.results.values())
        for cursor in (None, float(ts[n // 2])):
            assert spec(charts.arrivals_figure(rs, cursor=cursor)) == spec(
                old_arrivals_figure(rs, cursor=cursor)
            )
            assert spec(charts.arrivals_figure(rs[:1], cursor=cursor, bins=50)) == spec(
                old_arrivals_figure(rs[:1], cursor=cursor, bins=50)
            )
            for name, (new, old) in DETAIL.items():
                r = comparison.results[name]
                assert spec(getattr(charts, new)(r, cursor=cursor, height=300)) == spec(
                    old(r, cursor=cursor, height=300)
                )


def test_the_builders_still_refuse_what_they_cannot_draw():
    with pytest.raises(ValueError, match="at least one simulation result"):
        charts.arrivals_figure([])
    with pytest.raises(ValueError, match="at least one limiter's bins"):
        charts.binned_arrivals_figure({})
    _, _, _, comparison = preset_run(rl.DEFAULT_PRESET)
    with pytest.raises(ValueError, match="needs a token bucket result"):
        charts.token_level_figure(comparison.results["fixed_window"])


@pytest.mark.parametrize("preset", list(rl.PRESETS))
def test_the_summary_figures_are_the_plotly_helpers_figures(preset):
    """The bars against the limit and the peak distribution, without validation, equal the figures the plotly
    helpers draw (``go.Bar``, ``add_vline``, ``update_xaxes``), at every preset and percentile."""
    from sdcore.ratelimit import client_peaks

    v, settings, trace, comparison = preset_run(preset)
    assert spec(charts.max_in_window_figure(comparison)) == spec(old_max_in_window_figure(comparison))
    counts = {"a": 3, "b": 12}
    assert spec(charts.max_in_window_figure(counts, 10, height=300)) == spec(
        old_max_in_window_figure(counts, 10, height=300)
    )
    peaks = client_peaks(trace.timestamps, trace.keys, settings.window)
    for percentile in (None, 50.0, 99.0):
        assert spec(charts.peak_distribution_figure(peaks, percentile=percentile)) == spec(
            old_peak_distribution_figure(peaks, percentile=percentile)
        )


def test_many_distinct_peaks_and_no_peak_draw_the_same_figures():
    from sdcore.ratelimit import client_peaks

    sizes = np.arange(1, 601)  # client c sends c requests at once: 600 distinct peaks, past MAX_BARS
    t = np.repeat(np.arange(600) * 2.0, sizes)
    many = client_peaks(t, np.repeat(sizes, sizes), 1.0)
    assert len(many.histogram()[0]) > MAX_BARS
    none = client_peaks(np.zeros(0), None, 1.0)
    for peaks in (many, none):
        for percentile in (None, 90.0):
            assert spec(charts.peak_distribution_figure(peaks, percentile=percentile)) == spec(
                old_peak_distribution_figure(peaks, percentile=percentile)
            )


def test_unvalidated_figures_are_the_validated_ones(monkeypatch):
    """The builders skip plotly's validators; built with them (``_figure(validate=True)``), every figure is the
    same JSON: a misspelt or ill-typed property would differ or raise here."""
    from sdcore.ratelimit import client_peaks

    v, settings, trace, comparison = preset_run(rl.DEFAULT_PRESET)
    lo, hi = rl.time_range(trace)
    t = (lo + hi) / 2
    a, b = rl.view_range(t, lo, hi, 20 * settings.window)
    shown = rl.shown_algorithms(v["algorithm"])
    slices = rl.arrival_slices(comparison, shown, a, b)
    bins = rl.arrival_bins(slices, a, b)
    small = compare_limiters(np.sort(np.random.default_rng(0).uniform(0, 5, 40)), None, settings)
    peaks = client_peaks(trace.timestamps, trace.keys, settings.window)
    builds = [
        lambda: charts.arrivals_figure(slices, cursor=t, x_range=(a, b)),
        lambda: charts.arrivals_figure(list(small.results.values()), cursor=1.0),
        lambda: charts.max_in_window_figure(comparison),
        lambda: charts.peak_distribution_figure(peaks, percentile=90.0),
        *(
            lambda name=name, new=new: getattr(charts, new)(
                rl.time_slice(comparison.results[name], a - 2, b), cursor=t, x_range=(a, b)
            )
            for name, (new, _) in DETAIL.items()
        ),
    ]
    if bins:
        builds.append(lambda: charts.binned_arrivals_figure(bins, cursor=t, x_range=(a, b)))
    fast = [spec(build()) for build in builds]
    plain = charts._figure
    monkeypatch.setattr(charts, "_figure", lambda *args, **kw: plain(*args, **kw, validate=True))
    assert [spec(build()) for build in builds] == fast


@pytest.mark.parametrize(
    "titles", [("a", "b"), ("Token bucket (cap 7, 3/s)", "x", "Fixed window (100 per 1 s)"), ("", "b", "c")]
)
def test_a_stacked_grid_is_make_subplots_whatever_the_titles(titles):
    """The grid is kept once per number of panels (stand-in titles); with the real titles put back it is the
    layout make_subplots gives for those titles (an empty title, which make_subplots leaves out, included)."""
    want = make_subplots(rows=len(titles), cols=1, shared_xaxes=True, subplot_titles=titles).layout
    got = charts._stacked_grid(titles)
    assert got == {k: v for k, v in want.to_plotly_json().items() if k != "template"}
    assert charts._stacked_grid(titles) is not got  # a fresh dict each time: the builders fill it in


def test_a_line_near_the_right_end_has_its_text_to_its_left():
    """The abusive-client preset's '99th percentile: 129' ran off the figure's right edge."""
    fig = charts.max_in_window_figure({"a": 10, "b": 12}, limit=12)
    (note,) = fig.layout.annotations
    assert note.text == "limit 12" and note.xanchor == "right"
    fig = charts.max_in_window_figure({"a": 50, "b": 60}, limit=30)
    assert fig.layout.annotations[0].xanchor == "center"
