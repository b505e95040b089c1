"""The throttle rules in front of any ASGI application: a real rate-limiting middleware.

    from sdcore.ratelimit.live.middleware import RateLimitMiddleware
    app = RateLimitMiddleware(app, rules_yaml, store="memory")            # one process
    app = RateLimitMiddleware(app, rules_yaml, store="redis://127.0.0.1:6379/0", policy="closed")

Each HTTP request becomes a :class:`~sdcore.ratelimit.gateway.Request` at ``clock()`` (wall-clock seconds)
with the attributes the rules speak of:

- ``remote_address``: the client's IP address: the TCP peer (``identity="ip"``), or, behind proxies you
  trust, the address a proxy's header names (``identity="X-Forwarded-For"``, ``"X-Real-IP"``, ...). A
  client can write any header, so the header is read only when the TCP peer is one of ``trusted_proxies``
  (addresses or CIDR ranges), and the client is the right-most address in it that is not a trusted proxy
  (each proxy appends the address it saw; everything left of the last untrusted one is the client's own
  writing). From any other peer the header is ignored and the peer is the client;
- ``user_id``: the ``user_header`` (``X-User-Id``), as an authentication layer in front would set it;
- ``api_key``: the ``api_key_header`` (``X-Api-Key``), else the ``api_key_param`` query parameter
  (``?api_key=``);
- ``endpoint``: the path; ``method``: the HTTP method.

Then :class:`~sdcore.ratelimit.gateway.Gateway` decides, exactly as on the API gateway page: the deny-list
answers 403, the allow-list passes, every matching rule counts, and any rule over its limit answers 429
with ``Retry-After``. The middleware answers 403 and 429 itself (a small JSON body); an admitted request
goes on to the application, and the ``X-Ratelimit-Limit`` / ``-Remaining`` headers (and the IETF draft's
``RateLimit`` / ``RateLimit-Policy`` with ``ietf_headers=True``) are added to its response. Other scopes
(websocket, lifespan) pass through; at lifespan shutdown the middleware closes the Redis client it opened.

The store: ``"memory"`` keeps the counters in this process (one server, or one limit per server, see
:mod:`sdcore.ratelimit.sync`), at most ``max_clients`` client states (least recently seen forgotten first:
about 400 bytes each, so 100,000 take about 40 MB whatever a flood of distinct keys sends); Redis (a ``redis.asyncio.Redis``, an :class:`AsyncRedisStore` or a
``redis://`` URL) shares them between servers. Redis is reached through ``redis.asyncio``: a blocking
client would stall the event loop, and with it every request in flight. When Redis is down or slower than
the client's timeout, ``policy`` decides: ``"open"`` lets the request through (the API stays up,
unlimited while degraded), ``"closed"`` refuses it with ``closed_status`` (503 by default: the client is
not over its limit, the limiter is unavailable; 429 also possible) and ``Retry-After``. Failures are
counted (:meth:`RateLimitMiddleware.report`).
"""

from __future__ import annotations

import ipaddress
import json
import math
import time
from collections.abc import Awaitable, Callable, MutableMapping, Sequence
from dataclasses import dataclass
from numbers import Real
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

import redis
import redis.asyncio

from sdcore.ratelimit.gateway import Gateway, GatewayDecision, Request
from sdcore.ratelimit.live.aio_store import AsyncRedisStore, async_redis_client
from sdcore.ratelimit.live.resilient import POLICIES, STORE_ERRORS, FailureCounter, FailureReport
from sdcore.ratelimit.rules import RuleSet, parse_rules
from sdcore.ratelimit.store import MemoryStore

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

_REASONS = {403: "forbidden", 429: "too many requests", 503: "rate limiter unavailable"}


@dataclass(frozen=True)
class MiddlewareDecision:
    """What the middleware decided for one request: the gateway's decision, or the policy's when the
    store failed (``degraded``, with ``error``)."""

    status: int
    headers: tuple[tuple[str, str], ...]
    decided_by: str
    degraded: bool = False
    error: str | None = None
    gateway: GatewayDecision | None = None

    @property
    def allowed(self) -> bool:
        return self.status == 200


