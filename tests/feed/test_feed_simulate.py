"""The feed simulation: costs per strategy, identical feeds, caps and order, deletes and unfollows, the
celebrity's fanout against the closed form, authentication and rate limits, bad configs."""

from __future__ import annotations

import weakref

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sdcore.feed import (
    LOOKUP_SECONDS,
    OK,
    RATE_LIMITED,
    STRATEGIES,
    UNAUTHORIZED,
    FeedConfig,
    build_world,
    fanout_makespan,
    simulate_all,
    simulate_feed,
)
from sdcore.ratelimit import TokenBucket

SMALL = FeedConfig(users=400, seed=3, posts=600, follows=10, cache_size=25, celebrity_threshold=60)


@pytest.fixture(scope="module")
def small():
    return simulate_all(SMALL)


_FOLLOWS: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()  # world -> who follows whom, built once


def brute_force_feed(world, user: int, cache_size: int) -> list[int]:
    """A fresh read from first principles: every accepted, undeleted post of an account ``user`` still
    follows, newest first, the first ``cache_size`` (plain Python over the edge list and the posts)."""
    if world not in _FOLLOWS:
        follows: dict[int, set[int]] = {}
        g = world.graph
        for a, b, r in zip(g.follower.tolist(), g.followee.tolist(), world.removed.tolist(), strict=True):
            if not r:
                follows.setdefault(a, set()).add(b)
        _FOLLOWS[world] = follows
    mine = _FOLLOWS[world].get(user, set())
    posts = [
        i
        for i, (s, d, a) in enumerate(
            zip(world.post_status.tolist(), world.deleted.tolist(), world.post_author.tolist(), strict=True)
        )
        if s == OK and not d and a in mine
    ]
    return sorted(posts, reverse=True)[:cache_size]


def test_push_writes_active_followers_and_pull_reads_followees(small):
    """Push: cache writes of a post = its author's active followers. Pull: lists read per load = the
    reader's followees. Neither writes nor reads anything else."""
    push, pull = small["push"], small["pull"]
    w, g = push.world, push.graph
    active_followers = np.bincount(g.followee[w.active[g.follower]], minlength=g.users)
    ok = w.accepted
    assert np.array_equal(push.writes_per_post[ok], active_followers[w.post_author[ok]])
    assert np.all(push.writes_per_post[~ok] == 0) and np.all(pull.writes_per_post == 0)
    served = w.load_status == OK
    assert np.array_equal(pull.load_lists[served], g.followee_counts[w.load_user[served]])
    assert np.all(push.load_lists[served] == 1)
    active = np.flatnonzero(w.active).tolist()
    assert push.costs().cache_entries == sum(len(push.feed(u)) for u in active)  # a cache per active user


def test_hybrid_costs_follow_from_the_threshold(small):
    """Hybrid pushes authors below the threshold like push and nothing for those at or above it; a load
    reads the cache plus one list per followed celebrity."""
    hyb, push = small["hybrid"], small["push"]
    w, g = hyb.world, hyb.graph
    celeb = g.follower_counts >= SMALL.celebrity_threshold
    assert 0 < celeb.sum() < 20
    ok = w.accepted
    expected = np.where(celeb[w.post_author[ok]], 0, push.writes_per_post[ok])
    assert np.array_equal(hyb.writes_per_post[ok], expected)
    celeb_followees = np.bincount(g.follower[celeb[g.followee]], minlength=g.users)
    served = w.load_status == OK
    assert np.array_equal(hyb.load_lists[served], 1 + celeb_followees[w.load_user[served]])


