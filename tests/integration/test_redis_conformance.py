"""RedisStore against MemoryStore: the same ``now`` values give bit-identical raw results (allowed, the
remaining-count numbers, retry and departure in microseconds) for every algorithm, on a real redis-server.

Invariant: for any parameters a limiter accepts and any trace (several clients, bursts at one instant,
a clock that goes backwards, times up to the 9e15 µs the units allow), ``RedisStore.<algorithm>(...) ==
MemoryStore.<algorithm>(...)`` decision by decision. The Lua scripts compute in doubles, so the traces
include the sizes where a naive script would round (products past 2**53)."""

from __future__ import annotations

import math
import uuid

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sdcore.ratelimit import (
    GCRA,
    FixedWindowCounter,
    LeakingBucket,
    MemoryStore,
    SlidingWindowCounter,
    SlidingWindowLog,
    TokenBucket,
    steps,
)
from sdcore.ratelimit.live.redis_store import RedisStore, delete_prefix

pytestmark = pytest.mark.redis

MAX_US = 9_000_000_000_000_000  # units.MAX_TIME_S in microseconds
KEYS = ("alice", "bob", "carol:1")

# Limiter parameters as a page would pass them: small, awkward (1/3 s, 3/s) and the extremes allowed.
COUNTS = st.sampled_from([1, 2, 3, 5, 1_000_000])
RATES = st.sampled_from([0.000001, 1 / 3, 1.0, 2.5, 3.0, 1000.0, 1_000_000.0])
WINDOWS = st.sampled_from([0.000001, 0.001, 0.333333, 1.0, 2.5, 3600.0, 1_000_000.0])

limiters = st.one_of(
    st.builds(TokenBucket, capacity=COUNTS, refill_rate=RATES),
    st.builds(LeakingBucket, queue_size=COUNTS, outflow_rate=RATES),
    st.builds(FixedWindowCounter, limit=COUNTS, window=WINDOWS),
    st.builds(
        SlidingWindowLog,
        limit=COUNTS,
        window=WINDOWS,
        log_rejected=st.booleans(),
        inclusive_edge=st.booleans(),
    ),
    st.builds(SlidingWindowCounter, limit=COUNTS, window=WINDOWS),
    st.builds(GCRA, limit=COUNTS, period=WINDOWS, burst=st.none() | COUNTS),
)

# A trace: a start time, then steps that may be 0 (a burst), small, large, or negative (clock skew).
STEP_US = st.one_of(
    st.just(0),
    st.sampled_from([1, 250_000, 500_000, 1_000_000, 2_500_000, 3_600_000_000]),  # exact window multiples
    st.integers(-2_000_000, 2_000_000),
    st.integers(0, 50_000),
    st.integers(-(10**12), 10**13),
)
traces = st.tuples(
    st.sampled_from([0, 1_700_000_000_000_000, MAX_US - 10**13, MAX_US]),
    st.lists(st.tuples(STEP_US, st.sampled_from(KEYS)), min_size=1, max_size=40),
)


def store_call(store, limiter, key, now_us):
    """The raw step through the Store interface, with the limiter's own integer parameters."""
    p = dict(limiter.params)
    if limiter.algorithm == "sliding_log":
        p["log_rejected"] = bool(p["log_rejected"])
        p["inclusive_edge"] = bool(p["inclusive_edge"])
    return tuple(getattr(store, limiter.algorithm)(key, now_us, *p.values()))


def times(start: int, steps_: list[tuple[int, str]]) -> list[tuple[int, str]]:
    out, now = [], start
    for dt, key in steps_:
        now = min(MAX_US, max(0, now + dt))
        out.append((now, key))
    return out


@settings(max_examples=250)
@given(limiter=limiters, trace=traces)
def test_every_algorithm_matches_memory_store_bit_for_bit(client, limiter, trace):
    """Same trace, same integer parameters: RedisStore's raw tuple == MemoryStore's, at every request."""
    prefix = f"sds:conf:{uuid.uuid4().hex[:12]}:"
    redis_store, memory = RedisStore(client, prefix=prefix), MemoryStore()
    try:
        for now_us, key in times(*trace):
            expected = store_call(memory, limiter, key, now_us)
            assert store_call(redis_store, limiter, key, now_us) == expected, (now_us, key)
    finally:
        delete_prefix(client, prefix)


