"""Strategies and reference loops shared by the rate-limit tests.

Times are built as whole microseconds and divided by 10**6, so that ``now + retry_after`` lands on the
intended microsecond after float rounding.
"""

from __future__ import annotations

import copy

import numpy as np
from hypothesis import strategies as st

from sdcore.ratelimit import (
    FixedWindowCounter,
    LeakingBucket,
    SlidingWindowCounter,
    SlidingWindowLog,
    TokenBucket,
)

US = 1_000_000

# Rates whose micro-unit representation is exact, and awkward ones (1/3 s, 3/s) that need rounding.
RATES = st.sampled_from([0.5, 1.0, 2.0, 2.5, 3.0, 10.0, 1 / 3])
WINDOWS = st.sampled_from([0.25, 0.5, 1.0, 1.5, 0.333333, 2.0])
SMALL = st.integers(1, 5)

token_buckets = st.builds(TokenBucket, capacity=SMALL, refill_rate=RATES)
leaking_buckets = st.builds(LeakingBucket, queue_size=SMALL, outflow_rate=RATES)
fixed_windows = st.builds(FixedWindowCounter, limit=SMALL, window=WINDOWS)
sliding_logs = st.builds(SlidingWindowLog, limit=SMALL, window=WINDOWS, log_rejected=st.booleans())
sliding_counters = st.builds(SlidingWindowCounter, limit=SMALL, window=WINDOWS)
any_limiter = st.one_of(token_buckets, leaking_buckets, fixed_windows, sliding_logs, sliding_counters)

# Arrival times in whole microseconds: either anywhere in [0, 4 s], or on a grid of 1/8 s (every window
# above is a multiple of it except 0.333333) so that requests exactly one window apart, where half-open
# and closed windows differ, come up often.
_us = st.one_of(st.integers(0, 4 * US), st.integers(0, 32).map(lambda k: k * US // 8))
# Sorted, with repeats.
sorted_times = st.lists(_us, min_size=1, max_size=60).map(sorted).map(lambda us: [u / US for u in us])
# Unsorted, with repeats: the clock may go backwards.
unsorted_times = st.lists(_us, min_size=1, max_size=60).map(lambda us: [u / US for u in us])


def decide_all(limiter, times, keys=None):
    """The reference: a fresh copy of ``limiter`` asked about each request in order."""
    fresh = copy.deepcopy(limiter)
    keys = keys if keys is not None else ["default"] * len(times)
    return [fresh.allow(t, k) for t, k in zip(times, keys, strict=True)]


def admitted_times(decisions, times) -> np.ndarray:
    return np.array([t for d, t in zip(decisions, times, strict=True) if d.allowed])


def brute_max_in_window(times, window: float) -> int:
    """Most times within any half-open window (t - window, t], by checking every end point, in
    microseconds like the limiters."""
    us = [round(t * US) for t in times]
    w = round(window * US)
    return max((sum(1 for u in us if end - w < u <= end) for end in us), default=0)
