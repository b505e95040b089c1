"""Key-value store: healthy replicas — gossip, phi accrual and SWIM failure detection, Merkle-tree repair."""

import pandas as pd
import streamlit as st

from lessons import kv_health as L
from sdcore.charts import kv_health as charts
from sdcore.kvstore import gossip, merkle, phi, swim, tombstones
from ui import cache, headlines, page
from ui.ending import Export, page_end
from ui.errors import boundary
from ui.params import PageParams

P = PageParams("kvh", L.PARAMS, L.PRESET_VALUES, L.DEFAULT_PRESET)
ss = st.session_state


# Small wrappers, not cache_resource(engine_function): Streamlit keys a cached function by its source, read
# with inspect.getsource on every rerun, and tokenising the long engine functions was a fifth of a rerun.
@cache.shared(max_entries=32)  # results are never mutated: one object for every session
def run_gossip(c: gossip.GossipConfig) -> gossip.GossipResult:
    return gossip.simulate_gossip(c)


@cache.shared(max_entries=32)
def run_swim(c: swim.SwimConfig) -> swim.SwimResult:
    return swim.simulate_swim(c)


@cache.shared(max_entries=32)
def run_heartbeats(s: phi.HeartbeatScenario) -> phi.HeartbeatResult:
    return phi.simulate_heartbeats(s)


@cache.shared(max_entries=32)
def run_repair(c: merkle.RepairConfig) -> merkle.RepairRun:
    return merkle.run_repair(c)


@cache.shared(max_entries=32)
def run_tombstones(s: tombstones.TombstoneScenario) -> tombstones.TombstoneResult:
    return tombstones.simulate_tombstones(s)


@cache.shared(max_entries=32, spinner="Crashing a member many times…")
def run_trials(c: swim.SwimConfig) -> swim.DetectionTrials:
    return swim.detection_trials(c, L.SWIM_TRIALS)


def messages(g: gossip.GossipResult, c: swim.SwimConfig):  # one source per figure: SWIM's comes by its config
    return charts.messages_figure(g, run_swim(c))


def trees(rp: merkle.RepairRun):
    return charts.merkle_trees_figure(rp.repair, rp.tree_a, rp.tree_b)


def depths(rp: merkle.RepairRun):
    return charts.merkle_sweep_figure(rp.sweep, rp.config.depth)


def widgets(*names: str) -> None:
    for col, name in zip(st.columns(len(names)), names, strict=True):
        P.widget(name, col)


def chart(fig, caption: str, key: str) -> None:
    st.plotly_chart(fig, key=key)
    st.caption(caption)


def step(delta: int) -> None:
    ss["kvh.cursor"] = max(0, min(L.ROUNDS, ss["kvh.cursor"] + delta))


def play_toggled() -> None:
    if ss["kvh.play"] and ss["kvh.cursor"] >= L.ROUNDS:
        ss["kvh.cursor"] = 0  # playing from the end starts over


page.start(L.TITLE, L.IDEA)
P.preset_row(L.describe)
left, right = st.columns([1, 3])
P.widget("seed", left, kind="number")
with right:
    st.write("")
    P.reset_button()

for name, value, notice in L.clamps(P.values()):
    P.clamp(name, value, notice)
v = P.values()  # every widget's value is in the session already; the widgets are drawn in their sections
with boundary():
    g, sw_config = run_gossip(L.gossip_config(v)), L.swim_config(v)
    sw, trials = run_swim(sw_config), run_trials(sw_config)
    hb, rp = run_heartbeats(L.heartbeat_scenario(v)), run_repair(L.repair_config(v))
    tb = run_tombstones(L.tombstone_scenario(v))

st.header("1 · Gossip: how the cluster learns a node died")
widgets("nodes", "fanout", "t_fail", "t_cleanup")
widgets("loss", "crashes", "recover_round", "partition")
headlines.row(L.gossip_headlines(g), arrow="auto")
if ss.get("kvh._run") != g.config:
    ss["kvh._run"], ss["kvh.cursor"] = g.config, L.ROUNDS
st.toggle(
    "Play", key="kvh.play", on_change=play_toggled, help="Advance one round every 0.7 s (only while on)."
)


