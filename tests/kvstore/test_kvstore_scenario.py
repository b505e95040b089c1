"""Timelines (their text form and its errors), the presets' stories, replayed state, and the figures."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from lessons.kv_cluster import PRESETS, clock_comparisons, explanation, repair_rows, sibling_rows
from sdcore.charts.hashing import node_colours
from sdcore.charts.kv_cluster import TimeAxis, cluster_ring_figure, sequence_figure
from sdcore.kvstore.cluster import covers
from sdcore.kvstore.placement import replica_placement
from sdcore.kvstore.scenario import (
    ClusterSettings,
    clamp_quorums,
    parse_timeline,
    resolve_value,
    run_scenario,
)


def test_parse_every_action_with_labels_and_options():
    t = parse_timeline(
        "# a comment line\n0 put cart {milk}\n+10 get cart\n\n+0 put cart +eggs ctx g1 via c as mine\n"
        "100 partition A,B | C\n150 crash B  # trailing comment\n160 recover B\n170 heal\n180 get cart via A\n"
    )
    assert t.errors == ()
    put, get, mine, part, crash, recover, heal, last = t.steps
    assert (put.line, put.at_ms, put.relative, put.label, put.value) == (2, 0.0, False, "p1", "{milk}")
    assert (get.relative, get.at_ms, get.label) == (True, 10.0, "g1")
    assert (mine.label, mine.ctx, mine.via, mine.value) == ("mine", "g1", "C", "+eggs")
    assert part.groups == (("A", "B"), ("C",)) and crash.nodes == ("B",) and recover.action == "recover"
    assert heal.action == "heal" and last.label == "g2" and last.via == "A"


@pytest.mark.parametrize(
    "line, message",
    [
        ("put cart x", "start with a time in ms"),
        ("5", "say what happens after the time"),
        ("5 wirte cart x", "unknown action 'wirte'"),
        ("5 put cart", "put takes a key and a value"),
        ("5 get", "get takes a key"),
        ("5 put cart +eggs", "no get comes before this line"),
        ("5 put cart x ctx g9", "ctx 'g9' must name a get on an earlier line"),
        ("5 get cart ctx g1", "a get takes via or as"),
        ("5 put cart x via", "options come in pairs"),
        ("5 put cart x via Z", "nodes are named A to I"),
        ("5 crash", "crash takes one node"),
        ("5 heal now", "heal takes nothing"),
        ("5 partition A,B | A", "on two sides"),
        ("5 partition |", "name the nodes on each side"),
        ("5 put cart {milk", "a set is written {milk,eggs}"),
        ("5 put c@rt x", "a key is letters"),
        ("5 put cart x as p1", "the label 'p1' is used twice"),
        ("2000000 heal", "times go up to"),
    ],
)
def test_a_bad_line_is_reported_with_its_number_and_skipped(line, message):
    t = parse_timeline(f"0 put cart v\n{line}\n+5 get cart\n")
    assert len(t.errors) == 1 and t.errors[0].line == 2 and message in t.errors[0].message
    assert str(t.errors[0]).startswith("Line 2: ")
    assert [s.action for s in t.steps] == ["put", "get"]


def test_too_many_lines():
    t = parse_timeline("\n".join(f"{i} get k" for i in range(70)))
    assert len(t.steps) == 60 and t.errors[0].line == 61 and "at most 60" in t.errors[0].message


def test_values():
    assert resolve_value("{milk, eggs}") == frozenset({"milk", "eggs"}) and resolve_value("{}") == frozenset()
    assert resolve_value("+eggs", frozenset({"milk"})) == {"milk", "eggs"}
    assert resolve_value("-milk", frozenset({"milk"})) == frozenset() and resolve_value("+a", None) == {"a"}
    assert resolve_value("-milk", "milk") == frozenset() and resolve_value("v1") == "v1"


def test_runtime_problems_become_errors_and_notes():
    """A node outside this cluster is an error with its line; a time already past and a ctx get that has
    not answered yet are notes; everything else still runs."""
    run = run_scenario("0 put k a\n50 crash E\n10 get k\n10 put k +b ctx g1\n", ClusterSettings(nodes=3))
    assert [(e.line, e.message) for e in run.errors] == [(2, "node E is not in this cluster of 3 (A–C)")]
    assert run.notes == ("Line 4: g1 had no answer when p2 started, so the put carries no context.",)
    run = run_scenario("0 put k a\n+1 get k\n0 get k\n")
    assert run.notes[0].startswith("Line 3: 0 ms had already passed; it ran at")
    assert [o.label for o in run.operations] == ["p1", "g1", "g2"]


@given(st.sampled_from(list(PRESETS)), st.integers(0, 50), st.integers(3, 9))
@settings(max_examples=25)
def test_runs_are_deterministic_and_replay_to_the_final_state(preset, seed, nodes):
    """Same timeline and settings, same trace; replaying the state changes to the last event gives the
    cluster's final replicas (every owner's versions), and no request is left unanswered."""
    s = PRESETS[preset].settings
    cfg = ClusterSettings(
        nodes, min(s.n, nodes), min(s.r, s.n, nodes), min(s.w, s.n, nodes), seed=seed, reconcile=s.reconcile
    )
    a = run_scenario(PRESETS[preset].timeline, cfg)
    assert a == run_scenario(PRESETS[preset].timeline, cfg)
    assert all(o.result is not None for o in a.operations)
    state = a.state_at(len(a.events) - 1)
    for key in a.keys:
        for owner in a.owners(key):
            latest = [c for c in a.changes if c.node == owner and c.key == key and c.kind == "store"]
            assert state.stores[owner].get(key, ()) == (latest[-1].versions if latest else ())
    assert len(a.trace_rows()) == len(a.events)


def test_preset_dynamo_default_is_healthy():
    run = run_scenario(PRESETS["Dynamo default, healthy"])
    k = run.summary()
    assert (k["failed"], k["stale_gets"], k["max_siblings"], k["lost_messages"]) == (0, 0, 1, 0)
    assert [o.result.value for o in run.gets] == [{"milk"}, {"milk", "eggs"}, {"eggs"}]


def test_preset_replica_crash_during_a_write():
    """p2's write to A is lost on the wire; p2 times out with 2 of 3 acks yet B and C keep it; g1 sees it;
    g2 through the recovered A answers from A's old copy and read-repairs A; g3 then reads the write."""
    run = run_scenario(PRESETS["Replica crash during a write"])
    p2 = run.op("p2").result
    assert not p2.ok and p2.error.startswith("timed out after 200 ms (2 of W=3 acks")
    assert [m.dst for m in run.messages if m.outcome == "lost: A is down"] == ["A"]
    g1, g2, g3 = (run.op(x) for x in ("g1", "g2", "g3"))
    assert g1.result.value == {"milk", "eggs"} and not g1.result.stale
    assert g2.coordinator == "A" and g2.result.value == {"milk"} and g2.repair.repaired == ("A",)
    assert g3.result.value == {"milk", "eggs"}
    rows = {r["node"]: r for r in repair_rows(run, "g2")}
    assert rows["A"]["answered"] == "{milk} [B:1]" and rows["A"]["holds after"] == "{eggs,milk} [B:2]"


