"""AppTest for the healthy-replicas page: every number shown, recomputed here from the engine."""

from __future__ import annotations

import json

import pytest

from lessons import kv_health as L
from sdcore.kvstore.gossip import simulate_gossip
from sdcore.kvstore.merkle import run_repair
from sdcore.kvstore.phi import simulate_heartbeats
from sdcore.kvstore.swim import detection_trials, simulate_swim
from sdcore.kvstore.tombstones import simulate_tombstones
from tests.pages.conftest import metric, open_page

PAGE = "pages/kv_health.py"


def values(preset: str = L.DEFAULT_PRESET, **changes) -> dict:
    v = {p.name: p.default for p in L.PARAMS}
    v.update(L.PRESET_VALUES[preset])
    v.update(changes)
    return v


def expected(v: dict) -> dict[str, str]:
    g = simulate_gossip(L.gossip_config(v))
    sc = L.swim_config(v)
    s, trials = simulate_swim(sc), detection_trials(sc, L.SWIM_TRIALS)
    h = simulate_heartbeats(L.heartbeat_scenario(v))
    rp = run_repair(L.repair_config(v))
    t = simulate_tombstones(L.tombstone_scenario(v))
    heads = (
        *L.gossip_headlines(g),
        *L.detector_headlines(h, s, trials),
        *L.merkle_headlines(rp),
        L.tombstone_headline(t),
    )
    shown = {x.label: x.value for x in heads}
    # Raw engine numbers, not only the lesson's formatting of them.
    assert shown["False suspicions"] == str(len(g.false_suspicions))
    assert shown["Hashes compared"] == f"{rp.repair.diff.hashes_compared:,}"
    assert shown["SWIM false suspicions"] == str(s.false_suspicions)
    return shown


def assert_shows(at, v: dict) -> None:
    want = expected(v)
    assert {m.label: m.value for m in at.metric} == want
    assert not at.exception and not at.error
    assert len(at.get("plotly_chart")) == 10


@pytest.fixture(scope="module")
def default_page():
    return open_page(PAGE)


def test_default_run_shows_the_engines_numbers(default_page):
    at = default_page
    assert at.selectbox[0].value == L.DEFAULT_PRESET
    assert_shows(at, values())
    assert metric(at, "False suspicions") == "0" and metric(at, "The deleted key") == "stays deleted"
    text = " ".join(m.value for m in at.markdown)
    assert f"**Round {L.ROUNDS} of {L.ROUNDS}**" in text
    graph = json.loads(at.get("plotly_chart")[0].proto.spec)
    names = {t.get("name") for t in graph["data"]}
    assert "crashed, marked down by every live node" in names


def test_every_preset_through_the_selector(default_page):
    at = default_page
    for preset in L.PRESET:
        at.selectbox(key="kvh._preset").set_value(preset).run()
        assert_shows(at, values(preset))
    assert metric(at, "The deleted key") == "back on day 14"


def test_extremes_at_reduced_sizes_are_clamped_to_what_the_engine_accepts():
    query = {
        "nodes": "4",
        "fanout": "4",
        "k": "6",
        "keys": "100",
        "changed": "200",
        "missing": "50",
        "depth": "16",
        "t_fail": "2",
        "t_cleanup": "0",
        "loss": "0.5",
        "crashes": "3",
        "pause": "20",
        "threshold": "1",
    }
    at = open_page(PAGE, query)
    v = values(**{k: type(L.PARAM[k].default)(x) for k, x in query.items()})
    assert at.selectbox[0].value == "Custom"
    assert_shows(at, v)
    assert metric(at, "Keys that differ") == "100"  # 200 changed keys clamped to the 100 there are


def test_a_bad_link_value_falls_back_with_a_notice():
    at = open_page(PAGE, {"nodes": "999", "preset": "GC pause"})
    assert any("nodes" in w.value for w in at.warning)
    assert_shows(at, values("GC pause"))


def test_step_buttons_slider_and_play_move_the_round(default_page):
    at = default_page
    at.selectbox(key="kvh._preset").set_value(L.DEFAULT_PRESET).run()
    g = simulate_gossip(L.gossip_config(values()))
    at.button(key="kvh.back").click().run()
    assert at.slider(key="kvh.cursor").value == L.ROUNDS - 1
    at.slider(key="kvh.cursor").set_value(18).run()
    text = " ".join(m.value for m in at.markdown)
    assert L.gossip_caption(g, 18) in text
    at.toggle(key="kvh.play").set_value(True).run()
    assert at.slider(key="kvh.cursor").value == 19
    at.toggle(key="kvh.play").set_value(False).run()
    assert at.slider(key="kvh.cursor").value == 19
