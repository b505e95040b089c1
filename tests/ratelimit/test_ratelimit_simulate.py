"""``simulate`` equals a loop of ``allow``; per-client grouping; the state arrays and the time cursor."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sdcore.ratelimit import (
    FixedWindowCounter,
    LeakingBucket,
    LimiterSettings,
    SlidingWindowCounter,
    SlidingWindowLog,
    TokenBucket,
    simulate,
    state_at,
    state_curve,
)
from tests.ratelimit.ratelimit_helpers import US, any_limiter, decide_all, sorted_times, unsorted_times

clients = st.sampled_from(["alice", "bob", "carol"])


def assert_same_as_loop(limiter, times, keys=None):
    ds = decide_all(limiter, times, keys)
    r = simulate(limiter, times, keys)
    assert r.allowed.tolist() == [d.allowed for d in ds]
    assert r.remaining.tolist() == [d.remaining for d in ds]
    assert all(d.limit == r.limit for d in ds)
    expected_retry = [np.nan if d.retry_after is None else d.retry_after for d in ds]
    # Bit-identical floats, NaN where allowed.
    np.testing.assert_array_equal(r.retry_after, np.array(expected_retry, dtype=np.float64))
    if isinstance(limiter, LeakingBucket):
        expected_dep = [np.nan if d.departure is None else d.departure for d in ds]
        np.testing.assert_array_equal(r.departure, np.array(expected_dep, dtype=np.float64))
    else:
        assert r.departure is None
    return r


@settings(max_examples=300)
@given(limiter=any_limiter, data=st.data())
def test_simulate_equals_a_loop_of_allow(limiter, data):
    """For every algorithm, with several clients interleaved and clocks that may go backwards, simulate
    gives exactly the decisions, remaining, retry_after (and departures) of allow called in order."""
    times = data.draw(unsorted_times)
    keys = data.draw(st.lists(clients, min_size=len(times), max_size=len(times)))
    assert_same_as_loop(limiter, times, keys)


@settings(max_examples=100)
@given(limiter=any_limiter, times=sorted_times)
def test_simulate_single_client_equals_loop(limiter, times):
    """The same without keys (one client)."""
    assert_same_as_loop(limiter, times)


@pytest.mark.parametrize(
    "limiter",
    [
        TokenBucket(50, 40.3),
        LeakingBucket(20, 30.7),
        FixedWindowCounter(30, 1.0),
        SlidingWindowLog(30, 1.0),
        SlidingWindowLog(30, 1.0, log_rejected=False),
        SlidingWindowCounter(30, 1.0),
    ],
)
def test_simulate_equals_loop_on_a_long_overloaded_trace(limiter):
    """A 20,000-request Poisson trace at about 60/s (twice most limits) with 3 clients: exact match."""
    rng = np.random.default_rng(5)
    times = np.sort(rng.uniform(0, 100, 20_000)).round(6).tolist()
    keys = rng.choice(["a", "b", "c"], len(times)).tolist()
    r = assert_same_as_loop(limiter, times, keys)
    assert 0 < r.rejected < len(r)


@pytest.mark.parametrize(
    "limiter",
    [
        TokenBucket(2, 4.0),
        LeakingBucket(2, 4.0),
        FixedWindowCounter(3, 0.5),
        SlidingWindowLog(3, 0.5),
        SlidingWindowLog(3, 0.5, log_rejected=False),
        SlidingWindowCounter(3, 0.5),
    ],
)
@pytest.mark.parametrize("n", [40, 60, 400])
def test_simulate_equals_loop_on_window_boundaries(limiter, n):
    """Requests on a 1/8 s grid with repeats and two clients, sparse to dense: many pairs exactly one
    window (or one refill, one departure interval) apart, where an off-by-one in a half-open window would
    show (in a sparse trace the count is near the limit, so such a pair decides)."""
    rng = np.random.default_rng(n)
    times = (rng.integers(0, 40, n) / 8).tolist()
    keys = rng.choice(["a", "b"], len(times)).tolist()
    r = assert_same_as_loop(limiter, sorted(times), keys)
    assert 0 < r.rejected < len(r)
    assert_same_as_loop(limiter, times, keys)  # unsorted: clamped clocks on the grid too


def test_simulate_starts_fresh_and_leaves_the_limiter_alone():
    """simulate runs on a fresh copy of the configuration: it ignores the limiter's state and does not
    change it."""
    lim = FixedWindowCounter(1, 1.0)
    assert lim.allow(0.5).allowed
    assert simulate(lim, [0.6]).allowed.tolist() == [True]
    assert not lim.allow(0.7).allowed


def test_clients_are_independent_in_simulate():
    """Interleaving clients changes nothing for each of them."""
    rng = np.random.default_rng(1)
    times = np.sort(rng.uniform(0, 10, 2_000))
    keys = rng.choice(["x", "y"], len(times))
    lim = SlidingWindowCounter(5, 1.0)
    both = simulate(lim, times, keys)
    for k in ("x", "y"):
        alone = simulate(lim, times[keys == k])
        np.testing.assert_array_equal(both.allowed[keys == k], alone.allowed)
        np.testing.assert_array_equal(both.select(k).state, alone.state)


def test_empty_trace_and_bad_traces():
    r = simulate(TokenBucket(1, 1.0), [])
    assert len(r) == 0 and r.accepted == 0
    with pytest.raises(ValueError, match=r"request 1 has nan"):
        simulate(TokenBucket(1, 1.0), [0.0, float("nan")])
    with pytest.raises(ValueError, match=r"request 0 has -1.0; 1 bad in all"):
        simulate(TokenBucket(1, 1.0), [-1.0, 2.0])
    with pytest.raises(ValueError, match=r"3 keys for 2 timestamps"):
        simulate(TokenBucket(1, 1.0), [0.0, 1.0], ["a", "b", "c"])
    with pytest.raises(ValueError, match=r"shape \(2, 1\)"):
        simulate(TokenBucket(1, 1.0), [[0.0], [1.0]])
    with pytest.raises(ValueError, match="one of the limiters of sdcore.ratelimit"):
        simulate(object(), [0.0])


def test_result_arrays_are_read_only():
    r = simulate(FixedWindowCounter(1, 1.0), [0.0, 0.1])
    with pytest.raises(ValueError):
        r.allowed[0] = False


def test_state_arrays_hand_checked():
    """Token bucket of 2 at 1/s, requests at 0, 0, 0, 0.5: tokens after each are 1, 0, 0, 0.5; the
    leaking bucket (queue 1, 1/s) at 0, 0, 0 holds 0, 1, 1 waiting; the fixed window counts 1, 2, 2."""
    t = [0.0, 0.0, 0.0, 0.5]
    assert simulate(TokenBucket(2, 1.0), t).state.tolist() == [1.0, 0.0, 0.0, 0.5]
    assert simulate(LeakingBucket(1, 1.0), t[:3]).state.tolist() == [0.0, 1.0, 1.0]
    assert simulate(FixedWindowCounter(2, 1.0), t[:3]).state.tolist() == [1.0, 2.0, 2.0]
    # Textbook log of 2 per second at 0, 0, 0: 1, 2, 3 entries (the rejected one logged too).
    assert simulate(SlidingWindowLog(2, 1.0), t[:3]).state.tolist() == [1.0, 2.0, 3.0]
    assert simulate(SlidingWindowLog(2, 1.0, log_rejected=False), t[:3]).state.tolist() == [1.0, 2.0, 2.0]
    # Counter of 2 per second: 1 admitted in [0, 1); at 1.25 the estimate is 0 + 1 * 0.75, then + 1.
    assert simulate(SlidingWindowCounter(2, 1.0), [0.5, 1.25]).state.tolist() == [1.0, 1.75]


def test_state_goes_by_its_name_too():
    """result.tokens, .queue_length, .window_count, .log_size, .estimate are the state of that algorithm;
    asking a limiter for another's state is a clear error."""
    t = [0.0, 0.0]
    assert simulate(TokenBucket(2, 1.0), t).tokens.tolist() == [1.0, 0.0]
    assert simulate(LeakingBucket(2, 1.0), t).queue_length.tolist() == [0.0, 1.0]
    assert simulate(FixedWindowCounter(2, 1.0), t).window_count.tolist() == [1.0, 2.0]
    assert simulate(SlidingWindowLog(2, 1.0), t).log_size.tolist() == [1.0, 2.0]
    assert simulate(SlidingWindowCounter(2, 1.0), t).estimate.tolist() == [1.0, 2.0]
    with pytest.raises(AttributeError, match="tokens is kept only by the token bucket"):
        _ = simulate(FixedWindowCounter(2, 1.0), t).tokens


