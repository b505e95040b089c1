"""The news-feed page's words: parameters, presets, headlines, captions and the "why" computed from the run,
the predict-then-reveal question, try-this prompts and references (with the quotes the numbers come from).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from lessons.base import Headline, Param, Preset, Reference, num, pct, plural, preset_table, seconds
from sdcore.feed import (
    ENTRY_BYTES,
    MAX_EDGE_LIST_BYTES,
    MAX_LOADS,
    RATE_LIMITED,
    STRATEGIES,
    UNAUTHORIZED,
    FeedConfig,
    FeedRun,
    Neighbourhood,
    batch_count,
    capacity_needed,
    fanout_makespan,
    parse_edge_list,
    workers_for_deadline,
)
from sdcore.feed.fanout import LOOKUP_SECONDS

TITLE = "News feed: fanout on write, on read, and the celebrity"
IDEA = (
    "A post has to reach the feed of everyone who follows its author. Push writes it into each follower's "
    "feed cache when it is published (fanout on write), pull reads every followee's posts when a feed is "
    "loaded (fanout on read), and the hybrid pushes for ordinary authors and pulls for celebrities. Here a "
    "fanout service splits followers into batches on a queue, K workers write them in virtual time, and "
    "every cost is counted: writes per post, reads per feed load, how long the last follower waits, memory."
)

TWITTER_POSTS_PER_S = 4_600  # average, 2012 (12,000 at peak)
TWITTER_LOADS_PER_S = 300_000

# -- parameters --------------------------------------------------------------------------------------------

_S = {name: s.label for name, s in STRATEGIES.items()}


def _numbers(options: tuple[int, ...]) -> dict[int, str]:
    # whole-number options: a float option would not survive the URL ("4600" is not "4600.0")
    return {o: num(o) for o in options}


PARAMS: tuple[Param, ...] = (
    Param(
        "strategy",
        "push",
        options=tuple(STRATEGIES),
        kind="radio",
        labels=_S,
        label="Strategy shown in detail",
        help="The cost table always runs all four on the same graph and posts.",
    ),
    Param(
        "users",
        10_000,
        lo=1_000,
        hi=100_000,
        step=1_000,
        label="Users in the graph",
        help="Accounts in the scale-free follower graph (the celebrity's extra followers come on top).",
    ),
    Param(
        "follows",
        20,
        lo=2,
        hi=200,
        step=1,
        label="Accounts each user follows (mean)",
        help="Followees per user: 1 + a Poisson draw with this mean. Pull reads this many lists per load.",
    ),
    Param(
        "tail",
        2.3,
        lo=2.1,
        hi=3.5,
        step=0.1,
        label="Power-law exponent of follower counts",
        help="Lower means a heavier tail: a few accounts with very many followers.",
    ),
    Param(
        "celebrity_followers",
        0,
        options=(0, 10_000, 100_000, 300_000, 1_000_000),
        kind="select_slider",
        labels={0: "none", 10_000: "10k", 100_000: "100k", 300_000: "300k", 1_000_000: "1M"},
        label="Celebrity (user 0) followers",
        help="Makes user 0 a star with exactly this many followers.",
    ),
    Param(
        "celebrity_posts",
        0,
        lo=0,
        hi=20,
        step=1,
        label="Posts by the celebrity",
        help="How many of the posts user 0 writes, spread evenly; the first at t = 0.",
    ),
    Param(
        "posts",
        2_000,
        lo=100,
        hi=10_000,
        step=100,
        label="Posts",
        help="Posts published, arriving as a Poisson process at the posting rate.",
    ),
    Param(
        "post_rate",
        50,
        options=(10, 50, 200, 1_000, 4_600, 12_000),
        kind="select_slider",
        labels=_numbers((10, 50, 200, 1_000, 4_600, 12_000)),
        label="Posts per second",
        help="Publish requests per second across all users (Twitter 2012: 4,600 on average, 12,000 at peak).",
    ),
    Param(
        "read_rate",
        3_000,
        options=(300, 3_000, 30_000, 300_000),
        kind="select_slider",
        labels=_numbers((300, 3_000, 30_000, 300_000)),
        label="Feed loads per second",
        help="Feed loads per second across all active users (Twitter 2012: 300,000).",
    ),
    Param(
        "workers",
        4,
        lo=1,
        hi=64,
        step=1,
        label="Fanout workers (K)",
        help="Workers taking batches from the fanout queue, first come first served.",
    ),
    Param(
        "worker_throughput",
        10_000,
        options=(1_000, 5_000, 10_000, 20_000, 50_000),
        kind="select_slider",
        labels=_numbers((1_000, 5_000, 10_000, 20_000, 50_000)),
        label="Writes per second per worker",
        help="Feed-cache entries one worker writes per second.",
    ),
    Param(
        "batch_size",
        4_000,
        options=(100, 500, 1_000, 4_000, 10_000),
        kind="select_slider",
        labels=_numbers((100, 500, 1_000, 4_000, 10_000)),
        label="Batch size",
        help="Followers per batch on the queue (Twitter pipelined 4k destinations at a time).",
    ),
    Param(
        "cache_size",
        800,
        options=(50, 100, 200, 400, 800, 1_600),
        kind="select_slider",
        labels=_numbers((50, 100, 200, 400, 800, 1_600)),
        label="Feed cache size",
        help="Entries kept per user; the oldest drop out (Twitter kept about 800).",
    ),
    Param(
        "celebrity_threshold",
        10_000,
        options=(100, 1_000, 10_000, 100_000, 1_000_000),
        kind="select_slider",
        labels=_numbers((100, 1_000, 10_000, 100_000, 1_000_000)),
        label="Celebrity threshold (hybrid)",
        help="Hybrid pulls the posts of authors with at least this many followers.",
    ),
    Param(
        "active_share",
        0.7,
        lo=0.05,
        hi=1.0,
        step=0.05,
        label="Share of users active",
        help="Only active users have a cached feed and get pushed writes; the rest are rebuilt on return.",
    ),
    Param(
        "delete_share",
        0.0,
        lo=0.0,
        hi=0.5,
        step=0.05,
        label="Posts deleted after fanout",
        help="Their pushed copies stay in caches and are filtered out when a feed is read.",
    ),
    Param(
        "unfollow_share",
        0.0,
        lo=0.0,
        hi=0.5,
        step=0.05,
        label="Follows undone after fanout",
        help="Copies pushed along them stay in caches and are filtered out at read time.",
    ),
    Param(
        "unauthenticated_share",
        0.0,
        lo=0.0,
        hi=0.5,
        step=0.05,
        label="Requests without a valid token",
        help="These get 401 before anything else runs (publish and feed API alike).",
    ),
    Param(
        "publish_limit",
        30,
        options=(5, 10, 30, 60, 300),
        kind="select_slider",
        labels=_numbers((5, 10, 30, 60, 300)),
        label="Posts per user per minute (limit)",
        help="A token bucket per user on the publish API; past it, 429.",
    ),
    Param(
        "read_limit",
        600,
        options=(60, 300, 600, 3_000),
        kind="select_slider",
        labels=_numbers((60, 300, 600, 3_000)),
        label="Feed loads per user per minute (limit)",
        help="A token bucket per user on the feed API; past it, 429.",
    ),
    Param(
        "deadline",
        10,
        options=(1, 5, 10, 30, 60, 300),
        kind="select_slider",
        labels={s: seconds(s) for s in (1, 5, 10, 30, 60, 300)},
        label="Deliver the celebrity's post within (s)",
        help="How many workers would that take? Answered below the queue chart.",
    ),
    Param(
        "seed",
        1,
        lo=0,
        hi=2**31 - 1,
        step=1,
        kind="number",
        label="Seed",
        help="Same seed, same graph and traffic.",
    ),
    Param(
        "user",
        1,
        lo=0,
        hi=1_100_000,
        step=1,
        kind="number",
        defines_experiment=False,
        label="Show the feed of user",
        help="Any user id; user 0 is the most-followed account (the celebrity when there is one).",
    ),
    Param(
        "cursor",
        100,
        lo=0,
        hi=100,
        step=1,
        defines_experiment=False,
        label="Time cursor (% of the run)",
        help="Move through the fanout: the queue and the followers reached at that moment.",
    ),
)
PARAM = {p.name: p for p in PARAMS}
CONFIG_FIELDS = tuple(n for n in FeedConfig.__dataclass_fields__ if n in PARAM)

PRESETS: tuple[Preset, ...] = (
    Preset(
        "Ordinary user posts",
        "10,000 users following about 20 accounts each post 2,000 times at 50 posts/s; "
        "4 workers of 10,000 writes/s.",
        {},
        "A post reaches its dozen active followers in milliseconds; push costs a few writes, pull 20 reads.",
    ),
    Preset(
        "Celebrity posts",
        "User 0 has 1,000,000 followers and posts once at t = 0, among 500 ordinary posts.",
        {"celebrity_followers": 1_000_000, "celebrity_posts": 1, "posts": 500},
        "Push takes the workers many seconds to reach the last follower, and ordinary posts queue behind it.",
    ),
    Preset(
        "Too few workers",
        "One worker against 1,000 posts/s: more writes arrive than it can do.",
        {"workers": 1, "post_rate": 1_000, "posts": 5_000},
        "The queue grows for as long as posts keep coming; delays climb until it drains.",
    ),
    Preset(
        "Mostly inactive users",
        "Only 10% of users have been active recently.",
        {"active_share": 0.1},
        "Push skips inactive followers: writes per post fall to a tenth, reads stay one list.",
    ),
    Preset(
        "Read-heavy day",
        "Feed loads at 30,000/s against 50 posts/s (600 to 1), deletes and unfollows too.",
        {"read_rate": 30_000, "delete_share": 0.1, "unfollow_share": 0.05},
        "Pull's reads per second explode; push pays once per post. Filtered copies show in the feed.",
    ),
)
PRESET = preset_table(PRESETS)
DEFAULT_PRESET = "Ordinary user posts"


def describe(preset: str) -> str:
    p = PRESET[preset]
    return f"{p.description} {p.shows}"


def config_from(values: Mapping[str, Any], edge_list=None) -> FeedConfig:
    """The page's values -> the engine's frozen config (an uploaded edge list sets the users)."""
    kw = {n: values[n] for n in CONFIG_FIELDS}
    kw["follows"] = float(kw["follows"])
    if edge_list is not None:
        kw["users"] = edge_list.users
    return FeedConfig(**kw, edge_list=edge_list)


def read_upload(uploaded) -> Any:
    """An uploaded file (``.size``, ``.getvalue()``) -> an EdgeList; the size is checked before reading."""
    if uploaded.size > MAX_EDGE_LIST_BYTES:
        raise ValueError(
            f"the edge list must be at most {MAX_EDGE_LIST_BYTES:,} bytes (got {uploaded.size:,} bytes)"
        )
    return parse_edge_list(uploaded.getvalue())


def clamp_user(run: FeedRun, user: int) -> tuple[int, str | None]:
    """A user id that exists in this run, and a note when the requested one did not."""
    last = run.graph.users - 1
    if 0 <= user <= last:
        return user, None
    return (
        min(max(user, 0), last),
        f"There is no user {num(user)} here (ids go from 0 to {num(last)}); showing {num(min(max(user, 0), last))}.",
    )


# -- numbers and sentences ---------------------------------------------------------------------------------


def nbytes(n: float) -> str:
    for unit, size in (("GB", 1e9), ("MB", 1e6), ("kB", 1e3)):
        if n >= size:
            return f"{num(n / size, 1)} {unit}"
    return f"{num(n)} B"


def headline_post(run: FeedRun) -> int | None:
    """The post the page follows: the celebrity's first, else the post with the most writes."""
    if run.celebrity_post is not None:
        return run.celebrity_post
    if run.writes_per_post.max() > 0:
        return int(np.argmax(run.writes_per_post))
    return None


