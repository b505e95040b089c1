"""The WARS Monte Carlo: invariants that hold trial by trial, hand-derived cases, determinism, bad input.

Hand cases use legs so fast they are negligible (an exponential with rate 1e9 per ms has mean 1e-9 ms).
"""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sdcore.kvstore import (
    LATENCY_PRESETS,
    Exponential,
    LegLatencies,
    Pareto,
    simulate_staleness,
    t_for_probability,
)

ROOT = Path(__file__).resolve().parents[2]
INSTANT = Exponential(1e9)
LATENCIES = st.sampled_from(
    [*LATENCY_PRESETS.values(), LegLatencies.same(Exponential(1.0)), LegLatencies.same(Pareto(1.0, 1.2))]
)
TIMES = st.lists(st.floats(0.0, 500.0), min_size=1, max_size=8)


def write_only_legs(rate: float = 1.0) -> LegLatencies:
    """W_i ~ Exp(rate) and S_i ~ Exp(1); A and R negligible. Then t_commit is the W-th smallest W_i, and
    the read set, the R smallest S_i, is a uniformly random R-subset independent of the writes."""
    return LegLatencies(w=Exponential(rate), a=INSTANT, r=INSTANT, s=Exponential(1.0))


def binomial_sigma(p: float, trials: int) -> float:
    return math.sqrt(p * (1 - p) / trials)


@st.composite
def strong_quorums(draw):
    n = draw(st.integers(1, 6))
    r = draw(st.integers(1, n))
    return n, r, draw(st.integers(n - r + 1, n))


@st.composite
def any_quorums(draw):
    n = draw(st.integers(1, 6))
    return n, draw(st.integers(1, n)), draw(st.integers(1, n))


@settings(max_examples=40)
@given(strong_quorums(), LATENCIES, TIMES, st.integers(0, 2**32 - 1))
def test_strong_quorums_are_always_consistent(nrw, latency, times, seed):
    """With R + W > N every read, at every t >= 0, is consistent: the read set shares a replica with the
    acknowledged writes, and that replica had the write before the commit (W_i <= W_i + A_i <= t_commit)."""
    n, r, w = nrw
    result = simulate_staleness(n, r, w, latency, times, trials=2_000, seed=seed)
    assert np.all(result.consistent == 1.0)
    assert result.consistent_after_ms.max() <= 0.0


@settings(max_examples=40)
@given(any_quorums(), LATENCIES, TIMES, st.integers(0, 2**32 - 1))
def test_consistency_never_falls_with_time(nrw, latency, times, seed):
    """On the same draws, waiting longer after the commit never makes a read staler: P(consistent) is
    non-decreasing in t, stays in [0, 1], and follows the order of ``t_ms`` as given."""
    n, r, w = nrw
    result = simulate_staleness(n, r, w, latency, times, trials=2_000, seed=seed)
    order = np.argsort(times, kind="stable")
    assert np.all(np.diff(result.consistent[order]) >= 0)
    assert np.all((result.consistent >= 0) & (result.consistent <= 1))
    np.testing.assert_array_equal(result.t_ms, np.asarray(times, dtype=float))
    for t, p in zip(times, result.consistent, strict=True):
        assert result.probability_at(t) == p


@settings(max_examples=30)
@given(any_quorums(), LATENCIES, st.integers(0, 2**32 - 1))
def test_bigger_quorums_are_never_staler_on_the_same_draws(nrw, latency, seed):
    """With one seed the draws do not depend on R or W. Trial by trial, one more read replica can only
    add a replica that has the write, and one more write ack can only push the commit later, so the
    sorted thresholds t_star of the bigger quorum are <= elementwise, and P(consistent) >= at every t."""
    n, r, w = nrw
    times = [0.0, 0.5, 2.0, 10.0, 100.0]
    base = simulate_staleness(n, r, w, latency, times, trials=3_000, seed=seed)
    for bigger in ((r + 1, w), (r, w + 1)):
        if max(bigger) > n:
            continue
        more = simulate_staleness(n, *bigger, latency, times, trials=3_000, seed=seed)
        assert np.all(more.consistent_after_ms <= base.consistent_after_ms)
        assert np.all(more.consistent >= base.consistent)
    if r < n:
        bigger_read = simulate_staleness(n, r + 1, w, latency, times, trials=3_000, seed=seed)
        assert bigger_read.read_latency.p50 >= base.read_latency.p50
        assert bigger_read.write_latency == base.write_latency


