"""The scale figures: lines set as shapes in one go, the moment's utilization as pairs, one build per view."""

from __future__ import annotations

import json
import random

import numpy as np
import plotly.graph_objects as go
import plotly.io as pio
import pytest

from sdcore.charts.scale import (
    UTIL_CLIP,
    _event_lines,
    _vline,
    architecture_figure,
    drill_figure,
    drill_utilization_figure,
    ladder_figure,
    ladder_steps_figure,
)
from sdcore.charts.style import BAD, GOOD, NEUTRAL, PALETTE, apply_style
from sdcore.scale.architecture import PRACTICE_ORDER, PRACTICES, TIERS, ScaleConfig, analysis, analyze, ladder
from sdcore.scale.drills import DRILLS, DrillConfig, run_drill
from ui.cache import figure

CONFIG = ScaleConfig(users=200_000, practices=frozenset({"redundancy", "caching", "automation"}))
AN = analysis(CONFIG)
DRILL = run_drill(AN.architecture, DrillConfig())


def _json(fig) -> dict:
    return json.loads(pio.to_json(fig, validate=False))


def test_an_analysis_is_analyze_and_ladder():
    assert AN.architecture == analyze(CONFIG)
    assert AN.steps == ladder(CONFIG)
    full = ScaleConfig(users=200_000, practices=frozenset({"redundancy", "caching"}))
    a = analysis(full)
    assert a.architecture is a.steps[2]  # a config on its own ladder is that step


def test_the_moment_as_pairs_draws_what_a_mapping_draws():
    now = {n: float(u[100]) for n, u in DRILL.after.utilization.items()}
    a = architecture_figure(AN.architecture, utilization=now, height=430)
    b = architecture_figure(AN.architecture, utilization=tuple(now.items()), height=430)
    assert _json(a) == _json(b)


def test_cursor_lines_cross_every_subplot():
    fig = drill_figure(DRILL, cursor=120)
    at = [(s.xref, s.yref) for s in fig.layout.shapes if s.x0 == 2.0]
    assert set(at) >= {("x", "y domain"), ("x2", "y2 domain")}
    fig = drill_utilization_figure(DRILL, cursor=120)
    assert [s.x0 for s in fig.layout.shapes if s.yref == "y domain"] == [2.0]


def test_the_ladder_of_an_analysis_is_its_steps_figure():
    assert _json(ladder_steps_figure(AN)) == _json(ladder_figure(AN.steps))
    assert figure(ladder_steps_figure, AN) is figure(ladder_steps_figure, AN)


# -- the dict-built figures draw exactly what the plotly-API builders drew ------------------------------------
# The old builders, kept here as the reference: make_subplots + add_trace(row, col), add_trace in a loop.


def _old_ladder_figure(steps, height=430):
    from plotly.subplots import make_subplots

    names = ["Nothing yet"] + [f"+ {PRACTICES[p].label}" for p in PRACTICE_ORDER[: len(steps) - 1]]
    panels = (
        ("failed %", [100 * s.error_rate for s in steps]),
        ("p99 ms", [1000 * s.latency_p99 if s.latency_p99 else 0.0 for s in steps]),
        ("down min/yr", [s.downtime_per_year / 60 for s in steps]),
        ("$ / month", [s.monthly_cost for s in steps]),
    )
    fig = make_subplots(
        rows=1, cols=4, subplot_titles=[p[0] for p in panels], shared_yaxes=True, horizontal_spacing=0.03
    )
    for col, (title, values) in enumerate(panels, start=1):
        fig.add_trace(
            go.Bar(
                y=names,
                x=values,
                orientation="h",
                marker_color=[BAD if (col == 1 and v > 1) else PALETTE[col - 1] for v in values],
                hovertext=[f"{n}: {v:,.1f} {title}" for n, v in zip(names, values, strict=True)],
                hoverinfo="text",
                showlegend=False,
            ),
            row=1,
            col=col,
        )
    apply_style(fig, height=height)
    fig.update_layout(margin={"l": 20, "r": 20, "t": 50, "b": 40})
    fig.update_annotations(font_size=14)
    fig.update_yaxes(autorange="reversed", tickfont={"size": 13})
    fig.update_xaxes(tickfont={"size": 12}, nticks=3, tickformat="~s", tickangle=0)
    return fig