@pytest.mark.parametrize(
    "make",
    [
        lambda store: TokenBucket(10, 5.0, store=store),
        lambda store: TokenBucket(3, 1 / 3, store=store),
        lambda store: LeakingBucket(4, 3.0, store=store),
        lambda store: FixedWindowCounter(5, 1.0, store=store),
        lambda store: SlidingWindowLog(5, 1.0, log_rejected=True, store=store),
        lambda store: SlidingWindowLog(5, 1.0, log_rejected=False, store=store),
        lambda store: SlidingWindowLog(5, 1.0, log_rejected=True, inclusive_edge=True, store=store),
        lambda store: SlidingWindowLog(5, 1.0, log_rejected=False, inclusive_edge=True, store=store),
        lambda store: SlidingWindowCounter(5, 1.0, store=store),
        lambda store: GCRA(5, 1.0, burst=3, store=store),
    ],
)
@pytest.mark.parametrize("seed", [0, 1])
def test_limiters_on_redis_decide_like_in_memory_on_long_seeded_traces(client, prefix, make, seed):
    """2,000 requests from 5 clients: Poisson arrivals with bursts and a few backwards jumps of the clock;
    every Decision (allowed, remaining, retry_after, departure) equals the in-memory one."""
    rng = np.random.default_rng(seed)
    gaps = rng.exponential(0.05, 2000)
    gaps[rng.random(2000) < 0.2] = 0.0  # bursts: several requests at one instant
    gaps[rng.random(2000) < 0.02] = -0.7  # the clock of another server lags
    now = 1000.0 + np.cumsum(gaps)
    keys = rng.integers(0, 5, 2000)
    on_redis, in_memory = make(RedisStore(client, prefix=prefix)), make(None)
    for t, k in zip(now.tolist(), keys.tolist(), strict=True):
        t = round(t, 6)
        assert on_redis.allow(t, f"c{k}") == in_memory.allow(t, f"c{k}"), (t, k)


# --- the arithmetic past 2**53, from stored states a short trace cannot reach ---------------------------
# These write a state straight into the documented key layout (redis_store's module docstring), then
# compare one step with the reference in steps.py. Hypothesis finds the edges (0, 1, the maxima); the
# seeded draws, uniform and log-uniform over the whole ranges, cover the bulk, where unsplit products in
# doubles would be off (about one partial refill in ten, for the token bucket).

N_SEEDED = 1500


