"""The simulation loop gives every number the reference loop gave (``reference_run.py``, the loop before the
retry back-offs, the closed breaker's admission and the arrivals' bins were written inline): every array, the
transitions and the twin, on seeded random configs over every script, policy, fallback and jitter."""

from __future__ import annotations

import dataclasses
import random

import numpy as np
import pytest

from sdcore.resilience import (
    ConsecutiveFailures,
    DefaultValue,
    Degraded,
    FailFast,
    FailureRateWindow,
    LastGood,
    RetryBudgetConfig,
    RetryPolicy,
    SimulationConfig,
    script,
)
from sdcore.resilience.simulate import _run, variant_config
from tests.resilience.reference_run import reference_run


def _same(a, b) -> None:
    assert a is not None and b is not None
    for f in dataclasses.fields(a):
        x, y = getattr(a, f.name), getattr(b, f.name)
        if isinstance(x, np.ndarray):
            assert x.dtype == y.dtype and np.array_equal(x, y, equal_nan=True), f.name
        else:
            assert x == y, f.name


def _config(seed: int) -> SimulationConfig:
    rng = random.Random(seed)
    kind = rng.choice(["healthy", "outage", "slow", "flapping", "recovering"])
    timeline = script(kind, start=rng.choice([0, 5, 10]), length=rng.choice([5, 15, 25]),
                      failure_rate=rng.choice([0.0, 0.3, 0.5, 1.0]), slow_latency=rng.choice([0.5, 2.0]),
                      flap_period=rng.choice([2, 4]))  # fmt: skip
    extras = {"max_half_open_calls": rng.choice([None, 1, 2]), "open_backoff": rng.choice([1.0, 2.0]),
              "max_reset_timeout": rng.choice([None, 8.0])}  # fmt: skip
    if rng.random() < 0.5:
        breaker = ConsecutiveFailures(rng.randint(1, 6), rng.choice([0.5, 2.0]), rng.randint(1, 3), **extras)
    else:
        breaker = FailureRateWindow(
            window=rng.choice(["count", "time"]), size=rng.randint(1, 20), minimum_calls=rng.randint(1, 10),
            failure_rate_threshold=rng.choice([20.0, 50.0]), slow_call_duration=rng.choice([0.1, 0.5]),
            slow_call_rate_threshold=rng.choice([50.0, 100.0]), wait_in_open=rng.choice([0.5, 2.0]),
            permitted_calls_in_half_open=rng.randint(1, 5), **extras,
        )  # fmt: skip
    fallback = rng.choice([FailFast(), DefaultValue(), LastGood(), LastGood(max_age=1.0), Degraded(0.05),
                           Degraded(0.0)])  # fmt: skip
    return SimulationConfig(
        duration=rng.choice([20.0, 30.0, 40.5]), request_rate=rng.choice([20.0, 60.0, 150.0]),
        dependency_share=rng.choice([0.0, 0.5, 1.0]), local_latency=rng.choice([0.0, 0.02, 0.3]),
        pool_size=rng.choice([3, 20, 200]), timeout=rng.choice([0.1, 0.5, 2.0]),
        retry=RetryPolicy(rng.randint(0, 4), rng.choice([0.0, 0.01, 0.2]), jitter=rng.choice(["none", "full", "equal"])),
        retry_budget=rng.choice([None, RetryBudgetConfig(ratio=0.1)]), dependency_capacity=rng.choice([15.0, 1e4]),
        timeline=timeline, breaker=breaker, fallback=fallback, latency_sigma=rng.choice([0.0, 0.5]),
        bin_width=rng.choice([1.0, 0.7, 2.5]), seed=seed,
    )  # fmt: skip


@pytest.mark.parametrize("seed", range(60))
def test_the_loop_gives_the_reference_loops_numbers(seed):
    config = _config(seed)
    for variant in ("none", "breaker", "fallback"):
        c = variant_config(config, variant)
        fast, fast_twin = _run(c, fail_fast_twin=True)
        ref, ref_twin = reference_run(c, fail_fast_twin=True)
        _same(fast, ref)
        assert (fast_twin is None) == (ref_twin is None)
        if fast_twin is not None:
            _same(fast_twin, ref_twin)
        _same(_run(c, _heap_releases=True)[0], ref)


def test_the_page_presets_give_the_reference_loops_numbers():
    from lessons import resilience as L

    for preset in L.PRESETS.values():
        for rate in (None, 500):
            values = dict(preset.values) | ({"rate": rate} if rate else {})
            for variant in ("none", "fallback"):
                c = variant_config(L.config(values), variant)
                fast, twin = _run(c, fail_fast_twin=True)
                ref, ref_twin = reference_run(c, fail_fast_twin=True)
                _same(fast, ref)
                if twin is not None:
                    _same(twin, ref_twin)