def _old_drill_figure(result, cursor=None, height=520):
    from plotly.subplots import make_subplots

    a, b = result.after, result.before
    minutes = a.times / 60
    fig = make_subplots(rows=2, cols=1, shared_xaxes=True, row_heights=[0.65, 0.35], vertical_spacing=0.06)
    fig.add_trace(go.Scatter(x=minutes, y=b.goodput, name="served, nothing broken",
                             line={"color": NEUTRAL, "dash": "dash", "width": 2}), row=1, col=1)  # fmt: skip
    fig.add_trace(
        go.Scatter(x=minutes, y=a.goodput, name="served", line={"color": GOOD, "width": 3}), row=1, col=1
    )
    fig.add_trace(go.Scatter(x=minutes, y=a.errors, name="failed", fill="tozeroy",
                             line={"color": BAD, "width": 2}), row=1, col=1)  # fmt: skip
    fig.add_trace(go.Scatter(x=minutes, y=1000 * a.latency, name="latency", line={"color": PALETTE[0]},
                             showlegend=False), row=2, col=1)  # fmt: skip
    shapes, notes = _event_lines(result, 2)
    if cursor is not None:
        shapes += [_vline(cursor / 60, {"color": PALETTE[7], "width": 2}, row) for row in (1, 2)]
    apply_style(fig, height=height)
    fig.update_layout(shapes=shapes, annotations=notes)
    fig.update_yaxes(title="requests/s", rangemode="tozero", row=1, col=1)
    fig.update_yaxes(title="latency (ms)", rangemode="tozero", row=2, col=1)
    fig.update_xaxes(title="minutes", row=2, col=1)
    return fig


def _old_drill_utilization_figure(result, cursor=None, height=380):
    a = result.after
    minutes = a.times / 60
    fig = go.Figure()
    for i, (name, u) in enumerate(a.utilization.items()):
        y = np.minimum(np.nan_to_num(u, posinf=UTIL_CLIP), UTIL_CLIP)
        fig.add_trace(
            go.Scatter(x=minutes, y=y, name=TIERS[name].label, line={"color": PALETTE[i % len(PALETTE)]})
        )
    shapes = [{"type": "line", "line": {"color": BAD}, "x0": 0, "x1": 1, "xref": "x domain", "y0": 1.0, "y1": 1.0,
               "yref": "y"}]  # fmt: skip
    notes = [{"showarrow": False, "text": "100%", "x": 0, "xanchor": "left", "xref": "x domain", "y": 1.0,
              "yanchor": "bottom", "yref": "y"}]  # fmt: skip
    if cursor is not None:
        shapes.append(_vline(cursor / 60, {"color": PALETTE[7], "width": 2}))
    apply_style(fig, height=height)
    fig.update_layout(margin={"t": 80}, shapes=shapes, annotations=notes)
    fig.update_yaxes(title="utilization", tickformat=".0%", range=[0, UTIL_CLIP * 1.02])
    fig.update_xaxes(title="minutes")
    return fig


def _cases():
    from lessons import scale as L

    out = []
    for p in L.PRESETS:
        v = {**{q.name: q.default for q in L.PARAMS}, **p.values}
        out.append((L.config_from(v), L.drill_from(v)))
    rng = random.Random(3)
    while len(out) < len(L.PRESETS) + 4:
        practices = frozenset(x for x in PRACTICE_ORDER if rng.random() < 0.5)
        c = ScaleConfig(users=rng.choice(L.USER_STEPS[:12]), requests_per_user=float(rng.randint(1, 200)),
                        read_write_ratio=float(rng.randint(1, 100)), practices=practices,
                        peak_factor=rng.choice([1.0, 3.0, 6.0]), data_centers=rng.randint(2, 4), seed=rng.randint(0, 5))  # fmt: skip
        out.append((c, DrillConfig(drill=rng.choice(list(DRILLS)), duration=600)))
    return out


@pytest.mark.parametrize("case", range(8))
def test_dict_built_figures_equal_the_plotly_api_builders(case):
    config, drill_config = _cases()[case]
    an = analysis(config)
    drill = run_drill(an.architecture, drill_config)
    assert _json(ladder_figure(an.steps)) == _json(_old_ladder_figure(an.steps))
    for cursor in (None, 0, 250):
        assert _json(drill_figure(drill, cursor=cursor)) == _json(_old_drill_figure(drill, cursor=cursor))
        assert _json(drill_utilization_figure(drill, cursor=cursor)) == _json(
            _old_drill_utilization_figure(drill, cursor=cursor)
        )


# The architecture and utilization figures as first written with plotly's API (trace objects, update_*), kept
# as the reference for their dict-built versions.
import math  # noqa: E402

import networkx as nx  # noqa: E402