@settings(max_examples=25)
@given(any_quorums(), st.integers(0, 2**32 - 1))
def test_at_commit_wars_reduces_to_the_closed_form(nrw, seed):
    """With negligible write-ack and read-request latencies, the replicas holding the write at commit
    are exactly the W fastest writers and the read set is an independent uniformly random R-subset, so
    P(consistent at t=0) = 1 - C(N-W, R) / C(N, R), within 5 binomial standard errors."""
    n, r, w = nrw
    trials = 20_000
    result = simulate_staleness(n, r, w, write_only_legs(), [0.0], trials=trials, seed=seed)
    expected = 1 - math.comb(n - w, r) / math.comb(n, r)
    assert abs(result.consistent[0] - expected) <= 5 * binomial_sigma(expected, trials) + 1e-12


@pytest.mark.parametrize(("n", "w"), [(2, 1), (3, 1), (5, 1), (3, 2)])
def test_single_replica_reads_after_commit_by_hand(n, w):
    """R = 1, negligible A and R legs, W_i ~ Exp(lambda = 0.5). The read replica is uniform; it is
    consistent at once if it is one of the W fastest writers. With W = 1 otherwise its write arrives
    Exp(lambda) after the fastest (memorylessness): P(t) = 1 - (N-1)/N e^(-lambda t). With N = 3, W = 2
    only the slowest writer is late, by Exp(lambda) after the second: P(t) = 1 - e^(-lambda t) / 3."""
    lam, trials = 0.5, 200_000
    times = np.array([0.0, 0.5, 1.0, 2.0, 5.0])
    result = simulate_staleness(n, 1, w, write_only_legs(lam), times, trials=trials, seed=3)
    late_fraction = (n - 1) / n if w == 1 else 1 / 3
    expected = 1 - late_fraction * np.exp(-lam * times)
    for p, q in zip(result.consistent, expected, strict=True):
        assert abs(p - q) <= 5 * binomial_sigma(q, trials)


def test_read_set_is_chosen_by_response_time_by_hand():
    """N = 2, R = W = 1, A negligible, W_i, R_i, S_i ~ Exp(1). The read goes to replica j with the
    smaller R_j + S_j. If j is the faster writer it is consistent (probability 1/2); otherwise its write
    lands E ~ Exp(1) after the commit and it is consistent iff E <= R_j. Given R_j + S_j = tau, R_j is
    uniform on (0, tau), and min(T_1, T_2) of two Gamma(2) sums has density 2 tau e^(-2 tau)(1 + tau), so
    E[e^(-R_j)] = 2 * integral of e^(-2 tau)(1 + tau)(1 - e^(-tau)) = 2 (3/4 - 4/9) = 11/18, and
    P(consistent at 0) = 1/2 + (1/2)(7/18) = 25/36. (Choosing j by R alone gives 2/3, at random 3/4.)"""
    trials = 200_000
    legs = LegLatencies(w=Exponential(1.0), a=INSTANT, r=Exponential(1.0), s=Exponential(1.0))
    result = simulate_staleness(2, 1, 1, legs, [0.0], trials=trials, seed=8)
    assert abs(result.consistent[0] - 25 / 36) <= 5 * binomial_sigma(25 / 36, trials)


@settings(max_examples=15)
@given(any_quorums(), st.integers(0, 2**32 - 1))
def test_slow_acks_do_not_make_reads_stale(nrw, seed):
    """If write requests arrive instantly (W_i ~ 1e-9 ms) every replica has the write before any
    acknowledgement returns, so every read is consistent however slow the acks (A_i) are: the test is
    W_i <= t_commit + t + R_i, on the write's arrival, not on its acknowledgement."""
    n, r, w = nrw
    legs = LegLatencies(w=INSTANT, a=Exponential(0.01), r=Exponential(1.0), s=Exponential(1.0))
    result = simulate_staleness(n, r, w, legs, [0.0], trials=2_000, seed=seed)
    assert result.consistent[0] == 1.0


def test_t_for_probability_by_hand():
    """For N = 3, R = W = 1 with the legs above, P(t) = 1 - (2/3) e^(-lambda t), so the time to reach
    p is ln(2 / (3 (1 - p))) / lambda: within 5 standard errors (delta method: the density at that t is
    (1 - p) lambda). At exactly that time P >= p; just before it, P < p."""
    lam, trials, p = 1.0, 200_000, 0.99
    result = simulate_staleness(3, 1, 1, write_only_legs(lam), [0.0], trials=trials, seed=4)
    expected = math.log(2 / (3 * (1 - p))) / lam
    se = binomial_sigma(p, trials) / ((1 - p) * lam)
    t = t_for_probability(result, p)
    assert abs(t - expected) <= 5 * se
    assert result.probability_at(t) >= p
    assert result.probability_at(np.nextafter(t, 0.0)) < p
    # P(consistent at t=0) is about 1/3, so any p up to that is reached at once
    assert t_for_probability(result, 0.2) == 0.0
    assert t_for_probability(result, 1.0) == result.consistent_after_ms[-1]


