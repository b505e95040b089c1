"""The healthy-replicas figures draw what the results hold: node states, counts, trees and days."""

from __future__ import annotations

import numpy as np

from sdcore.charts import kv_health as charts
from sdcore.kvstore.gossip import GossipConfig, simulate_gossip
from sdcore.kvstore.merkle import RepairConfig, run_repair
from sdcore.kvstore.phi import HeartbeatScenario, simulate_heartbeats
from sdcore.kvstore.swim import SwimConfig, detection_trials, simulate_swim
from sdcore.kvstore.tombstones import TombstoneScenario, simulate_tombstones


def test_gossip_graph_colours_each_node_by_what_the_others_believe():
    r = simulate_gossip(GossipConfig(crashes=((0, 10),), seed=1))
    first = min(d.marked_round for d in r.detections)
    fig = charts.gossip_graph_figure(r, first)
    by_name = {t.name: t for t in fig.data}
    assert "n0" in by_name["crashed, news still spreading"].text
    assert len(by_name["up, seen up by every live node"].x) == 15
    end = {t.name: t for t in charts.gossip_graph_figure(r, r.rounds).data}
    assert list(end["crashed, marked down by every live node"].text) == ["n0"]
    spread = charts.spread_figure(r, 20)
    assert spread.data[0].y[-1] == 15 and spread.data[0].y[10] == 0
    hist = charts.detection_histogram(r)
    assert sum(hist.data[0].y) == len(r.detections)
    msgs = {t.name: t for t in charts.messages_figure(r).data}
    assert list(msgs["gossip messages"].y) == list(r.messages)


def test_phi_and_swim_figures():
    h = simulate_heartbeats(HeartbeatScenario(pause=4.0))
    fig = charts.phi_figure(h)
    lines = [t for t in fig.data if t.mode == "lines"]
    assert len(lines) == 2 and all(np.nanmax(t.y) <= 2 * h.scenario.threshold for t in lines)
    s = simulate_swim(SwimConfig(seed=2))
    bars = {t.name: t for t in charts.swim_figure(s).data}
    assert bars["declared it dead"].y[-1] == 15
    trials = detection_trials(SwimConfig(), 30)
    assert abs(sum(charts.swim_trials_figure(trials).data[0].y) - 1.0) < 1e-9


def test_merkle_figures_highlight_the_differing_nodes():
    run = run_repair(RepairConfig(keys=300, changed=2, missing=0, depth=5, seed=1))
    fig = charts.merkle_trees_figure(run.repair, run.tree_a, run.tree_b)
    red = [t for t in fig.data if t.name == "hash differs"]
    assert len(red) == 2 and len(red[0].x) == len(run.repair.diff.nodes)
    sweep = {t.name: t for t in charts.merkle_sweep_figure(run.sweep, 5).data}
    assert list(sweep["keys streamed"].y) == [s.streamed for s in run.sweep]


def test_tombstone_figure_marks_the_resurrection():
    r = simulate_tombstones(TombstoneScenario(down_days=12))
    fig = charts.tombstone_figure(r)
    assert np.array_equal(np.asarray(fig.data[0].z), r.holds.T)
    assert any(a.text == "resurrected" for a in fig.layout.annotations)
