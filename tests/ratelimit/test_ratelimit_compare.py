"""The comparison helpers: max admitted in any window, the side-by-side table."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sdcore.ratelimit import (
    LimiterSettings,
    SlidingWindowCounter,
    boundary_burst,
    compare_limiters,
    many_clients,
    max_admitted_in_window,
    max_admitted_per_client,
    simulate,
)
from tests.ratelimit.ratelimit_helpers import US, brute_max_in_window


@settings(max_examples=200)
@given(
    us=st.lists(st.integers(0, 3 * US), max_size=40),
    window=st.sampled_from([0.1, 0.5, 1.0, 0.333333]),
)
def test_max_admitted_in_window_matches_brute_force(us, window):
    """searchsorted over sorted times = counting every window that ends on a request; input order does
    not matter."""
    times = [u / US for u in us]
    assert max_admitted_in_window(times, window) == brute_max_in_window(times, window)


def test_max_admitted_in_window_is_half_open():
    assert max_admitted_in_window([0.0, 1.0], 1.0) == 1
    assert max_admitted_in_window([0.0, 0.999999], 1.0) == 2
    assert max_admitted_in_window([], 1.0) == 0
    with pytest.raises(ValueError, match="window must be between"):
        max_admitted_in_window([1.0], 0.0)


def test_comparison_on_the_boundary_burst_worked_by_hand():
    """10 per second; 10 requests at 0.90..0.99 and 10 at 1.00..1.09 (step 0.01).
    - fixed window: all 20 admitted, 20 in one window (the 2x problem);
    - both sliding logs: the first 10 only (every later window still holds them);
    - counter: at 1.01 the estimate is 0 + 10 x 0.99 = 9.9 < 10, so 11 admitted, 11 in (0.01, 1.01];
    - token bucket (10 tokens, 10/s): 10 tokens, plus 0.9 refilled by 0.99 and 1.0 at 1.00: 11;
    - leaking bucket (queue 10, one per 0.1 s): 0.90 served at once, 0.91..0.99 wait (leave 1.0..1.8),
      1.00 and 1.01 fit as 1.00 leaves: 12 admitted, the last leaving at 2.0, a wait of 0.99 s.
    The counter differs from each log on one request of 20 (1.01)."""
    tr = boundary_burst(10, 1.0)
    c = compare_limiters(tr.timestamps, settings=LimiterSettings(limit=10, window=1.0))
    table = {r.name: (r.accepted, r.rejected, r.max_in_window) for r in c.rows}
    assert table == {
        "token_bucket": (11, 9, 11),
        "leaking_bucket": (12, 8, 12),
        "fixed_window": (20, 0, 20),
        "sliding_log": (10, 10, 10),
        "sliding_log_admitted_only": (10, 10, 10),
        "sliding_window_counter": (11, 9, 11),
        "gcra": (11, 9, 11),  # the token bucket's decisions: interval 0.1 s, burst 10
    }
    lb = c.row("leaking_bucket")
    assert lb.max_delay == pytest.approx(0.99)
    assert c.row("fixed_window").mean_delay is None
    assert c.row("sliding_log").differs_from_counter == pytest.approx(1 / 20)
    assert c.row("sliding_log_admitted_only").differs_from_counter == pytest.approx(1 / 20)
    assert c.row("sliding_window_counter").differs_from_counter is None
    # State per client: fixed counters are a few numbers; the textbook log held all 20 requests.
    assert c.row("fixed_window").state_bytes == 16
    assert c.row("sliding_log").state_numbers == 21
    assert c.row("sliding_log_admitted_only").state_numbers == 11
    frame = c.to_frame()
    assert frame.loc["fixed_window", "max_in_window"] == 20 and len(frame) == 7
    with pytest.raises(ValueError, match="no limiter named 'nope'"):
        c.row("nope")


def test_per_client_maximum_with_many_clients():
    """The worst client's busiest window equals the per-client brute force; the logs keep the limit for
    every client while the abuser is cut down."""
    tr = many_clients(8, 3.0, 40.0, 20.0, rng=4)
    c = compare_limiters(tr.timestamps, tr.keys, LimiterSettings(limit=5, window=1.0))
    for name in ("sliding_log", "sliding_log_admitted_only", "fixed_window"):
        r = c.results[name]
        worst = max(
            brute_max_in_window((r.time_us[r.allowed & (r.keys == k)] / US).tolist(), 1.0)
            for k in r.clients()
        )
        assert max_admitted_per_client(r, 1.0) == worst
    assert c.row("sliding_log").max_in_window == 5
    abuser = c.results["sliding_log_admitted_only"].select("abuser")
    assert abuser.rejected > abuser.accepted


def test_settings_defaults_and_validation():
    lims = LimiterSettings(limit=6, window=2.0).limiters()
    assert lims["token_bucket"].capacity == 6 and lims["token_bucket"].refill_rate == 3.0
    assert lims["leaking_bucket"].queue_size == 6 and lims["leaking_bucket"].outflow_rate == 3.0
    assert LimiterSettings(capacity=3).limiters()["token_bucket"].capacity == 3
    with pytest.raises(ValueError, match=r"limit must be at least 1 \(got 0\)"):
        LimiterSettings(limit=0)
    with pytest.raises(ValueError, match=r"outflow_rate must be between"):
        LimiterSettings(outflow_rate=-1.0)


def test_counter_can_exceed_the_limit_that_the_log_keeps():
    """The counter's estimate assumes the previous window's requests were spread evenly; when they all
    came at its end, more than the limit fit in one rolling window (measured, not assumed)."""
    r = simulate(SlidingWindowCounter(10, 1.0), boundary_burst(10, 1.0).timestamps)
    assert max_admitted_per_client(r, 1.0) > 10
    # yet every admitted request had an estimate below the limit (state counts it: subtract 1)
    assert np.all(r.state[r.allowed] - 1 < 10)
    assert np.all(r.state[~r.allowed] >= 10)
