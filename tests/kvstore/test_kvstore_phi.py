"""The phi accrual detector against Cassandra's closed form, a line-by-line transcription of Akka's
PhiAccrualFailureDetector, and the exact normal tail it approximates."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from sdcore.kvstore.phi import (
    LOG10_E,
    HeartbeatScenario,
    PhiAccrualDetector,
    normal_phi,
    normal_phi_inverse,
    simulate_heartbeats,
)

intervals = st.lists(st.floats(0.05, 5.0), min_size=1, max_size=60)


def fed(model: str, gaps, **kw) -> PhiAccrualDetector:
    d = PhiAccrualDetector(model=model, **kw)
    t = 100.0
    d.heartbeat(t)
    for g in gaps:
        t += g
        d.heartbeat(t)
    return d


@given(intervals, st.floats(0.0, 60.0), st.integers(1, 20))
def test_exponential_phi_is_cassandras_closed_form(gaps, silence, window):
    """phi = (t since the last heartbeat / mean of the last `window` intervals) x log10(e), which is Cassandra's
    PHI_FACTOR * (t / mean) with PHI_FACTOR = 1 / ln 10."""
    d = fed("exponential", gaps, window=window)
    mean = float(np.mean(gaps[-window:]))
    expected = silence / mean * LOG10_E
    assert d.phi(d.last + silence) == pytest.approx(expected, rel=1e-9, abs=1e-12)
    assert d.phi(d.last + silence) == pytest.approx(
        (1.0 / math.log(10.0)) * (silence / mean), rel=1e-9, abs=1e-12
    )
    assert d.time_to_convict() == pytest.approx(d.threshold * mean * math.log(10.0))


class AkkaReference:
    """Akka's PhiAccrualFailureDetector as its Scala source reads (times in seconds here): a HeartbeatHistory of
    intervals with mean and population variance, the std floored at minStdDeviation, acceptable pause added to
    the mean, the logistic phi, and an interval not recorded if it arrived after the node was unavailable."""

    def __init__(self, threshold, max_sample_size, min_std, pause):
        self.threshold, self.max, self.min_std, self.pause = threshold, max_sample_size, min_std, pause
        self.intervals: list[float] = []
        self.timestamp = None

    def phi_at(self, now):
        if self.timestamp is None or not self.intervals:
            return 0.0
        time_diff = now - self.timestamp
        mean = sum(self.intervals) / len(self.intervals)
        variance = sum(x * x for x in self.intervals) / len(self.intervals) - mean * mean
        std = max(math.sqrt(max(variance, 0.0)), self.min_std)
        m = mean + self.pause
        y = (time_diff - m) / std
        try:
            e = math.exp(-y * (1.5976 + 0.070566 * y * y))
        except OverflowError:  # the JVM's Math.exp gives Infinity
            e = math.inf
        p_later = e / (1.0 + e) if time_diff > m else 1.0 - 1.0 / (1.0 + e)
        return math.inf if p_later == 0.0 else -math.log10(p_later)  # the JVM's log10(0) is -Infinity

    def heartbeat(self, now):
        if self.timestamp is not None:
            interval = now - self.timestamp
            if not self.intervals or self.phi_at(now) < self.threshold:
                self.intervals = (self.intervals + [interval])[-self.max :]
        self.timestamp = now


@given(intervals, st.floats(0.0, 4.0), st.floats(0.01, 0.5), st.floats(0.0, 3.0), st.floats(2.0, 12.0))
def test_normal_phi_matches_akka(gaps, silence, min_std, pause, threshold):
    """Same heartbeats, same phi as Akka's implementation, at every arrival and after a silence."""
    ours = PhiAccrualDetector(threshold, 1000, "normal", min_std, pause)
    ref = AkkaReference(threshold, 1000, min_std, pause)
    t = 0.0
    for g in [0.0, *gaps]:
        t += g
        assert ours.phi(t) == pytest.approx(ref.phi_at(t), rel=1e-9, abs=1e-9)
        ours.heartbeat(t)
        ref.heartbeat(t)
    assert ours.phi(t + silence) == pytest.approx(ref.phi_at(t + silence), rel=1e-9, abs=1e-9)


@pytest.mark.parametrize("y", [-2.0, -1.0, 0.0, 0.5, 1.0, 2.0, 2.5, 3.0])
def test_the_logistic_approximation_tracks_the_exact_normal_tail(y):
    """Akka's logistic CDF is within 0.00014 of the normal CDF near +-3; in phi (log10 of the tail) the error
    stays under 0.05 up to three standard deviations (it grows beyond: 4.74 against 4.50 at y = 4)."""
    exact = -math.log10(0.5 * math.erfc(y / math.sqrt(2.0)))
    assert normal_phi(y, 0.0, 1.0) == pytest.approx(exact, abs=0.05)


