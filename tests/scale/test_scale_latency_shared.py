"""The ladder's latency samples are shared between its steps (each stretch of draws made once, the generator
then set to the state it left), and queues that recur are one object: every number stays what the plain
sampler, run from the seed for each architecture alone, gives."""

import math

import numpy as np
import pytest

from sdcore.scale import architecture as A
from sdcore.scale.architecture import (
    DB_READ_S,
    DB_WRITE_S,
    LATENCY_SAMPLES,
    PRACTICE_ORDER,
    RTT_EDGE_S,
    RTT_GEO_S,
    RTT_ONE_REGION_S,
    RTT_SIGMA,
    TIERS,
    WEB_READ_S,
    WEB_STATIC_S,
    WEB_WRITE_QUEUED_S,
    WEB_WRITE_S,
    ScaleConfig,
    analysis,
    analyze,
    ladder_key,
)
from tests.scale.test_scale_queueing import _plain_sample_wait


def _plain_latency(cfg, load, tiers, cdn):
    """``_latency`` as first written: one architecture, its own generator, every draw made afresh."""
    rng = np.random.default_rng(cfg.seed)
    n = LATENCY_SAMPLES
    p = np.array([load.static, load.reads, load.writes]) / load.total
    kind = rng.choice(3, size=n, p=p)
    static, read, write = kind == 0, kind == 1, kind == 2
    rtt = RTT_GEO_S if cfg.sites > 1 else RTT_ONE_REGION_S
    total = rng.lognormal(math.log(rtt), RTT_SIGMA, n)
    failed = np.zeros(n, dtype=bool)
    at_origin = ~static
    if cdn is not None:
        hit = static & (rng.random(n) < cdn.request_hit_ratio)
        edge = rng.lognormal(math.log(RTT_EDGE_S), RTT_SIGMA, n)
        total = np.where(hit, edge, total + np.where(static, edge, 0.0))
        at_origin |= static & ~hit
    else:
        at_origin |= static
    by_name = {t.name: t for t in tiers}
    web_write = WEB_WRITE_QUEUED_S if "queue" in by_name else WEB_WRITE_S
    miss = rng.random(n) >= load.cache_hit_ratio

    def visit(name, mask, service):
        nonlocal total, failed
        t = by_name[name]
        blocked = rng.random(n) < t.finite.blocking
        spent = TIERS[name].hop + _plain_sample_wait(t.finite, rng, n) + rng.exponential(1.0, n) * service
        total = total + np.where(mask, spent, 0.0)
        failed |= mask & blocked

    if "load_balancer" in by_name:
        visit("load_balancer", at_origin, TIERS["load_balancer"].service_time)
    visit("web", at_origin, np.select([static, read], [WEB_STATIC_S, WEB_READ_S], web_write))
    dyn = read | write
    if "sessions" in by_name:
        visit("sessions", dyn, TIERS["sessions"].service_time)
    if "cache" in by_name:
        visit("cache", dyn, TIERS["cache"].service_time)
    visit("db_replica" if "db_replica" in by_name else "db_primary", read & miss, DB_READ_S)
    if "queue" in by_name:
        visit("queue", write, TIERS["queue"].service_time)
        drain = max(1.0, by_name["workers"].utilization, by_name["db_primary"].utilization)
        failed |= write & (rng.random(n) < 1.0 - 1.0 / drain)
    else:
        visit("db_primary", write, DB_WRITE_S)
    failed |= total > cfg.timeout
    ok = total[~failed]
    if ok.size == 0:
        return None, None, 1.0
    return float(np.quantile(ok, 0.5)), float(np.quantile(ok, 0.99)), float(failed.mean())


def _config(rng):
    return ScaleConfig(
        users=int(rng.choice([1_000, 10_000, 200_000, 1_000_000, 20_000_000, 100_000_000])),
        requests_per_user=float(rng.choice([5.0, 50.0, 400.0])),
        read_write_ratio=float(rng.choice([1.0, 10.0, 80.0])),
        static_share=float(rng.choice([0.0, 0.5, 0.9])),
        peak_factor=float(rng.choice([1.0, 3.0, 10.0])),
        practices=frozenset(p for p in PRACTICE_ORDER if rng.random() < 0.5),
        target_utilization=float(rng.choice([0.3, 0.6, 0.9])),
        items=int(rng.choice([10_000, 1_000_000])),
        cache_share=float(rng.choice([0.001, 0.01, 0.2])),
        data_centers=int(rng.integers(2, 5)),
        seed=int(rng.integers(0, 99)),
    )


@pytest.mark.parametrize("seed", range(16))
def test_every_step_and_the_page_config_have_the_plain_samplers_latency(seed):
    config = _config(np.random.default_rng(seed))
    ladder = analysis(ladder_key(config))
    own = analysis(config, like=ladder).architecture
    for arch in (*ladder.steps, own):
        plain = _plain_latency(arch.config, arch.load, arch.tiers, arch.cdn)
        assert (arch.latency_p50, arch.latency_p99, arch.error_rate) == plain, sorted(arch.config.practices)


@pytest.mark.parametrize("seed", range(4))
def test_a_step_computed_with_its_ladder_is_the_step_computed_alone(seed):
    config = _config(np.random.default_rng(100 + seed))
    for step in analysis(ladder_key(config)).steps:
        assert step == analyze(step.config)


def test_a_queue_that_recurs_on_the_ladder_is_one_object():
    steps = analysis(ScaleConfig(users=1_000_000)).steps
    lb1, lb2 = steps[1].tier("load_balancer"), steps[2].tier("load_balancer")  # caching leaves it alone
    assert lb1.finite is lb2.finite


def test_the_shared_draws_are_not_kept_with_the_analysis():
    """Megabytes of samples live only while a ladder is computed; the analysis keeps small numbers."""
    a = analysis(ScaleConfig(users=1_000_000, practices=frozenset(PRACTICE_ORDER)))
    for key, value in a._inputs.items():
        assert not isinstance(value, tuple) or not any(isinstance(v, np.ndarray) for v in value), key
    assert (
        A._latency_key(a.architecture.config, a.architecture.load, a.architecture.tiers, a.architecture.cdn)
        in a._inputs
    )
