"""One whole run: its panels agree with each other and with the pieces computed separately."""

import numpy as np
import pytest

from sdcore.sharding import (
    ShardingConfig,
    key_column,
    make_dataset,
    place,
    run_sharding,
    sample_ids,
    shard_loads,
    skew,
    skew_table,
)

SMALL = {"users": 1_000, "posts_per_user": 4.0}


@pytest.fixture(scope="module")
def result():
    return run_sharding(ShardingConfig(**SMALL, strategy="slots", shards=4, new_shards=6))


def test_panels_add_up(result):
    c, ds = result.config, result.dataset
    assert result.loads.rows.sum() == ds.posts == result.loads_after.rows.sum()
    assert result.loads.reads.sum() == pytest.approx(c.reads_per_s)
    assert result.loads.writes.sum() == pytest.approx(c.writes_per_s)
    assert result.movement.strategy == "slots" and result.movement.slots_moved == sum(
        b - a + 1 for a, b, _, _ in result.slot_moves)  # fmt: skip
    again = shard_loads(place(key_column(ds, "user_id"), "slots", 4), key_column(ds, "user_id"), c.workload())
    assert np.allclose(again.reads, result.loads.reads)
    assert result.migration.bytes_moved == result.movement.bytes_moved * c.scale


def test_same_config_same_numbers(result):
    again = run_sharding(result.config)
    assert np.array_equal(again.loads.reads, result.loads.reads)
    assert [m.rows_moved for m in again.movements] == [m.rows_moved for m in result.movements]


def test_skew_closed_forms():
    assert skew(np.ones(8)).max_over_mean == 1.0 and skew(np.ones(8)).gini == pytest.approx(0.0)
    one = skew(np.array([0, 0, 0, 10.0]))
    assert one.max_over_mean == 4.0 and one.gini == pytest.approx(3 / 4)


def test_skew_table_covers_every_key_and_strategy():
    ds = make_dataset(ShardingConfig(**SMALL).dataset_config())
    rows = skew_table(ds, 8, ShardingConfig().workload())
    assert len(rows) == 25 and len({(r.key, r.strategy) for r in rows}) == 25
    country_modulo = next(r for r in rows if r.key == "country" and r.strategy == "modulo")
    user_dir = next(r for r in rows if r.key == "user_id" and r.strategy == "directory")
    assert country_modulo.rows.max_over_mean > user_dir.rows.max_over_mean


def test_sample_ids_sort_by_time(result):
    ids = sample_ids(result.dataset, 8)
    assert [r["id"] for r in ids] == sorted(r["id"] for r in ids)
    assert [r["created_ms"] for r in ids] == sorted(r["created_ms"] for r in ids)


@pytest.mark.parametrize(("kwargs", "message"), [
    ({"shard_key": "email"}, "shard_key must be one of user_id, country, created, post_id, country_user"),
    ({"strategy": "random"}, "strategy must be one of modulo, ring, range, directory, slots"),
    ({"shards": 0}, r"shards must be between 1 and 64 \(got shards=0\)"),
    ({"new_shards": 100}, r"new_shards must be between 1 and 64 \(got new_shards=100\)"),
    ({"network_mb_per_s": 0}, "network_mb_per_s must be more than 0 and at most 100,000 MB/s"),
    ({"follows": 2000}, r"follows must be between 1 and 1,000 \(got follows=2000\)"),
    ({"reads_per_s": -1}, "reads_per_s must be between 0 and"),
    ({"salt_k": 100}, "salt_k must be between 1 and 64"),
])  # fmt: skip
def test_bad_configs_are_explained(kwargs, message):
    with pytest.raises(ValueError, match=message):
        ShardingConfig(**kwargs)


def test_follows_beyond_the_users_follow_everyone():
    r = run_sharding(ShardingConfig(users=100, posts_per_user=2.0, follows=500))
    assert r.feed.follows == 100


def test_the_skew_table_samples_big_datasets():
    from sdcore.sharding import skew_sample_config

    assert skew_sample_config(ShardingConfig(**SMALL)) == ShardingConfig(**SMALL).dataset_config()
    big = skew_sample_config(ShardingConfig(users=100_000, posts_per_user=10.0))
    assert big.posts == 250_000 and big.posts_per_user == 10.0


def test_run_refuses_a_dataset_of_other_settings(result):
    with pytest.raises(ValueError, match="the dataset was generated for other settings"):
        run_sharding(ShardingConfig(users=2_000), dataset=result.dataset)


def test_runs_share_the_panels_a_move_does_not_change():
    """Panels are kept on the shared placement: a move of one setting recomputes only what reads it, and
    every number equals a run on a freshly generated dataset."""
    import dataclasses

    from sdcore.sharding.dataset import make_dataset

    base = ShardingConfig(users=1_000)
    ds = make_dataset(base.dataset_config())
    a = run_sharding(base, ds)
    b = run_sharding(dataclasses.replace(base, salt_k=3), ds)
    assert b.loads is a.loads and b.feed is a.feed and b.queries is a.queries and b.resharded is a.resharded
    assert b.hot is not a.hot
    c = run_sharding(dataclasses.replace(base, follows=7), ds)
    assert c.hot is a.hot and c.feed is not a.feed
    for cfg, got in (
        (base, a),
        (dataclasses.replace(base, salt_k=3), b),
        (dataclasses.replace(base, follows=7), c),
    ):
        fresh = run_sharding(cfg)  # its own dataset: nothing shared
        assert np.array_equal(got.loads.reads, fresh.loads.reads)
        assert np.array_equal(got.loads_after.writes, fresh.loads_after.writes)
        assert got.movements == fresh.movements and got.queries == fresh.queries
        assert [o.hot_reads for o in got.hot.options] == [o.hot_reads for o in fresh.hot.options]
        assert [o.hot_writes for o in got.hot.options] == [o.hot_writes for o in fresh.hot.options]
        assert np.array_equal(got.feed.post_rows, fresh.feed.post_rows)
    assert not a.loads.reads.flags.writeable
