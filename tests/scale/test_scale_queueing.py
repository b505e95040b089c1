"""M/M/c and M/M/c/K against textbook values, closed forms and a brute-force stationary distribution."""

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sdcore.scale.queueing import erlang_b, littles_law, mmc, mmck


def test_mm1_textbook_values():
    """Worked M/M/1 example: 49 arrivals/h, 55 services/h -> rho = 0.8909, P0 = 0.1091, Lq = 7.2758,
    Wq = 0.1485 h; and Wq = rho / (mu - lambda)."""
    s = mmc(49, 55, 1)
    assert s.utilization == pytest.approx(0.8909, abs=1e-4)
    assert 1 - s.p_wait == pytest.approx(0.1091, abs=1e-4)  # M/M/1: P(wait) = rho
    assert s.mean_in_queue == pytest.approx(7.2758, abs=1e-4)
    assert s.mean_wait == pytest.approx(0.1485, abs=1e-4)
    assert s.mean_wait == pytest.approx((49 / 55) / (55 - 49), rel=1e-12)


@pytest.mark.parametrize("lam,mu", [(0.5, 1.0), (9, 10), (1, 3), (99.9, 100)])
def test_mm1_closed_forms(lam, mu):
    """M/M/1: P(wait) = rho, Wq = rho/(mu - lambda), W = 1/(mu - lambda); response time ~ Exp(mu - lambda)."""
    s = mmc(lam, mu, 1)
    rho = lam / mu
    assert s.p_wait == pytest.approx(rho, rel=1e-12)
    assert s.mean_wait == pytest.approx(rho / (mu - lam), rel=1e-12)
    assert s.mean_response == pytest.approx(1 / (mu - lam), rel=1e-12)
    for q in (0.5, 0.9, 0.99):
        assert s.response_quantile(q) == pytest.approx(-math.log(1 - q) / (mu - lam), rel=1e-9)


def test_erlang_c_worked_examples():
    """lambda = 2, mu = 1, c = 3: P(wait) = 4/9, Wq = 4/9 s (by hand: B(3, 2) = 4/19, C = B / (1 - rho(1 - B))).
    Two 1 Mbps lines, 150 packets/s of 10 kb (mu = 100/s): C(2, 1.5) = 9/14. A call centre with 120 calls/h,
    3 minutes each and 10 agents: "about 0.10" in the textbook (0.1013)."""
    s = mmc(2, 1, 3)
    assert s.p_wait == pytest.approx(4 / 9, rel=1e-12)
    assert s.mean_wait == pytest.approx(4 / 9, rel=1e-12)
    assert s.mean_response == pytest.approx(4 / 9 + 1, rel=1e-12)
    assert mmc(150, 100, 2).p_wait == pytest.approx(9 / 14, rel=1e-12)
    assert mmc(120 / 60, 1 / 3, 10).p_wait == pytest.approx(0.1013, abs=5e-4)
    assert erlang_b(2, 3) == pytest.approx(4 / 19, rel=1e-12)


def _brute_force(lam: float, mu: float, c: int, terms: int = 4000) -> tuple[float, float]:
    """P(wait) and Lq from the birth-death chain's stationary distribution, summed term by term."""
    a = lam / mu
    w = [1.0]
    for n in range(1, terms):
        w.append(w[-1] * a / min(n, c))
    total = sum(w)
    p = [x / total for x in w]
    return sum(p[c:]), sum((n - c) * p[n] for n in range(c, terms))


@given(st.integers(1, 12), st.floats(0.05, 0.9), st.floats(0.1, 100))
@settings(max_examples=40)
def test_erlang_c_equals_the_stationary_distribution(c, rho, mu):
    """For every stable M/M/c, Erlang C equals P(n >= c) of the chain and Lq = lambda Wq matches its sum."""
    lam = rho * c * mu
    s = mmc(lam, mu, c)
    p_wait, lq = _brute_force(lam, mu, c)
    assert s.p_wait == pytest.approx(p_wait, rel=1e-6, abs=1e-12)
    assert s.mean_in_queue == pytest.approx(lq, rel=1e-6, abs=1e-12)
    assert s.mean_in_system == pytest.approx(littles_law(lam, s.mean_response), rel=1e-12)


