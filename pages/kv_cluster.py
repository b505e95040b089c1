"""Key-value store: a Dynamo-style cluster you can break, one message at a time."""

import pandas as pd
import streamlit as st

from lessons import kv_cluster as sc
from sdcore.charts import kv_cluster as charts
from sdcore.charts.hashing import node_colours
from sdcore.kvstore.placement import replica_placement
from ui import cache, headlines, page, stepper, tables
from ui.ending import Export, page_end
from ui.errors import boundary
from ui.params import PageParams

P = PageParams("kvc", sc.PARAMS, sc.PAGE_PRESETS, sc.DEFAULT_PRESET)
ss = st.session_state


@cache.shared(max_entries=32)  # a frozen run: one object for every session, never changed
def cached_run(settings: sc.ClusterSettings, timeline: str) -> sc.ScenarioRun:
    return sc.run_scenario(timeline, settings)


def ring_figure(run: sc.ScenarioRun, settings: sc.ClusterSettings, down: frozenset[str]):
    """The ring with the run's keys, crashed nodes greyed: drawn once per run and set of crashed nodes."""
    ring = settings.ring()
    placements = replica_placement(ring, run.keys, settings.n)
    return charts.cluster_ring_figure(ring.ring_points(), placements, node_colours(ring.nodes), down)


page.start(sc.TITLE, sc.IDEA)
P.preset_row()
cols = st.columns(4)
nodes = P.widget("nodes", cols[0])
n, r, w, clamped = sc.clamp_quorums(nodes, P.value("n"), P.value("r"), P.value("w"))
for name, value in (("n", n), ("r", r), ("w", w)):
    P.clamp(name, value)
for text in clamped:
    st.warning(text, icon=":material/tune:")
P.widget("n", cols[1], hi=nodes)
any_ack = P.value("hint_rule") == "cassandra-any"
P.widget("w", cols[2], hi=max(n, 2), disabled=n == 1 or any_ack)
P.widget("r", cols[3], hi=max(n, 2), disabled=n == 1)
cols = st.columns([1.6, 1.4, 1])
for col, name in zip(cols, ("latency", "timeout_ms", "seed"), strict=True):
    P.widget(name, col)
cols = st.columns([1, 2.2, 1.6])
for col, name in zip(cols, ("sloppy_quorum", "hint_rule", "reconcile"), strict=True):
    P.widget(name, col)
with st.expander("The scenario timeline: edit it", expanded=True):
    P.widget("timeline", height=210)
    st.caption(sc.TIMELINE_HELP)
P.reset_button()
v = P.values()
with boundary():
    settings = sc.settings_from(v)
    run = cached_run(settings, v["timeline"])
P.sync()
for line in sc.error_lines(run.errors):
    st.error(line, icon=":material/error:")
if run.operations:
    ss["kvc._last_good"] = (settings, v["timeline"], run)
elif run.errors and (kept := ss.get("kvc._last_good")):
    settings, _, run = kept  # nothing in the timeline runs: keep showing the last run that did
    st.info(
        "Nothing in this timeline can run yet, so the page shows the last timeline that did.",
        icon=":material/history:",
    )
for note in run.notes:
    st.info(note, icon=":material/schedule:")

heads = sc.headlines(run)
headlines.row(heads)

st.subheader("Step through the messages")
count = len(run.events)  # the cursor is an event number, 1 to count
if ss.get("kvc._run") != (settings, run.events):
    ss["kvc._run"], ss["kvc.cursor"] = (settings, run.events), max(count, 1)
if ss.get("kvc.play") and ss.get("kvc.cursor", 1) >= count:
    ss["kvc.cursor"] = 1  # playing from the end starts over
stepper.play_toggle(
    "kvc.play", disabled=count < 2, help="Advance one event every 0.8 s (rerun only while on)."
)


def messages() -> None:
    cursor = stepper.step_buttons("kvc.cursor", count)
    st.markdown(sc.step_caption(run, cursor))
    state = run.state_at(cursor)
    left, right = st.columns([1.9, 1.1])
    with left:
        st.plotly_chart(cache.figure(charts.sequence_figure, run, cursor), key="sequence")
        st.caption(sc.CAPTIONS["sequence"])
    with right:
        st.plotly_chart(cache.figure(ring_figure, run, settings, state.down), key="ring")
        st.caption(sc.CAPTIONS["ring"])
        key = st.selectbox("Key", run.keys, key="kvc.key") if len(run.keys) > 1 else run.keys[0]
        tables.fit(sc.contents_rows(state, key, run.owners(key)))
        st.caption(
            f"What each node holds for {key} after this event: its replica, and hints kept for others."
        )


if run.events and run.keys:
    stepper.animate("kvc.play", messages, stepper.advance_steps("kvc.cursor", count))
else:
    st.info(
        "The timeline has no request yet: add a line such as `0 put cart {milk}`.", icon=":material/edit:"
    )

st.subheader("What each get returned")
rows = run.get_rows()
if rows:
    tables.fit(rows)
    pick = next((g["get"] for g in rows if g["siblings"] > 1 or g["stale"]), rows[-1]["get"])
    label = st.selectbox(
        "Look closer at a get", [g["get"] for g in rows], index=[g["get"] for g in rows].index(pick)
    )
    rec = run.op(label)
    left, right = st.columns([1, 1.35])
    with left:
        st.markdown(f"**Versions {label} returned, side by side** (one column per node's counter)")
        if rec.result and rec.result.ok and rec.result.versions:
            tables.fit(sc.sibling_rows(rec.result.versions, run.nodes))
            for line in sc.clock_comparisons(rec.result.versions):
                st.markdown(f"- {line}: neither write saw the other")
            st.markdown(f"Reconciled: **{sc.format_value(rec.result.value)}** — {rec.result.reconciled}.")
        else:
            st.caption(
                "Nothing returned: "
                + (rec.result.error if rec.result and not rec.result.ok else "not found.")
            )
    with right:
        st.markdown("**Read repair: what each replica answered, and holds after**")
        repair = sc.repair_rows(run, label)
        if repair:
            tables.fit(repair)
        else:
            st.caption("No read repair: the get did not get its answer, or its coordinator went down.")
st.subheader("Hints held and delivered")
hints = run.hint_rows()
if hints:
    tables.fit(hints)
    st.caption(sc.CAPTIONS["hints"])
else:
    st.caption("No hinted writes in this run: every write reached its owners (or sloppy quorum is off).")

page_end(
    P,
    title=sc.TITLE,
    why=sc.explanation(run),
    try_this=sc.TRY_THIS,
    exports=(
        Export("Event trace (CSV)", lambda: pd.DataFrame(run.trace_rows()), "kv_cluster_trace.csv"),
        Export("Gets (CSV)", lambda: pd.DataFrame(run.get_rows()), "kv_cluster_gets.csv"),
    ),
    references=sc.REFERENCES,
    headlines=heads,
)