@st.fragment(run_every=0.7 if ss.get("kvh.play") else None)
def stepper() -> None:
    if ss.get("kvh.play"):
        if ss["kvh.cursor"] >= L.ROUNDS:
            ss["kvh.play"] = False
            st.rerun()
        ss["kvh.cursor"] += 1
    b = st.columns([0.6, 0.6, 8])
    b[0].button("◀", key="kvh.back", on_click=step, args=(-1,), help="One round back")
    b[1].button("▶", key="kvh.next", on_click=step, args=(1,), help="One round on")
    cursor = b[2].slider("Round", 0, L.ROUNDS, key="kvh.cursor", label_visibility="collapsed")
    st.markdown(L.gossip_caption(g, cursor))
    c1, c2 = st.columns([1, 1.2])
    with c1:
        chart(
            cache.figure(charts.gossip_graph_figure, g, cursor),
            "Each node coloured by what the live others believe of it; "
            "lines are this round's gossip messages. Step through the rounds after the crash.",
            "graph",
        )
    with c2:
        chart(
            cache.figure(charts.spread_figure, g, cursor),
            "How many live nodes have marked each crashed node down: nobody "
            "for about t_fail rounds, then the news spreads in a few.",
            "spread",
        )


stepper()
c1, c2 = st.columns(2)
with c1:
    chart(
        cache.figure(charts.detection_histogram, g),
        "Rounds each live node took to notice the crash: most near t_fail − 1 (news fresh at the crash), "
        "the rest spread over about the time gossip takes to reach everyone.",
        "histogram",
    )
with c2:
    chart(
        cache.figure(messages, g, sw_config),
        "Messages per round: gossip and SWIM grow with n, all-to-all heartbeats with n².",
        "messages",
    )

st.header("2 · Failure detectors: phi accrual and SWIM")
widgets("jitter", "pause", "threshold", "min_std", "acceptable_pause")
widgets("k", "suspicion")
headlines.row(L.detector_headlines(hb, sw, trials), arrow="auto")
chart(
    cache.figure(charts.phi_figure, hb),
    "phi over time for one watched node: the crosses mark when each model convicts "
    "after the crash; a shaded band is a false conviction of a node that was only late.",
    "phi",
)
c1, c2 = st.columns(2)
with c1:
    chart(
        cache.figure(charts.swim_figure, sw),
        "SWIM: live members that suspect the crashed member, then declare it dead once "
        "the suspicion times out.",
        "swim",
    )
with c2:
    chart(
        cache.figure(charts.swim_trials_figure, trials),
        f"{L.SWIM_TRIALS} crashes: periods until someone first probes the "
        "dead member, against the paper's geometric law.",
        "trials",
    )

st.header("3 · Anti-entropy: Merkle trees")
widgets("keys", "changed", "missing", "depth")
headlines.row(L.merkle_headlines(rp), arrow="auto")
c1, c2 = st.columns([1.3, 1])
with c1:
    chart(
        cache.figure(trees, rp),
        "Both replicas' trees (top 7 levels at "
        "most): red hashes differ, green were compared and matched, grey were never looked at.",
        "trees",
    )
with c2:
    chart(
        cache.figure(depths, rp),
        "The same repair at every depth: deeper trees "
        "compare more hashes and stream fewer keys that already agreed.",
        "sweep",
    )

st.header("4 · Tombstones: a delete that comes back")
widgets("gc_grace", "repair_every", "down_days")
headlines.row((L.tombstone_headline(tb),), arrow="auto")
chart(
    cache.figure(charts.tombstone_figure, tb),
    f"What each replica holds for {tombstones.KEY}, day by day.",
    "tombstones",
)
st.dataframe(pd.DataFrame(tb.events, columns=["day", "event"]), hide_index=True)

P.sync()
page_end(
    P,
    title=L.TITLE,
    why="\n\n".join((L.gossip_why(g), L.detector_why(hb, sw, trials), L.merkle_why(rp), L.tombstone_why(tb))),
    try_this=L.TRY_THIS,
    exports=(
        Export("Detections (CSV)", lambda: pd.DataFrame(L.detection_rows(g)), "kv_health_gossip.csv"),
        Export("phi over time (CSV)", lambda: pd.DataFrame(L.phi_rows(hb)), "kv_health_phi.csv"),
        Export("Repair by depth (CSV)", lambda: pd.DataFrame(L.repair_rows(rp)), "kv_health_merkle.csv"),
    ),
    references=L.REFERENCES,
    headlines=L.headlines(g, hb, sw, trials, rp, tb),
)