class RateLimitMiddleware:
    """A pure ASGI middleware (no framework needed) applying throttle ``rules`` (a :class:`RuleSet`, YAML
    or JSON text, or a ``Path`` to such a file) to every HTTP request; other scopes (lifespan,
    websocket) pass through untouched. See the module docstring for the options."""

    def __init__(
        self,
        app: ASGIApp,
        rules: RuleSet | str | Path,
        *,
        store: str | redis.asyncio.Redis | AsyncRedisStore = "memory",
        identity: str = "ip",
        user_header: str = "X-User-Id",
        api_key_header: str = "X-Api-Key",
        api_key_param: str = "api_key",
        policy: str = "open",
        closed_status: int = 503,
        retry_after_when_down: float = 1.0,
        prefix: str = "sds:asgi:",
        ietf_headers: bool = False,
        redis_timeout: float = 0.25,
        trusted_proxies: Sequence[str] = (),
        max_clients: int = 100_000,
        clock: Callable[[], float] = time.time,
    ) -> None:
        if isinstance(rules, Path):
            rules = rules.read_text()
        self.rules = parse_rules(rules) if isinstance(rules, str) else rules
        if not isinstance(self.rules, RuleSet):
            raise ValueError(f"rules must be a RuleSet, a rules text or a Path to one (got {rules!r})")
        if policy not in POLICIES:
            raise ValueError(f"policy must be one of {', '.join(POLICIES)} (got {policy!r})")
        if closed_status not in (429, 503):
            raise ValueError(f"closed_status must be 429 or 503 (got {closed_status!r})")
        if (
            isinstance(retry_after_when_down, bool)
            or not isinstance(retry_after_when_down, Real)
            or not 0 < retry_after_when_down <= 3600
        ):
            raise ValueError(
                f"retry_after_when_down must be more than 0 and at most 3600 seconds (got {retry_after_when_down!r})"
            )
        for name, value in (
            ("identity", identity),
            ("user_header", user_header),
            ("api_key_header", api_key_header),
            ("api_key_param", api_key_param),
        ):
            if not isinstance(value, str) or not value or any(c in value for c in " :\r\n"):
                raise ValueError(
                    f"{name} must be a header or parameter name such as 'X-Api-Key' (got {value!r})"
                )
        if identity.lower() in ("api_key", "user_id", "x-api-key", "x-user-id"):
            raise ValueError(
                f"identity names where the client's address comes from ('ip' or a proxy's header such as "
                f"'X-Forwarded-For'), not {identity!r}: the API key and the user id are always read (see "
                "api_key_header, api_key_param, user_header); limit per key or per user with a rule on "
                "api_key or user_id"
            )
        try:
            self.trusted_proxies = tuple(ipaddress.ip_network(p, strict=False) for p in trusted_proxies)
        except (TypeError, ValueError):
            raise ValueError(
                f"trusted_proxies must be IP addresses or CIDR ranges such as '10.0.0.0/8' (got {trusted_proxies!r})"
            ) from None
        if isinstance(trusted_proxies, str):
            raise ValueError(
                f"trusted_proxies must be a list of addresses, not one string (got {trusted_proxies!r})"
            )
        self.app = app
        self.identity = identity
        self._ip_header = None if identity == "ip" else identity.lower().encode("latin-1")
        self._user_header = user_header.lower().encode("latin-1")
        self._api_key_header = api_key_header.lower().encode("latin-1")
        self.api_key_param = api_key_param
        self.policy = policy
        self.closed_status = closed_status
        self.retry_after_when_down = float(retry_after_when_down)
        self.ietf_headers = bool(ietf_headers)
        self.clock = clock
        self.failures = FailureCounter()
        self._own_client: redis.asyncio.Redis | None = None  # built here from a URL: closed at shutdown
        if isinstance(store, str) and store == "memory":
            self.store: MemoryStore | AsyncRedisStore = MemoryStore(max_entries=max_clients)
            self.gateway = Gateway(self.rules, store=self.store)
            self._async = None
        else:
            if isinstance(store, str) and store.startswith(("redis://", "rediss://", "unix://")):
                store = self._own_client = async_redis_client(url=store, timeout=redis_timeout)
            if isinstance(store, redis.asyncio.Redis | redis.Redis):
                store = AsyncRedisStore(store, prefix)  # refuses a blocking client, with the reason
            if not isinstance(store, AsyncRedisStore):
                raise ValueError(
                    "store must be 'memory', a redis:// URL, a redis.asyncio.Redis or an AsyncRedisStore "
                    f"(got {store!r})"
                )
            self.store = store
            self.gateway = Gateway(self.rules, store=store.store)
            self._async = store

    # --- the request's attributes ----------------------------------------------------------------------

    def attributes(self, scope: Scope) -> dict[str, str]:
        """The attributes the rules see for one HTTP request (see the module docstring)."""
        headers: dict[bytes, bytes] = {}
        for name, value in scope.get("headers") or ():
            headers.setdefault(name.lower(), value)  # the first occurrence of a repeated header
        attrs = {"endpoint": scope.get("path") or "/", "method": scope.get("method", "GET")}
        peer = scope["client"][0] if scope.get("client") else None
        address = peer
        if self._ip_header is not None and self._ip_header in headers and self._trusted(peer):
            address = self._forwarded_client(headers[self._ip_header].decode("latin-1")) or peer
        if address:
            attrs["remote_address"] = address
        if self._user_header in headers:
            attrs["user_id"] = headers[self._user_header].decode("latin-1").strip()
        key = headers.get(self._api_key_header)
        if key is not None:
            attrs["api_key"] = key.decode("latin-1").strip()
        else:
            query = parse_qs((scope.get("query_string") or b"").decode("latin-1"))
            if query.get(self.api_key_param):
                attrs["api_key"] = query[self.api_key_param][0]
        return {k: v for k, v in attrs.items() if v}

    def _trusted(self, address: str | None) -> bool:
        if address is None or not self.trusted_proxies:
            return False
        try:
            ip = ipaddress.ip_address(address)
        except ValueError:
            return False
        return any(ip in net for net in self.trusted_proxies)

    def _forwarded_client(self, header: str) -> str | None:
        """The right-most address of a forwarded header that is not a trusted proxy (None if none is an
        address): the first hop a trusted proxy saw, whatever the client wrote to the left of it."""
        hops = [h.strip() for h in header.split(",")[-64:]]  # a bounded number of hops
        for hop in reversed(hops):
            try:
                ipaddress.ip_address(hop)
            except ValueError:
                return None  # garbage in the chain: fall back to the peer
            if not self._trusted(hop):
                return hop
        return hops[0] if hops else None

    # --- the decision ----------------------------------------------------------------------------------

    async def decide(self, scope: Scope) -> MiddlewareDecision:
        """Decide one HTTP request (counting it against every matching rule)."""
        request = Request(self.clock(), self.attributes(scope))
        if self._async is None:
            return self._from_gateway(self.gateway.check(request))
        try:
            decision = await self._async.run(lambda: self.gateway.check(request))
        except STORE_ERRORS as e:
            error = self.failures.failure(e)
            if self.policy == "open":
                return MiddlewareDecision(200, (), "store unavailable: fail open", True, error)
            wait = str(math.ceil(self.retry_after_when_down))
            headers = (("Retry-After", wait), ("X-Ratelimit-Retry-After", wait))
            return MiddlewareDecision(
                self.closed_status, headers, "store unavailable: fail closed", True, error
            )
        if decision.checks:  # the store was asked (the lists and unmatched requests never ask it)
            self.failures.success()
        return self._from_gateway(decision)

    def _from_gateway(self, d: GatewayDecision) -> MiddlewareDecision:
        return MiddlewareDecision(
            d.status, tuple(d.headers(self.ietf_headers).items()), d.decided_by, gateway=d
        )

    def report(self) -> FailureReport:
        """Decisions that needed the store, failures by type, recoveries (Redis only)."""
        return self.failures.report()

    # --- ASGI ------------------------------------------------------------------------------------------

    async def aclose(self) -> None:
        """Close the Redis connections the middleware opened itself (from a URL); done at lifespan
        shutdown. A client passed in belongs to the caller."""
        if self._own_client is not None:
            await self._own_client.aclose()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":

            async def send_closing(message: Message) -> None:
                if message["type"] == "lifespan.shutdown.complete":
                    await self.aclose()
                await send(message)

            await self.app(scope, receive, send_closing)
            return
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        decision = await self.decide(scope)
        if not decision.allowed:
            await self._refuse(decision, send)
            return
        extra = [(k.lower().encode("latin-1"), v.encode("latin-1")) for k, v in decision.headers]

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start" and extra:
                message = dict(message)
                message["headers"] = [*message.get("headers", ()), *extra]
            await send(message)

        await self.app(scope, receive, send_with_headers)

    async def _refuse(self, decision: MiddlewareDecision, send: Send) -> None:
        body = {"error": _REASONS[decision.status], "decided_by": decision.decided_by}
        retry = dict(decision.headers).get("Retry-After")
        if retry is not None:
            body["retry_after"] = int(retry)
        payload = json.dumps(body).encode()
        headers = [
            (b"content-type", b"application/json"),
            (b"content-length", str(len(payload)).encode()),
            *((k.lower().encode("latin-1"), v.encode("latin-1")) for k, v in decision.headers),
        ]
        await send({"type": "http.response.start", "status": decision.status, "headers": headers})
        await send({"type": "http.response.body", "body": payload})
