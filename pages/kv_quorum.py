"""Key-value store: N replicas, a write quorum W and a read quorum R. When is a read stale, and for how long?"""

import pandas as pd
import streamlit as st

from lessons import kv_quorum as kv
from sdcore.charts import kvstore as charts
from sdcore.charts.hashing import node_colours
from sdcore.kvstore import MAX_SIMULATED_REPLICAS as MAX_N
from sdcore.kvstore import (
    MAX_TABLE_TRIALS,
    consistency_level_count,
    quorum_overlap,
    quorum_table,
    simulate_staleness,
    t_for_probability,
)
from sdcore.kvstore.placement import demo_placement
from ui import explain, export, page
from ui.errors import boundary
from ui.params import PageParams, Param

RATES = {
    "rate_w": "W: write request",
    "rate_a": "A: write ack",
    "rate_r": "R: read request",
    "rate_s": "S: read response",
}
P = PageParams(
    "kv",
    [
        Param("n", 3, lo=1, hi=MAX_N),
        Param("r", 2, lo=1, hi=MAX_N),
        Param("w", 2, lo=1, hi=MAX_N),
        Param("t", 10, options=kv.T_CURSOR_MS),
        Param("latency", "linkedin-ssd", options=kv.LATENCY_CHOICES),
        *(Param(name, 1.0, lo=0.01, hi=100.0) for name in RATES),
        Param("trials", 100_000, options=kv.TRIALS_CHOICES),
        Param("seed", 0, lo=0, hi=2**31 - 1),
    ],
    {name: p.params for name, p in kv.PRESETS.items()},
    "Dynamo default (3,2,2)",
)


@st.cache_data(max_entries=32, show_spinner="Simulating writes and reads…")
def cached_result(n: int, r: int, w: int, latency: str, rates: tuple, trials: int, seed: int):
    return simulate_staleness(n, r, w, kv.latency_model(latency, rates), [0.0], trials, seed)


@st.cache_data(max_entries=8, show_spinner="Simulating every (R, W)…")
def cached_table(n: int, latency: str, rates: tuple, trials: int, seed: int) -> pd.DataFrame:
    return quorum_table(n, kv.latency_model(latency, rates), min(trials, MAX_TABLE_TRIALS), seed)


@st.cache_resource(max_entries=24, show_spinner=False)
def static_figure(kind: str, *key):
    """A figure that R, W and t leave alone, built once per parameters (plotly's validation costs ~15-30 ms a
    figure). Shared by every session, so never mutated: st.plotly_chart copies it with to_dict()."""
    if kind == "legs":
        return charts.leg_latency_figure(kv.latency_model(*key))
    if kind == "ring":
        ring, placements = demo_placement(*key)
        return charts.preference_ring_figure(ring.ring_points(), placements, node_colours(ring.nodes))
    table = cached_table(*key)
    return (
        charts.latency_consistency_figure(table)
        if kind == "tradeoff"
        else charts.quorum_heatmap_figure(table)
    )


page.start(
    "Key-value store: quorums",
    "Each key lives on N replicas. A write returns once W of them acknowledge it, a read once R of them answer. "
    "With R + W > N every read overlaps the last write; with less, reads and writes are faster but a read can "
    "be stale — how often, and for how long after the write, depends on the message latencies.",
)
P.preset_row(lambda name: kv.PRESETS[name].description)
cols = st.columns(4)
n = cols[0].slider(
    "N: replicas per key", 1, MAX_N, help="How many nodes store a copy of each key.", **P.bind("n")
)
r, w, clamped = kv.clamp_quorums(n, P.value("r"), P.value("w"))
st.session_state[P.key("r")], st.session_state[P.key("w")] = r, w  # before their sliders are drawn
for text in clamped:
    st.warning(text, icon=":material/tune:")
