"""The healthy-replicas lesson: parameters the engine accepts, presets that show what they say, and words
that state the numbers of the run they describe."""

from __future__ import annotations

import math

import pytest

from lessons import kv_health as L
from lessons.base import seconds
from sdcore.kvstore import gossip, merkle, swim
from sdcore.kvstore.gossip import simulate_gossip
from sdcore.kvstore.merkle import run_repair
from sdcore.kvstore.phi import simulate_heartbeats
from sdcore.kvstore.swim import detection_trials, simulate_swim
from sdcore.kvstore.tombstones import simulate_tombstones


def values(preset: str = L.DEFAULT_PRESET, **changes) -> dict:
    v = {p.name: p.default for p in L.PARAMS}
    v.update(L.PRESET_VALUES[preset])
    v.update(changes)
    return v


def configs(v):
    return (
        L.gossip_config(v),
        L.swim_config(v),
        L.heartbeat_scenario(v),
        L.repair_config(v),
        L.tombstone_scenario(v),
    )


def test_params_fit_the_engine_and_presets_fit_the_params():
    names = [p.name for p in L.PARAMS]
    assert len(names) == len(set(names))
    for p in L.PARAMS:
        assert p.label and p.help
        if p.lo is not None:
            assert p.lo <= p.default <= p.hi and p.step > 0
    assert L.PARAM["nodes"].hi <= min(gossip.MAX_NODES, swim.MAX_NODES)
    assert L.PARAM["nodes"].lo >= max(gossip.MIN_NODES, swim.MIN_NODES)
    assert L.PARAM["depth"].hi <= merkle.MAX_DEPTH
    for preset in L.PRESETS:
        for name, value in preset.values.items():
            p = L.PARAM[name]
            assert p.lo is None or p.lo <= value <= p.hi, (preset.name, name)
        assert preset.description and preset.shows
    assert L.PRESETS[0].name == L.DEFAULT_PRESET


@pytest.mark.parametrize("end", ["lo", "hi"])
def test_every_widget_at_its_extreme_gives_valid_configs(end):
    v = {p.name: (getattr(p, end) if p.lo is not None else p.default) for p in L.PARAMS}
    v = {
        k: (type(L.PARAM[k].default)(x) if not isinstance(L.PARAM[k].default, bool) else x)
        for k, x in v.items()
    }
    g, s, h, r, t = configs(v)
    assert g.fanout <= g.nodes - 1 and s.k <= s.nodes - 2 and r.changed + r.missing <= r.keys


def test_presets_show_what_they_claim():
    assert simulate_gossip(L.gossip_config(values("Lossy network"))).false_suspicions
    assert simulate_gossip(L.gossip_config(values("Cleanup too early"))).revivals
    assert not simulate_gossip(L.gossip_config(values())).revivals
    part = simulate_gossip(L.gossip_config(values("Network partition")))
    assert part.false_suspicions and not part.detections
    pause = simulate_heartbeats(L.heartbeat_scenario(values("GC pause")))
    assert pause.runs["normal"].false_convictions and not pause.runs["exponential"].false_convictions
    coarse = run_repair(L.repair_config(values("Coarse Merkle tree")))
    assert coarse.repair.over_streamed > 1000
    assert simulate_tombstones(L.tombstone_scenario(values("Resurrected delete"))).resurrected
    assert not simulate_tombstones(L.tombstone_scenario(values())).resurrected


def test_gossip_headlines_and_words_state_the_runs_numbers():
    r = simulate_gossip(L.gossip_config(values()))
    heads = {h.label: h for h in L.gossip_headlines(r)}
    delays = r.delays()
    assert heads["Crash noticed after (mean)"].value == f"{delays.mean():.1f} rounds"
    assert heads["Slowest live node"].value == f"{delays.max()} rounds"
    assert heads["False suspicions"].value == str(len(r.false_suspicions))
    assert heads["Messages per round"].value == f"{round(r.messages.mean()):,}"
    assert heads["Messages per round"].delta == f"all-to-all: {round(r.all_to_all().mean()):,}"
    why = L.gossip_why(r)
    assert f"mean {delays.mean():.1f} rounds, slowest {delays.max()}" in why
    cap = L.gossip_caption(r, 20)
    marked = sum(r.belief[20, o, 0] != 0 for o in range(r.config.nodes) if r.up[20, o])
    assert f"n0 crashed: {marked} of 15 live nodes have marked it down" in cap


