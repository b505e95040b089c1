"""Query fan-out and the feed join, against a brute-force evaluation written with plain loops."""

import numpy as np
import pytest

from sdcore.sharding import (
    QUERIES,
    DatasetConfig,
    feed_cost,
    key_column,
    make_dataset,
    place,
    query_fanout,
    routable,
)
from sdcore.sharding.dataset import DAY_MS, NOW_MS


@pytest.fixture(scope="module")
def ds():
    return make_dataset(DatasetConfig(users=800, posts_per_user=6))


def brute_feed(ds, key, strategy, shards, follows, feed_size, readers, seed):
    """The feed cost by loops: same sampling (the same rng calls), then counting post by post."""
    col = key_column(ds, key)
    pl = place(col, strategy, shards)
    users_pl = place(key_column(ds, "user_id"), strategy, shards)
    rng = np.random.default_rng(seed)
    w = ds.user_followers / ds.user_followers.sum()
    out = []
    for _ in range(readers):
        followees = set(rng.choice(ds.users, size=follows, replace=False, p=w).tolist())
        cands = [p for p in range(ds.posts) if int(ds.post_author[p]) in followees]
        shard_of = {p: int(pl.group_shard[col.codes[p]]) for p in cands}
        per = {}
        for p in cands:
            per[shard_of[p]] = per.get(shard_of[p], 0) + 1
        asked = len(per) if key in ("user_id", "country", "country_user") else shards
        shipped = sum(min(n, feed_size) for n in per.values())
        feed = sorted(cands)[-feed_size:]
        authors = {int(ds.post_author[p]) for p in feed}
        out.append((asked, shipped, len({int(users_pl.group_shard[a]) for a in authors}), len(authors)))
    return out


@pytest.mark.parametrize(
    ("key", "strategy"), [("user_id", "ring"), ("post_id", "modulo"), ("country", "range")]
)
def test_feed_cost_equals_brute_force(ds, key, strategy):
    f = feed_cost(ds, key_column(ds, key), place(key_column(ds, key), strategy, 6), follows=30, feed_size=10,
                  readers=5, seed=3)  # fmt: skip
    got = list(zip(f.post_shards.tolist(), f.post_rows.tolist(), f.user_shards.tolist(), f.user_rows.tolist(),
                   strict=True))  # fmt: skip
    assert got == brute_feed(ds, key, strategy, 6, 30, 10, 5, 3)
    assert f.normalized_shards == pytest.approx(np.mean([a + c for a, _, c, _ in got]))
    assert f.denormalized_rows == pytest.approx(np.mean([b for _, b, _, _ in got]))


def test_rename_cost_is_the_authors_posts(ds):
    col = key_column(ds, "post_id")
    pl = place(col, "modulo", 6)
    f = feed_cost(ds, col, pl, follows=20, feed_size=10, readers=3, seed=1)
    by_user = place(key_column(ds, "user_id"), "modulo", 6)
    f2 = feed_cost(ds, key_column(ds, "user_id"), by_user, follows=20, feed_size=10, readers=3, seed=1)
    assert (f2.rename_shards == 1).all()  # sharded by user: a user's posts sit on one shard
    assert f.rename_rows.tolist() == f2.rename_rows.tolist()  # the same authors, the same post counts
    assert (f.rename_shards <= np.minimum(f.rename_rows, 6)).all()


def test_query_fanout_against_brute_force(ds):
    col = key_column(ds, "user_id")
    pl = place(col, "ring", 5)
    res = {q.query: q for q in query_fanout(ds, col, pl, samples=20, seed=0)}
    assert res["user_posts"].routable and res["user_posts"].local_index == 1 == res["user_posts"].holding
    day = [p for p in range(ds.posts) if ds.post_created_ms[p] >= NOW_MS - DAY_MS]
    holders = len({int(pl.group_shard[col.codes[p]]) for p in day})
    assert res["last_day"].holding == holders and res["last_day"].local_index == 5
    assert res["last_day"].global_index == holders + 1
    assert res["post_by_id"].local_index == 5 and res["post_by_id"].global_index == 2


def test_time_range_query_stays_local_only_under_ranges(ds):
    for strategy, expect_local in (("range", True), ("modulo", False)):
        col = key_column(ds, "created")
        q = {x.query: x for x in query_fanout(ds, col, place(col, strategy, 8), samples=5)}["last_day"]
        assert q.routable is expect_local
        assert (q.local_index < 8) is expect_local


def test_routing_table():
    assert routable("user_posts", "country", "modulo")
    assert routable("country_posts", "country_user", "range") and not routable(
        "country_posts", "country_user", "ring"
    )
    assert routable("last_day", "post_id", "range") and not routable("last_day", "user_id", "range")
    assert routable("post_by_id", "post_id", "slots") and not routable("post_by_id", "created", "range")
    assert set(QUERIES) == {"user_posts", "country_posts", "last_day", "post_by_id"}
    with pytest.raises(ValueError, match="query must be one of"):
        routable("join", "user_id", "ring")


def test_bad_feed_parameters_are_explained(ds):
    col = key_column(ds, "user_id")
    with pytest.raises(ValueError, match=r"follows must be between 1 and min\(1,000, users\)"):
        feed_cost(ds, col, place(col, "ring", 4), follows=900)


@pytest.mark.parametrize(("key", "strategy", "seed"), [("country", "modulo", 0), ("user_id", "ring", 4),
                                                       ("created", "range", 9), ("country_user", "directory", 2)])  # fmt: skip
def test_country_query_holders_equal_a_loop_over_the_sampled_countries(ds, key, strategy, seed):
    """The holders of "posts from one country" are counted once per country; the mean over the sampled
    countries equals the old per-instance count (np.unique over each country's rows, the same rng calls)."""
    col = key_column(ds, key)
    pl = place(col, strategy, 7)
    got = {q.query: q for q in query_fanout(ds, col, pl, samples=30, seed=seed)}["country_posts"]
    rng = np.random.default_rng(seed)
    rng.choice(ds.users, size=30, p=ds.user_popularity)  # the user_posts instances come first
    countries = ds.user_country[ds.post_author]
    row_shard = pl.row_shards(col)
    holders = [
        len(np.unique(row_shard[np.flatnonzero(countries == c)])) for c in rng.choice(countries, size=30)
    ]
    assert got.instances == 30 and got.holding == pytest.approx(np.mean(holders), abs=0, rel=1e-15)


def test_posts_of_is_the_users_posts_oldest_first(ds):
    """posts_of (an index built once) equals a scan of the author column, for every user and outside."""
    for user in [*range(ds.users), -1, ds.users, ds.users + 5]:
        assert ds.posts_of(user).tolist() == np.flatnonzero(ds.post_author == user).tolist()
    mine = ds.posts_of(3)
    mine[:] = 0  # a copy: changing it leaves the dataset's index alone
    assert ds.posts_of(3).tolist() == np.flatnonzero(ds.post_author == 3).tolist()
