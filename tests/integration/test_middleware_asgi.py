"""The rate-limiting middleware through a real ASGI client (httpx.ASGITransport), counters in memory.

Invariants: for any sequence of requests the middleware answers what :class:`Gateway` decides for the same
attributes at the same time (status and X-Ratelimit headers); the deny-list always answers 403 and the
allow-list is never limited; each client (address, forwarded address, user, API key) has its own counter;
an admitted request reaches the application untouched, with the headers added to its response.
"""

from __future__ import annotations

import asyncio
import json

import httpx
import pytest
import redis
import redis.asyncio

from sdcore.ratelimit.gateway import Gateway, Request
from sdcore.ratelimit.live.middleware import RateLimitMiddleware
from sdcore.ratelimit.rules import parse_rules

RULES = """
domain: test
deny_list:
  - remote_address: 198.18.0.0/15
  - api_key: revoked-key
allow_list:
  - api_key: partner-key
descriptors:
  - key: remote_address
    rate_limit: {unit: minute, requests_per_unit: 5}
  - key: endpoint
    value: /login
    descriptors:
      - key: user_id
        rate_limit: {unit: minute, requests_per_unit: 3, algorithm: sliding_window_counter}
  - key: api_key
    rate_limit: {unit: minute, requests_per_unit: 4, algorithm: token_bucket}
"""
NOW = 1_000_040.0  # 20 s into a minute window (1,000,020 = 16,667 minutes)
LIMIT_HEADERS = (
    "x-ratelimit-limit",
    "x-ratelimit-remaining",
    "x-ratelimit-retry-after",
    "retry-after",
    "ratelimit",
    "ratelimit-policy",
)


async def echo_app(scope, receive, send):
    """The application behind the middleware: answers its path, with a header of its own."""
    if scope["type"] == "lifespan":
        while True:
            message = await receive()
            await send({"type": message["type"] + ".complete"})
            if message["type"] == "lifespan.shutdown":
                return
    body = json.dumps({"path": scope["path"]}).encode()
    status = 404 if scope["path"] == "/missing" else 200
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [(b"content-type", b"application/json"), (b"x-app", b"echo")],
        }
    )
    await send({"type": "http.response.body", "body": body})


def middleware(clock=lambda: NOW, **options) -> RateLimitMiddleware:
    return RateLimitMiddleware(echo_app, RULES, clock=clock, **options)


def send_all(app, requests) -> list[httpx.Response]:
    """Send ``(path, ip, headers)`` requests in order, each from its own client address."""

    async def go():
        out = []
        for path, ip, headers in requests:
            transport = httpx.ASGITransport(app=app, client=(ip, 40000))
            async with httpx.AsyncClient(transport=transport, base_url="http://api.test") as c:
                out.append(await c.get(path, headers=headers))
        return out

    return asyncio.run(go())


def limit_headers(response: httpx.Response) -> dict[str, str]:
    return {k: v for k, v in response.headers.items() if k in LIMIT_HEADERS}


def expected(requests, attributes, ietf=False) -> list[tuple[int, dict[str, str]]]:
    gw = Gateway(parse_rules(RULES))
    out = []
    for attrs in attributes:
        d = gw.check(Request(NOW, attrs))
        out.append((d.status, {k.lower(): v for k, v in d.headers(ietf).items()}))
    return out


def test_statuses_and_headers_equal_the_gateway_for_the_same_sequence():
    reqs = [("/feed", "192.0.2.1", {})] * 7 + [("/login", "192.0.2.2", {"X-User-Id": "ann"})] * 4
    reqs += [("/search", "192.0.2.3", {"X-Api-Key": "k1"})] * 5
    attrs = [
        {
            "endpoint": p,
            "method": "GET",
            "remote_address": ip,
            **({"user_id": h["X-User-Id"]} if "X-User-Id" in h else {}),
            **({"api_key": h["X-Api-Key"]} if "X-Api-Key" in h else {}),
        }
        for p, ip, h in reqs
    ]
    for ietf in (False, True):
        got = send_all(middleware(ietf_headers=ietf), reqs)
        assert [(r.status_code, limit_headers(r)) for r in got] == expected(reqs, attrs, ietf)
    statuses = [r.status_code for r in got]
    assert statuses == [200] * 5 + [429] * 2 + [200] * 3 + [429] + [200] * 4 + [429]
    first, limited = got[0], got[5]
    assert first.headers["x-ratelimit-limit"] == "5" and first.headers["x-ratelimit-remaining"] == "4"
    assert limited.headers["retry-after"] == "40"  # the minute window ends 40 s after NOW
    assert limited.json() == {"error": "too many requests", "decided_by": "remote_address", "retry_after": 40}
    assert limited.headers["content-type"] == "application/json"