@pytest.mark.parametrize("lam,mu,c", [(3, 1, 3), (5, 1, 3), (1000, 10, 8), (2, 2, 1)])
def test_unstable_queue_has_no_steady_state(lam, mu, c):
    s = mmc(lam, mu, c)
    assert not s.stable and s.utilization == pytest.approx(lam / (c * mu))
    assert s.p_wait is None and s.mean_wait is None and s.mean_response is None
    assert s.response_quantile(0.99) is None


def test_response_quantile_matches_sampling():
    """The exact response-time quantile of M/M/3 against 400,000 sampled requests (wait mixture + service)."""
    s = mmc(2.4, 1.0, 3)
    rng = np.random.default_rng(1)
    n = 400_000
    waits = np.where(rng.random(n) < s.p_wait, rng.exponential(1 / (3 - 2.4), n), 0.0)
    samples = waits + rng.exponential(1.0, n)
    for q in (0.5, 0.9, 0.99):
        assert s.response_quantile(q) == pytest.approx(np.quantile(samples, q), rel=0.02)
    assert s.wait_quantile(0.99) == pytest.approx(np.quantile(waits, 0.99), rel=0.02)


@pytest.mark.parametrize("rho,k", [(0.5, 1), (0.9, 5), (1.0, 4), (2.0, 10), (5.0, 3)])
def test_mm1k_blocking_closed_form(rho, k):
    """M/M/1/K: P(full) = (1 - rho) rho^K / (1 - rho^(K+1)), or 1/(K+1) at rho = 1."""
    s = mmck(rho, 1.0, 1, k)
    expected = 1 / (k + 1) if rho == 1 else (1 - rho) * rho**k / (1 - rho ** (k + 1))
    assert s.blocking == pytest.approx(expected, rel=1e-12)
    assert s.utilization < 1 and s.throughput == pytest.approx(rho * (1 - expected))


def test_finite_queue_turns_overload_into_errors_with_bounded_latency():
    """At rho = 4 an M/M/8/72 queue refuses about 3/4 of the arrivals and its admitted requests wait at most
    about (K - c)/(c mu); a long queue approaches the infinite one when the load is light."""
    s = mmck(4 * 8 * 50, 50, 8, 72)
    assert s.blocking == pytest.approx(1 - 1 / 4, abs=0.01)
    assert s.mean_wait <= (72 - 8) / (8 * 50)
    light = mmck(6, 1, 8, 400)
    assert light.mean_wait == pytest.approx(mmc(6, 1, 8).mean_wait, rel=1e-9)
    waits = light.sample_wait(np.random.default_rng(0), 200_000)
    assert waits.mean() == pytest.approx(light.mean_wait, rel=0.05)


@pytest.mark.parametrize(
    "call,fragment",
    [
        (lambda: mmc(-1, 1, 1), "arrival_rate must be"),
        (lambda: mmc(1, 0, 1), "service_rate must be"),
        (lambda: mmc(1, 1, 0), "servers must be between 1"),
        (lambda: mmc(1, 1, 2.5), "servers must be a whole number"),
        (lambda: mmck(1, 1, 4, 2), "capacity must be between servers"),
        (lambda: littles_law(1, -2), "time_in_system must be"),
    ],
)
def test_bad_parameters_name_themselves(call, fragment):
    with pytest.raises(ValueError, match=fragment):
        call()


