"""The one-pass figure helpers make exactly what plotly's add_vline / add_vrect / add_hline would."""

import plotly.graph_objects as go
import pytest

from sdcore.charts import kv_health as charts


def _layout(fig: go.Figure) -> dict:
    return fig.to_plotly_json()["layout"]


@pytest.mark.parametrize("position", ["top left", "top right"])
@pytest.mark.parametrize("x", [0, 4.5, 13.772588722239782])
def test_vline_and_its_note_match_add_vline(x, position):
    line = {"color": "#7F7F7F", "dash": "dash"}
    fig = go.Figure().add_vline(x=x, line=line, annotation_text="note", annotation_position=position,
                                annotation_font_size=12)  # fmt: skip
    ours = go.Figure({"layout": {"shapes": [charts._vline(x, line)],
                                 "annotations": [charts._vline_note(x, "note", position, font={"size": 12})]}})  # fmt: skip
    assert _layout(ours)["shapes"] == _layout(fig)["shapes"]
    assert _layout(ours)["annotations"] == _layout(fig)["annotations"]


def test_vrect_matches_add_vrect():
    fig = go.Figure().add_vrect(x0=30.5, x1=34.1, fillcolor="#CC79A7", opacity=0.18, line_width=0)
    ours = go.Figure({"layout": {"shapes": [charts._vrect(30.5, 34.1, "#CC79A7", 0.18)]}})
    assert _layout(ours)["shapes"] == _layout(fig)["shapes"]


def test_circle_positions_are_networkx_circular_layout_and_read_only():
    import networkx as nx
    import numpy as np

    for n in (4, 16, 48):
        pos = nx.circular_layout(nx.complete_graph(n))
        assert np.array_equal(charts._circle(n), np.array([pos[i] for i in range(n)]))
        assert not charts._circle(n).flags.writeable