def test_admitted_requests_reach_the_app_untouched_with_headers_added():
    (ok, missing) = send_all(middleware(), [("/feed", "192.0.2.9", {}), ("/missing", "192.0.2.9", {})])
    assert ok.status_code == 200 and ok.json() == {"path": "/feed"} and ok.headers["x-app"] == "echo"
    assert ok.headers["x-ratelimit-remaining"] == "4"
    assert missing.status_code == 404 and missing.headers["x-ratelimit-remaining"] == "3"


def test_deny_list_answers_403_before_any_counter():
    app = middleware()
    got = send_all(
        app, [("/feed", "198.18.0.9", {})] * 3 + [("/feed", "192.0.2.5", {"X-Api-Key": "revoked-key"})]
    )
    assert [r.status_code for r in got] == [403] * 4
    assert got[0].json()["decided_by"] == "deny-list: remote_address=198.18.0.0/15"
    assert not limit_headers(got[0])
    assert len(app.store) == 0  # nothing was counted


def test_allow_list_is_never_limited():
    got = send_all(middleware(), [("/search", "192.0.2.7", {"X-Api-Key": "partner-key"})] * 12)
    assert [r.status_code for r in got] == [200] * 12
    assert not limit_headers(got[-1])


def test_clients_are_isolated_by_address():
    app = middleware()
    a = send_all(app, [("/feed", "192.0.2.10", {})] * 6)
    b = send_all(app, [("/feed", "192.0.2.11", {})])
    assert a[-1].status_code == 429 and b[0].status_code == 200
    assert b[0].headers["x-ratelimit-remaining"] == "4"


def test_clients_are_isolated_by_a_trusted_forwarded_header():
    """Behind a proxy every request comes from the proxy's address; the header names the client."""
    app = middleware(identity="X-Forwarded-For", trusted_proxies=("10.0.0.0/8",))
    proxy = "10.0.0.1"
    a = send_all(app, [("/feed", proxy, {"X-Forwarded-For": "203.0.113.5, 10.0.0.1"})] * 6)
    b = send_all(app, [("/feed", proxy, {"X-Forwarded-For": "203.0.113.6"}), ("/feed", proxy, {})])
    assert [r.status_code for r in a] == [200] * 5 + [429]
    assert [r.status_code for r in b] == [200, 200]
    denied = send_all(app, [("/feed", proxy, {"X-Forwarded-For": "198.18.4.4"})])
    assert denied[0].status_code == 403
    # Without the trusted header setting, the forwarded address is ignored: all one client.
    plain = send_all(
        middleware(), [("/feed", proxy, {"X-Forwarded-For": f"203.0.113.{i}"}) for i in range(6)]
    )
    assert plain[-1].status_code == 429


def test_a_spoofed_forwarded_header_never_escapes_the_limit():
    """A client that writes X-Forwarded-For itself stays one client: from an untrusted peer the header is
    ignored, and through a trusted proxy only the right-most untrusted hop (the one the proxy saw) counts,
    whatever the client put to its left."""
    app = middleware(identity="X-Forwarded-For", trusted_proxies=("10.0.0.1",))
    direct = send_all(app, [("/feed", "192.0.2.50", {"X-Forwarded-For": f"203.0.113.{i}"}) for i in range(6)])
    assert [r.status_code for r in direct] == [200] * 5 + [429]
    spoofs = [f"198.51.100.{i}, 192.0.2.60" for i in range(6)]  # the client wrote the first part
    proxied = send_all(app, [("/feed", "10.0.0.1", {"X-Forwarded-For": h}) for h in spoofs])
    assert [r.status_code for r in proxied] == [200] * 5 + [429]
    # The deny-list cannot be dodged by naming an innocent address first.
    denied = send_all(app, [("/feed", "10.0.0.1", {"X-Forwarded-For": "203.0.113.9, 198.18.4.4"})])
    assert denied[0].status_code == 403
    # Garbage in the chain falls back to the peer (the proxy), never to a client-chosen name.
    junk = middleware(identity="X-Forwarded-For", trusted_proxies=("10.0.0.1",))
    assert (
        junk.attributes({"client": ("10.0.0.1", 1), "headers": [(b"x-forwarded-for", b"evil, x")]})[
            "remote_address"
        ]
        == "10.0.0.1"
    )
    with pytest.raises(ValueError, match="trusted_proxies"):
        middleware(trusted_proxies=("not-an-address",))


