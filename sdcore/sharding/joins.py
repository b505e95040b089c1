"""Queries on sharded data: which shards a query must ask, and what a join across shards ships.

**Queries without the shard key.** A router can send a query only to the shards that hold its rows when the
query names the shard key (or, for a range partition, a run of key values). Otherwise it goes to every
shard, each searching its *local* secondary index (scatter-gather); a *global* secondary index, itself
partitioned by the indexed column, answers with one index lookup plus the shards that hold the matches.

**Joins and de-normalization.** "A user's feed with author names": the newest ``feed_size`` posts of the
users they follow, each with its author's name. Normalized, the feed fetches the posts (each shard asked
returns at most ``feed_size`` of its newest matches), then the authors' rows from the users table (sharded
by user id); de-normalized, every post carries a copy of its author's name and the second step is gone, at
the cost of rewriting every post of a user who renames.
"""

from __future__ import annotations

from dataclasses import dataclass
from types import MappingProxyType

import numpy as np

from sdcore import checks
from sdcore.sharding.dataset import COUNTRIES, DAY_MS, NOW_MS, Dataset
from sdcore.sharding.keys import KeyColumn, key_column
from sdcore.sharding.strategies import Placement, place

USER_KEYS = ("user_id", "country", "country_user")  # keys a router can derive from a user id (and profile)


@dataclass(frozen=True)
class Query:
    label: str
    description: str


QUERIES: MappingProxyType[str, Query] = MappingProxyType({
    "user_posts": Query("a user's posts", "WHERE author = ?"),
    "country_posts": Query("posts from one country", "WHERE author's country = ?"),
    "last_day": Query("posts of the last 24 hours", "WHERE created > now - 1 day"),
    "post_by_id": Query("one post by id", "WHERE post_id = ?"),
})  # fmt: skip


def routable(query: str, key: str, strategy: str) -> bool:
    """Can the router pick the shards of ``query`` from the shard map alone (no scatter)?"""
    checks.one_of("query", query, QUERIES)
    if query == "user_posts":
        return key in USER_KEYS  # for a country key the router reads the user's country from their profile
    if query == "country_posts":
        return key == "country" or (key == "country_user" and strategy in ("range", "directory"))
    if query == "last_day":
        return (
            key in ("created", "post_id") and strategy == "range"
        )  # ids sort by time: a time range is an id range
    return key == "post_id"


@dataclass(frozen=True)
class QueryFanout:
    query: str
    routable: bool
    instances: int
    holding: float  # mean number of shards that hold matching rows
    local_index: float  # mean shards asked: the holders if routable, else every shard
    global_index: float  # mean shards asked with a global index: 1 index partition + the holders


def _instances(ds: Dataset, query: str, count: int, rng: np.random.Generator) -> list[np.ndarray]:
    """The matching posts of ``count`` sampled instances (one posts-of-a-country query is counted apart)."""
    if query == "user_posts":
        users = rng.choice(ds.users, size=count, p=ds.user_popularity)
        return [ds.posts_of(int(u)) for u in users]
    if query == "last_day":
        return [np.flatnonzero(ds.post_created_ms >= NOW_MS - DAY_MS)]
    posts = rng.choice(ds.posts, size=count, p=ds.post_read_share)
    return [np.array([p]) for p in posts]


def query_fanout(
    ds: Dataset, col: KeyColumn, pl: Placement, *, samples: int = 50, seed: int = 0
) -> tuple[QueryFanout, ...]:
    """Shards each query type touches under this key and strategy, averaged over sampled instances."""
    samples = checks.int_between("samples", samples, 1, 10_000)
    rng = np.random.default_rng(seed)
    row_shard = pl.row_shards(col)
    out = []
    for q in QUERIES:
        if q == "country_posts":  # an instance is a country: count each country's holders once
            countries = ds.user_country[ds.post_author]
            picked = rng.choice(countries, size=samples)
            per_country = np.zeros((len(COUNTRIES), pl.shards), dtype=bool)
            per_country[countries, row_shard] = True
            holders = per_country.sum(axis=1)[picked].astype(np.float64)
            inst = picked
        else:
            inst = _instances(ds, q, samples, rng)
            holders = np.array([len(np.unique(row_shard[m])) for m in inst], dtype=np.float64)
        r = routable(q, col.key, pl.strategy)
        local = holders if r else np.full(len(inst), float(pl.shards))
        global_ = holders if r else holders + 1
        out.append(
            QueryFanout(q, r, len(inst), float(holders.mean()), float(local.mean()), float(global_.mean()))
        )
    return tuple(out)


