"""What RedisStore writes: prefixes that isolate sessions, a TTL on every key, cleanup by prefix, and the
call path limiters use (``TokenBucket(10, 5.0, store=RedisStore(client))``).

Invariants: two stores with different prefixes never see each other's counts, even for the same client
key; every key a decision writes has a TTL of at most its horizon plus the margin (garbage collection
only: decisions never depend on it); ``delete_prefix`` removes exactly one prefix's keys."""

from __future__ import annotations

import copy
import threading

import pytest

from sdcore.ratelimit import (
    GCRA,
    FixedWindowCounter,
    LeakingBucket,
    MemoryStore,
    SlidingWindowCounter,
    SlidingWindowLog,
    TokenBucket,
)
from sdcore.ratelimit.live.redis_store import (
    RedisStore,
    delete_prefix,
    measure_round_trip,
    session_prefix,
)

pytestmark = pytest.mark.redis


def every_limiter(store, window=1.0):
    return [
        TokenBucket(3, 2.0, store=store),
        LeakingBucket(3, 2.0, store=store),
        FixedWindowCounter(3, window, store=store),
        SlidingWindowLog(3, window, store=store),
        SlidingWindowCounter(3, window, store=store),
        GCRA(3, 1.5, store=store),
    ]


def test_the_limiters_call_path(client, prefix):
    bucket = TokenBucket(10, 5.0, store=RedisStore(client, prefix=prefix))
    assert [bucket.allow(0.0, "alice").allowed for _ in range(11)] == [True] * 10 + [False]
    assert bucket.allow(0.0, "alice").retry_after == 0.2
    assert bucket.allow(0.0, "bob").remaining == 9


def test_prefixes_isolate_sessions(client, prefix):
    a = RedisStore(client, prefix=prefix + session_prefix("alice-laptop", "burst"))
    b = RedisStore(client, prefix=prefix + session_prefix("bob-laptop", "burst"))
    for la, lb, fresh in zip(every_limiter(a), every_limiter(b), every_limiter(MemoryStore()), strict=True):
        assert [la.allow(1.0, "user:1").allowed for _ in range(3)] == [True] * 3
        assert lb.allow(1.0, "user:1") == fresh.allow(1.0, "user:1"), la.label  # b starts from scratch
    keys_a, keys_b = a.keys(), b.keys()
    assert keys_a == keys_b and len(keys_a) >= 6  # the same names, under different prefixes
    assert a.clear() == len(keys_a)
    assert a.keys() == [] and b.keys() == keys_b
    assert FixedWindowCounter(3, 1.0, store=b).allow(1.0, "user:1").remaining == 1  # b's count is intact


def test_every_written_key_has_a_ttl_of_horizon_plus_margin(client, prefix):
    store = RedisStore(client, prefix=prefix, ttl_margin=5.0)
    for limiter in every_limiter(store, window=2.0):
        for t in (0.0, 0.1, 0.2, 0.3, 1.9, 2.0, 4.5):
            for key in ("a", "b"):
                limiter.allow(t, key)
    infos = store.inspect()
    assert {i.kind for i in infos} == {"hash", "string", "zset"}
    assert {i.name.split(":")[0] for i in infos} == {"tb", "lb", "fw", "log", "swc", "gcra"}
    # Horizons: bucket refill 1.5 s, queue drained 2 s, windows 2 s (4 s for the counter's two), GCRA 1.5 s.
    for info in infos:
        assert 0 < info.ttl_ms <= 4_000 + 5_000, info
    assert len(infos) == len(store.keys())


def test_ttl_never_exceeds_a_year_whatever_the_horizon(client, prefix):
    store = RedisStore(client, prefix=prefix)
    TokenBucket(1_000_000, 0.000001, store=store).allow(0.0)  # refilling one token takes 11.6 days
    (info,) = store.inspect()
    assert 11 * 86_400_000 < info.ttl_ms <= 366 * 86_400_000


def test_threads_sharing_one_store_count_exactly(client, prefix):
    store = RedisStore(client, prefix=prefix)
    limiter = SlidingWindowLog(50, 3600.0, log_rejected=False, store=store)
    admitted = []

    def worker():
        admitted.append(sum(limiter.allow(10.0, "shared").allowed for _ in range(30)))

    threads = [threading.Thread(target=worker) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sum(admitted) == 50


def test_a_copied_limiter_shares_the_redis_state(client, prefix):
    store = RedisStore(client, prefix=prefix)
    a = FixedWindowCounter(2, 1.0, store=store)
    b = copy.deepcopy(a)
    assert b.store is store
    assert a.allow(0.0).allowed and b.allow(0.0).allowed and not a.allow(0.0).allowed


def test_delete_prefix_escapes_glob_characters(client, prefix):
    odd = prefix + "x*["
    RedisStore(client, prefix=odd).fixed_window("k", 0, 1, 10)
    RedisStore(client, prefix=prefix + "xy:").fixed_window("k", 0, 1, 10)
    assert delete_prefix(client, odd) == 2  # fw:k:last and fw:k:0, not the xy: keys
    assert len(RedisStore(client, prefix=prefix + "xy:").keys()) == 2


def test_memory_and_redis_agree_on_a_small_example(client, prefix):
    on_redis, in_memory = every_limiter(RedisStore(client, prefix=prefix)), every_limiter(MemoryStore())
    for t in (0.0, 0.0, 0.0, 0.0, 0.4, 0.5, 0.9, 1.0, 1.0, 1.7):
        for r, m in zip(on_redis, in_memory, strict=True):
            assert r.allow(t) == m.allow(t), (r.label, t)


def test_round_trip_measurement(client):
    rt = measure_round_trip(client, runs=3, per_run=20)
    assert 0 < rt.ping_ms.min <= rt.ping_ms.median <= rt.ping_ms.max < 50
    assert 0 < rt.decision_ms.min <= rt.decision_ms.median <= rt.decision_ms.max < 50
    assert list(client.scan_iter(match="sds:rtt:*")) == []


def test_bad_arguments_are_refused(client):
    with pytest.raises(ValueError, match="prefix must be a non-empty string"):
        RedisStore(client, prefix="")
    with pytest.raises(ValueError, match="prefix must be a non-empty string"):
        delete_prefix(client, "")
    with pytest.raises(ValueError, match="ttl_margin must be"):
        RedisStore(client, ttl_margin=0)
    with pytest.raises(ValueError, match="client must be a redis.Redis"):
        RedisStore("localhost:6379")
    with pytest.raises(ValueError, match="session must be"):
        session_prefix("a:b", "x")
    with pytest.raises(ValueError, match="experiment must be"):
        session_prefix("a", "")
    assert session_prefix("s1", "burst") == "sds:s1:burst:"