def draw(rng, lo: int, hi: int, n: int) -> list[int]:
    """n integers in [lo, hi]: half uniform, half log-uniform (every order of magnitude)."""
    uniform = rng.integers(lo, hi, n // 2, endpoint=True)
    log = np.exp(rng.uniform(np.log(max(lo, 1)), np.log(hi), n - n // 2)).astype(np.int64)
    return [int(x) for x in np.clip(np.concatenate([uniform, log]), lo, hi)]


def check_token_bucket(client, prefix, i, cap, tokens, carry, last, now, rate):
    key = f"{prefix}tb:{i}"
    client.hset(key, mapping={"tokens": tokens, "carry": carry, "last": last})
    got = RedisStore(client, prefix=prefix).token_bucket(str(i), now, cap, rate)
    state, raw = steps.token_bucket_step((tokens, carry, last), now, cap, rate)
    assert got == raw, (cap, tokens, carry, last, now, rate)
    assert tuple(int(x) for x in client.hmget(key, "tokens", "carry", "last")) == state


def check_leaking_bucket(client, prefix, i, queue, interval, backlog, last, now):
    n, r = divmod(backlog, interval)
    client.hset(f"{prefix}lb:{i}", mapping={"last": last, "n": n, "r": r, "interval": interval})
    got = RedisStore(client, prefix=prefix).leaking_bucket(str(i), now, queue, interval)
    expected = steps.leaking_bucket_step((last, last + backlog), now, queue, interval)[1]
    assert got == expected, (queue, interval, backlog, last, now)


def check_gcra(client, prefix, i, interval, tolerance, ahead, last, now):
    n, r = divmod(ahead, interval)
    client.hset(f"{prefix}gcra:{i}", mapping={"last": last, "n": n, "r": r, "interval": interval})
    got = RedisStore(client, prefix=prefix).gcra(str(i), now, interval, tolerance)
    expected = steps.gcra_step((last, last + ahead), now, interval, tolerance)[1]
    assert got == expected, (interval, tolerance, ahead, last, now)


def check_counter(client, prefix, i, limit, window, cur, prev, last, now):
    k = last // window
    client.mset(
        {f"{prefix}swc:{i}:last": last, f"{prefix}swc:{i}:{k}": cur, f"{prefix}swc:{i}:{k - 1}": prev}
    )
    got = RedisStore(client, prefix=prefix).sliding_window_counter(str(i), now, limit, window)
    expected = steps.sliding_window_counter_step((last, k, cur, prev), now, limit, window)[1]
    assert got == expected, (limit, window, cur, prev, last, now)


@settings(max_examples=150)
@given(
    capacity=st.integers(1, 1_000_000),
    rate=st.one_of(st.integers(1, 10**12), st.sampled_from([1, 999_999, 10**6, 10**6 + 1, 10**12])),
    fill=st.floats(0, 1),
    carry=st.integers(0, 999_999),
    last=st.integers(0, MAX_US),
    dt=st.one_of(st.integers(-(10**6), 10**7), st.integers(0, MAX_US)),
)
def test_token_bucket_refill_is_exact_for_any_stored_state(client, capacity, rate, fill, carry, last, dt):
    """Refills of up to 9e15 µs at up to 10**12 micro-tokens/s (products ~10**28) are exact."""
    cap = capacity * 10**6
    tokens = min(cap, int(cap * fill))
    prefix = f"sds:conf:{uuid.uuid4().hex[:12]}:"
    try:
        check_token_bucket(client, prefix, 0, cap, tokens, 0 if tokens == cap else carry, last,
                           min(MAX_US, max(0, last + dt)), rate)  # fmt: skip
    finally:
        delete_prefix(client, prefix)


def test_token_bucket_refill_is_exact_on_seeded_states(client, prefix):
    """The same, on 1,500 states drawn over the whole ranges (many partial refills past 2**53)."""
    rng = np.random.default_rng(7)
    caps = draw(rng, 1, 1_000_000, N_SEEDED)
    rates = draw(rng, 1, 10**12, N_SEEDED)
    dts = draw(rng, 0, 10**9, N_SEEDED)
    for i in range(N_SEEDED):
        cap = caps[i] * 10**6
        tokens = int(cap * rng.random())
        carry = 0 if tokens == cap else int(rng.integers(0, 10**6))
        last = int(rng.integers(0, MAX_US - 10**9))
        check_token_bucket(client, prefix, i, cap, tokens, carry, last, last + dts[i], rates[i])


@settings(max_examples=150)
@given(
    queue=st.integers(1, 1_000_000),
    interval=st.one_of(st.integers(1, 10**12), st.sampled_from([1, 3, 333_334, 10**12])),
    backlog_share=st.floats(0, 1),
    last=st.integers(0, MAX_US),
    dt=st.one_of(st.integers(-(10**6), 10**7), st.integers(0, MAX_US)),
)
def test_leaking_bucket_is_exact_with_departures_past_2_53(client, queue, interval, backlog_share, last, dt):
    """A backlog of up to queue_size * interval (10**18 µs) and departures beyond 2**53: the script keeps
    the backlog as n * interval + r and the departure is added up in Python, exactly."""
    prefix = f"sds:conf:{uuid.uuid4().hex[:12]}:"
    try:
        check_leaking_bucket(client, prefix, 0, queue, interval, int(queue * interval * backlog_share), last,
                             min(MAX_US, max(0, last + dt)))  # fmt: skip
    finally:
        delete_prefix(client, prefix)


def test_leaking_bucket_is_exact_on_seeded_states(client, prefix):
    """The same on 1,500 drawn states, a third of them exactly at the admission edge
    (backlog = (queue - 1) * interval and one microsecond more)."""
    rng = np.random.default_rng(8)
    queues = draw(rng, 1, 1_000_000, N_SEEDED)
    intervals = draw(rng, 1, 10**12, N_SEEDED)
    for i in range(N_SEEDED):
        q, interval = queues[i], intervals[i]
        last = int(rng.integers(0, MAX_US))
        dt = int(draw(rng, 0, 10**13, 2)[i % 2])
        now = min(MAX_US, last + dt)
        edge = (q - 1) * interval + (now - last) + int(rng.integers(0, 2))
        backlog = edge if i % 3 == 0 and edge <= q * interval else int(q * interval * rng.random())
        check_leaking_bucket(client, prefix, i, q, interval, backlog, last, now)


def test_gcra_is_exact_on_seeded_states(client, prefix):
    """GCRA with tolerances up to 10**18 µs (burst 10**6 of 10**12-µs intervals), tat past 2**53, a third
    of the states exactly at the conformance edge (tat - now = tolerance, and one microsecond more), and
    tolerances that are not a multiple of the interval (the store accepts any)."""
    rng = np.random.default_rng(10)
    intervals = draw(rng, 1, 10**12, N_SEEDED)
    bursts = draw(rng, 1, 1_000_000, N_SEEDED)
    for i in range(N_SEEDED):
        interval = intervals[i]
        tolerance = (bursts[i] - 1) * interval + (int(rng.integers(0, interval)) if i % 4 == 0 else 0)
        last = int(rng.integers(0, MAX_US))
        now = min(MAX_US, last + draw(rng, 0, 10**13, 2)[i % 2])
        ahead = int((tolerance + interval) * rng.random())
        if i % 3 == 0:
            ahead = tolerance + (now - last) + int(rng.integers(0, 2))
        check_gcra(client, prefix, i, interval, tolerance, ahead, last, now)


@settings(max_examples=150)
@given(
    limit=st.integers(1, 1_000_000),
    window=st.one_of(st.integers(1, 10**12), st.sampled_from([1, 2, 10**9, 10**12])),
    cur_share=st.floats(0, 1),
    prev_share=st.floats(0, 1),
    last=st.integers(0, MAX_US),
    dt=st.one_of(st.integers(-10, 10**6), st.integers(0, 3 * 10**12)),
)
def test_sliding_window_counter_is_exact_when_limit_times_window_passes_2_53(
    client, limit, window, cur_share, prev_share, last, dt
):
    """cur * window + prev * span < limit * window with products up to 10**18: compared exactly, and the
    retry time (a division of such a product) too."""
    prefix = f"sds:conf:{uuid.uuid4().hex[:12]}:"
    try:
        check_counter(client, prefix, 0, limit, window, round(limit * cur_share), round(limit * prev_share),
                      last, min(MAX_US, max(0, last + dt)))  # fmt: skip
    finally:
        delete_prefix(client, prefix)


def test_sliding_window_counter_is_exact_on_seeded_states(client, prefix):
    """The same on 1,500 drawn states, half of them with the span placed exactly at the admission edge
    (prev * span just below, or at, (limit - cur) * window)."""
    rng = np.random.default_rng(9)
    limits = draw(rng, 1, 1_000_000, N_SEEDED)
    windows = draw(rng, 1, 10**12, N_SEEDED)
    for i in range(N_SEEDED):
        limit, w = limits[i], windows[i]
        cur, prev = int(rng.integers(0, limit + 1)), int(rng.integers(1, limit + 1))
        k = int(rng.integers(1, MAX_US // w))
        last = k * w + int(rng.integers(0, w))
        span = int(rng.integers(1, w + 1))
        if i % 2 and cur < limit:  # the largest admitted span, or one more
            span = min(w, ((limit - cur) * w - 1) // prev + int(rng.integers(0, 2)))
        now = max(last, (k + 1) * w - max(1, span))
        check_counter(client, prefix, i, limit, w, cur, prev, last, now)


@pytest.mark.parametrize(
    "limit, window, cur, prev",
    [
        # prev * span a few units short of (limit - cur) * window near 10**18, where doubles are 128
        # apart: the unsplit comparison in doubles sees them equal.
        (1_000_000, 999_999_999_999, 10, 1_000_000),
        (1_000_000, 999_999_999_999, 5, 1_000_000),
        (1_000_000, 999_999_999_999, 1, 1_000_000),
        # floor(((limit - cur) * window - 1) / prev) in doubles comes out one too high (found by search).
        (538_795, 460_616_942_527, 318_458, 352_752),
        (236_680, 342_335_836_188, 114_159, 186_921),
        (197_611, 926_292_079_440, 165_579, 105_105),
    ],
)
def test_sliding_window_counter_edges_where_doubles_would_round(client, prefix, limit, window, cur, prev):
    """At the largest admitted span the request is admitted; one microsecond earlier in the window (span
    + 1) it is rejected, in cases picked so that a script computing the step's products or quotient in
    doubles would get one of the two wrong."""
    k = 5
    span = ((limit - cur) * window - 1) // prev
    naive_equal = float((limit - cur) * window) == float(prev * span)
    naive_floor = math.floor((float(limit - cur) * window - 1) / prev)
    assert naive_equal or naive_floor != span  # the case has teeth
    for i, (s, expected) in enumerate(((span, 1), (span + 1, 0))):
        check_counter(client, prefix, i, limit, window, cur, prev, k * window, (k + 1) * window - s)
        assert int(client.get(f"{prefix}swc:{i}:{k}")) == cur + expected


@pytest.mark.parametrize("algorithm", ["fixed_window", "sliding_log", "sliding_window_counter"])
def test_requests_exactly_on_window_edges_match(client, prefix, algorithm):
    """Requests on a grid of half windows, several per point: an entry exactly one window old has
    expired (half-open windows), a fixed window starts exactly at k * window."""
    window, limit = 1_000_000, 3
    store, memory = RedisStore(client, prefix=prefix), MemoryStore()
    extra = (True,) if algorithm == "sliding_log" else ()
    for step in range(12):
        for key in ("a", "b") * (step % 3 + 1):
            now = step * window // 2
            args = (key, now, limit, window, *extra)
            assert getattr(store, algorithm)(*args) == getattr(memory, algorithm)(*args), (step, key)


@pytest.mark.parametrize("algorithm", ["leaking_bucket", "gcra"])
def test_limiters_of_different_rates_sharing_a_key_share_the_state_like_in_memory(client, prefix, algorithm):
    """Two leaking buckets (or GCRAs) of different rates on one store and one key share one state, in
    Redis as in memory: the stored backlog is re-expressed in the other interval."""
    store, memory = RedisStore(client, prefix=prefix), MemoryStore()
    rng = np.random.default_rng(3)
    now = 0
    for _ in range(300):
        now += int(rng.integers(0, 400_000))
        interval = int(rng.choice([333_334, 7_000_000]))
        size = int(rng.integers(1, 5))  # queue size, or burst
        args = (
            ("k", now, size, interval)
            if algorithm == "leaking_bucket"
            else ("k", now, interval, (size - 1) * interval)
        )
        assert getattr(store, algorithm)(*args) == getattr(memory, algorithm)(*args)


@pytest.mark.parametrize("log_rejected", [False, True])
def test_sliding_log_edge_conventions_on_redis_on_whole_second_traces(client, prefix, log_rejected):
    """Whole-second timestamps and a one-second window, where the two edges differ most: for each
    convention the Redis log decides exactly as the in-memory one (and the two conventions differ)."""
    rng = np.random.default_rng(3)
    times = np.sort(rng.integers(1000, 1060, 400)).astype(float)
    keys = rng.choice(["a", "b"], len(times))
    runs = {}
    for inclusive in (False, True):
        p = f"{prefix}{int(inclusive)}:"
        on_redis = SlidingWindowLog(3, 1.0, log_rejected, inclusive, store=RedisStore(client, prefix=p))
        in_memory = SlidingWindowLog(3, 1.0, log_rejected, inclusive)
        runs[inclusive] = [in_memory.allow(t, k) for t, k in zip(times.tolist(), keys.tolist(), strict=True)]
        assert [on_redis.allow(t, k) for t, k in zip(times.tolist(), keys.tolist(), strict=True)] == runs[
            inclusive
        ]
    assert [d.allowed for d in runs[False]] != [d.allowed for d in runs[True]]
