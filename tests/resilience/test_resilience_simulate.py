"""The simulation: the breaker cuts a dead dependency's calls to its trials, keeps the pool free when the
dependency is slow, retries multiply the load as the closed form says, and every request is accounted for."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from sdcore.resilience import (
    OUTCOMES,
    ConsecutiveFailures,
    DefaultValue,
    FailFast,
    FailureRateWindow,
    LastGood,
    RetryBudgetConfig,
    RetryPolicy,
    SimulationConfig,
    compare,
    run,
    script,
)
from sdcore.resilience.simulate import variant_config

OUTAGE = SimulationConfig(
    duration=120.0, request_rate=100.0, dependency_share=0.5, timeline=script("outage", start=30, length=60),
    breaker=ConsecutiveFailures(fail_max=5, reset_timeout=5.0, max_half_open_calls=1), fallback=LastGood(), seed=3,
)  # fmt: skip
SLOW = SimulationConfig(
    duration=120.0, request_rate=100.0, dependency_share=0.4, pool_size=60, timeout=2.0,
    timeline=script("slow", start=30, length=60, slow_latency=3.0),
    breaker=FailureRateWindow(size=20, minimum_calls=10, slow_call_duration=0.5, slow_call_rate_threshold=50,
                              wait_in_open=5, permitted_calls_in_half_open=5),
    fallback=DefaultValue(), seed=5,
)  # fmt: skip


def test_a_dead_dependency_gets_only_the_trial_calls():
    """With one trial at a time, after the first trip each half-open episode sends exactly one call (it fails
    and reopens the breaker) until the outage ends: the calls per second drop from ~50 to one per wait."""
    r = run(OUTAGE)
    first_trip = r.transitions[0].time
    assert r.transitions[0].to_state == "open" and 30 <= first_trip < 31
    halves = [t for t in r.transitions if t.to_state == "half_open" and t.time < 90]
    after = int(first_trip) + 1
    assert r.calls_between(after, 90) == int(r.trial_calls[after:90].sum()) == len(halves)
    assert 60 / 5.2 - 1 <= len(halves) <= 60 / 5 + 1
    assert r.dependency_calls[after:90].max() <= 1
    assert r.dependency_calls[:30].mean() == pytest.approx(50, rel=0.15)  # healthy: every request's own call
    assert r.state_at(119.0) == "closed"  # the first trial after the outage succeeded


def test_trials_without_a_cap_are_the_calls_admitted_before_the_first_outcome():
    """pybreaker's half-open admits every call until an outcome arrives: more than one trial per episode, but
    still only a few compared with the ~250 calls of 5 s."""
    r = run(replace(OUTAGE, breaker=ConsecutiveFailures(fail_max=5, reset_timeout=5.0)))
    halves = [t for t in r.transitions if t.to_state == "half_open" and t.time < 90]
    trials = int(r.trial_calls[31:90].sum())
    assert len(halves) < trials < 10 * len(halves)


def test_slow_dependency_fills_the_pool_without_a_breaker_and_not_with_one():
    """Little's law: 40 calls/s x 2 s timeout need 80 workers of 60. Without a breaker the pool saturates and
    requests that never touch the dependency fail; the breaker trips on slow calls first, and the pool never
    saturates."""
    cmp = compare(SLOW)
    none, br = cmp["none"], cmp["breaker"]
    assert none.pool_peak.max() == SLOW.pool_size and none.local_failed > 100
    assert br.pool_peak.max() < SLOW.pool_size and br.local_failed == 0 and not br.pool_full.any()
    assert "slow-call rate" in br.transitions[0].reason


@pytest.mark.parametrize("retries", [1, 2, 3])
def test_retries_multiply_the_load_on_a_dead_dependency(retries):
    """Every call fails, so each request is sent 1 + retries times: the closed form (1 - f^(k+1)) / (1 - f)
    at f = 1."""
    c = replace(
        OUTAGE, retry=RetryPolicy(max_retries=retries, base_delay=0.05), breaker=None, fallback=FailFast()
    )
    r = run(c)
    need = int(np.count_nonzero(r.needs_dependency & (r.arrival >= 40) & (r.arrival < 80)))
    assert r.calls_between(40, 80) == pytest.approx((retries + 1) * need, rel=0.03)
    dep = r.needs_dependency
    during, clear = dep & (r.arrival > 31) & (r.arrival < 88), dep & ((r.arrival < 28) | (r.arrival > 91))
    assert (r.outcome[during] == OUTCOMES.index("error")).all()  # no breaker, no fallback: all retries failed
    assert (r.outcome[clear] == OUTCOMES.index("success")).all()


def test_half_failing_dependency_matches_the_closed_form():
    c = replace(OUTAGE, timeline=script("outage", start=30, length=60, failure_rate=0.5), breaker=None,
                retry=RetryPolicy(max_retries=3, base_delay=0.01))  # fmt: skip
    r = run(c)
    need = int(np.count_nonzero(r.needs_dependency & (r.arrival >= 40) & (r.arrival < 80)))
    assert r.calls_between(40, 80) / need == pytest.approx((1 - 0.5**4) / (1 - 0.5), rel=0.05)


def test_a_retry_budget_caps_the_storm():
    """With a budget of 20% (plus one a second) the load stays near the requests' own instead of 3x."""
    c = replace(OUTAGE, breaker=None, retry=RetryPolicy(max_retries=2, base_delay=0.05),
                retry_budget=RetryBudgetConfig(ratio=0.2, min_per_second=1.0, window=1.0))  # fmt: skip
    r = run(c)
    need = int(np.count_nonzero(r.needs_dependency & (r.arrival >= 40) & (r.arrival < 80)))
    assert r.calls_between(40, 80) <= 1.2 * need + 40 + 0.03 * need
    assert r.retries[40:80].sum() <= 0.2 * need + 40 + 0.03 * need and r.budget_denied > 0