def headlines(runs: Mapping[str, FeedRun], strategy: str) -> tuple[Headline, ...]:
    run = runs[strategy]
    c = run.costs()
    push = runs["push"].costs()
    w = run.world
    celeb = run.celebrity_post
    last = float(run.delay[celeb]) if celeb is not None else c.max_delay
    who = "the celebrity's post" if celeb is not None else "the slowest post"
    refused = np.concatenate((w.post_status, w.load_status))
    return (
        Headline(
            "Writes per post",
            num(c.writes_per_post, 1),
            f"{num(c.max_writes_per_post)} for the widest post",
            "Feed-cache entries written per accepted post (write amplification).",
            "off",
        ),
        Headline(
            "Lists per feed load",
            num(c.reads_per_load, 1),
            None if strategy == "push" else f"push reads {num(push.reads_per_load, 1)}",
            "The cache, plus every followee's own list left to read time.",
            "inverse",
        ),
        Headline(
            "Last follower after",
            seconds(last) if last else "at once",
            f"{who}",
            "From publishing until the last pushed follower's cache has the entry.",
            "off",
        ),
        Headline(
            "Load time p99",
            f"{num(c.p99_latency_ms, 1)} ms",
            f"median {num(c.median_latency_ms, 1)} ms",
            f"Model: {num(1.0, 1)} ms for the request and the first list, 0.1 ms per further list.",
            "off",
        ),
        Headline(
            "Cache memory",
            nbytes(c.cache_bytes),
            plural(c.cache_entries, "entry", "entries"),
            f"{ENTRY_BYTES} bytes per entry: post id, author id, flags.",
            "off",
        ),
        Headline(
            "Refused",
            f"{num(int((refused == UNAUTHORIZED).sum()))} · {num(int((refused == RATE_LIMITED).sum()))}",
            "401 · 429",
            "Without a valid token (401) · over the per-user limit (429), publish and feed API.",
            "off",
        ),
    )