@settings(max_examples=60)
@given(limiter=any_limiter, times=sorted_times)
def test_state_curve_at_request_times_is_the_state_after_the_last_request(limiter, times):
    """The continuous state read at a request's time equals the stored state after the last request at
    that time (tokens to within the sub-micro-token carry)."""
    r = simulate(limiter, times)
    last_at_time = np.r_[np.diff(r.time_us) != 0, True]
    curve = state_curve(r, r.time_us / US)
    np.testing.assert_allclose(curve[last_at_time], r.state[last_at_time], atol=1e-6)


def test_state_at_moves_state_forward_in_time():
    """A cursor between requests: the token bucket has refilled, the queue drained, the window expired."""
    t = [0.0, 0.0, 0.0]
    tb = simulate(TokenBucket(3, 2.0), t)
    s = state_at(tb, 1.0)
    assert (s.value, s.accepted, s.rejected, s.last_index) == (2.0, 3, 0, 2)
    assert state_at(tb, 5.0).value == 3.0  # full, never beyond
    assert (
        state_at(tb, -0.0).value == 0.0 and state_at(simulate(TokenBucket(3, 2.0), [1.0]), 0.5).value == 3.0
    )
    lb = simulate(LeakingBucket(2, 1.0), t)  # departures 0, 1, 2
    assert [state_at(lb, x).value for x in (0.0, 0.5, 1.0, 1.5, 2.0)] == [2.0, 2.0, 1.0, 1.0, 0.0]
    fw = simulate(FixedWindowCounter(5, 1.0), t)
    assert (state_at(fw, 0.999999).value, state_at(fw, 1.0).value) == (3.0, 0.0)
    sl = simulate(SlidingWindowLog(5, 1.0), t)
    assert (state_at(sl, 0.999999).value, state_at(sl, 1.0).value) == (3.0, 0.0)
    sc = simulate(SlidingWindowCounter(5, 1.0), t)
    assert [state_at(sc, x).value for x in (0.5, 1.0, 1.25, 2.0)] == [3.0, 3.0, 2.25, 0.0]


