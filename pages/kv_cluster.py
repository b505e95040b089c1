"""Key-value store: a Dynamo-style cluster you can break, one message at a time."""

import pandas as pd
import streamlit as st

from lessons import kv_cluster as sc
from sdcore.charts import kv_cluster as charts
from sdcore.charts.hashing import node_colours
from sdcore.kvstore.placement import replica_placement
from ui import explain, export, page
from ui.errors import boundary
from ui.params import PageParams, Param

D = sc.ClusterSettings()
FIELDS = tuple(sc.ClusterSettings.__dataclass_fields__)
P = PageParams(
    "kvc",
    [
        Param("nodes", D.nodes, lo=sc.MIN_NODES, hi=sc.MAX_NODES),
        Param("n", D.n, lo=1, hi=sc.MAX_NODES),
        Param("r", D.r, lo=1, hi=sc.MAX_NODES),
        Param("w", D.w, lo=1, hi=sc.MAX_NODES),
        Param("latency", D.latency, options=sc.LATENCY_CHOICES),
        Param("timeout_ms", D.timeout_ms, options=sc.TIMEOUT_CHOICES),
        Param("sloppy_quorum", D.sloppy_quorum),
        Param("hint_rule", D.hint_rule, options=sc.HINT_CHOICES),
        Param("reconcile", D.reconcile, options=tuple(sc.RECONCILE_LABELS)),
        Param("seed", D.seed, lo=0, hi=2**31 - 1),
        Param("timeline", sc.PRESETS["Dynamo default, healthy"].timeline, max_len=2000),
    ],
    {name: s.params() for name, s in sc.PRESETS.items()},
    "Dynamo default, healthy",
)
ss = st.session_state


@st.cache_data(max_entries=32, show_spinner=False)
def cached_run(settings: sc.ClusterSettings, timeline: str) -> sc.ScenarioRun:
    return sc.run_scenario(timeline, settings)


def step(delta: int, count: int) -> None:
    ss["kvc.cursor"] = max(1, min(count, ss["kvc.cursor"] + delta))


def play_toggled(count: int) -> None:
    if ss["kvc.play"] and ss["kvc.cursor"] >= count:
        ss["kvc.cursor"] = 1  # playing from the end starts over


page.start(
    "Key-value store: a cluster you can break",
    "A Dynamo-style store keeps each key on N nodes of a hash ring and answers after W acks or R replies. "
    "Here you write and read keys in virtual time, crash replicas and cut the network, and watch every message: "
    "stale reads, conflicting versions with their vector clocks, read repair, and writes parked on a stand-in "
    "with a hint until their owner comes back.",
)
P.setup()
c1, c2 = st.columns([1, 2])
with c1:
    P.preset_selector()
with c2:
    st.info(sc.PRESETS[P.base_preset].description, icon=":material/science:")
cols = st.columns(4)
nodes = cols[0].slider(
    "Nodes", sc.MIN_NODES, sc.MAX_NODES, help="Nodes A, B, C… on the ring.", **P.bind("nodes")
)
n, r, w, clamped = sc.clamp_quorums(nodes, P.value("n"), P.value("r"), P.value("w"))
ss[P.key("n")], ss[P.key("r")], ss[P.key("w")] = n, r, w  # before their sliders are drawn
for text in clamped:
    st.warning(text, icon=":material/tune:")