def cost_rows(runs: Mapping[str, FeedRun]) -> list[dict[str, Any]]:
    rows = []
    for name, run in runs.items():
        c = run.costs()
        rows.append(
            {
                "strategy": STRATEGIES[name].label,
                "writes per post": round(c.writes_per_post, 1),
                "lists per feed load": round(c.reads_per_load, 1),
                "writes/s": round(c.writes_per_second),
                "list reads/s": round(c.reads_per_second),
                "median delay (s)": round(c.median_delay, 3),
                "max delay (s)": round(c.max_delay, 3),
                "p99 load (ms)": round(c.p99_latency_ms, 2),
                "cache memory": nbytes(c.cache_bytes),
                "most batches waiting": c.max_queue,
            }
        )
    return rows


FEED_COLUMNS = ("post", "author", "posted at (s)", "came from")


def feed_rows(run: FeedRun, user: int, limit: int = 30) -> list[dict[str, Any]]:
    """The newest entries of one feed, with the copies filtered at read time in place."""
    w = run.world
    rows = []
    for e in run.feed_entries(user, with_filtered=True)[:limit]:
        rows.append(
            {
                "post": e.post_id,
                "author": e.author_id,
                "posted at (s)": round(float(w.post_time[e.post_id]), 3),
                "came from": e.source,
            }
        )
    return rows


