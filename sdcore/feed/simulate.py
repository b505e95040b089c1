"""A news feed in virtual time: posts fan out through a queue of batches and K workers into per-user feed
caches, and feed loads read the cache and merge what was left to read time.

Scenario. ``users`` accounts follow each other (a seeded scale-free graph, or an uploaded edge list), and
user 0 may be a celebrity with up to a million followers. ``posts`` posts arrive as a Poisson process at
``post_rate`` per second, ``celebrity_posts`` of them by user 0, spread evenly from t = 0. Each publish
and each feed load passes authentication (a share ``unauthenticated_share`` of requests carries no valid
token and gets 401) and a per-user token bucket (``publish_limit`` / ``read_limit`` per minute, from
``sdcore.ratelimit``; 429). An accepted post goes to the fanout service: it looks up the author's
followers, keeps those the strategy pushes to (never an inactive user), and queues them in batches of
``batch_size``; ``workers`` workers each write ``worker_throughput`` ``(post_id, author_id)`` entries per
second into feed caches capped at ``cache_size`` entries (a sorted set by post id: the oldest drops).
Feed loads arrive at ``read_rate`` per second, each by an active user picked by their read rate; a load
reads the cache (one list) and every followee's own list the strategy left to read time, merged newest
first. After the fanout has drained, ``delete_share`` of the posts are deleted and ``unfollow_share`` of
the follows undone: copies already pushed stay in the caches and are filtered out when a feed is read.

Correctness (tested): without deletes and unfollows every strategy returns the same feed to every user,
the ``cache_size`` newest posts of the accounts they follow; with them, every strategy's feed is a prefix of
what a fresh pull returns (the copies filtered at read time are what it is short by).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from functools import cached_property

import numpy as np

from sdcore.checks import int_between, number_between, one_of, positive_finite
from sdcore.checks import seed as check_seed
from sdcore.feed.fanout import LOOKUP_SECONDS, MAX_WORKERS, drain_queue
from sdcore.feed.graph import (
    MAX_FOLLOWS,
    MAX_STAR_FOLLOWERS,
    MAX_USERS,
    TAIL_RANGE,
    EdgeList,
    FollowerGraph,
    scale_free_graph,
    weighted_choice,
    with_star,
)
from sdcore.feed.strategies import STRATEGIES, PairContext, Strategy
from sdcore.ratelimit import TokenBucket, simulate

MAX_POSTS = 20_000
MAX_LOADS = 100_000  # feed loads simulated per run: the first ones in time, if the rate asks for more
MAX_RATE = 10_000_000.0
MAX_CACHE = 5_000
ROUND_TRIP_MS = 1.0  # a feed load's fixed cost: the request and one read of the cache
PER_LIST_MS = 0.1  # each further list read and merged at read time
ENTRY_BYTES = 20  # a cached entry: post id 8 B + author id 8 B + flags 4 B (Krikorian 2012)
OK, UNAUTHORIZED, RATE_LIMITED = 200, 401, 429


def _frozen(a: np.ndarray) -> np.ndarray:
    a.flags.writeable = False
    return a


@dataclass(frozen=True)
class FeedConfig:
    """One experiment. Frozen and hashable: the page caches its runs by it."""

    users: int
    seed: int
    follows: float = 20.0
    tail: float = 2.3
    celebrity_followers: int = 0
    celebrity_posts: int = 0
    posts: int = 1_000
    post_rate: float = 50.0
    read_rate: float = 3_000.0
    workers: int = 4
    worker_throughput: float = 10_000.0
    batch_size: int = 4_000
    cache_size: int = 800
    celebrity_threshold: int = 10_000
    active_share: float = 0.7
    delete_share: float = 0.0
    unfollow_share: float = 0.0
    unauthenticated_share: float = 0.0
    publish_limit: int = 30
    read_limit: int = 60
    edge_list: EdgeList | None = None

    def __post_init__(self) -> None:
        s = object.__setattr__
        if self.edge_list is not None and not isinstance(self.edge_list, EdgeList):
            raise ValueError(
                f"edge_list must come from parse_edge_list (got {type(self.edge_list).__name__})"
            )
        low = self.edge_list.users if self.edge_list is not None else 2
        if self.edge_list is not None and self.users < low:
            raise ValueError(
                f"users must be at least 1 + the largest id in the edge list (got users={self.users}, "
                f"the edge list needs {low:,})"
            )
        s(self, "users", int_between("users", self.users, low, MAX_USERS))
        s(self, "seed", check_seed(self.seed))
        s(self, "follows", number_between("follows", self.follows, 1, MAX_FOLLOWS))
        s(self, "tail", number_between("tail", self.tail, *TAIL_RANGE))
        s(
            self,
            "celebrity_followers",
            int_between("celebrity_followers", self.celebrity_followers, 0, MAX_STAR_FOLLOWERS),
        )
        s(self, "posts", int_between("posts", self.posts, 1, MAX_POSTS))
        s(
            self,
            "celebrity_posts",
            int_between("celebrity_posts", self.celebrity_posts, 0, self.posts, hi_name="posts"),
        )
        s(
            self,
            "post_rate",
            number_between("post_rate", self.post_rate, 0, MAX_RATE, lo_open=True, unit=" posts per second"),
        )
        s(
            self,
            "read_rate",
            number_between(
                "read_rate", self.read_rate, 0, MAX_RATE, lo_open=True, unit=" feed loads per second"
            ),
        )
        s(self, "workers", int_between("workers", self.workers, 1, MAX_WORKERS))
        s(
            self,
            "worker_throughput",
            positive_finite("worker_throughput", self.worker_throughput, " writes per second"),
        )
        s(self, "batch_size", int_between("batch_size", self.batch_size, 1, 100_000))
        s(self, "cache_size", int_between("cache_size", self.cache_size, 1, MAX_CACHE))
        s(
            self,
            "celebrity_threshold",
            int_between("celebrity_threshold", self.celebrity_threshold, 1, MAX_STAR_FOLLOWERS + 1),
        )
        for name in ("active_share", "delete_share", "unfollow_share", "unauthenticated_share"):
            s(self, name, number_between(name, getattr(self, name), 0, 1))
        s(self, "publish_limit", int_between("publish_limit", self.publish_limit, 1, 10_000))
        s(self, "read_limit", int_between("read_limit", self.read_limit, 1, 10_000))


# -- the world: graph, activity, requests (shared by every strategy) ---------------------------------------


def _gate(rng, times: np.ndarray, users: np.ndarray, unauth: float, per_minute: int) -> np.ndarray:
    """HTTP status of each request: 401 without a valid token, else 429 past the user's token bucket
    (``per_minute`` tokens, refilled at ``per_minute / 60`` per second), else 200."""
    status = np.where(rng.random(len(times)) < unauth, UNAUTHORIZED, OK)
    ok = np.flatnonzero(status == OK)
    # A bucket that starts full never refuses a user with no more requests than its capacity: only
    # heavier users go through the limiter, which gives the same decisions as running everyone.
    counts = np.bincount(users[ok], minlength=1)
    heavy = ok[counts[users[ok]] > per_minute]
    if len(heavy):
        decided = simulate(TokenBucket(per_minute, per_minute / 60.0), times[heavy], users[heavy])
        status[heavy[~decided.allowed]] = RATE_LIMITED
    return status


@dataclass(frozen=True, eq=False)
class World:
    """Everything that does not depend on the strategy. Arrays are read-only."""

    config: FeedConfig
    graph: FollowerGraph
    active: np.ndarray  # bool per user
    post_time: np.ndarray
    post_author: np.ndarray
    post_status: np.ndarray
    deleted: np.ndarray  # bool per post (deleted after the fanout)
    removed: np.ndarray  # bool per edge, in graph.follower order (unfollowed after the fanout)
    author_rate: np.ndarray  # posts per second expected of each user
    reader_rate: np.ndarray  # feed loads per second expected of each user
    load_time: np.ndarray
    load_user: np.ndarray
    load_status: np.ndarray
    window: float  # seconds of traffic simulated
    loads_wanted: int  # feed loads the read rate asks for in the window (MAX_LOADS are simulated)
    visible_ptr: np.ndarray = field(repr=False)  # CSR by author of accepted, undeleted posts, newest first
    visible_idx: np.ndarray = field(repr=False)
    # strategy name (with the threshold, for hybrid) -> its Route: shared by the worlds ``rebound`` makes, so a
    # fanout knob's move reuses every strategy's routing instead of routing every follow edge again
    routes: dict = field(default_factory=dict, repr=False)

    @property
    def accepted(self) -> np.ndarray:
        return self.post_status == OK

    def route(self, strategy: Strategy) -> Route:
        """``strategy``'s routing on this world (computed once per world and celebrity threshold)."""
        key = (strategy.name, self.config.celebrity_threshold if strategy.name == "hybrid" else None)
        found = self.routes.get(key)
        if found is None:
            found = _route(self, strategy)
            if len(self.routes) >= MAX_ROUTES:
                self.routes.clear()  # many thresholds tried on one world: start over (bounded memory)
            self.routes[key] = found
        return found

    @cached_property
    def followees_kept(self) -> np.ndarray:
        """Per user: how many of its follows are not undone (the lists a pull reads), read-only."""
        g = self.graph
        if not self.removed.any():
            return _frozen(g.followee_counts)
        return _frozen(np.bincount(np.compress(~self.removed, g.follower), minlength=g.users))

    def rebound(self, config: FeedConfig) -> World:
        """This world under ``config``, which may differ from its own only in the fanout's settings (the
        arrays are shared, not copied)."""
        if world_config(config) != world_config(self.config):
            raise ValueError("the world was built from other settings than config's (see world_config)")
        return self if config == self.config else replace(self, config=config)

    @cached_property
    def pair_rates(self) -> tuple[np.ndarray, np.ndarray]:
        """(the author's posts per second, the reader's feed loads per second) of every follow edge, in
        ``graph.follower`` order, read-only: what a pair costs pushed or pulled, gathered once per world."""
        g = self.graph  # reader_rate[follower], spread over each reader's row (graph.follower is sorted)
        return _frozen(self.author_rate[g.followee]), _frozen(np.repeat(self.reader_rate, g.followee_counts))

    def context(self) -> PairContext:
        c = self.config
        return PairContext(
            self.active, self.graph.follower_counts, self.author_rate, self.reader_rate, c.celebrity_threshold
        )


