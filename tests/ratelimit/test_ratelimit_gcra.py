"""GCRA against its definition, and against the token bucket where the two must agree."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sdcore.ratelimit import GCRA, TokenBucket, simulate

times = (
    st.lists(st.integers(0, 5_000_000), min_size=1, max_size=120)
    .map(sorted)
    .map(lambda xs: [x / 1e6 for x in xs])
)


def gcra_by_definition(ts, interval, tolerance):
    """The textbook virtual-scheduling form: conforming iff t >= TAT - tau; then TAT = max(TAT, t) + T."""
    tat, out = None, []
    for t in ts:
        t_us = round(t * 1e6)
        tat = t_us if tat is None else tat
        if t_us >= tat - tolerance:
            tat = max(tat, t_us) + interval
            out.append(True)
        else:
            out.append(False)
    return out


@given(times, st.sampled_from([1, 2, 4, 5, 8, 10, 20]), st.integers(1, 12))
@settings(max_examples=80)
def test_gcra_matches_the_virtual_scheduling_definition(ts, rate, burst):
    g = GCRA(rate, 1.0, burst=burst)
    interval = 1_000_000 // rate
    assert simulate(g, ts).allowed.tolist() == gcra_by_definition(ts, interval, (burst - 1) * interval)


@given(times, st.sampled_from([1, 2, 4, 5, 8, 10, 20, 50]), st.integers(1, 12))
@settings(max_examples=80)
def test_gcra_equals_token_bucket_when_the_interval_is_exact(ts, rate, burst):
    """With an emission interval of a whole number of microseconds dividing 10**12, GCRA(rate, 1 s, burst)
    and TokenBucket(burst, rate) make the same decisions with the same remaining and retry_after."""
    a = simulate(GCRA(rate, 1.0, burst=burst), ts)
    b = simulate(TokenBucket(burst, float(rate)), ts)
    assert a.allowed.tolist() == b.allowed.tolist()
    assert a.remaining.tolist() == b.remaining.tolist()
    np.testing.assert_array_equal(a.retry_after, b.retry_after)


@given(times, st.integers(1, 30), st.integers(1, 10))
@settings(max_examples=60)
def test_simulate_equals_a_loop_of_allow(ts, limit, burst):
    g = GCRA(limit, 2.0, burst=burst)
    sim = simulate(g, ts)
    fresh = GCRA(limit, 2.0, burst=burst)
    loop = [fresh.allow(t) for t in ts]
    assert sim.allowed.tolist() == [d.allowed for d in loop]
    assert sim.remaining.tolist() == [d.remaining for d in loop]
    assert [None if np.isnan(x) else x for x in sim.retry_after.tolist()] == [d.retry_after for d in loop]


def test_retry_after_is_exact():
    """A rejected request's retry_after is the first instant that conforms; one microsecond earlier does not."""
    g = GCRA(2, 1.0, burst=1)
    assert g.allow(0.0).allowed
    d = g.allow(0.1)
    assert not d.allowed and d.retry_after == pytest.approx(0.4)
    probe = GCRA(2, 1.0, burst=1)
    probe.allow(0.0)
    assert not probe.allow(0.499999).allowed
    again = GCRA(2, 1.0, burst=1)
    again.allow(0.0)
    assert again.allow(0.5).allowed


def test_bad_parameters():
    with pytest.raises(ValueError, match="limit must be at least 1"):
        GCRA(0, 1.0)
    with pytest.raises(ValueError, match="burst must be at least 1"):
        GCRA(5, 1.0, burst=0)