cols[1].slider(
    "W: write quorum",
    1,
    max(n, 2),
    disabled=n == 1,
    help="A write returns after W replicas acknowledge it (it still goes to all N).",
    **P.bind("w"),
)
cols[2].slider(
    "R: read quorum",
    1,
    max(n, 2),
    disabled=n == 1,
    help="A read returns after R replicas answer; the newest version among them wins.",
    **P.bind("r"),
)
cols[3].select_slider(
    "t after commit (ms)",
    kv.T_CURSOR_MS,
    format_func=lambda t: f"{t:g} ms",
    help="How long after the write commits the read starts: the cursor on the curve.",
    **P.bind("t"),
)
cols = st.columns([2, 1.5, 1])
latency = cols[0].selectbox(
    "Message latencies",
    kv.LATENCY_CHOICES,
    format_func=kv.latency_label,
    help="Published production fits (Bailis et al. 2012), or exponential legs you set.",
    **P.bind("latency"),
)
cols[1].select_slider(
    "Simulated writes and reads",
    kv.TRIALS_CHOICES,
    format_func=lambda k: f"{k:,}",
    help="Monte Carlo trials: more is smoother and slower.",
    **P.bind("trials"),
)
cols[2].number_input("Seed", 0, 2**31 - 1, help="Same seed, same simulated latencies.", **P.bind("seed"))
with st.expander("Latency model: the four message legs", expanded=latency == kv.EXPONENTIAL):
    cols = st.columns(4)
    for col, (name, label) in zip(cols, RATES.items(), strict=True):
        col.number_input(
            f"{label} rate (/ms)",
            0.01,
            100.0,
            step=0.1,
            format="%.2f",
            disabled=latency != kv.EXPONENTIAL,
            help="Exponential leg: mean delay 1/rate ms. Only for 'Exponential legs'.",
            **P.bind(name),
        )
    legs_slot = st.empty()
P.reset_button()
v = P.values()
rates = tuple(v[name] for name in RATES)
with boundary():
    kv.latency_model(latency, rates)  # checks the rates before anything is simulated
    result = cached_result(n, r, w, latency, rates, v["trials"], v["seed"])
    table_key = (n, latency, rates, v["trials"], v["seed"])
    table = cached_table(*table_key)
query = P.sync()
legs_slot.plotly_chart(static_figure("legs", latency, rates), key="legs")

st.subheader("Predict first")
closed, measured = kv.stale_at_commit(n, r, w, result)
state = (n, r, w, latency, rates, v["trials"], v["seed"])
g = st.columns([3, 1])
guess = g[0].slider(
    "Your guess: % of reads started right at commit (t = 0) that return stale data",
    0,
    100,
    30,
    key="kv.guess",
)
g[1].button("Reveal", type="primary", on_click=st.session_state.__setitem__, args=("kv.revealed", state))
if st.session_state.get("kv.revealed") == state:
    m = st.columns(3)
    m[0].metric("Your guess", f"{guess}%")
    for col, label, value in (
        (m[1], "Random quorums (closed form)", closed),
        (m[2], "WARS simulation at t = 0", measured),
    ):
        col.metric(label, f"{value:.2%}", f"{100 * value - guess:+.1f} pts vs your guess", delta_color="off")

st.subheader("Do the read and the write overlap?")
verdict = kv.verdict(n, r, w)
left, right = st.columns([1.2, 1])
with left:
    st.plotly_chart(charts.quorum_figure(quorum_overlap(n, r, w)), key="quorum")
    st.caption(
        "The worst case: the write lands on the first W replicas, the read asks the last R. Notice a green "
        "replica in both quorums exactly when R + W > N."
    )
with right:
    (st.success if verdict.strong else st.warning)(f"**{verdict.headline}.** {verdict.reason}")
    st.metric(
        "Stale reads at commit, random quorums (closed form)",
        f"{closed:.1%}",
        help="C(N−W, R) / C(N, R): "
        "the chance a random read quorum misses every replica that acknowledged the write.",
    )
    st.markdown("Cassandra names these counts consistency levels: " + kv.describe_levels(n, r, w) + ".")
    st.dataframe(kv.levels_frame(n, r, w), hide_index=True)
    st.caption("Set R and W by level (read / write):")
    b = st.columns(2)
    for i, (rl, wl) in enumerate([("QUORUM", "QUORUM"), ("ONE", "ALL"), ("ALL", "ONE"), ("ONE", "ONE")]):
        b[i % 2].button(
            f"{rl} / {wl}",
            on_click=P.edit,
            width="stretch",
            kwargs={"r": consistency_level_count(rl, n), "w": consistency_level_count(wl, n)},
        )

st.subheader("How likely is a read to return the last write?")
t = v["t"]
st.markdown(kv.consistency_sentence(result, t))
curve = kv.on_grid(result, kv.curve_span(result, t))
t999 = t_for_probability(result, 0.999)
left, right = st.columns([2.4, 1])
with left:
    st.plotly_chart(
        charts.consistency_curve_figure(
            [curve], highlight_t_ms=t, target_probability=None if result.strong else 0.999
        ),
        key="curve",
    )
    st.caption(
        "Reads started longer after the commit find the write on more replicas: notice how fast the curve "
        "climbs, and that a strong quorum is a flat line at 100%."
    )
