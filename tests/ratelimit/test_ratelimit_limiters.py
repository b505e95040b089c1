"""The five limiters: invariants, hand-worked examples, honest retry_after, clamped clocks, bad input."""

from __future__ import annotations

import copy
import math
import pickle

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sdcore.ratelimit import (
    ROUNDING_NOTE,
    Decision,
    FixedWindowCounter,
    LeakingBucket,
    MemoryStore,
    SlidingWindowCounter,
    SlidingWindowLog,
    TokenBucket,
    counter_estimate,
    max_admitted_in_window,
    simulate,
)
from tests.ratelimit.ratelimit_helpers import (
    RATES,
    SMALL,
    US,
    WINDOWS,
    admitted_times,
    any_limiter,
    brute_max_in_window,
    decide_all,
    sorted_times,
)

# --- token bucket ---------------------------------------------------------------------------------------


def test_token_bucket_starts_full_and_refills_at_its_rate():
    """A bucket of 3 tokens refilled at 2/s admits a burst of 3 at t=0, then one token every 0.5 s."""
    b = TokenBucket(capacity=3, refill_rate=2.0)
    assert [b.allow(0.0).allowed for _ in range(4)] == [True, True, True, False]
    d = b.allow(0.0)
    assert d == Decision(False, 3, 0, 0.5)
    assert not b.allow(0.499999).allowed
    assert b.allow(0.5) == Decision(True, 3, 0, None)
    assert b.allow(10.0).remaining == 2  # refilled to the capacity, not beyond: 3 - 1


@settings(max_examples=150)
@given(capacity=SMALL, rate=st.sampled_from([0.5, 1.0, 2.0, 2.5, 10.0]), times=sorted_times)
def test_token_bucket_never_admits_more_than_capacity_plus_rate_times_t(capacity, rate, times):
    """In any closed interval of length t, a token bucket admits at most capacity + refill_rate * t
    requests (the tightest intervals start and end on admitted requests, so checking those suffices)."""
    a = admitted_times(decide_all(TokenBucket(capacity, rate), times), times)
    for i in range(len(a)):
        for j in range(i, len(a)):
            assert j - i + 1 <= capacity + rate * (a[j] - a[i]) + 1e-9


def test_token_bucket_loses_no_refill_to_rounding_under_hammering():
    """500.5 tokens/s is 500.5 micro-tokens per microsecond. A client asking every microsecond must get
    its next token after ceil(10**12 / 500_500_000) = 1999 µs; rounding each refill down to whole
    micro-tokens would give 500 per µs and make it wait 2000 µs. At 1.5 tokens/s the gap is wider:
    666,667 µs exactly, against 1,000,000 µs if each microsecond's half micro-token were dropped."""
    b = TokenBucket(capacity=1, refill_rate=500.5)
    assert b.allow(0.0).allowed
    first = next(u for u in range(1, 2100) if b.allow(u / US).allowed)
    assert first == 1999

    hammer = np.arange(0, 700_000) / US
    r = simulate(TokenBucket(capacity=1, refill_rate=1.5), hammer)
    assert np.flatnonzero(r.allowed).tolist() == [0, 666_667]


# --- leaking bucket -------------------------------------------------------------------------------------


def test_leaking_bucket_burst_on_an_idle_bucket():
    """Queue of 3 drained at 1/s, 10 requests at t=0: the first is served at once, 3 wait (served at
    1, 2, 3 s), the other 6 are rejected and told to come back when the first waiting one leaves."""
    b = LeakingBucket(queue_size=3, outflow_rate=1.0)
    ds = [b.allow(0.0) for _ in range(10)]
    assert [d.allowed for d in ds] == [True] * 4 + [False] * 6
    assert [d.departure for d in ds[:4]] == [0.0, 1.0, 2.0, 3.0]
    assert [d.remaining for d in ds[:4]] == [3, 2, 1, 0]
    assert all(d.departure is None and d.retry_after == 1.0 for d in ds[4:])
    assert b.allow(1.0).departure == 4.0  # the request served at 1 s made room


