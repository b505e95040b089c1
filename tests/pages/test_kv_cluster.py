"""AppTest for the cluster page: what it shows, recomputed here with ``run_scenario`` from the engine."""

from __future__ import annotations

import json

import pytest

from lessons.kv_cluster import PRESETS
from sdcore.kvstore.scenario import ClusterSettings, run_scenario
from tests.pages.conftest import frame_with, metric, open_page

PAGE = "pages/kv_cluster.py"


def run(query: dict[str, str] | None = None):
    return open_page(PAGE, query or {})


def frame(at, column: str):
    return frame_with(at, column)


def figures(at) -> list[dict]:
    return [json.loads(c.proto.spec) for c in at.get("plotly_chart")]


def assert_shows(at, result) -> None:
    """Headline numbers, the gets table (stale flags, siblings, reconciled value) and the hints table."""
    k = result.summary()
    assert metric(at, "Requests failed") == f"{k['failed']} of {k['requests']}"
    assert metric(at, "Stale gets") == str(k["stale_gets"])
    assert metric(at, "Most siblings in a get") == str(k["max_siblings"])
    assert metric(at, "Hints delivered") == f"{k['hints_delivered']} of {k['hints_stored']}"
    assert metric(at, "Replicas read-repaired") == str(k["repaired"])
    assert metric(at, "Messages lost") == str(k["lost_messages"])
    gets = frame(at, "siblings")
    mine = result.gets
    assert list(gets["get"]) == [o.label for o in mine]
    assert list(gets["stale"]) == [bool(o.result and o.result.ok and o.result.stale) for o in mine]
    assert list(gets["siblings"]) == [len(o.result.versions) if o.result and o.result.ok else 0 for o in mine]
    hints = result.hint_rows()
    if hints:
        table = frame(at, "intended owner")
        assert list(table["stand-in"]) == [h["stand-in"] for h in hints]
        assert table["delivered at (ms)"].notna().sum() == k["hints_delivered"]
    caption = " ".join(m.value for m in at.markdown)
    assert f"**Event {len(result.events)} of {len(result.events)}**" in caption
    sequence = figures(at)[0]
    drawn = {t["name"] for t in sequence["data"]}
    kinds = {m.category for m in result.messages if not m.outcome.startswith("lost")}
    assert kinds <= drawn and (("lost message" in drawn) == (k["lost_messages"] > 0))


@pytest.mark.parametrize("preset", list(PRESETS))
def test_every_preset(preset):
    at = run({"preset": preset})
    assert at.selectbox[0].value == preset
    assert not at.error
    assert_shows(at, run_scenario(PRESETS[preset]))


def test_default_is_the_healthy_cluster():
    at = run()
    result = run_scenario(PRESETS["Dynamo default, healthy"])
    assert_shows(at, result)
    assert metric(at, "Stale gets") == "0" and metric(at, "Most siblings in a get") == "1"
    gets = frame(at, "siblings")
    assert list(gets["reconciled"]) == [
        "{milk} (one version)",
        "{eggs,milk} (one version)",
        "{eggs} (one version)",
    ]


def test_partition_shows_concurrent_siblings_and_the_union():
    """The closer look opens on the get with siblings: both clocks side by side, compared as concurrent,
    reconciled into the union — the deleted milk is back."""
    at = run({"preset": "Network partition, writes on both sides"})
    result = run_scenario(PRESETS["Network partition, writes on both sides"])
    g = next(o for o in result.gets if o.result.siblings == 2)
    siblings = frame(at, "written by")
    assert list(siblings["written by"]) == [v.writer for v in g.result.versions]
    for node in result.nodes:
        assert list(siblings[node]) == [v.clock[node] for v in g.result.versions]
    text = " ".join(m.value for m in at.markdown)
    assert "concurrent: neither write saw the other" in text
    assert "Reconciled: **{eggs,milk}**" in text
    repair = frame(at, "holds after")
    assert list(repair["read repair"] == "sent") == [x in g.repair.repaired for x, _ in g.repair.responses]


def test_a_bad_timeline_line_is_reported_with_its_number_and_the_rest_still_runs():
    timeline = "0 put cart {milk}\n5 wirte cart x\n+10 get cart\n20 crash Q\n"
    at = run({"timeline": timeline})
    errors = [e.value for e in at.error]
    assert any(e.startswith("Line 2: unknown action 'wirte'") for e in errors)
    assert any(e.startswith("Line 4: nodes are named A to I") for e in errors)
    assert at.selectbox[0].value == "Custom"
    good = run_scenario("0 put cart {milk}\n+10 get cart\n", ClusterSettings())
    assert metric(at, "Requests failed") == f"0 of {len(good.operations)}"
    assert len(at.get("plotly_chart")) == 2


