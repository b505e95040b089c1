"""The faster paths of the sharding engine give exactly what the loops they replaced gave.

Each reference below is the code the engine ran before (a loop per reader, per author, per key value, per
byte); the fast path must match it number for number, on seeded random inputs."""

import heapq

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from sdcore.hashing import HashRing, KeyHashes
from sdcore.sharding import DatasetConfig, ShardingConfig, feed_cost, key_column, make_dataset, place
from sdcore.sharding.experiment import run_sharding, skew_table
from sdcore.sharding.joins import USER_KEYS, FeedCost, _vnodes
from sdcore.sharding.keys import SHARD_KEYS
from sdcore.sharding.keyslot import _PAIR, _TABLE, key_slot, key_slots
from sdcore.sharding.layout import shard_loads
from sdcore.sharding.resharding import compare_resharding, movement
from sdcore.sharding.strategies import (
    _EXACT_DIRECTORY,
    STRATEGIES,
    Directory,
    reshard,
    resharded,
    shard_names,
    water_fill,
)


def loop_feed_cost(ds, col, pl, *, follows=100, feed_size=50, readers=20, seed=0) -> FeedCost:
    """feed_cost as it was: a scan of every post per reader, np.unique per author."""
    rng = np.random.default_rng(seed)
    row_shard = pl.row_shards(col)
    users = place(key_column(ds, "user_id"), pl.strategy, pl.shards, _vnodes(pl))
    weights = ds.user_followers / ds.user_followers.sum()
    routed = col.key in USER_KEYS
    post_shards, post_rows, user_shards, user_rows, seen = [], [], [], [], []
    followed = np.zeros(ds.users, dtype=bool)
    for _ in range(readers):
        followees = rng.choice(ds.users, size=follows, replace=False, p=weights)
        followed[followees] = True
        candidates = np.flatnonzero(followed[ds.post_author])
        followed[followees] = False
        on = row_shard[candidates]
        asked = len(np.unique(on)) if routed else pl.shards
        shipped = int(np.minimum(np.bincount(on, minlength=pl.shards), feed_size).sum())
        authors = np.unique(ds.post_author[candidates[-feed_size:]])
        post_shards.append(asked)
        post_rows.append(shipped)
        user_shards.append(len(np.unique(users.group_shard[authors])))
        user_rows.append(len(authors))
        seen.extend(authors.tolist())
    rename_rows, rename_shards = [], []
    for a in np.unique(np.array(seen, dtype=np.int64)).tolist():
        mine = ds.posts_of(a)
        rename_rows.append(len(mine))
        rename_shards.append(len(np.unique(row_shard[mine])))
    as_int = lambda xs: np.array(xs, dtype=np.int64)  # noqa: E731
    return FeedCost(as_int(post_shards), as_int(post_rows), as_int(user_shards), as_int(user_rows),
                    as_int(rename_rows), as_int(rename_shards), follows, feed_size)  # fmt: skip


def loop_directory(col, shards) -> np.ndarray:
    """Directory.place as it was: heappop, numpy item writes, heappush."""
    sizes = col.rows.astype(np.float64)
    order = np.argsort(-sizes, kind="stable")
    where = np.zeros(col.n_groups, dtype=np.int32)
    heap = [(0.0, s) for s in range(shards)]
    loads = np.zeros(shards)
    for g in order[:_EXACT_DIRECTORY].tolist():
        load, s = heapq.heappop(heap)
        where[g] = s
        load += sizes[g]
        loads[s] = load
        heapq.heappush(heap, (load, s))
    tail = order[_EXACT_DIRECTORY:]
    where[tail] = water_fill(loads, sizes[tail])
    return where


def _random_datasets(count: int, seed: int):
    rng = np.random.default_rng(seed)
    for _ in range(count):
        yield make_dataset(DatasetConfig(users=int(rng.integers(100, 2500)), posts_per_user=float(rng.integers(1, 9)),
                                         celebrity_share=float(rng.choice([0.0, 0.4])), seed=int(rng.integers(0, 99)))), rng  # fmt: skip


def test_feed_cost_equals_the_loop_it_replaced():
    for i, (ds, rng) in enumerate(_random_datasets(12, seed=3)):
        col = key_column(ds, list(SHARD_KEYS)[i % 5])
        pl = place(col, list(STRATEGIES)[i % 5], int(rng.integers(1, 65)), int(rng.integers(1, 200)))
        kw = {"follows": int(rng.integers(1, min(1000, ds.users) + 1)), "feed_size": int(rng.integers(1, 501)),
              "readers": int(rng.integers(1, 30)), "seed": int(rng.integers(0, 1000))}  # fmt: skip
        fast, slow = feed_cost(ds, col, pl, **kw), loop_feed_cost(ds, col, pl, **kw)
        for name in ("post_shards", "post_rows", "user_shards", "user_rows", "rename_rows", "rename_shards"):
            a, b = getattr(fast, name), getattr(slow, name)
            assert a.dtype == b.dtype and a.tolist() == b.tolist(), (i, name)
        assert (fast.follows, fast.feed_size) == (slow.follows, slow.feed_size)