def feed_caption(run: FeedRun, user: int) -> str:
    entries = run.feed_entries(user, with_filtered=True)
    kinds = [e.source for e in entries]
    cached, merged = kinds.count("cache"), kinds.count("merged at read time")
    dropped = len(kinds) - cached - merged
    state = "active" if run.world.active[user] else "inactive (no cached feed: rebuilt by pulling)"
    return (
        f"User {num(user)} is {state} and follows {plural(len(run.graph.followees_of(user)), 'account')}; a feed "
        f"load reads {plural(run.reads_per_load(user), 'list')}. Of {plural(cached + merged, 'entry', 'entries')}, "
        f"{num(cached)} came from the cache and {num(merged)} were merged at read time"
        + (
            f"; {plural(dropped, 'cached copy', 'cached copies')} {'was' if dropped == 1 else 'were'} filtered out on read."
            if dropped
            else "."
        )
    )


def cursor_time(run: FeedRun, percent: int) -> float:
    return run.drained_at * percent / 100.0


def cursor_sentence(run: FeedRun, percent: int) -> str:
    t = cursor_time(run, percent)
    times, waiting, pending = run.queue_curve(300)
    i = max(int(np.searchsorted(times, t, "right")) - 1, 0)
    text = (
        f"At **{seconds(t) if t else '0 s'}**: {plural(int(waiting[i]), 'batch', 'batches')} waiting, "
        f"{plural(int(pending[i]), 'write')} not yet done."
    )
    post = headline_post(run)
    if post is not None:
        got = run.reached(post)
        if t < float(run.world.post_time[post]):
            text += f" Post {post} is not published yet (it comes at {seconds(float(run.world.post_time[post]))})."
        elif len(got):
            share = np.searchsorted(got, t - float(run.world.post_time[post]), "right") / len(got)
            text += f" Post {post} has reached {pct(share)} of its {plural(len(got), 'pushed follower')}."
    return text