@settings(max_examples=150)
@given(queue=SMALL, rate=RATES, times=sorted_times)
def test_leaking_bucket_invariants(queue, rate, times):
    """Recomputed from the decisions alone: departure_i = max(arrival_i, previous departure + 1/rate)
    (so served in arrival order and never faster than the outflow rate), never more than queue_size
    waiting, and a request is rejected only when exactly queue_size are waiting (admits whenever room)."""
    ds = decide_all(LeakingBucket(queue, rate), times)
    interval = math.ceil(US / rate) / US  # the interval, rounded up to a whole microsecond
    arrivals, departures = [], []
    for t, d in zip(times, ds, strict=True):
        waiting = sum(1 for a, dep in zip(arrivals, departures, strict=True) if a <= t < dep)
        if d.allowed:
            expected = t if not departures else max(t, departures[-1] + interval)
            assert d.departure == pytest.approx(expected, abs=1e-9)
            assert waiting < queue
            arrivals.append(t)
            departures.append(d.departure)
            now_waiting = sum(1 for a, dep in zip(arrivals, departures, strict=True) if a <= t < dep)
            assert now_waiting <= queue
        else:
            assert waiting == queue
    assert np.all(np.diff(departures) >= 1 / rate - 1e-9)


# --- fixed window ---------------------------------------------------------------------------------------


def test_fixed_window_admits_twice_the_limit_across_a_boundary():
    """5 per second: 5 requests in [0.95, 0.99] and 5 in [1.00, 1.04] are all admitted, though all 10
    fall within 0.09 s: the fixed window's 2x problem."""
    w = FixedWindowCounter(limit=5, window=1.0)
    times = [0.95, 0.96, 0.97, 0.98, 0.99, 1.00, 1.01, 1.02, 1.03, 1.04]
    assert all(w.allow(t).allowed for t in times)
    assert max_admitted_in_window(times, 1.0) == 10
    d = w.allow(1.05)
    assert not d.allowed and d.retry_after == pytest.approx(0.95)


@settings(max_examples=150)
@given(limit=SMALL, window=WINDOWS, times=sorted_times)
def test_fixed_window_bounds(limit, window, times):
    """At most `limit` admitted in each aligned window [k*W, (k+1)*W), hence at most 2*limit in any
    sliding window of length W; and a request is rejected only when its window already has `limit`."""
    ds = decide_all(FixedWindowCounter(limit, window), times)
    w_us = round(window * US)
    per_window: dict[int, int] = {}
    for t, d in zip(times, ds, strict=True):
        k = round(t * US) // w_us
        assert d.allowed == (per_window.get(k, 0) < limit)
        per_window[k] = per_window.get(k, 0) + d.allowed
    assert max_admitted_in_window(admitted_times(ds, times), window) <= 2 * limit


# --- sliding window log ---------------------------------------------------------------------------------


@settings(max_examples=150)
@given(limit=SMALL, window=WINDOWS, times=sorted_times, log_rejected=st.booleans())
def test_sliding_log_never_admits_more_than_the_limit_in_any_window(limit, window, times, log_rejected):
    """No half-open window (t - W, t] ever holds more than `limit` admitted requests, in both variants;
    and the variant that logs only admitted requests rejects only when the window is really full."""
    ds = decide_all(SlidingWindowLog(limit, window, log_rejected=log_rejected), times)
    a = admitted_times(ds, times)
    assert brute_max_in_window(a, window) <= limit
    if not log_rejected:
        w_us = round(window * US)
        for i, (t, d) in enumerate(zip(times, ds, strict=True)):
            earlier = admitted_times(ds[:i], times[:i])
            in_window = sum(1 for u in earlier if round(t * US) - w_us < round(u * US))
            assert d.allowed == (in_window < limit)


def test_textbook_log_keeps_a_hammering_client_blocked():
    """2 per second, a request every 0.4 s. Logging rejected requests (textbook) blocks the client for
    good once it is over the limit; logging only admitted ones lets it through whenever the window has
    room. Worked by hand: at 1.2 the window (0.2, 1.2] holds 0.4 (admitted) and 0.8 (rejected, logged),
    so the textbook rejects; with only admitted requests logged it holds 0.4 alone: admitted. Then the
    library variant sees {1.2} at 1.6 (admit), {1.2, 1.6} at 2.0 (reject), {1.6} at 2.4 (admit)."""
    times = [0.0, 0.4, 0.8, 1.2, 1.6, 2.0, 2.4]
    textbook = SlidingWindowLog(2, 1.0, log_rejected=True)
    library = SlidingWindowLog(2, 1.0, log_rejected=False)
    assert [textbook.allow(t).allowed for t in times] == [True, True, False, False, False, False, False]
    assert [library.allow(t).allowed for t in times] == [True, True, False, True, True, False, True]