def test_preset_partition_gives_concurrent_siblings_and_the_union_brings_milk_back():
    run = run_scenario(PRESETS["Network partition, writes on both sides"])
    g2 = run.op("g2").result
    assert g2.siblings == 2 and g2.versions[0].clock.compare(g2.versions[1].clock) == "concurrent"
    assert {v.writer for v in g2.versions} == {"p2", "p3"} and g2.value == {"milk", "eggs"}
    assert clock_comparisons(g2.versions) == ["p2 [B:2] vs p3 [B:1, C:1]: concurrent"]
    rows = sibling_rows(g2.versions, run.nodes)
    assert [(r["written by"], r["B"], r["C"]) for r in rows] == [("p2", 2, 0), ("p3", 1, 1)]
    assert [(h["stand-in"], h["intended owner"]) for h in run.hint_rows()] == [("E", "B"), ("D", "A")]
    assert all(h["delivered at (ms)"] for h in run.hint_rows())
    g3 = run.op("g3").result
    assert g3.siblings == 1 and g3.value == {"milk", "eggs", "tea"}


def test_preset_stale_read_and_its_fix():
    """R=1, W=1 shows a stale read; the same timeline with R=3 shows none."""
    preset = PRESETS["Stale read with R=1"]
    stale = [o.label for o in run_scenario(preset).gets if o.result.stale]
    assert stale
    strong = run_scenario(preset.timeline, ClusterSettings(r=3, w=1))
    assert not any(o.result.stale for o in strong.gets)


