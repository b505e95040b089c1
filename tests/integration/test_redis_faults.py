"""Graceful recovery, through a fault proxy between the limiter and a real redis-server.

Invariants: whatever the network does (refused connections, dropped connections, replies slower than
the client's timeout), ``ResilientLimiter.allow`` returns a decision and never raises; a degraded
decision follows the policy (open admits, closed rejects with retry_after), says ``degraded=True`` and is
counted; it never waits much longer than the client's timeout; and once the proxy passes traffic again
the next decisions use Redis (the same counter, carried on from before the outage).
"""

from __future__ import annotations

import time

import pytest
import redis

from sdcore.ratelimit import FixedWindowCounter, TokenBucket
from sdcore.ratelimit.live.faults import FAULT_MODES, FaultProxy
from sdcore.ratelimit.live.redis_store import RedisStore, redis_client
from sdcore.ratelimit.live.resilient import FailureCounter, ResilientDecision, ResilientLimiter

pytestmark = pytest.mark.redis

TIMEOUT = 0.2


@pytest.fixture
def proxy(redis_server):
    with FaultProxy(redis_server.host, redis_server.port) as p:
        yield p


@pytest.fixture
def proxied_client(proxy):
    c = redis_client(proxy.host, proxy.port, timeout=TIMEOUT)
    yield c
    c.close()


def timed(limiter, now, key="user"):
    start = time.perf_counter()
    d = limiter.allow(now, key)
    return d, time.perf_counter() - start


@pytest.mark.parametrize("policy", ["open", "closed"])
@pytest.mark.parametrize("fault", [("refuse", None), ("drop", None), ("delay", 0.6)])
def test_degraded_decisions_follow_the_policy_and_recover(proxy, proxied_client, prefix, policy, fault):
    limiter = ResilientLimiter(FixedWindowCounter(100, 3600.0, store=RedisStore(proxied_client, prefix=prefix)),
                               policy)  # fmt: skip
    for _ in range(3):
        d = limiter.allow(10.0, "user")
        assert not d.degraded and d.allowed
    assert d.remaining == 97

    proxy.set_mode(*fault)
    for _ in range(3):
        d, seconds = timed(limiter, 10.0)
        assert isinstance(d, ResilientDecision) and d.degraded
        assert d.allowed == (policy == "open")
        assert d.retry_after == (None if policy == "open" else 1.0)
        assert seconds < 2 * TIMEOUT + 0.15  # bounded by the client's timeouts, not by the fault
        expected = "TimeoutError" if fault[0] == "delay" else "ConnectionError"
        assert d.error.startswith(expected)
    report = limiter.report()
    assert report.degraded == 3 and report.consecutive_failures == 3 and not report.store_up

    proxy.set_mode("pass")
    d = limiter.allow(10.0, "user")
    assert not d.degraded and d.allowed
    # The count carried on in Redis. A delayed request may still have reached Redis and been counted
    # (a timeout does not mean the write did not happen): 96, or fewer with delay.
    assert d.remaining == 96 if fault[0] != "delay" else 93 <= d.remaining <= 96
    report = limiter.report()
    assert report.store_up and report.recoveries == 1 and report.decisions == 7


def test_delay_below_the_timeout_only_adds_latency(proxy, proxied_client, prefix):
    limiter = ResilientLimiter(TokenBucket(5, 1.0, store=RedisStore(proxied_client, prefix=prefix)), "closed")
    limiter.allow(0.0, "user")
    proxy.set_mode("delay", 0.05)
    d, seconds = timed(limiter, 0.0)
    assert not d.degraded and d.allowed and d.remaining == 3
    assert 0.05 <= seconds < TIMEOUT
    assert proxy.mode == "delay" and proxy.delay == 0.05


def test_an_outage_mid_traffic_never_raises_and_is_counted(proxy, proxied_client, prefix):
    """Toggle the fault modes while requests flow: every call returns, and the counter adds up."""
    counter = FailureCounter()
    limiter = ResilientLimiter(TokenBucket(1000, 100.0, store=RedisStore(proxied_client, prefix=prefix)),
                               "open", counter=counter)  # fmt: skip
    decisions = []
    for i, mode in enumerate(["pass", "drop", "pass", "refuse", "pass", "delay", "pass"]):
        proxy.set_mode(mode, 0.5 if mode == "delay" else None)
        decisions += [limiter.allow(i * 0.1) for _ in range(4)]
    report = counter.report()
    assert len(decisions) == report.decisions == 28
    assert report.degraded == sum(d.degraded for d in decisions) == 12
    assert report.recoveries == 3 and report.store_up
    assert set(report.errors) == {"ConnectionError", "TimeoutError"}
    assert all(d.allowed for d in decisions)


def test_the_proxy_refuses_then_listens_again_on_the_same_port(proxy):
    port = proxy.port
    proxy.set_mode("refuse")
    c = redis_client(proxy.host, port, timeout=TIMEOUT)
    with pytest.raises(redis.ConnectionError, match="refused"):
        c.ping()
    proxy.set_mode("pass")
    assert c.ping() and proxy.port == port
    c.close()


def test_bad_settings_are_refused(proxy, redis_server):
    with pytest.raises(ValueError, match="mode must be one of"):
        proxy.set_mode("flaky")
    with pytest.raises(ValueError, match="delay must be"):
        proxy.set_mode("delay")
    with pytest.raises(ValueError, match="delay applies to delay mode only"):
        proxy.set_mode("pass", 0.1)
    assert FAULT_MODES == ("pass", "drop", "delay", "refuse")
    no_timeout = redis.Redis(redis_server.host, redis_server.port, socket_timeout=None)
    with pytest.raises(ValueError, match="socket_timeout and socket_connect_timeout"):
        ResilientLimiter(TokenBucket(1, 1.0, store=RedisStore(no_timeout)))
    with pytest.raises(ValueError, match="policy must be one of"):
        ResilientLimiter(TokenBucket(1, 1.0), "sometimes")
    with pytest.raises(ValueError, match="timeout must be"):
        redis_client(timeout=0)
