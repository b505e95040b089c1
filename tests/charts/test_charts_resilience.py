"""The resilience figures built from plain dicts: every line on its subplot, the house style, one build per view."""

from __future__ import annotations

import json

import plotly.io as pio
import pytest

from sdcore.charts import resilience as charts
from sdcore.charts.resilience import ROWS, state_machine_figure, timeline_figure
from sdcore.charts.style import FONT_SIZE, PALETTE
from sdcore.resilience import ConsecutiveFailures, FailureRateWindow, SimulationConfig, compare, script
from ui.cache import figure

CMP = compare(SimulationConfig(duration=40.0, request_rate=40.0, timeline=script("outage", start=10, length=20),
                               breaker=ConsecutiveFailures(fail_max=3, reset_timeout=4.0)))  # fmt: skip


def test_the_cursor_and_reference_lines_sit_on_their_own_subplots():
    fig = timeline_figure(CMP, cursor=12)
    cols = len(CMP.runs)
    cursor = [s for s in fig.layout.shapes if s.x0 == 12 and s.x1 == 12]
    refs = {(s.xref, s.yref) for s in cursor}
    expected = set()
    for row in range(1, len(ROWS) + 1):
        for col in range(1, cols + 1):
            k = (row - 1) * cols + col
            suffix = "" if k == 1 else str(k)
            expected.add((f"x{suffix}", f"y{suffix} domain"))
    assert refs == expected
    pool_lines = [s for s in fig.layout.shapes if s.xref.endswith("domain") and s.yref == f"y{4 * cols + 1}"]
    assert [s.y0 for s in pool_lines] == [CMP.config.pool_size]
    for trace in fig.data:  # every trace on an axis pair of the grid
        assert trace.xaxis[1:] == trace.yaxis[1:]


def test_the_house_style_is_applied():
    for fig in (timeline_figure(CMP), state_machine_figure(CMP["fallback"], 10)):
        assert fig.layout.font.size == FONT_SIZE
        assert tuple(fig.layout.colorway) == PALETTE


def test_a_view_is_drawn_once_per_result():
    a = figure(timeline_figure, CMP, 12)
    assert figure(timeline_figure, CMP, 12) is a
    assert figure(timeline_figure, CMP, 14) is not a
    r = CMP["fallback"]
    assert figure(state_machine_figure, r, 12) is figure(state_machine_figure, r, 12)


RATE = compare(SimulationConfig(duration=40.0, request_rate=60.0, timeline=script("slow", start=5, length=25),
                                breaker=FailureRateWindow(size=10, minimum_calls=5, wait_in_open=3.0)))  # fmt: skip


def _json(fig) -> dict:
    return json.loads(pio.to_json(fig, validate=False))


@pytest.mark.parametrize("cmp", [CMP, RATE], ids=["consecutive", "rate"])
def test_the_unvalidated_figures_are_what_plotly_validates(cmp, monkeypatch):
    # the figures skip plotly's validation: built with it, every property checked, the JSON must be the same
    builds = [
        lambda: timeline_figure(cmp),
        lambda: timeline_figure(cmp, 12),
        lambda: timeline_figure(cmp, 0, height=700),
        lambda: state_machine_figure(cmp["fallback"]),
        lambda: state_machine_figure(cmp["fallback"], 12),
        lambda: state_machine_figure(cmp["breaker"], 0),
    ]
    fast = [_json(build()) for build in builds]
    plain = charts._figure
    monkeypatch.setattr(charts, "_figure", lambda *a, **k: plain(*a, validate=True, **k))
    assert [_json(build()) for build in builds] == fast
    assert "title" not in fast[0]["layout"]  # as plotly drops the house style's empty title