def test_capacity_sheds_the_calls_beyond_it():
    c = replace(OUTAGE, breaker=None, dependency_capacity=30.0)
    r = run(c)
    served = r.dependency_calls - r.shed
    assert r.shed.sum() > 0 and served.max() <= 30 + 30  # one bin can straddle two trailing seconds


def test_every_request_is_accounted_for():
    for r in compare(OUTAGE).runs.values():
        counts = r.outcome_counts()
        assert counts.sum() == r.requests == sum(r.totals().values())
        assert list(counts.sum(axis=1)) == [r.totals()[o] for o in OUTCOMES]
        full = r.pool_full
        assert np.isnan(r.latency[full]).all() and not np.isnan(r.latency[~full]).any()
        local = ~r.needs_dependency & ~full
        assert np.allclose(r.latency[local], r.config.local_latency)


def test_variants_differ_only_in_breaker_and_fallback():
    cmp = compare(OUTAGE)
    none, br, fb = cmp["none"], cmp["breaker"], cmp["fallback"]
    assert np.array_equal(none.arrival, br.arrival) and np.array_equal(br.arrival, fb.arrival)
    assert none.transitions == () and none.totals()["rejected"] == none.totals()["fallback"] == 0
    assert br.totals()["fallback"] == 0 and br.totals()["rejected"] > 0
    assert (
        fb.totals()["rejected"] == 0
        and fb.totals()["fallback"] == br.totals()["rejected"] + br.totals()["error"]
    )
    assert variant_config(OUTAGE, "breaker").fallback == FailFast()


def test_the_last_good_fallback_reports_its_age():
    """A cached answer is as old as the last success before it was served: during the outage the age grows
    from 0 at its start to about its length."""
    r = compare(OUTAGE)["fallback"]
    served = ~np.isnan(r.fallback_age)
    assert served.sum() == r.totals()["fallback"]
    ages, times = r.fallback_age[served], r.arrival[served]
    assert (ages >= 0).all() and ages.max() == pytest.approx(60, abs=2)
    assert np.all(ages <= times - 29.0)


def test_the_same_seed_gives_the_same_run():
    a, b = run(SLOW), run(SLOW)
    assert np.array_equal(a.latency, b.latency, equal_nan=True) and a.transitions == b.transitions
    c = run(replace(SLOW, seed=6))
    assert not np.array_equal(a.arrival, c.arrival)


def test_state_bands_cover_the_run():
    r = run(OUTAGE)
    bands = r.state_bands()
    assert bands[0][0] == 0 and bands[-1][1] == r.config.duration
    assert all(a[1] == b[0] and a[2] != b[2] for a, b in zip(bands, bands[1:], strict=False))
    assert {s for _, _, s in bands} == {"closed", "open", "half_open"}


def test_scripts():
    slow = script("slow", start=10, length=30, slow_latency=2.0)
    assert (
        slow.at(5).latency == 0.05
        and slow.at(17.5).latency == pytest.approx(2.0)
        and slow.at(40).label == "healthy"
    )
    assert 0.05 < slow.at(10.5).latency < slow.at(12.5).latency < 2.0
    flap = script("flapping", start=10, length=40, flap_period=10, failure_rate=0.8)
    assert [flap.at(t).failure_rate for t in (5, 15, 25, 35, 45, 55)] == [0.0, 0.8, 0.0, 0.8, 0.0, 0.0]
    rec = script("recovering", start=0, length=40, failure_rate=1.0)
    assert [rec.at(t).failure_rate for t in (1, 21, 26, 31, 41)] == [1.0, 0.75, 0.5, 0.25, 0.0]
    assert [p.label for p in script("healthy").phases] == ["healthy"]


@pytest.mark.parametrize(
    "make, message",
    [
        (
            lambda: SimulationConfig(request_rate=5000, duration=600),
            "request_rate x duration must be at most 200,000",
        ),
        (
            lambda: SimulationConfig(pool_size=0),
            r"pool_size must be between 1 and 100,000 \(got pool_size=0\)",
        ),
        (lambda: SimulationConfig(breaker="pybreaker"), "breaker must be one of ConsecutiveFailures"),
        (lambda: SimulationConfig(fallback="cache"), "fallback must be one of FailFast, DefaultValue"),
        (lambda: script("meltdown"), "kind must be one of healthy, outage, slow, flapping, recovering"),
        (lambda: variant_config(SimulationConfig(breaker=None), "breaker"), "breaker must be a policy"),
    ],
)
def test_bad_parameters(make, message):
    with pytest.raises(ValueError, match=message):
        make()
