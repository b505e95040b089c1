"""Back-off with jitter, and the retry budget's cap."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from sdcore.resilience import JITTERS, RetryBudget, RetryBudgetConfig, RetryPolicy


def test_backoff_doubles_up_to_the_cap():
    p = RetryPolicy(max_retries=6, base_delay=0.1, multiplier=2.0, max_delay=1.0, jitter="none")
    assert [p.delay(k, 0.5) for k in range(1, 7)] == pytest.approx([0.1, 0.2, 0.4, 0.8, 1.0, 1.0])


@given(attempt=st.integers(1, 10), u=st.floats(0, 1, exclude_max=True))
def test_jitter_stays_within_its_range(attempt, u):
    """Full jitter draws in [0, b), equal jitter in [b/2, b), none is b exactly (b the back-off)."""
    for jitter in JITTERS:
        p = RetryPolicy(max_retries=10, base_delay=0.05, max_delay=3.0, jitter=jitter)
        b, d = p.backoff(attempt), p.delay(attempt, u)
        lo = {"none": b, "full": 0.0, "equal": b / 2}[jitter]
        assert lo <= d <= b
        assert d == pytest.approx({"none": b, "full": b * u, "equal": b / 2 + b / 2 * u}[jitter])


events = st.lists(st.tuples(st.floats(0, 0.5), st.booleans()), max_size=300)


@given(
    ratio=st.sampled_from([0.0, 0.1, 0.2, 1.0]),
    min_per_second=st.sampled_from([0.0, 1.0, 5.0]),
    events=events,
)
def test_budget_never_lets_retries_exceed_their_share(ratio, min_per_second, events):
    """In every window of the budget's length ending at a granted retry, the retries granted are at most
    min_per_second x window + ratio x the requests recorded in it."""
    c = RetryBudgetConfig(ratio=ratio, min_per_second=min_per_second, window=1.0)
    budget = RetryBudget(c)
    t, requests, granted = 0.0, [], []
    for dt, is_retry in events:
        t += dt
        if not is_retry:
            budget.record_request(t)
            requests.append(t)
        elif budget.can_retry(t):
            granted.append(t)
            in_window = sum(1 for x in granted if x > t - c.window)
            assert in_window <= min_per_second * c.window + ratio * sum(
                1 for x in requests if x > t - c.window
            )


def test_budget_counts_what_it_denies():
    b = RetryBudget(RetryBudgetConfig(ratio=0.5, min_per_second=0.0, window=10.0))
    for t in range(4):
        b.record_request(t)
    assert [b.can_retry(5) for _ in range(3)] == [True, True, False]
    assert b.denied == 1


@pytest.mark.parametrize(
    "make, message",
    [
        (lambda: RetryPolicy(max_retries=11), r"max_retries must be between 0 and 10 \(got max_retries=11\)"),
        (lambda: RetryPolicy(jitter="random"), "jitter must be one of none, full, equal"),
        (lambda: RetryBudgetConfig(window=0), "window must be more than 0 and at most 3,600 seconds"),
    ],
)
def test_bad_parameters(make, message):
    with pytest.raises(ValueError, match=message):
        make()
