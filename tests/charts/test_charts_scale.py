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