def graph_config(config: FeedConfig) -> FeedConfig:
    """The settings the follower graph depends on (the others at their defaults): a cache key for it."""
    c = config
    return FeedConfig(c.users, c.seed, follows=c.follows, tail=c.tail,
                      celebrity_followers=c.celebrity_followers, edge_list=c.edge_list)  # fmt: skip


_RUN_ONLY = ("workers", "worker_throughput", "batch_size", "cache_size", "celebrity_threshold")


def world_config(config: FeedConfig) -> FeedConfig:
    """The settings the world depends on: all but the fanout's (workers, their throughput, the batch and
    cache sizes, the celebrity threshold), which are left at their defaults: a cache key for the world."""
    return replace(config, **{f: FeedConfig.__dataclass_fields__[f].default for f in _RUN_ONLY})


def feed_graph(config: FeedConfig) -> FollowerGraph:
    """The follower graph of ``config``: the uploaded or generated graph, with its celebrity."""
    c = config
    if c.edge_list is not None:
        base = c.edge_list.graph(c.users)
    else:
        base = scale_free_graph(c.users, c.follows, c.tail, c.seed)
    return with_star(base, c.celebrity_followers, c.seed)


def build_world(config: FeedConfig, graph: FollowerGraph | None = None) -> World:
    """The world of ``config``; ``graph`` is ``feed_graph(config)`` if the caller has it already."""
    c = config
    rng = np.random.default_rng([c.seed, 20])
    graph = feed_graph(c) if graph is None else graph
    n = graph.users
    active = _frozen(rng.random(n) < c.active_share)

    # posts: Poisson arrivals from t = 0; the celebrity's evenly spread, starting with the first
    gaps = rng.exponential(1.0 / c.post_rate, size=c.posts)
    post_time = np.concatenate(([0.0], np.cumsum(gaps[1:])))
    star = c.celebrity_followers > 0 or c.celebrity_posts > 0
    authors = np.arange(1 if star else 0, c.users)  # accounts added by the star only read
    weight = rng.lognormal(0.0, 1.0, size=len(authors))
    post_author = weighted_choice(rng, authors, c.posts, weight / weight.sum())
    celeb = np.unique(np.round(np.linspace(0, c.posts - 1, c.celebrity_posts)).astype(np.int64))
    post_author[celeb] = 0
    author_rate = np.zeros(n)
    author_rate[authors] = c.post_rate * (1 - len(celeb) / c.posts) * weight / weight.sum()
    author_rate[0] += c.post_rate * len(celeb) / c.posts
    post_status = _gate(rng, post_time, post_author, c.unauthenticated_share, c.publish_limit)

    # feed loads by active users, each at their own rate
    reader_rate = np.zeros(n)
    readers = np.flatnonzero(active)
    window = max(float(post_time[-1]), 1.0)
    loads_wanted = int(round(c.read_rate * window)) if len(readers) else 0
    count = min(loads_wanted, MAX_LOADS)
    if len(readers):
        w = rng.lognormal(0.0, 1.0, size=len(readers))
        reader_rate[readers] = c.read_rate * w / w.sum()
        load_user = weighted_choice(rng, readers, count, w / w.sum())
    else:
        load_user = np.zeros(0, dtype=np.int64)
    load_time = np.sort(rng.uniform(0.0, window * count / max(loads_wanted, 1), size=count))
    load_status = _gate(rng, load_time, load_user, c.unauthenticated_share, c.read_limit)

    accepted = post_status == OK
    deleted = accepted & (rng.random(c.posts) < c.delete_share)
    # the last draw: with no unfollows, skip drawing a number per edge (nothing is drawn after it)
    removed = (
        rng.random(graph.edges) < c.unfollow_share
        if c.unfollow_share > 0
        else np.zeros(graph.edges, dtype=bool)
    )
    visible = np.flatnonzero(accepted & ~deleted)
    order = np.lexsort((-visible, post_author[visible]))
    counts = np.bincount(post_author[visible], minlength=n)
    visible_ptr = np.zeros(n + 1, dtype=np.int64)
    np.cumsum(counts, out=visible_ptr[1:])
    f = _frozen
    return World(
        c,
        graph,
        active,
        f(post_time),
        f(post_author),
        f(post_status),
        f(deleted),
        f(removed),
        f(author_rate),
        f(reader_rate),
        f(load_time),
        f(load_user),
        f(load_status),
        window,
        loads_wanted,
        f(visible_ptr),
        f(visible[order]),
    )