def test_per_pair_follows_the_rate_ratio_and_minimises_pair_cost(small):
    """Per pair pushes exactly the pairs whose reader's rate is at least the author's post rate (and the
    reader is active); that choice gives the lowest expected pair cost of the four strategies."""
    run = small["per_pair"]
    w, g = run.world, run.graph
    want = w.active[g.follower] & (w.reader_rate[g.follower] >= w.author_rate[g.followee])
    assert np.array_equal(run.pushed, want)

    def cost(r):
        return w.author_rate[g.followee[r.pushed]].sum() + w.reader_rate[g.follower[~r.pushed]].sum()

    assert all(cost(run) <= cost(small[n]) + 1e-9 for n in STRATEGIES)


def test_every_strategy_returns_the_same_feed(small):
    """Without deletes or unfollows, every strategy's feed of every user equals a fresh brute-force read:
    newest first, no repeats, at most cache_size entries."""
    w = small["pull"].world
    for u in range(w.graph.users):
        want = brute_force_feed(w, u, SMALL.cache_size)
        for run in small.values():
            assert run.feed(u) == want
    assert any(
        len(brute_force_feed(w, u, SMALL.cache_size)) == SMALL.cache_size for u in range(w.graph.users)
    )


@settings(max_examples=25, deadline=None)
@given(
    users=st.integers(20, 150),
    follows=st.integers(1, 12),
    posts=st.integers(1, 300),
    cache=st.integers(1, 30),
    active=st.sampled_from([0.0, 0.3, 1.0]),
    threshold=st.integers(1, 40),
    celeb=st.sampled_from([0, 200]),
    celeb_posts=st.integers(0, 3),
    seed=st.integers(0, 10_000),
)
def test_identical_feeds_over_random_graphs(
    users, follows, posts, cache, active, threshold, celeb, celeb_posts, seed
):
    """For any graph and posting sequence, all four strategies return the same feed to every active user,
    in reverse chronological order and never longer than the cache."""
    cfg = FeedConfig(
        users=users,
        seed=seed,
        follows=follows,
        posts=posts,
        cache_size=cache,
        active_share=active,
        celebrity_threshold=threshold,
        celebrity_followers=celeb,
        celebrity_posts=min(celeb_posts, posts),
    )
    runs = simulate_all(cfg)
    w = runs["push"].world
    for u in np.flatnonzero(w.active)[:60].tolist():
        feeds = [r.feed(u) for r in runs.values()]
        assert all(f == feeds[0] for f in feeds)
        assert feeds[0] == sorted(set(feeds[0]), reverse=True) and len(feeds[0]) <= cache
        assert feeds[0] == brute_force_feed(w, u, cache)


@settings(max_examples=12, deadline=None)
@given(
    seed=st.integers(0, 10_000), deletes=st.sampled_from([0.1, 0.4]), unfollows=st.sampled_from([0.0, 0.2])
)
def test_deletes_and_unfollows_after_fanout(seed, deletes, unfollows):
    """Pushed copies of deleted posts and of unfollowed authors stay in the caches but never reach a feed;
    every strategy's feed is a prefix of a fresh pull, and a cache that was not full loses nothing else."""
    cfg = FeedConfig(
        users=120,
        seed=seed,
        posts=400,
        follows=6,
        cache_size=15,
        delete_share=deletes,
        unfollow_share=unfollows,
    )
    runs = simulate_all(cfg)
    push, pull = runs["push"], runs["pull"]
    w = push.world
    filtered = 0
    for u in range(w.graph.users):
        fresh = brute_force_feed(w, u, cfg.cache_size)
        assert pull.feed(u) == fresh
        for run in runs.values():
            assert run.feed(u) == fresh[: len(run.feed(u))]
        entries = push.feed_entries(u, with_filtered=True)
        dropped = [e for e in entries if e.source.startswith("filtered")]
        filtered += len(dropped)
        assert all(w.deleted[e.post_id] for e in dropped if e.source == "filtered: deleted")
        cache_len = push.cache_ptr[u + 1] - push.cache_ptr[u]
        if cache_len < cfg.cache_size:
            assert push.feed(u) == fresh
    assert filtered > 0