# -- captions ----------------------------------------------------------------------------------------------


def caption_neighbourhood(run: FeedRun, hood: Neighbourhood) -> str:
    n = len(hood.nodes) - 1
    return (
        f"A random {plural(n, 'follower')} of user {hood.author}'s {num(hood.total_followers)}: green get its "
        f"posts pushed under {STRATEGIES[run.strategy.name].label.lower()}, orange merge them at read time, "
        "hollow grey are inactive and get nothing pushed. Grey lines are follows among them."
    )


def caption_amplification(runs: Mapping[str, FeedRun]) -> str:
    p, q = runs["push"].costs(), runs["pull"].costs()
    return (
        f"Push pays on write ({num(p.writes_per_post, 1)} writes per post, one list per load); pull pays on "
        f"read ({num(q.reads_per_load, 1)} lists per load, no fanout). Hybrid and per-pair sit in between. "
        "Log scale."
    )


def caption_delay(run: FeedRun) -> str:
    c = run.costs()
    if c.max_writes_per_post == 0:
        return "Nothing is pushed, so a post is in every feed as soon as it is written: delay 0."
    return (
        f"Most posts reach their last follower within {seconds(c.median_delay)}; the slowest took "
        f"{seconds(c.max_delay)}. A wide post, or a queue already full, stretches the tail."
    )