# -- one strategy's routing on one world --------------------------------------------------------------------

MAX_ROUTES = 12  # routings kept per world (four strategies, hybrid once per celebrity threshold tried)


@dataclass(frozen=True, eq=False)
class Route:
    """Which follows one strategy pushes on one world, and what that decides before any queue runs: it
    depends on the world and (for hybrid) the celebrity threshold only, never on the workers, their
    throughput, the batch or the cache size. Arrays are read-only."""

    pushed: np.ndarray  # bool per edge (graph.follower order)
    targets: np.ndarray  # the pushed followers, followers-CSR order (by author, then follower id)
    tptr: np.ndarray  # per author: its first entry in ``targets`` (n + 1 pointers)
    pulled: np.ndarray  # per user: followees still followed whose posts are left to read time
    pair_cost: float  # expected operations per second (see FeedRun.pair_cost)


MAX_SHARED_ROUTES = 4  # rate-free routings kept per graph (push and hybrid per active set and threshold)


@dataclass(frozen=True, eq=False)
class _Routing:
    """A push or hybrid routing without unfollows: a function of the graph, the active users and the
    threshold only, so shared by every world on one graph that has them (a rate, posts or seed-free move).
    ``pushed_author`` / ``pulled_reader`` are the followee of each pushed edge and the follower of each
    other edge, in edge order: the pair cost is the same float sum of the same gathered rates."""

    route: Route  # its pair_cost is that of the world that computed it
    pushed_author: np.ndarray  # int32
    pulled_reader: np.ndarray | None  # int32 (None for push: an unpushed pair's reader is inactive, rate 0)