def test_state_at_needs_a_client_when_there_are_several():
    r = simulate(FixedWindowCounter(2, 1.0), [0.0, 0.1], ["a", "b"])
    with pytest.raises(ValueError, match="this trace has 2 clients; pass key="):
        state_at(r, 0.5)
    assert state_at(r, 0.5, key="b").value == 1.0
    with pytest.raises(ValueError, match="client 'z' does not appear"):
        state_at(r, 0.5, key="z")


def test_simulate_is_fast_enough_for_the_page():
    """A smoke check of the vectorized and looped paths on 200,000 requests (the benchmark measures
    1,000,000): every limiter well under a second on this machine."""
    import time

    times = np.sort(np.random.default_rng(0).uniform(0, 200, 200_000))
    for lim in LimiterSettings(limit=900, window=1.0).limiters().values():
        start = time.perf_counter()
        simulate(lim, times)
        assert time.perf_counter() - start < 1.0, lim


def test_importing_the_engine_stays_light():
    """sdcore.ratelimit pulls in neither streamlit nor plotly (charts live in sdcore.charts), nor pandas,
    redis or limits."""
    import subprocess
    import sys

    code = "import sdcore.ratelimit, sys; print(sorted(set(sys.modules) & {'streamlit', 'plotly', 'pandas', 'redis', 'limits'}))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


# --- many clients, every algorithm, both edges of the sliding log ----------------------------------------

from sdcore.ratelimit import GCRA  # noqa: E402
from sdcore.ratelimit.simulate import Bins, bin_counts, time_step  # noqa: E402
from tests.ratelimit.ratelimit_helpers import SMALL, WINDOWS  # noqa: E402

every_limiter = st.one_of(
    any_limiter,
    st.builds(
        SlidingWindowLog,
        limit=SMALL,
        window=WINDOWS,
        log_rejected=st.booleans(),
        inclusive_edge=st.just(True),
    ),
    st.builds(GCRA, limit=SMALL, period=WINDOWS, burst=st.none() | SMALL),
)
many_clients_keys = st.integers(0, 24).map(lambda i: f"client-{i}")


