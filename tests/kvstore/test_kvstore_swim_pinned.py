"""simulate_swim's hot loops run on plain lists (for speed): every number must stay what the numpy-scalar loops
gave. The fingerprints below were taken from that earlier implementation (view, up and messages hashed)."""

from __future__ import annotations

import hashlib

import pytest

from sdcore.kvstore.swim import SwimConfig, detection_trials, simulate_swim

PINNED = (
    (
        dict(nodes=16, k=3, suspicion_periods=3, loss=0.0, periods=40, crash_node=0, crash_period=5, seed=1),
        ("ed3fff7c8d4e818d", 6, 9, 11, 0, 0, 0),
    ),
    (
        dict(nodes=7, k=1, suspicion_periods=0, loss=0.3, periods=30, crash_node=3, crash_period=2, seed=9),
        ("64782cc00469c883", 2, 2, 5, 0, 30, 2),
    ),
    (
        dict(nodes=40, k=4, suspicion_periods=5, loss=0.1, periods=25, crash_node=11, crash_period=4,
             retransmit_mult=2, seed=123),
        ("d77caf3fc9f527cc", 5, 10, 11, 215, 182, 8),
    ),
    (
        dict(nodes=5, k=0, suspicion_periods=2, loss=0.6, periods=50, crash_node=0, crash_period=0, seed=77),
        ("5c39269145be68a7", None, None, None, 21, 20, 6),
    ),
)  # fmt: skip


@pytest.mark.parametrize(("config", "expected"), PINNED)
def test_simulate_swim_matches_the_pinned_run(config, expected):
    r = simulate_swim(SwimConfig(**config))
    digest = hashlib.sha256(r.view.tobytes() + r.up.tobytes() + r.messages.tobytes()).hexdigest()[:16]
    got = (
        digest,
        r.first_suspected,
        r.first_dead,
        r.all_dead,
        r.false_suspicions,
        r.false_deaths,
        r.refutations,
    )
    assert got == expected
    assert r.messages.dtype.kind == "i" and r.view.dtype.kind == "i"


def test_detection_trials_of_the_default_config_are_pinned():
    c = SwimConfig(
        nodes=16, k=3, suspicion_periods=3, loss=0.0, periods=40, crash_node=0, crash_period=5, seed=1
    )
    trials = detection_trials(c, 120)
    assert (int(trials.periods.sum()), int(trials.all_dead.sum())) == (183, 783)
