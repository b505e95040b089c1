"""AppTest for the news-feed page: what it shows, recomputed here with the engine on the same config."""

from __future__ import annotations

import json

import pytest

from lessons import news_feed as L
from lessons.base import num
from sdcore.feed import simulate_all
from tests.pages.conftest import frame_with, metric, open_page

PAGE = "pages/news_feed.py"


def expected(query: dict[str, str]):
    """The runs the page should show for this query: preset values, then the query's parameters."""
    v = {p.name: p.default for p in L.PARAMS}
    v.update(L.PRESET[query.get("preset", L.DEFAULT_PRESET)].values)
    for name, raw in query.items():
        if name != "preset":
            v[name] = L.PARAM[name].parse(raw)
    return v, simulate_all(L.config_from(v))


def assert_shows(at, query: dict[str, str]) -> None:
    v, runs = expected(query)
    run = runs[v["strategy"]]
    c = run.costs()
    assert not at.exception and not at.error
    assert metric(at, "Writes per post") == num(c.writes_per_post, 1)
    assert metric(at, "Lists per feed load") == num(c.reads_per_load, 1)
    assert metric(at, "Load time p99") == f"{num(c.p99_latency_ms, 1)} ms"
    for h in L.headlines(runs, v["strategy"]):
        assert metric(at, h.label) == h.value
    table = frame_with(at, "lists per feed load")
    assert table["writes per post"].tolist() == [r["writes per post"] for r in L.cost_rows(runs)]
    assert table["max delay (s)"].tolist() == [r["max delay (s)"] for r in L.cost_rows(runs)]
    feed = next(d.value for d in at.dataframe if "came from" in d.value.columns)
    user = min(v["user"], run.graph.users - 1)
    assert feed["post"].tolist() == [r["post"] for r in L.feed_rows(run, user)]
    figures = [json.loads(ch.proto.spec) for ch in at.get("plotly_chart")]
    bars = figures[1]["data"]
    assert bars[0]["y"] == pytest.approx([r.costs().writes_per_post for r in runs.values()])
    why = next(e for e in at.expander if e.label == "Why it behaves this way")
    assert "checked" in why.markdown[0].value and "NOT the case" not in why.markdown[0].value


@pytest.mark.parametrize("preset", [p.name for p in L.PRESETS])
def test_every_preset(preset):
    query = {"preset": preset}
    at = open_page(PAGE, query)
    assert at.selectbox[0].value == preset
    assert_shows(at, query)


def test_celebrity_predict_then_reveal():
    query = {"preset": "Celebrity posts", "users": "2000", "posts": "200", "celebrity_followers": "100000"}
    at = open_page(PAGE, query)
    assert_shows(at, query)
    _, runs = expected(query)
    guess = L.prediction(runs["push"])
    radio = next(r for r in at.radio if r.label == guess.question)
    radio.set_value(guess.options[guess.answer]).run()
    assert at.success and at.success[0].value.startswith("Right: ")
    radio = next(r for r in at.radio if r.label == guess.question)
    radio.set_value(guess.options[(guess.answer + 1) % 4]).run()
    assert at.warning and at.warning[0].value.startswith("Not quite: ")


@pytest.mark.parametrize(
    "query",
    [
        {
            "users": "1000",
            "posts": "100",
            "workers": "1",
            "worker_throughput": "1000",
            "batch_size": "100",
            "strategy": "pull",
            "cache_size": "50",
            "active_share": "0.05",
            "unauthenticated_share": "0.5",
        },
        {
            "users": "1000",
            "posts": "100",
            "workers": "64",
            "celebrity_followers": "10000",
            "celebrity_posts": "20",
            "strategy": "per_pair",
            "tail": "2.1",
            "follows": "200",
            "publish_limit": "5",
            "user": "999999",
        },
    ],
)
def test_extremes_at_reduced_sizes(query):
    at = open_page(PAGE, query)
    assert_shows(at, query)


def test_switching_strategy_changes_the_numbers():
    at = open_page(PAGE, {"users": "2000", "posts": "300"})
    before = metric(at, "Lists per feed load")
    at.radio(key="feed.strategy").set_value("pull").run()
    assert metric(at, "Lists per feed load") != before
    assert at.selectbox[0].value == "Custom"
    assert at.query_params["strategy"] in ("pull", ["pull"])


def test_bad_link_values_fall_back_with_a_notice():
    at = open_page(PAGE, {"workers": "9999", "strategy": "broadcast"})
    notices = " ".join(w.value for w in at.warning)
    assert "workers" in notices and "strategy" in notices
    assert_shows(at, {})
