"""Key-value store: N replicas, a write quorum W and a read quorum R. When is a read stale, and for how long?"""

import pandas as pd
import streamlit as st

from lessons import kv_quorum as kv
from sdcore.charts import kvstore as charts
from sdcore.charts.hashing import node_colours
from sdcore.kvstore import (
    MAX_TABLE_TRIALS,
    consistency_level_count,
    quorum_overlap,
    quorum_table,
    simulate_staleness,
)
from sdcore.kvstore.placement import demo_placement
from ui import cache, page, tables
from ui.ending import Export, page_end
from ui.errors import boundary
from ui.params import PageParams

P = PageParams("kv", kv.PARAMS, kv.PRESETS, kv.DEFAULT_PRESET)
ss = st.session_state


@cache.shared(max_entries=32, spinner="Simulating writes and reads…")  # frozen result, read-only arrays
def cached_result(n: int, r: int, w: int, latency: str, rates: tuple, trials: int, seed: int):
    return simulate_staleness(n, r, w, kv.latency_model(latency, rates), [0.0], trials, seed)


@cache.shared(max_entries=8, spinner="Simulating every (R, W)…")  # the page never changes the table
def cached_table(n: int, latency: str, rates: tuple, trials: int, seed: int) -> pd.DataFrame:
    return quorum_table(n, kv.latency_model(latency, rates), min(trials, MAX_TABLE_TRIALS), seed)


@cache.shared(max_entries=64)
def overlap_figure(n: int, r: int, w: int):
    return charts.quorum_figure(quorum_overlap(n, r, w))


def curve_figure(result, t: float):  # drawn once per result and cursor (ui.cache.figure)
    return charts.consistency_curve_figure(
        [kv.on_grid(result, kv.curve_span(result, t))],
        highlight_t_ms=t,
        target_probability=None if result.strong else 0.999,
    )


@cache.shared(max_entries=24)
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


page.start(kv.TITLE, kv.IDEA)
P.preset_row()
cols = st.columns(4)
n = P.widget("n", cols[0])
r, w, clamped = kv.clamp_quorums(n, P.value("r"), P.value("w"))
for name, value in (("r", r), ("w", w)):
    P.clamp(name, value)  # before their sliders are drawn
for text in clamped:
    st.warning(text, icon=":material/tune:")
P.widget("w", cols[1], hi=max(n, 2), disabled=n == 1)
P.widget("r", cols[2], hi=max(n, 2), disabled=n == 1)
P.widget("t", cols[3])
cols = st.columns([2, 1.5, 1])
latency = P.widget("latency", cols[0])
P.widget("trials", cols[1])
P.widget("seed", cols[2])
with st.expander("Latency model: the four message legs", expanded=latency == kv.EXPONENTIAL):
    for col, name in zip(st.columns(4), kv.RATES, strict=True):
        P.widget(name, col, disabled=latency != kv.EXPONENTIAL)
    legs_slot = st.empty()
P.reset_button()
v = P.values()
rates = tuple(v[name] for name in kv.RATES)
with boundary():
    kv.latency_model(latency, rates)  # checks the rates before anything is simulated
    result = cached_result(n, r, w, latency, rates, v["trials"], v["seed"])
    table_key = (n, latency, rates, v["trials"], v["seed"])
    table = cached_table(*table_key)
P.sync()
legs_slot.plotly_chart(static_figure("legs", latency, rates), key="legs")
t = v["t"]
heads = kv.headlines(result, t)

st.subheader("Predict first")
state = (n, r, w, latency, rates, v["trials"], v["seed"])
g = st.columns([3, 1])
guess = g[0].slider(kv.GUESS_LABEL, 0, 100, 30, key="kv.guess")
g[1].button("Reveal", type="primary", on_click=ss.__setitem__, args=("kv.revealed", state))
if ss.get("kv.revealed") == state:
    for col, h in zip(st.columns(3), kv.reveal_headlines(guess, result), strict=True):
        col.metric(h.label, h.value, h.delta, delta_color=h.delta_color)

st.subheader("Do the read and the write overlap?")
verdict, overlap = kv.verdict(n, r, w), quorum_overlap(n, r, w)
left, right = st.columns([1.2, 1])
with left:
    st.plotly_chart(overlap_figure(n, r, w), key="quorum")
    st.caption(kv.overlap_caption(overlap))
with right:
    (st.success if verdict.strong else st.warning)(f"**{verdict.headline}.** {verdict.reason}")
    st.metric(heads[0].label, heads[0].value, help=heads[0].help)
    st.markdown(kv.levels_sentence(n, r, w))
    st.dataframe(kv.levels_frame(n, r, w), hide_index=True)
    st.caption("Set R and W by level (read / write):")
    b = st.columns(2)
    for i, (rl, wl) in enumerate(kv.LEVEL_BUTTONS):
        b[i % 2].button(
            f"{rl} / {wl}",
            on_click=P.edit,
            width="stretch",
            kwargs={"r": consistency_level_count(rl, n), "w": consistency_level_count(wl, n)},
        )

st.subheader("How likely is a read to return the last write?")
st.markdown(kv.consistency_sentence(result, t))
curve = kv.on_grid(result, kv.curve_span(result, t))
left, right = st.columns([2.4, 1])
with left:
    st.plotly_chart(cache.figure(curve_figure, result, t), key="curve")
    st.caption(kv.curve_caption(result))
with right:
    for h in heads[1:]:
        st.metric(h.label, h.value, help=h.help)

st.subheader(f"Every (R, W) with N = {n}")
num = st.column_config.NumberColumn
st.dataframe(
    table.assign(yours=(table.r == r) & (table.w == w))[list(kv.TABLE_COLUMNS)],
    hide_index=True,
    column_config={c: num(label, format=f) if f else label for c, (label, f) in kv.TABLE_COLUMNS.items()},
)
st.caption(kv.trials_caption(v["trials"]))
left, right = st.columns([1.3, 1])
with left:
    st.plotly_chart(static_figure("tradeoff", *table_key), key="tradeoff")
    st.caption(kv.tradeoff_caption(table))
with right:
    st.plotly_chart(static_figure("heatmap", *table_key), key="heatmap")
    st.caption(kv.HEATMAP_CAPTION)

st.subheader("Where the replicas live")
ring, placements = demo_placement(n)
left, right = st.columns([1.6, 1])
with left:
    st.plotly_chart(static_figure("ring", n), key="ring")
    st.caption(kv.ring_caption(ring, placements))
with right:
    tables.fit(kv.preference_rows(placements))
    st.caption(kv.COORDINATOR_CAPTION)

page_end(
    P,
    title=kv.TITLE,
    why=kv.explanation(result),
    try_this=kv.TRY_THIS,
    exports=(
        Export(
            "Consistency curve (CSV)",
            lambda: pd.DataFrame({"t_ms": curve.t_ms, "p_consistent": curve.consistent}),
            "consistency_curve.csv",
        ),
        Export("Every (R, W) (CSV)", lambda: table, "quorum_table.csv"),
    ),
    references=kv.REFERENCES,
    headlines=heads,
)