def _shared_route(w: World, strat: Strategy) -> Route:
    g, name = w.graph, strat.name
    key = (name, w.config.celebrity_threshold if name == "hybrid" else None, len(w.active),
           np.packbits(w.active).tobytes())  # fmt: skip
    found = g.routings.get(key)
    if found is None:
        route = _route(w, strat, shared=False)
        pushed_author = _frozen(np.compress(route.pushed, g.followee).astype(np.int32))
        pulled_reader = (
            None if name == "push" else _frozen(np.compress(~route.pushed, g.follower).astype(np.int32))
        )
        if len(g.routings) >= MAX_SHARED_ROUTES:
            g.routings.clear()  # many active sets tried on one graph: start over (bounded memory)
        g.routings[key] = _Routing(route, pushed_author, pulled_reader)
        return route
    if name == "push":  # as below: the pulled pairs' sum is 0.0
        cost = float(w.author_rate[found.pushed_author].sum()) + 0.0
    else:
        cost = float(w.author_rate[found.pushed_author].sum() + w.reader_rate[found.pulled_reader].sum())
    return replace(found.route, pair_cost=cost)


def _route(w: World, strat: Strategy, *, shared: bool = True) -> Route:
    """The routing of ``strat`` on ``w``: the same arrays the rule gives edge by edge, with the shortcuts
    each built-in strategy allows (tested equal to the plain computation)."""
    g, ctx, name = w.graph, w.context(), strat.name
    if name == "hybrid" and not (g.follower_counts >= ctx.celebrity_threshold).any():
        return w.route(STRATEGIES["push"])  # no author is a celebrity: hybrid pushes exactly what push does
    if shared and name in ("push", "hybrid") and strat is STRATEGIES[name] and not w.removed.any():
        return _shared_route(w, strat)  # only the pair cost depends on the rates
    posting, reading = w.pair_rates
    if name == "pull":  # nothing pushed: every list still followed is read
        pushed = np.zeros(g.edges, dtype=bool)
        kept = np.zeros(0, dtype=np.int64)
        pulled = w.followees_kept
        pair_cost = 0.0 + float(reading.sum())  # compress(~pushed, reading) is reading itself
    else:
        # one bool per edge in each CSR order: graph.follower order (by reader) and followers order (by
        # author, so batches hold followers by id). A per-reader (per-author) factor is spread over the rows
        # of the reader (author) with np.repeat, a sequential read, instead of gathered edge by edge.
        if name == "push":
            pushed = np.repeat(ctx.active, g.followee_counts)  # active[follower]
            mask = ctx.active[g.followers_idx]
        elif name == "hybrid":
            ordinary = ctx.follower_counts < ctx.celebrity_threshold
            pushed = np.repeat(ctx.active, g.followee_counts) & ordinary[g.followee]
            mask = ctx.active[g.followers_idx] & np.repeat(ordinary, g.follower_counts)
        elif name == "per_pair":
            reads = np.where(ctx.active, ctx.read_rate, -np.inf)  # as the rule: -inf never pushes
            pushed = np.repeat(reads, g.followee_counts) >= posting  # posting is post_rate[followee]
            mask = reads[g.followers_idx] >= np.repeat(ctx.post_rate, g.follower_counts)
        else:
            pushed = strat.pushed(g.follower, g.followee, ctx)
            mask = strat.pushed(g.followers_idx, g.followers_author, ctx)
        # the kept entries before each author's first are its pointer into ``targets`` (positions, not a
        # bool mask: indexing by a long mask is several times slower); a running count of the mask gives
        # the pointers searchsorted(kept, followers_ptr) gives, without a binary search per user
        kept = np.flatnonzero(mask)
        if name == "push":  # every follow of an active reader is pushed, none of an inactive one
            pulled = np.where(w.active, 0, w.followees_kept)
            # an inactive reader's rate is 0: the pulled pairs' sum is 0.0
            pair_cost = float(np.compress(pushed, posting).sum()) + 0.0
        else:
            keep = ~pushed & ~w.removed
            pulled = np.bincount(np.compress(keep, g.follower), minlength=g.users)  # g.follower[keep], faster
            pair_cost = float(np.compress(pushed, posting).sum() + np.compress(~pushed, reading).sum())
    targets = g.followers_idx[kept]
    if len(kept):
        running = np.zeros(g.edges + 1, dtype=np.int32)  # edges < 2**31 (MAX_USERS * MAX_FOLLOWS + a star)
        np.cumsum(mask, out=running[1:], dtype=np.int32)
        tptr = running[g.followers_ptr].astype(np.int64)
    else:
        tptr = np.zeros(g.users + 1, dtype=np.int64)
    return Route(_frozen(pushed), _frozen(targets), _frozen(tptr), _frozen(pulled), pair_cost)


