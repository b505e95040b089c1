"""Values derived once per dataset and column: the same objects every time, equal to a fresh computation."""

import threading

import numpy as np
import pytest

from sdcore.sharding import DatasetConfig, key_column, make_dataset, place
from sdcore.sharding.memo import Memo
from sdcore.sharding.strategies import PLACEMENTS_KEPT, STRATEGIES


@pytest.fixture(scope="module")
def ds():
    return make_dataset(DatasetConfig(users=500, posts_per_user=4))


def test_key_columns_are_made_once_per_dataset(ds):
    assert key_column(ds, "post_id") is key_column(ds, "post_id")
    other = make_dataset(ds.config)  # an equal dataset has its own columns, with equal values
    assert key_column(other, "post_id") is not key_column(ds, "post_id")
    assert np.array_equal(key_column(other, "post_id").h32(), key_column(ds, "post_id").h32())


@pytest.mark.parametrize("strategy", list(STRATEGIES))
def test_placements_are_shared_read_only_and_equal_to_a_fresh_one(ds, strategy):
    col = key_column(ds, "user_id")
    pl = place(col, strategy, 6, 20)
    assert place(col, strategy, 6, 20) is pl
    fresh = STRATEGIES[strategy].cls().place(col, 6, 20)
    assert np.array_equal(pl.group_shard, fresh.group_shard)
    with pytest.raises(ValueError, match="read-only"):
        pl.group_shard[0] = 1


def test_ring_placements_differ_by_vnodes_the_others_do_not(ds):
    col = key_column(ds, "country_user")
    assert place(col, "ring", 5, 10) is not place(col, "ring", 5, 11)
    assert place(col, "modulo", 5, 10) is place(col, "modulo", 5, 11)


def test_the_memo_keeps_the_most_recent_values():
    """At most ``size`` values are kept; the least recently used one goes first."""
    memo, made = Memo(2), []
    make = lambda k: lambda: made.append(k) or k  # noqa: E731
    for k in ("a", "b", "a", "c", "a", "b"):
        assert memo.get(k, make(k)) == k
    assert made == ["a", "b", "c", "b"] and len(memo) == 2
    assert len(STRATEGIES) <= PLACEMENTS_KEPT


def test_the_memo_is_safe_under_threads():
    memo = Memo(4)
    errors = []

    def work(i):
        try:
            for j in range(500):
                assert memo.get((i + j) % 7, lambda v=(i + j) % 7: v) == (i + j) % 7
        except Exception as e:  # pragma: no cover - reported below
            errors.append(e)

    threads = [threading.Thread(target=work, args=(i,)) for i in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors and len(memo) <= 4