cols[1].slider("N: replicas per key", 1, nodes, help="How many nodes own a copy of each key.", **P.bind("n"))
level_any = P.value("hint_rule") == "cassandra-any"
cols[2].slider(
    "W: write quorum",
    1,
    max(n, 2),
    disabled=n == 1 or level_any,
    help="A put is acknowledged after W acks (ANY: after one, hinted or not).",
    **P.bind("w"),
)
cols[3].slider(
    "R: read quorum", 1, max(n, 2), disabled=n == 1, help="A get answers after R replies.", **P.bind("r")
)
cols = st.columns([1.6, 1.4, 1])
cols[0].selectbox(
    "Message latency",
    sc.LATENCY_CHOICES,
    format_func=sc.latency_label,
    help="Each message takes one random draw; a node's message to itself takes 0 ms.",
    **P.bind("latency"),
)
cols[1].select_slider(
    "Timeout (ms)",
    sc.TIMEOUT_CHOICES,
    help="A request unanswered this long after the client sent it fails.",
    **P.bind("timeout_ms"),
)
cols[2].number_input("Seed", 0, 2**31 - 1, help="Same seed, same message delays.", **P.bind("seed"))
cols = st.columns([1, 2.2, 1.6])
cols[0].toggle(
    "Sloppy quorum",
    help="On: writes and reads go to the first N reachable nodes, stand-ins keep hints. "
    "Off: only reachable owners; too few and the request is refused.",
    **P.bind("sloppy_quorum"),
)
cols[1].radio(
    "Hinted writes",
    sc.HINT_CHOICES,
    format_func=sc.HINT_LABELS.get,
    help="Does a stand-in's ack count toward W?",
    **P.bind("hint_rule"),
)
cols[2].radio(
    "Siblings reconciled by",
    tuple(sc.RECONCILE_LABELS),
    format_func=sc.RECONCILE_LABELS.get,
    help="How the client turns siblings into one value.",
    **P.bind("reconcile"),
)
with st.expander("The scenario timeline: edit it", expanded=True):
    st.text_area("One step per line", height=210, **P.bind("timeline"))
    st.caption(sc.TIMELINE_HELP)
P.reset_button()
v = P.values()
with boundary():
    settings = sc.ClusterSettings(**{f: v[f] for f in FIELDS})
    run = cached_run(settings, v["timeline"])
query = P.sync()
for error in run.errors:
    st.error(str(error), icon=":material/error:")
for note in run.notes:
    st.info(note, icon=":material/schedule:")

k = run.summary()
m = st.columns(6)
m[0].metric(
    "Requests failed", f"{k['failed']} of {k['requests']}", help="Timed out or refused as unavailable."
)
m[1].metric("Stale gets", k["stale_gets"], help="Gets that missed a put acknowledged before they began.")
m[2].metric("Most siblings in a get", k["max_siblings"], help="Concurrent versions returned together.")
m[3].metric(
    "Hints delivered", f"{k['hints_delivered']} of {k['hints_stored']}", help="Hinted writes handed off."
)
m[4].metric("Replicas read-repaired", k["repaired"], help="Stale replicas a get's coordinator updated.")
m[5].metric("Messages lost", k["lost_messages"], help="Sent to a crashed node or across the partition.")

st.subheader("Step through the messages")
ring = settings.ring()
placements = replica_placement(ring, run.keys, settings.n)
colours = node_colours(ring.nodes)
count = len(run.events)  # the cursor is an event number, 1 to count
if ss.get("kvc._run") != (settings, v["timeline"]) or ss.get("kvc.cursor", 1) > count:
    ss["kvc._run"], ss["kvc.cursor"] = (settings, v["timeline"]), max(count, 1)
st.toggle(
    "Play",
    key="kvc.play",
    on_change=play_toggled,
    args=(count,),
    disabled=count < 2,
    help="Advance one event every 0.8 s (rerun only while on).",
)