@given(st.floats(0.5, 30.0), st.floats(0.1, 10.0), st.floats(0.01, 3.0))
def test_normal_inverse_is_the_silence_that_reaches_phi(phi, mean, std):
    t = normal_phi_inverse(phi, mean, std)
    assert normal_phi(t, mean, std) == pytest.approx(phi, rel=1e-6)


@pytest.mark.parametrize("model", ["exponential", "normal"])
def test_phi_is_zero_before_two_heartbeats_grows_with_silence_and_resets(model):
    d = PhiAccrualDetector(model=model)
    assert d.phi(5.0) == 0.0 and d.is_available(1e6)
    d.heartbeat(0.0)
    assert d.phi(50.0) == 0.0 and d.time_to_convict() == math.inf
    for t in (1.0, 2.0, 3.1, 4.0):
        d.heartbeat(t)
    silences = np.linspace(0.0, 30.0, 61)
    phis = [d.phi(4.0 + s) for s in silences]
    assert all(b >= a for a, b in zip(phis, phis[1:], strict=False)) and phis[-1] > d.threshold
    d.heartbeat(40.0)
    assert d.phi(40.0) < 0.5  # a heartbeat resets the suspicion


@pytest.mark.parametrize("model", ["exponential", "normal"])
def test_available_until_the_time_to_convict(model):
    d = fed(model, [1.0, 1.1, 0.9, 1.0])
    ttc = d.time_to_convict()
    assert d.is_available(d.last + ttc * (1 - 1e-6))
    assert not d.is_available(d.last + ttc * (1 + 1e-6))


def test_cassandra_ignores_an_interval_longer_than_max_interval():
    d = fed("exponential", [1.0, 1.0, 9.0, 1.0], max_interval=2.0)
    assert d.samples == 3 and d.mean == pytest.approx(1.0)


def test_akka_does_not_learn_from_the_heartbeat_after_a_conviction():
    d = fed("normal", [1.0, 1.0, 1.0, 30.0, 1.0])
    assert d.samples == 4 and d.mean == pytest.approx(1.0)


def test_a_pause_convicts_the_normal_model_but_not_the_exponential_one():
    """A 4 s pause against a 1 s heartbeat: beyond the normal model's 1.5 s, well inside Cassandra's 18 s."""
    r = simulate_heartbeats(HeartbeatScenario(pause=4.0, seed=3))
    e, n = r.runs["exponential"], r.runs["normal"]
    assert len(n.false_convictions) == 1 and e.false_convictions == ()
    start, end = n.false_convictions[0]
    assert 30.0 < start < end < 36.0
    assert e.time_to_convict == pytest.approx(8.0 * e.mean * math.log(10.0))
    assert e.convicted_at == pytest.approx(e.last_heartbeat + e.time_to_convict)
    assert n.detection_delay < e.detection_delay


def test_false_convictions_are_exactly_the_gaps_longer_than_the_limit():
    """Replay the stream: a gap convicts iff phi just before the next heartbeat is above the threshold."""
    s = HeartbeatScenario(jitter=0.3, min_std_deviation=0.05, threshold=1.0, seed=5)
    r = simulate_heartbeats(s)
    for model, run in r.runs.items():
        d, brute = s.detector(model), []
        for t in r.arrivals:
            if d.last is not None and not d.is_available(t - 1e-9):
                brute.append(t)
            d.heartbeat(t)
        assert [end for _, end in run.false_convictions] == pytest.approx(brute)
    assert r.runs["normal"].false_convictions  # jittery heartbeats against a tight spread


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"threshold": 0}, "threshold must be a finite number greater than 0"),
        ({"window": 0}, r"window must be between 1 and 100,000 \(got window=0\)"),
        ({"model": "weibull"}, r"model must be one of exponential, normal \(got model='weibull'\)"),
        ({"min_std_deviation": 0.0}, "min_std_deviation must be a finite number greater than 0 seconds"),
        ({"acceptable_pause": -1.0}, "acceptable_pause must be between 0 and 3,600 seconds"),
    ],
)
def test_bad_parameters_say_what_is_allowed(kwargs, message):
    with pytest.raises(ValueError, match=message):
        PhiAccrualDetector(**kwargs)


def test_heartbeats_out_of_order_and_bad_scenarios():
    d = PhiAccrualDetector()
    d.heartbeat(5.0)
    with pytest.raises(ValueError, match="heartbeats must arrive in time order"):
        d.heartbeat(4.0)
    with pytest.raises(ValueError, match="horizon must be between 60"):
        HeartbeatScenario(horizon=30.0)
    with pytest.raises(ValueError, match="interval must be a finite number greater than 0"):
        HeartbeatScenario(interval=0.0)
