"""Recovering gracefully when the shared store fails: the request path never crashes.

:class:`ResilientLimiter` wraps a limiter whose store is Redis. When a decision fails because Redis is
down or too slow (redis-py's ``ConnectionError`` or ``TimeoutError``), it answers by policy instead:

- ``"open"``: admit (availability first: an outage of the limiter must not become an outage of the API;
  the price is no limit while degraded);
- ``"closed"``: reject with ``retry_after`` (protection first: a login or payment endpoint would rather
  refuse than be brute-forced).

Either way the answer is a :class:`ResilientDecision` with ``degraded=True`` and the error, and the
failure is counted (:class:`FailureCounter`). Nothing has to be reset when Redis comes back: the client
reconnects on the next command and decisions use Redis again (counted as a recovery).

How long a degraded decision takes is the client's business: the Redis client must have explicit
``socket_timeout`` and ``socket_connect_timeout`` (see :func:`~sdcore.ratelimit.live.redis_store.redis_client`),
and the wrapper refuses a client without them, which could hang the request path for good.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from numbers import Real
from types import MappingProxyType

import redis

from sdcore.ratelimit.decision import Decision
from sdcore.ratelimit.distributed import POLICIES
from sdcore.ratelimit.limiters import Limiter

STORE_ERRORS = (redis.exceptions.ConnectionError, redis.exceptions.TimeoutError)


@dataclass(frozen=True, slots=True)
class ResilientDecision(Decision):
    """A :class:`~sdcore.ratelimit.decision.Decision` that also says whether the store answered.

    ``degraded=True``: the store failed and the policy decided; ``remaining`` is then unknown and reported
    as 0 when failing closed, ``limit`` when failing open (nothing was counted); ``error`` names the
    failure (``"TimeoutError: Timeout reading from socket"``)."""

    degraded: bool = False
    error: str | None = None


@dataclass(frozen=True)
class FailureReport:
    """What a :class:`FailureCounter` has seen so far."""

    decisions: int
    degraded: int
    errors: MappingProxyType  # error type name -> count
    consecutive_failures: int
    recoveries: int  # times the store answered again after failing
    last_error: str | None

    @property
    def store_up(self) -> bool:
        return self.consecutive_failures == 0

    @property
    def degraded_share(self) -> float:
        return self.degraded / self.decisions if self.decisions else 0.0


class FailureCounter:
    """Thread-safe counts of decisions, failures by type, and recoveries."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._decisions = self._degraded = self._consecutive = self._recoveries = 0
        self._errors: dict[str, int] = {}
        self._last_error: str | None = None

    def success(self) -> None:
        with self._lock:
            self._decisions += 1
            if self._consecutive:
                self._recoveries += 1
                self._consecutive = 0

    def failure(self, error: BaseException) -> str:
        text = f"{type(error).__name__}: {error}"
        with self._lock:
            self._decisions += 1
            self._degraded += 1
            self._consecutive += 1
            name = type(error).__name__
            self._errors[name] = self._errors.get(name, 0) + 1
            self._last_error = text
        return text

    def report(self) -> FailureReport:
        with self._lock:
            return FailureReport(
                self._decisions,
                self._degraded,
                MappingProxyType(dict(self._errors)),
                self._consecutive,
                self._recoveries,
                self._last_error,
            )


class ResilientLimiter(Limiter):
    """``limiter`` with a fallback ``policy`` (``"open"`` or ``"closed"``) when its store fails.

    ``retry_after`` (seconds) is what a fail-closed rejection tells the client. ``errors`` are the
    exceptions that mean "store unavailable" (redis-py's connection and timeout errors); anything else,
    a bug, still raises. ``counter`` may be shared between limiters to count failures together.
    """

    def __init__(
        self,
        limiter: Limiter,
        policy: str = "open",
        *,
        retry_after: float = 1.0,
        errors: tuple[type[BaseException], ...] = STORE_ERRORS,
        counter: FailureCounter | None = None,
    ) -> None:
        if not isinstance(limiter, Limiter) or isinstance(limiter, ResilientLimiter):
            raise ValueError(f"limiter must be a rate limiter such as TokenBucket(...) (got {limiter!r})")
        if policy not in POLICIES:
            raise ValueError(f"policy must be one of {', '.join(POLICIES)} (got {policy!r})")
        if isinstance(retry_after, bool) or not isinstance(retry_after, Real) or not 0 < retry_after <= 3600:
            raise ValueError(
                f"retry_after must be more than 0 and at most 3600 seconds (got {retry_after!r})"
            )
        self.timeouts = _client_timeouts(limiter.store)
        self.limiter = limiter
        self.policy = policy
        self.retry_after = float(retry_after)
        self.errors = tuple(errors)
        self.counter = counter if counter is not None else FailureCounter()
        self.algorithm = limiter.algorithm
        super().__init__(limiter.store)

    @property
    def limit(self) -> int:
        return self.limiter.limit

    @property
    def params(self) -> MappingProxyType:
        return self.limiter.params

    @property
    def label(self) -> str:
        return f"{self.limiter.label}, {POLICIES[self.policy].lower()} when the store fails"

    def allow(self, now: float, key: str = "default") -> ResilientDecision:
        try:
            d = self.limiter.allow(now, key)
        except self.errors as e:
            error = self.counter.failure(e)
            if self.policy == "open":
                return ResilientDecision(True, self.limit, self.limit, None, None, degraded=True, error=error)
            return ResilientDecision(False, self.limit, 0, self.retry_after, None, degraded=True, error=error)
        self.counter.success()
        return ResilientDecision(d.allowed, d.limit, d.remaining, d.retry_after, d.departure)

    def report(self) -> FailureReport:
        return self.counter.report()


def _client_timeouts(store) -> tuple[float, float] | None:
    """(connect, read) timeouts of the store's Redis client; ``ValueError`` if either is missing.
    ``None`` for a store without a Redis client (an in-memory store never fails)."""
    client = getattr(store, "client", None)
    if not isinstance(client, redis.Redis):
        return None
    kwargs = client.connection_pool.connection_kwargs
    connect, read = kwargs.get("socket_connect_timeout"), kwargs.get("socket_timeout")
    if connect is None or read is None:
        raise ValueError(
            "the store's Redis client must have socket_timeout and socket_connect_timeout set "
            f"(got socket_timeout={read!r}, socket_connect_timeout={connect!r}): without them a dead "
            "Redis can hang a request for good; build it with redis_client(host, port, timeout=...)"
        )
    return float(connect), float(read)
