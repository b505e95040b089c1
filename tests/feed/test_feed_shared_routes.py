"""Push's and hybrid's routings depend on the graph, the active users and the threshold only (when nothing
is unfollowed): a world-knob move (rates, posts, deletes, limits) on the same graph reuses them, each world
with its own pair cost, and every array and cost is what the rule gives edge by edge on that world."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from sdcore.feed import STRATEGIES, FeedConfig, build_world, feed_graph, graph_config, simulate_all
from sdcore.feed import simulate as sim
from tests.feed.test_feed_routes import _check_route, _same_run

MOVES = ({"post_rate": 120.0}, {"read_rate": 30_000.0}, {"posts": 700}, {"celebrity_posts": 3},
         {"delete_share": 0.3}, {"unauthenticated_share": 0.2}, {"publish_limit": 2}, {"read_limit": 3},
         {"active_share": 0.3}, {"seed": 9}, {"unfollow_share": 0.2})  # fmt: skip


@given(
    seed=st.integers(0, 2**31 - 1),
    users=st.integers(2, 500),
    follows=st.floats(1.0, 25.0),
    star=st.sampled_from((0, 0, 40, 700)),
    threshold=st.sampled_from((1, 3, 20, 1_000_001)),
    active=st.sampled_from((0.0, 0.4, 1.0)),
    moves=st.lists(st.sampled_from(MOVES), min_size=1, max_size=4),
)
@settings(max_examples=40, deadline=None)
def test_worlds_on_one_graph_route_as_the_rule(seed, users, follows, star, threshold, active, moves):
    config = FeedConfig(users, seed, follows=follows, celebrity_followers=star, posts=60,
                        celebrity_threshold=threshold, active_share=active)  # fmt: skip
    graph = feed_graph(graph_config(config))
    for move in ({}, *moves, {}):
        c = replace(config, **move)
        if graph_config(c) != graph_config(config):
            continue  # a seed move builds another graph
        world = build_world(c, graph)
        _check_route(world)


def test_a_rate_move_reuses_push_and_hybrid_and_equals_a_fresh_run():
    config = FeedConfig(3_000, 2, posts=300, celebrity_followers=3_000, celebrity_posts=1,
                        celebrity_threshold=1_000)  # fmt: skip
    graph = feed_graph(graph_config(config))
    first = simulate_all(config, world=build_world(config, graph))
    for move in MOVES:
        c = replace(config, **move)
        if graph_config(c) != graph_config(config):
            continue
        again = simulate_all(c, world=build_world(c, graph))
        fresh = simulate_all(c)  # its own graph: nothing shared
        same_active = np.array_equal(again["push"].world.active, first["push"].world.active)
        for name in STRATEGIES:
            _same_run(again[name], fresh[name])
        for name in ("push", "hybrid"):
            shares = again[name].route.targets is first[name].route.targets
            assert shares == (same_active and c.unfollow_share == 0), (move, name)


def test_shared_routings_are_bounded_and_read_only():
    config = FeedConfig(1_500, 3, posts=100)
    graph = feed_graph(graph_config(config))
    for share in np.linspace(0.05, 0.95, 3 * sim.MAX_SHARED_ROUTES):
        build_world(replace(config, active_share=float(share)), graph).route(STRATEGIES["push"])
    assert 0 < len(graph.routings) <= sim.MAX_SHARED_ROUTES
    for found in graph.routings.values():
        assert not found.pushed_author.flags.writeable
