"""The fast paths of the simulation give the numbers of the plain ones: the per-bin percentiles equal
``np.percentile`` bin by bin, the breaker's run taken as the fallback run's twin equals its own run, and the
fallbacks answered in the loop say what their ``serve`` says."""

from __future__ import annotations

import dataclasses
import math

import numpy as np
import pytest

from sdcore.resilience import (
    ConsecutiveFailures,
    DefaultValue,
    Degraded,
    FailFast,
    FailureRateWindow,
    LastGood,
    SimulationConfig,
    compare,
    run,
    script,
)
from sdcore.resilience.fallback import LastGoodCache
from sdcore.resilience.simulate import _FIXED_ANSWERS, _run, variant_config


def _same(a, b) -> None:
    for f in dataclasses.fields(a):
        x, y = getattr(a, f.name), getattr(b, f.name)
        if isinstance(x, np.ndarray):
            assert x.dtype == y.dtype and np.array_equal(x, y, equal_nan=True), f.name
        else:
            assert x == y, f.name


def _loop_percentiles(r, q: float) -> np.ndarray:
    """The per-bin loop the vectorized percentiles replaced."""
    out = np.full(r.config.bins, np.nan)
    ok = ~np.isnan(r.latency)
    b = np.minimum((r.arrival / r.config.bin_width).astype(np.int64), r.config.bins - 1)[ok]
    lat = r.latency[ok]
    for i in range(r.config.bins):
        if (b == i).any():
            out[i] = np.percentile(lat[b == i], q)
    return out


@pytest.mark.parametrize("seed", range(6))
def test_per_bin_percentiles_equal_numpy_bin_by_bin(seed):
    rng = np.random.default_rng(seed)
    n = int(rng.integers(1, 400))
    arrival = np.sort(rng.uniform(0, 20, n))
    latency = np.round(rng.lognormal(-2, 1, n), int(rng.integers(1, 4)))  # ties, and bins of one request
    latency[rng.random(n) < 0.1] = np.nan  # refused for a full pool
    base = run(SimulationConfig(duration=20.0, request_rate=5.0, seed=seed))
    r = dataclasses.replace(base, arrival=arrival, latency=latency)
    for q in (0, 1, 33.3, 50, 90, 99, 99.9, 100):
        assert np.array_equal(r.latency_percentiles(q), _loop_percentiles(r, q), equal_nan=True)


CONFIGS = [
    SimulationConfig(duration=60.0, request_rate=80.0, fallback=LastGood(), seed=3),
    SimulationConfig(duration=60.0, request_rate=80.0, fallback=LastGood(max_age=2.0), seed=4,
                     timeline=script("flapping", start=5, length=40, flap_period=4)),
    SimulationConfig(duration=50.0, request_rate=60.0, fallback=DefaultValue(), timeout=0.3, seed=5,
                     timeline=script("slow", start=5, length=30, slow_latency=2.0)),
    SimulationConfig(duration=50.0, request_rate=60.0, fallback=Degraded(latency=0.05), pool_size=10, seed=6),
    SimulationConfig(duration=50.0, request_rate=60.0, fallback=Degraded(latency=0.0), seed=7,
                     breaker=FailureRateWindow()),
    SimulationConfig(duration=40.0, request_rate=50.0, fallback=FailFast(), seed=8,
                     breaker=ConsecutiveFailures(fail_max=2, reset_timeout=2.0)),
]  # fmt: skip


@pytest.mark.parametrize("config", CONFIGS)
def test_each_run_of_a_comparison_is_the_run_of_its_variant(config):
    cmp = compare(config)
    for variant, result in cmp.runs.items():
        _same(result, run(variant_config(config, variant)))


def test_a_shared_result_cannot_be_changed():
    r = compare(CONFIGS[0])["breaker"]
    with pytest.raises(ValueError):
        r.latency[0] = 1.0
    with pytest.raises(ValueError):
        r.dependency_calls[0] = 1


@pytest.mark.parametrize("fallback", [FailFast(), DefaultValue(), Degraded(), Degraded(latency=0.3)])
def test_the_fixed_answers_are_what_serve_says(fallback):
    res = fallback.serve(10.0, LastGoodCache())
    assert _FIXED_ANSWERS[type(fallback)](fallback) == (res.ok, res.age, res.latency)


