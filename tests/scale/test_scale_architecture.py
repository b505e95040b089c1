"""The architecture model: load propagation, sizing, the bottleneck, latency, availability and cost."""

import math

import numpy as np
import pytest

from sdcore.scale import architecture as A
from sdcore.scale.architecture import PRACTICE_ORDER, TIERS, ScaleConfig, analyze, diurnal_weights, ladder
from sdcore.scale.availability import availability_parallel, availability_series, instance_availability
from sdcore.scale.caching import zipf_hit_ratio

ALL = frozenset(PRACTICE_ORDER)
MILLION = frozenset({"redundancy", "caching", "cdn", "stateless", "automation"})


def arch(users=1_000_000, practices=MILLION, **kw):
    return analyze(ScaleConfig(users=users, practices=frozenset(practices), **kw))


def test_load_splits_by_behaviour():
    a = arch(
        users=2_000_000,
        practices=set(),
        requests_per_user=20,
        static_share=0.4,
        read_write_ratio=4,
        peak_factor=2.5,
    )
    total = 2_000_000 * 20 / 86_400 * 2.5
    assert a.load.total == pytest.approx(total)
    assert a.load.static == pytest.approx(0.4 * total)
    assert a.load.writes == pytest.approx(0.6 * total / 5)
    assert a.load.reads == pytest.approx(0.6 * total * 4 / 5)


@pytest.mark.parametrize("share", [0.001, 0.01, 0.2])
def test_a_cache_leaves_one_minus_h_of_the_reads_for_the_database(share):
    """db reads = (1 - h) reads with h the exact Zipf hit ratio; replicas also replay every write."""
    a = arch(cache_share=share)
    h = zipf_hit_ratio(a.config.items, a.config.zipf_exponent, round(a.config.items * share))
    assert a.load.cache_hit_ratio == pytest.approx(h, rel=1e-12)
    assert a.load.db_reads == pytest.approx((1 - h) * a.load.reads)
    assert a.tier("db_replica").arrival_rate == pytest.approx(a.load.db_reads + a.load.writes)
    assert a.tier("db_primary").arrival_rate == pytest.approx(a.load.writes)
    assert a.tier("cache").arrival_rate == pytest.approx(a.load.reads + a.load.writes)


def test_without_cache_or_replicas_the_primary_takes_every_read_and_write():
    a = arch(practices=set())
    assert a.load.db_reads == a.load.reads
    assert a.tier("db_primary").arrival_rate == pytest.approx(a.load.reads + a.load.writes)
    assert {t.name for t in a.tiers} == {"web", "db_primary"}
    assert all(t.instances == 1 for t in a.tiers)


def test_the_cdn_sends_the_origin_only_its_misses():
    a = arch()
    assert a.load.origin_static == pytest.approx(a.load.static * (1 - a.cdn.request_hit_ratio))
    assert a.tier("web").arrival_rate == pytest.approx(a.load.origin_static + a.load.dynamic)
    assert a.cdn.byte_hit_ratio < a.cdn.request_hit_ratio


def test_every_data_center_applies_every_write():
    a = arch(users=100_000_000, practices=ALL, data_centers=3)
    assert a.tier("db_primary").arrival_rate == pytest.approx(3 * a.load.writes)
    assert a.tier("web").arrival_rate == pytest.approx(a.load.origin_static + a.load.dynamic)
    assert all(t.instances % 3 == 0 for t in a.tiers)


@pytest.mark.parametrize("users", [1_000, 1_000_000, 100_000_000])
@pytest.mark.parametrize("practices", [set(), MILLION, ALL])
def test_the_bottleneck_is_the_busiest_tier(users, practices):
    a = arch(users=users, practices=practices)
    assert a.bottleneck.utilization == max(t.utilization for t in a.tiers)
    for t in a.tiers:
        spec = TIERS[t.name]
        assert t.utilization == pytest.approx(t.arrival_rate * t.service_time / (t.instances * spec.workers))
        assert t.queue.utilization == pytest.approx(t.utilization)


def test_scalable_tiers_are_sized_to_the_target():
    a = arch(users=50_000_000, practices=ALL, target_utilization=0.5)
    for t in a.tiers:
        assert t.utilization <= 0.5 + 1e-9
        if t.instances_per_site > 2 and not t.name.startswith("db_"):  # one fewer would be over target
            per_site = t.arrival_rate / a.config.sites
            assert per_site / ((t.instances_per_site - 1) * t.per_instance_capacity) > 0.5 - 1e-9


def test_writes_have_a_ceiling_until_sharding():
    """Without sharding one primary takes every write: users / rho is the most this design carries."""
    a = arch(users=100_000_000)
    name, users = a.ceiling
    p = a.tier("db_primary")
    assert name == "db_primary" and p.instances == 1 and p.overloaded
    assert users == pytest.approx(100_000_000 / p.utilization)
    assert users == pytest.approx(A.TIERS["db_primary"].workers / A.DB_WRITE_S / a.load.writes * 1e8)
    sharded = arch(users=100_000_000, practices=MILLION | {"sharding"})
    assert sharded.ceiling is None and not sharded.tier("db_primary").overloaded
    assert sharded.tier("db_primary").instances >= 2


