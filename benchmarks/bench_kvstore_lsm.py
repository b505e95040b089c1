"""Benchmark: the LSM store and its bloom filter against a plain dict and two bloom-filter packages from PyPI.

Scenario 1, writes: 1,000,000 puts of 200,000 distinct keys (five versions each) into ``LSMStore`` with a
10,000-entry memtable and 10 bits per key, under each compaction style, against the same puts into a dict.
The store does more than the dict by design (a commit-log record per put, sorting at each flush, building
a bloom filter per table, compaction); the ratio says what that bookkeeping costs in Python.

Scenario 2, bloom lookups: one filter for 100,000 keys at 1% false positives, then 1,000,000 lookups (half
of keys added, half never added) through ``key in bf`` one at a time, through ``contains_many`` in one
numpy call, and through rbloom (Rust) and pybloom-live (pure Python) on the same keys. The measured false
positive rates are printed too: they should all sit near 1%.

Run: ``python benchmarks/bench_kvstore_lsm.py`` from the repository root.
"""

from __future__ import annotations

import time

import numpy as np
import pybloom_live
import rbloom

from sdcore.kvstore.bloom import BloomFilter
from sdcore.kvstore.lsm import LSMStore

PUTS = 1_000_000
DISTINCT = 200_000
LOOKUPS = 1_000_000
FILTER_KEYS = 100_000


def timed(fn):
    start = time.perf_counter()
    out = fn()
    return time.perf_counter() - start, out


def bench_puts() -> None:
    rng = np.random.default_rng(0)
    keys = [f"user:{i:07d}" for i in rng.integers(0, DISTINCT, PUTS)]
    values = [f"v{i}" for i in range(PUTS)]

    def plain():
        d = {}
        for k, v in zip(keys, values, strict=True):
            d[k] = v
        return d

    t_dict, model = timed(plain)
    print(f"{PUTS:,} puts into a dict: {t_dict:.2f} s ({PUTS / t_dict / 1e6:.2f} M puts/s)")
    for style in ("size_tiered", "leveled"):
        db = LSMStore(10_000, 10.0, style)

        def load(db=db):
            put = db.put
            for k, v in zip(keys, values, strict=True):
                put(k, v)
            return db

        t, db = timed(load)
        s = db.stats()
        sample = keys[:: PUTS // 2000]
        assert all(db.get(k) == model[k] for k in sample)  # the same answers as the dict
        print(
            f"{PUTS:,} puts into LSMStore ({style}): {t:.2f} s ({PUTS / t / 1e6:.2f} M puts/s), "
            f"{t / t_dict:.1f}x the dict; {s.flushes} flushes, {s.compactions} compactions, "
            f"write amplification {s.write_amplification:.2f}, {len(db.tables)} tables"
        )


def bench_bloom() -> None:
    added = [f"key:{i}" for i in range(FILTER_KEYS)]
    asked = [added[i % FILTER_KEYS] for i in range(LOOKUPS // 2)] + [
        f"absent:{i}" for i in range(LOOKUPS // 2)
    ]
    absent = slice(LOOKUPS // 2, None)
    ours = BloomFilter.for_capacity(FILTER_KEYS, 0.01)
    ours.add_many(added)
    rb = rbloom.Bloom(FILTER_KEYS, 0.01)
    rb.update(added)
    pb = pybloom_live.BloomFilter(capacity=FILTER_KEYS, error_rate=0.01)
    for k in added:
        pb.add(k)

    def loop(f):
        return lambda: [k in f for k in asked]

    rows = [
        ("sdcore BloomFilter, `in` one key at a time", loop(ours)),
        ("sdcore BloomFilter.contains_many (numpy)", lambda: list(ours.contains_many(asked))),
        ("rbloom (Rust), `in`", loop(rb)),
        ("pybloom-live (Python), `in`", loop(pb)),
    ]
    times = {}
    for name, fn in rows:
        t, hits = timed(fn)
        times[name] = t
        fp = sum(hits[absent]) / (LOOKUPS // 2)
        assert all(hits[: LOOKUPS // 2])  # no false negatives, in any of them
        print(f"{LOOKUPS:,} lookups, {name}: {t:.2f} s, false positives {fp:.3%}")
    base = times[rows[0][0]]
    bulk = times[rows[1][0]]
    for name, _ in rows[2:]:
        print(
            f"  {name}: ours one at a time is {base / times[name]:.2f}x its time, ours in bulk {bulk / times[name]:.2f}x"
        )


if __name__ == "__main__":
    bench_puts()
    bench_bloom()
