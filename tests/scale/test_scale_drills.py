"""Failure drills in virtual time: what breaks, what is lost, and that overload is errors, never a queue
that grows without bound."""

import numpy as np
import pytest

from sdcore.scale import drills as D
from sdcore.scale.architecture import PRACTICE_ORDER, ScaleConfig, analyze
from sdcore.scale.drills import DRILLS, DrillConfig, run_drill

MILLION = frozenset({"redundancy", "caching", "cdn", "stateless", "automation"})
ALL = frozenset(PRACTICE_ORDER)


def drill(name, users=1_000_000, practices=MILLION, duration=420, **kw):
    a = analyze(ScaleConfig(users=users, practices=frozenset(practices), **kw))
    return a, run_drill(a, DrillConfig(drill=name, duration=duration, start=120))


@pytest.mark.parametrize("name", list(DRILLS))
def test_nothing_broken_means_no_errors_and_the_same_seed_gives_the_same_arrivals(name):
    a, r = drill(name, practices=ALL, users=20_000_000)
    assert r.before.errors.sum() == 0
    assert np.array_equal(r.before.offered[:120], r.after.offered[:120])
    assert r.after.offered.mean() == pytest.approx(
        a.load.total * ((120 + 2 * 300) / 420 if name == "traffic_spike" else 1), rel=0.02
    )


@pytest.mark.parametrize("name", list(DRILLS))
@pytest.mark.parametrize("practices", [frozenset(), ALL])
def test_every_request_is_served_failed_or_still_queued(name, practices):
    """Conservation: offered = served + failed + what is left in the queues at the end (the dark share and
    dead servers count as failed; with a message queue a write is served once queued)."""
    a, r = drill(name, practices=practices, duration=240)
    run = r.after
    left = run.offered.sum() - run.goodput.sum() - run.errors.sum()
    assert left >= -1e-6 * run.offered.sum()
    assert left <= 0.01 * run.offered.sum()


def test_a_stateful_web_server_takes_its_sessions_with_it():
    """Stateful: the dead server held 1/n of the open sessions (Little's law); stateless: none are lost."""
    a, stateful = drill("web_server", practices=MILLION - {"stateless"})
    n = a.tier("web").instances
    assert stateful.after.sessions_lost == pytest.approx(a.concurrent_sessions / n)
    _, stateless = drill("web_server")
    assert stateless.after.sessions_lost == 0


def test_a_dead_web_server_costs_errors_until_the_health_check():
    """The load balancer sends the dead server 1/n of the traffic for HEALTH_CHECK_S seconds."""
    a, r = drill("web_server")
    n = a.tier("web").instances
    origin = (a.load.origin_static + a.load.dynamic) / a.load.total
    window = r.after.errors[120 : 120 + int(D.HEALTH_CHECK_S)]
    assert window.sum() == pytest.approx(r.after.offered[120:130].sum() * origin / n, rel=0.05)
    assert r.after.errors[130:].sum() < 1
    assert r.recovered_at == 120 + D.HEALTH_CHECK_S


def test_the_only_web_server_takes_the_site_down():
    _, r = drill("web_server", practices=frozenset())
    assert r.after.goodput[121:].sum() == 0 and r.recovered_at is None


def test_losing_the_only_cache_sends_every_read_to_the_database():
    """One cache node, no replicas: the primary's work jumps from (1 - h) reads + writes to reads + writes,
    each weighted by its own service time."""
    a, r = drill("cache", users=2_000_000, practices={"caching"})
    p = r.after.utilization["db_primary"]
    h, load = a.load.cache_hit_ratio, a.load
    before, after = float(np.mean(p[60:120])), float(np.mean(p[125:180]))
    expected = (load.reads * 0.008 + load.writes * 0.016) / (load.db_reads * 0.008 + load.writes * 0.016)
    assert after / before == pytest.approx(expected, rel=0.05)
    assert h > 0.5


