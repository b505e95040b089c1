"""The fanout queue: the K-worker simulation against a brute-force event loop, the closed form for one
post on idle workers, and how many workers a deadline takes."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sdcore.feed import LOOKUP_SECONDS, drain_queue, fanout_makespan, workers_for_deadline


def brute_force_queue(arrival, size, workers, throughput):
    """A literal event loop: at each moment, every idle worker takes the oldest waiting batch."""
    n = len(arrival)
    start, finish = [None] * n, [None] * n
    busy_until = [0.0] * workers
    waiting: list[int] = []
    nxt, now = 0, 0.0
    while nxt < n or waiting:
        while nxt < n and arrival[nxt] <= now:
            waiting.append(nxt)
            nxt += 1
        for w in range(workers):
            if busy_until[w] <= now and waiting:
                i = waiting.pop(0)
                start[i], finish[i] = now, now + size[i] / throughput
                busy_until[w] = finish[i]
        upcoming = [b for b in busy_until if b > now] + ([arrival[nxt]] if nxt < n else [])
        if not upcoming:
            break
        now = min(upcoming)
    return np.array(start), np.array(finish)


@settings(max_examples=60)
@given(
    st.lists(st.tuples(st.integers(0, 40), st.integers(1, 50)), min_size=1, max_size=40),
    st.integers(1, 6),
)
def test_queue_matches_a_brute_force_event_loop(batches, workers):
    """Start and finish of every batch equal a literal FIFO event loop's (arrivals on a 0.1 s grid)."""
    batches.sort(key=lambda b: b[0])
    arrival = [a / 10 for a, _ in batches]
    size = [s for _, s in batches]
    start, finish = drain_queue(np.array(arrival), np.array(size), workers, 20.0)
    want_start, want_finish = brute_force_queue(arrival, size, workers, 20.0)
    assert np.allclose(start, want_start) and np.allclose(finish, want_finish)
    assert np.all(start >= np.array(arrival) - 1e-12) and np.all(np.diff(start) >= -1e-12)


@settings(max_examples=80)
@given(st.integers(1, 30_000), st.sampled_from([1, 7, 100, 4_000]), st.integers(1, 40))
def test_closed_form_equals_the_simulation_for_one_post(followers, batch, workers):
    """One post's batches on idle workers finish exactly when the closed form says."""
    n = math.ceil(followers / batch)
    size = np.full(n, batch)
    size[-1] = followers - (n - 1) * batch
    _, finish = drain_queue(np.zeros(n), size, workers, 1_000.0)
    assert finish.max() == pytest.approx(fanout_makespan(followers, batch, 1_000.0, workers))


@settings(max_examples=60)
@given(st.integers(1, 200_000), st.sampled_from([100, 4_000]), st.integers(1, 30))
def test_more_workers_never_slower(followers, batch, workers):
    """Adding a worker never lengthens the fanout."""
    assert fanout_makespan(followers, batch, 5_000.0, workers + 1) <= fanout_makespan(
        followers, batch, 5_000.0, workers
    )


@settings(max_examples=60)
@given(st.integers(1, 2_000_000), st.sampled_from([500, 4_000]), st.sampled_from([1.0, 10.0, 60.0, 300.0]))
def test_workers_for_deadline_is_the_fewest(followers, batch, deadline):
    """The answer meets the deadline and one worker fewer does not; None only when a single batch is too slow."""
    k = workers_for_deadline(followers, batch, 10_000.0, deadline)
    budget = deadline - LOOKUP_SECONDS
    if k is None:
        n = math.ceil(followers / batch)
        assert fanout_makespan(followers, batch, 10_000.0, n) > budget
        return
    assert fanout_makespan(followers, batch, 10_000.0, k) <= budget
    assert k == 1 or fanout_makespan(followers, batch, 10_000.0, k - 1) > budget


def test_twitter_sized_fanout():
    """31 million followers in about 5 minutes (Lady Gaga, 2012) is ~103k writes/s: at 10k writes/s a worker,
    11 workers do it in under 5 minutes and 10 do not."""
    assert workers_for_deadline(31_000_000, 4_000, 10_000.0, 300.0) == 11


def test_bad_inputs():
    with pytest.raises(ValueError, match="workers must be between 1 and 1,000"):
        drain_queue(np.zeros(1), np.ones(1), 0, 1.0)
    with pytest.raises(ValueError, match="worker_throughput must be a finite number greater than 0"):
        drain_queue(np.zeros(1), np.ones(1), 1, 0.0)
    with pytest.raises(ValueError, match="deadline must be a finite number greater than 0"):
        workers_for_deadline(10, 4, 1.0, -1.0)
