"""Limiter state in Redis for asyncio code (an ASGI server), through ``redis.asyncio``.

A blocking ``redis.Redis`` call inside an event loop stalls every other request the server is handling
for the length of the round trip (or of the timeout, when Redis is down). :class:`AsyncRedisStore` runs
the same Lua scripts as :class:`~sdcore.ratelimit.live.redis_store.RedisStore`, with the same key layout,
TTLs and result arithmetic, so its decisions are bit-identical to the blocking store's and to
:class:`~sdcore.ratelimit.store.MemoryStore`'s, and a blocking and an asynchronous server that share a
Redis and a prefix share the limit.

How it reuses the blocking code without copying it: the limiters and the gateway are synchronous and
call their store's methods. ``AsyncRedisStore.store`` is a ``RedisStore`` whose one network call
(``_eval``) never touches the network: inside :meth:`AsyncRedisStore.run` it either replays a reply
already fetched or stops the synchronous function by raising, with the script, key and arguments it
needs. ``run`` then awaits that script on the ``redis.asyncio`` client and runs the function again from
the start, replaying the replies it has, until the function returns. A decision over ``n`` rules makes
``n`` round trips (the same as the blocking store) and runs the pure-Python part ``n + 1`` times (a few
microseconds each). The function must therefore be deterministic apart from its store calls (a limiter's
``allow`` and :meth:`Gateway.check <sdcore.ratelimit.gateway.Gateway.check>` are: time is passed in).

    client = async_redis_client("127.0.0.1", 6379, timeout=0.2)
    astore = AsyncRedisStore(client, prefix="sds:api:")
    gateway = Gateway(rules, store=astore.store)
    decision = await astore.run(lambda: gateway.check(Request(now, attrs)))  # now: the server's clock
"""

from __future__ import annotations

import contextvars
from collections.abc import Callable
from numbers import Real
from typing import TypeVar

import redis
import redis.asyncio
from redis.asyncio.retry import Retry as AsyncRetry
from redis.backoff import NoBackoff

from sdcore.ratelimit.decision import Decision
from sdcore.ratelimit.limiters import Limiter
from sdcore.ratelimit.live.redis_store import RedisStore, _check_prefix, _glob_escape

T = TypeVar("T")


class _Replay:
    __slots__ = ("replies", "position")

    def __init__(self, replies: list) -> None:
        self.replies = replies  # [((sha, key, args), reply), ...] in call order
        self.position = 0


_REPLAY: contextvars.ContextVar[_Replay | None] = contextvars.ContextVar("sds_redis_replay", default=None)


class _NeedReply(BaseException):
    """Stops a synchronous decision at its first store call that has no reply yet. A BaseException, so
    that the decision's own ``except Exception`` (or a fail-open wrapper) cannot swallow it."""

    def __init__(self, script, key: str, args: tuple) -> None:
        super().__init__(key)
        self.script, self.key, self.args = script, key, args


class _ReplayingRedisStore(RedisStore):
    """A RedisStore whose round trip is done by :meth:`AsyncRedisStore.run` (see the module docstring)."""

    def _eval(self, script, key: str, *args):
        replay = _REPLAY.get()
        if replay is None:
            raise RuntimeError(
                "this store belongs to an AsyncRedisStore: call its limiters inside "
                "`await async_store.run(lambda: ...)`"
            )
        if replay.position < len(replay.replies):
            call, reply = replay.replies[replay.position]
            replay.position += 1
            if call != (script.sha, key, args):
                raise RuntimeError(
                    "the decision made different store calls when run again (it must depend only on its "
                    f"inputs and the store's replies): expected {call[1]!r}, got {key!r}"
                )
            return reply
        raise _NeedReply(script, key, args)

    def keys(self):
        raise TypeError("use `await AsyncRedisStore.keys()`")

    def inspect(self, max_keys: int = 100):
        raise TypeError("not available on an AsyncRedisStore's store")

    def clear(self):
        raise TypeError("use `await AsyncRedisStore.clear()`")

    def __repr__(self) -> str:
        return f"<RedisStore of an AsyncRedisStore, prefix={self.prefix!r}>"