def test_a_cache_spike_can_sink_the_database():
    """At 20M users with a 20% cache the replicas were sized for 12% of the reads: half the keys going cold
    overloads them, and errors follow."""
    _, r = drill("cache", users=20_000_000, practices={"redundancy", "caching"}, cache_share=0.2)
    assert r.after.peak_utilization("db_replica") > 1
    assert r.after.error_share > r.before.error_share


def test_primary_failover_loses_the_unreplicated_writes():
    a, r = drill("db_primary")
    assert r.after.writes_lost == pytest.approx(a.config.replication_lag * a.load.writes)
    assert any(e.kind == "failover" and e.time == 120 + D.FAILOVER_AUTO_S for e in r.after.events)
    assert r.recovered_at == 120 + D.FAILOVER_AUTO_S


def test_a_message_queue_keeps_accepting_writes_while_the_primary_is_down():
    _, without = drill("db_primary", practices=MILLION)
    _, with_queue = drill("db_primary", practices=MILLION | {"services"})
    assert without.after.errors.sum() > 0
    assert with_queue.after.errors.sum() == pytest.approx(0, abs=1)
    assert with_queue.after.queued_jobs[125:150].max() > with_queue.before.queued_jobs[125:150].max()


def test_losing_the_only_data_center_leaves_only_the_cdn():
    a, r = drill("data_center")
    hits = a.load.cdn_hits / a.load.total
    assert r.after.goodput[121:].sum() == pytest.approx(r.after.offered[121:].sum() * hits, rel=1e-9)
    assert r.recovered_at is None


def test_overload_is_errors_and_bounded_latency_not_an_endless_queue():
    """Double the traffic with no autoscaler: the web tier is offered ~2x its planned load; it serves its
    capacity, refuses the rest, and the queue wait never exceeds the client's timeout."""
    a, r = drill("traffic_spike", practices=MILLION - {"automation"})
    web = a.tier("web")
    assert r.after.peak_utilization("web") > 1.1
    late = slice(200, 420)
    capacity = web.capacity
    served_origin = r.after.goodput[late] - r.after.offered[late] * a.load.cdn_hits / a.load.total
    assert served_origin.mean() == pytest.approx(capacity, rel=0.03)
    assert r.after.errors[late].sum() > 0
    assert r.after.latency.max() <= a.latency_p50 + 5 * a.config.timeout
    assert r.recovered_at is None


def test_the_autoscaler_catches_a_spike_after_its_delay():
    a, r = drill("traffic_spike", autoscale_delay=120, duration=600)
    scaled = [e for e in r.after.events if e.kind == "scaled" and e.tier == "web"]
    assert scaled and scaled[0].time >= 120 + 120
    assert r.survived and r.recovered_at >= 240


def test_bad_drill_names_itself():
    with pytest.raises(ValueError, match="drill must be one of web_server"):
        DrillConfig(drill="meteor")
    with pytest.raises(ValueError, match="start must be between 0 and duration - 1"):
        DrillConfig(duration=100, start=100)


def test_a_drill_given_its_healthy_run_equals_one_that_runs_it():
    from sdcore.scale.drills import healthy_run

    arch = analyze(ScaleConfig(users=300_000, practices=frozenset({"redundancy", "caching", "automation"})))
    healthy = healthy_run(arch, DrillConfig(duration=300, start=60))
    for drill in DRILLS:
        cfg = DrillConfig(drill=drill, duration=300, start=60)
        fresh, given = run_drill(arch, cfg), run_drill(arch, cfg, healthy)
        assert given.before is healthy
        for a, b in ((fresh.before, given.before), (fresh.after, given.after)):
            assert np.array_equal(a.goodput, b.goodput) and np.array_equal(a.errors, b.errors)
            assert np.array_equal(a.latency, b.latency) and a.events == b.events
    with pytest.raises(ValueError, match="healthy must be"):
        run_drill(arch, DrillConfig(duration=200, start=60), healthy)
