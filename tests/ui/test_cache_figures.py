"""Shared figures: written once, drawn on every rerun from the kept JSON, and exactly the figure plotly writes."""

from __future__ import annotations

import copy
import datetime as dt
import decimal
import json
import pickle

import numpy as np
import plotly.graph_objects as go
import plotly.io as pio
import pytest
from streamlit.testing.v1 import AppTest

from sdcore.charts.style import figure_from
from ui import cache


class Run:
    pass


def busy_figure(validate: bool = False) -> go.Figure:
    """Every kind of value a chart module puts in a figure: typed arrays, NaN, ints, bools, text, dates."""
    traces = [
        {"type": "scatter", "x": np.arange(50, dtype=float), "y": np.r_[np.nan, np.linspace(-1, 1, 49)],
         "name": "é ünïcode </script>", "mode": "lines", "line": {"color": "#0072B2", "width": 2.5}},
        {"type": "bar", "x": ["a", "b", "c"], "y": np.array([1, 2, 3], dtype=np.int64),
         "customdata": np.array([[1, 2], [3, 4], [5, 6]], dtype=np.uint8), "text": [None, "x", 1e-9]},
        {"type": "scatter", "x": [dt.datetime(2024, 1, 1, 12, 30), dt.datetime(2024, 1, 2)], "y": [0.1, 1 / 3],
         "hovertemplate": "%{x}<extra></extra>"},
    ]  # fmt: skip
    layout = {"height": 300, "xaxis": {"range": [-0.0, 1e300]}, "shapes": [{"type": "line", "x0": 0, "x1": 1}],
              "annotations": [{"text": "<b>5 %</b>", "x": 0, "y": 1}]}  # fmt: skip
    return figure_from(traces, layout, validate=validate)


@pytest.mark.parametrize("validate", [False, True])
def test_a_shared_figure_writes_the_same_json_as_plotly_every_time(validate):
    plain, shared = busy_figure(validate), cache.share_figures(busy_figure(validate))
    assert type(shared) is cache.SharedFigure and isinstance(shared, go.Figure)
    want = pio.to_json(plain, validate=False)
    for _ in range(3):  # the first writes and keeps it, the next ones read it back
        assert pio.to_json(shared, validate=False) == want
        assert shared.to_json() == plain.to_json()
    assert shared._spec_json is not None


def test_to_dict_is_a_fresh_dict_every_call():
    fig = cache.share_figures(busy_figure())
    want = pio.to_json(fig, validate=False)
    d = fig.to_dict()
    d["layout"]["height"] = 1
    d["data"].clear()
    assert fig.to_dict() is not fig.to_dict()
    assert pio.to_json(fig, validate=False) == want


@pytest.mark.parametrize(
    "odd", [[decimal.Decimal("1.5")], np.array([True, False])]
)  # plotly: an object array
def test_a_figure_orjson_cannot_write_as_it_is_is_not_kept_and_still_right(odd):
    def build() -> go.Figure:
        return figure_from([{"type": "bar", "x": [1, 2], "y": [1, 2], "customdata": odd}], {})

    fig = cache.share_figures(build())
    for _ in range(2):
        assert pio.to_json(fig, validate=False) == pio.to_json(build(), validate=False)
    assert fig._spec_json is None and fig._spec_unkept


def test_a_change_through_plotlys_setters_is_drawn():
    fig = cache.share_figures(go.Figure(go.Scatter(x=[1, 2], y=[3, 4])))
    fig.to_dict()
    fig.update_layout(height=321)
    fig.data[0].name = "renamed"
    fig.add_trace(go.Bar(x=[1], y=[2]))
    spec = fig.to_dict()
    assert spec["layout"]["height"] == 321 and spec["data"][0]["name"] == "renamed" and len(spec["data"]) == 2


def test_copies_pickles_and_repr_leave_the_kept_json_alone():
    plain, fig = busy_figure(), cache.share_figures(busy_figure())
    want = pio.to_json(fig, validate=False)
    repr(fig)  # plotly's repr writes "..." over the template of the dict to_dict gave it
    for how in (copy.deepcopy, lambda f: pickle.loads(pickle.dumps(f))):  # both rebuild it, validated
        assert pio.to_json(how(fig), validate=False) == pio.to_json(how(plain), validate=False)
    assert pio.to_json(fig, validate=False) == want


def test_cache_figure_and_shared_hand_out_shared_figures():
    run = Run()
    fig = cache.figure(lambda r: busy_figure(), run)
    pair = cache.figure(lambda r, k: (busy_figure(), k), run, 3)
    assert type(fig) is cache.SharedFigure and type(pair[0]) is cache.SharedFigure and pair[1] == 3
    assert cache.figure(lambda r, k: "not a figure", run, 4) == "not a figure"

    calls = []

    @cache.shared(max_entries=4)
    def drawn(n: int, _ignored: object):  # "_"-named arguments stay out of the key, as with st.cache_resource
        calls.append(n)
        return [busy_figure(), n]

    a = drawn(1, object())
    assert drawn(1, object()) is a and calls == [1]
    assert type(a[0]) is cache.SharedFigure
    assert drawn.__name__ == "drawn"
    drawn.clear()


def _page() -> None:
    import time

    import numpy as np  # noqa: F811 (AppTest runs this function's source alone)
    import streamlit as st

    from sdcore.charts.style import figure_from
    from ui import cache

    class Run:
        pass

    def draw(_run):
        x = np.linspace(0, 1, 20_000)
        return figure_from([{"type": "scatter", "x": x, "y": np.sin(x)}], {"height": 300})

    fig = cache.figure(draw, st.session_state.setdefault("run", Run()))  # one source per test session
    plain = draw(None)
    calls = st.session_state.setdefault("calls", [])
    base = type(fig).__mro__[1]  # go.Figure: count the deep copies (plotly's own to_dict)
    original = base.to_dict
    base.to_dict = lambda self: (calls.append(1), original(self))[1]
    try:
        t = time.perf_counter()
        st.plotly_chart(fig, key="shared")
        st.session_state["t_shared"] = time.perf_counter() - t
    finally:
        base.to_dict = original
    t = time.perf_counter()
    st.plotly_chart(plain, key="plain")
    st.session_state["t_plain"] = time.perf_counter() - t


def test_streamlit_draws_a_shared_figure_from_its_kept_json_byte_for_byte():
    """st.plotly_chart calls figure.to_dict() (plotly.tools.return_figure_from_figure_or_data): if a Streamlit
    version stops doing so, the deep copy comes back on every rerun and this fails."""
    at = AppTest.from_function(_page, default_timeout=60)
    at.run()
    for _ in range(3):
        at.run()
        assert not at.exception
        shared, plain = at.get("plotly_chart")
        assert shared.proto.spec == plain.proto.spec
        assert json.loads(shared.proto.spec)["layout"]["height"] == 300
    assert at.session_state["calls"] == [1], "the figure was deep-copied again on a rerun"
