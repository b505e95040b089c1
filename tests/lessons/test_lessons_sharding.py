"""The sharding page's words: every number they print is the result's, and every preset is a valid config."""

import re

import pytest

from lessons import sharding as L
from sdcore.sharding import ShardingConfig, key_slot, run_sharding

SMALL = {"users": 1_000, "posts_per_user": 4.0}


@pytest.fixture(scope="module")
def results():
    out = {}
    for p in L.PRESETS:
        values = {**{q.name: q.default for q in L.PARAMS}, **dict(p.values), **SMALL}
        out[p.name] = run_sharding(L.config(values))
    return out


def test_params_match_the_engine_defaults():
    d = ShardingConfig()
    for p in L.PARAMS:
        assert p.default == getattr(d, p.name), p.name
        assert p.label and p.help, p.name
        if p.options is None:
            assert p.lo <= p.default <= p.hi and p.step, p.name
        else:
            assert p.default in p.options


def test_presets_are_valid_configs_and_unique():
    assert L.DEFAULT_PRESET == "Shard by user id" and len(L.PRESET_TABLE) == 5
    for p in L.PRESETS:
        assert set(p.values) <= set(L.PARAM_NAMES)
        L.config({**{q.name: q.default for q in L.PARAMS}, **dict(p.values)})
        assert p.description and p.shows


def test_headlines_show_the_result(results):
    r = results["Double the shards"]
    h = {x.label: x for x in L.headlines(r)}
    mv = r.movement
    assert h["Rows moved, 8 → 16 shards"].value == L.pct(mv.fraction)
    assert "vs theory 50.0%" in h["Rows moved, 8 → 16 shards"].delta
    hot = r.hot.option("none")
    assert h["Hot shard reads/s"].value == f"{round(hot.hot_reads):,}"
    assert h["Busiest shard (reads)"].value == f"{r.loads.skews()['reads'].max_over_mean:.2f}× mean"


def test_why_and_captions_quote_measured_numbers(results):
    for name, r in results.items():
        text = " ".join([L.why(r), L.shard_caption(r), L.movement_caption(r), L.migration_caption(r),
                         L.hot_caption(r), L.join_caption(r), L.skew_caption(r), L.slot_caption(r)])  # fmt: skip
        assert not re.search(r"\de[+-]\d|(?<![\d.,])1 (shards|rows|posts|slots)\b|\bnan\b", text), name
        assert L.pct(r.movement.fraction) in text
    r = results["A celebrity joins"]
    assert f"{round(r.hot.hot_reads):,} reads/s" in L.why(r)
    assert "not a pure Zipf law" in L.why(r)  # the celebrity sits on top of the law


def test_hot_caption_names_the_fixes(results):
    r = results["A celebrity joins"]
    s = r.hot.settings
    fixes = [o for o in r.hot.options if o.name != "none" and o.hot_reads <= s.read_capacity
             and o.hot_writes <= s.write_capacity]  # fmt: skip
    text = L.hot_caption(r)
    assert ("Within both caps" in text) == bool(fixes)


def test_prediction_feedback(results):
    r = results["Shard by user id"]
    got = L.prediction_feedback(50, r)
    assert L.pct(r.movement.fraction) in got and "too high" in got


def test_keyslot_lines_echo_untrusted_text_safely():
    lines = L.keyslot_lines("{user1000}.following")
    assert lines[1] == "rule  hash tag {user1000}: only it is hashed"
    assert lines[2].endswith(f"= {key_slot('{user1000}.following')}")
    weird = L.keyslot_lines("a\x00b" + "x" * 500)
    assert "\x00" not in "".join(weird) and len(weird[0]) < 80
    assert L.keyslot_lines("foo{}{bar}")[1] == "rule  no hash tag: the whole key is hashed"


def test_tables(results):
    r = results["Shard by country (skewed)"]
    rows = L.shard_rows(r)
    assert sum(x["rows"] for x in rows) == r.dataset.posts == sum(x["rows after re-sharding"] for x in rows)
    mv = L.movement_rows(r)
    assert [x["rows moved"] for x in mv] == [m.rows_moved for m in r.movements]
    assert len(L.mitigation_rows(r)) == len(r.hot.options) and len(L.query_rows(r)) == 4
    assert all(re.fullmatch(r"[\d.,]+ (µs|ms|s|min|h|days)( \d+ s)? ago", x["created"]) for x in L.id_rows(
        [{"id": 1, "shard": 0, "seq": 0, "created_ms": r.dataset.post_created_ms[0]}]))  # fmt: skip


def test_references_and_try_this():
    assert 2 <= len(L.TRY_THIS) <= 4
    assert all(ref.url.startswith("https://") for ref in L.REFERENCES)