def test_a_node_outside_a_small_cluster_and_clamped_quorums():
    """The partition preset on 3 nodes: lines naming D or E are reported, N stays 3; R and W follow N down."""
    at = run({"preset": "Network partition, writes on both sides", "nodes": "3", "n": "2"})
    assert "W = 2" not in " ".join(w.value for w in at.warning)
    at.slider(key="kvc.n").set_value(1).run()
    notices = " ".join(w.value for w in at.warning)
    assert "R = 2 is more than N = 1, so R is now 1" in notices and "W = 2 is more than N = 1" in notices
    assert at.slider(key="kvc.r").value == 1 and at.slider(key="kvc.r").disabled
    s = PRESETS["Network partition, writes on both sides"]
    result = run_scenario(s.timeline, ClusterSettings(nodes=3, n=1, r=1, w=1, reconcile="union"))
    assert [str(e) for e in result.errors] == [e.value for e in at.error]
    assert_shows(at, result)


def test_step_buttons_slider_and_play_move_the_cursor():
    at = run({"preset": "Hinted handoff after a node returns"})
    result = run_scenario(PRESETS["Hinted handoff after a node returns"])
    n = len(result.events)
    assert at.slider(key="kvc.cursor").value == n
    at.button(key="kvc.back").click().run()
    assert f"**Event {n - 1} of {n}**" in " ".join(m.value for m in at.markdown)
    at.slider(key="kvc.cursor").set_value(3).run()
    text = " ".join(m.value for m in at.markdown)
    assert f"**Event 3 of {n}** · {result.events[2].time_ms:.1f} ms · {result.events[2].detail}" in text
    contents = frame(at, "hints held")
    state = result.state_at(2)
    assert ("C" in state.down) == ("owner (down)" in list(contents["role"]))
    at.toggle(key="kvc.play").set_value(True).run()
    assert at.slider(key="kvc.cursor").value == 4  # each run of the fragment while playing steps once
    at.toggle(key="kvc.play").set_value(False).run()
    assert at.slider(key="kvc.cursor").value == 4


def test_cassandra_rule_and_an_odd_latency():
    at = run(
        {
            "preset": "Hinted handoff after a node returns",
            "hint_rule": "cassandra",
            "w": "3",
            "latency": "yammer",
            "seed": "7",
        }
    )
    settings = ClusterSettings(hint_rule="cassandra", w=3, latency="yammer", seed=7)
    result = run_scenario(PRESETS["Hinted handoff after a node returns"].timeline, settings)
    assert_shows(at, result)
    assert result.summary()["failed"] >= 1  # C is down and a hinted ack does not count toward W = 3


def test_nine_nodes_and_level_any():
    at = run({"nodes": "9", "n": "5", "hint_rule": "cassandra-any"})
    assert at.slider(key="kvc.w").disabled
    settings = ClusterSettings(nodes=9, n=5, hint_rule="cassandra-any")
    assert_shows(at, run_scenario(PRESETS["Dynamo default, healthy"].timeline, settings))


def test_an_invalid_timeline_keeps_the_last_run_and_groups_its_errors():
    """Replacing a good timeline by 300 bad lines keeps the good run on screen (its numbers unchanged),
    and the errors come grouped: one line per kind of mistake, never 300 boxes."""
    at = run()
    before = metric(at, "Requests failed")
    bad = "\n".join(f"{i} frob x" for i in range(90))  # 90 bad lines: the first 60 are read
    at.text_area(key="kvc.timeline").input(bad).run()
    assert not at.exception
    assert len(at.error) == 2
    text, cap = at.error[0].value, at.error[1].value
    assert "unknown action" in text and "59 more lines like this" in text and text.count("Line ") == 1
    assert "at most 60 steps" in cap
    assert metric(at, "Requests failed") == before
    assert any("last timeline that did" in i.value for i in at.info)


def test_figures_are_drawn_once_per_run_and_cursor(monkeypatch):
    """A rerun with nothing changed draws no figure again (ui.cache.figure keeps them per run and cursor);
    a step back draws one new sequence diagram and no new ring (the crashed nodes did not change)."""
    import functools

    from sdcore.charts import kv_cluster as charts

    calls: list[str] = []

    def counting(build):
        @functools.wraps(build)
        def wrapper(*args, **kwargs):
            calls.append(build.__name__)
            return build(*args, **kwargs)

        return wrapper

    for name in ("sequence_figure", "cluster_ring_figure"):
        monkeypatch.setattr(charts, name, counting(getattr(charts, name)))
    import streamlit as st

    st.cache_resource.clear()  # results and figures cached by earlier tests in this process
    at = run({"seed": "4242"})  # a seed no other test asks for: this run is drawn here first
    assert calls.count("sequence_figure") == 1 and calls.count("cluster_ring_figure") == 1
    at.run()
    assert len(calls) == 2
    at.button(key="kvc.back").click().run()
    assert calls.count("sequence_figure") == 2 and calls.count("cluster_ring_figure") == 1