def test_posts_of_users_concatenates_posts_of():
    ds = make_dataset(DatasetConfig(users=300, posts_per_user=5))
    users = np.random.default_rng(0).choice(ds.users, size=40, replace=False)
    posts, counts = ds.posts_of_users(users)
    assert posts.tolist() == [p for u in users.tolist() for p in ds.posts_of(u).tolist()]
    assert counts.tolist() == [len(ds.posts_of(u)) for u in users.tolist()]
    empty, none = ds.posts_of_users(np.zeros(0, dtype=np.int64))
    assert len(empty) == 0 and len(none) == 0


@pytest.mark.parametrize("key", list(SHARD_KEYS))
def test_directory_equals_the_heap_loop(key):
    for ds, rng in _random_datasets(3, seed=list(SHARD_KEYS).index(key)):
        col = key_column(ds, key)
        for shards in (1, int(rng.integers(2, 65))):
            got = Directory().place(col, shards, 0).group_shard
            assert got.tolist() == loop_directory(col, shards).tolist()


def test_rings_are_shared_by_a_datasets_columns_and_place_as_a_fresh_ring():
    ds = make_dataset(DatasetConfig(users=700, posts_per_user=3))
    a, b = place(key_column(ds, "user_id"), "ring", 7, 30), place(key_column(ds, "post_id"), "ring", 7, 30)
    assert a.state is b.state  # one ring for both columns
    for key in SHARD_KEYS:
        col = key_column(ds, key)
        fresh = HashRing(shard_names(7), vnodes=30).locate(KeyHashes.precomputed("murmur3", h32=col.h32()))
        assert place(col, "ring", 7, 30).group_shard.tolist() == fresh.tolist()


def test_reshardings_and_movements_are_kept_and_equal_a_fresh_computation():
    ds = make_dataset(DatasetConfig(users=600, posts_per_user=4))
    col = key_column(ds, "created")
    for name in STRATEGIES:
        pl = place(col, name, 6, 40)
        after = resharded(pl, col, 9)
        assert resharded(pl, col, 9) is after and not after.group_shard.flags.writeable
        assert after.group_shard.tolist() == reshard(pl, col, 9).group_shard.tolist()
    movements = compare_resharding(col, 6, 9, 40)
    assert compare_resharding(col, 6, 9, 40) == movements
    for m, name in zip(movements, STRATEGIES, strict=True):
        pl = place(col, name, 6, 40)
        assert m == movement(pl, reshard(pl, col, 9), col)


def test_skew_table_equals_fresh_shard_loads():
    r = run_sharding(ShardingConfig(users=800, shards=5, new_shards=6))
    rows = skew_table(r.dataset, 5, r.config.workload(), 100)
    for row in rows:
        col = key_column(r.dataset, row.key)
        fresh = shard_loads(
            STRATEGIES[row.strategy].cls().place(col, 5, 100), col, r.config.workload()
        ).skews()
        assert (row.rows, row.reads, row.writes) == (fresh["rows"], fresh["reads"], fresh["writes"])


def test_float_weights_are_the_columns_read_only():
    col = key_column(make_dataset(DatasetConfig(users=200)), "country")
    for name in ("rows", "bytes"):
        w = col.weights(name)
        assert w.dtype == np.float64 and w.tolist() == getattr(col, name).tolist() and not w.flags.writeable
        assert col.weights(name) is w


def test_the_pair_table_advances_the_crc_by_two_bytes():
    rng = np.random.default_rng(1)
    crc = rng.integers(0, 1 << 16, 5000).astype(np.uint16)
    b0, b1 = rng.integers(0, 256, 5000).astype(np.uint16), rng.integers(0, 256, 5000).astype(np.uint16)
    step = lambda c, b: (c << np.uint16(8)) ^ _TABLE[(c >> np.uint16(8)) ^ b]  # noqa: E731
    assert _PAIR[crc ^ ((b0 << np.uint16(8)) | b1)].tolist() == step(step(crc, b0), b1).tolist()


@given(st.lists(st.text(alphabet=st.sampled_from("abz09:é€😀"), max_size=23), max_size=60))
def test_keys_without_hash_tags_equal_the_loop(ks):
    """Str keys with no brace at all (the columns' labels) take the shortcut past the hash-tag search."""
    assert key_slots(ks).tolist() == [key_slot(k) for k in ks]


def test_column_labels_get_the_slots_of_the_loop():
    ds = make_dataset(DatasetConfig(users=400, posts_per_user=3))
    for key in SHARD_KEYS:
        col = key_column(ds, key)
        assert col.slots().tolist() == [key_slot(k) for k in col.labels()]