from sdcore.charts.scale import (  # noqa: E402
    HIGHLIGHT,
    ROW,
    UTILIZATION_SCALE,
    _label,
    _rate,
    architecture_graph,
    utilization_figure,
)


def _old_architecture_figure(arch, utilization=None, height=470):
    """Requests flow left to right; each tier is coloured by its utilization (``utilization`` overrides, for a
    moment of a drill: a mapping or (tier, utilization) pairs, hashable for a figure cache) and the bottleneck
    is ringed. Edge width grows with the request rate."""
    g = architecture_graph(arch)
    pos = nx.multipartite_layout(g, subset_key="layer", align="vertical")
    pos = {n: (float(p[0]), ROW.get(n, float(p[1]))) for n, p in pos.items()}  # keep each tier in its lane
    util = {t.name: t.utilization for t in arch.tiers}
    if utilization:
        util.update(utilization)
    bottleneck = arch.bottleneck.name
    top = max((r for _, _, r in arch.edges), default=1.0)
    edges, labels = [], []  # one trace per edge (its own width), the labels set once (add_annotation is slow)
    for a, b, data in g.edges(data=True):
        (x0, y0), (x1, y1) = pos[a], pos[b]
        width = 1.5 + 6 * math.log1p(data["rate"]) / math.log1p(top)
        dashed = (a, b) in (("users", "dns"), ("db_primary", "db_replica"))
        edges.append(
            go.Scatter(
                x=[x0, x1],
                y=[y0, y1],
                mode="lines",
                hoverinfo="text",
                line={"width": width, "color": "#B0B0B0", "dash": "dot" if dashed else "solid"},
                text=f"{_label(a)} → {_label(b)}: {_rate(data['rate'])}",
                showlegend=False,
            )
        )
        labels.append({
            "x": (x0 + x1) / 2, "y": (y0 + y1) / 2, "text": _rate(data["rate"]), "showarrow": False,
            "font": {"size": 12, "color": "#555555"}, "bgcolor": "rgba(255,255,255,0.8)",
        })  # fmt: skip
    fig = go.Figure(data=edges)
    by_name = {t.name: t for t in arch.tiers}
    names = list(g.nodes)
    xs, ys = [pos[n][0] for n in names], [pos[n][1] for n in names]
    colours, texts, hovers, lines = [], [], [], []
    for n in names:
        if n in by_name:
            t = by_name[n]
            u = util.get(n, t.utilization)
            colours.append(min(u, 1.2) if math.isfinite(u) else 1.2)
            shown = "down" if not math.isfinite(u) else f"{100 * u:,.0f}%"
            texts.append(f"<b>{t.label}</b><br>×{t.instances:,} · {shown}")
            hovers.append(
                f"{t.label}: {t.instances:,} instances, {_rate(t.arrival_rate)} of "
                f"{_rate(t.capacity)} capacity ({shown})<br>{t.role}"
            )
        else:
            colours.append(None)
            texts.append(f"<b>{_label(n)}</b>")
            hovers.append(TIERS[n].description if n in TIERS else "Daily active users at their peak hour")
        lines.append(6 if n == bottleneck else 1)
    managed = [i for i, n in enumerate(names) if n not in by_name]
    queued = [i for i, n in enumerate(names) if n in by_name]
    fig.add_trace(
        go.Scatter(
            x=[xs[i] for i in managed],
            y=[ys[i] for i in managed],
            mode="markers+text",
            name="managed service",
            marker={"size": 34, "color": NEUTRAL, "symbol": "square", "line": {"width": 1, "color": "#333"}},
            text=[texts[i] for i in managed],
            textposition="bottom center",
            hovertext=[hovers[i] for i in managed],
            hoverinfo="text",
            showlegend=False,
        )
    )
    fig.add_trace(
        go.Scatter(
            x=[xs[i] for i in queued],
            y=[ys[i] for i in queued],
            mode="markers+text",
            name="tiers",
            marker={
                "size": 44,
                "color": [colours[i] for i in queued],
                "cmin": 0,
                "cmax": 1.2,
                "colorscale": [[v / 1.2, c] for v, c in UTILIZATION_SCALE] + [[1.0, BAD]],
                "line": {"width": [lines[i] for i in queued], "color": "#000000"},
                "colorbar": {"title": {"text": "utilization"}, "tickformat": ".0%", "len": 0.8},
            },
            text=[texts[i] for i in queued],
            textposition="bottom center",
            hovertext=[hovers[i] for i in queued],
            hoverinfo="text",
            showlegend=False,
        )
    )
    fig.update_traces(textfont_color="#222222", selector={"mode": "markers+text"})
    bx, by = pos[bottleneck]
    labels.append({
        "x": bx, "y": by, "text": "bottleneck", "showarrow": True, "arrowhead": 2, "ax": 0, "ay": -48,
        "font": {"size": 15, "color": "#000000"}, "bgcolor": HIGHLIGHT,
    })  # fmt: skip
    apply_style(fig, height=height)
    fig.update_layout(margin={"l": 20, "r": 20, "t": 30, "b": 20}, hovermode="closest", annotations=labels)
    fig.update_xaxes(visible=False, range=[min(xs) - 0.1, max(xs) + 0.22])
    fig.update_yaxes(visible=False, range=[min(ys) - 0.75, max(ys) + 0.55])
    return fig