def test_sliding_log_window_is_half_open():
    """An entry exactly one window old has expired: (now - W, now]. With 1 per second and a request at
    5.0, one at 5.999999 is rejected; the library variant may retry 1 µs later (at 6.0, when 5.0 leaves),
    the textbook one must also wait for its own logged rejection at 5.999999 to leave: 1 s."""
    library = SlidingWindowLog(1, 1.0, log_rejected=False)
    assert library.allow(5.0).allowed
    d = library.allow(5.999999)
    assert not d.allowed and d.retry_after == pytest.approx(0.000001)
    assert library.allow(6.0).allowed

    textbook = SlidingWindowLog(1, 1.0, log_rejected=True)
    assert textbook.allow(5.0).allowed
    d = textbook.allow(5.999999)
    assert not d.allowed and d.retry_after == pytest.approx(1.0)
    assert not textbook.allow(6.0).allowed


def test_sliding_log_inclusive_edge_counts_the_entry_one_window_old():
    """inclusive_edge=True: the window is [now - W, now]. With 1 per second and a request at 5.0, one at
    6.0 is rejected (5.0 still counts), with an honest retry of 1 µs (5.0 leaves once strictly more than
    one second old); at 6.000001 it is admitted. The default admits at 6.0."""
    closed = SlidingWindowLog(1, 1.0, log_rejected=False, inclusive_edge=True)
    assert closed.allow(5.0).allowed
    d = closed.allow(6.0)
    assert not d.allowed and d.retry_after == pytest.approx(0.000001)
    assert closed.allow(6.000001).allowed
    assert SlidingWindowLog(1, 1.0, log_rejected=False).allow(5.0).allowed
    half_open = SlidingWindowLog(1, 1.0, log_rejected=False)
    assert [half_open.allow(t).allowed for t in (5.0, 6.0)] == [True, True]
    assert "edge included" in closed.label and closed.params["inclusive_edge"] == 1


@settings(max_examples=100)
@given(
    limit=st.integers(1, 4),
    seconds=st.lists(st.integers(0, 12), min_size=1, max_size=40).map(sorted),
    log_rejected=st.booleans(),
)
def test_inclusive_log_never_admits_more_than_the_limit_in_any_closed_window(limit, seconds, log_rejected):
    """With inclusive_edge, no closed window [t - W, t] (W = 1 s, whole-second times) holds more than
    limit admitted requests; the half-open default only guarantees it for (t - W, t], and on whole
    seconds behaves like a fixed window of one second."""
    closed = SlidingWindowLog(limit, 1.0, log_rejected=log_rejected, inclusive_edge=True)
    admitted = [t for t in seconds if closed.allow(float(t)).allowed]
    for end in set(seconds):
        assert sum(1 for t in admitted if end - 1 <= t <= end) <= limit
    half_open = SlidingWindowLog(limit, 1.0, log_rejected=False)
    fixed = FixedWindowCounter(limit, 1.0)
    assert [half_open.allow(float(t)).allowed for t in seconds] == [
        fixed.allow(float(t)).allowed for t in seconds
    ]


def test_make_limiter_passes_the_edge_to_the_log():
    from sdcore.ratelimit.limiters import make_limiter

    assert make_limiter("sliding_log", 5, 1.0, inclusive_edge=True).inclusive_edge
    assert not make_limiter("sliding_log", 5, 1.0).inclusive_edge
    with pytest.raises(ValueError, match="inclusive_edge must be True or False"):
        SlidingWindowLog(1, 1.0, inclusive_edge=1)


# --- sliding window counter -----------------------------------------------------------------------------


def test_sliding_window_counter_reproduces_cloudflares_example():
    """50 per minute; 42 admitted in the previous minute, 18 so far in this one; 15 s into the minute
    the estimate is 18 + 42 * 45/60 = 49.5 < 50: admitted. The next one (50.5) is rejected and can retry
    when 42 * (60 - e)/60 < 50 - 19, i.e. e > 60 - 31*60/42 = 15.714286 s (to the microsecond)."""
    c = SlidingWindowCounter(limit=50, window=60.0)
    assert all(c.allow(float(t)).allowed for t in range(1, 43))
    assert all(c.allow(73.0 + i * 0.1).allowed for i in range(18))
    d = c.allow(75.0)
    assert d.allowed and d.remaining == 0  # 50.5 after counting it: floor is 50, nothing left
    d = c.allow(75.0)
    assert not d.allowed
    exact = 60 - 31 * 60 / 42
    assert d.retry_after == pytest.approx(math.ceil(exact * US) / US - 15.0, abs=1e-9)


