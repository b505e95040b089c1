"""Quorum arithmetic: the closed-form staleness, Cassandra consistency levels and the worst-case overlap."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from sdcore.kvstore import (
    CONSISTENCY_LEVELS,
    consistency_level_count,
    quorum_overlap,
    staleness_probability,
)


@st.composite
def quorums(draw, max_n: int = 8):
    """(N, R, W) with 1 <= R, W <= N, built by construction."""
    n = draw(st.integers(1, max_n))
    return n, draw(st.integers(1, n)), draw(st.integers(1, n))


def random_quorum_masks(rng: np.random.Generator, trials: int, n: int, size: int) -> np.ndarray:
    """``trials`` rows, each a uniformly random ``size``-subset of ``n`` replicas (drawn without replacement)."""
    return rng.permuted(np.tile(np.arange(n) < size, (trials, 1)), axis=1)


@pytest.mark.parametrize(
    ("n", "r", "w", "k", "expected"),
    [
        (3, 1, 1, 1, 2 / 3),  # the read's one replica is one of the 2 the write did not wait for
        (3, 1, 2, 1, 1 / 3),
        (3, 2, 1, 1, 1 / 3),  # C(2,2)/C(3,2)
        (3, 2, 2, 1, 0.0),
        (5, 2, 2, 1, 3 / 10),  # C(3,2)/C(5,2)
        (5, 1, 1, 3, (4 / 5) ** 3),
        (3, 1, 1, 2, 4 / 9),
        (1, 1, 1, 1, 0.0),
    ],
)
def test_staleness_probability_hand_values(n, r, w, k, expected):
    """Values worked out by hand from C(N-W, R) / C(N, R), to the power k."""
    assert staleness_probability(n, r, w, k) == pytest.approx(expected, rel=1e-12, abs=0)


def test_staleness_probability_is_exact_for_large_n():
    """Large binomials stay exact: N=200, R=W=20 against a product formula computed a different way."""
    # C(180, 20) / C(200, 20) = prod_{i=0}^{19} (180 - i) / (200 - i)
    expected = math.prod((180 - i) / (200 - i) for i in range(20))
    assert staleness_probability(200, 20, 20) == pytest.approx(expected, rel=1e-12)


@given(quorums(), st.integers(1, 3), st.integers(0, 2**32 - 1))
def test_closed_form_matches_random_quorums(nrw, k, seed):
    """Drawing a read quorum and k write quorums uniformly at random without replacement, the fraction
    of reads that miss all k writes matches (C(N-W, R) / C(N, R))^k within 5 binomial standard errors;
    strong quorums (R + W > N) never miss."""
    n, r, w = nrw
    trials = 20_000
    rng = np.random.default_rng(seed)
    read = random_quorum_masks(rng, trials, n, r)
    misses_all = np.ones(trials, dtype=bool)
    for _ in range(k):
        misses_all &= ~(read & random_quorum_masks(rng, trials, n, w)).any(axis=1)
    measured = misses_all.mean()
    expected = staleness_probability(n, r, w, k)
    if r + w > n:
        assert expected == 0.0
        assert measured == 0.0
    else:
        sigma = math.sqrt(expected * (1 - expected) / trials)
        assert abs(measured - expected) <= 5 * sigma + 1e-12


def test_closed_form_matches_rng_choice_quorums():
    """The same check with explicit ``rng.choice(..., replace=False)`` quorums, N=5, R=2, W=2, k=2:
    expected (3/10)^2 = 0.09."""
    rng = np.random.default_rng(7)
    trials, stale = 20_000, 0
    for _ in range(trials):
        read = set(rng.choice(5, size=2, replace=False).tolist())
        writes = [set(rng.choice(5, size=2, replace=False).tolist()) for _ in range(2)]
        stale += all(not (read & wq) for wq in writes)
    sigma = math.sqrt(0.09 * 0.91 / trials)
    assert abs(stale / trials - 0.09) <= 5 * sigma


@given(quorums(max_n=30), st.integers(1, 5))
def test_staleness_is_zero_exactly_when_quorums_must_overlap(nrw, k):
    """P(stale) == 0 iff R + W > N, and it lies in [0, 1)."""
    n, r, w = nrw
    p = staleness_probability(n, r, w, k)
    assert (p == 0.0) == (r + w > n)
    assert 0.0 <= p < 1.0


@given(quorums(max_n=30), st.integers(1, 5))
def test_staleness_falls_with_larger_quorums_and_more_writes(nrw, k):
    """A bigger read quorum, a bigger write quorum or more recent writes never make a miss likelier."""
    n, r, w = nrw
    p = staleness_probability(n, r, w, k)
    if r < n:
        assert staleness_probability(n, r + 1, w, k) <= p
    if w < n:
        assert staleness_probability(n, r, w + 1, k) <= p
    assert staleness_probability(n, r, w, k + 1) <= p


@pytest.mark.parametrize(
    ("args", "words"),
    [
        ((3, 1, 4), "W must be between 1 and N (got W=4, N=3)"),
        ((3, 0, 1), "R must be between 1 and N (got R=0, N=3)"),
        ((3, 4, 1), "R must be between 1 and N (got R=4, N=3)"),
        ((0, 1, 1), "N, the number of replicas, must be at least 1 (got N=0)"),
        ((3, 1, 1, 0), "k, the number of recent writes the read may miss, must be at least 1 (got k=0)"),
        ((3.0, 1, 1), "N must be a whole number (got N=3.0)"),
        ((3, True, 1), "R must be a whole number (got R=True)"),
    ],
)
def test_staleness_probability_rejects_bad_input(args, words):
    """Bad N, R, W or k raise a ValueError naming the parameter, its value and the allowed range."""
    with pytest.raises(ValueError) as info:
        staleness_probability(*args)
    assert str(info.value) == words


@pytest.mark.parametrize(
    ("level", "n", "expected"),
    [
        ("ONE", 3, 1),
        ("TWO", 3, 2),
        ("THREE", 3, 3),
        ("QUORUM", 3, 2),
        ("ALL", 3, 3),
        ("QUORUM", 1, 1),
        ("QUORUM", 4, 3),
        ("QUORUM", 5, 3),
        ("QUORUM", 6, 4),
        ("ALL", 7, 7),
        ("quorum", 5, 3),
        (" One ", 2, 1),
    ],
)
def test_consistency_level_counts(level, n, expected):
    """ONE/TWO/THREE wait for that many replicas, QUORUM for a majority (N // 2 + 1), ALL for N."""
    assert consistency_level_count(level, n) == expected


@given(st.integers(1, 50))
def test_quorum_reads_with_quorum_writes_always_overlap(n):
    """QUORUM for both reads and writes is strong for every N: 2 * (N // 2 + 1) > N."""
    q = consistency_level_count("QUORUM", n)
    assert q + q > n
    assert staleness_probability(n, q, q) == 0.0
    # and QUORUM is the smallest size with that property
    assert (q - 1) + (q - 1) <= n


def test_consistency_levels_reject_bad_input():
    """A level that needs more replicas than N, or an unknown level, raises a clear ValueError."""
    with pytest.raises(ValueError, match=r"THREE waits for 3 replicas but there are only N=2"):
        consistency_level_count("THREE", 2)
    with pytest.raises(ValueError, match=r"must be one of ONE, TWO, THREE, QUORUM, ALL \(got 'FOUR'\)"):
        consistency_level_count("FOUR", 5)
    with pytest.raises(ValueError, match=r"got None"):
        consistency_level_count(None, 5)
    with pytest.raises(ValueError, match=r"N, the number of replicas, must be at least 1 \(got N=0\)"):
        consistency_level_count("ONE", 0)
    assert CONSISTENCY_LEVELS == ("ONE", "TWO", "THREE", "QUORUM", "ALL")


@given(quorums(max_n=7))
def test_quorum_overlap_is_the_worst_case(nrw):
    """The drawn placement has exactly max(0, R + W - N) replicas in both quorums, which is the smallest
    intersection over every possible pair of quorums (checked by brute force)."""
    n, r, w = nrw
    picture = quorum_overlap(n, r, w)
    write, read = set(picture.write_replicas), set(picture.read_replicas)
    assert len(write) == w and len(read) == r
    assert write | read <= set(range(n))
    assert set(picture.overlap_replicas) == write & read
    smallest = min(
        len(set(a) & set(b))
        for a in itertools.combinations(range(n), w)
        for b in itertools.combinations(range(n), r)
    )
    assert picture.guaranteed_overlap == smallest == max(0, r + w - n)
    assert picture.strong == (r + w > n) == (picture.guaranteed_overlap > 0)


def test_quorum_overlap_rejects_bad_input():
    """quorum_overlap validates like the rest: R and W between 1 and N."""
    with pytest.raises(ValueError, match=r"R must be between 1 and N \(got R=6, N=5\)"):
        quorum_overlap(5, 6, 1)
