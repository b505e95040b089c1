"""Instagram's 64-bit ids: the blog post's worked example, round trips, and ids that sort by time."""

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from sdcore.sharding import INSTAGRAM_EPOCH_MS, LOGICAL_SHARDS, ShardedId


def test_the_worked_example_of_sharding_ids_at_instagram():
    """Epoch 2011-01-01, 1387263000 ms later, shard 1341, sequence 5001 % 1024 = 905."""
    ms = INSTAGRAM_EPOCH_MS + 1_387_263_000
    expected = (1_387_263_000 << 23) | (1341 << 10) | 905
    assert ShardedId.encode(ms, 1341, 5001) == expected
    d = ShardedId.decode(expected)
    assert (d.ms, d.shard, d.seq) == (ms, 1341, 905)


@given(st.integers(0, 2**41 - 1), st.integers(0, LOGICAL_SHARDS - 1), st.integers(0, 1023),
       st.integers(0, 2**40))  # fmt: skip
def test_round_trip(delta, shard, seq, epoch):
    """decode(encode(ms, shard, seq)) gives back ms, shard, seq, and the id fits in 64 bits."""
    n = ShardedId.encode(epoch + delta, shard, seq, epoch)
    assert 0 <= n < 2**64
    d = ShardedId.decode(n, epoch)
    assert (d.ms, d.shard, d.seq) == (epoch + delta, shard, seq)


@given(st.lists(st.tuples(st.integers(0, 2**41 - 1), st.integers(0, 8191), st.integers(0, 1023)), min_size=2))
def test_ids_sort_by_time(items):
    """A later millisecond always gives a larger id, whatever the shard and sequence."""
    ids = [(ShardedId.encode(INSTAGRAM_EPOCH_MS + t, s, q), t) for t, s, q in items]
    times = [t for _, t in sorted(ids)]
    assert times == sorted(times)


def test_encode_many_equals_encode():
    rng = np.random.default_rng(1)
    ms = INSTAGRAM_EPOCH_MS + rng.integers(0, 2**41, 200)
    shard, seq = rng.integers(0, 8192, 200), rng.integers(0, 5000, 200)
    many = ShardedId.encode_many(ms, shard, seq)
    assert many.tolist() == [
        ShardedId.encode(int(a), int(b), int(c)) for a, b, c in zip(ms, shard, seq, strict=True)
    ]


def test_bad_values_are_explained():
    with pytest.raises(ValueError, match="shard must be between 0 and 8,191"):
        ShardedId.encode(INSTAGRAM_EPOCH_MS, 8192, 0)
    with pytest.raises(ValueError, match="ms must be between epoch_ms and"):
        ShardedId.encode(INSTAGRAM_EPOCH_MS - 1, 0, 0)
    with pytest.raises(ValueError, match="seq must be a whole number >= 0"):
        ShardedId.encode(INSTAGRAM_EPOCH_MS, 0, -1)