def gamma2_cdf(x: float, lam: float) -> float:
    return 1 - math.exp(-lam * x) * (1 + lam * x)


def solve(cdf, q: float, hi: float = 1e3) -> float:
    """Bisection for the q-quantile of a continuous CDF on [0, hi]."""
    lo = 0.0
    for _ in range(200):
        mid = (lo + hi) / 2
        lo, hi = (mid, hi) if cdf(mid) < q else (lo, mid)
    return (lo + hi) / 2


def test_one_replica_latency_is_a_gamma_2():
    """N = R = W = 1 with all four legs Exp(lambda = 2): the write latency W + A and the read latency
    R + S are Gamma(2, lambda), CDF 1 - e^(-lambda x)(1 + lambda x). Their medians and 99th percentiles
    match within 5 standard errors (delta method, density lambda^2 x e^(-lambda x)). Every read is
    consistent: the only replica took the write before acknowledging it."""
    lam, trials = 2.0, 200_000
    result = simulate_staleness(1, 1, 1, Exponential(lam), [0.0], trials=trials, seed=5)
    assert result.consistent[0] == 1.0
    for q, got_write, got_read in (
        (0.5, result.write_latency.p50, result.read_latency.p50),
        (0.99, result.write_latency.p99, result.read_latency.p99),
    ):
        x = solve(lambda v: gamma2_cdf(v, lam), q)
        se = binomial_sigma(q, trials) / (lam**2 * x * math.exp(-lam * x))
        assert abs(got_write - x) <= 5 * se
        assert abs(got_read - x) <= 5 * se


def test_latency_is_the_quorum_order_statistic():
    """N = 3, W_i and S_i ~ Exp(1), A and R negligible. The write waits for the 2nd of 3 acks, CDF
    3F^2(1-F) + F^3; the read with R = 3 waits for the slowest, CDF F^3 (F = 1 - e^(-x)). Medians and
    99.9th percentiles match within 5 standard errors."""
    trials = 200_000
    result = simulate_staleness(3, 3, 2, write_only_legs(1.0), [0.0], trials=trials, seed=6)

    def second_of_three(x):
        f = 1 - math.exp(-x)
        return 3 * f**2 * (1 - f) + f**3

    def slowest_of_three(x):
        return (1 - math.exp(-x)) ** 3

    for cdf, quantiles in ((second_of_three, result.write_latency), (slowest_of_three, result.read_latency)):
        for q, got in ((0.5, quantiles.p50), (0.999, quantiles.p999)):
            x = solve(cdf, q)
            density = (cdf(x + 1e-6) - cdf(x - 1e-6)) / 2e-6
            assert abs(got - x) <= 5 * binomial_sigma(q, trials) / density


def test_same_seed_same_numbers_other_seed_other_numbers():
    """Draws come only from default_rng(seed): one seed gives identical arrays, another seed differs."""
    args = (3, 1, 1, "linkedin-disk", [0.0, 1.0, 10.0])
    a = simulate_staleness(*args, trials=70_000, seed=9)
    b = simulate_staleness(*args, trials=70_000, seed=9)
    c = simulate_staleness(*args, trials=70_000, seed=10)
    np.testing.assert_array_equal(a.consistent, b.consistent)
    np.testing.assert_array_equal(a.consistent_after_ms, b.consistent_after_ms)
    assert a.read_latency == b.read_latency and a.write_latency == b.write_latency
    assert not np.array_equal(a.consistent_after_ms, c.consistent_after_ms)


