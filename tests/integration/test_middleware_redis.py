"""The middleware on a real redis-server through ``redis.asyncio``, and its fallbacks when Redis fails.

Invariants: :class:`AsyncRedisStore` decides bit for bit like the blocking RedisStore and the MemoryStore
(the same Lua scripts, key layout and arithmetic), for every algorithm; the middleware makes the same
decisions on Redis as in memory, and two middlewares sharing a Redis and a prefix share the limit; with
Redis unreachable no request fails or hangs: fail-open admits, fail-closed refuses (503, Retry-After),
the deny-list still answers 403, every degraded decision is counted, and when Redis is back the counters
carry on.
"""

from __future__ import annotations

import asyncio
import time
import uuid

import httpx
import numpy as np
import pytest
import redis.asyncio

from sdcore.ratelimit import MemoryStore
from sdcore.ratelimit.gateway import Gateway, Request
from sdcore.ratelimit.limiters import make_limiter
from sdcore.ratelimit.live.aio_store import AsyncRedisStore, async_redis_client
from sdcore.ratelimit.live.faults import FaultProxy
from sdcore.ratelimit.live.middleware import RateLimitMiddleware
from sdcore.ratelimit.live.redis_server import free_port
from sdcore.ratelimit.live.redis_store import RedisStore
from tests.integration.test_middleware_asgi import NOW, RULES, echo_app, limit_headers

pytestmark = pytest.mark.redis

TIMEOUT = 0.2
ALGORITHMS = (
    "fixed_window",
    "sliding_window_counter",
    "sliding_log",
    "token_bucket",
    "leaking_bucket",
    "gcra",
)


def url(server) -> str:
    return f"redis://{server.host}:{server.port}/0"


async def get_all(app, requests):
    out = []
    for path, ip, headers in requests:
        transport = httpx.ASGITransport(app=app, client=(ip, 40000))
        async with httpx.AsyncClient(transport=transport, base_url="http://api.test") as c:
            out.append(await c.get(path, headers=headers))
    return out


@pytest.mark.parametrize("algorithm", ALGORITHMS)
def test_async_store_decides_like_the_blocking_and_memory_stores(redis_server, client, prefix, algorithm):
    rng = np.random.default_rng(7)
    times = np.sort(rng.uniform(0, 6, 300)).round(6).tolist()
    keys = rng.choice(["a", "b"], len(times)).tolist()
    memory = make_limiter(algorithm, 5, 1.0, MemoryStore())
    blocking = make_limiter(algorithm, 5, 1.0, RedisStore(client, prefix=prefix + "sync:"))

    async def go():
        aclient = async_redis_client(redis_server.host, redis_server.port, timeout=5.0)
        astore = AsyncRedisStore(aclient, prefix + "async:")
        limiter = make_limiter(algorithm, 5, 1.0, astore.store)
        try:
            decisions = [await astore.allow(limiter, t, k) for t, k in zip(times, keys, strict=True)]
            keys_async = await astore.keys()
            assert await astore.clear() == len(keys_async) > 0
            return decisions, astore.round_trips
        finally:
            await aclient.aclose()

    decisions, round_trips = asyncio.run(go())
    assert round_trips == len(times)
    for t, k, d in zip(times, keys, decisions, strict=True):
        assert d == memory.allow(t, k) == blocking.allow(t, k)


def test_the_async_stores_limiters_refuse_to_run_outside_run(redis_server):
    astore = AsyncRedisStore(async_redis_client(redis_server.host, redis_server.port), "sds:test:outside:")
    limiter = make_limiter("fixed_window", 5, 1.0, astore.store)
    with pytest.raises(RuntimeError, match="run"):
        limiter.allow(1.0, "k")