def _old_utilization_figure(arch, height=380):
    """One bar per tier: offered load / capacity at peak, against the target and the 100% line."""
    tiers = list(arch.tiers)
    u = [t.utilization for t in tiers]
    colours = [
        BAD if x >= 1 else (HIGHLIGHT if t.name == arch.bottleneck.name else PALETTE[0])
        for t, x in zip(tiers, u, strict=True)
    ]
    fig = go.Figure(
        go.Bar(
            y=[t.label for t in tiers],
            x=[min(x, UTIL_CLIP) for x in u],
            orientation="h",
            marker_color=colours,
            text=[f"{100 * x:,.0f}%" for x in u],
            textposition="outside",
            cliponaxis=False,
            hovertext=[f"{t.label}: {t.arrival_rate:,.1f} of {t.capacity:,.1f} requests/s" for t in tiers],
            hoverinfo="text",
            showlegend=False,
        )
    )
    target = arch.config.target_utilization
    shapes = [_vline(target, {"color": NEUTRAL, "dash": "dot"}), _vline(1.0, {"color": BAD})]
    notes = [
        {"showarrow": False, "text": "target", "x": target, "xanchor": "center", "xref": "x", "y": 1,
         "yanchor": "bottom", "yref": "y domain"},
        {"showarrow": False, "text": "100%", "x": 1.0, "xanchor": "left", "xref": "x", "y": 1, "yanchor": "top",
         "yref": "y domain"},
    ]  # fmt: skip
    apply_style(fig, height=height)
    fig.update_layout(margin={"l": 160, "r": 60, "t": 40, "b": 50}, shapes=shapes, annotations=notes)
    fig.update_xaxes(
        title="utilization at peak (load ÷ capacity)",
        tickformat=".0%",
        range=[0, max(1.15, min(max(u), UTIL_CLIP) * 1.15)],
    )
    fig.update_yaxes(autorange="reversed")
    return fig


@pytest.mark.parametrize("case", range(8))
def test_the_architecture_and_utilization_figures_equal_their_plotly_api_builders(case):
    config, drill_config = _cases()[case]
    arch = analysis(config).architecture
    drill = run_drill(arch, drill_config)
    assert _json(architecture_figure(arch)) == _json(_old_architecture_figure(arch))
    assert _json(utilization_figure(arch)) == _json(_old_utilization_figure(arch))
    for t in (0, 121, 300, 599):
        now = tuple((n, float(u[t])) for n, u in drill.after.utilization.items())
        assert _json(architecture_figure(arch, utilization=now, height=430)) == _json(
            _old_architecture_figure(arch, utilization=now, height=430)
        )


@pytest.mark.parametrize("case", range(8))
def test_figures_built_without_validation_are_what_the_validators_make(case, monkeypatch):
    """The builders skip plotly's validators; built with them, every figure is the same JSON (a misspelt or
    ill-typed property would differ or raise here)."""
    from sdcore.charts import scale as charts

    config, drill_config = _cases()[case]
    an = analysis(config)
    drill = run_drill(an.architecture, drill_config)
    now = tuple((n, float(u[130])) for n, u in drill.after.utilization.items())
    builds = [
        lambda: charts.architecture_figure(an.architecture),
        lambda: charts.architecture_figure(an.architecture, utilization=now, height=430),
        lambda: charts.utilization_figure(an.architecture),
        lambda: charts.ladder_steps_figure(an),
        lambda: charts.drill_figure(drill, cursor=130),
        lambda: charts.drill_figure(drill),
        lambda: charts.drill_utilization_figure(drill, cursor=130),
    ]
    fast = [_json(build()) for build in builds]
    plain = charts.figure_from
    monkeypatch.setattr(charts, "figure_from", lambda traces, layout: plain(traces, layout, validate=True))
    assert [_json(build()) for build in builds] == fast