def test_same_seed_same_numbers_in_another_process():
    """A fresh Python process with the same seed prints the same probabilities and quantiles to the bit:
    nothing depends on module-level state, hash seeds or the wall clock."""
    code = (
        "import json; from sdcore.kvstore import simulate_staleness as s; "
        "r = s(5, 2, 1, 'yammer', [0.0, 3.0, 50.0], trials=30_000, seed=21); "
        "print(json.dumps([r.consistent.tolist(), r.read_latency.p999, r.write_latency.p50, "
        "float(r.consistent_after_ms.sum())]))"
    )
    env = {**os.environ, "PYTHONPATH": str(ROOT), "PYTHONHASHSEED": "123"}
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, check=True
    )
    here = simulate_staleness(5, 2, 1, "yammer", [0.0, 3.0, 50.0], trials=30_000, seed=21)
    expected = [here.consistent.tolist(), here.read_latency.p999, here.write_latency.p50]
    got = json.loads(out.stdout)
    assert got[:3] == expected
    assert got[3] == float(here.consistent_after_ms.sum())


def test_result_arrays_are_read_only_and_labelled():
    """A cached result cannot be changed by a caller (and the caller's own t array stays writable); it
    knows its own quorum."""
    times = np.array([0.0, 1.0])
    result = simulate_staleness(3, 1, 2, "linkedin-ssd", times, trials=1_000, seed=0)
    times[0] = 5.0
    assert result.t_ms[0] == 0.0
    for array in (result.t_ms, result.consistent, result.consistent_after_ms):
        with pytest.raises(ValueError):
            array[0] = 1.0
    assert result.label == "N=3, R=1, W=2"
    assert not result.strong
    assert isinstance(result.probability_at(1.0), float)
    assert result.probability_at([0.0, 1.0]).tolist() == result.consistent.tolist()


def test_extreme_latency_parameters_are_reported():
    """A Pareto with alpha = 0.01 overflows float64 latencies: a clear error rather than NaN results."""
    with pytest.raises(ValueError, match="infinite latency"):
        simulate_staleness(1, 1, 1, Pareto(1.0, 0.01), [0.0], trials=10_000, seed=0)


@pytest.mark.parametrize(
    ("kwargs", "words"),
    [
        ({"r": 4}, "R must be between 1 and N (got R=4, N=3)"),
        ({"w": 0}, "W must be between 1 and N (got W=0, N=3)"),
        ({"n": 11, "r": 1, "w": 1}, "N, the number of replicas, must be between 1 and 10 here (got N=11)"),
        ({"n": 0, "r": 1, "w": 1}, "N, the number of replicas, must be between 1 and 10 here (got N=0)"),
        ({"trials": 0}, "trials must be between 1 and 5,000,000 (got trials=0)"),
        ({"trials": 5_000_001}, "trials must be between 1 and 5,000,000 (got trials=5,000,001)"),
        ({"trials": 100.0}, "trials must be a whole number (got trials=100.0)"),
        ({"seed": -1}, "seed must be a whole number >= 0 (got seed=-1)"),
        ({"seed": None}, "seed must be a whole number (got seed=None)"),
        ({"t_ms": [0.0, -1.0]}, "t_ms must contain only finite times >= 0 ms after commit (got -1)"),
        ({"t_ms": [math.nan]}, "t_ms must contain only finite times >= 0 ms after commit (got nan)"),
        ({"t_ms": [math.inf]}, "t_ms must contain only finite times >= 0 ms after commit (got inf)"),
        ({"t_ms": []}, "t_ms must be a time or a non-empty list of times in ms (got t_ms=[])"),
        ({"t_ms": [[1.0]]}, "t_ms must be a time or a non-empty list of times in ms (got t_ms=[[1.0]])"),
        ({"t_ms": "soon"}, "t_ms must be a time or a list of times in ms, each >= 0 (got t_ms='soon')"),
        (
            {"latency": "fast"},
            "latency preset must be one of linkedin-ssd, linkedin-disk, yammer (got latency='fast')",
        ),
    ],
)
def test_bad_simulation_input(kwargs, words):
    """Each bad parameter raises a ValueError naming it, its value and the allowed range."""
    args = {
        "n": 3,
        "r": 1,
        "w": 1,
        "latency": "linkedin-ssd",
        "t_ms": [0.0],
        "trials": 100,
        "seed": 0,
    } | kwargs
    with pytest.raises(ValueError) as info:
        simulate_staleness(**args)
    assert str(info.value) == words


@pytest.mark.parametrize("p", [0, -0.5, 1.5, math.nan, "0.9", True])
def test_t_for_probability_rejects_bad_p(p):
    """p must be a probability in (0, 1]."""
    result = simulate_staleness(3, 1, 1, "linkedin-ssd", [0.0], trials=100, seed=0)
    with pytest.raises(
        ValueError, match=r"p, the target probability of a consistent read, must be in \(0, 1\]"
    ):
        t_for_probability(result, p)
