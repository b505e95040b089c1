"""News feed: a follower graph, a fanout queue with K workers in virtual time, and four delivery strategies.

>>> from sdcore.feed import FeedConfig, simulate_feed
>>> run = simulate_feed(FeedConfig(users=300, seed=1, posts=50), "push")
>>> run.feed(5) == simulate_feed(FeedConfig(users=300, seed=1, posts=50), "pull").feed(5)
True

- ``graph``: ``scale_free_graph`` (seeded, numpy CSR), ``with_star`` (the celebrity), ``parse_edge_list``
  (an uploaded CSV, size-capped, errors by line, hashed into the config).
- ``strategies``: ``STRATEGIES``, the one registry of ``push``, ``pull``, ``hybrid`` and ``per_pair``.
- ``fanout``: ``drain_queue`` (the K-worker FIFO queue), ``fanout_makespan`` and ``workers_for_deadline``.
- ``simulate``: ``FeedConfig``, ``build_world`` (its key: ``world_config``),
  ``simulate_feed(config, strategy) -> FeedRun``, ``simulate_all``.
"""

from sdcore.feed.fanout import (
    LOOKUP_SECONDS,
    batch_count,
    capacity_needed,
    drain_queue,
    fanout_makespan,
    workers_for_deadline,
)
from sdcore.feed.graph import (
    MAX_EDGE_LIST_BYTES,
    MAX_EDGES,
    MAX_STAR_FOLLOWERS,
    MAX_USERS,
    EdgeList,
    FollowerGraph,
    Neighbourhood,
    content_hash,
    neighbourhood,
    parse_edge_list,
    scale_free_graph,
    with_star,
)
from sdcore.feed.simulate import (
    ENTRY_BYTES,
    MAX_LOADS,
    MAX_POSTS,
    OK,
    PER_LIST_MS,
    RATE_LIMITED,
    ROUND_TRIP_MS,
    UNAUTHORIZED,
    FeedConfig,
    FeedEntry,
    FeedRun,
    StrategyCosts,
    World,
    build_world,
    feed_graph,
    graph_config,
    simulate_all,
    simulate_feed,
    world_config,
)
from sdcore.feed.strategies import STRATEGIES, PairContext, Strategy

__all__ = [
    "ENTRY_BYTES",
    "LOOKUP_SECONDS",
    "MAX_EDGES",
    "MAX_EDGE_LIST_BYTES",
    "MAX_LOADS",
    "MAX_POSTS",
    "MAX_STAR_FOLLOWERS",
    "MAX_USERS",
    "OK",
    "PER_LIST_MS",
    "RATE_LIMITED",
    "ROUND_TRIP_MS",
    "STRATEGIES",
    "UNAUTHORIZED",
    "EdgeList",
    "FeedConfig",
    "FeedEntry",
    "FeedRun",
    "FollowerGraph",
    "Neighbourhood",
    "PairContext",
    "Strategy",
    "StrategyCosts",
    "World",
    "batch_count",
    "build_world",
    "feed_graph",
    "graph_config",
    "capacity_needed",
    "content_hash",
    "drain_queue",
    "fanout_makespan",
    "neighbourhood",
    "parse_edge_list",
    "scale_free_graph",
    "simulate_all",
    "simulate_feed",
    "with_star",
    "workers_for_deadline",
    "world_config",
]
