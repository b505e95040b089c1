"""Sharding: the shard key, re-sharding, the celebrity problem, joins and de-normalization."""

import pandas as pd
import streamlit as st

from lessons import sharding as L
from sdcore.charts import sharding as charts
from sdcore.sharding import (
    Dataset,
    DatasetConfig,
    ShardingConfig,
    ShardingResult,
    Workload,
    make_dataset,
    run_sharding,
    sample_ids,
    skew_sample_config,
    skew_table,
)
from ui import cache, headlines, page, tables
from ui.ending import Export, page_end
from ui.errors import boundary
from ui.params import PageParams

P = PageParams("sharding", L.PARAMS, {p.name: dict(p.values) for p in L.PRESETS}, L.DEFAULT_PRESET)
ss = st.session_state


@cache.shared(max_entries=8, spinner="Generating the posts…")
def cached_dataset(data: DatasetConfig) -> Dataset:
    return make_dataset(data)  # shared with every run on it: its key columns, hashes and placements too


@cache.shared(max_entries=16, spinner="Sharding the posts…")
def cached_run(cfg: ShardingConfig) -> ShardingResult:
    return run_sharding(cfg, cached_dataset(cfg.dataset_config()))  # immutable: shared by every session


@cache.shared(max_entries=16, spinner="Every key under every strategy…")
def cached_skew_figure(data: DatasetConfig, shards: int, workload: Workload, vnodes: int):
    return charts.skew_heatmap(skew_table(cached_dataset(data), shards, workload, vnodes))  # never changed


page.start(L.TITLE, L.IDEA)
P.preset_row(lambda name: f"{L.PRESET_TABLE[name].description} {L.PRESET_TABLE[name].shows}")
for row in (("shard_key", "strategy", "shards", "new_shards"), ("users", "posts_per_user", "exponent",
                                                                "celebrity_share")):  # fmt: skip
    for c, name in zip(st.columns(4), row, strict=True):
        P.widget(name, c)
with st.expander("Workload, capacity and mitigations"):
    rest = ("reads_per_s", "writes_per_s", "network_mb_per_s", "scale", "vnodes", "salt_k", "load_factor",
            "cache_items", "follows", "seed")  # fmt: skip
    cols = st.columns(5)
    for i, name in enumerate(rest):
        P.widget(name, cols[i % 5])
P.reset_button()
with boundary():
    cfg = L.config(P.values())
    r = cached_run(cfg)
P.sync()

heads = L.headlines(r)
headlines.row(heads, arrow="auto")

st.subheader("Per shard: size and load")
left, right = st.columns([1.15, 1])
with left:
    st.plotly_chart(
        cache.figure(charts.shard_figure, r.loads, cfg.read_capacity, cfg.write_capacity), key="shards"
    )
    st.caption(L.shard_caption(r))
with right:
    sample = skew_sample_config(cfg)
    st.plotly_chart(cached_skew_figure(sample, cfg.shards, cfg.workload(), cfg.vnodes), key="skew")
    st.caption(L.skew_caption(r, sample.posts))

st.subheader(f"Re-sharding: {cfg.shards} → {cfg.new_shards} shards")
token = (cfg.shard_key, cfg.strategy, cfg.shards, cfg.new_shards)
g = st.columns([2, 1, 3])
guess = g[0].slider(f"Predict first: % of rows {L.STRATEGIES[cfg.strategy].label} moves", 0, 100, 50,
                    key="sharding.guess", help="Then reveal the answer for every strategy.")  # fmt: skip
g[1].button(
    "Reveal", key="sharding.reveal", type="primary", on_click=lambda: ss.update({"sharding.shown": token})
)
if ss.get("sharding.shown") == token:
    g[2].info(L.prediction_feedback(guess, r), icon=":material/lightbulb:")
    left, right = st.columns([1, 1])
    with left:
        st.plotly_chart(cache.figure(charts.result_movement_figure, r), key="moved")
        st.caption(L.movement_caption(r))
    with right:
        st.plotly_chart(cache.figure(charts.migration_figure, r.migration), key="migration")
        st.caption(L.migration_caption(r))
    st.dataframe(
        pd.DataFrame(L.movement_rows(r)),
        hide_index=True,
        column_config={c: st.column_config.NumberColumn(format="percent") for c in ("share moved", "theory")},
    )
    if cfg.strategy == "slots":
        st.plotly_chart(cache.figure(charts.result_slot_map_figure, r), key="slots")
        st.caption(L.slot_caption(r))
else:
    g[2].caption(
        "Move the slider to your guess, then reveal what every strategy moves and how long it takes."
    )

st.subheader("The celebrity problem: one hot key")
left, right = st.columns([1.2, 1])
with left:
    st.plotly_chart(cache.figure(charts.hot_shard_figure, r.hot), key="hot")
with right:
    st.caption(L.hot_caption(r))
    shares = " · ".join(f"top {n}: {L.pct(s)}" for n, s in r.hot.top_shares)
    st.caption(f"Share of all requests on the hottest key values — {shares}.")
tables.fit(L.mitigation_rows(r))

st.subheader("Queries and joins across shards")
st.dataframe(pd.DataFrame(L.query_rows(r)), hide_index=True)
st.caption(
    "A query routed by the shard key asks only the shards holding its rows; any other asks every shard "
    "(local indexes) or one global-index partition plus the holders."
)
left, right = st.columns([1.4, 1])
with left:
    st.plotly_chart(cache.figure(charts.join_figure, r.feed), key="join")
with right:
    st.caption(L.join_caption(r))

st.subheader("Key slots and sharded ids")
left, right = st.columns([1, 1])


@st.fragment
def keyslot_box() -> None:
    text = st.text_input(
        "Type a Redis key",
        "{user1000}.following",
        max_chars=200,
        key="sharding.slotkey",
        help="Hash tags: only the part between the first { and the next } is hashed.",
    )
    st.code("\n".join(L.keyslot_lines(text)), language=None)
    st.caption(L.KEYSLOT_HELP)


with left:
    keyslot_box()
with right:
    st.dataframe(pd.DataFrame(L.id_rows(sample_ids(r.dataset, seed=cfg.seed))), hide_index=True)
    st.caption(
        "Instagram-style 64-bit ids: 41 bits of milliseconds, 13 bits of logical shard, 10 of sequence. "
        "Sorted by id is sorted by time, and each id names its shard."
    )

page_end(
    P,
    title=L.TITLE,
    why=L.why(r),
    try_this=L.TRY_THIS,
    exports=(
        Export("Per shard (CSV)", lambda: pd.DataFrame(L.shard_rows(r)), "shards.csv"),
        Export("Re-sharding (CSV)", lambda: pd.DataFrame(L.movement_rows(r)), "resharding.csv"),
        Export("Hot-key mitigations (CSV)", lambda: pd.DataFrame(L.mitigation_rows(r)), "mitigations.csv"),
    ),
    references=L.REFERENCES,
    headlines=heads,
)