def test_counter_estimate_and_rounding():
    """Cloudflare (42 x 0.75 + 18 = 49.5 of 50) and the textbook (5 x 0.7 + 3 = 6.5 of 7): admitted
    unrounded and rounded down, rejected if rounded up."""
    for prev, cur, overlap, limit, est in ((42, 18, 0.75, 50, 49.5), (5, 3, 0.7, 7, 6.5)):
        e = counter_estimate(prev, cur, overlap, limit)
        assert e.estimate == pytest.approx(est)
        assert (e.allowed, e.allowed_if_rounded_down, e.allowed_if_rounded_up) == (True, True, False)
        assert e.rounding_matters
    assert not counter_estimate(10, 0, 0.5, 7).rounding_matters  # 5.0: a whole number, no effect
    assert "49.5" in ROUNDING_NOTE


@given(prev=st.integers(0, 100), cur=st.integers(0, 100), overlap=st.floats(0, 1), limit=st.integers(1, 100))
def test_rounding_down_never_changes_the_decision(prev, cur, overlap, limit):
    """floor(x) < L iff x < L for a whole number L; ceil can only reject more."""
    e = counter_estimate(prev, cur, overlap, limit)
    assert e.allowed_if_rounded_down == e.allowed
    assert e.allowed or not e.allowed_if_rounded_up


def test_counter_at_a_boundary_counts_the_whole_previous_window():
    """1 per second, admitted at 1.5. At exactly 2.0 the rolling window (1, 2] lies wholly in the previous
    fixed window, so the estimate is 1: rejected; one microsecond later it is just under 1."""
    c = SlidingWindowCounter(1, 1.0)
    assert c.allow(1.5).allowed
    d = c.allow(2.0)
    assert not d.allowed and d.retry_after == pytest.approx(0.000001)
    assert c.allow(2.000001).allowed


# --- retry_after is honest, for every limiter -----------------------------------------------------------


@settings(max_examples=120)
@given(limiter=any_limiter, times=sorted_times, extra=st.integers(1, 8))
def test_retry_after_is_honest(limiter, times, extra):
    """For every rejected request: retrying at now + retry_after with nothing else arriving succeeds,
    and retrying one microsecond earlier fails. (The trace ends with a burst so rejections happen.)"""
    times = times + [times[-1]] * extra
    live = copy.deepcopy(limiter)
    for t in times:
        d = live.allow(t)
        if d.allowed:
            assert d.retry_after is None
            continue
        retry_us = round(d.retry_after * US)
        assert retry_us >= 1
        now_us = round(t * US)
        on_time, early = copy.deepcopy(live), copy.deepcopy(live)
        assert on_time.allow((now_us + retry_us) / US).allowed
        assert not early.allow((now_us + retry_us - 1) / US).allowed


# --- the clock going backwards --------------------------------------------------------------------------


@pytest.mark.parametrize(
    "limiter, first, late, expected",
    [
        # capacity 1, 1/s: after a token taken at 10, a request stamped 5 is judged at 10: 1 s to wait.
        (TokenBucket(1, 1.0), [10.0], 5.0, Decision(False, 1, 0, 1.0)),
        # 1 per second, admitted at 1.5: a request stamped 0.5 counts in window [1, 2), not [0, 1).
        (FixedWindowCounter(1, 1.0), [1.5], 0.5, Decision(False, 1, 0, 0.5)),
        (SlidingWindowLog(1, 1.0), [2.0], 1.0, Decision(False, 1, 0, 1.0)),
        # queue 1 at 1/s: served at 5, next departs 6; stamped 3 it is judged at 5: retry when 6 leaves.
        (LeakingBucket(1, 1.0), [5.0, 5.0], 3.0, Decision(False, 1, 0, 1.0)),
        # judged at 1.5 (not 0.9): the next admission is 1 µs after the window boundary at 2.
        (SlidingWindowCounter(1, 1.0), [1.5], 0.9, Decision(False, 1, 0, 0.500001)),
    ],
)
def test_a_clock_going_backwards_is_treated_as_the_last_time_seen(limiter, first, late, expected):
    """A `now` earlier than the last one seen for the client is treated as the last one."""
    for t in first:
        assert limiter.allow(t).allowed
    d = limiter.allow(late)
    assert (d.allowed, d.limit, d.remaining) == (expected.allowed, expected.limit, expected.remaining)
    assert d.retry_after == pytest.approx(expected.retry_after, abs=1e-9)


# --- decisions, headers, stores -------------------------------------------------------------------------


def test_decision_headers():
    """429-style headers: Retry-After in whole seconds, rounded up; none when allowed."""
    assert Decision(False, 10, 0, 0.2).headers() == {
        "X-RateLimit-Limit": "10",
        "X-RateLimit-Remaining": "0",
        "Retry-After": "1",
    }
    assert "Retry-After" not in Decision(True, 10, 9, None).headers()