def test_detector_headlines_and_words_state_the_runs_numbers():
    v = values("GC pause")
    h = simulate_heartbeats(L.heartbeat_scenario(v))
    sc = L.swim_config(v)
    s, trials = simulate_swim(sc), detection_trials(sc, 40)
    heads = {x.label: x for x in L.detector_headlines(h, s, trials)}
    e = h.runs["exponential"]
    assert heads["Exponential convicts after"].value == seconds(e.time_to_convict) == "18 s"
    assert heads["Normal convicts after"].delta == "1 false conviction"
    assert heads["SWIM detection (periods)"].value == f"{trials.mean:.2f}"
    assert heads["SWIM detection (periods)"].delta == f"paper: {trials.expected:.2f}"
    why = L.detector_why(h, s, trials)
    assert f"{trials.expected:.3f} periods" in why and f"{trials.mean:.3f}" in why
    assert f"= {seconds(e.time_to_convict)}" in why
    assert "convicted the live node 1 time" in why
    assert math.isclose(e.time_to_convict, v["threshold"] * e.mean * math.log(10))


def test_merkle_and_tombstone_words():
    run = run_repair(L.repair_config(values("Coarse Merkle tree")))
    heads = {x.label: x for x in L.merkle_headlines(run)}
    assert heads["Hashes compared"].value == f"{run.repair.diff.hashes_compared:,}"
    assert heads["Keys streamed"].value == f"{run.repair.streamed:,}"
    assert heads["Keys that differ"].delta == f"{run.repair.over_streamed:,} sent needlessly"
    assert f"streamed {run.repair.streamed:,} keys instead of {run.repair.send_everything:,}" in L.merkle_why(
        run
    )
    t = simulate_tombstones(L.tombstone_scenario(values("Resurrected delete")))
    assert L.tombstone_headline(t).value == "back on day 14"
    assert f"at least {t.safe_gc_grace} days" in L.tombstone_why(t)
    kept = simulate_tombstones(L.tombstone_scenario(values()))
    assert L.tombstone_headline(kept).value == "stays deleted"


def test_exports_have_one_row_per_item():
    r = simulate_gossip(L.gossip_config(values()))
    assert len(L.detection_rows(r)) == len(r.detections)
    h = simulate_heartbeats(L.heartbeat_scenario(values()))
    assert len(L.phi_rows(h)) == h.runs["normal"].times.size
    run = run_repair(L.repair_config(values()))
    assert [row["depth"] for row in L.repair_rows(run)] == [s.depth for s in run.sweep]
    assert 2 <= len(L.TRY_THIS) <= 4 and L.REFERENCES


def test_page_headlines_are_every_sections_in_order():
    """What the page records for the interview recap: the four sections' headlines, as the page shows them."""
    v = values()
    g, sw_config, hb_s, rp_c, tb_s = configs(v)
    g, sw, hb = simulate_gossip(g), simulate_swim(sw_config), simulate_heartbeats(hb_s)
    trials, rp, tb = detection_trials(sw_config, L.SWIM_TRIALS), run_repair(rp_c), simulate_tombstones(tb_s)
    heads = L.headlines(g, hb, sw, trials, rp, tb)
    assert heads == (
        *L.gossip_headlines(g),
        *L.detector_headlines(hb, sw, trials),
        *L.merkle_headlines(rp),
        L.tombstone_headline(tb),
    )
    labels = [h.label for h in heads]
    assert len(labels) == len(set(labels))
    assert heads[-1].value == "stays deleted"
