"""SWIM against the paper (Das, Gupta, Motivala 2002): the expected time to first detection, a constant
message load per member, and suspicion that lets live members refute before they are declared dead."""

from __future__ import annotations

import math

import numpy as np
import pytest

from sdcore.kvstore.swim import (
    DEAD,
    E_OVER_E_MINUS_1,
    SwimConfig,
    detection_trials,
    expected_first_detection,
    simulate_swim,
)


def test_expected_first_detection_tends_to_e_over_e_minus_one():
    assert pytest.approx(1.5820, abs=1e-4) == E_OVER_E_MINUS_1
    assert expected_first_detection(10**7) == pytest.approx(E_OVER_E_MINUS_1, rel=1e-6)
    assert expected_first_detection(3) == pytest.approx(1 / (1 - 0.25))  # 2 others, each picks it w.p. 1/2
    sizes = [4, 8, 16, 64, 1024]
    values = [expected_first_detection(n) for n in sizes]
    assert values == sorted(values) and values[-1] < E_OVER_E_MINUS_1


@pytest.mark.parametrize("nodes", [8, 24])
def test_measured_first_detection_matches_the_paper(nodes):
    """Over 300 crashes the mean periods to first suspicion is within 4 standard errors of the paper's
    1 / (1 - (1 - 1/(n-1))^(n-1)), and the share detected in the first period within 4 standard errors of p."""
    trials = detection_trials(SwimConfig(nodes=nodes, seed=11), trials=300)
    p = 1 / trials.expected
    se_mean = math.sqrt(1 - p) / p / math.sqrt(300)
    assert abs(trials.mean - trials.expected) < 4 * se_mean
    first = float(np.mean(trials.periods == 1))
    assert abs(first - p) < 4 * math.sqrt(p * (1 - p) / 300)
    assert (trials.all_dead > 0).all()


def test_without_loss_no_false_suspicion_and_every_live_member_declares_the_crashed_one_dead():
    c = SwimConfig(nodes=20, seed=3)
    r = simulate_swim(c)
    assert r.false_suspicions == 0 and r.false_deaths == 0 and r.refutations == 0
    assert r.first_suspected >= c.crash_period and r.first_dead >= r.first_suspected + c.suspicion_periods
    live = np.flatnonzero(r.up[-1])
    assert (r.view[-1, live, c.crash_node] == DEAD).all()
    assert r.all_dead is not None and r.all_dead <= c.periods


def test_each_member_sends_a_ping_and_an_ack_per_period_whatever_n():
    """No loss, no crash: exactly one ping and one ack per member per period, 2n messages."""
    for n in (5, 17, 40):
        r = simulate_swim(SwimConfig(nodes=n, crash_period=0, periods=10))
        assert list(r.messages) == [2 * n] * 10


def test_suspicion_lets_live_members_refute_under_loss():
    basic = simulate_swim(SwimConfig(loss=0.2, suspicion_periods=0, crash_period=0, seed=4))
    suspicious = simulate_swim(SwimConfig(loss=0.2, suspicion_periods=3, crash_period=0, seed=4))
    assert basic.false_deaths > 0
    assert suspicious.refutations > 0 and suspicious.false_deaths < basic.false_deaths


def test_indirect_probes_cut_false_suspicions():
    direct = simulate_swim(SwimConfig(loss=0.1, k=0, crash_period=0, seed=2))
    indirect = simulate_swim(SwimConfig(loss=0.1, k=3, crash_period=0, seed=2))
    assert indirect.false_suspicions < direct.false_suspicions


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"nodes": 2}, r"nodes must be between 3 and 64 \(got nodes=2\)"),
        ({"k": 15}, r"k must be between 0 and nodes - 2 \(got k=15, nodes - 2=14\)"),
        ({"loss": -0.1}, r"loss must be between 0 and 0.9"),
        ({"crash_period": 41}, r"crash_period must be between 0 and periods"),
    ],
)
def test_bad_parameters_say_what_is_allowed(kwargs, message):
    with pytest.raises(ValueError, match=message):
        SwimConfig(**kwargs)
