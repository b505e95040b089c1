"""Placement and re-sharding under every strategy and key: every row on exactly one shard, and rows moved
counted against a brute-force, row-by-row comparison."""

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sdcore.sharding import (
    SHARD_KEYS,
    SLOTS,
    STRATEGIES,
    DatasetConfig,
    key_column,
    key_slot,
    make_dataset,
    movement,
    new_post_shards,
    place,
    reshard,
    water_fill,
)


@pytest.fixture(scope="module")
def ds():
    return make_dataset(DatasetConfig(users=3_000, posts_per_user=8))


@pytest.fixture(scope="module")
def cols(ds):
    return {k: key_column(ds, k) for k in SHARD_KEYS}


def brute_moved(ds, col, before, after):
    """Loop over rows: a row moved if the shard of its key value differs."""
    rows = bytes_ = 0
    for p in range(ds.posts):
        g = int(col.codes[p])
        if before.group_shard[g] != after.group_shard[g]:
            rows += 1
            bytes_ += int(ds.post_bytes[p])
    return rows, bytes_


@pytest.mark.parametrize("key", list(SHARD_KEYS))
@pytest.mark.parametrize("strategy", list(STRATEGIES))
def test_every_row_on_exactly_one_shard(ds, cols, key, strategy):
    col = cols[key]
    pl = place(col, strategy, 7)
    where = pl.row_shards(col)
    assert where.shape == (ds.posts,) and where.min() >= 0 and where.max() < 7
    assert np.bincount(where, minlength=7).sum() == ds.posts
    # rows with the same key value share a shard
    assert all(len(set(where[col.codes == g].tolist())) <= 1 for g in range(min(col.n_groups, 50)))
    new = new_post_shards(pl, col)
    assert new.min() >= 0 and new.max() < 7


@pytest.mark.parametrize("strategy", list(STRATEGIES))
@pytest.mark.parametrize(("s", "t"), [(4, 5), (8, 6), (5, 10)])
def test_moved_rows_equal_brute_force(ds, cols, strategy, s, t):
    col = cols["user_id"]
    before = place(col, strategy, s)
    after = reshard(before, col, t)
    mv = movement(before, after, col)
    assert (mv.rows_moved, mv.bytes_moved) == brute_moved(ds, col, before, after)
    assert mv.rows == ds.posts and after.group_shard.max() < t


def test_modulo_and_ring_against_theory(cols):
    """Adding one shard: modulo moves S/(S+1) of rows, a ring about 1/(S+1) (spread from virtual nodes)."""
    col = cols["post_id"]  # 24,000 key values: close to the uniform-hash limit
    for s in (4, 8, 12):
        mod = movement(place(col, "modulo", s), reshard(place(col, "modulo", s), col, s + 1), col)
        ring_before = place(col, "ring", s, vnodes=1000)
        ring = movement(ring_before, reshard(ring_before, col, s + 1), col)
        assert mod.fraction == pytest.approx(s / (s + 1), abs=0.015)
        assert mod.expected == pytest.approx(s / (s + 1))
        assert ring.fraction == pytest.approx(1 / (s + 1), abs=0.025)
        assert ring.expected == pytest.approx(1 / (s + 1))


def test_modulo_doubling_moves_half_and_the_gcd_rule(cols):
    col = cols["post_id"]
    for s, t in ((8, 16), (6, 9)):
        before = place(col, "modulo", s)
        mv = movement(before, reshard(before, col, t), col)
        expected = 1 - min(s, t) / math.lcm(s, t)
        assert mv.expected == pytest.approx(expected)
        assert mv.fraction == pytest.approx(expected, abs=0.015)


def test_growing_ring_directory_slots_range_only_fill_new_shards(cols):
    """When shards are added, every row that moves lands on one of the new shards."""
    col = cols["user_id"]
    for strategy in ("ring", "directory", "slots", "range"):
        before = place(col, strategy, 5)
        after = reshard(before, col, 8)
        moved = before.group_shard != after.group_shard
        assert moved.any() and after.group_shard[moved].min() >= 5, strategy