@settings(max_examples=200)
@given(limiter=every_limiter, data=st.data())
def test_simulate_equals_a_loop_of_allow_with_many_clients(limiter, data):
    """With up to 25 clients interleaved (some sending one request, some bursts), unsorted clocks and
    both sliding-log edges, simulate equals allow called request by request, for every algorithm: the
    grouping by client and the skipping of clients no limit can touch change no decision, remaining,
    retry_after or departure."""
    times = data.draw(
        st.lists(
            st.one_of(st.integers(0, 4 * US), st.integers(0, 32).map(lambda k: k * US // 8)),
            min_size=1,
            max_size=120,
        ).map(lambda us: [u / US for u in us])
    )
    keys = data.draw(st.lists(many_clients_keys, min_size=len(times), max_size=len(times)))
    if data.draw(st.booleans()):
        order = np.argsort(times, kind="stable")
        times, keys = [times[i] for i in order], [keys[i] for i in order]
    assert_same_as_loop(limiter, times, keys)


@pytest.mark.parametrize(
    "limiter",
    [
        TokenBucket(3, 2.0),
        LeakingBucket(3, 2.0),
        FixedWindowCounter(3, 1.0),
        SlidingWindowLog(3, 1.0),
        SlidingWindowLog(3, 1.0, log_rejected=False),
        SlidingWindowLog(3, 1.0, log_rejected=False, inclusive_edge=True),
        SlidingWindowLog(3, 1.0, log_rejected=True, inclusive_edge=True),
        SlidingWindowCounter(3, 1.0),
        GCRA(3, 1.0),
    ],
)
def test_simulate_equals_loop_with_hundreds_of_clients_on_whole_seconds(limiter):
    """5,000 requests of 400 clients (Zipf-like: a few heavy, most light) on whole seconds, the access
    log case: exactly the loop's decisions, and some clients are limited while most are not."""
    rng = np.random.default_rng(11)
    w = 1 / np.arange(1, 401) ** 1.2
    codes = rng.choice(400, 5_000, p=w / w.sum())
    times = np.sort(rng.integers(0, 600, 5_000)).astype(float).tolist()
    keys = [f"10.0.0.{c}" for c in codes.tolist()]
    r = assert_same_as_loop(limiter, times, keys)
    limited = {k for k, ok in zip(keys, r.allowed.tolist(), strict=True) if not ok}
    assert 0 < len(limited) < len(set(keys)) / 2


def test_simulate_takes_integer_codes_and_categoricals_as_keys():
    """Integer client codes and a pandas Categorical give the same decisions as the same clients named by
    strings; result.keys holds the names as strings."""
    import pandas as pd

    rng = np.random.default_rng(2)
    times = np.sort(rng.uniform(0, 20, 3_000))
    codes = rng.integers(0, 50, len(times))
    names = np.array([f"c{c}" for c in codes], dtype=object)
    lim = SlidingWindowCounter(4, 1.0)
    by_name = simulate(lim, times, names)
    by_code = simulate(lim, times, codes)
    by_cat = simulate(lim, times, pd.Categorical(names))
    np.testing.assert_array_equal(by_name.allowed, by_code.allowed)
    np.testing.assert_array_equal(by_name.allowed, by_cat.allowed)
    assert by_code.keys[0] == str(codes[0]) and by_cat.keys.tolist() == names.tolist()


def test_keys_that_print_the_same_are_one_client():
    """allow() receives str(key): 1 and "1" are the same client in simulate too."""
    r = simulate(FixedWindowCounter(1, 1.0), [0.0, 0.1], np.array([1, "1"], dtype=object))
    assert r.allowed.tolist() == [True, False]


SPANS = [
    0.001,
    0.002,
    0.0037,
    0.01,
    0.25,
    1.0,
    7.0,
    59.9,
    200.0,
    201.0,
    3600.0,
    86_400.0,
    7 * 86_400.0,
    30 * 86_400.0,
]


@pytest.mark.parametrize("span", SPANS)
@pytest.mark.parametrize("lo", [0.0, 1234.5])
def test_time_step_gives_200_to_500_round_float_stops(span, lo):
    """From a millisecond to 30 days: a float step of 1, 2 or 5 x 10^k seconds with 200 to 500 stops
    (the issue's crash: an int step once the trace passed about 200 s)."""
    step = time_step(lo, lo + span)
    assert type(step) is float
    assert span / step * (1 + 1e-9) >= 200 and span / step <= 500 * (1 + 1e-9)
    mantissa = step / 10 ** np.floor(np.log10(step))
    assert min(abs(mantissa - m) for m in (1, 2, 5)) < 1e-9


def test_time_step_edges():
    assert time_step(5.0, 5.0) == 0.000001 and time_step(0.0, 0.00001) == 0.000001
    with pytest.raises(ValueError, match="hi must be at least lo"):
        time_step(2.0, 1.0)


@pytest.mark.parametrize("span", SPANS)
def test_bin_counts_counts_every_request_in_round_bins(span):
    """Binned admitted/rejected counts add up to the requests in [lo, hi], per bin equal to a direct
    count, with a round width and at most max_bins bins."""
    rng = np.random.default_rng(int(span * 1000) % 2**32)
    t = np.sort(rng.uniform(10.0, 10.0 + span, 5_000))
    ok = rng.random(5_000) < 0.7
    b = bin_counts(t, ok, 10.0, 10.0 + span, max_bins=300)
    assert isinstance(b, Bins) and 1 <= len(b) <= 300
    assert b.admitted.sum() == ok.sum() and b.rejected.sum() == (~ok).sum()
    mantissa = b.width / 10 ** np.floor(np.log10(b.width))
    assert min(abs(mantissa - m) for m in (1, 2, 5)) < 1e-9
    edges = b.edges
    inner = (t >= edges[3]) & (t < edges[4])
    assert b.admitted[3] == np.count_nonzero(inner & ok)


def test_bin_counts_leaves_out_requests_outside_the_range():
    b = bin_counts([0.0, 1.0, 2.0, 3.0], [True, False, True, True], 1.0, 2.0, max_bins=10)
    assert b.total.sum() == 2 and b.rejected.sum() == 1