def caption_reached(run: FeedRun, post: int) -> str:
    got = run.reached(post)
    if not len(got):
        return f"Post {post} is not fanned out under this strategy: readers merge it at read time."
    half = float(got[len(got) // 2])
    return (
        f"Post {post} by user {int(run.world.post_author[post])}: half its {plural(len(got), 'pushed follower')} "
        f"had it after {seconds(half)}, the last after {seconds(float(got[-1]))}. The straight line is the "
        "workers' combined throughput."
    )


def caption_queue(run: FeedRun) -> str:
    c = run.costs()
    return (
        f"At worst {plural(c.max_queue, 'batch', 'batches')} waited for one of the {plural(run.config.workers, 'worker')}; "
        f"the last write landed at {seconds(run.drained_at)}. Move the cursor or press Play."
    )


# -- why it behaves this way -------------------------------------------------------------------------------


def _check_feeds(runs: Mapping[str, FeedRun], sample: int = 25) -> tuple[int, bool, int]:
    """(users checked, whether every strategy's feed is a prefix of pull's, entries pull has beyond push)."""
    pull = runs["pull"]
    w = pull.world
    active = np.flatnonzero(w.active)
    rng = np.random.default_rng(w.config.seed)
    users = rng.choice(active, size=min(sample, len(active)), replace=False) if len(active) else []
    ok, extra = True, 0
    for u in np.asarray(users).tolist():
        fresh = pull.feed(u)
        for name, run in runs.items():
            f = fresh if run is pull else run.feed(u)  # pull's own feed is the fresh one
            ok &= f == fresh[: len(f)]
            if name == "push":
                extra += len(fresh) - len(f)
    return len(users), ok, extra


def explanation(runs: Mapping[str, FeedRun]) -> str:
    """Why the runs behave as they do: every strategy compared, so the same text whichever one is shown
    (the page caches it by the experiment alone)."""
    push, pull, hyb, pair = (runs[n] for n in ("push", "pull", "hybrid", "per_pair"))
    c = push.config
    w = push.world
    g = w.graph
    pc, qc, hc, rc = (r.costs() for r in (push, pull, hyb, pair))
    lines = []
    ok = w.accepted
    authors = w.post_author[ok]
    # push's fanout per author is each author's count of active followers (the routing, computed once)
    expected = float(np.mean(push.pushed_per_author[authors])) if ok.any() else 0.0
    lines.append(
        f"**Write amplification.** Push writes each post once per *active* follower of its author: expected "
        f"{num(expected, 2)} per post from the graph, measured {num(pc.writes_per_post, 2)}. Pull writes none and "
        f"reads instead: {num(qc.reads_per_load, 2)} lists per load, the followees of whoever loads the feed. "
        f"Hybrid pulls the {plural(int((g.follower_counts >= c.celebrity_threshold).sum()), 'author')} with at least "
        f"{num(c.celebrity_threshold)} followers: {num(hc.writes_per_post, 2)} writes per post, "
        f"{num(hc.reads_per_load, 2)} lists per load."
    )
    push_twitter = TWITTER_POSTS_PER_S * pc.writes_per_post + TWITTER_LOADS_PER_S * pc.reads_per_load
    pull_twitter = TWITTER_POSTS_PER_S * qc.writes_per_post + TWITTER_LOADS_PER_S * qc.reads_per_load
    cheaper, ratio = (
        ("push", pull_twitter / push_twitter)
        if push_twitter <= pull_twitter
        else ("pull", push_twitter / pull_twitter)
    )
    lines.append(
        f"**At Twitter's rates** (4,600 posts/s, 300,000 feed loads/s: 65 loads per post), this run's averages "
        f"would cost push {num(TWITTER_POSTS_PER_S * pc.writes_per_post)} writes/s + "
        f"{num(TWITTER_LOADS_PER_S * pc.reads_per_load)} list reads/s, and pull "
        f"{num(TWITTER_LOADS_PER_S * qc.reads_per_load)} list reads/s: {cheaper} is {num(ratio, 1)}× cheaper. "
        "Each follow adds one follower to an author and one followee to a reader, so the two averages are alike "
        "unless a few authors with huge audiences write a large share of the posts: then push pays for them."
    )
    post = headline_post(push)
    if post is not None and push.writes_per_post[post] > 0:
        f = int(push.writes_per_post[post])
        closed = LOOKUP_SECONDS + fanout_makespan(f, c.batch_size, c.worker_throughput, c.workers)
        rounds = math.ceil(batch_count(f, c.batch_size) / c.workers)
        measured = float(push.delay[post])
        where = (
            "it was first in the queue, so the two agree"
            if float(w.post_time[post]) == 0.0
            else "it may have queued behind other posts' batches, which only adds to the closed form"
        )
        lines.append(
            f"**The last follower.** Post {post} went to {num(f)} active followers in "
            f"{plural(batch_count(f, c.batch_size), 'batch', 'batches')} of {num(c.batch_size)}: {plural(rounds, 'round')} "
            f"of {plural(c.workers, 'worker')} at {num(c.worker_throughput)} writes/s each. Closed form "
            f"{seconds(closed)} (graph lookup included); the simulation measured {seconds(measured)} ({where}). Twitter: a Lady Gaga tweet took up to 5 minutes to reach 31 million followers."
        )
    write_rate = pc.writes_per_second
    need = capacity_needed(write_rate, c.worker_throughput)
    lines.append(
        f"**Keeping up.** Push asked for {num(write_rate)} writes/s on average and "
        f"{plural(c.workers, 'worker')} can do {num(c.workers * c.worker_throughput)}/s. Keeping up takes at least "
        f"{plural(need, 'worker')}: "
        + (
            "with fewer, as here, the queue grows for as long as posts keep arriving "
            f"({plural(pc.max_queue, 'batch', 'batches')} waiting at worst)."
            if c.workers < need
            else ("one is enough" if need == 1 else "with fewer the queue would grow without bound")
            + f"; here the worst moment had {plural(pc.max_queue, 'batch', 'batches')} waiting."
        )
    )
    pair_cost = {n: _pair_cost(r) for n, r in runs.items()}
    best = min(pair_cost, key=pair_cost.get)
    lines.append(
        f"**Feeding Frenzy's rule.** Per pair pushes when the reader loads the feed at least as often as the "
        f"author posts. Counting one write per pushed post and one read per pulled list, its expected cost is "
        f"{num(pair_cost['per_pair'])}/s against push {num(pair_cost['push'])}/s, pull {num(pair_cost['pull'])}/s and "
        f"hybrid {num(pair_cost['hybrid'])}/s (lowest: {STRATEGIES[best].label.split(' (')[0].lower()}). It minimises cost, "
        f"not delay: its widest post still took {seconds(rc.max_delay) if rc.max_delay else 'no time'}."
    )
    checked, prefix, extra = _check_feeds(runs)
    if c.delete_share == 0 and c.unfollow_share == 0:
        lines.append(
            f"**Same feeds.** For {plural(checked, 'sampled active user')} all four strategies return identical "
            f"feeds, newest first, at most {num(c.cache_size)} entries: {'checked' if prefix else 'NOT the case'}."
        )
    else:
        lines.append(
            f"**Deletes and unfollows after fanout.** {pct(c.delete_share, 0)} of posts were deleted and "
            f"{pct(c.unfollow_share, 0)} of follows undone after the copies were pushed. They stay in the caches and "
            "are filtered out on read. "
            + (
                f"Over {plural(checked, 'sampled user')}, push's feeds were {plural(extra, 'entry', 'entries')} "
                "shorter than a fresh pull (a full cache cut short by its filtered copies)"
                if extra
                else f"None of {plural(checked, 'sampled user')} had a full cache, so filtering only skipped entries"
            )
            + f"; every strategy's feed was a prefix of pull's: {'checked' if prefix else 'NOT the case'}."
        )
    if w.loads_wanted > MAX_LOADS:
        lines.append(
            f"_The read rate asks for {num(w.loads_wanted)} feed loads in this run; the first "
            f"{num(MAX_LOADS)} are simulated._"
        )
    return "\n\n".join(lines)


def _pair_cost(run: FeedRun) -> float:
    """Expected operations per second: each pushed pair costs the author's post rate (writes), each pulled
    pair the reader's load rate (list reads); Feeding Frenzy's per-pair rule minimises this sum."""
    return run.pair_cost  # once per world and strategy, by the engine's routing


# -- predict, then reveal ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Prediction:
    question: str
    options: tuple[str, ...]
    answer: int
    reveal: str


def prediction(run: FeedRun) -> Prediction | None:
    """How long until the last follower sees the celebrity's post? Four orders of magnitude to choose from."""
    post = run.celebrity_post
    if post is None or run.writes_per_post[post] == 0:
        return None
    c = run.config
    f = int(run.writes_per_post[post])
    actual = float(run.delay[post])
    bounds = (1.0, 10.0, 60.0)
    options = ("under 1 second", "1 to 10 seconds", "10 to 60 seconds", "over a minute")
    answer = int(np.searchsorted(bounds, actual))
    reveal = (
        f"**{seconds(actual)}.** {num(f)} active followers ÷ ({num(c.workers)} workers × "
        f"{num(c.worker_throughput)} writes/s) = {seconds(f / (c.workers * c.worker_throughput))} of pure writing, "
        "plus the graph lookup and the last, part-empty round of batches."
    )
    return Prediction(
        f"User 0 posts to {num(run.graph.follower_counts[0])} followers, {pct(c.active_share, 0)} of "
        f"them active, with {plural(c.workers, 'worker')}. How long until the last follower sees it?",
        options,
        answer,
        reveal,
    )


def workers_sentence(run: FeedRun, deadline: float) -> str:
    post = headline_post(run)
    c = run.config
    if post is None or run.writes_per_post[post] == 0:
        return "Nothing is fanned out under this strategy, so no worker is needed for delivery."
    f = int(run.writes_per_post[post])
    k = workers_for_deadline(f, c.batch_size, c.worker_throughput, deadline)
    if k is None:
        return (
            f"No number of workers delivers post {post} to {num(f)} followers within {seconds(deadline)}: one "
            f"batch of {num(c.batch_size)} alone takes {seconds(c.batch_size / c.worker_throughput)}. "
            "Use smaller batches or faster workers."
        )
    return (
        f"To reach all {num(f)} pushed followers of post {post} within {seconds(deadline)} on idle workers "
        f"takes **{plural(k, 'worker')}** (you have {num(c.workers)})."
    )


TRY_THIS = (
    "Pick **Celebrity posts**. Before you look: how long until the last of the million followers has the post? "
    "Then switch the strategy to hybrid: what happens to that delay, and what does each feed load pay instead?",
    "In **Too few workers**, predict how many workers make the queue stop growing (posts/s × writes per post ÷ "
    "writes per worker). Set that many and watch the queue chart flatten.",
    "Interview question: why does Twitter skip inactive users when it fans out? Pick **Mostly inactive users** "
    "and compare push's writes per post and cache memory with the default.",
    "In **Read-heavy day**, find a feed entry marked *filtered*: the copy was pushed before the delete or unfollow. "
    "Why can a pulled feed never show it, and what happens to a feed whose cache is full?",
)

QUOTES = (
    (
        "“> 300K QPS for timelines” … fanout “pipelined 4k ‘destinations’ at a time” … “RPUSHX to only add to "
        "cached timelines”; each entry: tweet id 8 bytes, user id 8 bytes, bits 4 bytes.",
        "Raffi Krikorian, Timelines at Scale, QCon SF 2012 (slides)",
    ),
    (
        "“300K QPS are spent reading timelines and only 6000 requests per second are spent on writes” … “it can "
        "take up to 5 minutes for a tweet to flow from Lady Gaga’s fingers to her 31 million followers.”",
        "Todd Hoff, High Scalability (2013), on Krikorian’s talk",
    ),
    (
        "“Simply handling 12,000 writes per second (the peak rate for posting tweets) would be fairly easy” — "
        "the 4.6k/s average and 300k/s timeline reads are the same talk’s figures.",
        "Martin Kleppmann, Designing Data-Intensive Applications, ch. 1",
    ),
    (
        "“a ring buffer of about 800 tweet ids per user for the home timeline. On write, it would fanout appends "
        "(push/trim) to each follower timeline.”",
        "a former Twitter engineer on lobste.rs",
    ),
    (
        "“events from high-rate producers are retrieved at query time, while events from lower-rate producers are "
        "materialized in advance” … “we can minimize global cost by making local decisions about each "
        "producer/consumer pair, based on the ratio between a given producer’s update rate … and a given "
        "consumer’s view rate”",
        "Silberstein, Terrace, Cooper, Ramakrishnan, Feeding Frenzy, SIGMOD 2010",
    ),
)


def quotes_markdown() -> str:
    return "\n\n".join(f"> {q}\n>\n> — {src}" for q, src in QUOTES)


REFERENCES = (
    Reference(
        "Krikorian 2012, Timelines at Scale (slides)",
        "https://www.slideshare.net/mariano/raffi-krikorian-twitter-timelines-at-scale",
    ),
    Reference(
        "QCon SF 2012 talk page", "https://qconsf.com/sf2012/sf2012/presentation/Timelines+at+Scale.html"
    ),
    Reference(
        "Hoff 2013, The architecture Twitter uses…",
        "https://highscalability.com/the-architecture-twitter-uses-to-deal-with-150m-active-users/",
    ),
    Reference("Silberstein et al. 2010, Feeding Frenzy (SIGMOD)", "https://doi.org/10.1145/1807167.1807257"),
    Reference("Kleppmann, Designing Data-Intensive Applications", "https://dataintensive.net/"),
    Reference(
        "lobste.rs: early Twitter's 800-entry timelines",
        "https://lobste.rs/s/a1thyf/when_imperfect_systems_are_good_actually",
    ),
)


def cost_csv_rows(runs: Mapping[str, FeedRun]) -> list[dict[str, Any]]:
    """Per post and strategy: author, time, status, cache writes and delay (the CSV export)."""
    first = next(iter(runs.values()))
    w = first.world
    rows = []
    for name, run in runs.items():
        for i in range(len(w.post_time)):
            rows.append(
                {
                    "strategy": name,
                    "post": i,
                    "author": int(w.post_author[i]),
                    "posted at (s)": float(w.post_time[i]),
                    "status": int(w.post_status[i]),
                    "cache writes": int(run.writes_per_post[i]),
                    "delay (s)": float(run.delay[i]),
                }
            )
    return rows