def test_keys_are_independent_and_a_shared_store_is_one_limit():
    """Two clients do not share a quota; two limiters (two servers) on one store do, per client."""
    store = MemoryStore()
    server_a, server_b = FixedWindowCounter(2, 1.0, store=store), FixedWindowCounter(2, 1.0, store=store)
    assert server_a.allow(0.1, "alice").allowed and server_b.allow(0.2, "alice").allowed
    assert not server_a.allow(0.3, "alice").allowed
    assert server_b.allow(0.3, "bob").allowed
    assert store.peek("fixed_window", "alice") == (300_000, 2)
    assert store.peek("fixed_window", "carol") is None
    # Different algorithms on one store keep separate state for the same client.
    assert TokenBucket(1, 1.0, store=store).allow(0.4, "alice").allowed


def test_limiters_copy_and_pickle_with_their_state():
    """A limiter (with its in-memory store and lock) can be deep-copied and pickled; the copy has the
    same state and then lives on its own."""
    b = TokenBucket(1, 1.0)
    b.allow(0.0)
    for twin in (copy.deepcopy(b), pickle.loads(pickle.dumps(b))):
        assert not twin.allow(0.5).allowed
        assert twin.allow(1.0).allowed
    assert not b.allow(0.5).allowed


def test_only_the_leaking_bucket_reports_a_departure():
    for lim in (
        TokenBucket(1, 1.0),
        FixedWindowCounter(1, 1.0),
        SlidingWindowLog(1, 1.0),
        SlidingWindowCounter(1, 1.0),
    ):
        assert lim.allow(0.0).departure is None
    assert LeakingBucket(1, 1.0).allow(0.0).departure == 0.0


# --- bad input ------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "make, message",
    [
        (lambda: TokenBucket(0, 1.0), "capacity must be at least 1 (got 0)"),
        (lambda: TokenBucket(2.5, 1.0), "capacity must be a whole number of tokens (got 2.5)"),
        (lambda: TokenBucket(True, 1.0), "capacity must be a whole number of tokens (got True)"),
        (lambda: TokenBucket(2_000_000, 1.0), "capacity must be at most 1,000,000 (got 2000000)"),
        (
            lambda: TokenBucket(5, 0),
            "refill_rate must be between 0.000001 and 1,000,000 tokens per second (got 0)",
        ),
        (
            lambda: TokenBucket(5, float("nan")),
            "refill_rate must be a finite number of tokens per second (got nan)",
        ),
        (lambda: TokenBucket(5, "fast"), "refill_rate must be a number of tokens per second (got 'fast')"),
        (lambda: LeakingBucket(0, 1.0), "queue_size must be at least 1 (got 0)"),
        (
            lambda: LeakingBucket(3, -2.0),
            "outflow_rate must be between 0.000001 and 1,000,000 requests per second (got -2.0)",
        ),
        (lambda: FixedWindowCounter(-1, 1.0), "limit must be at least 1 (got -1)"),
        (
            lambda: FixedWindowCounter(3, 0.0),
            "window must be between 0.000001 and 1,000,000 seconds (got 0.0)",
        ),
        (
            lambda: SlidingWindowLog(3, 1.0, log_rejected="yes"),
            "log_rejected must be True or False (got 'yes')",
        ),
        (
            lambda: SlidingWindowCounter(3, float("inf")),
            "window must be a finite number of seconds (got inf)",
        ),
        (lambda: TokenBucket(1, 1.0, store={}), "store must be a Store such as MemoryStore() (got {})"),
        (
            lambda: TokenBucket(1, 1.0).allow(-1.0),
            "now must be between 0 and 9,000,000,000 seconds (got -1.0)",
        ),
        (
            lambda: FixedWindowCounter(1, 1.0).allow(float("nan")),
            "now must be a finite number of seconds (got nan)",
        ),
        (lambda: counter_estimate(1, 1, 1.5, 5), "overlap must be a share between 0 and 1 (got 1.5)"),
        (
            lambda: counter_estimate(-1, 1, 0.5, 5),
            "previous_count must be a whole number of requests, 0 or more (got -1)",
        ),
    ],
)
def test_bad_parameters_say_what_is_wrong(make, message):
    """Each error names the parameter, the value and the allowed range."""
    with pytest.raises(ValueError) as e:
        make()
    assert str(e.value) == message


def test_whole_floats_are_accepted_as_counts():
    """A slider may hand over 5.0 for a count."""
    assert TokenBucket(5.0, 1).capacity == 5
    assert isinstance(TokenBucket(np.int64(5), 1).capacity, int)