def test_same_decisions_in_memory_and_on_redis(redis_server, client, prefix):
    reqs = [("/feed", "192.0.2.1", {})] * 7 + [("/login", "192.0.2.2", {"X-User-Id": "ann"})] * 4
    reqs += [("/search", "192.0.2.3", {"X-Api-Key": "k1"})] * 5 + [("/feed", "198.18.0.1", {})]
    reqs += [("/feed", "192.0.2.4", {"X-Api-Key": "partner-key"})] * 3

    async def go():
        on_redis = RateLimitMiddleware(
            echo_app, RULES, store=url(redis_server), prefix=prefix, clock=lambda: NOW
        )
        in_memory = RateLimitMiddleware(echo_app, RULES, clock=lambda: NOW)
        try:
            return await get_all(on_redis, reqs), await get_all(in_memory, reqs), on_redis.report()
        finally:
            await on_redis.aclose()

    redis_side, memory_side, report = asyncio.run(go())
    for (path, _, headers), r, m in zip(reqs, redis_side, memory_side, strict=True):
        rh, mh = limit_headers(r), limit_headers(m)
        assert r.status_code == m.status_code
        wait_redis, wait_memory = rh.pop("retry-after", None), mh.pop("retry-after", None)
        assert rh.pop("x-ratelimit-retry-after", None) == wait_redis
        assert mh.pop("x-ratelimit-retry-after", None) == wait_memory
        assert rh == mh
        if path == "/feed" and not headers:  # one matching rule: the same Retry-After
            assert wait_redis == wait_memory
        elif wait_memory is not None:
            # Several rules: in memory the gateway tries them all ahead on a copy of their state (an
            # honest wait); a shared store cannot be copied, so Redis tells the rejecting rule's own wait.
            assert int(wait_redis) <= int(wait_memory)
    assert [r.status_code for r in redis_side].count(429) == 4
    assert report.decisions == 16 and report.degraded == 0  # the lists never asked the store
    assert any(k.startswith(prefix) for k in (x.decode() for x in client.scan_iter(match=prefix + "*")))


def test_the_middleware_and_a_blocking_gateway_share_counters(redis_server, client, prefix):
    """Same key layout as Gateway over RedisStore: a blocking server and an async one share the limit."""
    gateway = Gateway(RULES, store=RedisStore(client, prefix=prefix))
    for _ in range(3):
        assert gateway.check(Request(NOW, {"remote_address": "192.0.2.8", "endpoint": "/feed"})).allowed

    async def go():
        app = RateLimitMiddleware(echo_app, RULES, store=url(redis_server), prefix=prefix, clock=lambda: NOW)
        try:
            return await get_all(app, [("/feed", "192.0.2.8", {})] * 3)
        finally:
            await app.aclose()

    assert [r.status_code for r in asyncio.run(go())] == [200, 200, 429]


def test_two_servers_on_one_redis_share_the_limit_in_memory_they_do_not(redis_server, prefix):
    reqs = [("/feed", "192.0.2.60", {})] * 10

    async def go(shared: bool):
        apps = [
            RateLimitMiddleware(
                echo_app,
                RULES,
                store=url(redis_server) if shared else "memory",
                prefix=prefix,
                clock=lambda: NOW,
            )
            for _ in range(2)
        ]
        try:
            out = []
            for i, r in enumerate(reqs):  # round robin over the two servers
                out += await get_all(apps[i % 2], [r])
            return sum(r.status_code == 200 for r in out)
        finally:
            for a in apps:
                await a.aclose()

    assert asyncio.run(go(shared=True)) == 5
    assert asyncio.run(go(shared=False)) == 10  # 2 x the limit of 5


@pytest.fixture
def proxy(redis_server):
    with FaultProxy(redis_server.host, redis_server.port) as p:
        yield p


