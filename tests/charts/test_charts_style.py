"""The shared chart style: every figure starts from plotly_white, set once for the process, not per figure."""

from __future__ import annotations

import plotly.graph_objects as go
import plotly.io as pio

from sdcore.charts.style import FONT_SIZE, PALETTE, apply_style


def test_styled_figure_uses_plotly_white_and_the_shared_layout():
    fig = apply_style(go.Figure(go.Scatter(x=[1, 2], y=[3, 4])), title="t", height=300)
    spec = fig.to_plotly_json()["layout"]
    assert spec["template"] == pio.templates["plotly_white"].to_plotly_json()
    assert spec["font"]["size"] == FONT_SIZE and spec["height"] == 300
    assert tuple(spec["colorway"]) == PALETTE
    assert spec["title"]["text"] == "t"


def test_subplots_and_bare_figures_get_the_same_template():
    from plotly.subplots import make_subplots

    white = pio.templates["plotly_white"].to_plotly_json()
    assert make_subplots(rows=2, cols=1).to_plotly_json()["layout"]["template"] == white
    assert go.Figure().to_plotly_json()["layout"]["template"] == white


def test_figures_serialise_with_orjson_to_the_same_json():
    """orjson is a runtime dependency because plotly's "auto" engine uses it for every chart a rerun sends;
    it makes the same JSON as the standard library (escaping differs: Streamlit sends the spec in a protobuf
    message that the browser parses with JSON.parse, never as HTML)."""
    import numpy as np
    import orjson  # noqa: F401  (installed with the app)

    fig = apply_style(go.Figure(go.Scatter(x=np.arange(50) * 0.1, y=np.linspace(0, 1, 50), name="é <b>")))
    assert pio.json.config.default_engine == "auto"
    import json

    fast = json.loads(pio.to_json(fig, validate=False, engine="orjson"))
    assert fast == json.loads(pio.to_json(fig, validate=False, engine="json"))
    assert fast["data"][0]["name"] == "é <b>"


def test_a_later_import_that_changes_the_default_template_is_undone_by_apply_style():
    """Streamlit's import sets plotly's default template to its own; a figure styled afterwards is still
    plotly_white, and so are the figures after it."""
    white = pio.templates["plotly_white"].to_plotly_json()
    pio.templates.default = "streamlit"
    try:
        fig = apply_style(go.Figure())
        assert fig.to_plotly_json()["layout"]["template"] == white
        assert go.Figure().to_plotly_json()["layout"]["template"] == white
    finally:
        pio.templates.default = "plotly_white"


def test_figure_from_gives_the_json_plotly_validators_would():
    from sdcore.charts.style import figure_from, merge_layout, style_layout

    traces = [{"type": "bar", "x": [1, 2], "y": [3, 4], "marker": {"color": "#0072B2"}, "name": "n"}]
    layout = merge_layout(style_layout(300), {"xaxis": {"title": {"text": "x"}}, "shapes": []})
    titled = {**layout, "title": {"text": "t", "y": 0.98, "yanchor": "top"}}
    for lay, empty_title in ((layout, True), (titled, False)):
        fast = figure_from(traces, dict(lay), empty_title=empty_title).to_plotly_json()
        checked = figure_from(traces, dict(lay), validate=True, empty_title=empty_title).to_plotly_json()
        assert fast == checked
        assert "shapes" not in fast["layout"]  # an empty list is dropped, as plotly drops it
    assert fast["layout"]["title"]["text"] == "t"