def test_preset_hinted_handoff():
    run = run_scenario(PRESETS["Hinted handoff after a node returns"])
    (hint,) = run.hint_rows()
    assert (hint["stand-in"], hint["intended owner"]) == ("E", "C") and hint["delivered at (ms)"] > 200
    p1 = run.op("p1").result
    assert covers(run.state_at(len(run.events) - 1).stores["C"]["cart"], p1.clock)
    assert run.op("g2").coordinator == "C" and run.op("g2").result.value == {"milk"}
    assert "1 hinted write, 1 handed off" in explanation(run)


def test_clamp_and_settings_checks():
    assert clamp_quorums(3, 5, 4, 1) == (
        3,
        3,
        1,
        ["N = 5 is more than the 3 nodes, so N is now 3.", "R = 4 is more than N = 3, so R is now 3."],
    )
    with pytest.raises(ValueError, match="nodes must be between 3 and 9"):
        ClusterSettings(nodes=10)
    with pytest.raises(ValueError, match="R must be between 1 and N=3"):
        ClusterSettings(r=4)
    with pytest.raises(ValueError, match="latency must be one of"):
        ClusterSettings(latency="fast")


def test_time_axis_cuts_quiet_stretches():
    ax = TimeAxis([0, 5, 105, 110], quiet_ms=10)
    assert ax(5) == 5 and ax(105) == 15 and ax(110) == 20 and ax(55) == 10 and ax.cuts == [(5.0, 105.0)]
    ticks, labels = ax.ticks(3)
    assert labels[0] == "0" and labels[-1] == "110"


def test_sequence_figure_follows_the_cursor():
    """Everything at the end; at an early cursor only messages already sent, those still on the wire
    without an arrowhead; a lost message and a timeout where the run had them."""
    run = run_scenario(PRESETS["Replica crash during a write"])
    full = sequence_figure(run)
    names = {t.name for t in full.data}
    assert {"request", "ack", "response", "lost message", "timeout", "read repair"} <= names
    early = sequence_figure(run, cursor=1)
    shown = sum(len([x for x in t.x if x is not None]) for t in early.data)
    sent = [m for m in run.messages if m.sent_seq <= 1]
    assert shown == sum(3 if m.src == m.dst else 2 for m in sent)
    assert "lost message" not in {t.name for t in early.data}


def test_ring_greys_crashed_nodes():
    settings_ = ClusterSettings()
    ring = settings_.ring()
    fig = cluster_ring_figure(
        ring.ring_points(), replica_placement(ring, ["cart"], 3), node_colours(ring.nodes), frozenset({"C"})
    )
    names = [t.name for t in fig.data if t.name]
    assert "C (down)" in names and "C" not in names
    assert next(t for t in fig.data if t.name == "C (down)").marker.color == "#D9D9D9"


def test_the_suggested_ctx_names_the_latest_get_before_the_line():
    """A change without its context suggests the get just before it, not always g1."""
    errors = parse_timeline(
        "0 put cart {milk}\n5 get cart\n6 get cart\n7 get cart as mine\n8 put cart +eggs"
    ).errors
    assert len(errors) == 1 and "add 'ctx mine'" in errors[0].message
    errors = parse_timeline("0 get cart\n1 get cart\n2 put cart x ctx g7").errors
    assert "the latest get before this line is g2" in errors[0].message