def test_memory_is_bounded_under_a_flood_of_distinct_clients():
    """However many distinct addresses send, the in-memory store keeps at most max_clients states, and a
    client inside the cap keeps its count."""
    app = middleware(max_clients=50)
    for i in range(400):
        asyncio.run(
            app.decide({"type": "http", "path": "/feed", "client": (f"198.51.{i // 250}.{i % 250}", 1)})
        )
    assert len(app.store) <= 50
    for _ in range(5):
        asyncio.run(app.decide({"type": "http", "path": "/feed", "client": ("192.0.2.99", 1)}))
    assert (
        asyncio.run(app.decide({"type": "http", "path": "/feed", "client": ("192.0.2.99", 1)})).status == 429
    )


def test_clients_are_isolated_by_user_header():
    app = middleware()
    ann = send_all(app, [("/login", f"192.0.2.{20 + i}", {"X-User-Id": "ann"}) for i in range(4)])
    bob = send_all(app, [("/login", "192.0.2.30", {"X-User-Id": "bob"})])
    assert [r.status_code for r in ann] == [200, 200, 200, 429]  # four addresses, one user: 3 a minute
    assert ann[-1].json()["decided_by"] == "endpoint=/login > user_id"
    assert bob[0].status_code == 200


def test_api_key_from_header_or_query_is_one_client():
    app = middleware()
    reqs = [
        ("/feed", "192.0.2.40", {"X-Api-Key": "k9"}),
        ("/feed?api_key=k9", "192.0.2.41", {}),
        ("/feed", "192.0.2.42", {"X-Api-Key": "k9"}),
        ("/feed?api_key=k9", "192.0.2.43", {}),
        ("/feed?api_key=k9", "192.0.2.44", {}),
        ("/feed?api_key=other", "192.0.2.45", {}),
    ]
    assert [r.status_code for r in send_all(app, reqs)] == [200, 200, 200, 200, 429, 200]


def test_custom_header_names():
    app = middleware(user_header="X-Account", api_key_header="Authorization-Key", api_key_param="key")
    assert app.attributes(
        {
            "type": "http",
            "path": "/login",
            "method": "POST",
            "client": ("192.0.2.1", 1),
            "headers": [(b"x-account", b"ann"), (b"x-user-id", b"ignored")],
            "query_string": b"key=abc",
        }
    ) == {
        "endpoint": "/login",
        "method": "POST",
        "remote_address": "192.0.2.1",
        "user_id": "ann",
        "api_key": "abc",
    }


def test_windows_move_with_the_clock():
    now = [NOW]
    app = middleware(clock=lambda: now[0])
    assert send_all(app, [("/feed", "192.0.2.50", {})] * 6)[-1].status_code == 429
    now[0] += 40.0  # the next minute window
    assert send_all(app, [("/feed", "192.0.2.50", {})])[0].status_code == 200


def test_lifespan_passes_through():
    app = middleware()
    sent = []

    async def go():
        messages = iter([{"type": "lifespan.startup"}, {"type": "lifespan.shutdown"}])

        async def receive():
            return next(messages)

        async def send(message):
            sent.append(message["type"])

        await app({"type": "lifespan"}, receive, send)

    asyncio.run(go())
    assert sent == ["lifespan.startup.complete", "lifespan.shutdown.complete"]


@pytest.mark.parametrize(
    ("options", "word"),
    [
        ({"policy": "maybe"}, "policy"),
        ({"closed_status": 500}, "closed_status"),
        ({"identity": "bad header"}, "identity"),
        ({"identity": "api_key"}, "rule on"),
        ({"store": "sqlite://x"}, "store"),
        ({"store": redis.Redis()}, "blocking"),
        ({"store": redis.asyncio.Redis(socket_timeout=None, socket_connect_timeout=None)}, "socket_timeout"),
    ],
)
def test_bad_options_are_named(options, word):
    with pytest.raises(ValueError, match=word):
        middleware(**options)