class AsyncRedisStore:
    """The shared Redis state of every limiter built over :attr:`store`, reached with ``redis.asyncio``.

    ``client`` must be a ``redis.asyncio.Redis`` with explicit ``socket_timeout`` and
    ``socket_connect_timeout`` (see :func:`async_redis_client`): without them a dead Redis hangs each
    request for good. ``round_trips`` counts the scripts sent to Redis.
    """

    def __init__(
        self, client: redis.asyncio.Redis, prefix: str = "sds:", *, ttl_margin: float = 60.0
    ) -> None:
        if isinstance(client, redis.Redis):
            raise ValueError(
                "client must be a redis.asyncio.Redis, not a blocking redis.Redis: a blocking call stalls "
                "the event loop, and every request the server is handling with it"
            )
        if not isinstance(client, redis.asyncio.Redis):
            raise ValueError(f"client must be a redis.asyncio.Redis (got {client!r})")
        _check_timeouts(client)
        self.client = client
        self.store = _ReplayingRedisStore(client, _check_prefix(prefix), ttl_margin=ttl_margin)
        self.round_trips = 0

    @property
    def prefix(self) -> str:
        return self.store.prefix

    async def run(self, decide: Callable[[], T]) -> T:
        """``decide()``, with every call it makes to :attr:`store` answered by Redis (asynchronously).

        Raises what the client raises (``redis.ConnectionError``, ``redis.TimeoutError``) when Redis is
        unreachable; the caller applies its fail-open or fail-closed policy."""
        replies: list = []
        while True:
            token = _REPLAY.set(_Replay(replies))
            try:
                return decide()
            except _NeedReply as need:
                script, key, args = need.script, need.key, need.args
            finally:
                _REPLAY.reset(token)
            self.round_trips += 1
            # AsyncScript runs EVALSHA and loads the script on NOSCRIPT (a restarted or different server).
            reply = await script(keys=[key], args=args)
            replies.append(((script.sha, key, args), reply))

    async def allow(self, limiter: Limiter, now: float, key: str = "default") -> Decision:
        """One decision of ``limiter``, which must have been built over :attr:`store`."""
        if limiter.store is not self.store:
            raise ValueError("limiter must be built with store=async_store.store")
        return await self.run(lambda: limiter.allow(now, key))

    async def keys(self) -> list[str]:
        """The names of every key under this store's prefix (without the prefix), sorted."""
        n = len(self.prefix)
        found = [k async for k in self.client.scan_iter(match=_glob_escape(self.prefix) + "*")]
        return sorted((k.decode() if isinstance(k, bytes) else k)[n:] for k in found)

    async def clear(self) -> int:
        """Delete every key under this store's prefix (SCAN + UNLINK); returns how many were deleted."""
        found = [k async for k in self.client.scan_iter(match=_glob_escape(self.prefix) + "*", count=500)]
        deleted = 0
        for i in range(0, len(found), 500):
            deleted += await self.client.unlink(*found[i : i + 500])
        return deleted

    def __repr__(self) -> str:
        return f"AsyncRedisStore(prefix={self.prefix!r})"


def _check_timeouts(client: redis.asyncio.Redis) -> None:
    kwargs = client.connection_pool.connection_kwargs
    connect, read = kwargs.get("socket_connect_timeout"), kwargs.get("socket_timeout")
    if connect is None or read is None:
        raise ValueError(
            "the redis.asyncio client must have socket_timeout and socket_connect_timeout set "
            f"(got socket_timeout={read!r}, socket_connect_timeout={connect!r}): without them a dead "
            "Redis can hang a request for good; build it with async_redis_client(host, port, timeout=...)"
        )


def _check_timeout(name: str, value: object) -> float:
    if isinstance(value, bool) or not isinstance(value, Real) or not 0 < value <= 60:
        raise ValueError(f"{name} must be more than 0 and at most 60 seconds (got {value!r})")
    return float(value)


def async_redis_client(
    host: str = "127.0.0.1",
    port: int = 6379,
    *,
    timeout: float = 0.25,
    connect_timeout: float | None = None,
    db: int = 0,
    url: str | None = None,
    **options,
) -> redis.asyncio.Redis:
    """A ``redis.asyncio.Redis`` for the request path, like
    :func:`~sdcore.ratelimit.live.redis_store.redis_client`: explicit socket and connect timeouts and no
    automatic retries (which would turn an outage into a long stall). ``url`` (``redis://host:port/db``)
    replaces ``host``, ``port`` and ``db``."""
    timeout = _check_timeout("timeout", timeout)
    connect_timeout = (
        timeout if connect_timeout is None else _check_timeout("connect_timeout", connect_timeout)
    )
    settings = dict(
        socket_timeout=timeout,
        socket_connect_timeout=connect_timeout,
        retry=AsyncRetry(NoBackoff(), 0),
        **options,
    )
    if url is not None:
        if not isinstance(url, str) or not url.startswith(("redis://", "rediss://", "unix://")):
            raise ValueError(f"url must look like redis://host:port/db (got {url!r})")
        return redis.asyncio.Redis.from_url(url, **settings)
    return redis.asyncio.Redis(host=host, port=port, db=db, **settings)
