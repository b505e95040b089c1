"""The distributed page's live experiments against a real redis-server (no fakes).

Invariants: the race's Lua variants never admit more than the limit and every variant leaves no key behind;
in the fault run, exactly the decisions inside the fault window are degraded, they follow the policy (open
admits, closed rejects), the first decision after the window is answered by Redis again (one recovery),
and the session's prefix is empty afterwards; a local Redis started for a page is stopped when its handle
is dropped.
"""

from __future__ import annotations

import gc
import time

import pytest

from lessons.distributed_rate_limiting import race_check, round_trip_headlines
from sdcore.ratelimit.distributed import VARIANTS
from sdcore.ratelimit.live.connection import RedisUnavailable, parse_redis_url, probe_redis, start_local_redis
from sdcore.ratelimit.live.fault_runs import compare_fault_policies, run_fault_scenario
from sdcore.ratelimit.live.race_runs import run_races
from sdcore.ratelimit.live.redis_server import free_port
from sdcore.ratelimit.live.redis_store import measure_round_trip

pytestmark = pytest.mark.redis


@pytest.fixture(scope="module")
def address(redis_server):
    return parse_redis_url(f"{redis_server.url}/0")


def keys_under(client, prefix: str) -> list:
    return list(client.scan_iter(match=prefix + "*"))


def test_probe_sees_the_server(address):
    reach = probe_redis(address)
    assert reach.ok and reach.version and reach.version[0].isdigit() and reach.error is None


def test_the_database_number_is_honoured(redis_server, client, prefix):
    five = parse_redis_url(f"{redis_server.url}/5")
    assert probe_redis(five).ok
    c = five.client()
    try:
        c.set(prefix + "x", "1")
        assert client.get(prefix + "x") is None  # ``client`` is on database 0
        assert c.get(prefix + "x") == b"1"
    finally:
        c.delete(prefix + "x")
        c.close()


def test_race_all_variants_on_redis(address, client, prefix):
    seen = []
    report = run_races(list(VARIANTS), address=address, clients=4, requests_per_client=10, limit=5,
                       think_time=0.001, runs=2, prefix=prefix, progress=lambda f, t: seen.append(t))  # fmt: skip
    assert [r.variant for r in report.results] == list(VARIANTS) and report.skipped == ()
    for variant in ("lua", "lua_log", "watch_multi", "memory_lock"):
        assert report.result(variant).overshoot.max == 0, variant
        assert [r.admitted for r in report.result(variant).runs] == [5, 5]
    for variant in ("get_incr", "log_separate"):
        assert 0 <= report.result(variant).overshoot.max <= 3, variant  # at most K - 1 extra
    rows = {r["variant"]: r for r in report.rows()}
    assert rows[VARIANTS["lua"].label]["store"] == "Redis"
    assert rows[VARIANTS["lua"].label]["round trips per admitted decision"] == "1"
    assert "Lua window +0" in race_check(report)
    assert any("GET, decide, SET" in t for t in seen)
    assert keys_under(client, prefix) == []


@pytest.mark.parametrize("mode", ["refuse", "drop", "delay"])
@pytest.mark.parametrize("policy", ["open", "closed"])
def test_fault_run_degrades_by_policy_and_recovers(address, client, prefix, mode, policy):
    # Generous timeouts: the first decision after the fault reconnects, which must not time out on a busy
    # machine (refused and dropped connections fail at once whatever the timeout). At 0.1 s a delayed run's
    # first decision after the fault timed out once in CI while the other test worker was busy.
    timeout = 0.25 if mode == "delay" else 0.5
    run = run_fault_scenario(address, policy, mode, decisions=30, timeout=timeout, prefix=prefix)
    assert (run.fault_start, run.fault_end) == (10, 20)
    assert [d.degraded for d in run.decisions] == [False] * 10 + [True] * 10 + [False] * 10
    fault = run.during_fault()
    assert all(d.allowed == (policy == "open") and d.phase == "fault" for d in fault)
    assert run.recovered and run.recovered_at == 20 and run.report.recoveries == 1
    assert set(run.report.errors) == {"TimeoutError" if mode == "delay" else "ConnectionError"}
    if mode == "delay":
        assert all(
            d.latency_ms >= 0.95 * timeout * 1000 for d in fault
        )  # each waited for the client's timeout
        assert run.delay == pytest.approx(3 * timeout)
    else:
        assert max(d.latency_ms for d in fault) < 250  # refused or closed: fails without waiting the timeout
    # Before the fault Redis decides exactly as the same bucket in memory (the store is bit-identical):
    # 5 tokens and 0.5 earned per 0.1 s step admit the first 9 requests, then every other one.
    assert [d.allowed for d in run.decisions[:10]] == [d.would_allow for d in run.decisions[:10]]
    assert [d.allowed for d in run.decisions[:10]] == [True] * 9 + [False]
    assert keys_under(client, prefix) == []


def test_both_policies_side_by_side(address):
    progress = []
    opened, closed = compare_fault_policies(address, "refuse", decisions=30, timeout=0.5,
                                            progress=lambda f, t: progress.append(f))  # fmt: skip
    assert (opened.policy, closed.policy) == ("open", "closed")
    assert (
        opened.summary()["admitted during the fault"] == 10
        and closed.summary()["rejected during the fault"] == 10
    )
    assert opened.summary()["admitted that a working limiter would reject"] > 0
    assert closed.summary()["rejected that a working limiter would admit"] > 0
    assert progress == sorted(progress) and progress[-1] == 1.0


def test_fault_experiment_needs_a_live_redis():
    with pytest.raises(RedisUnavailable, match="before the fault experiment"):
        compare_fault_policies(parse_redis_url(f"redis://127.0.0.1:{free_port()}/0"), "refuse")


def test_race_says_when_redis_is_gone():
    gone = parse_redis_url(f"redis://127.0.0.1:{free_port()}/0")
    with pytest.raises(RedisUnavailable, match="during the race"):
        run_races(["lua"], address=gone, runs=1, timeout=0.5)


def test_round_trip_headlines(client):
    heads = round_trip_headlines(measure_round_trip(client, runs=2, per_run=10))
    assert [h.label for h in heads] == ["PING round trip (median)", "One decision (Lua, median)",
                                        "Decisions/s on one connection"]  # fmt: skip
    assert heads[0].value.endswith(" µs") and "min" in heads[0].help and "max" in heads[0].help


def test_a_started_local_redis_stops_when_dropped():
    server = start_local_redis()
    process = server.process
    assert probe_redis(parse_redis_url(server.url)).ok
    del server
    gc.collect()
    deadline = time.monotonic() + 5
    while process.poll() is None and time.monotonic() < deadline:
        time.sleep(0.05)
    assert process.poll() is not None
