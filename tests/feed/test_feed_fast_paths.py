"""The engine's fast paths give exactly what the plain numpy they replace gives: weighted draws, the targets
CSR of each strategy, and a feed read without its entry objects."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sdcore.feed import STRATEGIES, FeedConfig, build_world, simulate_feed
from sdcore.feed.graph import scale_free_graph, weighted_choice


@given(
    seed=st.integers(0, 2**32 - 1),
    n=st.integers(1, 400),
    size=st.integers(0, 3_000),
    spread=st.floats(0.1, 3.0),
    zeros=st.floats(0.0, 0.5),
    as_int=st.booleans(),
)
@settings(max_examples=150, deadline=None)
def test_weighted_choice_is_rng_choice(seed, n, size, spread, zeros, as_int):
    """The same draws as ``rng.choice(a, size, p=p)`` and the generator in the same state after (heavy
    tails, zero weights, ties among the cumulative weights, no draws at all)."""
    r = np.random.default_rng(seed)
    w = r.lognormal(0.0, spread, n) * (r.random(n) >= zeros)
    w[r.integers(n)] += 1.0  # at least one positive weight
    p = w / w.sum()
    a = n if as_int else r.integers(0, 10**9, n)
    ours, theirs = np.random.default_rng([seed, 1]), np.random.default_rng([seed, 1])
    got = weighted_choice(ours, a, size, p)
    want = theirs.choice(a, size=size, p=p)
    assert got.dtype == want.dtype and np.array_equal(got, want)
    assert ours.random() == theirs.random()


def test_weighted_choice_at_the_graph_s_size():
    users = 10_000
    weight = np.arange(1, users + 1, dtype=np.float64) ** (-1.0 / 1.3)
    p = weight / weight.sum()
    ours, theirs = np.random.default_rng(9), np.random.default_rng(9)
    assert np.array_equal(weighted_choice(ours, users, 200_000, p), theirs.choice(users, size=200_000, p=p))


@given(
    seed=st.integers(0, 2**32 - 1),
    n=st.integers(1, 3_000),
    spread=st.floats(0.1, 6.0),
    zeros=st.floats(0.0, 0.9),
    power_law=st.booleans(),
)
@settings(max_examples=60, deadline=None)
def test_weighted_choice_by_cells_is_rng_choice(seed, n, spread, zeros, power_law):
    """Enough draws to take the cell table, on heavy tails, runs of zero weights
    (cumulative weights tied, some on a cell's edge) and power laws as the graph draws them."""
    r = np.random.default_rng(seed)
    if power_law:
        w = np.arange(1, n + 1, dtype=np.float64) ** -r.uniform(0.3, 1.0)
    else:
        w = r.lognormal(0.0, spread, n) * (r.random(n) >= zeros)
        w[r.integers(n)] += 1.0
    p = w / w.sum()
    size = int(r.integers(4_096, 60_000))  # 4,096 draws and more take the table
    ours, theirs = np.random.default_rng([seed, 2]), np.random.default_rng([seed, 2])
    assert np.array_equal(weighted_choice(ours, n, size, p), theirs.choice(n, size=size, p=p))
    assert ours.random() == theirs.random()


def test_weighted_choice_with_weights_on_cell_edges():
    """Cumulative weights that fall exactly on a cell's edge (k / 1024) and draws that hit them."""
    p = np.array([0.25, 0.25, 0.0, 0.125, 0.375])
    draws = 4_096
    ours, theirs = np.random.default_rng(3), np.random.default_rng(3)
    assert np.array_equal(weighted_choice(ours, 5, draws, p), theirs.choice(5, size=draws, p=p))


def test_followers_author_is_the_author_of_each_follower_entry():
    g = scale_free_graph(500, 6, 2.3, 4)
    a = g.followers_author
    assert not a.flags.writeable and len(a) == g.edges
    for author in (0, 1, 17, 499):
        assert set(a[g.followers_ptr[author] : g.followers_ptr[author + 1]].tolist()) <= {author}
    assert g.followers_author is a  # computed once per graph


CONFIGS = (
    FeedConfig(users=600, seed=2, posts=400, follows=8, cache_size=30, celebrity_threshold=40),
    FeedConfig(users=300, seed=5, posts=300, follows=12, cache_size=10, celebrity_followers=2_000,
               celebrity_posts=3, delete_share=0.2, unfollow_share=0.15, active_share=0.5),
)  # fmt: skip


@pytest.mark.parametrize("config", CONFIGS)
def test_targets_follow_the_strategy_rule_author_by_author(config):
    """Each post's writes are its author's followers the rule pushes to: the pointers built from the kept
    positions agree with a bincount of the kept entries' authors."""
    world = build_world(config)
    g, ctx = world.graph, world.context()
    for name, strat in STRATEGIES.items():
        run = simulate_feed(config, name, world)
        keep = strat.pushed(g.followers_idx, g.followers_author, ctx)
        per_author = np.bincount(g.followers_author[keep], minlength=g.users)
        accepted = np.flatnonzero(world.accepted)
        assert np.array_equal(run.writes_per_post[accepted], per_author[world.post_author[accepted]])


@pytest.mark.parametrize("config", CONFIGS)
def test_feed_is_the_ids_of_feed_entries(config):
    """``feed`` reads without building entries; ``feed_entries`` (and its np.isin) agree with it."""
    world = build_world(config)
    for name in STRATEGIES:
        run = simulate_feed(config, name, world)
        g, w = run.graph, run.world
        for user in range(0, g.users, 7):
            entries = run.feed_entries(user)
            assert run.feed(user) == [e.post_id for e in entries]
            cache = run.cache_idx[run.cache_ptr[user] : run.cache_ptr[user + 1]]
            edges = slice(int(g.followees_ptr[user]), int(g.followees_ptr[user + 1]))
            current = g.followees_idx[edges][~w.removed[edges]]
            followed = np.isin(w.post_author[cache], current)
            shown = set(cache[~w.deleted[cache] & followed].tolist())
            assert {e.post_id for e in entries if e.source == "cache"} == shown & {e.post_id for e in entries}


def _arrays(run):
    return {k: v for k, v in vars(run).items() if isinstance(v, np.ndarray)}


@pytest.mark.parametrize(
    "change",
    ({"workers": 1}, {"worker_throughput": 1_000.0}, {"batch_size": 7}, {"cache_size": 5},
     {"celebrity_threshold": 20}, {}),
)  # fmt: skip
def test_a_world_is_shared_by_configs_that_differ_in_the_fanout_only(change):
    """A world built once for ``world_config`` and rebound gives every run exactly what a fresh build gives."""
    from dataclasses import replace

    from sdcore.feed import simulate_all, world_config

    config = replace(CONFIGS[1], **change)
    shared = build_world(world_config(config))
    got, want = simulate_all(config, world=shared), simulate_all(config)
    for name in STRATEGIES:
        assert got[name].config == config and got[name].world.graph is shared.graph
        a, b = _arrays(got[name]), _arrays(want[name])
        assert a.keys() == b.keys() and all(np.array_equal(a[k], b[k], equal_nan=True) for k in a)
        assert got[name].costs() == want[name].costs()
        for user in range(0, config.users, 37):
            assert got[name].feed_entries(user, with_filtered=True) == want[name].feed_entries(
                user, with_filtered=True
            )


def test_a_world_refuses_a_config_that_changes_it():
    from dataclasses import replace

    from sdcore.feed import world_config

    world = build_world(world_config(CONFIGS[0]))
    for change in ({"posts": 401}, {"seed": 3}, {"active_share": 0.5}, {"read_limit": 61}):
        with pytest.raises(ValueError, match="world_config"):
            world.rebound(replace(CONFIGS[0], **change))
    assert world.rebound(world.config) is world


@given(seed=st.integers(0, 2**32 - 1), n=st.integers(2, 300), threshold=st.integers(1, 50))
@settings(max_examples=80, deadline=None)
def test_rules_are_their_plain_formulas(seed, n, threshold):
    """Hybrid's per-user gate and per pair's -inf for inactive readers decide every pair as the plain
    formulas do (rates tied, zero rates, inactive readers whose rate is 0)."""
    from sdcore.feed.strategies import PairContext

    r = np.random.default_rng(seed)
    rates = np.array([0.0, 0.5, 1.0, 2.0])
    ctx = PairContext(
        r.random(n) < 0.6, r.integers(0, 60, n), r.choice(rates, n), r.choice(rates, n), threshold
    )
    f, a = r.integers(0, n, 500), r.integers(0, n, 500)
    hybrid = ctx.active[f] & (ctx.follower_counts[a] < ctx.celebrity_threshold)
    per_pair = ctx.active[f] & (ctx.read_rate[f] >= ctx.post_rate[a])
    assert np.array_equal(STRATEGIES["hybrid"].pushed(f, a, ctx), hybrid)
    assert np.array_equal(STRATEGIES["per_pair"].pushed(f, a, ctx), per_pair)


@pytest.mark.parametrize("config", CONFIGS)
def test_pulled_counts_and_pair_rates_are_the_plain_ones(config):
    world = build_world(config)
    g = world.graph
    posting, reading = world.pair_rates
    assert np.array_equal(posting, world.author_rate[g.followee])
    assert np.array_equal(reading, world.reader_rate[g.follower])
    for name in STRATEGIES:
        run = simulate_feed(config, name, world)
        keep = ~run.pushed & ~world.removed
        assert np.array_equal(run._pulled_counts, np.bincount(g.follower[keep], minlength=g.users))


@pytest.mark.parametrize(
    "config",
    (*CONFIGS, FeedConfig(users=2_000, seed=3, posts=600, read_rate=30_000.0, unauthenticated_share=0.3)),
)
def test_load_latency_quantiles_from_the_tally_are_numpy_s(config):
    """The median and p99 load time read off the sorted tally equal numpy's over the served loads."""
    world = build_world(config)
    for name in STRATEGIES:
        run = simulate_feed(config, name, world)
        served = world.load_status == 200
        lat = run.load_latency_ms[served]
        c = run.costs()
        assert c.median_latency_ms == float(np.median(lat))
        assert c.p99_latency_ms == float(np.percentile(lat, 99))
        assert c.reads_per_load == float(run.load_lists[served].mean())