with right:
    st.metric(f"Consistent reads at t = {t:g} ms", f"{result.probability_at(t):.2%}")
    st.metric(
        "99.9% of reads consistent after",
        f"{t999:.3g} ms",
        help="The smallest t after commit at which 99.9% of the simulated reads return the write.",
    )
    for op, q in (("Read", result.read_latency), ("Write", result.write_latency)):
        st.metric(
            f"{op} latency, median · p99.9",
            f"{q.p50:.2f} · {q.p999:.2f} ms",
            help=f"{op}s wait for the "
            f"{'R' if op == 'Read' else 'W'}-th fastest replica: p50 / p99 / p99.9 = {q.p50:.3g} / {q.p99:.3g} / {q.p999:.3g} ms.",
        )

st.subheader(f"Every (R, W) with N = {n}")
shown = table.assign(yours=(table.r == r) & (table.w == w))
num = st.column_config.NumberColumn
st.dataframe(
    shown[
        [
            "yours",
            "r",
            "w",
            "strong",
            "closed_form_staleness",
            "p_consistent",
            "read_p999_ms",
            "write_p999_ms",
        ]
    ],
    hide_index=True,
    column_config={
        "yours": st.column_config.CheckboxColumn("your R, W"),
        "r": "R",
        "w": "W",
        "strong": "R + W > N",
        "closed_form_staleness": num("stale, random quorums", format="percent"),
        "p_consistent": num("consistent at t = 0 (WARS)", format="percent"),
        "read_p999_ms": num("read p99.9 (ms)", format="%.3g"),
        "write_p999_ms": num("write p99.9 (ms)", format="%.3g"),
    },
)
st.caption(
    f"From {min(v['trials'], MAX_TABLE_TRIALS):,} simulated writes and reads shared by every row"
    + (" (the table's limit; the curve above uses more)" if v["trials"] > MAX_TABLE_TRIALS else "")
    + "."
)
left, right = st.columns([1.3, 1])
with left:
    st.plotly_chart(static_figure("tradeoff", *table_key), key="tradeoff")
    st.caption(
        "Each point is one (R, W): notice that the strong quorums, at 100%, mostly sit further right — "
        "consistency costs tail latency."
    )
with right:
    st.plotly_chart(static_figure("heatmap", *table_key), key="heatmap")
    st.caption(
        "P(consistent) at t = 0 for each R (row) and W (column): below the dashed staircase every cell is 100%."
    )

st.subheader("Where the replicas live")
ring, placements = demo_placement(n)
left, right = st.columns([1.6, 1])
with left:
    st.plotly_chart(static_figure("ring", n), key="ring")
    st.caption(
        f"{len(ring.nodes)} nodes, {ring.vnodes} points each. From each key (★) walk clockwise and keep the first N "
        "distinct nodes"
        + (
            ": notice the grey crosses, points skipped because their node already holds a copy."
            if any(p.skipped_points for p in placements)
            else "."
        )
    )
with right:
    st.dataframe(
        pd.DataFrame(
            [
                {"key": p.key, "coordinator": p.replicas[0], "preference list": ", ".join(p.replicas)}
                for p in placements
            ]
        ),
        hide_index=True,
    )
    st.caption("The coordinator (first node) sends the write to all N and waits for W acks.")

explain.why(kv.explanation(result))
explain.try_this(
    [
        "Pick 'Five replicas' (N = 5, R = W = 2). Predict the stale fraction, reveal it, then raise R to 3.",
        "'Eventual (3,1,1) on LinkedIn disks': how long until 99.9% of reads are consistent? Switch to SSDs: why "
        "does the window shrink so much, when only the write leg changed?",
        "Exponential legs: slow the write leg (W rate 0.1/ms), then instead slow the read-request leg R. Why does a "
        "slower read request make stale reads *rarer*?",
        "Interview: why do Cassandra users pick QUORUM/QUORUM? What does R = 1, W = N cost when a replica is down? "
        "Does a sloppy quorum with hinted handoff keep the R + W > N guarantee?",
    ]
)
st.subheader("Export")
e = st.columns(2)
with e[0]:
    export.csv_download(
        "Consistency curve (CSV)",
        lambda: pd.DataFrame({"t_ms": curve.t_ms, "p_consistent": curve.consistent}),
        "consistency_curve.csv",
        key="csv_curve",
    )
with e[1]:
    export.csv_download("Every (R, W) (CSV)", lambda: table, "quorum_table.csv", key="csv_table")
export.share_link(query)
explain.references(
    [
        ("Bailis et al. 2012, Probabilistically Bounded Staleness (VLDB)", "https://arxiv.org/abs/1204.6082"),
        (
            "DeCandia et al. 2007, Dynamo",
            "https://www.allthingsdistributed.com/files/amazon-dynamo-sosp2007.pdf",
        ),
        (
            "Apache Cassandra: tunable consistency",
            "https://cassandra.apache.org/doc/latest/cassandra/architecture/dynamo.html",
        ),
    ]
)
