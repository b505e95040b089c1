"""Cross-checks against the ``limits`` library (alisaifee/limits) with its in-memory storage and a frozen
clock, on traces where the two define the same thing.

Where the semantics differ, and how the traces avoid it:

- limits' fixed window starts at the first hit after the previous one expired, not at multiples of the
  window. On an *aligned* trace (a request exactly at every k * window) the windows coincide.
- limits' moving window counts a closed window [t - W, t]; ours is half-open (t - W, t]. They differ only
  when two requests are exactly one window apart: the traces use a grid of 3/64 s, on which no two times
  are a whole number of seconds apart. A separate test shows the difference.
- limits' sliding window counter reads the previous window as ``int((t - W) / W)``, which for t < W is
  the current window; the traces start at t = 1000 s. Its rule floor(w) + 1 > L is the same as w >= L.
- Times on a grid of 1/64 s are exact in binary floats and in microseconds, so neither side rounds.
"""

from __future__ import annotations

import types
from contextlib import contextmanager
from unittest import mock

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sdcore.ratelimit import FixedWindowCounter, SlidingWindowCounter, SlidingWindowLog, simulate

limits = pytest.importorskip("limits")
from limits.storage import MemoryStorage  # noqa: E402
from limits.storage import memory as limits_memory  # noqa: E402
from limits.strategies import (  # noqa: E402
    FixedWindowRateLimiter,
    MovingWindowRateLimiter,
    SlidingWindowCounterRateLimiter,
)

OFFSET = 1000.0


@contextmanager
def frozen_clock():
    """limits' MemoryStorage reads time.time() from its module: replace it with a settable clock."""
    clock = types.SimpleNamespace(now=0.0)
    with mock.patch.object(limits_memory, "time", types.SimpleNamespace(time=lambda: clock.now)):
        yield clock


def no_expiry_timer():
    """Switch off limits' background expiry (see the inclusive-edge test below)."""
    return mock.patch.object(MemoryStorage, "_MemoryStorage__expire_events", lambda self: None)


def limits_decisions(strategy_cls, limit, window, times):
    """limits' answers for one client, its clock set to each request's time in turn."""
    item = limits.RateLimitItemPerSecond(limit, window)
    with frozen_clock() as clock:
        strategy = strategy_cls(MemoryStorage())
        out = []
        for t in times:
            clock.now = t
            out.append(strategy.hit(item, "client"))
    return out


def aligned_trace(windows: int, extra: list[list[int]], window: int) -> list[float]:
    """A request at every k * window, plus grid points (1/64 s) inside each window."""
    times = []
    for k in range(windows):
        start = OFFSET + k * window
        times.append(start)
        times += [start + j / 64 for j in sorted(extra[k]) if 0 < j < 64 * window]
    return times


@settings(max_examples=40, deadline=None)
@given(
    limit=st.integers(1, 6),
    window=st.sampled_from([1, 2]),
    extra=st.lists(st.lists(st.integers(1, 127), max_size=15), min_size=6, max_size=6),
)
def test_fixed_window_matches_limits_on_an_aligned_trace(limit, window, extra):
    """Same admitted requests as limits' FixedWindowRateLimiter when every window opens with a request."""
    times = aligned_trace(6, extra, window)
    theirs = limits_decisions(FixedWindowRateLimiter, limit, window, times)
    assert simulate(FixedWindowCounter(limit, float(window)), times).allowed.tolist() == theirs


@settings(max_examples=40, deadline=None)
@given(
    limit=st.integers(1, 6),
    window=st.sampled_from([1, 2]),
    steps=st.lists(st.integers(0, 200), min_size=1, max_size=80).map(sorted),
)
def test_sliding_log_matches_limits_moving_window(limit, window, steps):
    """Same decisions as limits' MovingWindowRateLimiter (which logs admitted requests only) on a grid
    of 3/64 s, where no two requests are exactly one window apart."""
    times = [OFFSET + 3 * s / 64 for s in steps]
    theirs = limits_decisions(MovingWindowRateLimiter, limit, window, times)
    ours = simulate(SlidingWindowLog(limit, float(window), log_rejected=False), times)
    assert ours.allowed.tolist() == theirs


def test_moving_window_boundary_differs_as_documented():
    """1 per second at 1000.0 and 1001.0: the first request has left our half-open window, but is still
    inside limits' closed one."""
    times = [OFFSET, OFFSET + 1.0]
    assert limits_decisions(MovingWindowRateLimiter, 1, 1, times) == [True, False]
    assert simulate(SlidingWindowLog(1, 1.0, log_rejected=False), times).allowed.tolist() == [True, True]


@settings(max_examples=40, deadline=None)
@given(
    limit=st.integers(1, 8),
    window=st.sampled_from([1, 2]),
    steps=st.lists(st.integers(0, 400), min_size=1, max_size=100).map(sorted),
)
def test_sliding_window_counter_matches_limits(limit, window, steps):
    """Same decisions as limits' SlidingWindowCounterRateLimiter on a 1/64 s grid (exact on both sides,
    ties included: an estimate exactly at the limit is rejected by both)."""
    times = [OFFSET + s / 64 for s in steps]
    theirs = limits_decisions(SlidingWindowCounterRateLimiter, limit, window, times)
    assert simulate(SlidingWindowCounter(limit, float(window)), times).allowed.tolist() == theirs


@settings(max_examples=60, deadline=None)
@given(
    limit=st.integers(1, 5),
    window=st.sampled_from([1, 2]),
    seconds=st.lists(st.integers(0, 30), min_size=2, max_size=80).map(sorted),
)
def test_inclusive_edge_log_matches_limits_moving_window_on_whole_seconds(limit, window, seconds):
    """On whole-second timestamps (an access log's), SlidingWindowLog(inclusive_edge=True) decides exactly
    as limits' MovingWindowRateLimiter, whose window [t - W, t] keeps an entry exactly W old.

    limits' MemoryStorage also drops expired entries from a background timer every 10 ms of real time,
    and that timer drops an entry exactly W old (expiry <= now), which acquire_entry would still count:
    with a frozen clock its decisions at the edge then depend on when the thread runs. The timer is
    switched off here, so limits decides by its acquire_entry rule alone."""
    times = [OFFSET + s for s in seconds]
    with no_expiry_timer():
        theirs = limits_decisions(MovingWindowRateLimiter, limit, window, times)
    ours = simulate(SlidingWindowLog(limit, float(window), log_rejected=False, inclusive_edge=True), times)
    assert ours.allowed.tolist() == theirs


def test_the_default_edge_disagrees_with_limits_on_whole_seconds():
    """The same kind of trace, where the half-open default does not agree: 2 per second, two requests in
    each of three consecutive seconds. limits (and inclusive_edge) reject the second pair, which shares a
    closed window with the first; the default admits all six, like a fixed window of one second."""
    times = [OFFSET, OFFSET, OFFSET + 1, OFFSET + 1, OFFSET + 2, OFFSET + 2]
    with no_expiry_timer():
        theirs = limits_decisions(MovingWindowRateLimiter, 2, 1, times)
    closed = simulate(
        SlidingWindowLog(2, 1.0, log_rejected=False, inclusive_edge=True), times
    ).allowed.tolist()
    default = simulate(SlidingWindowLog(2, 1.0, log_rejected=False), times).allowed.tolist()
    assert closed == theirs == [True, True, False, False, True, True]
    assert default == [True] * 6 != theirs