def test_overload_is_errors_not_infinite_latency():
    """One web server at 1M users: offered 2.6x its capacity. M/M/c has no steady state; the finite queue
    refuses about 1 - 1/rho of the requests and what it serves stays under the client's timeout."""
    a = arch(practices=set())
    web = a.tier("web")
    assert web.utilization > 2 and not web.queue.stable and web.queue.mean_wait is None
    assert web.finite.blocking == pytest.approx(1 - 1 / web.utilization, abs=0.01)
    served_share = (
        a.load.total / a.load.total
    )  # every request but... static and dynamic all pass the web tier
    assert a.error_rate == pytest.approx(web.finite.blocking * served_share, abs=0.02)
    assert a.latency_p99 < a.config.timeout


def test_latency_falls_with_geo_routing_and_the_cdn():
    one = arch(practices={"redundancy"})
    cdn = arch(practices={"redundancy", "cdn"})
    geo = arch(practices={"redundancy", "cdn", "multi_dc"})
    assert geo.latency_p50 < cdn.latency_p50 < one.latency_p50
    assert one.latency_p50 == pytest.approx(A.RTT_ONE_REGION_S, rel=0.3)


def test_availability_of_a_single_server_is_its_parts_in_series():
    a = arch(users=1000, practices=set())
    web = instance_availability(TIERS["web"].failures_per_year, A.MANUAL_REPAIR_S)
    db = instance_availability(TIERS["db_primary"].failures_per_year, A.MANUAL_REPAIR_S)
    dc = instance_availability(A.DC_FAILURES_PER_YEAR, A.DC_REPAIR_S)
    assert a.availability == pytest.approx(availability_series(A.DNS_AVAILABILITY, dc, web, db))
    assert a.downtime_per_year == pytest.approx((1 - a.availability) * 365.25 * 86_400)


def test_redundancy_and_data_centers_raise_availability():
    one = arch(practices=set())
    red = arch(practices={"redundancy"})
    two = arch(practices={"redundancy", "multi_dc"})
    assert one.availability < red.availability < two.availability
    site = red.availability / A.DNS_AVAILABILITY
    assert two.availability == pytest.approx(A.DNS_AVAILABILITY * availability_parallel(site, site), rel=1e-6)


def test_cost_adds_up():
    for a in (arch(), arch(users=100_000_000, practices=ALL), arch(users=1000, practices=set())):
        assert a.monthly_cost == pytest.approx(sum(c.monthly for c in a.costs))
        for t in a.tiers:
            assert t.monthly_cost == pytest.approx(t.mean_instances * TIERS[t.name].monthly_cost)


def test_autoscaling_pays_for_the_daily_curve_not_the_peak():
    fixed = arch(users=20_000_000, practices=MILLION - {"automation"})
    auto = arch(users=20_000_000, practices=MILLION)
    assert auto.tier("web").instances == fixed.tier("web").instances
    assert auto.tier("web").mean_instances < fixed.tier("web").mean_instances
    assert auto.tier("db_primary").mean_instances == 1


@pytest.mark.parametrize("pf", [1.0, 1.7, 3.0, 8.0])
def test_diurnal_weights_have_mean_one_and_the_peak_factor(pf):
    w = diurnal_weights(pf)
    assert w.mean() == pytest.approx(1.0) and w.max() == pytest.approx(pf, rel=1e-6) and np.all(w > 0)


def test_ladder_switches_the_practices_on_in_order():
    steps = ladder(ScaleConfig(users=1_000_000))
    assert len(steps) == 9
    for k, s in enumerate(steps):
        assert s.config.practices == frozenset(PRACTICE_ORDER[:k])
    assert steps[0].error_rate > 0.5 and steps[1].error_rate == 0


def test_concurrent_sessions_by_littles_law():
    a = arch()
    assert a.concurrent_sessions == pytest.approx(1e6 * 2 / 86_400 * 3 * 600)


def test_results_are_reproducible():
    a, b = arch(), arch()
    assert a.latency_p99 == b.latency_p99 and a.rows() == b.rows()
    assert not math.isnan(a.latency_p99)


@pytest.mark.parametrize(
    "kw,fragment",
    [
        ({"users": 0}, "users must be between 1"),
        ({"practices": frozenset({"magic"})}, "practice must be one of redundancy"),
        ({"practices": "caching"}, "practices must be a set"),
        ({"static_share": 1.0}, "static_share must be between 0 and 0.99"),
        ({"target_utilization": 1.0}, "target_utilization must be between 0.05 and 0.95"),
        ({"data_centers": 1}, "data_centers must be between 2 and 8"),
        ({"peak_factor": 0.5}, "peak_factor must be between 1 and 20"),
    ],
)
def test_bad_parameters_name_themselves(kw, fragment):
    with pytest.raises(ValueError, match=fragment):
        ScaleConfig(**kw)


def test_an_analysis_like_another_shares_its_ladder_and_equals_a_fresh_one():
    base = A.analysis(A.ladder_key(ScaleConfig(users=200_000, peak_factor=4.0)))
    for practices in ({"redundancy", "caching"}, {"cdn", "sharding"}, set(PRACTICE_ORDER), set()):
        config = ScaleConfig(users=200_000, peak_factor=4.0, practices=frozenset(practices))
        fresh, like = A.analysis(config), A.analysis(config, like=base)
        assert like.steps is base.steps
        assert like.architecture == fresh.architecture and like.steps == fresh.steps
    with pytest.raises(ValueError, match="like must be"):
        A.analysis(ScaleConfig(users=100_000), like=base)