@pytest.mark.parametrize("policy", ["open", "closed"])
@pytest.mark.parametrize("fault", ["refuse", "drop", "delay", "closed_port"])
def test_redis_unreachable_follows_the_policy_and_recovers(proxy, client, prefix, policy, fault):
    async def go():
        aclient = async_redis_client(
            proxy.host, free_port() if fault == "closed_port" else proxy.port, timeout=TIMEOUT
        )
        app = RateLimitMiddleware(
            echo_app, RULES, store=aclient, policy=policy, prefix=prefix, clock=lambda: NOW
        )
        try:
            if fault != "closed_port":
                before = await get_all(app, [("/feed", "192.0.2.70", {})] * 2)
                assert [r.status_code for r in before] == [200, 200]
                proxy.set_mode(*(("delay", 3 * TIMEOUT) if fault == "delay" else (fault,)))
            start = time.perf_counter()
            during = await get_all(app, [("/feed", "192.0.2.70", {})] * 3)
            seconds = (time.perf_counter() - start) / 3
            denied = await get_all(app, [("/feed", "198.18.1.1", {})])
            report = app.report()
            after = None
            if fault != "closed_port":
                proxy.set_mode("pass")
                after = await get_all(app, [("/feed", "192.0.2.70", {})])
            return during, seconds, denied, report, after, app.report()
        finally:
            await aclient.aclose()

    during, seconds, denied, report, after, final = asyncio.run(go())
    if policy == "open":
        assert [r.status_code for r in during] == [200] * 3
        assert not limit_headers(during[0]) and during[0].json() == {"path": "/feed"}
    else:
        assert [r.status_code for r in during] == [503] * 3
        assert during[0].headers["retry-after"] == "1"
        assert during[0].json()["error"] == "rate limiter unavailable"
    assert seconds < 2 * TIMEOUT + 0.15  # bounded by the client's timeouts, not by the fault
    assert denied[0].status_code == 403  # the deny-list needs no store
    assert report.degraded == 3 and report.consecutive_failures == 3
    expected_error = "TimeoutError" if fault == "delay" else "ConnectionError"
    assert expected_error in report.errors
    if after is not None:
        assert after[0].status_code == 200
        # Two requests counted before the outage (a delayed one may still have reached Redis).
        remaining = int(after[0].headers["x-ratelimit-remaining"])
        assert remaining == 2 if fault != "delay" else 0 <= remaining <= 2
        assert final.recoveries == 1 and final.store_up


def test_closed_status_429_option(prefix):
    async def go():
        aclient = async_redis_client("127.0.0.1", free_port(), timeout=TIMEOUT)
        app = RateLimitMiddleware(
            echo_app, RULES, store=aclient, policy="closed", closed_status=429, prefix=prefix
        )
        try:
            return (await get_all(app, [("/feed", "192.0.2.80", {})]))[0]
        finally:
            await aclient.aclose()

    r = asyncio.run(go())
    assert r.status_code == 429 and r.json()["decided_by"] == "store unavailable: fail closed"


def test_the_url_client_is_closed_at_lifespan_shutdown(redis_server):
    app = RateLimitMiddleware(
        echo_app, RULES, store=url(redis_server), prefix=f"sds:test:{uuid.uuid4().hex[:8]}:"
    )
    sent, closed = [], []
    close = app._own_client.aclose
    app._own_client.aclose = lambda: (closed.append(True), close())[1]

    async def go():
        await get_all(app, [("/feed", "192.0.2.90", {})])
        assert await app.store.clear() > 0
        messages = iter([{"type": "lifespan.startup"}, {"type": "lifespan.shutdown"}])

        async def receive():
            return next(messages)

        async def send(message):
            sent.append(message["type"])

        await app({"type": "lifespan"}, receive, send)

    asyncio.run(go())
    assert sent == ["lifespan.startup.complete", "lifespan.shutdown.complete"] and closed == [True]


def test_a_blocking_client_is_refused():
    with pytest.raises(ValueError, match="event loop"):
        AsyncRedisStore(__import__("redis").Redis(), "sds:x:")
    with pytest.raises(ValueError, match="redis.asyncio"):
        AsyncRedisStore(object(), "sds:x:")
    assert isinstance(async_redis_client(url="redis://127.0.0.1:1/0"), redis.asyncio.Redis)
    with pytest.raises(ValueError, match="url"):
        async_redis_client(url="http://nope")
