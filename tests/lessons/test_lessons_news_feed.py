"""The news-feed page's words: every parameter and preset makes a valid config, and every number a sentence
or headline states is the engine's, recomputed here."""

from __future__ import annotations

import re

import numpy as np
import pytest

from lessons import news_feed as L
from lessons.base import num, seconds
from sdcore.feed import STRATEGIES, FeedConfig, fanout_makespan, simulate_all, workers_for_deadline


def values(preset: str | None = None, **changes):
    v = {p.name: p.default for p in L.PARAMS}
    if preset:
        v.update(L.PRESET[preset].values)
    v.update(changes)
    return v


@pytest.fixture(scope="module")
def celebrity():
    return simulate_all(
        L.config_from(values("Celebrity posts", users=2_000, posts=200, celebrity_followers=100_000))
    )


@pytest.fixture(scope="module")
def ordinary():
    return simulate_all(L.config_from(values(users=2_000, posts=500)))


def test_params_and_presets_are_consistent():
    """Defaults sit inside their bounds or options; presets only name parameters that exist, with allowed
    values; the five scenarios of the issue are there, the default first."""
    assert [p.name for p in L.PRESETS] == [
        "Ordinary user posts",
        "Celebrity posts",
        "Too few workers",
        "Mostly inactive users",
        "Read-heavy day",
    ]
    assert L.PRESETS[0].name == L.DEFAULT_PRESET
    for p in L.PARAMS:
        assert p.label and p.help
        if p.options is not None:
            assert p.default in p.options
        elif p.lo is not None:
            assert p.lo <= p.default <= p.hi
    for preset in L.PRESETS:
        for name, value in preset.values.items():
            p = L.PARAM[name]
            assert value in p.options if p.options else p.lo <= value <= p.hi
        assert isinstance(L.config_from(values(preset.name)), FeedConfig)
    assert L.PARAM["strategy"].options == tuple(STRATEGIES)
    assert set(L.CONFIG_FIELDS) == set(FeedConfig.__dataclass_fields__) - {"edge_list"}


def test_every_value_survives_the_url():
    """Each option and default encodes to text that parses back to the same value (a shared link works)."""
    for p in L.PARAMS:
        for value in p.options or (p.default, p.lo, p.hi):
            assert p.parse(p.encode(value)) == value, p.name


def test_headlines_are_the_engine_numbers(celebrity):
    run = celebrity["push"]
    c = run.costs()
    h = {x.label: x for x in L.headlines(celebrity, "push")}
    assert h["Writes per post"].value == num(c.writes_per_post, 1)
    assert h["Writes per post"].delta.startswith(num(c.max_writes_per_post))
    assert h["Last follower after"].value == seconds(float(run.delay[0]))
    assert h["Cache memory"].delta == f"{num(c.cache_entries)} entries"
    hyb = {x.label: x for x in L.headlines(celebrity, "hybrid")}
    assert hyb["Last follower after"].value == "at once"
    assert hyb["Lists per feed load"].delta == "push reads 1.0"


def test_explanation_states_measured_and_expected(celebrity, ordinary):
    text = L.explanation(celebrity)
    run = celebrity["push"]
    f = int(run.writes_per_post[0])
    cfg = run.config
    assert f"Post 0 went to {num(f)} active followers" in text
    closed = 0.005 + fanout_makespan(f, cfg.batch_size, cfg.worker_throughput, cfg.workers)
    assert f"Closed form {seconds(closed)}" in text and f"measured {seconds(float(run.delay[0]))}" in text
    assert "first in the queue, so the two agree" in text
    assert "identical feeds" in text and "checked" in text and "NOT" not in text
    assert "1e+" not in text and " 1 workers" not in text
    plain = L.explanation(ordinary)
    assert f"measured {num(ordinary['push'].costs().writes_per_post, 2)}" in plain


def test_deletes_sentence_when_filtering():
    runs = simulate_all(L.config_from(values("Read-heavy day", users=1_000, posts=2_000, cache_size=50)))
    text = L.explanation(runs)
    assert "Deletes and unfollows after fanout" in text and "prefix of pull's: checked" in text
    rows = L.feed_rows(runs["push"], int(np.flatnonzero(np.diff(runs["push"].cache_ptr))[0]))
    assert {r["came from"] for r in rows} <= {
        "cache",
        "merged at read time",
        "filtered: deleted",
        "filtered: unfollowed",
    }


def test_prediction_answer_is_the_delay_bucket(celebrity):
    run = celebrity["push"]
    guess = L.prediction(run)
    d = float(run.delay[0])
    bucket = sum(d > b for b in (1.0, 10.0, 60.0))
    assert guess.answer == bucket and guess.reveal.startswith(f"**{seconds(d)}.**")
    assert L.prediction(celebrity["hybrid"]) is None


def test_workers_sentence_uses_the_closed_form(celebrity):
    run = celebrity["push"]
    f = int(run.writes_per_post[0])
    cfg = run.config
    k = workers_for_deadline(f, cfg.batch_size, cfg.worker_throughput, 5.0)
    assert f"takes **{k} worker" in L.workers_sentence(run, 5.0)
    assert "No number of workers" in L.workers_sentence(run, 0.01)


def test_cursor_sentence_counts_what_the_queue_holds(celebrity):
    run = celebrity["push"]
    t, waiting, pending = run.queue_curve(300)
    text = L.cursor_sentence(run, 50)
    i = int(np.searchsorted(t, L.cursor_time(run, 50), "right")) - 1
    assert f"{num(int(pending[i]))} writes not yet done" in text
    share = re.search(r"reached ([\d.]+)%", text).group(1)
    got = run.reached(0)
    assert float(share) == pytest.approx(
        100 * np.searchsorted(got, L.cursor_time(run, 50), "right") / len(got), abs=0.05
    )
    assert "0 batches waiting, 0 writes not yet done" in L.cursor_sentence(run, 100)


def test_cost_rows_and_csv(ordinary):
    rows = L.cost_rows(ordinary)
    assert [r["strategy"] for r in rows] == [s.label for s in STRATEGIES.values()]
    assert rows[1]["writes per post"] == 0 and rows[0]["lists per feed load"] == 1
    csv = L.cost_csv_rows(ordinary)
    assert len(csv) == 4 * ordinary["push"].config.posts


def test_clamp_user_and_upload_cap(ordinary):
    run = ordinary["push"]
    assert L.clamp_user(run, 5) == (5, None)
    user, note = L.clamp_user(run, 10**6)
    assert user == run.graph.users - 1 and "no user 1,000,000" in note

    class Big:
        size = 3_000_000

        def getvalue(self):
            raise AssertionError("read before the size check")

    with pytest.raises(ValueError, match="at most 2,000,000 bytes"):
        L.read_upload(Big())


def test_references_and_quotes():
    assert any("1807167.1807257" in r.url for r in L.REFERENCES)
    quotes = L.quotes_markdown()
    for needle in (
        "300K QPS",
        "Lady Gaga",
        "12,000 writes per second",
        "800 tweet ids",
        "producer/consumer pair",
    ):
        assert needle in quotes
    assert 2 <= len(L.TRY_THIS) <= 4
