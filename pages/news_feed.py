"""News feed: a post fans out through a queue of batches and K workers, on write, on read, or hybrid."""

import pandas as pd
import streamlit as st

from lessons import news_feed as L
from sdcore.charts import feed as charts
from sdcore.feed import build_world, feed_graph, graph_config, neighbourhood, simulate_all, world_config
from ui import cache, headlines, page, tables
from ui.ending import Export, page_end
from ui.errors import boundary
from ui.params import PageParams

P = PageParams("feed", L.PARAMS, {p.name: dict(p.values) for p in L.PRESETS}, L.DEFAULT_PRESET)
ss = st.session_state


@cache.shared(max_entries=4, spinner="Building the follower graph…")
def cached_graph(graph_settings):
    return feed_graph(graph_settings)  # read-only arrays: shared by every run on the same graph


@cache.shared(max_entries=6, spinner=False)
def cached_world(world_settings):
    return build_world(world_settings, cached_graph(graph_config(world_settings)))  # posts, loads, gates


@cache.shared(max_entries=6, spinner="Simulating the fanout…")
def cached_runs(config):
    # immutable, shared by every session; a fanout knob (workers, batch, cache, threshold) reuses the world
    return simulate_all(config, world=cached_world(world_config(config)))


@cache.shared(max_entries=8, spinner=False)
def cached_hood(graph_settings, author: int):
    return neighbourhood(cached_graph(graph_settings), author, 60, graph_settings.seed)  # the graph's alone


@cache.shared(max_entries=6, spinner=False)
def cached_why(config) -> str:
    # a pure function of the runs, the same for every strategy shown: once per experiment
    return L.explanation(cached_runs(config))


def step(delta: int) -> None:
    ss["feed.cursor"] = max(0, min(100, ss["feed.cursor"] + delta))


def play_toggled() -> None:
    if ss["feed.play"] and ss["feed.cursor"] >= 100:
        ss["feed.cursor"] = 0  # playing from the end starts over


page.start(L.TITLE, L.IDEA)
P.preset_row(L.describe)
P.widget("strategy", horizontal=True)
for names in (
    ("users", "follows", "tail", "posts"),
    ("celebrity_followers", "celebrity_posts", "celebrity_threshold", "active_share"),
    ("post_rate", "read_rate", "workers", "worker_throughput"),
):
    for col, name in zip(st.columns(4), names, strict=True):
        P.widget(name, col)
edges = None
with st.expander("Batches, cache, deletes, authentication, rate limits, seed, your own graph"):
    for names in (
        ("batch_size", "cache_size", "delete_share", "unfollow_share"),
        ("unauthenticated_share", "publish_limit", "read_limit"),
    ):
        for col, name in zip(st.columns(4), names, strict=False):
            P.widget(name, col)
    P.widget("seed")
    upload = st.file_uploader(
        "Follower graph as CSV (follower,followee per line; at most 2 MB)",
        type=["csv", "txt"],
        help="Replaces the generated graph; the users slider then follows the file.",
    )
    if upload is not None:
        with boundary():
            edges = L.read_upload(upload)
        st.text(
            f"Using the uploaded graph: {edges.edges:,} follows among {edges.users:,} users "
            f"({edges.duplicates:,} repeated lines ignored), sha256 {edges.sha256[:12]}…"
        )
P.reset_button()
v = P.values()
with boundary():
    config = L.config_from(v, edges)
    runs = cached_runs(config)
P.sync()
run = runs[v["strategy"]]

heads = L.headlines(runs, v["strategy"])
headlines.row(heads, arrow="off")

guess = L.prediction(run)
if guess is not None:
    st.subheader("Predict, then reveal")
    pick = st.radio(guess.question, guess.options, index=None, horizontal=True, key="feed.guess")
    if pick is not None:
        right = guess.options.index(pick) == guess.answer
        (st.success if right else st.warning)(("Right: " if right else "Not quite: ") + guess.reveal)

left, right_col = st.columns([1, 1.3])
with left:
    hood = cached_hood(graph_config(config), 0)
    st.plotly_chart(cache.figure(charts.neighbourhood_figure, hood, run), key="hood")
    st.caption(L.caption_neighbourhood(run, hood))
with right_col:
    st.plotly_chart(cache.figure(charts.amplification_figure, runs), key="amplification")
    st.caption(L.caption_amplification(runs))

st.subheader("The fanout in virtual time")
st.toggle(
    "Play",
    key="feed.play",
    on_change=play_toggled,
    help="Move the cursor on by 5% every 0.8 s (reruns only while on).",
)


@st.fragment(run_every=0.8 if ss.get("feed.play") else None)
def fanout_view() -> None:
    if ss.get("feed.play"):
        if ss["feed.cursor"] >= 100:
            ss["feed.play"] = False
            st.rerun()
        step(5)
    b = st.columns([0.6, 0.6, 8])
    b[0].button("◀", key="feed.back", on_click=step, args=(-5,), help="5% back")
    b[1].button("▶", key="feed.next", on_click=step, args=(5,), help="5% on")
    P.widget("cursor", b[2], label_visibility="collapsed")
    t = L.cursor_time(run, ss["feed.cursor"])
    st.markdown(L.cursor_sentence(run, ss["feed.cursor"]))
    q, r = st.columns(2)
    with q:
        st.plotly_chart(cache.figure(charts.queue_figure, run, t), key="queue")
        st.caption(L.caption_queue(run))
    post = L.headline_post(run)
    with r:
        if post is not None:
            st.plotly_chart(cache.figure(charts.reached_figure, run, post, t), key="reached")
            st.caption(L.caption_reached(run, post))
        else:
            st.info("No post is fanned out under this strategy: every feed merges at read time.")


fanout_view()
c1, c2 = st.columns(2)
with c1:
    st.plotly_chart(cache.figure(charts.delay_figure, run), key="delay")
    st.caption(L.caption_delay(run))
with c2:
    P.widget("deadline")
    st.markdown(L.workers_sentence(run, v["deadline"]))
st.subheader("Every strategy on the same graph and posts")
tables.fit(L.cost_rows(runs))
st.caption(
    "Writes/s and list reads/s at the rates set above; a post's delay is until its last follower has it."
)

st.subheader("One user's feed, newest first")
user, note = L.clamp_user(run, P.widget("user"))
if note:
    st.info(note)
st.dataframe(pd.DataFrame(L.feed_rows(run, user), columns=L.FEED_COLUMNS), hide_index=True)
st.caption(L.feed_caption(run, user))

with st.expander("Where the numbers come from"):
    st.markdown(L.quotes_markdown())
page_end(
    P,
    title=L.TITLE,
    why=cached_why(config),
    try_this=L.TRY_THIS,
    exports=(
        Export("Cost table (CSV)", lambda: pd.DataFrame(L.cost_rows(runs)), "news_feed_costs.csv"),
        Export(
            "Every post under every strategy (CSV)",
            lambda: pd.DataFrame(L.cost_csv_rows(runs)),
            "news_feed_posts.csv",
        ),
    ),
    references=L.REFERENCES,
    headlines=heads,
)