def test_shrinking_moves_only_the_removed_shards_rows(cols):
    col = cols["user_id"]
    for strategy in ("ring", "directory", "slots", "range"):
        before = place(col, strategy, 8)
        after = reshard(before, col, 6)
        moved = before.group_shard != after.group_shard
        assert np.array_equal(moved, before.group_shard >= 6), strategy


@pytest.mark.parametrize("key", ["user_id", "post_id", "country_user"])
def test_slots_move_whole_slots_only(ds, cols, key):
    """A slot's rows all move or all stay; the rows moved are exactly the rows of the slots that changed owner."""
    col = cols[key]
    before = place(col, "slots", 5)
    after = reshard(before, col, 7)
    slot_of_row = col.slots()[col.codes]
    assert np.array_equal(slot_of_row, np.array([key_slot(k) for k in col.labels()])[col.codes])
    moved_row = before.row_shards(col) != after.row_shards(col)
    changed = before.state != after.state
    assert np.array_equal(moved_row, changed[slot_of_row])
    counts = np.bincount(after.state, minlength=7)
    assert counts.max() - counts.min() <= 1 and counts.sum() == SLOTS  # evenly split, every slot owned
    assert movement(before, after, col).slots_moved == int(changed.sum())


def test_range_keeps_key_order_and_new_keys_go_last(cols):
    col = cols["created"]
    pl = place(col, "range", 6)
    assert np.all(np.diff(pl.state.partition_of(np.arange(col.n_groups))) >= 0)
    assert set(new_post_shards(pl, col).tolist()) == {5}  # the newest range takes every new post
    rows = np.bincount(pl.group_shard, weights=col.rows, minlength=6)
    assert rows.max() - rows.min() <= 1  # equal row counts, one value per row


def test_range_split_moves_half_of_one_range(cols):
    col = cols["post_id"]
    before = place(col, "range", 4)
    mv = movement(before, reshard(before, col, 5), col)
    assert mv.fraction == pytest.approx(1 / 8, abs=0.001) and mv.expected == pytest.approx(1 / 8)


def test_directory_balances_rows(cols):
    col = cols["user_id"]
    rows = np.bincount(place(col, "directory", 8).group_shard, weights=col.rows, minlength=8)
    assert rows.max() / rows.mean() < 1.01


def test_country_cannot_spread_over_more_shards_than_values(cols):
    col = cols["country"]
    for strategy in STRATEGIES:
        used = np.unique(place(col, strategy, 32).group_shard).size
        assert used <= col.n_groups < 32


@settings(max_examples=40)
@given(st.lists(st.floats(0, 100), min_size=1, max_size=8),
       st.lists(st.floats(0.01, 10), min_size=0, max_size=60))  # fmt: skip
def test_water_fill_puts_items_on_the_emptiest_shards(loads, sizes):
    """Every item lands on a valid shard, and no shard starting above the final water level gets an item."""
    where = water_fill(np.array(loads), np.array(sizes))
    assert len(where) == len(sizes) and (where >= 0).all() and (where < len(loads)).all()
    if sizes:
        final = np.array(loads) + np.bincount(where, weights=sizes, minlength=len(loads))
        got = np.bincount(where, minlength=len(loads)) > 0
        assert np.array(loads)[got].min() <= final.min() + max(sizes) + 1e-9


def test_bad_parameters_are_explained(cols):
    col = cols["user_id"]
    with pytest.raises(ValueError, match="strategy must be one of modulo, ring, range, directory, slots"):
        place(col, "random", 4)
    with pytest.raises(ValueError, match=r"shards must be between 1 and 64 \(got shards=0\)"):
        place(col, "ring", 0)
    with pytest.raises(ValueError, match=r"new shards must be between 1 and 64 \(got new shards=65\)"):
        reshard(place(col, "ring", 4), col, 65)
    with pytest.raises(ValueError, match="shard key must be one of user_id"):
        key_column(None, "email")