@pytest.mark.parametrize("seed", range(6))
def test_windowed_search_is_searchsorted(seed):
    """The sampler's short-window search gives exactly np.searchsorted's integers, in and out of the window."""
    from sdcore.scale.queueing import _search

    rng = np.random.default_rng(seed)
    for lam, c, k in ((6, 8, 400), (4 * 8 * 50, 8, 72), (30, 16, 272), (0.5, 1, 2000), (7.9, 8, 20_000)):
        table = mmck(lam * (1 + seed / 10), 1.0, c, k)._wait_table
        if table is None:
            continue
        cdf, lo, hi = table
        x = np.concatenate((rng.random(5000) * cdf[-1], cdf[[0, lo - 1, lo, hi - 2, hi - 1, -1]], [0.0]))
        assert np.array_equal(_search(cdf, lo, hi, x), np.searchsorted(cdf, x, side="right"))
        for a, b in ((0, cdf.size), (lo, lo + 1), (max(0, hi - 3), hi)):
            assert np.array_equal(_search(cdf, a, b, x), np.searchsorted(cdf, x, side="right"))


def test_sample_wait_draws_what_the_plain_search_draws():
    """Same generator, same draws: the waits equal the straightforward sampler's, and the generator ends in
    the same state."""
    for s in (mmck(6, 1, 8, 400), mmck(4 * 8 * 50, 50, 8, 72), mmck(7.9, 1, 8, 20_000)):
        a, b = np.random.default_rng(7), np.random.default_rng(7)
        p = np.asarray(s.state_probabilities[:-1])
        cdf = np.cumsum(p)
        n = np.minimum(np.searchsorted(cdf, b.random(3000) * cdf[-1], side="right"), s.capacity - 1)
        ahead = n - s.servers + 1
        plain = np.where(ahead > 0, b.gamma(np.maximum(ahead, 1), 1.0 / (s.servers * s.service_rate)), 0.0)
        assert np.array_equal(s.sample_wait(a, 3000), plain)
        assert a.random() == b.random()


def _plain_sample_wait(s, rng, size):
    """The sampler as first written: a full search and a Gamma draw for every request."""
    p = np.asarray(s.state_probabilities[:-1])
    if p.sum() <= 0 or p[s.servers - 1 :].sum() < 1e-12 * p.sum():
        return np.zeros(size)
    cdf = np.cumsum(p)
    n = np.minimum(np.searchsorted(cdf, rng.random(size) * cdf[-1], side="right"), s.capacity - 1)
    ahead = n - s.servers + 1
    return np.where(ahead > 0, rng.gamma(np.maximum(ahead, 1), 1.0 / (s.servers * s.service_rate)), 0.0)


@pytest.mark.parametrize(
    "lam, c, k",
    [(0.05, 8, 4104), (0.9, 16, 272), (3.0, 4, 2004), (6, 8, 400), (60, 8, 72), (0.01, 1, 2001), (15.9, 16, 272),
     (2.5, 8, 72), (1e-4, 1, 2001)],
)  # fmt: skip
@pytest.mark.parametrize("seed", range(3))
def test_sample_wait_draws_the_plain_samplers_numbers_light_or_heavy(lam, c, k, seed):
    """Light queues (at most one request ahead: the exponential shortcut, a window of a few states searched by
    counting) and heavy ones (Gamma draws, a wide window) alike: the same waits and the same generator state as
    the plain sampler."""
    s = mmck(lam, 1.0, c, k)
    a, b = np.random.default_rng(seed), np.random.default_rng(seed)
    assert np.array_equal(s.sample_wait(a, 12_000), _plain_sample_wait(s, b, 12_000))
    assert a.bit_generator.state == b.bit_generator.state


def test_the_probabilities_kept_for_sampling_are_the_published_ones_until_the_table_is_built():
    for s in (mmck(6, 1, 8, 400), mmck(0, 1, 2, 5), mmck(500, 1, 8, 72)):
        kept = s.__dict__["_probs"]
        assert not kept.flags.writeable
        assert kept.tolist() == list(s.state_probabilities)
        _ = s._wait_table
        assert "_probs" not in s.__dict__  # the table holds what sampling needs; the copy is gone
