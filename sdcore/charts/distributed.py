"""Figures for the distributed rate-limiting page: the race per variant, decisions through a fault, the
admitted rate per client for each way to keep the counters, and a burst sent to the example API."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING

import numpy as np
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from sdcore.charts.style import BAD, GOOD, NEUTRAL, apply_style, colour, grid_layout
from sdcore.checks import number_text
from sdcore.ratelimit.distributed import OUTCOMES, VARIANTS, FaultRun, RaceResult
from sdcore.ratelimit.sync import SYNC_OPTIONS, SyncResult

if TYPE_CHECKING:
    from sdcore.ratelimit.live.burst import BurstRow  # a result type, for typing only (httpx stays unloaded)

OUTCOME_STYLE = {  # colour, marker symbol
    "admitted": (GOOD, "circle"),
    "rejected": (BAD, "x"),
    "degraded: admitted": (colour(1), "diamond"),  # orange
    "degraded: rejected": (colour(3), "square"),  # reddish purple
}


def race_figure(results: Sequence[RaceResult]) -> go.Figure:
    """Admitted requests per variant (median bar, min-max whisker over the runs) against the limit."""
    if not results:
        raise ValueError("race_figure needs at least one race result")
    limit = results[0].limit
    x = [VARIANTS[r.variant].short if r.variant in VARIANTS else r.variant for r in results]
    med = [r.limit + r.overshoot.median for r in results]
    lo = [r.limit + r.overshoot.min for r in results]
    hi = [r.limit + r.overshoot.max for r in results]
    colours = [BAD if r.overshoot.max > 0 else GOOD for r in results]
    fig = go.Figure(
        go.Bar(
            x=x, y=med, marker_color=colours, name="admitted (median over runs)",
            error_y={"type": "data", "symmetric": False, "array": [h - m for h, m in zip(hi, med, strict=True)],
                     "arrayminus": [m - low for m, low in zip(med, lo, strict=True)], "thickness": 2, "width": 8,
                     "color": colour(7)},
            text=[f"{number_text(m)}" for m in med], textposition="inside", insidetextanchor="start",
            textfont={"color": "white"},
            customdata=[[low, h, r.label, len(r.runs)] for low, h, r in zip(lo, hi, results, strict=True)],
            hovertemplate="%{customdata[2]}<br>admitted: median %{y}, min %{customdata[0]}, max %{customdata[1]}"
                          " over %{customdata[3]} runs<extra></extra>",
        )
    )  # fmt: skip
    fig.add_hline(y=limit, line={"color": NEUTRAL, "width": 3, "dash": "dash"})
    fig.add_annotation(x=1, xref="paper", xanchor="left", y=limit, text=f" limit {limit}", showarrow=False,
                       font={"color": NEUTRAL})  # fmt: skip
    fig.update_layout(yaxis_title="requests admitted", yaxis_rangemode="tozero", showlegend=False)
    fig = apply_style(fig, height=440)
    fig.update_layout(margin={"t": 50, "r": 90})
    return fig


def fault_figure(runs: Sequence[FaultRun]) -> go.Figure:
    """One panel per policy: every decision's wall-clock latency (log scale) by its index, coloured by
    outcome, with the fault window shaded."""
    if not runs:
        raise ValueError("fault_figure needs at least one fault run")
    titles = [
        f"{r.label}: the proxy {r.fault_description} for decisions {r.fault_start}–{r.fault_end - 1}"
        for r in runs
    ]
    fig = make_subplots(
        rows=len(runs), cols=1, shared_xaxes=True, vertical_spacing=0.14, subplot_titles=titles
    )
    shown: set[str] = set()
    for row, run in enumerate(runs, start=1):
        for outcome in OUTCOMES:
            ds = [d for d in run.decisions if d.outcome == outcome]
            col, symbol = OUTCOME_STYLE[outcome]
            fig.add_trace(
                go.Scatter(
                    x=[d.index for d in ds], y=[max(d.latency_ms, 0.01) for d in ds], mode="markers",
                    name=outcome, legendgroup=outcome, showlegend=outcome not in shown,
                    marker={"color": col, "symbol": symbol, "size": 10, "line": {"width": 0}},
                    customdata=[[d.now, d.error or "Redis answered"] for d in ds],
                    hovertemplate="decision %{x} (t = %{customdata[0]:.1f} s): %{y:.2f} ms<br>%{customdata[1]}"
                                  "<extra>" + outcome + "</extra>",
                ),
                row=row, col=1,
            )  # fmt: skip
            if ds:
                shown.add(outcome)
        fig.add_vrect(x0=run.fault_start - 0.5, x1=run.fault_end - 0.5, fillcolor=NEUTRAL, opacity=0.15,
                      line_width=0, row=row, col=1)  # fmt: skip
        fig.update_yaxes(type="log", dtick=1, title_text="latency (ms)", row=row, col=1)
    fig.update_xaxes(title_text="decision number", row=len(runs), col=1)
    fig = apply_style(fig, height=280 * len(runs) + 140)
    fig.update_layout(margin={"t": 90}, legend={"y": 1.0, "yref": "container", "yanchor": "top"})
    return fig


def sync_figure(results: Mapping[str, SyncResult]) -> go.Figure:
    """One panel per option, side by side: each client's admitted requests per second, window by window,
    against the limit (dashed) and, where counters are spread over M instances, M x the limit (dotted).

    Built as one layout and a list of traces, validated once (adding traces to subplots one by one cost
    most of a rerun of the page)."""
    if not results:
        raise ValueError("sync_figure needs at least one option's result")
    titles = tuple(f"Synced every {number_text(r.config.sync_every)} s" if o == "synced" else SYNC_OPTIONS[o].label
                   for o, r in results.items())  # fmt: skip
    layout = grid_layout(
        rows=1, cols=len(results), shared_yaxes=True, horizontal_spacing=0.025, subplot_titles=titles
    )
    top = max(r.worst_case / r.config.window for r in results.values())
    traces: list[dict] = []
    for col, r in enumerate(results.values(), start=1):
        c = r.config
        k = "" if col == 1 else str(col)
        x = np.append(r.window_starts, c.duration)
        for i, name in enumerate(r.clients):
            y = r.admitted[i] / c.window
            traces.append({
                "type": "scatter", "x": x, "y": np.append(y, y[-1]), "mode": "lines",
                "line": {"shape": "hv", "width": 2, "color": colour(i)}, "name": name, "legendgroup": name,
                "showlegend": col == 1, "xaxis": f"x{k}", "yaxis": f"y{k}",
                "hovertemplate": f"{name}: %{{y:.1f}} admitted/s from t = %{{x:g}} s<extra></extra>",
            })  # fmt: skip
        refs = [(r.intended_rate, "dash", "limit")]
        if r.worst_case > c.limit:
            refs.append((r.worst_case / c.window, "dot", "M × limit"))
        for y, dash, name in refs:
            traces.append({
                "type": "scatter", "x": [0, c.duration], "y": [y, y], "mode": "lines",
                "line": {"color": NEUTRAL, "width": 3, "dash": dash}, "name": name, "legendgroup": name,
                "showlegend": name not in {t["name"] for t in traces}, "xaxis": f"x{k}", "yaxis": f"y{k}",
                "hovertemplate": f"{name}: {number_text(y)}/s<extra></extra>",
            })  # fmt: skip
        layout[f"xaxis{k}"] = {**layout.get(f"xaxis{k}", {}), "title": {"text": "time (s)"}}
    layout["yaxis"] = {
        **layout.get("yaxis", {}),
        "title": {"text": "admitted per second"},
        "range": [0, top * 1.08],
    }
    layout["annotations"] = [
        {**a, "font": {**a.get("font", {}), "size": 15}} for a in layout.get("annotations", ())
    ]
    fig = apply_style(go.Figure({"data": traces, "layout": layout}), height=420)
    fig.update_layout(margin={"t": 80}, legend={"y": 1.0, "yref": "container", "yanchor": "top"})
    return fig


BURST_STYLE = {  # colour, marker symbol
    200: (GOOD, "circle"),
    429: (BAD, "x"),
    403: (colour(3), "square"),
    503: (colour(1), "diamond"),
}


def burst_figure(rows: Sequence[BurstRow]) -> go.Figure:
    """The burst as a timeline: X-Ratelimit-Remaining request by request (a grey line), with one marker per
    request coloured by its status (a request nothing answered: an open grey circle at zero)."""
    if not rows:
        raise ValueError("burst_figure needs at least one request")
    fig = go.Figure(
        go.Scatter(x=[r.number for r in rows], y=[_remaining(r) for r in rows], mode="lines", name="remaining",
                   line={"color": NEUTRAL, "width": 2}, showlegend=False, hoverinfo="skip")
    )  # fmt: skip
    labels = len(rows) <= 20
    for status in dict.fromkeys(r.status for r in rows):
        rs = [r for r in rows if r.status == status]
        name = str(status) if status is not None else "no answer"
        col, symbol = BURST_STYLE.get(status, (NEUTRAL, "circle-open"))
        fig.add_trace(
            go.Scatter(
                x=[r.number for r in rs], y=[_remaining(r) for r in rs], name=name,
                mode="markers+text" if labels else "markers", text=[name] * len(rs), textposition="top center",
                marker={"color": col, "symbol": symbol, "size": 16, "line": {"width": 2, "color": col}},
                customdata=[[r.retry_after or "–", round(r.at_ms, 1)] for r in rs],
                hovertemplate="request %{x} at %{customdata[1]} ms: " + name
                              + "<br>remaining %{y}, Retry-After %{customdata[0]}<extra></extra>",
            )
        )  # fmt: skip
    top = max(_remaining(r) for r in rows)
    fig.update_layout(xaxis_title="request number", yaxis_title="X-Ratelimit-Remaining",
                      xaxis={"dtick": 1 if len(rows) <= 30 else 5})  # fmt: skip
    fig = apply_style(fig, height=340)
    fig.update_yaxes(range=[-0.8, top * 1.15 + 1])
    return fig


def _remaining(r: BurstRow) -> float:
    try:
        return float(r.remaining) if r.remaining is not None else 0.0
    except ValueError:
        return 0.0