def test_celebrity_fanout_matches_the_closed_form_and_falls_with_workers():
    """The celebrity's post is first in the queue, so the time its last follower gets it is the graph
    lookup plus the closed-form makespan; more workers, less delay, until there is a worker per batch."""
    delays = []
    for workers in (1, 2, 4, 8, 16, 64, 256):
        cfg = FeedConfig(
            users=2_000,
            seed=1,
            posts=50,
            celebrity_followers=200_000,
            celebrity_posts=1,
            workers=workers,
            batch_size=1_000,
        )
        run = simulate_feed(cfg, "push")
        f = int(run.writes_per_post[0])
        assert run.celebrity_post == 0 and f == int(run.world.active[run.graph.followers_of(0)].sum())
        assert run.delay[0] == pytest.approx(
            LOOKUP_SECONDS + fanout_makespan(f, 1_000, cfg.worker_throughput, workers)
        )
        assert len(run.reached(0)) == f and run.reached(0)[-1] == pytest.approx(run.delay[0])
        delays.append(float(run.delay[0]))
    assert all(a > b for a, b in zip(delays[:-1], delays[1:], strict=True))
    hybrid = simulate_feed(cfg, "hybrid")
    assert hybrid.writes_per_post[0] == 0 and hybrid.delay[0] == 0


def test_ordinary_posts_queue_behind_the_celebrity():
    """FIFO head-of-line blocking: with the celebrity's batches ahead, ordinary posts wait; under hybrid
    they do not."""
    cfg = FeedConfig(
        users=3_000, seed=2, posts=300, celebrity_followers=300_000, celebrity_posts=1, workers=2
    )
    push, hybrid = simulate_feed(cfg, "push"), simulate_feed(cfg, "hybrid")
    assert np.median(push.delay[1:]) > 10 * np.median(hybrid.delay[1:])


def test_queue_curve_starts_and_ends_empty(small):
    for run in small.values():
        t, waiting, pending = run.queue_curve(200)
        assert waiting[0] >= 0 and waiting[-1] == 0 and pending[-1] == 0
        assert np.all(pending >= 0) and pending.max() <= run.writes_per_post.sum()


def test_authentication_and_rate_limits():
    """401s are about the unauthenticated share; 429s hit only users over their bucket, and equal what the
    rate limiter decides for each user's authenticated requests."""
    cfg = FeedConfig(
        users=500,
        seed=5,
        posts=3_000,
        post_rate=500.0,
        publish_limit=5,
        unauthenticated_share=0.2,
        read_rate=2_000.0,
        read_limit=60,
    )
    w = build_world(cfg)
    for status in (w.post_status, w.load_status):
        assert 0.17 < np.mean(status == UNAUTHORIZED) < 0.23
        assert np.any(status == RATE_LIMITED)
    for user in np.unique(w.post_author[w.post_status == RATE_LIMITED])[:5].tolist():
        mine = (w.post_author == user) & (w.post_status != UNAUTHORIZED)
        bucket = TokenBucket(5, 5 / 60)
        want = [bucket.allow(t, "u").allowed for t in w.post_time[mine].tolist()]
        assert (w.post_status[mine] == OK).tolist() == want
    run = simulate_feed(cfg, "push")
    assert np.all(run.writes_per_post[w.post_status != OK] == 0)


