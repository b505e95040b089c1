"""AppTest for the sharding page: the numbers it shows, recomputed here with the engine and the lesson."""

from __future__ import annotations

import base64
import json

import numpy as np
import pytest

from lessons import sharding as L
from sdcore.sharding import key_slot, run_sharding
from tests.pages.conftest import frame_with, metric, open_page

PAGE = "pages/sharding.py"
DEFAULTS = {p.name: p.default for p in L.PARAMS}


def expected(query: dict[str, str]):
    """The run the page should show for this URL, computed without Streamlit."""
    preset = L.PRESET_TABLE[query.get("preset", L.DEFAULT_PRESET)]
    values = {**DEFAULTS, **dict(preset.values)}
    for name, raw in query.items():
        if name != "preset":
            values[name] = next(p for p in L.PARAMS if p.name == name).parse(raw)
    return run_sharding(L.config(values))


def assert_shows(at, r) -> None:
    for h in L.headlines(r):
        assert metric(at, h.label) == h.value, h.label
    shards = json.loads(at.get("plotly_chart")[0].proto.spec)
    rows = next(t for t in shards["data"] if t["name"] == "rows")["y"]
    if isinstance(rows, dict):  # plotly's binary array encoding
        rows = np.frombuffer(base64.b64decode(rows["bdata"]), dtype=rows["dtype"]).tolist()
    assert rows == r.loads.rows.tolist()
    mitigations = frame_with(at, "mitigation")
    assert list(mitigations["hot shard reads/s"]) == [round(o.hot_reads) for o in r.hot.options]
    queries = next(d.value for d in at.dataframe if "routed" in d.value.columns)
    assert list(queries["routed"]) == [q.routable for q in r.queries]


def reveal(at):
    at.button(key="sharding.reveal").click().run()
    assert not at.exception
    return at


@pytest.mark.parametrize("preset", [p.name for p in L.PRESETS])
def test_every_preset(preset):
    query = {"preset": preset}
    at = open_page(PAGE, query)
    assert at.selectbox[0].value == preset and not at.error
    r = expected(query)
    assert_shows(at, r)
    reveal(at)
    moved = next(d.value for d in at.dataframe if "rows moved" in d.value.columns)
    assert list(moved["rows moved"]) == [m.rows_moved for m in r.movements]
    assert any(L.prediction_feedback(50, r) == i.value for i in at.info)


def test_default_hides_the_answer_until_revealed():
    at = open_page(PAGE)
    assert not any("rows moved" in d.value.columns for d in at.dataframe)
    assert len(at.get("plotly_chart")) == 4  # shards, skew, hot, join
    reveal(at)
    assert len(at.get("plotly_chart")) == 6  # + moved, migration


@pytest.mark.parametrize("query", [
    {"users": "100", "posts_per_user": "1", "shards": "1", "new_shards": "64", "follows": "5"},
    {"users": "500", "shards": "64", "new_shards": "1", "strategy": "slots", "exponent": "0"},
    {"users": "300", "shard_key": "country_user", "strategy": "directory", "celebrity_share": "0.8",
     "salt_k": "64", "cache_items": "0", "exponent": "1.5"},
])  # fmt: skip
def test_extremes_at_reduced_sizes(query):
    at = open_page(PAGE, query)
    assert not at.error
    r = expected(query)
    assert_shows(at, r)
    reveal(at)
    if query.get("strategy") == "slots":
        assert len(at.get("plotly_chart")) == 7  # + the slot map


def test_a_config_the_engine_refuses_is_explained():
    at = open_page(PAGE, {"users": "200000", "posts_per_user": "50"})
    assert [e.value for e in at.error] == [
        "users × posts_per_user must be at most 1,000,000 posts (got users=200,000, posts_per_user=50: 10,000,000)"
    ]


def test_a_bad_link_value_falls_back_with_a_notice():
    at = open_page(PAGE, {"shards": "999"})
    assert any("shards" in w.value for w in at.warning)
    assert at.slider(key="sharding.shards").value == 8


def test_key_slot_box():
    at = open_page(PAGE)
    at.text_input(key="sharding.slotkey").input("foo{bar}{zap}").run()
    code = next(c.value for c in at.code if c.value.startswith("key"))
    assert code.endswith(f"= {key_slot('bar')}") and "hash tag {bar}" in code
