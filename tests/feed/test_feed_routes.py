"""Each strategy's routing (``World.route``) is computed once per world and threshold, and gives exactly what
the strategy's rule gives pair by pair: the pushed follows in both CSR orders, the pulled lists per user,
the pair cost as the plain float sum; ``simulate_all`` reuses it across fanout knobs and runs hybrid as
push when no author is a celebrity, with every array and cost equal to a run of its own."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sdcore.feed import STRATEGIES, FeedConfig, build_world, simulate_all, simulate_feed, world_config

ARRAYS = ("pushed", "writes_per_post", "delay", "batch_post", "batch_size", "batch_arrival", "batch_start",
          "batch_finish", "delivered", "delivery_post", "delivery_time", "cache_ptr", "cache_idx", "load_lists",
          "load_latency_ms")  # fmt: skip


def _plain_route(world, strat):
    """The routing as the rule gives it edge by edge, with the plain numpy of the first version."""
    g, ctx = world.graph, world.context()
    pushed = strat.pushed(g.follower, g.followee, ctx)
    kept = np.flatnonzero(strat.pushed(g.followers_idx, g.followers_author, ctx))
    keep = ~pushed & ~world.removed
    pulled = np.bincount(g.follower[keep], minlength=g.users)
    cost = float(world.author_rate[g.followee[pushed]].sum() + world.reader_rate[g.follower[~pushed]].sum())
    return pushed, g.followers_idx[kept], np.searchsorted(kept, g.followers_ptr), pulled, cost


def _check_route(world):
    for strat in STRATEGIES.values():
        route = world.route(strat)
        pushed, targets, tptr, pulled, cost = _plain_route(world, strat)
        assert route.pushed.dtype == pushed.dtype and np.array_equal(route.pushed, pushed)
        assert route.targets.dtype == targets.dtype and np.array_equal(route.targets, targets)
        assert route.tptr.dtype == tptr.dtype and np.array_equal(route.tptr, tptr)
        assert route.pulled.dtype == pulled.dtype and np.array_equal(route.pulled, pulled)
        assert route.pair_cost == cost  # the same float, not a close one
        for a in (route.pushed, route.targets, route.tptr, route.pulled):
            assert not a.flags.writeable


@given(
    seed=st.integers(0, 2**31 - 1),
    users=st.integers(2, 600),
    follows=st.floats(1.0, 30.0),
    tail=st.floats(2.05, 4.0),
    star=st.sampled_from((0, 0, 50, 900)),
    star_posts=st.integers(0, 3),
    threshold=st.sampled_from((1, 2, 5, 20, 100, 1_000_001)),
    active=st.sampled_from((0.0, 0.3, 0.7, 1.0)),
    unfollow=st.sampled_from((0.0, 0.0, 0.2, 1.0)),
    read_rate=st.sampled_from((1.0, 50.0, 3_000.0)),
)
@settings(max_examples=60, deadline=None)
def test_routes_are_the_rules_edge_by_edge(
    seed, users, follows, tail, star, star_posts, threshold, active, unfollow, read_rate
):
    config = FeedConfig(
        users, seed, follows=follows, tail=tail, celebrity_followers=star, celebrity_posts=star_posts, posts=60,
        celebrity_threshold=threshold, active_share=active, unfollow_share=unfollow, read_rate=read_rate,
    )  # fmt: skip
    _check_route(build_world(config))


@pytest.mark.parametrize(
    "kw",
    [{}, {"celebrity_followers": 20_000, "celebrity_posts": 2, "celebrity_threshold": 1_000},
     {"unfollow_share": 0.3, "delete_share": 0.2, "celebrity_threshold": 50, "active_share": 0.2}],
)  # fmt: skip
def test_routes_at_a_page_size(kw):
    _check_route(build_world(FeedConfig(5_000, 3, posts=500, **kw)))


def _same_run(a, b):
    assert a.strategy is b.strategy and a.world.config == b.world.config
    for name in ARRAYS:
        x, y = getattr(a, name), getattr(b, name)
        assert x.dtype == y.dtype and np.array_equal(x, y, equal_nan=True), name
    assert a.costs() == b.costs()
    assert np.array_equal(a._pulled_counts, b._pulled_counts) and a.pair_cost == b.pair_cost
    for user in (0, 1, 7, a.graph.users - 1):
        assert a.feed_entries(user, with_filtered=True) == b.feed_entries(user, with_filtered=True)


@pytest.mark.parametrize(
    "kw",
    [{}, {"celebrity_followers": 3_000, "celebrity_posts": 2, "celebrity_threshold": 1_000},
     {"unfollow_share": 0.2, "celebrity_threshold": 20}],
)  # fmt: skip
def test_simulate_all_equals_one_run_per_strategy(kw):
    """On a shared world (routes reused, hybrid as push's twin when it routes alike) every run is the run
    simulate_feed makes alone on a fresh world."""
    config = FeedConfig(3_000, 5, posts=300, **kw)
    runs = simulate_all(config)
    for name in STRATEGIES:
        _same_run(runs[name], simulate_feed(config, name))


def test_hybrid_without_a_celebrity_is_push_renamed():
    config = FeedConfig(2_000, 1, posts=200)  # no author has 10,000 followers among 2,000 users
    runs = simulate_all(config)
    push, hybrid = runs["push"], runs["hybrid"]
    assert hybrid.route is push.route and hybrid.strategy.name == "hybrid"
    assert hybrid.costs().strategy == "hybrid" and replace(hybrid.costs(), strategy="push") == push.costs()
    with pytest.raises(ValueError, match="does not route"):
        push.renamed(STRATEGIES["pull"])


def test_fanout_knobs_reuse_every_route():
    """A move of workers, throughput, batch or cache size reuses all four routings; the threshold only
    hybrid's (one per threshold, bounded)."""
    config = FeedConfig(3_000, 2, posts=300, celebrity_followers=3_000, celebrity_posts=1)
    world = build_world(world_config(config))
    first = simulate_all(config, world=world)
    for knob in ({"workers": 9}, {"worker_throughput": 1_000.0}, {"batch_size": 100}, {"cache_size": 50}):
        again = simulate_all(replace(config, **knob), world=world)
        for name in STRATEGIES:
            assert again[name].route is first[name].route
            _same_run(again[name], simulate_feed(replace(config, **knob), name))
    other = simulate_all(replace(config, celebrity_threshold=100), world=world)
    assert other["hybrid"].route is not first["hybrid"].route
    assert all(other[n].route is first[n].route for n in ("push", "pull", "per_pair"))
    for t in range(1, 40):
        simulate_all(replace(config, celebrity_threshold=t), world=world)
    from sdcore.feed.simulate import MAX_ROUTES

    assert len(world.routes) <= MAX_ROUTES


def test_no_unfollows_draws_no_number_per_edge():
    """The last draw of a world is skipped when nothing is unfollowed: the same world as drawing it."""
    w = build_world(FeedConfig(2_000, 4, posts=200))
    assert w.removed.dtype == bool and not w.removed.any() and len(w.removed) == w.graph.edges
    assert not w.removed.flags.writeable


def test_pushed_per_author_of_push_is_the_active_follower_count():
    w = build_world(FeedConfig(3_000, 6, posts=200, active_share=0.4))
    g = w.graph
    run = simulate_feed(w.config, "push", w)
    want = np.bincount(g.followee[w.active[g.follower]], minlength=g.users)
    assert np.array_equal(run.pushed_per_author, want)


def test_graph_counts_are_computed_once_and_read_only():
    g = build_world(FeedConfig(1_000, 1, posts=100)).graph
    assert g.follower_counts is g.follower_counts and g.followee_counts is g.followee_counts
    assert np.array_equal(g.follower_counts, np.diff(g.followers_ptr))
    assert np.array_equal(g.followee_counts, np.diff(g.followees_ptr))
    assert not g.follower_counts.flags.writeable and not g.followee_counts.flags.writeable