def test_inactive_users_get_nothing_pushed_and_rebuild_by_pulling(small):
    push = small["push"]
    w, g = push.world, push.graph
    inactive = np.flatnonzero(~w.active)
    assert len(inactive) and np.all(np.diff(push.cache_ptr)[inactive] == 0)
    u = int(inactive[np.argmax(g.followee_counts[inactive])])
    assert push.reads_per_load(u) == 1 + g.followee_counts[u]
    assert all(e.source == "merged at read time" for e in push.feed_entries(u))
    assert push.active_users == frozenset(np.flatnonzero(w.active).tolist())


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"users": 1}, "users must be between 2 and 100,000"),
        ({"workers": 0}, "workers must be between 1 and 1,000"),
        ({"posts": 10, "celebrity_posts": 11}, "celebrity_posts must be between 0 and posts"),
        ({"active_share": 1.5}, "active_share must be between 0 and 1"),
        ({"post_rate": 0}, "post_rate must be more than 0"),
        ({"celebrity_followers": 2_000_000}, "celebrity_followers must be between 0 and 1,000,000"),
        ({"tail": 1.5}, "tail must be between 2.05 and 4"),
        ({"cache_size": 0}, "cache_size must be between 1 and 5,000"),
        ({"seed": -1}, "seed must be a whole number >= 0"),
        ({"edge_list": "1,2"}, "edge_list must come from parse_edge_list"),
    ],
)
def test_bad_configs_say_what_is_wrong(kwargs, message):
    base = {"users": 100, "seed": 1} | kwargs
    with pytest.raises(ValueError, match=message):
        FeedConfig(**base)


def test_unknown_strategy_and_foreign_world():
    with pytest.raises(ValueError, match="strategy must be one of push, pull, hybrid, per_pair"):
        simulate_feed(SMALL, "broadcast")
    with pytest.raises(ValueError, match="world must be built from the same config"):
        simulate_feed(SMALL, "push", build_world(FeedConfig(users=50, seed=1)))
    with pytest.raises(ValueError, match="user must be between 0 and the last user id"):
        simulate_feed(SMALL, "push").feed(400)


def test_results_are_read_only(small):
    run = small["push"]
    with pytest.raises(ValueError):
        run.delay[0] = 1.0
    with pytest.raises(ValueError):
        run.world.post_time[0] = 1.0


def test_a_graph_built_once_gives_the_same_runs_as_building_it_inside():
    """simulate_all(config, feed_graph(graph_config(config))) equals simulate_all(config): the page builds the
    graph once for every config that shares it; FeedRuns is a read-only mapping in registry order."""
    from dataclasses import replace

    from sdcore.feed import feed_graph, graph_config, simulate_all
    from sdcore.feed.simulate import STRATEGIES, FeedConfig

    base = FeedConfig(users=600, seed=5, celebrity_followers=900, celebrity_posts=3, posts=120)
    for config in (base, replace(base, workers=2, batch_size=50), replace(base, read_rate=500.0)):
        shared = simulate_all(config, feed_graph(graph_config(config)))
        alone = simulate_all(config)
        assert list(shared) == list(alone) == list(STRATEGIES) and len(shared) == len(STRATEGIES)
        for name in STRATEGIES:
            a, b = shared[name], alone[name]
            for name_ in ("pushed", "writes_per_post", "delay", "delivery_time", "cache_idx", "load_lists"):
                assert np.array_equal(getattr(a, name_), getattr(b, name_))
    assert graph_config(replace(base, workers=2)) == graph_config(base)
    assert graph_config(replace(base, tail=3.0)) != graph_config(base)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_caches_hold_each_users_newest_pushed_posts(seed):
    """The cache order (one sort of a combined user/post key) is the brute-force one: per user, the
    cache_size newest accepted posts of the followees pushed to them, newest first."""
    c = FeedConfig(users=400, seed=seed, posts=300, cache_size=7, celebrity_followers=600, celebrity_posts=9)
    runs = simulate_all(c)
    for run in runs.values():
        w, g = run.world, run.graph
        accepted = np.flatnonzero(w.accepted)
        for u in range(g.users):
            lo, hi = int(g.followees_ptr[u]), int(g.followees_ptr[u + 1])
            pushed_from = set(g.followees_idx[lo:hi][run.pushed[lo:hi]].tolist())
            mine = [p for p in accepted.tolist() if int(w.post_author[p]) in pushed_from]
            want = sorted(mine, reverse=True)[: c.cache_size]
            assert run.cache_idx[run.cache_ptr[u] : run.cache_ptr[u + 1]].tolist() == want