@dataclass(frozen=True, eq=False)
class FeedCost:
    """Per sampled reader (arrays) and their means: the normalized feed against the de-normalized one."""

    post_shards: np.ndarray  # shards asked for posts (the same in both designs)
    post_rows: np.ndarray  # post rows shipped to the coordinator
    user_shards: np.ndarray  # users-table shards asked for author names (normalized only)
    user_rows: np.ndarray  # user rows shipped (normalized only)
    rename_rows: np.ndarray  # per sampled author: post rows a name change rewrites (de-normalized)
    rename_shards: np.ndarray  # per sampled author: shards those rewrites touch
    follows: int
    feed_size: int

    @property
    def normalized_shards(self) -> float:
        return float((self.post_shards + self.user_shards).mean())

    @property
    def normalized_rows(self) -> float:
        return float((self.post_rows + self.user_rows).mean())

    @property
    def denormalized_shards(self) -> float:
        return float(self.post_shards.mean())

    @property
    def denormalized_rows(self) -> float:
        return float(self.post_rows.mean())


def feed_cost(
    ds: Dataset, col: KeyColumn, pl: Placement, *, follows: int = 100, feed_size: int = 50, readers: int = 20,
    seed: int = 0,
) -> FeedCost:  # fmt: skip
    """The feed query for ``readers`` sampled readers, each following ``follows`` users drawn in
    proportion to their followers, and the rename cost for the authors those feeds show."""
    follows = checks.int_between("follows", follows, 1, min(1000, ds.users), hi_name="min(1,000, users)")
    feed_size = checks.int_between("feed_size", feed_size, 1, 500)
    readers = checks.int_between("readers", readers, 1, 500)
    rng = np.random.default_rng(seed)
    row_shard = pl.row_shards(col)
    users = place(key_column(ds, "user_id"), pl.strategy, pl.shards, _vnodes(pl))
    weights = ds.user_followers / ds.user_followers.sum()
    routed = col.key in USER_KEYS
    post_shards, post_rows, user_shards, user_rows = [], [], [], []
    authors_seen: list[np.ndarray] = []
    for _ in range(readers):
        followees = rng.choice(ds.users, size=follows, replace=False, p=weights)
        # Every post of the followees (distinct users), in post-id order = oldest first.
        candidates = np.sort(ds.posts_of_users(followees)[0])
        on = row_shard[candidates]
        # Each shard asked returns its newest feed_size matching posts; the coordinator merges them.
        per_shard = np.bincount(on, minlength=pl.shards)
        asked = int(np.count_nonzero(per_shard)) if routed else pl.shards
        shipped = int(np.minimum(per_shard, feed_size).sum())
        feed = candidates[-feed_size:]
        authors = np.unique(ds.post_author[feed])
        post_shards.append(asked)
        post_rows.append(shipped)
        user_shards.append(len(np.unique(users.group_shard[authors])))
        user_rows.append(len(authors))
        authors_seen.append(authors)
    authors = np.unique(np.concatenate(authors_seen)).astype(np.int64)
    # A rename rewrites every post of the author, on every shard holding one: counted for all authors at once.
    mine, rename_rows = ds.posts_of_users(authors)
    holds = np.zeros((len(authors), pl.shards), dtype=bool)
    holds[np.repeat(np.arange(len(authors)), rename_rows), row_shard[mine]] = True
    as_int = lambda xs: np.array(xs, dtype=np.int64)  # noqa: E731
    return FeedCost(as_int(post_shards), as_int(post_rows), as_int(user_shards), as_int(user_rows),
                    as_int(rename_rows), as_int(holds.sum(axis=1)), follows, feed_size)  # fmt: skip


def _vnodes(pl: Placement) -> int:
    return pl.state.vnodes if pl.strategy == "ring" else 100
