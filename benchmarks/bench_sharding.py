"""Scenario: shard a 1,000,000-post table (100,000 users, 10 posts each) on 16 shards under every strategy,
then re-shard to 17, and time each step; then time key_slot over 1,000,000 Redis keys vectorized against a
plain-Python loop of the same CRC16.

The page stays interactive up to this size only if placing a million rows costs well under a second per
strategy once the keys are hashed. Prints CPU seconds and the vectorized/loop ratio.
"""

import time

from sdcore.sharding import (
    STRATEGIES,
    DatasetConfig,
    key_column,
    key_slot,
    key_slots,
    make_dataset,
    place,
    reshard,
)

USERS, POSTS_PER_USER, SHARDS = 100_000, 10.0, 16


def timed(fn):
    """CPU seconds of this process (the machine is shared: wall time would time the neighbours too)."""
    t = time.process_time()
    out = fn()
    return out, time.process_time() - t


def main():
    ds, t_data = timed(lambda: make_dataset(DatasetConfig(USERS, POSTS_PER_USER)))
    print(f"dataset: {ds.posts:,} posts, {ds.users:,} users generated in {t_data:.2f} s")
    for key in ("user_id", "post_id"):
        col, t_col = timed(lambda k=key: key_column(ds, k))
        _, t_hash = timed(col.h32)
        _, t_slots = timed(col.slots)
        print(
            f"\nshard key {key}: {col.n_groups:,} key values; columns {t_col:.2f} s, murmur3 {t_hash:.2f} s, "
            f"CRC16 slots {t_slots:.2f} s (each computed once, shared by every strategy)"
        )
        for name in STRATEGIES:
            pl, t_place = timed(lambda n=name, c=col: place(c, n, SHARDS))
            rows, t_rows = timed(lambda p=pl, c=col: p.row_shards(c))
            _, t_re = timed(lambda p=pl, c=col: reshard(p, c, SHARDS + 1))
            assert len(rows) == ds.posts
            print(
                f"  {name:<10} place {t_place:6.3f} s   row shards {t_rows:6.3f} s   re-shard to {SHARDS + 1} "
                f"{t_re:6.3f} s   ({ds.posts / max(t_place + t_rows, 1e-9) / 1e6:5.1f} M rows/s)"
            )

    keys = [f"{{user{i % 50_000}}}:post:{i}" if i % 3 == 0 else f"post:{i}:é" for i in range(1_000_000)]
    vec, t_vec = timed(lambda: key_slots(keys))
    sample = keys[:200_000]  # the loop is slow: time a fifth and scale
    loop, t_loop = timed(lambda: [key_slot(k) for k in sample])
    assert vec[: len(sample)].tolist() == loop
    t_loop *= len(keys) / len(sample)
    print(
        f"\nkey_slot over {len(keys):,} keys: vectorized {t_vec:.2f} s, plain loop {t_loop:.2f} s (scaled), "
        f"{t_loop / t_vec:.1f}x faster"
    )


if __name__ == "__main__":
    main()