@st.fragment(run_every=0.8 if ss.get("kvc.play") else None)
def stepper() -> None:
    if ss.get("kvc.play"):
        if ss["kvc.cursor"] >= count:
            ss["kvc.play"] = False
            st.rerun()
        ss["kvc.cursor"] += 1
    b = st.columns([0.6, 0.6, 8])
    b[0].button("◀", key="kvc.back", on_click=step, args=(-1, count), help="One event back")
    b[1].button("▶", key="kvc.next", on_click=step, args=(1, count), help="One event on")
    cursor = (
        b[2].slider(
            "Event", 1, max(count, 2), key="kvc.cursor", disabled=count < 2, label_visibility="collapsed"
        )
        - 1
    )
    cursor = min(cursor, count - 1)
    st.markdown(sc.step_caption(run, cursor))
    state = run.state_at(cursor)
    left, right = st.columns([1.9, 1.1])
    with left:
        st.plotly_chart(charts.sequence_figure(run, cursor), key="sequence")
        st.caption(
            "Time runs down: each arrow is a message, coloured by kind; dashed grey with a red cross is a "
            "lost message. Notice where the coordinator stops waiting (W acks, R replies) and what arrives late."
        )
    with right:
        st.plotly_chart(
            charts.cluster_ring_figure(ring.ring_points(), placements, colours, state.down), key="ring"
        )
        st.caption(
            "Each key (★) and its N owners clockwise; a crashed node is grey. A stand-in is the next node on."
        )
        key = st.selectbox("Key", run.keys, key="kvc.key") if len(run.keys) > 1 else run.keys[0]
        st.dataframe(pd.DataFrame(sc.contents_rows(state, key, run.owners(key))), hide_index=True)
        st.caption(
            f"What each node holds for {key} after this event: its replica, and hints kept for others."
        )


if run.events and run.keys:
    stepper()
else:
    st.info(
        "The timeline has no request yet: add a line such as `0 put cart {milk}`.", icon=":material/edit:"
    )

st.subheader("What each get returned")
rows = run.get_rows()
if rows:
    st.dataframe(pd.DataFrame(rows), hide_index=True)
    pick = next((g["get"] for g in rows if g["siblings"] > 1 or g["stale"]), rows[-1]["get"])
    label = st.selectbox(
        "Look closer at a get", [g["get"] for g in rows], index=[g["get"] for g in rows].index(pick)
    )
    rec = run.op(label)
    left, right = st.columns([1, 1.35])
    with left:
        st.markdown(f"**Versions {label} returned, side by side** (one column per node's counter)")
        if rec.result and rec.result.ok and rec.result.versions:
            st.dataframe(pd.DataFrame(sc.sibling_rows(rec.result.versions, run.nodes)), hide_index=True)
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
            st.dataframe(pd.DataFrame(repair), hide_index=True)
        else:
            st.caption("No read repair: the get did not get its answer, or its coordinator went down.")
st.subheader("Hints held and delivered")
hints = run.hint_rows()
if hints:
    st.dataframe(pd.DataFrame(hints), hide_index=True)
    st.caption("A stand-in keeps a write for an owner it could not reach, and hands it off once it can.")
else:
    st.caption("No hinted writes in this run: every write reached its owners (or sloppy quorum is off).")

explain.why(sc.explanation(run))
explain.try_this(sc.TRY_THIS)
st.subheader("Export")
e = st.columns(2)
with e[0]:
    export.csv_download(
        "Event trace (CSV)", lambda: pd.DataFrame(run.trace_rows()), "kv_cluster_trace.csv", key="csv_trace"
    )
with e[1]:
    export.csv_download(
        "Gets (CSV)", lambda: pd.DataFrame(run.get_rows()), "kv_cluster_gets.csv", key="csv_gets"
    )
export.share_link(query)
explain.references(
    [
        (
            "DeCandia et al. 2007, Dynamo",
            "https://www.allthingsdistributed.com/files/amazon-dynamo-sosp2007.pdf",
        ),
        (
            "Lamport 1978, Time, clocks and the ordering of events",
            "https://lamport.azurewebsites.net/pubs/time-clocks.pdf",
        ),
        (
            "Apache Cassandra: hinted handoff",
            "https://cassandra.apache.org/doc/latest/cassandra/managing/operating/hints.html",
        ),
        (
            "Riak: vector clocks and siblings",
            "https://docs.riak.com/riak/kv/latest/learn/concepts/causal-context/",
        ),
    ]
)
