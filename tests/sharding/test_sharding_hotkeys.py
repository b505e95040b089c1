"""Hot keys and their mitigations, each checked against what it must do by construction."""

import numpy as np
import pytest

from sdcore.scale.caching import zipf_hit_ratio
from sdcore.sharding import (
    MITIGATIONS,
    DatasetConfig,
    HotSettings,
    Workload,
    group_loads,
    hot_keys,
    key_column,
    make_dataset,
    place,
    salted,
    shard_loads,
)
from sdcore.sharding.hotkeys import bounded, cached, dedicated

W = Workload(20_000, 4_000)


@pytest.fixture(scope="module")
def ds():
    return make_dataset(DatasetConfig(users=2_000, posts_per_user=5, celebrity_share=0.3))


@pytest.fixture(scope="module")
def col(ds):
    return key_column(ds, "user_id")


def test_salting_divides_writes_by_k_and_multiplies_reads_by_k(col):
    """With sub-keys on distinct shards, each holding shard gets 1/k of the key's writes and all its reads:
    a read of the key costs k requests."""
    pl = place(col, "modulo", 64)
    reads_g, writes_g = group_loads(col, W)
    hot = int(np.argmax(reads_g + writes_g))
    base = shard_loads(pl, col, W)
    for k in (2, 4, 8):
        s = salted(pl, col, W, hot, k)
        added_w = s.writes - base.writes
        added_w[pl.group_shard[hot]] += writes_g[hot]
        holders = np.flatnonzero(added_w > 1e-9)
        assert len(holders) == k  # distinct shards at 64 shards for these k
        assert np.allclose(added_w[holders], writes_g[hot] / k)
        assert s.hot_read_requests == pytest.approx(k * reads_g[hot])
        assert s.writes.sum() == pytest.approx(base.writes.sum())  # writes are spread, not multiplied


def test_salting_by_one_changes_nothing(col):
    pl = place(col, "ring", 8)
    s = salted(pl, col, W, 5, 1)
    base = shard_loads(pl, col, W)
    assert np.allclose(s.reads, base.reads) and np.allclose(s.writes, base.writes) and s.rows_moved == 0


def test_cache_hit_ratio_is_the_zipf_sum():
    """Without a celebrity, user popularity is exactly Zipf(s): caching the top C users serves
    sum_{i<=C} i^-s / sum_{i<=N} i^-s of reads."""
    ds = make_dataset(DatasetConfig(users=1_000, posts_per_user=3, exponent=0.8))
    col = key_column(ds, "user_id")
    for c in (0, 1, 10, 250, 1000):
        m = cached(place(col, "ring", 4), col, W, c, 0.8)
        assert m.hit_ratio == pytest.approx(zipf_hit_ratio(1000, 0.8, c), abs=1e-12)
        assert m.zipf_hit_ratio == zipf_hit_ratio(1000, 0.8, c)
        assert m.reads.sum() == pytest.approx(W.reads_per_s * (1 - m.hit_ratio), abs=1e-6)


def test_bounded_loads_cap_key_values_per_shard(col):
    pl = place(col, "ring", 8)
    m = bounded(pl, col, W, 1.05, 100)
    assert m.reads.sum() == pytest.approx(W.reads_per_s)
    reads_g, _ = group_loads(col, W)
    # every shard's key count is within ceil(c * K / S)
    from sdcore.hashing import HashRing, KeyHashes

    ring = HashRing([f"shard-{i}" for i in range(8)], vnodes=100, load_factor=1.05)
    order = np.argsort(-(reads_g + group_loads(col, W)[1]), kind="stable")
    where = ring.locate(KeyHashes.precomputed("murmur3", h32=col.h32()[order]))
    assert np.bincount(where, minlength=8).max() <= int(np.ceil(1.05 * col.n_groups / 8))


def test_dedicated_shard_holds_the_hottest_keys(col):
    pl = place(col, "ring", 8)
    reads_g, writes_g = group_loads(col, W)
    top = np.argsort(-(reads_g + writes_g), kind="stable")[:3]
    m = dedicated(pl, col, W, 3)
    assert len(m.reads) == 9 and m.extra_shards == 1
    assert m.reads[8] == pytest.approx(reads_g[top].sum())
    assert m.rows_moved == int(col.rows[top].sum())


def test_the_celebrity_is_the_hot_key_and_no_shard_count_helps(ds, col):
    """A key hotter than the cap stays over it at any shard count: the hot shard never drops below it."""
    for s in (4, 16, 64):
        rep = hot_keys(place(col, "ring", s), col, W, HotSettings(), exponent=0.99)
        assert rep.hot_group == ds.config.celebrity
        assert rep.option("none").hot_reads >= rep.hot_reads > 3000
        assert [o.name for o in rep.options] == list(MITIGATIONS)


def test_salting_plus_cache_takes_the_best_of_both(col):
    rep = hot_keys(place(col, "ring", 8), col, W, HotSettings(cache_items=50), exponent=0.99)
    both, cache, salt = rep.option("salt_cache"), rep.option("cache"), rep.option("salting")
    assert np.allclose(both.reads, cache.reads) and np.allclose(both.writes, salt.writes)
    assert both.hot_read_requests == 0


def test_bad_settings_are_explained():
    with pytest.raises(ValueError, match=r"salt_k must be between 1 and 64 \(got salt_k=0\)"):
        HotSettings(salt_k=0)
    with pytest.raises(ValueError, match="load_factor must be between 1 and 4"):
        HotSettings(load_factor=0.5)