# -- one strategy's run ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class StrategyCosts:
    """The cost table's row for one strategy."""

    strategy: str
    writes_per_post: float  # feed-cache writes per accepted post, on average
    max_writes_per_post: int
    cache_writes: int
    reads_per_load: float  # lists read per served feed load, on average
    writes_per_second: float  # at the simulated post rate
    reads_per_second: float  # at the simulated read rate
    median_delay: float  # seconds until a post's last follower has it
    max_delay: float
    median_latency_ms: float
    p99_latency_ms: float
    cache_entries: int
    cache_bytes: int
    max_queue: int  # batches waiting at the worst moment


@dataclass(frozen=True)
class FeedEntry:
    post_id: int
    author_id: int
    source: str  # "cache", "merged at read time", or "filtered: deleted" / "filtered: unfollowed"


@dataclass(frozen=True, eq=False)
class FeedRun:
    """One strategy run on one world. Arrays are read-only; ``feed`` reads after the fanout has drained."""

    world: World
    strategy: Strategy
    pushed: np.ndarray  # bool per edge (graph.follower order): posts pushed along this follow
    writes_per_post: np.ndarray  # per post (0 for a refused post)
    delay: np.ndarray  # per post: seconds until its last follower has it (0 when nothing is pushed)
    batch_post: np.ndarray
    batch_size: np.ndarray
    batch_arrival: np.ndarray
    batch_start: np.ndarray
    batch_finish: np.ndarray
    delivered: np.ndarray  # sorted times at which each cache entry landed
    delivery_post: np.ndarray  # post of each entry, same order as ``delivery_time``
    delivery_time: np.ndarray
    cache_ptr: np.ndarray = field(repr=False)
    cache_idx: np.ndarray = field(repr=False)  # post ids, newest first per user
    load_lists: np.ndarray = field(repr=False)  # lists read per simulated load (0 if refused)
    load_latency_ms: np.ndarray = field(repr=False)  # NaN if refused
    route: Route | None = field(default=None, repr=False)  # the strategy's routing on the world

    @property
    def config(self) -> FeedConfig:
        return self.world.config

    @property
    def graph(self) -> FollowerGraph:
        return self.world.graph

    @cached_property
    def active_users(self) -> frozenset[int]:
        return frozenset(np.flatnonzero(self.world.active).tolist())

    def renamed(self, strategy: Strategy) -> FeedRun:
        """This run under ``strategy``, which routes exactly as this run's does on this world (the same
        route object) and keeps a cache alike: every array shared, the cost table's row renamed."""
        if strategy.uses_cache != self.strategy.uses_cache or self.world.route(strategy) is not self.route:
            raise ValueError(f"{strategy.name} does not route as {self.strategy.name} on this world")
        twin = replace(self, strategy=strategy)
        if "_costs" in self.__dict__:
            twin.__dict__["_costs"] = replace(self._costs, strategy=strategy.name)  # a cached_property's slot
        return twin

    @property
    def _pulled_counts(self) -> np.ndarray:
        """Per user: followees still followed whose posts are left to read time (the strategy's routing)."""
        return self.route.pulled

    @property
    def pair_cost(self) -> float:
        """Expected operations per second: each pushed pair costs the author's post rate (writes), each pulled
        pair the reader's load rate (list reads); Feeding Frenzy's per-pair rule minimises this sum. The
        same float as ``author_rate[followee[pushed]].sum() + reader_rate[follower[~pushed]].sum()``."""
        return self.route.pair_cost

    @property
    def pushed_per_author(self) -> np.ndarray:
        """Per author: how many followers its posts are pushed to (for push: its active followers)."""
        return np.diff(self.route.tptr)

    def reads_per_load(self, user: int) -> int:
        """Lists a feed load by ``user`` reads: its cache (unless the strategy keeps none) and every
        followee it still follows whose posts were left to read time."""
        return int(self.strategy.uses_cache) + int(self._pulled_counts[user])

    def _edges_of(self, user: int) -> slice:
        g = self.graph
        return slice(int(g.followees_ptr[user]), int(g.followees_ptr[user + 1]))

    def _read(
        self, user: int
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """A feed load by ``user`` (a valid id): (the feed's post ids newest first, the cached ones shown,
        the cache, its entries' authors, deleted, and still followed)."""
        w, g, k = self.world, self.graph, self.config.cache_size
        edges = self._edges_of(user)
        followees = g.followees_idx[edges]
        current = followees[~w.removed[edges]]  # sorted, as every row of the followees CSR is
        cache = self.cache_idx[self.cache_ptr[user] : self.cache_ptr[user + 1]]
        horizon = int(cache[-1]) if len(cache) == k else -1  # a full cache says nothing older than this
        authors = w.post_author[cache]
        is_deleted = w.deleted[cache]
        # np.isin(authors, current), by binary search in the sorted ``current`` (np.isin sorts both)
        if len(current):
            followed = current[np.minimum(np.searchsorted(current, authors), len(current) - 1)] == authors
        else:
            followed = np.zeros(len(authors), dtype=bool)
        shown = cache[~is_deleted & followed]
        pulled_from = followees[~self.pushed[edges] & ~w.removed[edges]]
        parts = [w.visible_idx[w.visible_ptr[a] : w.visible_ptr[a + 1]][:k] for a in pulled_from.tolist()]
        merged = np.concatenate(parts) if parts else np.zeros(0, dtype=np.int64)
        merged = merged[merged >= horizon]
        feed = np.sort(np.concatenate((shown, merged)))[::-1][:k]
        return feed, shown, cache, authors, is_deleted, followed

    def feed_entries(self, user: int, *, with_filtered: bool = False) -> list[FeedEntry]:
        """``user``'s feed, newest first (at most ``cache_size``), each entry marked with where it came
        from; ``with_filtered`` adds the cached copies dropped at read time, in place."""
        w = self.world
        user = int_between("user", user, 0, self.graph.users - 1, hi_name="the last user id")
        feed, shown, cache, authors, is_deleted, followed = self._read(user)
        from_cache = set(shown.tolist())
        rows = [
            FeedEntry(p, int(w.post_author[p]), "cache" if p in from_cache else "merged at read time")
            for p in feed.tolist()
        ]
        if with_filtered:
            oldest = feed[-1] if len(feed) else -1
            dropped = [
                FeedEntry(int(p), int(a), "filtered: deleted" if d else "filtered: unfollowed")
                for p, a, d, f in zip(
                    cache.tolist(), authors.tolist(), is_deleted.tolist(), followed.tolist(), strict=True
                )
                if (d or not f) and p >= oldest
            ]
            rows = sorted(rows + dropped, key=lambda e: -e.post_id)
        return rows

    def feed(self, user: int) -> list[int]:
        """Post ids in ``user``'s feed, newest first, at most ``cache_size``."""
        user = int_between("user", user, 0, self.graph.users - 1, hi_name="the last user id")
        return self._read(user)[0].tolist()

    def reached(self, post: int) -> np.ndarray:
        """Sorted seconds after ``post`` was published at which each pushed follower got it."""
        t = self.delivery_time[self.delivery_post == post]
        return np.sort(t) - self.world.post_time[post]

    def queue_curve(self, points: int = 300) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(times, batches waiting for a worker, writes not yet done) on an even grid of ``points``."""
        end = self.drained_at
        t = np.linspace(0.0, end if end > 0 else 1.0, points)
        waiting = np.searchsorted(self.batch_arrival, t, "right") - np.searchsorted(
            np.sort(self.batch_start), t, "right"
        )
        arrived = np.concatenate(([0], np.cumsum(self.batch_size)))[
            np.searchsorted(self.batch_arrival, t, "right")
        ]
        pending = arrived - np.searchsorted(self.delivered, t, "right")
        return t, waiting, pending

    @property
    def drained_at(self) -> float:
        """When the last cache write lands (or the last post, if that is later)."""
        last = float(self.batch_finish.max()) if len(self.batch_finish) else 0.0
        return max(last, float(self.world.post_time[-1]))

    @property
    def celebrity_post(self) -> int | None:
        """The first accepted post by user 0 when user 0 is a celebrity (the one the page asks about)."""
        w = self.world
        if w.config.celebrity_posts == 0:
            return None
        mine = np.flatnonzero((w.post_author == 0) & w.accepted)
        return int(mine[0]) if len(mine) else None

    def costs(self) -> StrategyCosts:
        """The cost table's row (computed once per run)."""
        return self._costs

    @cached_property
    def _costs(self) -> StrategyCosts:
        w = self.world
        ok = w.accepted
        served = w.load_status == OK
        lists = np.compress(served, self.load_lists)  # load_lists[served], faster
        # The served loads' latencies in sorted order, from a count of their list reads (latency grows with
        # them): the same values as load_latency_ms[served], so the same median and p99, without numpy
        # partitioning 100,000 unsorted floats for each.
        tally = np.bincount(lists) if len(lists) else np.zeros(0, dtype=np.int64)
        lat = _latency_ms(np.repeat(np.arange(len(tally)), tally))
        pushed_posts = self.delay[ok & (self.writes_per_post > 0)]
        entries = int(self.cache_ptr[-1])
        _, waiting, _ = self.queue_curve(400)
        return StrategyCosts(
            strategy=self.strategy.name,
            writes_per_post=float(self.writes_per_post[ok].mean()) if ok.any() else 0.0,
            max_writes_per_post=int(self.writes_per_post.max()),
            cache_writes=int(self.writes_per_post.sum()),
            reads_per_load=float(lists.mean()) if served.any() else 0.0,
            writes_per_second=float(self.writes_per_post.sum()) / w.window,
            reads_per_second=(float(lists.mean()) * w.config.read_rate) if served.any() else 0.0,
            median_delay=float(np.median(pushed_posts)) if len(pushed_posts) else 0.0,
            max_delay=float(self.delay.max()),
            median_latency_ms=float(np.median(lat)) if len(lat) else 0.0,
            p99_latency_ms=float(np.percentile(lat, 99)) if len(lat) else 0.0,
            cache_entries=entries,
            cache_bytes=entries * ENTRY_BYTES,
            max_queue=int(waiting.max()) if len(waiting) else 0,
        )


def _latency_ms(lists: np.ndarray) -> np.ndarray:
    """A feed load's modelled time for the lists it reads: the round trip with the first, then each further."""
    return ROUND_TRIP_MS + PER_LIST_MS * np.maximum(lists - 1, 0)


def _gather(ptr: np.ndarray, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """For CSR ``ptr`` and a sequence of ``rows``: (row position of each element, flat index into the CSR
    data), rows concatenated in order: ``data[flat]`` is the rows' elements one after the other."""
    lengths = ptr[rows + 1] - ptr[rows]
    total = int(lengths.sum())
    owner = np.repeat(np.arange(len(rows)), lengths)
    starts = np.repeat(ptr[rows] - np.concatenate(([0], np.cumsum(lengths)[:-1])), lengths)
    return owner, starts + np.arange(total)


def simulate_feed(config: FeedConfig, strategy: str, world: World | None = None) -> FeedRun:
    """Run one strategy (``push``, ``pull``, ``hybrid`` or ``per_pair``) through the whole scenario;
    ``world`` (from ``build_world(config)``) shares the graph and traffic between strategies."""
    strat: Strategy = STRATEGIES[one_of("strategy", strategy, STRATEGIES)]
    w = world if world is not None else build_world(config)
    if w.config != config:
        raise ValueError("world must be built from the same config (build_world(config))")
    c, g = config, w.graph
    n = g.users
    route = w.route(strat)  # shared by every config on this world (and threshold, for hybrid)
    pushed, targets, tptr = route.pushed, route.targets, route.tptr

    # batches on the queue, in post order
    posts = np.flatnonzero(w.accepted)
    fan = tptr[w.post_author[posts] + 1] - tptr[w.post_author[posts]]
    writes = np.zeros(c.posts, dtype=np.int64)
    writes[posts] = fan
    nb = -(-fan // c.batch_size)
    batch_owner = np.repeat(np.arange(len(posts)), nb)
    first_batch = np.concatenate(([0], np.cumsum(nb)[:-1]))
    rank = np.arange(len(batch_owner)) - first_batch[batch_owner]
    size = np.minimum(c.batch_size, fan[batch_owner] - rank * c.batch_size)
    batch_post = posts[batch_owner]
    arrival = w.post_time[batch_post] + LOOKUP_SECONDS
    start, finish = drain_queue(arrival, size, c.workers, c.worker_throughput)

    # every cache write: which user, which post, when (vectorized over all pairs)
    owner, flat = _gather(tptr, w.post_author[posts])
    pair_user = targets[flat]
    pair_post = posts[owner]
    q = flat - tptr[w.post_author[posts]][owner]  # position among the post's targets
    batch_of = first_batch[owner] + q // c.batch_size
    pair_time = start[batch_of] + (q % c.batch_size + 1) / c.worker_throughput
    delay = np.zeros(c.posts)
    if len(batch_post):
        ends = first_batch[nb > 0]
        delay[posts[nb > 0]] = np.maximum.reduceat(finish, ends) - w.post_time[posts[nb > 0]]

    # feed caches: each user's cache_size newest entries (a sorted set by post id, trimmed)
    # By user, newest post first. (user, post) pairs are distinct, so sorting a combined key gives the order
    # np.lexsort((-pair_post, pair_user)) gives, in a fraction of the time; the sorted key is decoded back
    # into (user, post) exactly, cheaper than an argsort and two gathers
    key = np.sort(pair_user * c.posts + (c.posts - 1 - pair_post))
    users_sorted, newest = np.divmod(key, c.posts)
    posts_sorted = (c.posts - 1) - newest
    counts = np.bincount(users_sorted, minlength=n)
    group_start = np.concatenate(([0], np.cumsum(counts)[:-1]))
    in_cache = np.arange(len(key)) - group_start[users_sorted] < c.cache_size
    cache_ptr = np.zeros(n + 1, dtype=np.int64)
    np.cumsum(np.minimum(counts, c.cache_size), out=cache_ptr[1:])

    run = FeedRun(
        w,
        strat,
        pushed,
        _frozen(writes),
        _frozen(delay),
        _frozen(batch_post),
        _frozen(size),
        _frozen(arrival),
        _frozen(start),
        _frozen(finish),
        _frozen(np.sort(pair_time)),
        _frozen(pair_post),
        _frozen(pair_time),
        _frozen(cache_ptr),
        _frozen(posts_sorted[in_cache]),
        np.zeros(0),
        np.zeros(0),
        route,
    )
    served = w.load_status == OK
    lists = np.where(served, int(strat.uses_cache) + run._pulled_counts[w.load_user], 0)
    latency = np.where(served, _latency_ms(lists), np.nan)
    object.__setattr__(run, "load_lists", _frozen(lists))
    object.__setattr__(run, "load_latency_ms", _frozen(latency))
    return run


def simulate_all(
    config: FeedConfig, graph: FollowerGraph | None = None, world: World | None = None
) -> FeedRuns:
    """Every strategy on one shared world: name -> FeedRun, in registry order (``graph``: as for
    :func:`build_world`, the graph of ``graph_config(config)`` computed once for every config sharing it;
    ``world``: a world of ``world_config(config)``, built once for every config that differs only in the
    fanout's settings)."""
    world = build_world(config, graph) if world is None else world.rebound(config)
    runs: dict[str, FeedRun] = {}
    for name, strat in STRATEGIES.items():
        route = world.route(strat)
        same = next(
            (r for r in runs.values() if r.route is route and r.strategy.uses_cache == strat.uses_cache), None
        )
        # hybrid with no author above the threshold routes exactly as push: the same run under its own name
        runs[name] = simulate_feed(config, name, world) if same is None else same.renamed(strat)
    return FeedRuns(runs)


class FeedRuns(Mapping):
    """Strategy name -> FeedRun, read-only, in registry order: one object that a page caches (and draws
    its comparison figures) once for every session."""

    def __init__(self, runs: Mapping[str, FeedRun]):
        self._runs = dict(runs)

    def __getitem__(self, name: str) -> FeedRun:
        return self._runs[name]

    def __iter__(self):
        return iter(self._runs)

    def __len__(self) -> int:
        return len(self._runs)

    def __repr__(self) -> str:
        return f"FeedRuns({', '.join(self._runs)})"
