"""The scale figures: lines set as shapes in one go, the moment's utilization as pairs, one build per view."""

from __future__ import annotations

import json

import plotly.io as pio

from sdcore.charts.scale import (
    architecture_figure,
    drill_figure,
    drill_utilization_figure,
    ladder_figure,
    ladder_steps_figure,
)
from sdcore.scale.architecture import ScaleConfig, analysis, analyze, ladder
from sdcore.scale.drills import DrillConfig, run_drill
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