def test_last_good_in_the_loop_is_what_serve_says():
    # the loop answers for LastGood itself: ages and refusals must match serve() on the same history
    r = run(SimulationConfig(duration=60.0, request_rate=80.0, fallback=LastGood(max_age=1.5), seed=9))
    served = ~np.isnan(r.fallback_age)
    assert served.any() and (r.fallback_age[served] <= 1.5).all()
    assert not math.isnan(r.latency_quantile(50))


RELEASE_CONFIGS = [
    *CONFIGS,
    SimulationConfig(duration=30.0, request_rate=200.0, local_latency=0.05, pool_size=5, seed=10),  # pool full
    SimulationConfig(duration=30.0, request_rate=150.0, local_latency=0.5, pool_size=40, seed=11,
                     fallback=LastGood(), timeline=script("slow", start=5, length=20, slow_latency=1.5)),
    SimulationConfig(duration=30.0, request_rate=100.0, local_latency=0.0, seed=12),  # free at once
    SimulationConfig(duration=30.0, request_rate=120.0, local_latency=2.0, pool_size=100, seed=13,
                     fallback=Degraded(latency=0.2), breaker=FailureRateWindow(window="time", size=5)),
]  # fmt: skip


@pytest.mark.parametrize("config", RELEASE_CONFIGS)
def test_releases_after_local_work_kept_in_a_list_give_the_heaps_numbers(config):
    # the list of releases after local work against the plain loop where each is a heap event
    fast, fast_twin = _run(config, fail_fast_twin=True)
    plain, plain_twin = _run(config, fail_fast_twin=True, _heap_releases=True)
    _same(fast, plain)
    assert (fast_twin is None) == (plain_twin is None)
    if fast_twin is not None:
        _same(fast_twin, plain_twin)
    if config.pool_size == 5:
        assert fast.pool_full.any()  # the busy count is what decides


@pytest.mark.parametrize("config", CONFIGS[:3])
def test_a_comparison_given_its_baseline_is_the_comparison(config):
    baseline = run(variant_config(config, "none"))
    cmp = compare(config, baseline=baseline)
    assert cmp["none"] is baseline
    for a, b in zip(cmp.results, compare(config).results, strict=True):
        _same(a, b)
    other = dataclasses.replace(config, breaker=FailureRateWindow(), fallback=DefaultValue())
    assert compare(other, baseline=baseline)["none"] is baseline  # the breaker and fallback do not matter


def test_a_wrong_baseline_is_refused():
    config = CONFIGS[0]
    with pytest.raises(ValueError, match="baseline"):
        compare(config, baseline=run(variant_config(dataclasses.replace(config, seed=99), "none")))
    with pytest.raises(ValueError, match="baseline"):
        compare(config, baseline=run(variant_config(config, "breaker")))


def test_the_latencies_are_sorted_once_per_result():
    r = run(CONFIGS[0])
    first = r._latencies_by_bin()
    assert r._latencies_by_bin() is first  # kept with the result
    assert all(not a.flags.writeable for a in first)
    p99 = r.latency_percentiles(99)
    fresh = dataclasses.replace(r)  # a new result sorts its own, and the memo is no part of equality
    assert fresh == r and np.array_equal(fresh.latency_percentiles(99), p99, equal_nan=True)
    assert np.array_equal(r.latency_percentiles(99), _loop_percentiles(r, 99), equal_nan=True)


def test_the_run_quantiles_are_kept_per_result_and_equal_numpy():
    r = run(CONFIGS[2])
    lat = r.latency[~np.isnan(r.latency)]
    for q in (50, 99, 99.9, 100):
        assert r.latency_quantile(q) == float(np.percentile(lat, q))
        assert r.latency_quantile(q) == float(np.percentile(lat, q))  # the kept value
    assert r._quantiles[99] == float(np.percentile(lat, 99))
    fresh = dataclasses.replace(r)  # a new result keeps its own, and the memo is no part of equality
    assert fresh == r and "_quantiles" not in fresh.__dict__
    refused = dataclasses.replace(r, latency=np.full(r.requests, np.nan))
    assert math.isnan(refused.latency_quantile(99)) and math.isnan(refused.latency_quantile(99))
