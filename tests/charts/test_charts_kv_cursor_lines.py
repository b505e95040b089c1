"""The quorum and cluster figures set their cursor and target lines as plain shape dicts (plotly's add_hline and
add_vline cost several ms a call): they must be exactly the shapes and annotations those calls make."""

from __future__ import annotations

import plotly.graph_objects as go
import pytest

from lessons.kv_cluster import PRESETS
from sdcore.charts.kv_cluster import sequence_figure
from sdcore.charts.kvstore import consistency_curve_figure
from sdcore.charts.style import HIGHLIGHT, NEUTRAL
from sdcore.kvstore import simulate_staleness
from sdcore.kvstore.scenario import ClusterSettings, run_scenario


def _layout_items(fig: go.Figure, name: str) -> list[dict]:
    return fig.to_plotly_json()["layout"].get(name, [])


@pytest.mark.parametrize("target", [None, 0.999])
@pytest.mark.parametrize("cursor", [None, 0.0, 12.5])
def test_curve_lines_are_what_add_hline_and_add_vline_make(target, cursor):
    result = simulate_staleness(3, 1, 1, "linkedin-ssd", [0.0, 1.0, 5.0, 20.0], 2_000, 3)
    fig = consistency_curve_figure([result], highlight_t_ms=cursor, target_probability=target)
    ref = go.Figure()
    if target is not None:
        ref.add_hline(
            y=100.0 * target,
            line={"color": NEUTRAL, "dash": "dot"},
            annotation_text=f"{target:.1%} target",
            annotation_position="bottom right",
        )
    if cursor is not None:
        ref.add_vline(x=cursor, line={"color": NEUTRAL, "dash": "dash"})
    assert _layout_items(fig, "shapes") == _layout_items(ref, "shapes")
    assert _layout_items(fig, "annotations") == _layout_items(ref, "annotations")
    assert len(fig.data) == 1 + (cursor is not None)


@pytest.mark.parametrize("preset", list(PRESETS))
def test_sequence_cursor_line_is_what_add_hline_makes(preset):
    run = run_scenario(PRESETS[preset].timeline, ClusterSettings())
    full, at_cursor = sequence_figure(run), sequence_figure(run, 3)
    extra = _layout_items(at_cursor, "shapes")[-1]
    ref = go.Figure()
    ref.add_hline(y=extra["y0"], line={"color": HIGHLIGHT, "width": 2, "dash": "dot"})
    assert extra == _layout_items(ref, "shapes")[0]
    lanes = len(run.nodes) + 1
    assert _layout_items(full, "shapes")[:lanes] == _layout_items(at_cursor, "shapes")[:lanes]
    assert _layout_items(at_cursor, "annotations")[-1]["text"].startswith("event 4 · ")
