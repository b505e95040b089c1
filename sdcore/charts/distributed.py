"""Figures for the distributed rate-limiting page: the race per variant, and decisions through a fault."""

from __future__ import annotations

from collections.abc import Sequence

import plotly.graph_objects as go
from plotly.subplots import make_subplots

from sdcore.charts.style import BAD, GOOD, NEUTRAL, apply_style, colour
from sdcore.ratelimit.distributed import OUTCOMES, VARIANTS, FaultRun
from sdcore.ratelimit.race import RaceResult

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
            text=[f"{m:g}" for m in med], textposition="inside", insidetextanchor="start",
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
